"""Typed, validated stack configuration.

Each layer reads its keys from its own Pulumi project namespace (``txn-network:vpcCidr``), where
``Pulumi.yaml`` declares every key with a description and default. The models here give the
values types and ranges, so a bad CIDR or a missing alert email fails at preview with one clear
line instead of an AWS error halfway through an update.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from txn_spec import invariants, shapes

Environment = Literal["dev", "prod"]
Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$", max_length=20)]


class ConfigError(ValueError):
    """Configuration that does not validate; the message names every bad key."""


class _Config(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class CommonConfig(_Config):
    """Keys every layer declares: who owns it and where its siblings live."""

    app: Slug = "txn"
    org: str = Field(default="organization", min_length=1, description="Pulumi organization")
    owner: str = Field(min_length=1, description="Owning team, used in tags")
    data_classification: Literal["pci", "confidential", "internal"] = "pci"


class NetworkConfig(CommonConfig):
    vpc_cidr: str

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        network = ipaddress.ip_network(value, strict=True)
        if not network.is_private or network.prefixlen > 20:
            raise ValueError("must be a private IPv4 block of /20 or larger (three /22+ subnets)")
        return value


class SecurityConfig(CommonConfig):
    key_deletion_window_days: int = Field(ge=7, le=30)


# A new on-demand table (or index) takes 4,000 write units a second until DynamoDB has seen more.
ON_DEMAND_INITIAL_WRITE_UNITS = 4_000
# The default per-table maximum of an on-demand table (a Service Quotas limit).
ON_DEMAND_TABLE_MAX_WRITE_UNITS = 40_000


# Provisioned capacity and auto scaling (docs/decisions/0005-provisioned-queue-fed-tables.md).
# Default Service Quotas: per table or index, and per account and region over all of them.
PROVISIONED_TABLE_MAX_UNITS = 40_000
PROVISIONED_ACCOUNT_MAX_UNITS = 80_000
# DynamoDB target tracking accepts a target utilization between 20% and 90%.
TARGET_UTILIZATION_RANGE = (20, 90)

CapacityMode = Literal["on-demand", "provisioned"]


class CapacityRange(_Config):
    """Auto scaling bounds of one dimension (reads or writes) of a table or index, in units."""

    min: int = Field(ge=1, le=PROVISIONED_TABLE_MAX_UNITS)
    max: int = Field(ge=1, le=PROVISIONED_TABLE_MAX_UNITS)

    @model_validator(mode="after")
    def _ordered(self) -> CapacityRange:
        if self.min > self.max:
            raise ValueError(f"minimum {self.min} is above maximum {self.max}")
        return self


def _capacity_range(value: object) -> object:
    """``"100-6000"`` (the Pulumi config form) -> min and max; empty means unset."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        low, sep, high = value.partition("-")
        if not sep or not low.strip().isdigit() or not high.strip().isdigit():
            raise ValueError(
                f"must be '<min>-<max>' capacity units, e.g. '100-6000', not {value!r}"
            )
        return {"min": int(low), "max": int(high)}
    return value


@dataclass(frozen=True)
class ProvisionedCapacity:
    """A provisioned table: auto scaling bounds of the table and (each of) its indexes."""

    read: CapacityRange
    write: CapacityRange
    index_read: CapacityRange
    index_write: CapacityRange
    target_utilization_percent: int


class DataConfig(CommonConfig):
    deletion_protection: bool
    # Warm write throughput of the hot-path tables and their indexes; 0 keeps the on-demand
    # initial 4,000 (see docs/capacity.md for the figure each environment needs). On a
    # provisioned table it is the level auto scaling can raise capacity to at once.
    warm_write_units_per_second: int = Field(default=0, ge=0, le=ON_DEMAND_TABLE_MAX_WRITE_UNITS)
    # The queue-fed tables (written only behind SQS) may be provisioned; the tables the
    # validator uses while the client waits (merchants, idempotency) are always on-demand.
    transactions_capacity: CapacityMode = "on-demand"
    transactions_read_capacity: CapacityRange | None = None
    transactions_write_capacity: CapacityRange | None = None
    # Each index of the transactions table; unset: the table's own range.
    transactions_index_read_capacity: CapacityRange | None = None
    transactions_index_write_capacity: CapacityRange | None = None
    velocity_capacity: CapacityMode = "on-demand"
    velocity_read_capacity: CapacityRange | None = None
    velocity_write_capacity: CapacityRange | None = None
    target_utilization_percent: int = Field(
        default=70, ge=TARGET_UTILIZATION_RANGE[0], le=TARGET_UTILIZATION_RANGE[1]
    )

    _ranges = field_validator(
        "transactions_read_capacity",
        "transactions_write_capacity",
        "transactions_index_read_capacity",
        "transactions_index_write_capacity",
        "velocity_read_capacity",
        "velocity_write_capacity",
        mode="before",
    )(_capacity_range)

    @field_validator("warm_write_units_per_second")
    @classmethod
    def _above_initial(cls, value: int) -> int:
        if 0 < value < ON_DEMAND_INITIAL_WRITE_UNITS:
            raise ValueError(
                f"must be 0 (on-demand default) or at least {ON_DEMAND_INITIAL_WRITE_UNITS}"
            )
        return value

    @model_validator(mode="after")
    def _coherent_capacity(self) -> DataConfig:
        problems = [p for shape in PROVISIONABLE_TABLES for p in self._table_problems(shape)]
        problems += self._quota_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def capacity(self, shape: shapes.TableShape) -> ProvisionedCapacity | None:
        """The provisioned capacity of ``shape``'s table, or None when it is on-demand."""
        if shape not in PROVISIONABLE_TABLES:
            return None
        prefix = _PREFIX[shape.component]
        if getattr(self, f"{prefix}_capacity") != "provisioned":
            return None
        read, write = self._range(shape, "read"), self._range(shape, "write")
        assert read is not None
        assert write is not None
        return ProvisionedCapacity(
            read=read,
            write=write,
            index_read=self._range(shape, "index_read") or read,
            index_write=self._range(shape, "index_write") or write,
            target_utilization_percent=self.target_utilization_percent,
        )

    def _range(self, shape: shapes.TableShape, kind: str) -> CapacityRange | None:
        return getattr(self, f"{_PREFIX[shape.component]}_{kind}_capacity", None)

    def _table_problems(self, shape: shapes.TableShape) -> list[str]:
        prefix = _PREFIX[shape.component]
        mode_key = _key(f"{prefix}_capacity")
        kinds = ["read", "write"] + (["index_read", "index_write"] if shape.indexes else [])
        given = {k: self._range(shape, k) for k in kinds}
        if getattr(self, f"{prefix}_capacity") == "on-demand":
            return [
                f"{_key(f'{prefix}_{k}_capacity')} has no effect while {mode_key} is on-demand: "
                f"remove it or set {mode_key} to provisioned"
                for k, value in given.items()
                if value is not None
            ]
        missing = [_key(f"{prefix}_{k}_capacity") for k in ("read", "write") if not given[k]]
        if missing:
            return [
                f"{' and '.join(missing)} must be set ('<min>-<max>' capacity units) when "
                f"{mode_key} is provisioned: auto scaling needs both bounds"
            ]
        warm = self.warm_write_units_per_second
        if not warm or not shape.hot_path:
            return []
        writes = {"write": given["write"]}
        if shape.indexes and given["index_write"] is not None:  # unset: the table's, checked
            writes["index_write"] = given["index_write"]
        problems = []
        for kind, bounds in writes.items():
            key = _key(f"{prefix}_{kind}_capacity")
            assert bounds is not None
            if warm > bounds.max:
                problems.append(
                    f"{_key('warm_write_units_per_second')} {warm} is above {key} maximum "
                    f"{bounds.max}: auto scaling never provisions more than its maximum, so the "
                    "pre-warm above it is paid for nothing; lower one or raise the other"
                )
            elif warm < bounds.min:
                problems.append(
                    f"{_key('warm_write_units_per_second')} {warm} is below {key} minimum "
                    f"{bounds.min}: a provisioned table is always warm to its capacity"
                )
        return problems

    def _quota_problems(self) -> list[str]:
        problems = []
        for direction in ("read", "write"):
            total = 0
            for shape in PROVISIONABLE_TABLES:
                capacity = self.capacity(shape) if not self._incomplete(shape) else None
                if capacity is None:
                    continue
                total += getattr(capacity, direction).max
                total += len(shape.indexes) * getattr(capacity, f"index_{direction}").max
            if total > PROVISIONED_ACCOUNT_MAX_UNITS:
                problems.append(
                    f"the {direction} capacity maxima of the provisioned tables and indexes "
                    f"add up to {total} units, above the account's default quota of "
                    f"{PROVISIONED_ACCOUNT_MAX_UNITS} per region: lower them or raise the quota "
                    "first (Service Quotas)"
                )
        return problems

    def _incomplete(self, shape: shapes.TableShape) -> bool:
        return self._range(shape, "read") is None or self._range(shape, "write") is None


# The tables whose capacity the config may set, and the prefix of their keys: exactly the tables
# no synchronous (API-path) function uses (a test checks this against the shapes).
_PREFIX = {
    shapes.TRANSACTIONS_TABLE.component: "transactions",
    shapes.VELOCITY_TABLE.component: "velocity",
}
PROVISIONABLE_TABLES = tuple(t for t in shapes.TABLES if t.component in _PREFIX)


def _key(field_name: str) -> str:
    return to_camel(field_name)


# The retention periods CloudWatch Logs accepts (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
     2922, 3288, 3653}
)  # fmt: skip


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"CloudWatch Logs keeps logs for one of {sorted(LOG_RETENTION_DAYS)} days")
    return value


class ComputeConfig(CommonConfig):
    architecture: Literal["arm64", "x86_64"]
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    # Share of invocations that log at DEBUG whatever log_level says (Powertools sampling).
    log_sample_rate: float = Field(ge=0.0, le=1.0)
    fraud_batch_size: int = Field(ge=1, le=10)
    fraud_batching_window_seconds: int = Field(ge=0, le=300)
    fraud_max_concurrency: int = Field(ge=2, le=1000)
    # Publish a version per deploy with a SnapStart snapshot, invoked through the live alias.
    snap_start: bool = False
    log_retention_days: Literal[30] = 30
    # Function sources, relative to the stack folder; packages are built under <its parent>/build.
    functions_dir: str = Field(min_length=1)

    @field_validator("log_level")
    @classmethod
    def _keeps_metrics(cls, value: str) -> str:
        # The functions' log level is also Lambda's application log level (advanced logging
        # controls). Lambda gives a JSON line without a "level" key the level INFO, and the
        # Powertools EMF metric lines have none: above INFO, Lambda drops every custom metric
        # (and the alarms on them go blind).
        if value not in ("DEBUG", "INFO"):
            raise ValueError(
                "must be DEBUG or INFO: Lambda filters at this level and treats the EMF metric "
                "lines as INFO, so WARNING or ERROR would drop every custom metric"
            )
        return value

    @field_validator("log_sample_rate")
    @classmethod
    def _sampling_needs_debug(cls, value: float, info: ValidationInfo) -> float:
        # Powertools debug sampling raises a logger to DEBUG inside the function, but Lambda
        # drops lines below its application log level (= log_level): the sampled lines would
        # cost CPU and never reach CloudWatch.
        level = info.data.get("log_level")
        if value > 0 and level is not None and level != "DEBUG":
            raise ValueError(
                f"has no effect at logLevel {level}: Lambda drops DEBUG lines below its "
                "application log level; set logSampleRate to 0 or logLevel to DEBUG"
            )
        return value

    @field_validator("fraud_max_concurrency")
    @classmethod
    def _within_reserved(cls, value: int) -> int:
        # Reserved concurrency does not limit an SQS event source: a mapping allowed more
        # concurrent batches than the function may run gets them throttled back into the queue,
        # and after maxReceiveCount throttles into the DLQ.
        reserved = shapes.FRAUD_DETECTOR.reserved_concurrency
        if invariants.concurrency_problem(value, reserved):
            raise ValueError(
                f"must not exceed the fraud detector's reserved concurrency {reserved}"
            )
        return value

    @field_validator("fraud_batching_window_seconds")
    @classmethod
    def _fits_visibility(cls, value: int) -> int:
        # docs/decisions/0002-queue-timings.md: visibility >= 5 x timeout + batching window.
        visibility = shapes.TRANSACTIONS_QUEUE.visibility_timeout_seconds
        timeout = shapes.FRAUD_DETECTOR.timeout_seconds
        if invariants.visibility_problem(visibility, timeout, value):
            budget = visibility - invariants.required_visibility(timeout, 0)
            raise ValueError(
                f"must be at most {budget}s: the queue's visibility timeout ({visibility}s) must "
                f"cover {invariants.VISIBILITY_MULTIPLIER}x the function timeout ({timeout}s) "
                "plus the window"
            )
        return value


class EdgeConfig(CommonConfig):
    # Stage-wide (all clients) and per-API-key (usage plan) steady rate and burst.
    throttle_rate_limit: float = Field(gt=0, le=10_000)
    throttle_burst_limit: int = Field(gt=0, le=5_000)
    quota_per_day: int = Field(gt=0)
    waf_rate_limit_per_5min: int = Field(ge=100, le=2_000_000_000)
    # PCI DSS 10.5.1: audit logs (API access, WAF) are kept at least 12 months.
    audit_log_retention_days: int = Field(ge=365)
    # The API's OpenAPI document, relative to the stack folder; the request model comes from it.
    openapi_document: str = Field(min_length=1)

    _audit_retention = field_validator("audit_log_retention_days")(_retention)


class ObservabilityConfig(CommonConfig):
    alert_email: EmailStr
    # Fraud alerts go to the fraud team; the alarm email when unset.
    fraud_alert_email: EmailStr | None = None
    error_rate_threshold_percent: float = Field(gt=0, le=100)
    queue_age_threshold_seconds: int = Field(gt=0)
    flow_log_retention_days: int = Field(ge=365)
    # Service level objectives of POST /transaction (CloudWatch Application Signals).
    availability_objective_percent: float = Field(gt=0, lt=100)
    latency_objective_ms: int = Field(gt=0, le=29_000)
    # Share of POST /transaction requests X-Ray traces after 1 a second (the stage's rule).
    xray_sampling_rate: float = Field(default=0.05, ge=0, le=1)

    _flow_retention = field_validator("flow_log_retention_days")(_retention)

    @field_validator("fraud_alert_email", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # Pulumi.yaml declares the key with an empty default: unset means "use alertEmail".
        return None if value == "" else value


C = TypeVar("C", bound=_Config)


def parse(model: type[C], values: dict[str, Any], namespace: str) -> C:
    """Validate raw config ``values`` (camelCase keys) into ``model``, or raise ConfigError."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{namespace}:{to_camel(str(err['loc'][0]))} {err['msg']}"
            if err["loc"]
            else f"{namespace}: {err['msg']}"  # a rule across keys: the message names them
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None

"""Typed, validated stack configuration.

Each layer reads its keys from its own Pulumi project namespace (``txn-network:vpcCidr``), where
``Pulumi.yaml`` declares every key with a description and default. The models here give the
values types and ranges, so a bad CIDR or a missing alert email fails at preview with one clear
line instead of an AWS error halfway through an update.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated, Any, Literal, NamedTuple, TypeVar, get_args

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

from txn_spec import contract, invariants, shapes

Environment = Literal["dev", "prod"]
RFC1918 = tuple(
    ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
# The two roles the account project creates per layer: one that deploys, one that only previews.
RoleKind = Literal["deploy", "preview"]
ROLE_KINDS: tuple[RoleKind, ...] = get_args(RoleKind)
# The one place that decides which GitHub jobs may assume which kind of role, by the stack they
# run (.github/workflows/infra.yml): the token subjects, after ``repo:<owner>/<name>:``, of those
# jobs. The deploy jobs run in their environment (prod's after its reviewers' approval); prod's
# preview runs in its own environment before that approval, and dev's previews run for pull
# requests, with no environment, so GitHub names the event. Neither preview gets a role that
# writes.
JOB_SUBJECTS: dict[RoleKind, dict[str, tuple[str, ...]]] = {
    "deploy": {"dev": ("environment:dev",), "prod": ("environment:prod",)},
    "preview": {"dev": ("pull_request",), "prod": ("environment:prod-preview",)},
}
Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$", max_length=20)]


def _from_pulumi_config(value: object) -> object:
    # Pulumi hands a structured config value (YAML list or map) to the program as JSON text.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"must be YAML structured config, not {value!r}") from None
    return value


def _distinct(value: tuple[str, ...]) -> tuple[str, ...]:
    twice = sorted({v for v in value if value.count(v) > 1})
    if twice:
        raise ValueError(f"lists {', '.join(twice)} more than once")
    return value


class ConfigError(ValueError):
    """Configuration that does not validate; the message names every bad key."""


class _Config(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class CommonConfig(_Config):
    """Keys every layer declares: who owns it and where its siblings live."""

    app: Slug = "txn"
    org: str = Field(default="organization", min_length=1, description="Pulumi organization")
    # A tag value on every resource, IAM roles and S3 too: IAM's tag-value characters and length
    # (the IAM API reference, Tag), so a bad value fails at preview, not at CreateRole.
    owner: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[\w .:/=+\-@]+$",
        description="Owning team, used in tags",
    )
    data_classification: Literal["pci", "confidential", "internal"] = "pci"


class ProtectedConfig(CommonConfig):
    """A layer holding what a delete or a replacement would lose (data, audit logs, keys, the
    network, the API's URL and key). ``deletionProtection`` on (prod) protects those resources
    in Pulumi (``txn_infra.layer``), turns on AWS's deletion protection where AWS has one (the
    tables, the audit log groups), and makes a destroy refuse up front (``txn_ops.teardown``)."""

    deletion_protection: bool = True


class AuditLogsConfig(ProtectedConfig):
    """A layer holding audit logs (edge: API access, execution, WAF; observability: VPC flow
    logs). PCI DSS 10.3.3 wants them promptly copied to a central store that is hard to change:
    ``auditLogDestinationArn``, a CloudWatch Logs destination in a log archive account (same
    region; its access policy must name this account, not the organisation), receives every
    event of each audit log group through a subscription filter, masked as the group masks it.
    Empty: no copy. Setting it adds deploy permissions: regenerate deploy-permissions.json and
    re-apply the account stack first."""

    audit_log_destination_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:destination:[^:*]{1,512}$",
    )

    @field_validator("audit_log_destination_arn", mode="before")
    @classmethod
    def _no_copy_when_empty(cls, value: object) -> object:
        return value or None


class NetworkConfig(ProtectedConfig):
    vpc_cidr: str

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        network = ipaddress.ip_network(value, strict=True)
        # CreateVpc takes /16 to /28; three /22+ subnets need /20 or larger. RFC 1918 only:
        # `is_private` also admits loopback, link-local, benchmarking and IPv6 blocks.
        private = isinstance(network, ipaddress.IPv4Network) and any(
            network.subnet_of(block) for block in RFC1918
        )
        if not private or not 16 <= network.prefixlen <= 20:
            raise ValueError(
                "must be an RFC 1918 IPv4 block from /16 to /20 (CreateVpc takes at most /16; "
                "three /22+ subnets need /20)"
            )
        return value


class SecurityConfig(ProtectedConfig):
    key_deletion_window_days: int = Field(ge=7, le=30)


class AccountConfig(CommonConfig):
    """The account bootstrap (stacks/account): once per AWS account and region."""

    # The environments whose APIs run in this account and region: API Gateway's account-wide
    # role may write their access log groups, and no others.
    environments: tuple[Environment, ...] = Field(min_length=1)
    # Losing the secrets key loses every stack's secrets: the longest wait KMS allows.
    key_deletion_window_days: int = Field(default=30, ge=7, le=30)
    # Per layer, the principals (its team's SSO roles) that may assume its deploy role.
    deployers: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # The repository whose workflow may assume the deploy and preview roles through GitHub's
    # OIDC provider, as its token subjects name it: "owner/name", or "owner@id/name@id" for a
    # repository on GitHub's immutable subjects (the default for one created or renamed on or
    # after 15 July 2026; administrators may opt an older one in).
    github_repository: str | None = Field(default=None, pattern=r"^[\w.-]+(@\d+)?/[\w.-]+(@\d+)?$")
    # The token subjects the deploy roles accept; by default the deploy jobs' environments of
    # the stacks this account runs (JOB_SUBJECTS), never a bare branch or a pull request.
    github_subjects: tuple[str, ...] | None = None
    # The token subjects the preview roles accept; by default the preview jobs' of the stacks
    # this account runs (JOB_SUBJECTS): prod-preview's environment, dev's pull requests.
    github_preview_subjects: tuple[str, ...] | None = None

    def oidc_subjects(self, kind: RoleKind) -> tuple[str, ...]:
        """The token subjects one kind of role trusts: as configured, else those of the jobs
        that assume it for this account's stacks."""
        configured = self.github_subjects if kind == "deploy" else self.github_preview_subjects
        if configured is not None:
            return configured
        return tuple(subject for env in self.environments for subject in JOB_SUBJECTS[kind][env])

    _structured = field_validator(
        "environments", "deployers", "github_subjects", "github_preview_subjects", mode="before"
    )(_from_pulumi_config)

    @field_validator("github_repository", mode="before")
    @classmethod
    def _none_when_empty(cls, value: object) -> object:
        return value or None

    @field_validator("github_subjects", "github_preview_subjects")
    @classmethod
    def _defaults_when_empty(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        # Pulumi.yaml declares both with an empty default: the CLI refuses a typed key with no
        # default that a stack leaves unset, so "unset" arrives as [] and means the jobs' own.
        return value or None

    @field_validator("deployers")
    @classmethod
    def _known_layers(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        unknown = sorted(set(value) - set(contract.LAYERS))
        if unknown:
            raise ValueError(f"names no layer: {unknown}; layers are {list(contract.LAYERS)}")
        return value

    _distinct_environments = field_validator("environments")(_distinct)

    @model_validator(mode="after")
    def _ci_in_a_shared_account_is_a_choice(self) -> AccountConfig:
        # The roles are named by region and layer, so in one account dev's and prod's stacks
        # share them: by default dev's jobs (dev's deploy, with no reviewers, and any pull
        # request's preview) would get roles that change, or read and decrypt, prod's stacks.
        defaulted = self.github_subjects is None or self.github_preview_subjects is None
        if self.github_repository and len(self.environments) > 1 and defaulted:
            raise ValueError(
                f"environments {list(self.environments)} share this account, and with "
                "githubRepository set the default subjects would let dev's jobs (its deploy, "
                "with no reviewers, and any pull request's preview) assume roles that reach "
                "prod's stacks: use one account per environment (docs/deploy.md, section 7), or "
                "set both githubSubjects and githubPreviewSubjects (non-empty lists) to accept it"
            )
        return self


# A new on-demand table (or index) takes 4,000 write units a second until DynamoDB has seen more.
ON_DEMAND_INITIAL_WRITE_UNITS = 4_000
# The default per-table maximum of an on-demand table (a Service Quotas limit).
ON_DEMAND_TABLE_MAX_WRITE_UNITS = 40_000


class DataConfig(ProtectedConfig):
    # Warm write throughput of the hot-path tables (not their indexes); 0 keeps the on-demand
    # initial 4,000 (see docs/capacity.md for the figure each environment needs). Every table is
    # on-demand: there is no capacity to configure (ADR 0005, superseded).
    warm_write_units_per_second: int = Field(default=0, ge=0, le=ON_DEMAND_TABLE_MAX_WRITE_UNITS)

    @field_validator("warm_write_units_per_second")
    @classmethod
    def _above_initial(cls, value: int) -> int:
        if 0 < value < ON_DEMAND_INITIAL_WRITE_UNITS:
            raise ValueError(
                f"must be 0 (on-demand default) or at least {ON_DEMAND_INITIAL_WRITE_UNITS}"
            )
        return value


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
        # docs/decisions/0002-queue-timings.md: visibility >= 6 x timeout + batching window.
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


class PlanLimits(NamedTuple):
    """What one API key's usage plan allows."""

    rate_limit: float  # requests per second, steady
    burst_limit: int
    quota_per_day: int


class KeyLimits(_Config):
    """One API key's own usage-plan limits (``apiKeyLimits``); what it leaves unset is the
    stage's. A typo in a limit's name is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")  # merged with _Config's

    rate_limit: float | None = Field(default=None, gt=0, le=10_000)
    burst_limit: int | None = Field(default=None, gt=0, le=5_000)
    quota_per_day: int | None = Field(default=None, gt=0, le=2**31 - 1)


class EdgeConfig(AuditLogsConfig):
    # Stage-wide (all clients) steady rate and burst, and each API key's unless it has its own.
    throttle_rate_limit: float = Field(gt=0, le=10_000)
    throttle_burst_limit: int = Field(gt=0, le=5_000)
    # CreateUsagePlan's quota limit is a 32-bit integer in AWS's API model: 24,855 req/s all day.
    quota_per_day: int = Field(gt=0, le=2**31 - 1)
    waf_rate_limit_per_5min: int = Field(ge=100, le=2_000_000_000)
    # PCI DSS 10.5.1: audit logs (API access, WAF) are kept at least 12 months.
    audit_log_retention_days: int = Field(ge=365)
    # The API's OpenAPI document, relative to the stack folder; the request model comes from it.
    openapi_document: str = Field(min_length=1)
    # One API key per payment provider, by name (ADR 0024); a merchant item names the ids of
    # those that may post for it. Rotation: list the new name beside the old, then drop the old.
    api_keys: tuple[Slug, ...] = Field(min_length=1)
    # Each key is on a usage plan of its own (ADR 0025): its rate, burst and daily quota, where
    # they are not the stage's. A map, set in the stack file (Pulumi.yaml cannot type a map).
    api_key_limits: dict[str, KeyLimits] = Field(default_factory=dict)

    _audit_retention = field_validator("audit_log_retention_days")(_retention)
    _structured = field_validator("api_keys", "api_key_limits", mode="before")(_from_pulumi_config)
    _distinct_keys = field_validator("api_keys")(_distinct)

    @model_validator(mode="after")
    def _limits_fit(self) -> EdgeConfig:
        unlisted = sorted(set(self.api_key_limits) - set(self.api_keys))
        if unlisted:
            raise ValueError(f"apiKeyLimits names {', '.join(unlisted)}, not in apiKeys")
        for key, own in self.api_key_limits.items():
            # The stage throttles each method at its rate for everyone: above it, a key's own
            # rate is never reached on the one route that carries the sales.
            if (own.rate_limit or 0) > self.throttle_rate_limit:
                raise ValueError(f"apiKeyLimits.{key}.rateLimit exceeds throttleRateLimit")
            if (own.burst_limit or 0) > self.throttle_burst_limit:
                raise ValueError(f"apiKeyLimits.{key}.burstLimit exceeds throttleBurstLimit")
        return self

    def limits_of(self, key: str) -> PlanLimits:
        """What ``key``'s usage plan allows: its ``apiKeyLimits``, else the stage's."""
        own = self.api_key_limits.get(key) or KeyLimits()
        return PlanLimits(
            own.rate_limit or self.throttle_rate_limit,
            own.burst_limit or self.throttle_burst_limit,
            own.quota_per_day or self.quota_per_day,
        )


class ObservabilityConfig(AuditLogsConfig):
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
            f"{namespace}:{'.'.join([to_camel(str(err['loc'][0])), *map(str, err['loc'][1:])])}"
            f" {err['msg']}"
            if err["loc"]
            else f"{namespace}: {err['msg']}"  # a rule across keys: the message names them
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None

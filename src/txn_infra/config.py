"""Typed, validated stack configuration.

Each layer reads its keys from its own Pulumi project namespace (``txn-network:vpcCidr``), where
``Pulumi.yaml`` declares every key with a description and default. The models here give the
values types and ranges, so a bad CIDR or a missing alert email fails at preview with one clear
line instead of an AWS error halfway through an update.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

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


class DataConfig(CommonConfig):
    deletion_protection: bool


class ComputeConfig(CommonConfig):
    architecture: Literal["arm64", "x86_64"]
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    tracing_sample_rate: float = Field(ge=0.0, le=1.0)
    fraud_batch_size: int = Field(ge=1, le=10)
    fraud_batching_window_seconds: int = Field(ge=0, le=300)
    fraud_max_concurrency: int = Field(ge=2, le=1000)
    fraud_reserved_concurrency: int = Field(ge=1, le=1000)
    log_retention_days: Literal[30] = 30


class EdgeConfig(CommonConfig):
    throttle_rate_limit: float = Field(gt=0, le=10_000)
    throttle_burst_limit: int = Field(gt=0, le=5_000)
    quota_per_day: int = Field(gt=0)
    waf_rate_limit_per_5min: int = Field(ge=100, le=2_000_000_000)
    audit_log_retention_days: int = Field(ge=365)


class ObservabilityConfig(CommonConfig):
    alert_email: EmailStr
    error_rate_threshold_percent: float = Field(gt=0, le=100)
    queue_age_threshold_seconds: int = Field(gt=0)


C = TypeVar("C", bound=_Config)


def parse(model: type[C], values: dict[str, Any], namespace: str) -> C:
    """Validate raw config ``values`` (camelCase keys) into ``model``, or raise ConfigError."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{namespace}:{to_camel(str(err['loc'][0])) if err['loc'] else '?'} {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None

"""Shared adapter plumbing: settings from the environment, clients once per container, error
translation and a small low-level DynamoDB (un)marshaller for flat items."""

from __future__ import annotations

import os
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from txn_domain.errors import (
    ConfigurationError,
    DomainError,
    DuplicateError,
    ServiceUnavailableError,
    ThrottledError,
)

if TYPE_CHECKING:  # boto3-stubs, a dev dependency: the Lambda runtime's boto3 ships no types
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

_THROTTLING = {
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "KMSThrottlingException",
}

# Fail fast inside a 60 s function: a few quick retries, short timeouts.
_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)


def require_env(name: str) -> str:
    """An environment setting the function cannot run without; no silent default."""
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set", field=name)
    return value


# The services the functions call; boto3-stubs gives each its own client type.
Service = Literal["dynamodb", "sns", "sqs"]


@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["sns"]) -> SNSClient: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...


@cache
def client(service: Service) -> DynamoDBClient | SNSClient | SQSClient:
    """One client per service per container; ``AWS_ENDPOINT_URL`` is honoured by boto3."""
    return boto3.session.Session().client(service, config=_CONFIG)


def translate(exc: Exception, what: str) -> DomainError:
    """A domain error for an AWS failure while doing ``what``."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _THROTTLING:
            return ThrottledError(f"{what}: throttled", code="throttled")
        if code == "ConditionalCheckFailedException":
            return DuplicateError(f"{what}: already recorded")
        return ServiceUnavailableError(f"{what}: {code or 'AWS error'}", code="dependency_failed")
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailableError(f"{what}: {type(exc).__name__}", code="dependency_failed")
    raise exc


def condition_item(exc: ClientError) -> dict[str, Any] | None:
    """The stored item a failed condition returns (``ReturnValuesOnConditionCheckFailure`` =
    ``ALL_OLD``), if any: botocore's type of an error response does not declare it."""
    item = exc.response.get("Item")
    return item if isinstance(item, dict) else None


# --- low-level DynamoDB values ------------------------------------------------------------------


def to_attr(value: Any) -> AttributeValueTypeDef:
    if isinstance(value, str):  # most values: asked first
        return {"S": value}
    if isinstance(value, bool):  # before int, which it is too
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    if isinstance(value, dict):
        return {"M": to_item(value)}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store a {type(value).__name__}")


def to_item(data: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {k: to_attr(v) for k, v in data.items() if v is not None}


def from_attr(attr: dict[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind == "M":
        return from_item(value)
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {int(v) if v.lstrip("-").isdigit() else float(v) for v in value}
    if kind == "NULL":
        return None
    raise TypeError(f"unsupported attribute type {kind}")


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attr(v) for k, v in item.items()}

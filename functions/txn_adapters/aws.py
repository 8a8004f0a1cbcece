"""Shared adapter plumbing: settings from the environment, clients once per container, error
translation and a small low-level DynamoDB (un)marshaller for flat items."""

from __future__ import annotations

import os
import random
import time
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

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

# How the SDK times and resends calls, per use. ``total_max_attempts`` counts the first call
# (botocore's ``max_attempts`` would count only the retries).
Policy = Literal["queue", "api", "once"]
POLICIES: dict[Policy, Config] = {
    # The queue consumers (50 s): a few quick attempts, short timeouts.
    "queue": Config(
        retries={"total_max_attempts": 3, "mode": "standard"},
        connect_timeout=2,
        read_timeout=5,
        tcp_keepalive=True,
    ),
    # The validator answers API Gateway, which gives up at 29 s, and its callers retry a 503
    # with the same Idempotency-Key (api/openapi.yaml): retrying here too would multiply their
    # retries, and a resend's backoff may wait out a server's retry-after (up to 5 s more).
    # One attempt, short timeouts: its calls in a row at worst still leave it time to answer
    # 503 itself (tests/unit/functions/test_sdk_policies.py).
    "api": Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=1,
        read_timeout=1.5,
        tcp_keepalive=True,
    ),
    # Calls that must not be sent twice: a read timeout or a 5xx after DynamoDB applied a
    # BatchExecuteStatement (no idempotency token) would apply its unconditional increments
    # again, and its INSERTs would come back DuplicateItem as if another delivery had stored
    # them. Such an error leaves the message to SQS, whose redelivery finds what is stored; the
    # caller resends only what was surely not applied (not_applied).
    "once": Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=2,
        read_timeout=5,
        tcp_keepalive=True,
    ),
}


def require_env(name: str) -> str:
    """An environment setting the function cannot run without; no silent default."""
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set", field=name)
    return value


# The services the functions call; boto3-stubs gives each its own client type.
Service = Literal["dynamodb", "sns", "sqs"]


@overload
def client(service: Literal["dynamodb"], policy: Policy = ...) -> DynamoDBClient: ...
@overload
def client(service: Literal["sns"], policy: Policy = ...) -> SNSClient: ...
@overload
def client(service: Literal["sqs"], policy: Policy = ...) -> SQSClient: ...


def client(service: Service, policy: Policy = "queue") -> DynamoDBClient | SNSClient | SQSClient:
    """One client per service and policy per container, from one session (its loader reads
    each service's model once); ``AWS_ENDPOINT_URL`` is honoured by boto3."""
    return _client(service, policy)  # cached by value, however the arguments were passed


@cache
def _client(service: Service, policy: Policy) -> DynamoDBClient | SNSClient | SQSClient:
    return _session().client(service, config=POLICIES[policy])


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


def backoff(attempt: int) -> None:
    """Wait before sending again what DynamoDB left unprocessed or throttled (``attempt`` from
    0): jittered, up to 100 ms doubling, at most 2 s. Sent again at once, it lands on the same
    throttled partition in the same second (the BatchGetItem reference asks for exponential
    backoff; botocore's own for throttling starts at 1 s)."""
    time.sleep(random.uniform(0, min(0.1 * 2**attempt, 2.0)))  # noqa: S311 - jitter, no secret


def not_applied(exc: Exception) -> bool:
    """Whether a failed call is known not to have been applied: refused as throttled, or never
    connected. After a read timeout, a dropped connection or a 5xx it may have been."""
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return True
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _THROTTLING


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
    item: dict[str, AttributeValueTypeDef] = {}
    for name, value in data.items():
        kind = type(value)  # strings and numbers inline: a record's every value, a call saved
        if kind is str:
            item[name] = {"S": value}
        elif kind is int or kind is float:
            item[name] = {"N": str(value)}
        elif value is not None:
            item[name] = to_attr(value)
    return item


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

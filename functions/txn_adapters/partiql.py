"""PartiQL ``BatchExecuteStatement``: independent conditional writes at the price of plain ones.

Each statement succeeds or fails on its own (``ConditionalCheckFailed`` for a failed ``WHERE``,
``DuplicateItem`` for an ``INSERT`` whose key exists, throttling per statement) and costs the
write units of an ``UpdateItem``/``PutItem`` of the same item: no 2x as inside a transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import backoff, not_applied, translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        BatchExecuteStatementOutputTypeDef,
        BatchStatementRequestTypeDef,
    )

MAX_STATEMENTS = 25  # per BatchExecuteStatement call
# Attempts per guarded write (rebuilt from the item as it now is after losing a race) before its
# records are left to SQS to retry: the fraud detector's counters and its fraud reports alike.
ROUNDS = 3
# A statement's error codes (BatchStatementError) that mean "send it again, later".
_THROTTLED = frozenset({"ProvisionedThroughputExceeded", "ThrottlingError", "RequestLimitExceeded"})
# ... and the one after which nobody knows: DynamoDB's error guide says a write answered with an
# internal server error "may have succeeded or failed".
_AMBIGUOUS = frozenset({"InternalServerError"})


@dataclass(frozen=True, slots=True)
class Statement:
    text: str
    params: list[AttributeValueTypeDef] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """``error`` is ``None`` when the statement was applied; ``item`` is the stored item when a
    condition failed (``ReturnValuesOnConditionCheckFailure=ALL_OLD``)."""

    error: str | None = None
    item: dict[str, AttributeValueTypeDef] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def throttled(self) -> bool:
        return self.error in _THROTTLED

    @property
    def ambiguous(self) -> bool:
        """Whether the statement may have been applied although it failed: a guarded write can
        be read back to tell; an unguarded increment cannot be sent again or taken back."""
        return self.error in _AMBIGUOUS


APPLIED = Outcome()  # every applied statement's outcome (frozen: one is shared)


def execute(
    dynamodb: DynamoDBClient, statements: Sequence[Statement], what: str, resends: int = 0
) -> list[Outcome]:
    """Run ``statements`` (25 per call); one :class:`Outcome` per statement, in order.

    ``resends``: how often a call is sent again after failing without being applied (throttled,
    never connected), for a client the SDK never resends on (``txn_adapters.aws``, "once")."""
    out: list[Outcome] = []
    for start in range(0, len(statements), MAX_STATEMENTS):
        chunk = statements[start : start + MAX_STATEMENTS]
        request: list[BatchStatementRequestTypeDef] = [
            {
                "Statement": s.text,
                "Parameters": s.params,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
            for s in chunk
        ]
        response = _send(dynamodb, request, what, resends)
        for answer in response.get("Responses", []):
            error = answer.get("Error")
            if error is None:
                out.append(APPLIED)
            else:
                out.append(Outcome(error.get("Code", "InternalServerError"), error.get("Item")))
    if len(out) != len(statements):
        raise translate(ClientError({"Error": {"Code": "IncompleteResponse"}}, "x"), what)
    return out


def _send(
    dynamodb: DynamoDBClient, request: list[BatchStatementRequestTypeDef], what: str, resends: int
) -> BatchExecuteStatementOutputTypeDef:
    attempt = 0
    while True:
        try:
            return dynamodb.batch_execute_statement(Statements=request)
        except (ClientError, BotoCoreError) as exc:
            if attempt >= resends or not not_applied(exc):
                raise translate(exc, what) from exc
        backoff(attempt)
        attempt += 1


@lru_cache(maxsize=256)  # one text per shape of item: records and counters repeat their shapes
def insert_text(table: str, names: tuple[str, ...]) -> str:
    """``INSERT INTO "table" VALUE {'a': ?, ...}`` for attributes ``names``, in order."""
    fields = ", ".join(f"'{name}': ?" for name in names)
    return f"INSERT INTO {quote(table)} VALUE {{{fields}}}"


def quote(name: str) -> str:
    """A PartiQL identifier (our attribute and table names hold no double quote)."""
    return f'"{name}"'

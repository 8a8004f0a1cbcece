"""The transactions table: decided records inserted with PartiQL ``INSERT`` (which refuses an
existing key), probed by key in the batch's one read, and ``FAILED`` records from the DLQ.

Every record write is conditional on the record not existing: a redelivered message changes
nothing. Both writes store :func:`stored_item` of the record: it expires
``TRANSACTION_RETENTION_DAYS`` after the platform received it (the table's TTL), and a record
whose status needs a person (``FLAGGED``, ``FAILED``) also carries the sparse
``review-by-merchant`` index's key, so only those records are copied into the index
(``txn_spec.shapes.REVIEW_INDEX``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import condition_item, from_item, to_item, translate
from txn_adapters.partiql import Outcome, Statement, execute, insert_text
from txn_domain.models import AcceptedTransaction
from txn_spec.shapes import (
    REVIEW_KEY,
    REVIEW_STATUSES,
    TRANSACTION_EXPIRY,
    TRANSACTION_RETENTION_DAYS,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_NEW = "attribute_not_exists(transaction_id)"
_RETENTION_SECONDS = TRANSACTION_RETENTION_DAYS * 86400


def stored_item(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` as the table stores it: with its expiry (the TTL attribute, in epoch seconds,
    counted from when the platform received the transaction, or failed to read a message that
    was none), and with the review index's key when its status needs a person and its merchant
    is known (a FAILED record of an unparsable message has none)."""
    since = datetime.fromisoformat(record.get("received_at") or record["failed_at"])
    item = {**record, TRANSACTION_EXPIRY: int(since.timestamp()) + _RETENTION_SECONDS}
    merchant = record.get("merchant_id")
    if record.get("status") in REVIEW_STATUSES and merchant:
        item[REVIEW_KEY] = merchant
    return item


# Resends of a statements call refused unapplied (throttled, never connected): see execute.
_RESENDS = 3


class TransactionsStore:
    def __init__(self, dynamodb: DynamoDBClient, table: str, writes: DynamoDBClient | None = None):
        """``writes``: the client :meth:`execute` sends with, when it must not be the SDK's to
        resend (the fraud detector's, ``txn_adapters.aws`` "once"); reads use ``dynamodb``."""
        self._ddb = dynamodb
        self._writes = writes or dynamodb
        self.table = table

    def keys(self, txns: Sequence[AcceptedTransaction]) -> tuple[str, list[dict[str, Any]]]:
        """The table and the record keys of ``txns``, to read whether they are stored."""
        return self.table, [
            {"transaction_id": {"S": t.transaction_id}, "timestamp": {"S": t.timestamp}}
            for t in txns
        ]

    def insert(self, record: dict[str, Any]) -> Statement:
        """An ``INSERT`` of ``record``; it fails with ``DuplicateItem`` if the key is stored."""
        item = to_item(stored_item(record))
        return Statement(insert_text(self.table, tuple(item)), list(item.values()))

    def execute(self, statements: Sequence[Statement]) -> list[Outcome]:
        """Records and the statements that must go with them (merchant counts, unguarded):
        sent again only when surely not applied, so none is applied twice."""
        return execute(self._writes, statements, "recording transactions", _RESENDS)

    def find(self, transaction_id: str) -> dict[str, Any] | None:
        """The stored record of ``transaction_id`` (any timestamp), or ``None``: one ``Query``
        on the partition key, for a fraud report that names the transaction by its id only.

        Strongly consistent: an eventually consistent read may miss a record written a moment
        ago (DynamoDB's "Read consistency"), and a report whose record is not found is
        acknowledged as ``transaction_unknown`` for good. One item, one read unit; reports are
        rare."""
        try:
            response = self._ddb.query(
                TableName=self.table,
                KeyConditionExpression="transaction_id = :id",
                ExpressionAttributeValues={":id": {"S": transaction_id}},
                ConsistentRead=True,
                Limit=1,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "reading the reported transaction") from exc
        items = response.get("Items") or []
        return from_item(items[0]) if items else None

    def put_if_new(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Write ``record`` unless one with its key exists: ``None`` if written, else the
        record already stored (one call either way)."""
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item=to_item(stored_item(record)),
                ConditionExpression=_NEW,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return from_item(condition_item(exc) or {})
            raise translate(exc, "recording the failed transaction") from exc
        except BotoCoreError as exc:
            raise translate(exc, "recording the failed transaction") from exc
        return None

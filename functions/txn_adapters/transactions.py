"""The transactions table: decided records committed with their velocity updates in one
``TransactWriteItems``, and ``FAILED`` records from the DLQ.

Every record write is conditional on the record not existing: a redelivered message changes
nothing, and its counter updates, being in the same transaction, are not applied either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import to_item, translate
from txn_domain.errors import TransactionCancelledError

MAX_ACTIONS = 100
_NEW = "attribute_not_exists(transaction_id)"


class TransactionsStore:
    def __init__(self, dynamodb: Any, table: str):
        self._ddb = dynamodb
        self.table = table

    def put_action(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(record),
                "ConditionExpression": _NEW,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def commit(self, actions: Sequence[dict[str, Any]]) -> None:
        """Apply all actions or none; :class:`TransactionCancelledError` tells which failed."""
        if len(actions) > MAX_ACTIONS:
            raise ValueError(f"{len(actions)} actions exceed the {MAX_ACTIONS} limit")
        try:
            self._ddb.transact_write_items(TransactItems=list(actions))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise translate(exc, "recording transactions") from exc
            reasons = [
                (r.get("Code", "None"), r.get("Item"))
                for r in exc.response.get("CancellationReasons", [])
            ]
            raise TransactionCancelledError("recording transactions: cancelled", reasons) from exc
        except BotoCoreError as exc:
            raise translate(exc, "recording transactions") from exc

    def put_if_new(self, record: dict[str, Any]) -> bool:
        """Write ``record`` unless one with its key exists; ``False`` if it did."""
        try:
            self._ddb.put_item(TableName=self.table, Item=to_item(record), ConditionExpression=_NEW)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise translate(exc, "recording the failed transaction") from exc
        except BotoCoreError as exc:
            raise translate(exc, "recording the failed transaction") from exc
        return True

"""Idempotency keys for the validator: one conditional PutItem per keyed request, none without.

The record holds the answer and the queued message. A replay with the same body gets the first
answer and the message is sent again with the same ``transaction_id``: if the first attempt died
between the PutItem and the SendMessage the transaction is not lost, and if it did not, the
fraud detector's conditional write drops the copy. A replay with another body is refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import condition_item, translate
from txn_domain.errors import ServiceUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

DEFAULT_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    body_hash: str
    status_code: int
    response: str
    message: str


class IdempotencyStore:
    def __init__(
        self, dynamodb: DynamoDBClient, table: str, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ):
        self._ddb = dynamodb
        self._table = table
        self._ttl = ttl_seconds

    def claim(
        self, key: str, answer: StoredAnswer, now: float | None = None
    ) -> StoredAnswer | None:
        """Record ``answer`` under ``key``; ``None`` if the key was new, else the stored answer."""
        now = time.time() if now is None else now
        item = {
            "id": {"S": key},
            "body_hash": {"S": answer.body_hash},
            "status_code": {"N": str(answer.status_code)},
            "response": {"S": answer.response},
            "message": {"S": answer.message},
            "expiration": {"N": str(int(now) + self._ttl)},
        }
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=item,
                # An expired record may still be there until TTL deletes it: treat it as absent.
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise translate(exc, "recording the idempotency key") from exc
            old = condition_item(exc) or self._read(key)
            return StoredAnswer(
                body_hash=old["body_hash"]["S"],
                status_code=int(old["status_code"]["N"]),
                response=old["response"]["S"],
                message=old["message"]["S"],
            )
        except BotoCoreError as exc:
            raise translate(exc, "recording the idempotency key") from exc
        return None

    def _read(self, key: str) -> dict[str, AttributeValueTypeDef]:
        try:
            response = self._ddb.get_item(
                TableName=self._table, Key={"id": {"S": key}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "reading the idempotency key") from exc
        if "Item" not in response:  # deleted between the two calls: let the client retry
            raise ServiceUnavailableError("idempotency key changed, retry", code="retry")
        return response["Item"]

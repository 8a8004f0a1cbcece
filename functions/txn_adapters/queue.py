"""The transactions queue: one SendMessage per accepted transaction."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import translate
from txn_domain.models import AcceptedTransaction


class QueuePublisher:
    def __init__(self, sqs: Any, queue_url: str):
        self._sqs = sqs
        self._url = queue_url

    def send(self, txn: AcceptedTransaction) -> str:
        """Enqueue; returns the SQS message id. Attributes let consumers route without parsing."""
        attributes = {
            "merchant_id": {"DataType": "String", "StringValue": txn.merchant_id},
            "currency": {"DataType": "String", "StringValue": txn.currency},
            "channel": {"DataType": "String", "StringValue": txn.channel},
            "schema_version": {"DataType": "String", "StringValue": txn.schema_version},
            "transaction_id": {"DataType": "String", "StringValue": txn.transaction_id},
        }
        try:
            response = self._sqs.send_message(
                QueueUrl=self._url,
                MessageBody=txn.model_dump_json(exclude_none=True),
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "enqueueing the transaction") from exc
        return response["MessageId"]

"""The transactions queue: one SendMessage per accepted transaction or fraud report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import translate
from txn_domain.models import AcceptedTransaction, QueuedReport
from txn_spec.shapes import FRAUD_REPORT_KIND, MESSAGE_KIND_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef


class QueuePublisher:
    def __init__(self, sqs: SQSClient, queue_url: str):
        self._sqs = sqs
        self._url = queue_url

    def send(self, txn: AcceptedTransaction) -> str:
        """Enqueue; returns the SQS message id. Attributes let consumers route without parsing."""
        attributes: dict[str, MessageAttributeValueTypeDef] = {
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

    def send_report(self, report: QueuedReport) -> str:
        """Enqueue a fraud report (ADR 0013), marked as one by its ``kind`` attribute."""
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            MESSAGE_KIND_ATTRIBUTE: {"DataType": "String", "StringValue": FRAUD_REPORT_KIND},
            "schema_version": {"DataType": "String", "StringValue": report.schema_version},
            "transaction_id": {"DataType": "String", "StringValue": report.transaction_id},
        }
        try:
            response = self._sqs.send_message(
                QueueUrl=self._url,
                MessageBody=report.model_dump_json(),
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "enqueueing the fraud report") from exc
        return response["MessageId"]

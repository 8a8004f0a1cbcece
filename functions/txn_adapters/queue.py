"""The transactions queue: one SendMessage per accepted transaction or fraud report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import translate
from txn_domain.models import AcceptedTransaction, QueuedReport
from txn_spec.shapes import FRAUD_REPORT_KIND, MESSAGE_KIND_ATTRIBUTE, POSTED_BY_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef


def message_attribute(record: Mapping[str, Any], name: str) -> str | None:
    """The string message attribute ``name`` of a record of a Lambda SQS event, or None (also
    for a binary attribute, which has no string value)."""
    return ((record.get("messageAttributes") or {}).get(name) or {}).get("stringValue")


class QueuePublisher:
    def __init__(self, sqs: SQSClient, queue_url: str):
        self._sqs = sqs
        self._url = queue_url

    def send(self, txn: AcceptedTransaction, posted_by: str | None = None) -> str:
        """Enqueue; returns the SQS message id. Attributes let consumers route without parsing;
        ``posted_by``, the id of the API key that posted it, is one (not in the body, which a
        consumer from before it would refuse), stored with the record (ADR 0024)."""
        attributes = {
            "merchant_id": txn.merchant_id,
            "currency": txn.currency,
            "channel": txn.channel,
            "schema_version": txn.schema_version,
            "transaction_id": txn.transaction_id,
        }
        if posted_by is not None:
            attributes[POSTED_BY_ATTRIBUTE] = posted_by
        return self._send(txn.model_dump_json(exclude_none=True), attributes, "the transaction")

    def send_report(self, report: QueuedReport) -> str:
        """Enqueue a fraud report (ADR 0013), marked as one by its ``kind`` attribute."""
        attributes = {
            MESSAGE_KIND_ATTRIBUTE: FRAUD_REPORT_KIND,
            "schema_version": report.schema_version,
            "transaction_id": report.transaction_id,
        }
        return self._send(report.model_dump_json(), attributes, "the fraud report")

    def _send(self, body: str, attributes: dict[str, str], what: str) -> str:
        """One ``SendMessage`` with string attributes; returns the SQS message id."""
        typed: dict[str, MessageAttributeValueTypeDef] = {
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        }
        try:
            response = self._sqs.send_message(
                QueueUrl=self._url, MessageBody=body, MessageAttributes=typed
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"enqueueing {what}") from exc
        return response["MessageId"]

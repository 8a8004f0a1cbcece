"""SQS batch handler on the DLQ: every message becomes a ``FAILED`` record in the audit table,
except a fraud report (ADR 0013), which is logged at ERROR and counted (``FraudReportsFailed``).

The write is conditional: a transaction that was in fact decided (its delete was lost) keeps its
verdict, and a redelivered DLQ message changes nothing. A body that is not a transaction is
recorded under its message id with a hash of the body, never the body itself (it may hold card
data). Operations are alerted by the ``FailedTransactions`` metric and an ERROR log line.

A transaction already stored ``FLAGGED`` reached the DLQ because its fraud alert could not be
published through the whole redrive (an SNS outage): its alert is published here, and the
message fails again if SNS still refuses it, so the alert is never dropped (alerts are at least
once, keyed by transaction id, like the fraud detector's).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from txn_adapters.alerts import AlertsPublisher
from txn_adapters.aws import client, require_env
from txn_adapters.queue import message_attribute
from txn_adapters.telemetry import count_records, make_logger, make_metrics, make_tracer
from txn_adapters.transactions import TransactionsStore
from txn_domain.fraud import alert_from_record
from txn_domain.models import AcceptedTransaction, Status, utc_millis
from txn_domain.pan import redact_pans
from txn_spec.shapes import FRAUD_REPORT_KIND, MESSAGE_KIND_ATTRIBUTE, POSTED_BY_ATTRIBUTE, Env

logger = make_logger()
tracer = make_tracer()
metrics = make_metrics()
# An all-failed batch is reported like any other (every record listed), not raised: the
# invocation's outcome stays a batch report and SQS retries exactly the listed records.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
store = TransactionsStore(client("dynamodb"), require_env(Env.TRANSACTIONS_TABLE))
alerts = AlertsPublisher(client("sns"), require_env(Env.FRAUD_ALERTS_TOPIC_ARN))


def _iso_ms(epoch_ms: str | None) -> str | None:
    if not epoch_ms:
        return None
    return utc_millis(datetime.fromtimestamp(int(epoch_ms) / 1000, UTC))


def failed_record(record: SQSRecord, now: str, recorded_by: str | None = None) -> dict[str, Any]:
    """The ``FAILED`` item for a dead-lettered message; ``recorded_by``: the invocation's
    request id (which Lambda invocation wrote it)."""
    attrs = record.attributes
    receive_count = int(attrs.approximate_receive_count or 0)
    enqueued_at = _iso_ms(attrs.sent_timestamp)
    base = {
        "status": Status.FAILED.value,
        "receive_count": receive_count,
        "enqueued_at": enqueued_at,
        "failed_at": now,
        "message_id": record.message_id,
        "recorded_by": recorded_by,
    }
    try:
        txn = AcceptedTransaction.model_validate_json(record.body)
    except ValidationError:
        # Of the body with card numbers redacted: an unkeyed hash of a short body holding a PAN
        # can be reversed by trying every card number (PCI DSS 3.5.1.1 wants hashes of a PAN
        # keyed); two deliveries of one message still hash alike.
        redacted = redact_pans(record.body)
        digest = hashlib.sha256(redacted.encode("utf-8", "replace")).hexdigest()
        return {
            "transaction_id": f"unparsed-{record.message_id}",
            "timestamp": enqueued_at or now,
            "reason": "message body is not a transaction",
            "body_sha256": digest,
            **base,
        }
    posted_by = message_attribute(record.raw_event, POSTED_BY_ATTRIBUTE)
    return {
        "transaction_id": txn.transaction_id,
        "timestamp": txn.timestamp,
        "merchant_id": txn.merchant_id,
        "amount": txn.amount,
        "currency": txn.currency,
        "card_token": txn.card_token,
        "card_bin": txn.card_bin,
        "card_last4": txn.card_last4,
        "received_at": txn.received_at,
        "reason": f"not processed after {receive_count} receives on the transactions queue",
        **({"api_key_id": posted_by} if posted_by else {}),
        **base,
    }


def is_report(record: SQSRecord) -> bool:
    return message_attribute(record.raw_event, MESSAGE_KIND_ATTRIBUTE) == FRAUD_REPORT_KIND


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    if is_report(record):
        # A fraud report (ADR 0013) is no transaction: nothing goes in the transactions table.
        # It counts once whenever it is sent again, so the sender resends it.
        metrics.add_metric(name="FraudReportsFailed", unit=MetricUnit.Count, value=1)
        logger.error(
            "fraud report not processed after its receives; resend it",
            extra={"message_id": record.message_id},
        )
        return
    now = utc_millis(datetime.now(UTC))
    invocation = lambda_context.aws_request_id if lambda_context else None
    item = failed_record(record, now, invocation)
    stored = store.put_if_new(item)
    # The SDK resends a PutItem whose answer was lost (a read timeout, a 5xx) after DynamoDB
    # applied it: the item this invocation wrote for this message is this failure, not an
    # earlier delivery's (nor another copy's of the transaction in the same batch).
    written = (stored.get("recorded_by"), stored.get("message_id")) if stored else None
    if invocation is not None and written == (invocation, record.message_id):
        stored = None
    if stored is None:
        metrics.add_metric(name="FailedTransactions", unit=MetricUnit.Count, value=1)
        logger.error(
            "transaction failed and recorded as FAILED",
            extra={
                "transaction_id": item["transaction_id"],
                "reason": item["reason"],
                "receive_count": item["receive_count"],
                "enqueued_at": item["enqueued_at"],
            },
        )
    elif stored.get("status") == Status.FLAGGED.value:
        if alerts.publish([alert_from_record(stored)]):
            raise RuntimeError("fraud alert not published")  # the DLQ redelivers it
        metrics.add_metric(name="FraudAlertsRepublished", unit=MetricUnit.Count, value=1)
        logger.warning(
            "flagged transaction's alert published from the DLQ",
            extra={"transaction_id": item["transaction_id"]},
        )
    else:
        metrics.add_metric(name="FailedAlreadyRecorded", unit=MetricUnit.Count, value=1)
        logger.info("already recorded", extra={"transaction_id": item["transaction_id"]})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return count_records(metrics, event, response)

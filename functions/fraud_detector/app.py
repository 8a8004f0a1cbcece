"""SQS batch handler: fraud rules over the transactions queue, partial batch failures."""

from __future__ import annotations

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

from fraud_detector.pipeline import BatchResult, FraudPipeline
from txn_adapters.alerts import AlertsPublisher
from txn_adapters.aws import client, require_env
from txn_adapters.merchants import MerchantsRepository
from txn_adapters.telemetry import count_by, count_records, make_logger, make_metrics, make_tracer
from txn_adapters.transactions import TransactionsStore
from txn_adapters.velocity import VelocityStore
from txn_domain.models import Status
from txn_domain.rules import load_default_rules
from txn_spec.shapes import (
    FLAGGED_TRANSACTIONS_METRIC,
    KEY_NOT_PERMITTED_OUTCOME,
    REPORTS_BY_OUTCOME_METRIC,
    Env,
)

logger = make_logger()
tracer = make_tracer()
metrics = make_metrics()
# An all-failed batch is reported like any other (every record listed), not raised: the
# invocation's outcome stays a batch report and SQS retries exactly the listed records.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

_dynamodb = client("dynamodb")
pipeline = FraudPipeline(
    rules=load_default_rules(),  # compiled once per container
    merchants=MerchantsRepository(_dynamodb, require_env(Env.MERCHANTS_TABLE)),
    velocity=VelocityStore(_dynamodb, require_env(Env.VELOCITY_TABLE)),
    # Records and merchant counts (and their corrections) must not be resent by the SDK after
    # DynamoDB applied them (txn_adapters.aws, "once"); the reports' Query keeps its retries.
    store=TransactionsStore(
        _dynamodb, require_env(Env.TRANSACTIONS_TABLE), writes=client("dynamodb", "once")
    ),
    alerts=AlertsPublisher(client("sns"), require_env(Env.FRAUD_ALERTS_TOPIC_ARN)),
)


def _record_metrics(result: BatchResult) -> None:
    for outcome, count in result.reports.items():
        # ADR 0013; outcome: counted, duplicate, transaction_unknown, not_permitted (ADR 0024)
        count_by(metrics, REPORTS_BY_OUTCOME_METRIC, "outcome", outcome, count)
    if not result.decided and result.reports:
        return  # a batch of fraud reports only: no transaction figures
    approved = sum(a.decision.status is Status.APPROVED for a in result.decided)
    flagged = len(result.decided) - approved
    metrics.add_metric(name="TransactionsApproved", unit=MetricUnit.Count, value=approved)
    metrics.add_metric(name=FLAGGED_TRANSACTIONS_METRIC, unit=MetricUnit.Count, value=flagged)
    metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=result.duplicates)
    if result.merchant_drift:
        metrics.add_metric(
            name="MerchantCountDrift", unit=MetricUnit.Count, value=result.merchant_drift
        )
    by_rule: dict[str, int] = {}
    for a in result.decided:
        if a.decision.status is Status.FLAGGED:
            for rule_id in a.decision.matched_rules:
                by_rule[rule_id] = by_rule.get(rule_id, 0) + 1
    for rule_id, count in by_rule.items():
        count_by(metrics, "FlaggedByRule", "rule_id", rule_id, count)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    result = pipeline.process(event.get("Records", []))
    _record_metrics(result)
    if result.merchant_drift:
        logger.warning(
            "merchant velocity not settled for some transactions",
            extra={"transactions": result.merchant_drift},
        )
    if result.reports.get("transaction_unknown"):
        logger.warning(
            "fraud report on a transaction the platform does not hold [transaction_unknown]",
            extra={"reports": result.reports["transaction_unknown"]},
        )
    for refused in result.refused_reports:
        # A key holder reporting another merchant's sale: a security event (ADR 0024).
        logger.warning(
            "fraud report from an API key that neither posted the sale nor is named by its "
            f"merchant [{KEY_NOT_PERMITTED_OUTCOME}]",
            extra=refused,
        )
    for message_id, exc in result.failures.items():
        logger.warning(
            "record not processed, SQS will retry it",
            extra={"message_id": message_id, "error": type(exc).__name__, "detail": str(exc)},
        )

    def record_handler(record: SQSRecord) -> None:
        failure = result.failures.get(record.message_id)
        if failure is not None:
            raise failure

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return count_records(metrics, event, response)

"""API Gateway (REST, Lambda proxy) handler: ``POST /transaction`` and ``POST /fraud-reports``."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from txn_adapters.aws import client, require_env
from txn_adapters.idempotency import IdempotencyStore
from txn_adapters.merchants import MerchantsRepository
from txn_adapters.queue import QueuePublisher
from txn_adapters.telemetry import count_by, make_logger, make_metrics, make_tracer
from txn_domain.errors import ServiceUnavailableError
from txn_spec.shapes import (
    REJECTED_BY_CODE_METRIC,
    REJECTED_REPORTS_METRIC,
    REJECTED_TRANSACTIONS_METRIC,
    Env,
)
from validator.service import Result, Validator, error_result

logger = make_logger()
tracer = make_tracer()
metrics = make_metrics()

_dynamodb = client("dynamodb", "api")
validator = Validator(
    merchants=MerchantsRepository(_dynamodb, require_env(Env.MERCHANTS_TABLE)),
    queue=QueuePublisher(client("sqs", "api"), require_env(Env.TRANSACTIONS_QUEUE_URL)),
    idempotency=IdempotencyStore(_dynamodb, require_env(Env.IDEMPOTENCY_TABLE)),
)


def _origin(event: dict[str, Any]) -> dict[str, Any]:
    """Who sent a refused request: the access log's request id, the source IP and the API key's
    id, so the refusal's code (only here) joins the access log's line (kept 400 days in prod;
    PCI DSS 10.2.2)."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    return {
        "request_id": context.get("requestId"),
        "source_ip": identity.get("sourceIp"),
        "api_key_id": identity.get("apiKeyId"),
    }


def _record(result: Result, report: bool, event: dict[str, Any]) -> None:
    # An accepted transaction or report writes no metric line (see REJECTED_TRANSACTIONS_METRIC).
    if result.status_code == 202:
        if result.outcome == "replayed":
            metrics.add_metric(name="IdempotentReplays", unit=MetricUnit.Count, value=1)
        return
    log = logger.error if result.status_code >= 500 else logger.info
    extra = {"status": result.status_code, "code": result.outcome, **_origin(event)}
    if result.merchant_id is not None:  # refused for the key: which merchant it tried
        extra["merchant_id"] = result.merchant_id
    if report:
        metrics.add_metric(name=REJECTED_REPORTS_METRIC, unit=MetricUnit.Count, value=1)
        log("fraud report refused", extra=extra)
        return
    metrics.add_metric(name=REJECTED_TRANSACTIONS_METRIC, unit=MetricUnit.Count, value=1)
    count_by(metrics, REJECTED_BY_CODE_METRIC, "code", result.outcome)
    log("transaction refused", extra=extra)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        result = validator.handle(event)
    except Exception:  # an unknown failure is ours, never the client's: 503 with a code
        logger.exception("validator failed")
        result = error_result(ServiceUnavailableError("the service cannot take the request now"))
    _record(result, validator.is_report(event), event)
    return result.to_proxy()

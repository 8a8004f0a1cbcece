"""Powertools logger, tracer and metrics, built the same way for every function.

Configuration names the service (``POWERTOOLS_SERVICE_NAME``, the function's physical name from
``compute``): the ``service`` dimension the alarms and the dashboard query. A name in the code
would win over it and leave them watching a metric nobody emits.

The logger's formatter redacts anything shaped like a card number from the final JSON line, so
a PAN cannot reach CloudWatch through a message, an extra key or an exception's traceback.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from txn_domain.pan import redact_pans
from txn_spec.shapes import METRICS_NAMESPACE, RECORDS_FAILED_METRIC, RECORDS_PROCESSED_METRIC

if TYPE_CHECKING:  # the batch utility loads Powertools' event models: the consumers' cost only
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse


class PanRedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: Any) -> str:
        return redact_pans(super().serialize(log))


def make_logger() -> Logger:
    return Logger(logger_formatter=PanRedactingFormatter())


# The functions call AWS through botocore and nothing else. Powertools would otherwise patch every
# library the X-Ray SDK knows (patch_all: it imports each one it finds, sqlite3 and http.client
# among them) at every cold start, for calls these functions never make.
TRACED_MODULES = ("botocore",)


def make_tracer() -> Tracer:
    return Tracer(patch_modules=TRACED_MODULES)


# An invocation with nothing to count (the validator's accepted transactions) is normal here,
# not a mistake for Powertools to warn about.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def make_metrics() -> Metrics:
    return Metrics(namespace=METRICS_NAMESPACE)


def count_by(metrics: Metrics, name: str, dimension: str, value: str, count: int = 1) -> None:
    """Emit ``name`` with one extra dimension (e.g. the rejection code) as its own EMF line."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=count,
        namespace=METRICS_NAMESPACE,
        # the service ``metrics`` was configured with (single_metric would read it again)
        default_dimensions={**metrics.default_dimensions, "service": metrics.service},
    ) as metric:
        metric.add_dimension(name=dimension, value=value)


def count_records(
    metrics: Metrics, event: dict[str, Any], response: PartialItemFailureResponse
) -> PartialItemFailureResponse:
    """Count an SQS batch's records and those reported failed to SQS; returns ``response``."""
    processed = len(event.get("Records", []))
    failed = len(response["batchItemFailures"])
    metrics.add_metric(name=RECORDS_PROCESSED_METRIC, unit=MetricUnit.Count, value=processed)
    metrics.add_metric(name=RECORDS_FAILED_METRIC, unit=MetricUnit.Count, value=failed)
    return response

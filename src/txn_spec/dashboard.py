"""The operations dashboard's metric widgets as data, read by two renderers.

The ``observability`` stack turns :data:`WIDGETS` into the CloudWatch dashboard body (each
target becomes CloudWatch dimensions, :mod:`txn_infra.components.observability.dashboard`), and
the local runtime's ``/_dashboard`` page fills the same widgets from its own counters
(:mod:`txn_local.dashboard`). A widget whose title names ``{function}`` is drawn once per
function. Pure Python.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from txn_spec.shapes import (
    FAILED_TRANSACTIONS_METRIC,
    FLAGGED_TRANSACTIONS_METRIC,
    METRICS_NAMESPACE,
    REJECTED_REPORTS_METRIC,
    REJECTED_TRANSACTIONS_METRIC,
)

# What a metric line watches; the renderer says which instances (and labels) each one has:
# ``api`` the stage (both routes), ``waf`` its web ACL (every rule), ``function`` the widget's
# function, ``queue`` the transactions queue, ``dead_letter_queues`` and ``tables`` (with their
# indexes) one line each, ``service:<function>`` a function's Powertools ``service`` dimension.
Target = Literal[
    "api", "waf", "function", "queue", "dead_letter_queues", "tables",
    "service:validator", "service:fraud-detector", "service:failed-transactions",
]  # fmt: skip
T = TypeVar("T")


@dataclass(frozen=True)
class Line:
    namespace: str
    metric: str
    stat: str
    target: Target
    label: str | None = None  # ``{target}`` is replaced by the instance's label
    y_axis: str | None = None

    def options(self, instance: str | None) -> dict[str, Any]:
        """CloudWatch's rendering options of this line for one target instance."""
        options: dict[str, Any] = {"stat": self.stat}
        if self.label is not None:
            options["label"] = self.label.format(target=instance)
        if self.y_axis is not None:
            options["yAxis"] = self.y_axis
        return options


@dataclass(frozen=True)
class Widget:
    title: str
    lines: tuple[Line, ...]


def _widget(title: str, *lines: Line) -> Widget:
    return Widget(title, lines)


def _api(metric: str, stat: str) -> Line:
    return Line("AWS/ApiGateway", metric, stat, "api")


def _waf(metric: str) -> Line:
    return Line("AWS/WAFV2", metric, "Sum", "waf")


def _lambda(metric: str, stat: str) -> Line:
    return Line("AWS/Lambda", metric, stat, "function")


def _sqs(metric: str, target: Target, label: str | None = None, **rest: str) -> Line:
    stat = "Sum" if metric == "NumberOfMessagesSent" else "Maximum"
    return Line("AWS/SQS", metric, stat, target, label, **rest)


def _own(metric: str, target: Target, label: str | None = None) -> Line:
    return Line(METRICS_NAMESPACE, metric, "Sum", target, label)


VISIBLE = "ApproximateNumberOfMessagesVisible"

# fmt: off
WIDGETS: tuple[Widget, ...] = (
    # The stage's totals: POST /transaction and POST /fraud-reports together. API Gateway
    # documents SampleCount as Count's statistic.
    _widget("API requests and errors",
            _api("Count", "SampleCount"), _api("4XXError", "Sum"), _api("5XXError", "Sum")),
    _widget("API latency (ms)",
            _api("Latency", "p50"), _api("Latency", "p99"), _api("IntegrationLatency", "p99")),
    _widget("WAF: requests allowed and blocked", _waf("AllowedRequests"), _waf("BlockedRequests")),
    # The validator queues transactions and fraud reports alike on the transactions queue.
    _widget("Requests accepted (queued) and refused",
            _sqs("NumberOfMessagesSent", "queue",
                 "accepted: transactions and fraud reports (a replay counts again)"),
            _own(REJECTED_TRANSACTIONS_METRIC, "service:validator", "transactions refused"),
            _own(REJECTED_REPORTS_METRIC, "service:validator", "fraud reports refused")),
    _widget("{function}: invocations, errors, throttles",
            _lambda("Invocations", "Sum"), _lambda("Errors", "Sum"), _lambda("Throttles", "Sum")),
    _widget("{function}: duration (ms)", _lambda("Duration", "p50"), _lambda("Duration", "p99")),
    _widget("{function}: concurrent executions", _lambda("ConcurrentExecutions", "Maximum")),
    _widget("Transactions queue",
            _sqs(VISIBLE, "queue"), _sqs("ApproximateAgeOfOldestMessage", "queue", y_axis="right")),
    _widget("Dead-letter queues: visible messages",
            _sqs(VISIBLE, "dead_letter_queues", "{target}")),
    _widget("DynamoDB throttle events",
            Line("AWS/DynamoDB", "ReadThrottleEvents", "Sum", "tables", "{target} reads"),
            Line("AWS/DynamoDB", "WriteThrottleEvents", "Sum", "tables", "{target} writes")),
    _widget("Transactions flagged as fraud",
            _own(FLAGGED_TRANSACTIONS_METRIC, "service:fraud-detector")),
    _widget("Transactions recorded as FAILED",
            _own(FAILED_TRANSACTIONS_METRIC, "service:failed-transactions")),
)
# fmt: on

# One target instance: its label (``None`` where there is one instance) and what the renderer
# draws from (CloudWatch dimensions, a local counter's key).
Instances = Callable[[Target, str | None], Sequence[tuple[str | None, T]]]


def expand(
    functions: Sequence[str], instances: Instances[T]
) -> Iterator[tuple[str, list[tuple[Line, str | None, T]]]]:
    """Each widget's title and its lines, one per target instance. Consecutive widgets whose
    title names ``{function}`` go function by function, and consecutive lines on the same
    target instance by instance (every table's reads, then its writes)."""
    groups = itertools.groupby(WIDGETS, key=lambda widget: "{function}" in widget.title)
    for per_function, group in groups:
        widgets = list(group)
        for function in functions if per_function else (None,):
            for widget in widgets:
                rows: list[tuple[Line, str | None, T]] = []
                for target, same in itertools.groupby(widget.lines, key=lambda line: line.target):
                    lines = list(same)
                    for label, instance in instances(target, function):
                        rows += [(line, label, instance) for line in lines]
                yield widget.title.format(function=function), rows

"""The live dashboard: ``/_dashboard`` on the local gateway draws the CloudWatch dashboard's
widgets (:data:`txn_spec.dashboard.WIDGETS`) from the local runtime's counters.

The page (``dashboard.html``: no build step, nothing from a CDN) polls ``/_dashboard/data``
every second. A count (``Sum``, ``SampleCount``) shows the total since the runtime started
(CloudWatch shows it per minute), a percentile the last 1,000 calls, a gauge its value now, and
``null`` (``n/a``) what has no local counterpart (throttling, concurrency limits, the WAF). The
counters: the gateway's answers and the validator's calls (counted here), the pollers'
:class:`~txn_local.pollers.PollerStats`, the queues' attributes and the FLAGGED records in the
transactions table's review index.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from txn_local.gateway import Request, Response
from txn_local.invoke import Handler
from txn_local.pollers import PollerStats
from txn_spec import shapes
from txn_spec.dashboard import Line, Target, expand

if TYPE_CHECKING:
    from txn_local.runtime import LocalRuntime

PATH = "/_dashboard"
READS = ("GET", "HEAD")  # the page and its data are read-only
PAGE = Path(__file__).with_name("dashboard.html")
_DEAD_LETTER_QUEUES = (shapes.TRANSACTIONS_DLQ, shapes.PARKING_QUEUE)
_SENT, _REFUSED = "NumberOfMessagesSent", shapes.REJECTED_TRANSACTIONS_METRIC
_REPORTS_REFUSED = shapes.REJECTED_REPORTS_METRIC


def _ms(counts: dict[str, int], stat: str) -> float:
    return counts[f"{stat}_us"] / 1000


class Dashboard:
    """Meters the runtime's gateway and validator and answers the dashboard's two paths."""

    def __init__(self, runtime: LocalRuntime):
        assert runtime.gateway is not None
        self.runtime = runtime
        self.api = PollerStats()  # the gateway's answers: latency percentiles
        self.validator = PollerStats()  # its calls ("batches"), errors and durations
        # The counted metrics, every key from the start (the data request copies the dict).
        self.counts = dict.fromkeys(
            ("Count", "4XXError", "5XXError", _SENT, _REFUSED, _REPORTS_REFUSED), 0
        )
        gateway = runtime.gateway
        gateway.validator = dataclasses.replace(
            gateway.validator, handler=self._metered(gateway.validator.handler)
        )
        gateway.dashboard = self

    def handle(self, request: Request, answer: Callable[[Request], Response]) -> Response:
        """The page or its data for the dashboard's paths; any other request is answered by
        ``answer`` (the gateway's steps) and counted as API Gateway's metrics count it."""
        if request.path in (PATH, f"{PATH}/", f"{PATH}/data") and request.method not in READS:
            refusal = {"code": "method_not_allowed", "message": "GET or HEAD only"}
            body = json.dumps({"error": refusal})
            return Response(
                405, [("Content-Type", "application/json"), ("Allow", "GET, HEAD")], body.encode()
            )
        if request.path in (PATH, f"{PATH}/"):
            return Response(200, [("Content-Type", "text/html; charset=utf-8")], PAGE.read_bytes())
        if request.path == f"{PATH}/data":
            body = json.dumps(self.data()).encode()
            return Response(200, [("Content-Type", "application/json")], body)
        began = time.perf_counter()
        response = answer(request)
        with self.api.lock:
            self.api.timed(time.perf_counter() - began)
            self.counts["Count"] += 1
            if response.status >= 400:
                self.counts[f"{response.status // 100}XXError"] += 1
        return response

    def _metered(self, handler: Handler) -> Handler:
        def metered(event: dict[str, Any], context: Any) -> Any:
            began, result = time.perf_counter(), None
            try:
                result = handler(event, context)
                return result
            finally:
                with self.validator.lock:
                    self.validator.timed(time.perf_counter() - began)
                    self.validator.batches += 1
                    self.validator.handler_errors += result is None
                    status = result.get("statusCode") if isinstance(result, dict) else None
                    report = event.get("resource") == shapes.FRAUD_REPORTS_RESOURCE
                    refused = _REPORTS_REFUSED if report else _REFUSED
                    self.counts[_SENT if status == 202 else refused] += status is not None

        return metered

    # --- the data -------------------------------------------------------------------------------

    def data(self) -> dict[str, Any]:
        """Every widget's title and its lines' labels and local values."""
        functions = {**self.runtime.stats(), shapes.VALIDATOR.component: self.validator.snapshot()}
        queues = {q.component: self._depth(q) for q in shapes.QUEUES}
        api, counts = self.api.snapshot(), dict(self.counts)
        fraud = functions[shapes.FRAUD_DETECTOR.component]
        value: dict[str, Callable[[str, Any], float | None]] = {
            **{metric: lambda stat, _, n=n: n for metric, n in counts.items()},
            "Latency": lambda stat, _: _ms(api, stat),
            "IntegrationLatency": lambda stat, _: _ms(functions[shapes.VALIDATOR.component], stat),
            "Invocations": lambda stat, fn: functions[fn]["batches"],
            "Errors": lambda stat, fn: functions[fn]["handler_errors"],
            "Duration": lambda stat, fn: _ms(functions[fn], stat),
            "ApproximateNumberOfMessagesVisible": lambda stat, q: queues[q][0],
            "ApproximateAgeOfOldestMessage": lambda stat, q: (
                fraud["age_ms"] / 1000 if sum(queues[q]) else 0
            ),
            shapes.FLAGGED_TRANSACTIONS_METRIC: lambda stat, _: self._flagged(),
            shapes.FAILED_TRANSACTIONS_METRIC: lambda stat, _: functions[
                shapes.FAILED_TRANSACTIONS.component
            ]["succeeded"],
        }

        def row(line: Line, label: str | None, instance: Any) -> dict[str, Any]:
            found = value.get(line.metric)
            return {
                "label": line.options(label).get("label") or f"{line.metric} ({line.stat})",
                "value": None if found is None else found(line.stat, instance),
            }

        widgets = expand([s.component for s in shapes.FUNCTIONS], _instances)
        return {
            "widgets": [
                {"title": title, "lines": [row(*r) for r in rows]} for title, rows in widgets
            ],
            "uptime_seconds": round(time.monotonic() - self.runtime.started_at, 1),
        }

    def _depth(self, queue: shapes.QueueShape) -> tuple[int, int]:
        """(visible, in flight) messages of ``queue``."""
        assert self.runtime.resources is not None
        attributes = self.runtime.aws.client("sqs", observer=True).get_queue_attributes(
            QueueUrl=self.runtime.resources.queue_url(queue),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    def _flagged(self) -> int:
        """FLAGGED records stored so far, from the sparse review index (a few % of the table)."""
        assert self.runtime.resources is not None
        pages = (
            self.runtime.aws.client("dynamodb", observer=True)
            .get_paginator("scan")
            .paginate(
                TableName=self.runtime.resources.table(shapes.TRANSACTIONS_TABLE),
                IndexName=shapes.REVIEW_INDEX.name,
                ProjectionExpression="#s",
                ExpressionAttributeNames={"#s": "status"},
            )
        )
        return sum(item["status"]["S"] == "FLAGGED" for page in pages for item in page["Items"])


def _instances(target: Target, function: str | None) -> list[tuple[str | None, Any]]:
    """(label, what the local value is read from) of each instance of ``target``."""
    if target == "function":
        return [(None, function)]
    if target == "queue":
        return [(None, shapes.TRANSACTIONS_QUEUE.component)]
    if target == "dead_letter_queues":
        return [(q.component, q.component) for q in _DEAD_LETTER_QUEUES]
    if target == "tables":
        return [
            (label, None)
            for t in shapes.TABLES
            for label in (t.component, *(f"{t.component} {i.name}" for i in t.indexes))
        ]
    return [(None, None)]

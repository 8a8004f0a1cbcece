"""Replay labelled traffic through the real fraud detector, in event time.

Each transaction is queued as the validator queues it (``received_at`` = its own time) and the
batches are what an SQS poller would take: consecutive messages, at most 10, within one minute.
The pipeline's clock is the batch's time, so every window, profile and guard sees the traffic's
own timeline, days and weeks of it, not a compressed one. Confirmed-fraud feedback is delivered
when its time comes, between batches (``feedback``): by default as the validator queues a
``POST /fraud-reports`` body, taken by the same pipeline (ADR 0013).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fraud_detector.pipeline import BatchResult, FraudPipeline
from txn_adapters.alerts import AlertsPublisher
from txn_adapters.aws import from_item, to_item
from txn_adapters.merchants import MerchantsRepository
from txn_adapters.transactions import TransactionsStore
from txn_adapters.velocity import VelocityStore
from txn_domain.models import SCHEMA_VERSION, utc_millis
from txn_domain.rules import load_default_rules
from txn_domain.rules.engine import RuleSet
from txn_perf.fraud_eval.generator import Traffic
from txn_perf.fraud_eval.memdb import MemoryAws
from txn_spec.shapes import FRAUD_REPORT_KIND, MESSAGE_KIND_ATTRIBUTE

BATCH = 10
BATCH_SPAN_S = 60
# The risk team's API key: the replay binds every merchant to it, so its reports count (ADR 0024)
REPORTER_KEY = "fraud-eval-reporter"
# The pipeline, and the confirmations due: (arrival time, transaction id, pattern).
FeedbackSink = Callable[[FraudPipeline, list[tuple[float, str, str]]], None]
# Transactions replayed so far, of how many: called every tenth of the way.
Progress = Callable[[int, int], None]


@dataclass
class Scored:
    transaction_id: str
    at: float
    pattern: str
    merchant_id: str
    terminal_id: str | None
    flagged: bool
    score: int
    rules: tuple[str, ...]


@dataclass
class Replay:
    scored: list[Scored]
    seconds: float
    calls: dict[str, int]
    batches: int
    velocity_items: int
    velocity_item_bytes: dict[str, float] = field(default_factory=dict)
    feedback_delivered: int = 0
    rules_version: str = ""  # the rules document's version the traffic was judged by


def stamp(at: float) -> str:
    """``at`` (epoch seconds) as the platform stamps a time: UTC, to the millisecond."""
    return utc_millis(datetime.fromtimestamp(at, UTC))


def batches(traffic: Traffic) -> list[list[int]]:
    out: list[list[int]] = []
    current: list[int] = []
    for i, event in enumerate(traffic.events):
        if current and (
            len(current) == BATCH or event.at - traffic.events[current[0]].at > BATCH_SPAN_S
        ):
            out.append(current)
            current = []
        current.append(i)
    if current:
        out.append(current)
    return out


def memory_pipeline(
    aws: MemoryAws, clock: list[float], rules: RuleSet | None = None
) -> FraudPipeline:
    """The real fraud pipeline on the in-memory DynamoDB ``aws``, reading the time from
    ``clock[0]`` (the caller moves it), with the default rules unless given others."""
    return FraudPipeline(
        rules=rules or load_default_rules(),
        merchants=MerchantsRepository(aws, "merchants", clock=lambda: clock[0]),
        velocity=VelocityStore(aws, "velocity"),
        store=TransactionsStore(aws, "transactions"),
        alerts=AlertsPublisher(aws, "arn:aws:sns:us-east-2:000000000000:fraud-alerts"),
        clock=lambda: clock[0],
        shard=0,
    )


def replay(
    traffic: Traffic,
    rules: RuleSet | None = None,
    feedback: FeedbackSink | None = None,
    progress: Progress | None = None,
) -> Replay:
    aws = MemoryAws([to_item({**m, "api_key_ids": [REPORTER_KEY]}) for m in traffic.merchants])
    clock = [traffic.events[0].at if traffic.events else 0.0]
    pipeline = memory_pipeline(aws, clock, rules)
    pending = list(traffic.feedback)
    delivered = 0
    groups = batches(traffic)
    started = time.process_time()
    total, done = len(traffic.events), 0
    tenths = {len(groups) * k // 10 for k in range(1, 11)}  # the batches that end each tenth
    for number, group in enumerate(groups, 1):
        events = [traffic.events[i] for i in group]
        clock[0] = events[-1].at + 1
        due = 0
        while due < len(pending) and pending[due][0] <= clock[0]:
            due += 1
        if due:
            if feedback is not None:
                feedback(pipeline, pending[:due])
                delivered += due
            del pending[:due]
        records = [
            {
                "messageId": e.transaction_id,
                "body": json.dumps(
                    {
                        **e.body,
                        "transaction_id": e.transaction_id,
                        "received_at": stamp(e.at),
                        "schema_version": SCHEMA_VERSION,
                    }
                ),
            }
            for e in events
        ]
        _all_taken(pipeline.process(records), "records")
        done += len(group)
        if progress is not None and number in tenths:
            progress(done, total)
    seconds = time.process_time() - started

    stored = {k[0]: from_item(v) for k, v in aws.tables["transactions"].items()}
    scored = []
    for e in traffic.events:
        record = stored[e.transaction_id]
        scored.append(
            Scored(
                e.transaction_id,
                e.at,
                e.pattern,
                e.body["merchant_id"],
                e.body.get("terminal_id"),
                record["status"] == "FLAGGED",
                int(record["score"]),
                tuple(record.get("matched_rules", ())),
            )
        )
    sizes: dict[str, list[int]] = {}
    for key, item in zip(aws.tables["velocity"], aws.item_sizes(), strict=True):
        sizes.setdefault(key[0].split("#", 1)[0], []).append(item)
    return Replay(
        scored=scored,
        seconds=seconds,
        calls=dict(aws.calls),
        batches=len(groups),
        velocity_items=len(aws.tables["velocity"]),
        velocity_item_bytes={k: max(v) for k, v in sizes.items()},
        feedback_delivered=delivered,
        rules_version=pipeline.rules.version,
    )


def first_feedback_per_terminal(traffic: Traffic) -> dict[str, float]:
    """When the first chargeback on each compromised terminal arrives."""
    terminal = {
        e.transaction_id: e.body.get("terminal_id")
        for e in traffic.events
        if e.pattern == "compromised_terminal"
    }
    out: dict[str, float] = {}
    for at, txn_id, pattern in traffic.feedback:
        t = terminal.get(txn_id)
        if pattern == "compromised_terminal" and t is not None:
            out[t] = min(at, out.get(t, at))
    return out


def report_records(due: list[tuple[float, str, str]]) -> list[dict[str, object]]:
    """The SQS records of fraud reports as the validator queues them (``POST /fraud-reports``
    with ``kind`` chargeback, reported when the confirmation arrives)."""
    return [
        {
            "messageId": f"report-{txn_id}",
            "body": json.dumps(
                {
                    "transaction_id": txn_id,
                    "kind": "chargeback",
                    "reported_at": stamp(at),
                    "received_at": stamp(at),
                    "api_key_id": REPORTER_KEY,
                    "schema_version": SCHEMA_VERSION,
                }
            ),
            "messageAttributes": {
                MESSAGE_KIND_ATTRIBUTE: {"stringValue": FRAUD_REPORT_KIND, "dataType": "String"}
            },
        }
        for at, txn_id, _ in due
    ]


def deliver_reports(pipeline: FraudPipeline, due: list[tuple[float, str, str]]) -> None:
    """Confirmed fraud through the fraud detector's own path, in batches of :data:`BATCH`."""
    records = report_records(due)
    for start in range(0, len(records), BATCH):
        _all_taken(pipeline.process(records[start : start + BATCH]), "reports")


def _all_taken(result: BatchResult, what: str) -> None:
    """A replay stops at the first batch the pipeline did not take whole."""
    if result.failures:
        first = next(iter(result.failures.values()))
        raise RuntimeError(f"the pipeline failed {len(result.failures)} {what}: {first}")


def default_feedback() -> FeedbackSink | None:
    """How confirmed fraud reaches the detector: the fraud-report path (ADR 0013)."""
    return deliver_reports

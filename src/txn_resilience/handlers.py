"""The functions' real handlers, wrapped for the fault scenarios.

The wrapper turns an injected :class:`~txn_resilience.faults.FunctionCrash` into a failed
invocation (what Lambda reports when the function dies), delivers a fraud-detector batch twice
on request (SQS delivers at least once), and reports every batch it was handed, so the leak scan
sees every record.
"""

from __future__ import annotations

import importlib
import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from txn_resilience.faults import RUNNING, FunctionCrash
from txn_spec import shapes


class Wrapped:
    """The real handler of ``shape``, imported on first use, with crash and duplicates.

    ``duplicate_rate`` is the share of fraud-detector batches delivered twice; ``on_delivery``
    is told every batch of records the function is handed; ``stats`` counts crashes and
    duplicates."""

    def __init__(
        self,
        shape: shapes.FunctionShape,
        *,
        duplicate_rate: float,
        seed: int,
        stats: Counter,
        on_delivery: Callable[[str, dict[str, Any]], None],
    ):
        self.shape = shape
        self.duplicate_rate = duplicate_rate
        self.stats = stats
        self.on_delivery = on_delivery
        self._handler: Callable[..., Any] | None = None
        self.resend: Callable[[str, dict[str, Any]], None] | None = None
        self._rng = random.Random(f"{seed}:{shape.component}")  # noqa: S311
        self._lock = threading.Lock()

    def handler(self) -> Callable[..., Any]:
        if self._handler is None:
            module, _, attribute = self.shape.handler.rpartition(".")
            self._handler = getattr(importlib.import_module(module), attribute)
        return self._handler

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        if "Records" in event:
            self.on_delivery(self.shape.component, event)
            event = self._maybe_duplicate(event)
        running = RUNNING.set(self.shape.component)
        try:
            answer = self.handler()(event, context)
        except FunctionCrash as crash:
            with self._lock:
                self.stats[f"{self.shape.component} crashed"] += 1
            raise RuntimeError(f"the function process died ({crash})") from None
        finally:
            RUNNING.reset(running)
        return _fold_duplicates(answer)

    def _maybe_duplicate(self, event: dict[str, Any]) -> dict[str, Any]:
        """At-least-once delivery: the same message twice in one batch, as SQS may do."""
        if self.shape != shapes.FRAUD_DETECTOR or not self.duplicate_rate:
            return event
        with self._lock:
            draw = self._rng.random()
        if draw >= self.duplicate_rate:
            return event
        records = event["Records"]
        copy = dict(records[0], messageId=records[0]["messageId"] + DUP)
        with self._lock:
            self.stats["duplicate deliveries"] += 2
        if self.resend is not None and _is_transaction(records[-1]["body"]):
            # and once more later, as a message of its own, with its attributes (SQS keeps them)
            self.resend(records[-1]["body"], _send_attributes(records[-1]))
        return {"Records": [*records, copy]}


DUP = "-dup"


def _send_attributes(record: dict[str, Any]) -> dict[str, Any]:
    """A Lambda SQS record's string message attributes as SendMessage takes them."""
    return {
        name: {"DataType": value["dataType"], "StringValue": value["stringValue"]}
        for name, value in (record.get("messageAttributes") or {}).items()
        if "stringValue" in value
    }


def _is_transaction(body: str) -> bool:
    """Whether a queued body is an accepted transaction (poison is never re-sent)."""
    try:
        txn_id = json.loads(body).get("transaction_id")
    except (ValueError, AttributeError):
        return False
    return isinstance(txn_id, str) and len(txn_id) == 26


def _fold_duplicates(answer: Any) -> Any:
    """A failure reported for an in-batch copy is a failure of the message it copies."""
    if not isinstance(answer, dict) or not answer.get("batchItemFailures"):
        return answer
    ids = dict.fromkeys(f["itemIdentifier"].removesuffix(DUP) for f in answer["batchItemFailures"])
    return {**answer, "batchItemFailures": [{"itemIdentifier": i} for i in ids]}

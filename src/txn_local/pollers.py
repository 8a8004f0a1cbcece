"""Event-source pollers: what a Lambda SQS event source mapping does, in-process.

Each worker receives up to ``batch_size`` messages (waiting up to the batching window to fill
the batch), calls the handler with an SQS event (real record shape), and honours partial batch
failures (``ReportBatchItemFailures``): records named in ``batchItemFailures`` stay on the
queue, the others are deleted in one ``DeleteMessageBatch``. A handler exception or an invalid
answer fails the whole batch, as in Lambda. SQS counts receives, so after ``maxReceiveCount``
moto's redrive moves a poison message to the DLQ.

One deliberate difference from AWS, to keep a local run short: in AWS a failed record stays
invisible for the queue's visibility timeout (300 s here) before its next try; locally the
poller makes it visible again after ``retry_delay`` seconds (``ChangeMessageVisibilityBatch``).
``retry_delay=None`` keeps AWS's timing.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from math import ceil
from typing import Any

from txn_local.invoke import LocalFunction
from txn_spec import shapes

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAY_SECONDS = 1
# Long polling locally: short enough that stopping a poller takes about a second.
LOCAL_WAIT_SECONDS = 1
_MAX_LATENCIES = 1_000_000


@dataclass
class PollerStats:
    """What a poller did; read by the demo's progress line and summary."""

    batches: int = 0
    records: int = 0
    succeeded: int = 0
    failed: int = 0  # record deliveries that failed (a poison message counts once per try)
    handler_errors: int = 0
    in_flight: int = 0
    # For the local dashboard: the handler's duration over its last calls (p50, p99, in µs) and
    # the age of the oldest record of the latest batch when it was deleted (ms).
    p50_us: int = 0
    p99_us: int = 0
    age_ms: int = 0
    durations_us: deque[int] = field(default_factory=lambda: deque(maxlen=1000), repr=False)
    _sorted: bool = field(default=True, repr=False)  # p50_us and p99_us are up to date
    # Per record handled: milliseconds from its SendMessage to its deletion (kept bounded).
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Called with the counts after every change, ``lock`` held (the consumer process shares
    # them with the runtime's process this way).
    publish: Callable[[dict[str, int]], None] | None = field(default=None, repr=False)

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return self._counts()

    def _counts(self) -> dict[str, int]:
        if not self._sorted:  # nearest rank, computed when read (cheap to record)
            ordered = sorted(self.durations_us)
            self.p50_us, self.p99_us = (ordered[ceil(q * len(ordered)) - 1] for q in (0.5, 0.99))
            self._sorted = True
        return {name: getattr(self, name) for name in COUNTS}

    def timed(self, seconds: float) -> None:
        """Call with ``lock`` held after one handler call that took ``seconds``."""
        self.durations_us.append(round(seconds * 1_000_000))
        self._sorted = False

    def changed(self) -> None:
        """Call with ``lock`` held after changing the counts."""
        if self.publish is not None:
            self.publish(self._counts())


COUNTS = (
    "batches", "records", "succeeded", "failed", "handler_errors", "in_flight",
    "p50_us", "p99_us", "age_ms",
)  # fmt: skip


def sqs_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message as a Lambda event record."""
    system = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            name: system[name]
            for name in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
                "AWSTraceHeader",
                "MessageGroupId",
                "MessageDeduplicationId",
                "SequenceNumber",
            )
            if name in system
        },
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """Lambda's spelling of a message attribute (camelCase, binary as base64)."""
    converted: dict[str, Any] = {
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": [
            base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
        ],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return converted


def failed_message_ids(result: Any, message_ids: Iterable[str]) -> set[str]:
    """The records to leave on the queue, read from the handler's answer as Lambda reads it.

    ``None``, ``{}`` and an empty or null ``batchItemFailures`` mean success; an identifier
    that is empty, missing or not in the batch fails the whole batch.
    """
    batch = set(message_ids)
    if result is None:
        return set()
    if not isinstance(result, dict):
        return batch
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return batch
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch:
            return batch
        failed.add(identifier)
    return failed


class SqsPoller:
    """Feeds one queue to one function with ``workers`` concurrent pollers."""

    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        function: LocalFunction,
        source: shapes.EventSourceShape,
        workers: int,
        retry_delay: int | None = DEFAULT_RETRY_DELAY_SECONDS,
        region: str,
    ):
        if source.maximum_concurrency is not None:
            workers = min(workers, source.maximum_concurrency)
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function = function
        self.source = source
        self.workers = max(1, workers)
        self.retry_delay = retry_delay
        self.region = region
        self.stats = PollerStats()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def name(self) -> str:
        return self.function.shape.component

    def start(self) -> None:
        self._stopping.clear()  # a stopped poller can be started again (a restart)
        for number in range(self.workers):
            thread = threading.Thread(
                target=self._run, name=f"poller-{self.name}-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop receiving; batches already received finish (drain) before this returns."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                messages = self._receive()
                if messages:
                    self.process(messages)
            except Exception:  # a poller never dies: log, back off, poll again
                log.exception("poller %s: receive or delete failed", self.name)
                self._stopping.wait(1.0)

    def _receive(self) -> list[dict[str, Any]]:
        """One batch: up to ``batch_size`` messages, waiting up to the batching window."""
        messages = self._receive_some(self.source.batch_size, LOCAL_WAIT_SECONDS)
        window = self.source.maximum_batching_window_seconds
        deadline = time.monotonic() + window
        while (
            messages
            and len(messages) < self.source.batch_size
            and time.monotonic() < deadline
            and not self._stopping.is_set()
        ):
            wait = max(0, min(LOCAL_WAIT_SECONDS, int(deadline - time.monotonic())))
            messages += self._receive_some(self.source.batch_size - len(messages), wait)
        return messages

    def _receive_some(self, count: int, wait: int) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, count),
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def process(self, messages: list[dict[str, Any]]) -> set[str]:
        """Invoke the function with one batch; returns the ids of the records that failed."""
        with self.stats.lock:
            self.stats.in_flight += len(messages)
            self.stats.changed()
        try:
            event = {
                "Records": [
                    sqs_record(m, queue_arn=self.queue_arn, region=self.region) for m in messages
                ]
            }
            ids = [m["MessageId"] for m in messages]
            handler_error = False
            began = time.perf_counter()
            try:
                failed = failed_message_ids(self.function.invoke(event), ids)
            except Exception:
                log.exception("the %s handler raised: the whole batch fails", self.name)
                failed, handler_error = set(ids), True
            took = time.perf_counter() - began
            done = [m for m in messages if m["MessageId"] not in failed]
            self._delete(done)
            self._release([m for m in messages if m["MessageId"] in failed])
            now_ms = time.time() * 1000
            latencies = [
                now_ms - int(m["Attributes"]["SentTimestamp"])
                for m in done
                if "SentTimestamp" in m.get("Attributes", {})
            ]
            with self.stats.lock:
                if len(self.stats.latencies_ms) < _MAX_LATENCIES:
                    self.stats.latencies_ms += latencies
                self.stats.batches += 1
                self.stats.records += len(messages)
                self.stats.succeeded += len(done)
                self.stats.failed += len(failed)
                self.stats.handler_errors += handler_error
                self.stats.age_ms = round(max(latencies, default=0))
                self.stats.timed(took)
            return failed
        finally:
            with self.stats.lock:
                self.stats.in_flight -= len(messages)
                self.stats.changed()

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        if not messages:
            return
        response = self.sqs.delete_message_batch(
            QueueUrl=self.queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )
        if response.get("Failed"):
            # The message will come back and be processed again; the handlers are idempotent.
            log.warning("poller %s: %d deletes failed", self.name, len(response["Failed"]))

    def _release(self, messages: list[dict[str, Any]]) -> None:
        if not messages or self.retry_delay is None:
            return
        self.sqs.change_message_visibility_batch(
            QueueUrl=self.queue_url,
            Entries=[
                {
                    "Id": str(i),
                    "ReceiptHandle": m["ReceiptHandle"],
                    "VisibilityTimeout": self.retry_delay,
                }
                for i, m in enumerate(messages)
            ],
        )

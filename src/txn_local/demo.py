"""The demo: a burst of sample traffic through the running pipeline, then what became of it.

Requests go through the local gateway like a payment provider's would, from a few client
threads with keep-alive connections. The client keeps the backlog small (moto's SQS slows down
sharply on a deep queue): it holds back while more than ``window`` accepted transactions are
not yet processed. A poison message goes straight onto the transactions queue. At the end the
transactions table is read once and compared with what the gateway accepted.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from txn_local.errors import LocalError
from txn_local.runtime import LocalRuntime
from txn_local.traffic import SampleRequest, build, poison_message
from txn_spec import shapes

USER_AGENT = "txn-local-demo/1"
FINAL_STATUSES = frozenset({"APPROVED", "FLAGGED", "FAILED"})
# A 503 is "retry with the same Idempotency-Key" (api/openapi.yaml): a request that has one is
# sent again after each of these waits, as a client backs off.
RETRY_503_WAITS = (0.2, 0.5, 1.0)
_RULE_ATTRIBUTES = ("matched_rules", "rules", "fraud_rules")


@dataclass(frozen=True)
class Answer:
    request: SampleRequest
    status: int
    body: dict[str, Any]
    latency_ms: float
    retries: int = 0  # sent again after a 503, with the same Idempotency-Key

    @property
    def code(self) -> str | None:
        error = self.body.get("error")
        return error.get("code") if isinstance(error, dict) else None

    @property
    def transaction_id(self) -> str | None:
        value = self.body.get("transaction_id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Poison:
    """The poison message sent: its SQS message id and the transaction id in its body."""

    message_id: str
    transaction_id: str

    def rows(self, stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Its rows in the table: the failed-transaction function keys a body that is not a
        transaction by message id, and a transaction by its id."""
        return [
            item
            for item in stored
            if item.get("message_id") == self.message_id
            or item.get("transaction_id") == self.transaction_id
        ]


@dataclass
class Outcome:
    """What the demo observed; ``ok`` decides the exit code."""

    answers: list[Answer]
    stored: list[dict[str, Any]]
    poison: Poison
    elapsed_seconds: float
    drained: bool
    problems: list[str] = field(default_factory=list)

    @property
    def accepted_ids(self) -> set[str]:
        return {a.transaction_id for a in self.answers if a.status == 202 and a.transaction_id}

    @property
    def ok(self) -> bool:
        return not self.problems


class Demo:
    def __init__(
        self,
        runtime: LocalRuntime,
        *,
        count: int = 1000,
        clients: int = 8,
        window: int = 100,
        timeout: float = 120.0,
        out: TextIO = sys.stderr,
        seed: int = 7,
        idempotency_keys: bool = False,
    ):
        self.runtime = runtime
        self.count = count
        self.clients = clients
        self.window = window
        self.timeout = timeout
        self.out = out
        self.seed = seed
        # every request expected accepted carries a key, and a 503 is retried with it (a busy
        # machine's slow moto can time the validator out); off for the measured demo, whose
        # figures are of the keyless path
        self.idempotency_keys = idempotency_keys
        self._answers: list[Answer] = []
        self._accepted = 0  # answers with status 202, kept with ``_answers`` under ``_lock``
        self._lock = threading.Lock()
        self._sent = 0
        self._cancelled = threading.Event()
        # The consumer process failed for good (seen by a client or the progress thread): the
        # run stops and ``run`` raises it, so the command line prints it instead of a traceback.
        self._failure: LocalError | None = None
        # Called once the traffic is done and the queues drained (or not), before the table is
        # read back: a benchmark reads the AWS call counts there.
        self.after_traffic: Callable[[], None] | None = None

    # --- sending --------------------------------------------------------------------------------

    def run(self) -> Outcome:
        assert self.runtime.resources is not None
        assert self.runtime.gateway is not None
        requests = build(
            self.runtime.resources.merchants, self.count, self.seed, keys=self.idempotency_keys
        )
        started = time.monotonic()
        stop_progress = threading.Event()
        progress = threading.Thread(
            target=self._progress, args=(len(requests), started, stop_progress), daemon=True
        )
        progress.start()
        poison = self._send_poison()
        interrupted = False
        try:
            self._send_all(requests)
            if self._failure is not None:
                raise self._failure
            drained = self.runtime.wait_idle(self.timeout)
        except KeyboardInterrupt:  # Ctrl-C: stop sending, still report what happened
            self._cancelled.set()
            interrupted, drained = True, False
        finally:
            stop_progress.set()
            progress.join()
        elapsed = time.monotonic() - started
        if self.after_traffic is not None:
            self.after_traffic()
        stored = self._scan_transactions()
        with self._lock:
            answers = list(self._answers)
        outcome = Outcome(answers, stored, poison, elapsed, drained)
        outcome.problems = check(outcome)
        if interrupted:
            outcome.problems.insert(0, "interrupted before the burst finished")
        return outcome

    def _send_poison(self) -> Poison:
        assert self.runtime.resources is not None
        message = poison_message(random.Random(self.seed))  # noqa: S311
        sent = self.runtime.aws.client("sqs").send_message(
            QueueUrl=self.runtime.resources.queue_url(shapes.TRANSACTIONS_QUEUE),
            MessageBody=json.dumps(message),
        )
        return Poison(sent["MessageId"], message["transaction_id"])

    def _send_all(self, requests: list[SampleRequest]) -> None:
        queue = list(reversed(requests))
        deadline = time.monotonic() + self.timeout

        def next_request() -> SampleRequest | None:
            with self._lock:
                return queue.pop() if queue and not self._cancelled.is_set() else None

        def client() -> None:
            connection = self._connect()
            while (request := next_request()) is not None:
                self._hold_back(deadline)
                connection, answer = self._exchange(connection, request)
                for retry, wait in enumerate(RETRY_503_WAITS, start=1):
                    if answer.status != 503 or "Idempotency-Key" not in request.headers:
                        break
                    if self._cancelled.is_set() or time.monotonic() + wait > deadline:
                        break  # Ctrl-C, or out of time: the 503 is the answer
                    time.sleep(wait)
                    connection, answer = self._exchange(connection, request)
                    answer = dataclasses.replace(answer, retries=retry)
                with self._lock:
                    self._answers.append(answer)
                    self._accepted += answer.status == 202
                    self._sent += 1
            connection.close()

        threads = [threading.Thread(target=client, daemon=True) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # a short join keeps the main thread open to Ctrl-C
                thread.join(0.2)

    def _connect(self) -> http.client.HTTPConnection:
        assert self.runtime.gateway is not None
        return http.client.HTTPConnection(
            self.runtime.gateway.host, self.runtime.gateway.port, timeout=30
        )

    def _hold_back(self, deadline: float) -> None:
        """Wait while too many accepted transactions are still queued (bounded backlog)."""
        while time.monotonic() < deadline and not self._cancelled.is_set():
            with self._lock:  # a running count: this check runs every few ms per client
                accepted = self._accepted
            stats = self._stats()
            if stats is None:
                return
            processed = stats[shapes.FRAUD_DETECTOR.component]["succeeded"]
            if accepted - processed < self.window:
                return
            time.sleep(0.005)

    def _exchange(
        self, connection: http.client.HTTPConnection, request: SampleRequest
    ) -> tuple[http.client.HTTPConnection, Answer]:
        """Send ``request``; if the connection broke, once more on a fresh one."""
        answer = self._send(connection, request)
        if answer is None:
            connection.close()
            connection = self._connect()
            answer = self._send(connection, request) or Answer(request, 0, {}, 0.0)
        return connection, answer

    def _send(
        self, connection: http.client.HTTPConnection, request: SampleRequest
    ) -> Answer | None:
        # A User-Agent, as a client of the deployed API must send (AWS WAF's common rules block a
        # request without one; api/openapi.yaml)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **request.headers}
        if request.use_api_key:
            headers["x-api-key"] = request.api_key or self.runtime.api_key
        began = time.perf_counter()
        try:
            connection.request("POST", f"/{shapes.API_PATH}", body=request.body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            return None
        latency = (time.perf_counter() - began) * 1000
        try:
            body = json.loads(payload) if payload else {}
        except ValueError:
            body = {}
        return Answer(request, response.status, body if isinstance(body, dict) else {}, latency)

    def _progress(self, total: int, started: float, stop: threading.Event) -> None:
        tty = self.out.isatty()
        while not stop.wait(1.0 if not tty else 0.25):
            stats = self._stats()
            if stats is None:
                break
            fraud = stats[shapes.FRAUD_DETECTOR.component]
            failed = stats[shapes.FAILED_TRANSACTIONS.component]
            with self._lock:
                sent = self._sent
                accepted = self._accepted
            elapsed = time.monotonic() - started
            line = (
                f"  {elapsed:5.1f}s  sent {sent}/{total}  accepted {accepted}  "
                f"processed {fraud['succeeded']}  retried {fraud['failed']}  "
                f"dead-lettered {failed['succeeded']}  ({fraud['succeeded'] / elapsed:.0f}/s)"
            )
            self.out.write(f"\r{line}\033[K" if tty else f"{line}\n")
            self.out.flush()
        if tty:
            self.out.write("\n")

    def _stats(self) -> dict[str, dict[str, int]] | None:
        """The pollers' counters, or ``None`` (and the run cancelled) once the consumer failed."""
        try:
            return self.runtime.stats()
        except LocalError as failure:
            self._failure = failure
            self._cancelled.set()
            return None

    # --- reading back ---------------------------------------------------------------------------

    def _scan_transactions(self) -> list[dict[str, Any]]:
        assert self.runtime.resources is not None
        dynamodb = self.runtime.aws.client("dynamodb", observer=True)
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {
            "TableName": self.runtime.resources.table(shapes.TRANSACTIONS_TABLE)
        }
        while True:
            page = dynamodb.scan(**arguments)
            items += [_plain(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in item.items()}


def check(outcome: Outcome) -> list[str]:
    """Every accepted transaction stored exactly once with a final status; the poison FAILED;
    every answer the one the sample expected."""
    problems: list[str] = []
    rows: dict[str, list[dict[str, Any]]] = {}
    for item in outcome.stored:
        rows.setdefault(str(item.get(shapes.TRANSACTIONS_TABLE.hash_key)), []).append(item)
    accepted = outcome.accepted_ids
    missing = accepted - rows.keys()
    if missing:
        problems.append(f"{len(missing)} accepted transactions never reached the table")
    duplicated = [tid for tid in accepted if len(rows.get(tid, ())) > 1]
    if duplicated:
        problems.append(f"{len(duplicated)} transactions stored more than once")
    unfinished = [
        tid
        for tid in accepted
        if any(r.get("status") not in FINAL_STATUSES for r in rows.get(tid, ()))
    ]
    if unfinished:
        problems.append(f"{len(unfinished)} transactions without a final status")
    failed = [
        tid for tid in accepted if any(r.get("status") == "FAILED" for r in rows.get(tid, ()))
    ]
    if failed:  # the sample traffic is all processable: FAILED means the pipeline broke
        problems.append(
            f"{len(failed)} accepted transactions ended FAILED (see the functions' log)"
        )
    if [r.get("status") for r in outcome.poison.rows(outcome.stored)] != ["FAILED"]:
        problems.append("the poison message did not end FAILED exactly once")
    unexpected = Counter(
        f"{a.request.kind}: expected {a.request.expect}, got {a.status}"
        for a in outcome.answers
        if a.status != a.request.expect
    )
    problems += [f"{n} x {what}" for what, n in sorted(unexpected.items())]
    replays = [a for a in outcome.answers if a.request.kind.startswith("idempotent")]
    if len({a.transaction_id for a in replays}) > 1:
        problems.append("a replayed Idempotency-Key got a different answer")
    if not outcome.drained:
        problems.append("the queues did not drain before the timeout")
    return problems


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.5 is the median)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary(outcome: Outcome) -> str:
    """The human summary printed at the end of the demo."""
    answers = outcome.answers
    accepted = outcome.accepted_ids
    rejected = Counter(f"{a.status} {a.code or '-'}" for a in answers if a.status != 202)
    by_id = {str(i.get("transaction_id")): i for i in outcome.stored}
    statuses = Counter(by_id[t].get("status") for t in accepted if t in by_id)
    rules: Counter[str] = Counter()
    for tid in accepted:
        item = by_id.get(tid, {})
        if item.get("status") == "FLAGGED":
            matched = next((item[a] for a in _RULE_ATTRIBUTES if a in item), None) or ["(unnamed)"]
            rules.update(str(rule) for rule in matched)
    failed_items = [i for i in outcome.stored if i.get("status") == "FAILED"]
    latencies = [a.latency_ms for a in answers if a.status]
    lines = [
        "",
        "Summary",
        f"  requests        {len(answers)}",
        f"  accepted (202)  {len(accepted)}"
        + (
            " distinct (+1 request replaying an Idempotency-Key: same answer)"
            if _replayed(answers)
            else ""
        ),
        f"  rejected        {sum(rejected.values())}",
        *(f"    {what:<26} {n}" for what, n in sorted(rejected.items())),
        *(
            [f"  sent again      {retried} after a 503, with the same Idempotency-Key"]
            if (retried := sum(a.retries for a in answers))
            else []
        ),
        f"  approved        {statuses.get('APPROVED', 0)}",
        f"  flagged         {statuses.get('FLAGGED', 0)}",
        *(f"    {rule:<26} {n}" for rule, n in rules.most_common()),
        f"  failed          {len(failed_items)} (poison message "
        + (
            "FAILED as expected)"
            if [r.get("status") for r in outcome.poison.rows(outcome.stored)] == ["FAILED"]
            else "NOT recorded as FAILED)"
        ),
        f"  throughput      {len(accepted) / outcome.elapsed_seconds:.0f} accepted transactions/s "
        f"end to end ({outcome.elapsed_seconds:.1f} s)",
        f"  API latency     p50 {percentile(latencies, 0.5):.1f} ms  "
        f"p95 {percentile(latencies, 0.95):.1f} ms  p99 {percentile(latencies, 0.99):.1f} ms",
    ]
    if outcome.ok:
        lines.append(
            "  result          OK: every accepted transaction stored once with a final status"
        )
    else:
        lines.append("  result          PROBLEMS:")
        lines += [f"    - {problem}" for problem in outcome.problems]
    return "\n".join(lines)


def _replayed(answers: list[Answer]) -> bool:
    replays = [a for a in answers if a.request.kind.startswith("idempotent") and a.status == 202]
    return len(replays) > 1 and len({a.transaction_id for a in replays}) == 1

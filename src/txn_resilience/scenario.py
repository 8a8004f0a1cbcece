"""One fault scenario on the local runtime, end to end, in this process.

The runtime runs the real handlers, wrapped (:mod:`txn_resilience.handlers`: crashes as failed
invocations, duplicate deliveries). Clients send valid transactions with idempotency keys
(:mod:`txn_resilience.load`); poison messages go straight onto the transactions queue. When the
queues are drained, the ledger is balanced from a full scan of the table, and every log line,
table item, queue message and fraud alert of the run is scanned for card data.

The handlers create their AWS clients at import and the runtime is one per process: run each
scenario in its own process (``python -m txn_resilience.scenario NAME``, as the CLI and the
tests do).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import faulthandler
import functools
import io
import json
import logging
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from txn_local.runtime import LocalRuntime, RuntimeConfig
from txn_resilience import badinput, fuzz
from txn_resilience.catalogue import LAST_CHANCE_SECONDS, Spec, scenarios, soak
from txn_resilience.faults import AwsFaults
from txn_resilience.handlers import Wrapped
from txn_resilience.leaks import LeakScan
from txn_resilience.ledger import balance
from txn_resilience.load import Load
from txn_spec import shapes

ALERTS_CAPTURE_QUEUE = "txn-local-alerts-capture"


# Where an accepted transaction may still be waiting: the whole redrive chain, the parking queue
# included (a message the failed-transaction function could not record under faults ends there,
# still visible, not lost).
LEDGER_QUEUES = shapes.QUEUES


# --- capture ----------------------------------------------------------------------------------


class Lines(io.TextIOBase):
    """A thread-safe sink for log output, kept as lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self.lines.extend(line for line in text.splitlines() if line.strip())
        return len(text)


@dataclass
class Seen:
    """Every message the functions sent or were handed during the run."""

    sent: list[str] = field(default_factory=list)
    delivered: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record_send(self, params: dict[str, Any], **_: Any) -> None:
        """A ``before-parameter-build`` hook: ``params`` are the call's arguments."""
        with self.lock:
            self.sent.append(str(params.get("MessageBody")))
            self.sent.append(json.dumps(params.get("MessageAttributes", {})))

    def record_delivery(self, component: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.delivered.setdefault(component, []).extend(
                r["body"] for r in event.get("Records", [])
            )


# --- the run ----------------------------------------------------------------------------------


def _alerts_sqs(runtime: LocalRuntime) -> Any:
    """A client of its own for the alerts' capture queue (the topic delivers to it)."""
    import boto3

    from txn_local import embedded

    assert runtime.aws_url is not None
    return boto3.client(
        "sqs",
        endpoint_url=runtime.aws_url,
        region_name=embedded.REGION,
        **embedded.CREDENTIALS,
    )


def _capture_alerts(runtime: LocalRuntime) -> str:
    assert runtime.resources is not None
    sqs = _alerts_sqs(runtime)
    url = sqs.create_queue(QueueName=ALERTS_CAPTURE_QUEUE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    runtime.aws.client("sns").subscribe(
        TopicArn=runtime.resources.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return url


def _drain(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=120, WaitTimeSeconds=0
        ).get("Messages", [])
        if not got:
            return bodies
        bodies += [m["Body"] for m in got]


def _scan_table(runtime: LocalRuntime, shape: shapes.TableShape) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    assert runtime.resources is not None
    plain = TypeDeserializer()
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": runtime.resources.table(shape)}
    ddb = runtime.aws.client("dynamodb")
    while True:
        page = ddb.scan(**kwargs)
        items += [{k: plain.deserialize(v) for k, v in i.items()} for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _send_poison(runtime: LocalRuntime, count: int, seed: int) -> None:
    assert runtime.resources is not None
    sqs = runtime.aws.client("sqs")
    rng = random.Random(f"{seed}:poison")  # noqa: S311
    url = runtime.resources.queue_url(shapes.TRANSACTIONS_QUEUE)
    for number in range(count):
        body = rng.choice(
            (
                "not json at all",
                '{"transaction_id": 42}',
                json.dumps({"note": "truncated", "amount": -1})[:-3],
                json.dumps({"card_token": "tok_poison", "pan_like": "n/a", "n": number}),
            )
        )
        sqs.send_message(QueueUrl=url, MessageBody=body)


def _say(line: str) -> None:
    """One progress line in one write: the load and the restart threads both report, and
    print's separate write of the newline let their lines run together."""
    out = sys.__stdout__
    if out is not None:
        out.write(line)
        out.flush()


def run(spec: Spec, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run ``spec`` and return its report (ledger, answers, faults, leak scan)."""
    began = time.monotonic()
    seen, stats = Seen(), Counter()
    logs = Lines()
    root = logging.getLogger()
    capture = logging.StreamHandler(logs)
    capture.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root.addHandler(capture)
    handlers = {
        s.component: Wrapped(
            s,
            duplicate_rate=spec.duplicate_rate,
            seed=spec.seed,
            stats=stats,
            on_delivery=seen.record_delivery,
        )
        for s in shapes.FUNCTIONS
    }
    config = RuntimeConfig(
        port=0, aws_port=0, handlers=handlers, log_level="INFO", show_metrics=True
    )
    faults = AwsFaults(spec.faults, seed=spec.seed)
    report: dict[str, Any] = {"scenario": spec.name, "spec": _spec_dict(spec)}
    # Everything the functions print (EMF metrics included) is their log output: captured.
    with contextlib.redirect_stdout(logs), LocalRuntime(config) as runtime:
        from txn_adapters.aws import POLICIES, client

        # the functions' clients: one per service and SDK policy (the validator's are "api")
        clients = [functools.partial(client, policy=policy) for policy in POLICIES]
        alerts_url = _capture_alerts(runtime)
        for client_for in clients:
            client_for("sqs").meta.events.register(
                "before-parameter-build.sqs.SendMessage", seen.record_send
            )
        for wrapped in handlers.values():  # import now, with the runtime's environment
            wrapped.handler()
            module = sys.modules[wrapped.shape.handler.rpartition(".")[0]]
            module.logger.registered_handler.setStream(logs)
        for client_for in clients:
            faults.install(client_for)
        assert runtime.resources is not None
        queue_url = runtime.resources.queue_url(shapes.TRANSACTIONS_QUEUE)
        handlers[shapes.FRAUD_DETECTOR.component].resend = lambda body, attributes: (
            runtime.aws.client("sqs").send_message(
                QueueUrl=queue_url, MessageBody=body, MessageAttributes=attributes
            )
        )
        faults.started = time.monotonic()
        if spec.bad_input:
            progress("bad input: schemathesis from the OpenAPI document")
            report["schemathesis"] = fuzz.run(
                config.openapi_document,
                runtime.gateway.url,
                runtime.api_key,
                max_examples=spec.fuzz_examples,
                phases=spec.fuzz_phases,
            )
            progress("bad input: the catalogue through the gateway")
            report["bad_input"] = badinput.run(
                runtime.gateway.host, runtime.gateway.port, runtime.api_key
            )
        _send_poison(runtime, spec.poison, spec.seed)
        if spec.poison:
            stats["poison messages"] = spec.poison
        restarter = _Restarter(runtime, spec, stats, progress)
        load = Load(
            host=runtime.gateway.host,
            port=runtime.gateway.port,
            api_key=runtime.api_key,
            count=spec.transactions,
            seed=spec.seed,
            clients=spec.clients,
            on_progress=restarter,
            backlog=lambda: runtime.queue_depth(shapes.TRANSACTIONS_QUEUE),
            deadline_seconds=spec.load_seconds,
        )
        progress(f"load: {spec.transactions} transactions, {spec.clients} clients")
        result = load.run()
        restarter.finish()
        progress(f"load done in {time.monotonic() - began:.1f}s; draining the queues")
        drained = runtime.wait_idle(timeout=spec.drain_seconds)
        faults.active = False
        if not drained:  # a last chance without faults: what is still queued is counted
            drained = runtime.wait_idle(timeout=LAST_CHANCE_SECONDS)
        assert runtime.resources is not None
        sqs = runtime.aws.client("sqs")
        queued = []
        for shape in LEDGER_QUEUES:
            queued += _drain(sqs, runtime.resources.queue_url(shape))
        alerts = _drain(_alerts_sqs(runtime), alerts_url)
        transactions = _scan_table(runtime, shapes.TRANSACTIONS_TABLE)
        accepted = [
            *result.accepted.values(),
            *report.get("bad_input", {}).get("accepted_ids", []),
            *report.get("schemathesis", {}).get("accepted_ids", []),
        ]
        ledger = balance(accepted, transactions, queued, poison_sent=spec.poison)
        alerted = {json.loads(body).get("transaction_id") for body in alerts}
        flagged = {i["transaction_id"] for i in transactions if i.get("status") == "FLAGGED"}
        scan = LeakScan(tokens=frozenset(result.tokens))
        scan.log_lines(logs.lines)
        for shape in shapes.TABLES:
            packed = shape == shapes.VELOCITY_TABLE
            scan.items(shape.component, _scan_table(runtime, shape), packed_numbers=packed)
        scan.messages("transactions (sent)", seen.sent)
        for component, bodies in seen.delivered.items():
            scan.messages(f"{component} (delivered)", bodies)
        scan.alerts(alerts)
        report.update(
            ledger=ledger.as_dict(),
            ledger_line=ledger.line(),
            answers={str(k): v for k, v in sorted(result.statuses.items())},
            client_5xx=sum(v for k, v in result.statuses.items() if k >= 500),
            connection_errors=result.connection_errors,
            retries=result.retries,
            refused=len(result.refused),
            unanswered=len(result.unanswered),
            conflicting_ids=result.conflicting_ids,
            drained=drained,
            faults_injected=dict(faults.injected),
            # A crash is counted once, as the fault that caused it, not again as an event.
            faults_total=faults.total() + sum(n for k, n in stats.items() if "crashed" not in k),
            events=dict(stats),
            pollers=runtime.stats(),
            alerts=len(alerts),
            flagged_without_alert=len(flagged - alerted),
            leaks=scan.summary(),
            leak_findings=[str(f) for f in scan.findings[:20]],
            seconds=round(time.monotonic() - began, 1),
        )
    root.removeHandler(capture)
    return report


class _Restarter:
    """Called with each transaction number sent: restarts the runtime once at ``restart_at``
    (in a thread, so the load keeps going against the restarting runtime) and reports progress
    every tenth of a large load. ``finish`` waits for the restart and re-raises its failure, so
    the report is built only after the restart it counts has happened."""

    def __init__(self, runtime: LocalRuntime, spec: Spec, stats: Counter, progress) -> None:
        self.runtime, self.spec, self.stats, self.progress = runtime, spec, stats, progress
        self.at = int(spec.transactions * spec.restart_at) if spec.restart_at is not None else None
        self.began = time.monotonic()
        self.step = max(1000, spec.transactions // 10)
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __call__(self, number: int) -> None:
        if number and number % self.step == 0:
            rate = number / max(time.monotonic() - self.began, 1e-3)
            self.progress(f"{number} sent ({rate:.0f}/s)")
        if self.at is not None and number >= self.at and self.thread is None:
            self.thread = threading.Thread(target=self._restart, args=(number,), daemon=True)
            self.thread.start()

    def _restart(self, number: int) -> None:
        self.progress(f"restarting the runtime after {number} transactions")
        try:
            self.runtime.restart_compute(self.spec.restart_downtime)
        except BaseException as exc:  # re-raised by finish() in the scenario's thread
            self.error = exc
            return
        self.stats["runtime restarts"] += 1

    def finish(self, timeout: float = 120.0) -> None:
        if self.thread is None:
            if self.at is not None:  # the load ended before the restart point: say so
                raise RuntimeError(f"the load ended before transaction {self.at}: no restart")
            return
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"the runtime restart did not finish within {timeout:.0f}s")
        if self.error is not None:
            raise self.error


def _spec_dict(spec: Spec) -> dict[str, Any]:
    out = asdict(spec)
    out["faults"] = [asdict(f) for f in spec.faults]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m txn_resilience.scenario")
    parser.add_argument("name", help="a scenario name, or 'soak'")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--transactions", type=int, help="override the transaction count")
    parser.add_argument("--json", help="write the report here")
    parser.add_argument("--fuzz-examples", type=int, help="schemathesis examples (bad_input)")
    parser.add_argument("--fuzz-phases", help="schemathesis phases (bad_input)")
    parser.add_argument(
        "--watchdog",
        type=float,
        help="dump the threads and exit after this long (default: the scenario's own budget)",
    )
    args = parser.parse_args(argv)
    faulthandler.dump_traceback_later(600, exit=True)  # until the scenario is known
    logging.basicConfig(level=logging.WARNING, stream=io.StringIO())  # captured, not printed
    if args.name == "soak":
        spec = soak(args.transactions or 20_000)
    else:
        spec = scenarios(args.scale)[args.name]
        if args.transactions:
            spec = dataclasses.replace(spec, transactions=args.transactions)
        if args.fuzz_examples:
            spec = dataclasses.replace(spec, fuzz_examples=args.fuzz_examples)
        if args.fuzz_phases:
            spec = dataclasses.replace(spec, fuzz_phases=args.fuzz_phases)
    faulthandler.dump_traceback_later(args.watchdog or spec.budget_seconds, exit=True)
    report = run(spec, progress=lambda m: _say(f"  [{spec.name}] {m}\n"))
    text = json.dumps(report, indent=2, default=str)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

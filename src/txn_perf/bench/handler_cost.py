"""Per-transaction CPU cost of the validator's and the fraud detector's pure paths.

AWS calls are stubbed (plain objects, not moto), so what is measured is our own code: parsing,
PAN scan, validation, rule evaluation, building the DynamoDB actions and SQS payloads. Each is
set next to a bare ``json.loads`` + ``json.dumps`` of the same payload.

    python -m txn_perf.bench.handler_cost [--iterations N]

Prints a table and writes ``bench-results/handler_cost.json``. Target: <= 100 us/transaction.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fraud_detector.pipeline import FraudPipeline
from txn_adapters.merchants import MerchantsRepository
from txn_adapters.queue import QueuePublisher
from txn_adapters.transactions import TransactionsStore
from txn_adapters.velocity import VelocityStore
from txn_domain.ids import new_transaction_id
from txn_domain.rules import load_default_rules
from txn_perf.bench import RESULTS, ROOT
from txn_spec import api_schema
from validator.service import Validator

TARGET_US = 100.0
BATCH = 10
NOW = datetime(2026, 11, 30, 12, 0, 5, tzinfo=UTC)
BODY = api_schema.request_example(ROOT / api_schema.OPENAPI_PATH)  # the documented example
MERCHANT_ITEM = {
    "merchant_id": {"S": "m_1001"}, "active": {"BOOL": True},
    "allowed_currencies": {"L": [{"S": "USD"}]}, "per_transaction_limit": {"N": "5000"},
    "daily_limit": {"N": "200000"}, "mcc": {"S": "5942"}, "country": {"S": "US"},
}  # fmt: skip


class StubAws:
    """Every AWS call the two paths make, answered instantly."""

    def get_item(self, **_: Any) -> dict:
        return {"Item": MERCHANT_ITEM}

    def batch_get_item(self, RequestItems: dict) -> dict:
        return {"Responses": {t: [MERCHANT_ITEM] if t == "merchants" else [] for t in RequestItems}}

    def send_message(self, **_: Any) -> dict:
        return {"MessageId": "m"}

    def batch_execute_statement(self, Statements: list) -> dict:
        return {"Responses": [{} for _ in Statements]}

    def publish(self, alerts: Any) -> list:
        return []


ROUNDS = 5


def measure(fn, iterations: int) -> tuple[float, float]:
    """(cpu us, wall us) per call: the fastest of ``ROUNDS`` rounds of ``iterations / ROUNDS``.

    On a shared machine other processes only ever add time (cache and core contention), so the
    fastest round is the closest to the code's own cost; the baseline is measured the same way.
    """
    for _ in range(min(200, iterations)):
        fn()
    per_round = max(1, iterations // ROUNDS)
    best_cpu = best_wall = float("inf")
    for _ in range(ROUNDS):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(per_round):
            fn()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        best_cpu, best_wall = min(best_cpu, cpu / per_round), min(best_wall, wall / per_round)
    return best_cpu * 1e6, best_wall * 1e6


def validator_case(iterations: int) -> dict:
    aws = StubAws()
    validator = Validator(
        merchants=MerchantsRepository(aws, "merchants"),
        queue=QueuePublisher(aws, "https://sqs/q"),
        idempotency=None,  # no Idempotency-Key header: no idempotency work at all
        clock=lambda: NOW,
    )
    raw = json.dumps(BODY)
    event = {"body": raw, "isBase64Encoded": False, "headers": {"Content-Type": "application/json"}}
    assert validator.handle(event).status_code == 202

    cpu, wall = measure(lambda: validator.handle(event), iterations)
    base_cpu, _ = measure(lambda: json.dumps(json.loads(raw)), iterations)
    return {"us_per_txn_cpu": cpu, "us_per_txn_wall": wall, "baseline_us": base_cpu}


def fraud_case(iterations: int) -> dict:
    aws = StubAws()
    pipeline = FraudPipeline(
        rules=load_default_rules(),
        merchants=MerchantsRepository(aws, "merchants"),
        velocity=VelocityStore(aws, "velocity"),
        store=TransactionsStore(aws, "transactions"),
        alerts=aws,
        clock=lambda: NOW.timestamp(),
        shard=0,
    )
    received = NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    bodies = [
        json.dumps({**BODY, "card_token": f"tok_{i:04d}", "transaction_id": new_transaction_id(),
                    "received_at": received})
        for i in range(BATCH)
    ]  # fmt: skip
    records = [{"messageId": str(i), "body": b} for i, b in enumerate(bodies)]
    assert not pipeline.process(records).failures

    batches = max(1, iterations // BATCH)
    cpu, wall = measure(lambda: pipeline.process(records), batches)

    def baseline() -> None:
        for body in bodies:
            json.dumps(json.loads(body))

    base_cpu, _ = measure(baseline, batches)
    return {
        "us_per_txn_cpu": cpu / BATCH,
        "us_per_txn_wall": wall / BATCH,
        "baseline_us": base_cpu / BATCH,
        "rules": len(pipeline.rules.rules),
        "batch_size": BATCH,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=RESULTS / "handler_cost.json")
    args = parser.parse_args(argv)

    results = {
        "validator": validator_case(args.iterations),
        "fraud_detector": fraud_case(args.iterations),
    }
    for r in results.values():
        r["ratio_to_json_roundtrip"] = r["us_per_txn_cpu"] / r["baseline_us"]
        r["within_target"] = r["us_per_txn_cpu"] <= TARGET_US

    print(f"{'path':<16}{'cpu us/txn':>12}{'wall us/txn':>13}{'json us':>10}{'ratio':>8}  target")
    for name, r in results.items():
        print(
            f"{name:<16}{r['us_per_txn_cpu']:>12.1f}{r['us_per_txn_wall']:>13.1f}"
            f"{r['baseline_us']:>10.2f}{r['ratio_to_json_roundtrip']:>8.1f}  "
            f"{'ok' if r['within_target'] else 'OVER'} (<= {TARGET_US:.0f})"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "target_us_per_txn": TARGET_US,
                "iterations": args.iterations,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": results,
            },
            indent=2,
        )
    )
    return 0 if all(r["within_target"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

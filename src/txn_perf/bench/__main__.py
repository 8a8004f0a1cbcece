"""``nox -s bench``: the handlers' CPU cost and the local pipeline end to end, in one report.

1. CPU per transaction of the validator, the fraud detector and its rule evaluation (AWS
   stubbed, cards with weeks of history) against a bare JSON parse + dump
   (:mod:`txn_perf.bench.handler_cost`);
2. AWS API calls per accepted transaction by service and operation, counted in the moto server
   processes, and 3. throughput, latency and losses through the local runtime
   (:mod:`txn_perf.bench.local_e2e`);
4. each handler's cold start (import-to-ready in a fresh process, tracing on) against a bare
   ``import boto3`` (:mod:`txn_perf.bench.coldstart`), measured before the end-to-end run loads
   the machine. Its target is reported, not part of the exit status (see ADR 0008).

Prints the tables and writes ``bench-results/bench.json``. Exit 1 when a transaction was lost
or the run had problems, or the handlers' or the rule evaluation's CPU is over its target.

    python -m txn_perf.bench [--count 5000] [--iterations 20000]
"""

from __future__ import annotations

import json
import platform
import sys
import warnings

from txn_perf.bench import RESULTS, ROOT, coldstart, handler_cost, local_e2e


def main(argv: list[str] | None = None) -> int:
    parser = local_e2e.parser()
    parser.prog = "python -m txn_perf.bench"
    parser.description = __doc__.splitlines()[0]
    parser.add_argument("--iterations", type=int, default=20_000, help="handler CPU loops")
    parser.add_argument("--cold-rounds", type=int, default=7, help="fresh processes per import")
    # Two pollers fill their batches of 10 at this rate (three took 8 a batch: more calls and
    # CPU per transaction); 12 clients keep the gateway's 10 validator slots busy without
    # queueing threads behind them (docs/capacity.md, "Local end to end").
    parser.set_defaults(workers=2, clients=12, window=400)
    args = parser.parse_args(argv)
    local_e2e.check(parser, args)
    if args.iterations < 1:
        parser.error("--iterations must be at least 1")
    if args.cold_rounds < 1:
        parser.error("--cold-rounds must be at least 1")
    # Metrics are off locally; Powertools would warn on every invocation.
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    print("1. Handler CPU per transaction (AWS stubbed)", file=sys.stderr)
    cpu = handler_cost.run(args.iterations)
    print("4. Cold start per handler (fresh processes, tracing on)", file=sys.stderr)
    cold = coldstart.run(args.cold_rounds)
    print(f"2-3. Local end to end: {args.count} requests", file=sys.stderr)
    e2e = local_e2e.run(args.count, args.clients, args.workers, args.window, args.timeout)

    print(handler_cost.table(cpu))
    print()
    print(coldstart.table(cold))
    print()
    print(local_e2e.table(e2e))
    out = RESULTS / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "handler_cpu": {"target_us_per_txn": handler_cost.TARGET_US, "results": cpu},
                "cold_start": cold,
                "local_e2e": {
                    "targets": {
                        "throughput_tps": local_e2e.TARGET_TPS,
                        "calls_per_accepted": local_e2e.TARGET_CALLS_PER_TXN,
                        "lost": 0,
                    },
                    **e2e,
                },
            },
            indent=2,
        )
    )
    print(f"\nwritten: {out.relative_to(ROOT)}")
    ok = e2e["lost"] == 0 and not e2e["problems"]
    return 0 if ok and all(r["within_target"] for r in cpu.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

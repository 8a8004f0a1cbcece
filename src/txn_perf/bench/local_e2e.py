"""End to end through the local runtime: throughput, latency, AWS calls per transaction, losses.

Brings the whole local pipeline up (moto servers, gateway, real handlers, pollers), sends the
demo's traffic mix (mostly valid transactions for several merchants, with every bad case,
fraud pattern and a poison message mixed in) through the gateway from keep-alive clients, waits
until the queues drain, then reads the transactions table back once.

- throughput: accepted transactions / seconds from the first request to the queues drained;
- latency: the clients' API latency (request to 202) and, per processed record, the time from
  its ``SendMessage`` to its deletion after the fraud detector stored it;
- AWS calls: counted inside the moto server processes, so the pollers' receives and deletes
  are in; the counts are read before and after the traffic, so the runtime's setup, its queue
  depth probes and the table read-back are out;
- lost: accepted transactions without exactly one row with a final status (must be 0).

    python -m txn_perf.bench.local_e2e [--count 5000] [--clients 8] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from txn_local import callcount
from txn_local.demo import FINAL_STATUSES, Demo, Outcome, percentile
from txn_local.runtime import LocalRuntime, RuntimeConfig
from txn_perf.bench import RESULTS
from txn_spec import shapes

TARGET_TPS = 250.0  # issue 18: the one endpoint keeps the split servers' throughput
TARGET_CALLS_PER_TXN = 4.0


def lost(outcome: Outcome) -> dict[str, int]:
    """Accepted transactions missing from the table, stored more than once, or not final."""
    rows: Counter[str] = Counter()
    final: Counter[str] = Counter()
    for item in outcome.stored:
        tid = str(item.get(shapes.TRANSACTIONS_TABLE.hash_key))
        rows[tid] += 1
        final[tid] += item.get("status") in FINAL_STATUSES
    accepted = outcome.accepted_ids
    missing = sum(1 for tid in accepted if rows[tid] == 0)
    duplicated = sum(1 for tid in accepted if rows[tid] > 1)
    not_final = sum(1 for tid in accepted if rows[tid] == 1 and final[tid] == 0)
    return {
        "missing": missing,
        "duplicated": duplicated,
        "not_final": not_final,
        "lost": missing + duplicated + not_final,
    }


def run(count: int, clients: int, workers: int, window: int, timeout: float) -> dict[str, Any]:
    config = RuntimeConfig(port=0, aws_port=0, fraud_workers=workers, log_level="ERROR")
    began = time.monotonic()
    with LocalRuntime(config) as runtime:
        startup = time.monotonic() - began
        print(f"  runtime up in {startup:.1f} s; sending {count} requests", file=sys.stderr)
        consumer = {"consumer": runtime.consumer.pid} if runtime.consumer is not None else {}
        pids = {"main": os.getpid(), **consumer, **runtime.aws.server_pids()}
        cpu_before = {label: _cpu_seconds(pid) for label, pid in pids.items()}
        before = runtime.aws.calls()
        demo = Demo(runtime, count=count, clients=clients, window=window, timeout=timeout)

        # The counts are read once the queues drained, before the table is read back.
        def after_traffic() -> None:
            after.update(runtime.aws.calls())
            cpu.update(
                {label: _cpu_seconds(pid) - cpu_before[label] for label, pid in pids.items()}
            )

        demo.after_traffic = after_traffic
        after: dict[str, Any] = {}
        cpu: dict[str, float] = {}
        outcome = demo.run()
        stats = runtime.stats()
        processing = runtime.latencies(shapes.FRAUD_DETECTOR.component)
    calls = callcount.difference(after["calls"], before["calls"])
    observer = callcount.difference(after["observer"], before["observer"])
    accepted_ids = outcome.accepted_ids  # a property that builds the set: once
    accepted = len(accepted_ids)
    total_calls = sum(n for ops in calls.values() for n in ops.values())
    api = [a.latency_ms for a in outcome.answers if a.status]
    losses = lost(outcome)
    return {
        "requests": len(outcome.answers),
        "accepted": accepted,
        "statuses": dict(
            Counter(
                str(i.get("status"))
                for i in outcome.stored
                if str(i.get("transaction_id")) in accepted_ids
            )
        ),
        "elapsed_seconds": outcome.elapsed_seconds,
        "startup_seconds": startup,
        "throughput_tps": accepted / outcome.elapsed_seconds,
        "api_latency_ms": _percentiles(api),
        "queue_to_stored_ms": _percentiles(processing),
        **losses,
        "problems": outcome.problems,
        "cpu_ms_per_accepted": {label: 1000 * s / accepted for label, s in cpu.items()},
        "calls": calls,
        "calls_total": total_calls,
        "calls_per_accepted": total_calls / accepted if accepted else None,
        "observer_calls_excluded": observer,
        "pollers": {
            name: {k: v for k, v in s.items() if k != "in_flight"} for name, s in stats.items()
        },
        "settings": {"clients": clients, "fraud_workers": workers, "window": window},
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentiles(values: list[float]) -> dict[str, float]:
    return {f"p{int(q * 100)}": percentile(values, q) for q in (0.5, 0.95, 0.99)}


def table(result: dict[str, Any]) -> str:
    accepted = result["accepted"]
    lines = [
        f"AWS API calls per accepted transaction (counted in the moto servers; {accepted} "
        "accepted)",
        f"{'service':<12}{'operation':<28}{'calls':>8}{'per txn':>10}",
    ]
    for service, operations in sorted(result["calls"].items()):
        for operation, n in sorted(operations.items(), key=lambda kv: -kv[1]):
            lines.append(f"{service:<12}{operation:<28}{n:>8}{n / accepted:>10.3f}")
    per = result["calls_per_accepted"]
    lines.append(
        f"{'total':<40}{result['calls_total']:>8}{per:>10.3f}  "
        f"{'ok' if per <= TARGET_CALLS_PER_TXN else 'OVER'} (<= {TARGET_CALLS_PER_TXN:.0f})"
    )
    api, e2e = result["api_latency_ms"], result["queue_to_stored_ms"]
    tps = result["throughput_tps"]
    lines += [
        "",
        "End to end through the local runtime",
        f"  requests {result['requests']}  accepted {accepted}  "
        + "  ".join(f"{k.lower()} {v}" for k, v in sorted(result["statuses"].items())),
        f"  throughput        {tps:.0f} accepted/s over {result['elapsed_seconds']:.1f} s  "
        f"{'ok' if tps >= TARGET_TPS else 'UNDER'} (>= {TARGET_TPS:.0f})",
        f"  API latency       p50 {api['p50']:.1f} ms  p95 {api['p95']:.1f} ms  "
        f"p99 {api['p99']:.1f} ms",
        f"  queue to stored   p50 {e2e['p50']:.1f} ms  p95 {e2e['p95']:.1f} ms  "
        f"p99 {e2e['p99']:.1f} ms",
        "  CPU per accepted  "
        + "  ".join(f"{k} {v:.1f} ms" for k, v in result["cpu_ms_per_accepted"].items()),
        f"  lost              {result['lost']} (missing {result['missing']}, duplicated "
        f"{result['duplicated']}, not final {result['not_final']})",
    ]
    if result["problems"]:
        lines += ["  PROBLEMS:", *(f"    - {p}" for p in result["problems"])]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m txn_perf.bench.local_e2e", description=__doc__.splitlines()[0]
    )
    p.add_argument("--count", type=int, default=5000, help="requests to send (5000)")
    p.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    p.add_argument("--workers", type=int, default=4, help="fraud-detector pollers")
    p.add_argument("--window", type=int, default=100, help="most accepted-but-unprocessed")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to finish")
    return p


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, with ``p``'s usage and a message, what cannot make a run."""
    for ok, rule in [
        (args.count >= 1, "--count must be at least 1"),
        (args.clients >= 1, "--clients must be at least 1"),
        (1 <= args.workers <= 100, "--workers must be 1-100 (the mapping's concurrency)"),
        (args.window >= 1, "--window must be at least 1"),
        (args.timeout > 0, "--timeout must be more than 0 seconds"),
    ]:
        if not ok:
            p.error(rule)


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    check(p, args)
    result = run(args.count, args.clients, args.workers, args.window, args.timeout)
    print(table(result))
    out = RESULTS / "local_e2e.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return 0 if result["lost"] == 0 and not result["problems"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

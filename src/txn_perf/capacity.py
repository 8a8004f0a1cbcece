"""Capacity and cost per million transactions of a stack configuration.

    python -m txn_perf.capacity --stack prod [--bench bench-results/bench.json] [--json PATH]

The deployment's knobs come from the stacks' own configuration (``Pulumi.yaml`` defaults, then
``Pulumi.<stack>.yaml``, validated by the models in :mod:`txn_infra.config`) and from what the
six stack programs declare when run under mocks (function memory, endpoints, keys, WAF rules,
alarms), so nothing here re-types a setting. Per-transaction CPU comes from the benchmark's
JSON when present (``nox -s bench`` writes ``bench-results/bench.json``; ``python -m
txn_perf.bench.handler_cost`` alone writes ``handler_cost.json``, also accepted), else from
a short measurement run here. AWS service latencies, item sizes and log volumes that cannot
be measured on this machine are the assumptions listed in
:data:`txn_perf.assumptions.ASSUMPTIONS`, each printed with the result.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from txn_infra import config
from txn_perf.bench import RESULTS
from txn_perf.report import report
from txn_perf.workload import BenchFileError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="prod", choices=["dev", "prod"])
    parser.add_argument(
        "--bench",
        type=Path,
        default=None,
        help="the benchmark's JSON (default bench-results/bench.json if there, else measure now)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--plots", type=Path, default=RESULTS, help="where the PNGs go")
    args = parser.parse_args(argv)
    if args.bench is not None and not args.bench.is_file():
        print(f"error: bench_missing: no file {args.bench} (run `nox -s bench`)", file=sys.stderr)
        return 2
    try:
        text, data = report(args.stack, args.bench or RESULTS / "bench.json", args.plots)
    except config.ConfigError as exc:
        print(f"error: config_invalid: {exc}", file=sys.stderr)
        return 2
    except BenchFileError as exc:
        print(f"error: bench_invalid: {exc}", file=sys.stderr)
        return 2
    print(text)
    out = args.json or RESULTS / f"capacity-{args.stack}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Cold start: each handler's import-to-ready time in a fresh process, against ``import boto3``.

A Lambda cold start runs the handler module's top level once (imports, Powertools, boto3
clients, the compiled rules) before the first event. Here each handler module is imported in a
new interpreter with the environment ``compute`` gives that function (table names, queue URL,
Powertools settings) plus the variables the Lambda runtime sets, so Powertools behaves as in
Lambda: tracing on, the X-Ray SDK loaded, botocore patched. The baseline is a bare
``import boto3`` in the same conditions: the least any Python function that calls AWS pays.

Each case runs ``rounds`` times; the figure is the median. Both wall time and CPU time are
reported; the ratio is taken on CPU time, because on a shared machine the wall time of a
single-threaded import measures the neighbours as much as the import.

    python -m txn_perf.bench.coldstart [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass

from txn_spec import shapes
from txn_spec.lambda_runtime import PYTHON_RUNTIME
from txn_spec.shapes import Env

TARGET_RATIO = 1.6
BASELINE = "boto3"
# Prints (wall seconds, CPU seconds) of importing the module named in argv[1].
_PROBE = (
    "import sys, time; w, c = time.perf_counter(), time.process_time(); "
    "__import__(sys.argv[1]); "
    "print(time.perf_counter() - w, time.process_time() - c)"
)
_SAMPLE_VALUES = {
    Env.TRANSACTIONS_TABLE: "txn-bench-transactions",
    Env.MERCHANTS_TABLE: "txn-bench-merchants",
    Env.IDEMPOTENCY_TABLE: "txn-bench-idempotency",
    Env.VELOCITY_TABLE: "txn-bench-velocity",
    Env.TRANSACTIONS_QUEUE_URL: "https://sqs.us-east-2.amazonaws.com/123456789012/txn-bench-q",
    Env.FRAUD_ALERTS_TOPIC_ARN: "arn:aws:sns:us-east-2:123456789012:txn-bench-fraud-alerts",
}


@dataclass(frozen=True)
class Case:
    name: str
    module: str
    wall_ms: float
    cpu_ms: float
    samples_cpu_ms: tuple[float, ...]


def lambda_environment(shape: shapes.FunctionShape | None) -> dict[str, str]:
    """What the function sees in Lambda: ``compute``'s variables and the runtime's own."""
    name = f"txn-bench-{shape.component}" if shape else "txn-bench-baseline"
    environment = {
        "AWS_REGION": "us-east-2",
        "AWS_DEFAULT_REGION": "us-east-2",
        "AWS_ACCESS_KEY_ID": "bench",  # never used: nothing is called
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(shape.memory_mb if shape else 128),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{PYTHON_RUNTIME}",
        "LAMBDA_TASK_ROOT": "/var/task",  # Powertools turns tracing on only where this is set
        "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Sampled=1",
        Env.POWERTOOLS_SERVICE_NAME: name,
        Env.POWERTOOLS_METRICS_NAMESPACE: shapes.METRICS_NAMESPACE,
    }
    for variable in shape.environment if shape else ():
        environment[variable] = _SAMPLE_VALUES[variable]
    return environment


def measure(name: str, module: str, environment: dict[str, str], rounds: int) -> Case:
    walls, cpus = [], []
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    base.pop("LAMBDA_TASK_ROOT", None)
    for _ in range(rounds):
        done = subprocess.run(  # noqa: S603 - our interpreter, a fixed probe
            [sys.executable, "-c", _PROBE, module],
            env={**base, **environment, "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"importing {module} failed: {tail[0]}")
        wall, cpu = (float(x) * 1000 for x in done.stdout.split())
        walls.append(wall)
        cpus.append(cpu)
    return Case(
        name, module, statistics.median(walls), statistics.median(cpus), tuple(sorted(cpus))
    )


def run(rounds: int = 7) -> dict[str, object]:
    """The baseline and each handler, measured in turns so a busy moment hits all alike."""
    baseline = measure("import boto3", BASELINE, lambda_environment(None), rounds)
    cases = [
        measure(shape.component, f"{shape.package}.app", lambda_environment(shape), rounds)
        for shape in shapes.FUNCTIONS
    ]
    results = []
    for case in cases:
        ratio = case.cpu_ms / baseline.cpu_ms
        results.append({**asdict(case), "ratio_cpu": ratio, "within_target": ratio <= TARGET_RATIO})
    return {
        "target_ratio": TARGET_RATIO,
        "rounds": rounds,
        "baseline": asdict(baseline),
        "results": results,
    }


def table(report: dict) -> str:
    baseline = report["baseline"]
    lines = [
        f"{'import':<22}{'wall ms':>9}{'cpu ms':>9}{'x boto3':>9}  target",
        f"{baseline['name']:<22}{baseline['wall_ms']:>9.0f}{baseline['cpu_ms']:>9.0f}{1:>9.2f}",
    ]
    for r in report["results"]:
        verdict = "ok" if r["within_target"] else "OVER"
        lines.append(
            f"{r['module']:<22}{r['wall_ms']:>9.0f}{r['cpu_ms']:>9.0f}{r['ratio_cpu']:>9.2f}"
            f"  {verdict} (<= {report['target_ratio']})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="fresh processes per case")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    report = run(args.rounds)
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0 if all(r["within_target"] for r in report["results"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())

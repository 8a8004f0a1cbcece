"""``python -m txn_resilience``: the fault scenarios and the soak, each on its own local runtime.

Each scenario runs in a child process (the handlers are imported once per process, with the
runtime's settings), bounded in time; the parent prints their ledgers and a final summary:
bad inputs tried and 5xx answers, faults injected, leaks found. Exit status 1 if any ledger is
unbalanced, any bad input got a 5xx or no coded answer, or any card data leaked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from txn_resilience.catalogue import scenarios

FAULT_SCENARIOS = tuple(scenarios())
W = max(len(name) for name in (*FAULT_SCENARIOS, "soak"))  # the report's name column


def run_child(name: str, *args: str, timeout: float | None = None) -> dict[str, Any]:
    """Run one scenario in a child process and return its report. Without ``timeout`` the
    child's watchdog (its scenario's own time budget) is what stops a hung run."""
    with tempfile.TemporaryDirectory(prefix="txn-resilience-") as tmp:
        out = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "txn_resilience.scenario", name, "--json", str(out)]
        completed = subprocess.run(  # noqa: S603 - our own module, fixed arguments
            [*command, *args], timeout=timeout, check=False, env=os.environ.copy()
        )
        if completed.returncode != 0 or not out.exists():
            return {"scenario": name, "error": f"exit status {completed.returncode}"}
        return json.loads(out.read_text())


def problems(report: dict[str, Any]) -> list[str]:
    """What is wrong with a scenario's outcome (empty when all is well)."""
    if "error" in report:
        return [report["error"]]
    found = []
    if not report["ledger"]["balanced"]:
        found.append(f"ledger not balanced: {report['ledger_line']}")
    if report["leaks"]["findings"]:
        found.append(f"{report['leaks']['findings']} card-data findings")
    if report["unanswered"] or report["conflicting_ids"]:
        found.append("clients left unanswered or given two ids for one key")
    if report["flagged_without_alert"]:
        found.append(f"{report['flagged_without_alert']} flagged without an alert")
    bad = report.get("bad_input")
    if bad and (bad["5xx"] or bad["no_answer"] or bad["uncoded_4xx"]):
        found.append(f"bad input answered badly: {bad['failures'][:5]}")
    fuzzed = report.get("schemathesis")
    if fuzzed and (fuzzed["exit_status"] or fuzzed["5xx"]):
        found.append(f"schemathesis failed: {fuzzed['failures'][:5]}")
    return found


def summary(reports: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in reports if "error" not in r]
    bad = [r["bad_input"] for r in ok if r.get("bad_input")]
    fuzzed = [r["schemathesis"] for r in ok if r.get("schemathesis")]
    return {
        "scenarios": len(reports),
        "schemathesis_requests": sum(f["requests"] for f in fuzzed),
        "schemathesis_5xx": sum(f["5xx"] for f in fuzzed),
        "balanced": sum(r["ledger"]["balanced"] for r in ok),
        "transactions_submitted": sum(r["ledger"]["submitted"] for r in ok),
        "duplicates": sum(r["ledger"]["duplicates"] for r in ok),
        "lost": sum(r["ledger"]["lost"] for r in ok),
        "bad_inputs_tried": sum(b["tried"] for b in bad),
        "bad_input_5xx": sum(b["5xx"] for b in bad),
        "bad_input_uncoded_4xx": sum(b["uncoded_4xx"] + b["no_answer"] for b in bad),
        "faults_injected": sum(r["faults_total"] for r in ok),
        "items_scanned": sum(sum(r["leaks"]["scanned"].values()) for r in ok),
        "leaks_found": sum(r["leaks"]["findings"] for r in ok),
        "problems": {r["scenario"]: problems(r) for r in reports if problems(r)},
    }


def print_report(report: dict[str, Any]) -> None:
    name = report["scenario"]
    if "error" in report:
        print(f"{name:<{W}} ERROR {report['error']}")
        return
    print(f"{name:<{W}} {report['ledger_line']}")
    faults = ", ".join(f"{k} {v}" for k, v in sorted(report["faults_injected"].items()))
    events = ", ".join(f"{k} {v}" for k, v in sorted(report["events"].items()))
    print(f"{'':<{W}} faults: {faults or '-'}; events: {events or '-'}")
    print(
        f"{'':<{W}} answers {report['answers']}, client retries {report['retries']}, "
        f"alerts {report['alerts']}, leaks {report['leaks']['findings']} in "
        f"{sum(report['leaks']['scanned'].values())} scanned, {report['seconds']} s"
    )
    if report.get("schemathesis"):
        f = report["schemathesis"]
        print(
            f"{'':<{W}} schemathesis: {f['requests']} requests, answers {f['statuses']}, "
            f"exit status {f['exit_status']}"
        )
    if report.get("bad_input"):
        b = report["bad_input"]
        print(
            f"{'':<{W}} bad input: {b['tried']} tried, answers {b['statuses']}, 5xx {b['5xx']}, "
            f"uncoded 4xx {b['uncoded_4xx']}, no answer {b['no_answer']}"
        )
    for finding in report.get("leak_findings", [])[:5]:
        print(f"{'':<{W}} LEAK {finding}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m txn_resilience", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=FAULT_SCENARIOS, help="scenarios to run")
    parser.add_argument("--scale", type=int, default=1, help="multiply scenario sizes")
    parser.add_argument("--soak", type=int, default=20_000, help="soak size; 0 skips it")
    parser.add_argument("--json", help="write every report and the summary here")
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    if args.soak < 0:
        parser.error("--soak must be 0 (no soak) or more transactions")
    began = time.monotonic()
    reports = []
    names = args.only if args.only else list(FAULT_SCENARIOS)
    for name in names:
        print(f"-- {name}", flush=True)
        reports.append(run_child(name, "--scale", str(args.scale)))
        print_report(reports[-1])
    if args.soak:
        print(f"-- soak: {args.soak} transactions with every fault at once", flush=True)
        reports.append(run_child("soak", "--transactions", str(args.soak)))
        print_report(reports[-1])
    result = summary(reports)
    print("\n== resilience summary ==")
    for report in reports:
        if "ledger" in report:
            print(f"{report['scenario']:<{W}} {report['ledger_line']}")
    print(
        f"bad inputs tried {result['bad_inputs_tried']}: 5xx {result['bad_input_5xx']}, "
        f"without a coded answer {result['bad_input_uncoded_4xx']}; schemathesis requests "
        f"{result['schemathesis_requests']}: 5xx {result['schemathesis_5xx']}"
    )
    print(f"faults injected {result['faults_injected']}")
    print(f"card-data leaks found {result['leaks_found']} in {result['items_scanned']} scanned")
    print(
        f"ledgers balanced {result['balanced']}/{result['scenarios']}, duplicates "
        f"{result['duplicates']}, lost {result['lost']}; {time.monotonic() - began:.0f} s"
    )
    for name, found in result["problems"].items():
        print(f"PROBLEM {name}: {'; '.join(found)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"reports": reports, "summary": result}, indent=2))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())

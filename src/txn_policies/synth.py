"""Offline preview of the whole system: every layer under mocks, then every policy over it.

``python -m txn_policies.synth [--stack dev] [--evidence evidence/synth.json]`` runs the stack
programs that exist in DAG order (no AWS, no Pulumi CLI), then the account bootstrap's stack of
the same region (outside the DAG: ``stacks/account``), prints per layer the resources by type
and the stack-reference edges it reads, evaluates the policy pack with the whole system in view
and prints a compliance table. The same goes to a JSON evidence file. The exit status is 1 when
any mandatory policy is violated; each violation names the resource, its layer and the fix.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from txn_infra.offline import REPO_ROOT, LayerRun, account_stack, run_layer, run_system
from txn_policies.evaluate import PolicyResult, blocking, evaluate
from txn_policies.rules.model import PCI
from txn_policies.view import ResourceView, urn_of
from txn_spec import contract

DEFAULT_EVIDENCE = REPO_ROOT / "evidence" / "synth.json"


@dataclass(frozen=True)
class SynthReport:
    stack: str
    runs: dict[str, LayerRun]
    views: dict[str, list[ResourceView]]  # layer (and "account") -> resources
    results: list[PolicyResult]
    seconds: float
    # The account bootstrap the layers deploy into; None when synth is limited to some layers.
    account: LayerRun | None = None

    @property
    def layer_of(self) -> dict[str, str]:
        return {v.urn: layer for layer, views in self.views.items() for v in views}

    @property
    def exit_code(self) -> int:
        return 1 if blocking(self.results) else 0


def views_of(run: LayerRun) -> list[ResourceView]:
    """The offline run's record of a layer as policy views (providers left out).

    Props are the mocked outputs (inputs plus computed ARNs and ids) without the logical name
    the mocks fill in for ``name``: a resource without an explicit name gets an auto-name from
    the provider, which a policy must not mistake for a physical name.
    """
    views = []
    for r in run.resources:
        if r.type.startswith("pulumi:providers:"):
            continue
        props = {k: v for k, v in r.outputs.items() if k != "name" or "name" in r.inputs}
        urn = urn_of(r.type, r.name, run.stack, run.layer.project)
        views.append(ResourceView(r.type, r.name, urn, props))
    return views


def synthesize(
    stack: str = "dev",
    layers: Sequence[str] | None = None,
    programs: dict[str, Path] | None = None,
) -> SynthReport:
    started = time.perf_counter()
    runs = run_system(stack=stack, layers=layers or None, programs=programs)
    views = {name: views_of(run) for name, run in runs.items()}
    account = None
    if not layers:
        account = run_layer(
            contract.ACCOUNT,
            stack=account_stack(stack),
            program=(programs or {}).get(contract.ACCOUNT.name),
        )
        views[contract.ACCOUNT.name] = views_of(account)
    results = evaluate([v for layer in views.values() for v in layer])
    return SynthReport(stack, runs, views, results, time.perf_counter() - started, account)


def edges(run: LayerRun) -> list[tuple[str, str, list[str]]]:
    return [(p, run.layer.name, sorted(keys)) for p, keys in sorted(run.reads.items())]


def evidence(report: SynthReport) -> dict[str, Any]:
    layer_of = report.layer_of
    return {
        "stack": report.stack,
        "seconds": round(report.seconds, 2),
        "layers": {
            name: {
                "project": run.layer.project,
                "resources": len(report.views[name]),
                "resources_by_type": _types(run),
                "reads": {p: keys for p, _, keys in edges(run)},
            }
            for name, run in report.runs.items()
        },
        "account": None if report.account is None else _project(report.account, report),
        "policies": [
            {
                "name": r.policy.name,
                "requirements": list(r.policy.requirements),
                "enforcement": r.policy.enforcement,
                "reason": r.policy.reason,
                "description": r.policy.description,
                "scope": r.policy.scope,
                "resources_checked": r.checked,
                "result": r.outcome,
                "unknown": r.unknown,
                "violations": [
                    {
                        "resource_type": v.resource.type if v.resource else None,
                        "resource_name": v.resource.name if v.resource else None,
                        "layer": layer_of.get(v.resource.urn) if v.resource else None,
                        "urn": v.resource.urn if v.resource else None,
                        "message": v.message,
                        "remediation": r.policy.remediation,
                    }
                    for v in r.violations
                ],
            }
            for r in report.results
        ],
        "summary": summary(report),
    }


def _project(run: LayerRun, report: SynthReport) -> dict[str, Any]:
    return {
        "project": run.layer.project,
        "stack": run.stack,
        "resources": len(report.views[run.layer.name]),
        "resources_by_type": _types(run),
    }


def summary(report: SynthReport) -> dict[str, int]:
    outcomes = [r.outcome for r in report.results]
    return {
        "layers": len(report.runs),
        "resources": sum(len(v) for v in report.views.values()),
        "policies": len(report.results),
        "passed": outcomes.count("pass"),
        "failed": outcomes.count("fail"),
        "warnings": outcomes.count("warn"),
        "not_applicable": outcomes.count("n/a"),
        "mandatory_violations": len(blocking(report.results)),
    }


def short_requirements(requirements: Sequence[str]) -> str:
    """``PCI 3.5.1, 3.6.1`` / ``mission: ...`` for the table (the evidence keeps full names)."""
    pci = [r.removeprefix(PCI + " ") for r in requirements if r.startswith(PCI)]
    other = [r for r in requirements if not r.startswith(PCI)]
    return "; ".join(([f"PCI {', '.join(pci)}"] if pci else []) + other)


def render(report: SynthReport, out: TextIO) -> None:
    write = out.write
    account = report.account
    write(f"synth: stack {report.stack}, layers {', '.join(report.runs)}")
    write(f"; account bootstrap {account.stack}\n" if account else "\n")
    for name, run in report.runs.items():
        write(f"\n== {name} ({run.layer.project}): {len(report.views[name])} resources\n")
        _write_types(run, write)
        for producer, consumer, keys in edges(run):
            write(f"   reference {producer} -> {consumer}: {', '.join(keys)}\n")
    if account:
        count = len(report.views[account.layer.name])
        write(
            f"\n== {account.layer.name} ({account.layer.project}, stack {account.stack}, "
            f"outside the DAG): {count} resources\n"
        )
        _write_types(account, write)

    rows = [
        (
            short_requirements(r.policy.requirements),
            r.policy.name,
            r.policy.enforcement,
            str(r.checked),
            r.outcome.upper(),
        )
        for r in report.results
    ]
    header = ("requirement", "policy", "enforcement", "checked", "result")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    write("\n== compliance\n")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        write("\n")

    layer_of = report.layer_of
    for result in report.results:
        if result.unknown:
            write(f"\nUNKNOWN {result.policy.name}: {result.unknown}\n")
        for v in result.violations:
            level = "MANDATORY" if result.blocking else "advisory"
            where = f" in {layer_of.get(v.resource.urn, '?')}" if v.resource else ""
            write(f"\n{level} {result.policy.name}: {v.subject}{where} {v.message}\n")
            write(f"   remediation: {result.policy.remediation}\n")

    s = summary(report)
    projects = f"{s['layers']} layers" + (" and the account bootstrap" if account else "")
    write(
        f"\nsynth: {projects}, {s['resources']} resources, {s['policies']} policies: "
        f"{s['passed']} passed, {s['failed']} failed, {s['warnings']} warnings, "
        f"{s['not_applicable']} n/a; {s['mandatory_violations']} mandatory violations "
        f"({report.seconds:.1f}s)\n"
    )


def _types(run: LayerRun) -> dict[str, int]:
    """Resources by type, providers left out."""
    return {t: n for t, n in run.by_type().items() if not t.startswith("pulumi:providers:")}


def _write_types(run: LayerRun, write: Callable[[str], object]) -> None:
    for type_, count in _types(run).items():
        write(f"   {count:>3}  {type_}\n")


def main(
    argv: Sequence[str] | None = None,
    *,
    programs: dict[str, Path] | None = None,
    out: TextIO | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog="python -m txn_policies.synth", description=__doc__)
    parser.add_argument("--stack", default="dev", choices=("dev", "prod"))
    parser.add_argument(
        "--layers",
        nargs="*",
        choices=tuple(contract.LAYERS),
        help="limit to these layers (and DAG order)",
    )
    parser.add_argument("--evidence", type=Path, default=DEFAULT_EVIDENCE)
    args = parser.parse_args(argv)
    out = out or sys.stdout

    report = synthesize(args.stack, args.layers, programs)
    render(report, out)
    args.evidence.parent.mkdir(parents=True, exist_ok=True)
    args.evidence.write_text(json.dumps(evidence(report), indent=2, sort_keys=True) + "\n")
    out.write(f"synth: evidence written to {args.evidence}\n")
    if report.exit_code:
        out.write("synth: FAILED: fix the mandatory violations above before deploying\n")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())

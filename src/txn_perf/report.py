"""The capacity and cost report of a stack: the printed tables and the same figures as data."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from txn_infra import offline
from txn_perf import model, pricing
from txn_perf.assumptions import ASSUMPTIONS, IDEMPOTENCY_KEY_SHARE, MIX
from txn_perf.bill import Bill
from txn_perf.burst import burst
from txn_perf.discovery import Declared, declared, deployment, warm_write_units
from txn_perf.goals import (
    BURST,
    CAPACITY_GOAL_TPS,
    COST_GOAL_PER_MILLION,
    ONE_MERCHANT_GOAL_TPS,
    TARGET_TPS,
)
from txn_perf.prices import AS_OF, PRICES, QUOTAS, REGION, quota
from txn_perf.workload import measured_cpu, workload

STACKS = ("dev", "prod")


def _tps(value: float) -> str:
    return "unbounded" if value == float("inf") else f"{value:,.0f}"


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _stack(
    stack: str, cpu: dict[str, float]
) -> tuple[model.Deployment, model.Workload, dict[str, float], Declared]:
    """The stack's deployment and workload, with its warm write units and cost trims."""
    runs = offline.run_system(stack=stack)
    d, warm, trims = deployment(stack, runs), warm_write_units(runs), declared(runs)
    return d, workload(d, cpu, warm, trims), warm, trims


def report(stack: str, bench: Path | None, plots: Path | None = None) -> tuple[str, dict[str, Any]]:
    cpu, cpu_source = measured_cpu(bench)
    d, w, warm, trims = _stack(stack, cpu)
    comps = model.capacity(d, w)
    first = model.bottleneck(comps)
    hot = model.hot_key_capacity(w)
    c = pricing.costs(d, w, reference_tps=TARGET_TPS)  # the volume of a steady peak
    one_time = pricing.warm_throughput_cost(warm)
    fixed = {
        s: c.monthly_fixed
        if s == stack
        else pricing.costs(*_stack(s, cpu)[:2], TARGET_TPS).monthly_fixed
        for s in STACKS
    }
    floor = [x for x in c.variable if pricing.mandated(x)]
    b = burst(d, w, *BURST)

    out: list[str] = []
    out.append(f"Capacity of stack '{stack}' ({REGION}, default quotas; prices as of {AS_OF})")
    out.append(
        f"CPU per txn: validator {cpu['validator']:.1f} us, fraud detector "
        f"{cpu['fraud_detector']:.1f} us ({cpu_source})"
    )
    out.append(
        f"Modelled durations: validator {w.validator_ms:.1f} ms per request, fraud "
        f"detector {w.fraud_batch_ms:.1f} ms per batch of {d.fraud_batch_size}"
    )
    out.append("")
    out.append(f"{'component':<42}{'max TPS':>12}{'used':>6}  basis (used: at the bottleneck)")
    for comp in sorted(comps, key=lambda x: x.max_tps):
        used = f"{first.max_tps / comp.max_tps:.0%}"
        out.append(f"{comp.name:<42}{_tps(comp.max_tps):>12}{used:>6}  {comp.basis}")
    out.append("")
    out.append(
        f"Bottleneck: {first.name} at {_tps(first.max_tps)} TPS; headroom over "
        f"{TARGET_TPS:,} TPS: {model.headroom(first.max_tps, TARGET_TPS):.1f}x "
        f"(goal >= {CAPACITY_GOAL_TPS:,} TPS: {_met(first.max_tps >= CAPACITY_GOAL_TPS)})"
    )
    if first.name == model.LAMBDA_REQUESTS:
        # the quota that lifts it: the concurrency whose 10x clears the next component
        after = sorted(comps, key=lambda x: x.max_tps)[1]
        per_txn = model.lambda_invocations_per_accepted(d, w)
        needed = after.max_tps * per_txn / quota("lambda_requests_per_concurrency")
        out.append(
            f"  Lambda concurrent executions (L-B99A9384) of at least {needed:,.0f} lift it past "
            f"{after.name} ({_tps(after.max_tps)} TPS); AWS advises raising concurrency for a "
            "request-rate limit. Request it before counting on the capacity goal."
        )
    batches = first.max_tps / d.fraud_batch_size * w.fraud_batch_ms / 1000
    out.append(
        f"Fraud detector at {_tps(first.max_tps)} TPS: {batches:.0f} of its "
        f"{d.fraud_reserved_concurrency} reserved executions busy (batches of "
        f"{d.fraud_batch_size} at {w.fraud_batch_ms:.1f} ms); all of them at "
        f"{w.fraud_batch_ms * d.fraud_reserved_concurrency / batches:,.0f} ms a batch"
    )
    out.append(
        f"Warm write units/s at {_tps(first.max_tps)} TPS: "
        + ", ".join(
            f"{t} {need:,.0f} (has {w.tables[t].warm_wru or 0:,.0f})"
            for t, need in model.warm_needed(w, first.max_tps).items()
        )
        + " (0: the new-table 4,000)"
    )
    out.append("")
    merchant = min(x.max_tps for x in hot if x.name.startswith("one merchant"))
    out.append(
        f"One key (DynamoDB partition limits; one merchant: {_tps(merchant)} TPS, goal >= "
        f"{ONE_MERCHANT_GOAL_TPS:,}: {_met(merchant >= ONE_MERCHANT_GOAL_TPS)}; no terminal or "
        "BIN item is written)"
    )
    for comp in sorted(hot, key=lambda x: x.max_tps):
        out.append(f"  {comp.name:<52}{_tps(comp.max_tps):>8}  {comp.basis}")
    out.append(
        f"  one client IP at WAF: {d.waf_rate_limit_per_ip_5min / 300:,.0f} req/s "
        f"(rate rule over 5 minutes); one API key: {max(d.api_key_rate_limits):,.0f} req/s, "
        f"{d.api_key_quota_per_day / 86_400:,.0f} req/s all day (the plan with the highest rate)"
    )
    out.append("")
    start, end, ramp = BURST
    out.append(f"Burst from {start:,.0f} to {end:,.0f} TPS over {ramp:.0f} s:")
    for stage in b.stages:
        mark = "THROTTLES" if stage.throttles else "ok"
        out.append(f"  {stage.component:<36}{mark:<10} {stage.finding}")
    out.append(
        f"  steady again {b.steady_after_s:.1f} s after the ramp; requests wait only in the "
        f"queue (at most {b.queue_peak:,.0f} messages); DLQ: {b.dlq}"
    )
    out.append("")
    out.append(
        "Cost per million accepted transactions (mix: "
        + ", ".join(f"{k} {v:.0%}" for k, v in MIX.items())
        + f"; {IDEMPOTENCY_KEY_SHARE:.0%} with Idempotency-Key; at {TARGET_TPS:,} TPS)"
    )
    out.append(f"{'service':<18}{'item':<42}{'per txn':>12}{'$ / M':>9}")
    for line in c.variable:
        out.append(f"{line.service:<18}{line.item:<42}{line.quantity:>12.4g}{line.amount:>9.3f}")
    out.append(
        f"{'':<18}{'total':<42}{'':>12}{c.per_million:>9.2f}  (goal <= "
        f"{COST_GOAL_PER_MILLION:.2f}: {_met(c.per_million <= COST_GOAL_PER_MILLION)})"
    )
    out.append("By service: " + ", ".join(f"{k} {v:.2f}" for k, v in c.by_service().items()))
    mandated = sum(x.amount for x in floor)
    floor_by: Counter[str] = Counter()
    for x in floor:
        floor_by[x.service] += x.amount
    out.append(
        f"Mandated floor ${mandated:.2f}, {mandated / c.per_million:.0%} ("
        + ", ".join(f"{k} {v:.2f}" for k, v in floor_by.items())
        + f": REST API + WAF, the queue, Lambda requests, on-demand tables); the rest "
        f"${c.per_million - mandated:.2f} (logs, X-Ray, SNS, Lambda GB-s, endpoints)"
        + (
            f": the goal needs ${c.per_million - COST_GOAL_PER_MILLION:.2f} of it"
            if c.per_million > COST_GOAL_PER_MILLION
            else ""
        )
    )
    bill = Bill(d, cpu, warm, trims)
    by_volume, break_even = bill.by_volume(), bill.break_even()
    out.append(
        "By steady volume: "
        + ", ".join(f"{per_day / 1e6:,.1f} M a day ${cost:.2f}" for per_day, cost in by_volume)
        + (
            f" (goal met from {break_even / 1e6:,.1f} M a day)"
            if break_even
            else " (goal not met at any of these volumes)"
        )
    )
    out.append("")
    out.append(f"{'fixed monthly':<18}{'item':<42}{'quantity':>12}{'$ / mo':>9}")
    for line in c.fixed:
        out.append(f"{line.service:<18}{line.item:<42}{line.quantity:>12,.0f}{line.amount:>9.2f}")
    out.append(f"{'':<18}{'total':<42}{'':>12}{c.monthly_fixed:>9.2f}")
    out.append(
        "Fixed monthly by environment: " + ", ".join(f"{s} ${v:,.2f}" for s, v in fixed.items())
    )
    for line in one_time:
        out.append(
            f"one-time: {line.service} {line.item}: {line.quantity:,.0f} WRU/s raised, "
            f"${line.amount:,.2f}"
        )
    snap = pricing.snapstart_price(d)
    out.append(
        f"SnapStart (compute snapStart, {'on' if d.snapstart else 'off'}; ADR 0008): "
        f"${snap.live_versions_monthly:.2f} a month for the live versions, up to "
        f"${snap.per_deploy:.2f} more per deploy until its old versions are deleted or idle "
        f"14 days, ${snap.per_restore:.5f} per restored environment"
    )
    if plots is not None:
        from txn_perf.plots import write_plots  # matplotlib only when drawing

        for path in write_plots(
            stack, comps, CAPACITY_GOAL_TPS, c.by_service(), COST_GOAL_PER_MILLION, plots
        ):
            out.append(f"plot: {path}")
    out.append("")
    out.append("Assumptions (not measurable on this machine):")
    for key, (value, why) in ASSUMPTIONS.items():
        out.append(f"  {key} = {value:g}: {why}")

    data = {
        "stack": stack,
        "region": REGION,
        "prices_as_of": AS_OF,
        "deployment": asdict(d),
        "cpu_us_per_txn": cpu,
        "cpu_source": cpu_source,
        "declared_trims": asdict(trims),
        "workload": {
            **{k: v for k, v in asdict(w).items() if k != "tables"},
            "tables": {k: asdict(v) for k, v in w.tables.items()},
        },
        "capacity": [asdict(x) for x in comps],
        "bottleneck": asdict(first),
        "headroom_over_target": model.headroom(first.max_tps, TARGET_TPS),
        "capacity_goal_met": first.max_tps >= CAPACITY_GOAL_TPS,
        "hot_keys": [asdict(x) for x in hot],
        "one_merchant_tps": merchant,
        "burst": asdict(b),
        "mandated_floor_per_million": mandated,
        "fixed_monthly_by_stack": fixed,
        "cost_per_million": c.per_million,
        "cost_by_service": c.by_service(),
        "cost_lines": [asdict(x) for x in c.variable],
        "cost_goal_met": c.per_million <= COST_GOAL_PER_MILLION,
        "cost_by_volume": [{"per_day": v, "per_million": cost} for v, cost in by_volume],
        "cost_goal_break_even_per_day": break_even,
        "fixed_monthly": c.monthly_fixed,
        "fixed_lines": [asdict(x) for x in c.fixed],
        "one_time": [asdict(x) for x in one_time],
        "snapstart": {"on": d.snapstart, **asdict(snap)},
        "assumptions": {k: v for k, (v, _) in ASSUMPTIONS.items()},
        "prices": {k: asdict(v) for k, v in PRICES.items()},
        "quotas": {k: asdict(v) for k, v in QUOTAS.items()},
    }
    return "\n".join(out), finite(json.loads(json.dumps(data, default=str)))


def finite(value: Any) -> Any:
    """``value`` with every infinite or NaN number as ``None`` (JSON has neither: a limit that
    never binds is written ``null``); strings are left as they are."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value

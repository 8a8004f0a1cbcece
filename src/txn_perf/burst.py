"""A burst, stage by stage: from one steady rate to another over a linear ramp (issue 20).

Where requests wait, what throttles, how long until every stage keeps up again, and whether a
message can reach the dead-letter queue. Pure arithmetic over a deployment and its workload, with
the quotas in :mod:`txn_perf.prices`: API Gateway's token bucket, Lambda's scaling rate per
function, the SQS event source's pollers (5 batches to start, 300 more a minute), an on-demand
table's warm throughput or twice its previous peak. The queue is stepped through in 0.1 s ticks.
"""

from __future__ import annotations

from dataclasses import dataclass

from txn_perf.model import Deployment, Workload, validator_concurrency
from txn_perf.prices import quota
from txn_spec import shapes

TICK_S = 0.1


@dataclass(frozen=True)
class Stage:
    component: str
    throttles: bool
    finding: str


@dataclass(frozen=True)
class Burst:
    start_tps: float  # accepted TPS the API lets through, at the start and at the top
    end_tps: float
    ramp_s: float
    stages: list[Stage]
    queue_peak: float  # messages waiting for a poller at most
    steady_after_s: float  # after the ramp ends, until the queue is back to its steady depth
    dlq: str


def _event_source(
    d: Deployment, w: Workload, start_tps: float, end_tps: float, ramp_s: float
) -> tuple[Stage, float, float]:
    """The transactions queue and the fraud event source's pollers through the ramp: the
    stage, the most messages waiting, and the seconds after the ramp until none wait."""
    per_batch_s = w.fraud_batch_ms / 1000.0
    per_poller = d.fraud_batch_size / per_batch_s  # TPS one concurrent batch drains
    ceiling = min(d.fraud_max_concurrency, quota("lambda_sqs_max_pollers"))
    pollers = quota("lambda_sqs_start_batches")
    add_per_tick = quota("lambda_sqs_scaling_per_minute") / 60.0 * TICK_S  # continuously
    queue = peak = t = 0.0
    steady_at = float("inf")
    while t < ramp_s + 3600:
        rate = start_tps + (end_tps - start_tps) * min(1.0, t / ramp_s)
        queue = max(0.0, queue + (rate - pollers * per_poller) * TICK_S)
        if queue > 0:  # "if messages are still available", the event source adds pollers
            pollers = min(ceiling, pollers + add_per_tick)
        peak = max(peak, queue)
        t += TICK_S
        if t >= ramp_s and queue < 1.0:
            steady_at = t - ramp_s
            break
    needed = end_tps / per_poller
    start, per_minute = quota("lambda_sqs_start_batches"), quota("lambda_sqs_scaling_per_minute")
    stage = Stage(
        "fraud event source",
        needed > ceiling,
        f"needs {needed:.1f} concurrent batches at the top (of {ceiling:.0f}); starts from "
        f"{start:.0f}, adds {per_minute:.0f} a minute: queue peaks at {peak:,.0f} messages, "
        + (f"empty {steady_at:.1f} s after the ramp" if steady_at < 1e9 else "never drains"),
    )
    return stage, peak, steady_at


def burst(d: Deployment, w: Workload, start_tps: float, end_tps: float, ramp_s: float) -> Burst:
    req = w.requests_per_accepted
    # the burst comes from one provider: its key's plan is the limit
    api_limit = min(quota("apigw_account_rps"), d.api_rate_limit, max(d.api_key_rate_limits))
    top = end_tps * req
    # what the API lets through is what the stages behind it see
    start_tps, end_tps = (min(rate, api_limit / req) for rate in (start_tps, end_tps))
    stages = [
        Stage(
            "API Gateway",
            top > api_limit,
            f"{top:,.0f} req/s at the top against {api_limit:,.0f} (token bucket of "
            f"{quota('apigw_account_burst'):,.0f}): "
            + (
                f"429 for {top - api_limit:,.0f} req/s once the bucket is empty"
                if top > api_limit
                else "nothing waits or throttles"
            ),
        )
    ]
    envs = [rate * req * w.validator_ms / 1000.0 for rate in (start_tps, end_tps)]
    growth = (envs[1] - envs[0]) / ramp_s
    scaling = quota("lambda_scaling_per_10s") / 10.0
    stages.append(
        Stage(
            "validator Lambda",
            growth > scaling or envs[1] > validator_concurrency(d),
            f"{envs[0]:,.0f} -> {envs[1]:,.0f} environments, {growth:,.1f} new a second (Lambda "
            f"adds up to {scaling:,.0f} a second per function, {validator_concurrency(d):,.0f} "
            f"unreserved): {envs[1] - envs[0]:,.0f} cold starts, each delaying its first request",
        )
    )
    queue_stage, peak, steady = _event_source(d, w, start_tps, end_tps, ramp_s)
    stages.append(queue_stage)
    for table, load in w.tables.items():
        for kind, units, default in (
            ("writes", load.wru, quota("dynamodb_new_table_wru")),
            ("reads", load.rru, quota("dynamodb_new_table_rru")),
        ):
            if not units:
                continue
            warm = (load.warm_wru if kind == "writes" else load.warm_rru) or default
            at_once = max(warm, quota("dynamodb_peak_multiple") * start_tps * units)
            need = end_tps * units
            stages.append(
                Stage(
                    f"DynamoDB {table} {kind}",
                    need > at_once,
                    f"{need:,.0f} units/s at the top, {at_once:,.0f} at once (warm "
                    f"{warm:,.0f}, or twice the previous peak)",
                )
            )
    if w.sns_publishes:
        need = end_tps * w.sns_publishes
        stages.append(
            Stage(
                "SNS fraud alerts",
                need > quota("sns_publish_rps"),
                f"{need:,.0f} publishes/s of {quota('sns_publish_rps'):,.0f}",
            )
        )
    q = shapes.TRANSACTIONS_QUEUE
    throttled = ", ".join(s.component for s in stages[1:] if s.throttles)
    dlq = (
        (
            f"not within the burst ({throttled} throttle: those fail and are retried)"
            if throttled
            else "nothing: no stage behind the API throttles"
        )
        + f"; a message needs {q.max_receive_count} failed receives "
        f"{q.visibility_timeout_seconds} s apart (about "
        f"{(q.max_receive_count or 1) * q.visibility_timeout_seconds / 60:.0f} minutes of failure)"
    )
    return Burst(start_tps, end_tps, ramp_s, stages, peak, steady, dlq)

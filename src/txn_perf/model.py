"""Capacity arithmetic: what is deployed, what one transaction consumes, what each part sustains.

Pure functions over a deployment, a workload and the quotas. Nothing here reads files or runs
stacks (:mod:`txn_perf.discovery` does): every figure is a function of its arguments, so the tests
check the arithmetic itself (Little's law, event-source throughput, the bottleneck, item units).
What it all costs is :mod:`txn_perf.pricing`.

Units: rates in transactions per second (TPS) of *accepted* transactions; durations in
milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from txn_perf.prices import quota

MB_PER_VCPU = 1769  # Lambda gives one full vCPU at 1,769 MB and CPU in proportion below it


# --- what is deployed and what one transaction costs -----------------------------------------


@dataclass(frozen=True)
class TableLoad:
    """Write and read units one accepted transaction costs on one table (or index)."""

    wru: float
    rru: float = 0.0
    warm_wru: float | None = None  # None: the on-demand default for a new table
    warm_rru: float | None = None


@dataclass(frozen=True)
class Deployment:
    """The knobs of one stack configuration that capacity and cost depend on."""

    architecture: str
    validator_memory_mb: int
    fraud_memory_mb: int
    fraud_batch_size: int
    fraud_batching_window_s: int
    fraud_max_concurrency: int
    fraud_reserved_concurrency: int
    other_unreserved_concurrency: int  # e.g. the DLQ consumer's event-source maximum
    api_rate_limit: float  # stage-wide steady rate
    api_key_rate_limits: tuple[float, ...]  # each API key's, on its own usage plan
    waf_rate_limit_per_ip_5min: int
    # fixed monthly
    interface_endpoints: int
    availability_zones: int
    waf_web_acls: int
    waf_rules: int
    kms_keys: int
    alarm_metrics: int
    dashboards: int
    custom_metrics: int
    xray_reservoir_per_s: float  # traces per second always recorded
    xray_fixed_rate: float  # share of the rest recorded
    function_memory_gb: float = 0.0  # all functions' memory: what SnapStart would cache
    snapstart: bool = False  # compute's snapStart key (ADR 0008)
    api_key_quota_per_day: float = math.inf  # daily quota of the key with the highest rate
    api_detailed_metrics: int = 0  # API Gateway's per-method metrics (detailed metrics on)


@dataclass(frozen=True)
class Workload:
    """Per accepted transaction (or per invocation where named), measured or derived."""

    validator_ms: float  # one invocation (one API request)
    fraud_batch_ms: float  # one invocation of a full batch
    requests_per_accepted: float  # API requests per accepted transaction (rejects included)
    tables: Mapping[str, TableLoad]
    sqs_requests: float  # SendMessage + the poller's Receive/Delete, per accepted txn
    sns_publishes: float  # PublishBatch requests per accepted txn
    sns_emails: float  # alert emails delivered per accepted txn
    log_bytes: Mapping[str, float]  # CloudWatch Logs bytes ingested, by source
    endpoint_bytes: float  # bytes through interface endpoints (SendMessage, alerts)
    xray_segments_per_trace: float
    kms_requests: float = 0.0  # per txn; the data keys are cached, so ~0
    kms_requests_per_second: float = 0.0  # the cache refreshes, independent of traffic
    # traces that start at a Lambda (SQS-fed invocations), per accepted txn: Lambda samples them
    # at its own fixed rate, which no sampling rule changes
    lambda_started_traces: float = 0.0
    # log sources whose group is in the Infrequent Access class (half the ingestion price)
    infrequent_access_logs: frozenset[str] = frozenset()
    # one key's busiest item (a merchant, a card): units per transaction of that key, worst case
    hot_keys: Mapping[str, TableLoad] = field(default_factory=dict)


# --- capacity ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    name: str
    max_tps: float
    basis: str


def littles_law_tps(concurrency: float, duration_ms: float) -> float:
    """Requests per second ``concurrency`` workers sustain when each takes ``duration_ms``."""
    if duration_ms <= 0:
        raise ValueError("duration must be positive")
    return concurrency / (duration_ms / 1000.0)


def event_source_tps(concurrency: int, batch_size: int, batch_ms: float) -> float:
    """Messages per second an SQS event source drains: concurrent batches x size / duration."""
    return littles_law_tps(concurrency, batch_ms) * batch_size


def lambda_cpu_ms(cpu_us: float, memory_mb: int) -> float:
    """CPU time measured on a full core, stretched to the share of a core ``memory_mb`` buys."""
    return cpu_us / 1000.0 * max(1.0, MB_PER_VCPU / memory_mb)


def validator_concurrency(d: Deployment) -> float:
    """The account's concurrency left to the validator (it has no reservation of its own)."""
    return (
        quota("lambda_concurrency") - d.fraud_reserved_concurrency - d.other_unreserved_concurrency
    )


LAMBDA_REQUESTS = "Lambda requests (account)"


def lambda_requests_per_second() -> float:
    """Invocations a second Lambda takes across every function of the account and region."""
    return quota("lambda_requests_per_concurrency") * quota("lambda_concurrency")


def lambda_invocations_per_accepted(d: Deployment, w: Workload) -> float:
    """The validator's invocations (every request that reaches it) and the fraud detector's (one
    per batch, at full batches; partial ones take more) per accepted transaction."""
    return w.requests_per_accepted + 1 / d.fraud_batch_size


def lambda_request_tps(d: Deployment, w: Workload) -> float:
    return lambda_requests_per_second() / lambda_invocations_per_accepted(d, w)


def capacity(d: Deployment, w: Workload) -> list[Component]:
    """Maximum sustainable accepted TPS of each component, in request order."""
    per_request = w.requests_per_accepted
    api_limits = {
        "account quota": quota("apigw_account_rps"),
        "stage throttle": d.api_rate_limit,
        f"usage plans of {len(d.api_key_rate_limits)} key(s)": sum(d.api_key_rate_limits),
    }
    api_name, api_rps = min(api_limits.items(), key=lambda kv: kv[1])
    components = [
        Component(
            "API Gateway",
            api_rps / per_request,
            f"{api_rps:,.0f} req/s ({api_name}) / {per_request:.2f} req per accepted txn",
        ),
        Component(
            "validator Lambda",
            littles_law_tps(validator_concurrency(d), w.validator_ms) / per_request,
            f"Little's law: {validator_concurrency(d):,.0f} unreserved executions / "
            f"{w.validator_ms:.1f} ms",
        ),
        Component(
            LAMBDA_REQUESTS,
            lambda_request_tps(d, w),
            f"{lambda_requests_per_second():,.0f} invocations/s "
            f"({quota('lambda_requests_per_concurrency'):.0f} x "
            f"{quota('lambda_concurrency'):,.0f} concurrency) / "
            f"{lambda_invocations_per_accepted(d, w):.3f} per txn (validator "
            f"{w.requests_per_accepted:.2f}, fraud detector 1/{d.fraud_batch_size} at full "
            "batches)",
        ),
        Component(
            "fraud event source",
            event_source_tps(d.fraud_max_concurrency, d.fraud_batch_size, w.fraud_batch_ms),
            f"{d.fraud_max_concurrency} batches x {d.fraud_batch_size} / {w.fraud_batch_ms:.1f} ms",
        ),
    ]
    for table, load in w.tables.items():  # every table on-demand: its warm throughput
        if load.wru > 0:
            warm = load.warm_wru or quota("dynamodb_new_table_wru")
            warm = min(warm, quota("dynamodb_table_max_wru"))
            components.append(
                Component(
                    f"DynamoDB {table} writes",
                    warm / load.wru,
                    f"{warm:,.0f} WRU/s {'warm' if load.warm_wru else 'new-table default'} "
                    f"/ {load.wru:.2f} WRU per txn",
                )
            )
        if load.rru > 0:
            warm = load.warm_rru or quota("dynamodb_new_table_rru")
            components.append(
                Component(
                    f"DynamoDB {table} reads",
                    warm / load.rru,
                    f"{warm:,.0f} RRU/s / {load.rru:.2f} RRU per txn",
                )
            )
    kms_left = quota("kms_symmetric_rps") - w.kms_requests_per_second
    components.append(
        Component(
            "KMS (us-east-2)",
            kms_left / w.kms_requests if w.kms_requests > 0 else math.inf,
            f"{quota('kms_symmetric_rps'):,.0f} req/s shared; data keys cached: "
            f"~{w.kms_requests_per_second:.1f} req/s whatever the traffic",
        )
    )
    in_flight_s = (w.fraud_batch_ms / 1000.0) + d.fraud_batching_window_s
    components.append(
        Component(
            "SQS transactions queue",
            quota("sqs_inflight") / in_flight_s,
            f"{quota('sqs_inflight'):,.0f} in flight / {in_flight_s:.3f} s each "
            "(standard queue: no request-rate quota)",
        )
    )
    if w.sns_publishes > 0:
        components.append(
            Component(
                "SNS fraud alerts",
                quota("sns_publish_rps") / w.sns_publishes,
                f"{quota('sns_publish_rps'):,.0f} publishes/s / {w.sns_publishes:.3f} per txn",
            )
        )
    if d.xray_fixed_rate > 0:
        traces = quota("xray_segments_per_second") / w.xray_segments_per_trace
        components.append(
            Component(
                "X-Ray",
                max(0.0, traces - d.xray_reservoir_per_s) / d.xray_fixed_rate
                + d.xray_reservoir_per_s,
                f"{quota('xray_segments_per_second'):,.0f} segments/s / "
                f"{w.xray_segments_per_trace:.0f} per trace at {d.xray_fixed_rate:.1%} sampled",
            )
        )
    return components


def hot_key_capacity(w: Workload) -> list[Component]:
    """TPS one key (a merchant, a card) takes before its busiest item's partition throttles:
    1,000 write and 3,000 read units a second per partition, whatever the table's throughput."""
    out = []
    for key, load in w.hot_keys.items():
        limits = {"writes": (load.wru, quota("dynamodb_partition_wru"))}
        if load.rru:
            limits["reads"] = (load.rru, quota("dynamodb_partition_rru"))
        for kind, (units, per_partition) in limits.items():
            out.append(
                Component(
                    f"one {key}: {kind}",
                    per_partition / units,
                    f"{per_partition:,.0f} units/s per partition / {units:.3g} per txn on its "
                    "busiest item",
                )
            )
    return out


def warm_needed(w: Workload, tps: float) -> dict[str, float]:
    """Write units a second each table (or index) takes at ``tps``: its warm throughput to be."""
    return {table: load.wru * tps for table, load in w.tables.items()}


def bottleneck(components: Iterable[Component]) -> Component:
    return min(components, key=lambda c: c.max_tps)


def headroom(max_tps: float, target_tps: float) -> float:
    """How many times ``target_tps`` the system sustains (1.0 = exactly the target)."""
    return max_tps / target_tps


# --- X-Ray sampling and DynamoDB item units ----------------------------------------------------


def traced_share(d: Deployment, tps: float) -> float:
    """Share of transactions X-Ray records at ``tps``: the reservoir, then the fixed rate."""
    if tps <= 0:
        return 0.0
    reservoir = min(d.xray_reservoir_per_s, tps)
    return (reservoir + (tps - reservoir) * d.xray_fixed_rate) / tps


def replace_sampling(d: Deployment, reservoir_per_s: float, fixed_rate: float) -> Deployment:
    """``d`` with another X-Ray sampling rule (e.g. Lambda's fixed one for traces it starts)."""
    return replace(d, xray_reservoir_per_s=reservoir_per_s, xray_fixed_rate=fixed_rate)


def write_units(size_bytes: float, transactional: bool) -> float:
    """Write units of one item write: per started KB, doubled inside a transaction."""
    return math.ceil(max(size_bytes, 1) / 1024) * (2 if transactional else 1)


def read_units(size_bytes: float, consistent: bool = False) -> float:
    """Read units of one item read: per started 4 KB, halved when eventually consistent."""
    units = math.ceil(max(size_bytes, 1) / 4096)
    return units if consistent else units / 2

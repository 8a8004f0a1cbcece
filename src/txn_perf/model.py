"""Capacity and cost arithmetic: pure functions over a deployment, a workload and the prices.

Nothing here reads files or runs stacks (``txn_perf.capacity`` does): every figure is a function
of its arguments, so the tests check the arithmetic itself (Little's law, event-source
throughput, the bottleneck, each cost line).

Units: rates in transactions per second (TPS) of *accepted* transactions; durations in
milliseconds; costs in US dollars per million accepted transactions, or per month when fixed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from txn_perf.prices import HOURS_PER_MONTH, price, quota, tiered_price

MB_PER_VCPU = 1769  # Lambda gives one full vCPU at 1,769 MB and CPU in proportion below it


# --- what is deployed and what one transaction costs -----------------------------------------


@dataclass(frozen=True)
class Provisioned:
    """A provisioned table (or index): its auto scaling bounds in capacity units, the average
    share of provisioned capacity it consumes, and the alarms its target tracking creates."""

    min_wcu: float
    max_wcu: float
    min_rcu: float
    max_rcu: float
    write_utilization: float
    read_utilization: float
    alarms: int = 0


@dataclass(frozen=True)
class TableLoad:
    """Write and read units one accepted transaction costs on one table (or index)."""

    wru: float
    rru: float = 0.0
    warm_wru: float | None = None  # None: the on-demand default for a new table
    warm_rru: float | None = None
    provisioned: Provisioned | None = None  # None: on-demand


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
    api_key_rate_limit: float  # per API key (usage plan)
    api_keys: int
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
    endpoint_bytes: float  # bytes through interface endpoints (SQS, SNS, logs, X-Ray)
    xray_segments_per_trace: float
    kms_requests: float = 0.0  # per txn; the data keys are cached, so ~0
    kms_requests_per_second: float = 0.0  # the cache refreshes, independent of traffic
    # traces that start at a Lambda (SQS-fed invocations), per accepted txn: Lambda samples them
    # at its own fixed rate, which no sampling rule changes
    lambda_started_traces: float = 0.0
    # log sources whose group is in the Infrequent Access class (half the ingestion price)
    infrequent_access_logs: frozenset[str] = frozenset()


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


def capacity(d: Deployment, w: Workload) -> list[Component]:
    """Maximum sustainable accepted TPS of each component, in request order."""
    per_request = w.requests_per_accepted
    api_limits = {
        "account quota": quota("apigw_account_rps"),
        "stage throttle": d.api_rate_limit,
        f"usage plan x {d.api_keys} key(s)": d.api_key_rate_limit * d.api_keys,
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
            "fraud event source",
            event_source_tps(d.fraud_max_concurrency, d.fraud_batch_size, w.fraud_batch_ms),
            f"{d.fraud_max_concurrency} batches x {d.fraud_batch_size} / {w.fraud_batch_ms:.1f} ms",
        ),
    ]
    for table, load in w.tables.items():
        if load.provisioned is not None:
            components += _provisioned_capacity(table, load, load.provisioned)
            continue
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
                f"{w.xray_segments_per_trace:.0f} per trace at {d.xray_fixed_rate:.0%} sampled",
            )
        )
    return components


def _provisioned_capacity(table: str, load: TableLoad, p: Provisioned) -> list[Component]:
    """A provisioned table takes what auto scaling may provision: its maximum (DynamoDB lets a
    table consume up to 100% of its provisioned capacity, target tracking aims below)."""
    found = []
    for units, maximum, kind, unit in (
        (load.wru, p.max_wcu, "writes", "WCU"),
        (load.rru, p.max_rcu, "reads", "RCU"),
    ):
        if units > 0:
            found.append(
                Component(
                    f"DynamoDB {table} {kind}",
                    maximum / units,
                    f"{maximum:,.0f} {unit} auto scaling max / {units:.2f} {unit} per txn",
                )
            )
    return found


def bottleneck(components: Iterable[Component]) -> Component:
    return min(components, key=lambda c: c.max_tps)


def headroom(max_tps: float, target_tps: float) -> float:
    """How many times ``target_tps`` the system sustains (1.0 = exactly the target)."""
    return max_tps / target_tps


# --- cost --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    service: str
    item: str
    quantity: float  # per accepted transaction (variable) or per month (fixed)
    unit_price: float
    amount: float  # dollars per million accepted txns (variable) or per month (fixed)


@dataclass
class Costs:
    variable: list[CostLine] = field(default_factory=list)
    fixed: list[CostLine] = field(default_factory=list)
    one_time: list[CostLine] = field(default_factory=list)

    @property
    def per_million(self) -> float:
        return sum(line.amount for line in self.variable)

    @property
    def monthly_fixed(self) -> float:
        return sum(line.amount for line in self.fixed)

    def by_service(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in self.variable:
            totals[line.service] = totals.get(line.service, 0.0) + line.amount
        return totals


def _per_million(service: str, item: str, per_txn: float, unit_price: float) -> CostLine:
    return CostLine(service, item, per_txn, unit_price, per_txn * unit_price * 1e6)


def billed_gb_seconds(memory_mb: int, duration_ms: float) -> float:
    """Lambda bills every started millisecond at the configured memory."""
    return memory_mb / 1024.0 * math.ceil(duration_ms) / 1000.0


def traced_share(d: Deployment, tps: float) -> float:
    """Share of transactions X-Ray records at ``tps``: the reservoir, then the fixed rate."""
    if tps <= 0:
        return 0.0
    reservoir = min(d.xray_reservoir_per_s, tps)
    return (reservoir + (tps - reservoir) * d.xray_fixed_rate) / tps


def replace_sampling(d: Deployment, reservoir_per_s: float, fixed_rate: float) -> Deployment:
    """``d`` with another X-Ray sampling rule (e.g. Lambda's fixed one for traces it starts)."""
    return replace(d, xray_reservoir_per_s=reservoir_per_s, xray_fixed_rate=fixed_rate)


def monthly_volume(tps: float) -> float:
    """Accepted transactions in a month at a steady ``tps``."""
    return tps * 3600 * HOURS_PER_MONTH


def costs(d: Deployment, w: Workload, reference_tps: float) -> Costs:
    """Variable cost per million accepted transactions at a steady ``reference_tps``, fixed per
    month. The rate sets the month's volume (volume-tiered prices) and X-Ray's sampled share."""
    gb_s = price(f"lambda_gb_second_{d.architecture}")
    batches = 1.0 / d.fraud_batch_size
    api_requests = monthly_volume(reference_tps) * w.requests_per_accepted
    c = Costs()
    v = c.variable
    v.append(
        _per_million(
            "API Gateway",
            f"REST requests ({api_requests / 1e6:,.0f} M a month, tiered)",
            w.requests_per_accepted,
            tiered_price("apigw_rest_request", api_requests),
        )
    )
    v.append(
        _per_million("WAF", "requests inspected", w.requests_per_accepted, price("waf_request"))
    )
    v.append(
        _per_million(
            "Lambda",
            "requests (validator + fraud batches)",
            w.requests_per_accepted + batches,
            price("lambda_request"),
        )
    )
    v.append(
        _per_million(
            "Lambda",
            f"GB-seconds ({d.architecture})",
            w.requests_per_accepted * billed_gb_seconds(d.validator_memory_mb, w.validator_ms)
            + batches * billed_gb_seconds(d.fraud_memory_mb, w.fraud_batch_ms),
            gb_s,
        )
    )
    v.append(_per_million("SQS", "requests", w.sqs_requests, price("sqs_request")))
    for table, load in w.tables.items():
        if load.provisioned is not None:
            v += _provisioned_cost(table, load, load.provisioned, reference_tps)
            continue
        if load.wru:
            v.append(
                _per_million("DynamoDB", f"{table} write units", load.wru, price("dynamodb_wru"))
            )
        if load.rru:
            v.append(
                _per_million("DynamoDB", f"{table} read units", load.rru, price("dynamodb_rru"))
            )
    v.append(_per_million("KMS", "requests", w.kms_requests, price("kms_request")))
    for source, size in w.log_bytes.items():
        infrequent = source in w.infrequent_access_logs
        v.append(
            _per_million(
                "CloudWatch Logs",
                f"{source} (GB{', Infrequent Access' if infrequent else ''})",
                size / 1e9,
                price("logs_ingest_gb_infrequent" if infrequent else "logs_ingest_gb"),
            )
        )
    v.append(
        _per_million(
            "X-Ray",
            "traces recorded (API stage rule)",
            traced_share(d, reference_tps),
            price("xray_trace_recorded"),
        )
    )
    if w.lambda_started_traces:
        v.append(
            _per_million(
                "X-Ray",
                "traces recorded (queue consumers)",
                w.lambda_started_traces,
                price("xray_trace_recorded"),
            )
        )
    v.append(_per_million("SNS", "alert publishes", w.sns_publishes, price("sns_publish")))
    v.append(_per_million("SNS", "alert emails", w.sns_emails, price("sns_email")))
    v.append(
        _per_million(
            "VPC endpoints", "data processed (GB)", w.endpoint_bytes / 1e9, price("vpce_gb")
        )
    )

    def fixed(service: str, item: str, quantity: float, key: str) -> None:
        c.fixed.append(CostLine(service, item, quantity, price(key), quantity * price(key)))

    fixed(
        "VPC endpoints",
        f"{d.interface_endpoints} interface x {d.availability_zones} AZ hours",
        d.interface_endpoints * d.availability_zones * HOURS_PER_MONTH,
        "vpce_az_hour",
    )
    fixed("WAF", "web ACLs", d.waf_web_acls, "waf_web_acl_month")
    fixed("WAF", "rules and rule groups", d.waf_rules, "waf_rule_month")
    fixed("KMS", "customer managed keys", d.kms_keys, "kms_key_month")
    fixed(
        "KMS",
        "cache-refresh requests",
        w.kms_requests_per_second * 3600 * HOURS_PER_MONTH,
        "kms_request",
    )
    fixed("CloudWatch", "alarm metrics", d.alarm_metrics, "cw_alarm_metric_month")
    autoscaling_alarms = sum(t.provisioned.alarms for t in w.tables.values() if t.provisioned)
    if autoscaling_alarms:
        fixed(
            "CloudWatch",
            "DynamoDB target-tracking alarms",
            autoscaling_alarms,
            "cw_alarm_metric_month",
        )
    fixed("CloudWatch", "dashboards", d.dashboards, "cw_dashboard_month")
    fixed("CloudWatch", "custom metrics (EMF)", d.custom_metrics, "cw_custom_metric_month")
    return c


def provisioned_unit_price(
    hourly: float, utilization: float, units_per_second: float, minimum: float
) -> float:
    """Dollars per capacity unit consumed on a provisioned table: the hourly price of what auto
    scaling keeps provisioned (consumption / utilization, never below the minimum) spread over
    what is consumed. At ``utilization`` u one consumed unit costs ``hourly / (3600 u)``."""
    if not 0 < utilization <= 1:
        raise ValueError("utilization must be in (0, 1]")
    if units_per_second <= 0:
        return hourly / (3600 * utilization)
    provisioned = max(minimum, units_per_second / utilization)
    return provisioned * hourly / 3600 / units_per_second


def _provisioned_cost(
    table: str, load: TableLoad, p: Provisioned, reference_tps: float
) -> list[CostLine]:
    lines = []
    for units, hourly, utilization, minimum, kind in (
        (load.wru, price("dynamodb_wcu_hour"), p.write_utilization, p.min_wcu, "write"),
        (load.rru, price("dynamodb_rcu_hour"), p.read_utilization, p.min_rcu, "read"),
    ):
        if units:
            unit_price = provisioned_unit_price(hourly, utilization, units * reference_tps, minimum)
            lines.append(_per_million("DynamoDB", f"{table} {kind} capacity", units, unit_price))
    return lines


def provisioned_floor(tables: Mapping[str, TableLoad]) -> list[CostLine]:
    """Monthly cost of the auto scaling minimums: paid whatever the traffic."""
    lines = []
    for table, load in tables.items():
        p = load.provisioned
        if p is None:
            continue
        for units, key, kind in (
            (p.min_wcu, "dynamodb_wcu_hour", "WCU"),
            (p.min_rcu, "dynamodb_rcu_hour", "RCU"),
        ):
            quantity = units * HOURS_PER_MONTH
            lines.append(
                CostLine(
                    "DynamoDB",
                    f"{table} minimum {kind}",
                    quantity,
                    price(key),
                    quantity * price(key),
                )
            )
    return lines


def break_even_utilization() -> dict[str, float]:
    """Utilization above which provisioned capacity costs less than on-demand requests."""
    return {
        "writes": price("dynamodb_wcu_hour") / 3600 / price("dynamodb_wru"),
        "reads": price("dynamodb_rcu_hour") / 3600 / price("dynamodb_rru"),
    }


def warm_throughput_cost(
    raised_wru: Mapping[str, float], provisioned_from: Mapping[str, float] | None = None
) -> list[CostLine]:
    """One-time cost of raising warm write throughput above what a table has for free: the
    new-table default on-demand, the capacity it is created with (``provisioned_from``) when
    provisioned."""
    lines = []
    start = provisioned_from or {}
    for table, units in raised_wru.items():
        extra = max(0.0, units - start.get(table, quota("dynamodb_new_table_wru")))
        if extra:
            unit = price("dynamodb_warm_wru_once")
            lines.append(
                CostLine("DynamoDB", f"{table} warm throughput", extra, unit, extra * unit)
            )
    return lines


def write_units(size_bytes: float, transactional: bool) -> float:
    """Write units of one item write: per started KB, doubled inside a transaction."""
    return math.ceil(max(size_bytes, 1) / 1024) * (2 if transactional else 1)


def read_units(size_bytes: float, consistent: bool = False) -> float:
    """Read units of one item read: per started 4 KB, halved when eventually consistent."""
    units = math.ceil(max(size_bytes, 1) / 4096)
    return units if consistent else units / 2

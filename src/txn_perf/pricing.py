"""Cost arithmetic: what a deployment and its workload cost, from the price table.

Variable lines in US dollars per million accepted transactions at a steady rate, fixed lines per
month, and one-time charges. Pure functions of their arguments, like :mod:`txn_perf.model`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from txn_perf.model import Deployment, Workload, traced_share
from txn_perf.prices import HOURS_PER_MONTH, price, quota, tiered_price


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


def mandated(line: CostLine) -> bool:
    """A line the mission fixes: the REST API with WAF, a queue between two functions, Lambda per
    request, on-demand tables for the records, velocity counters and idempotency claims."""
    return line.service in {"API Gateway", "WAF", "SQS", "DynamoDB"} or (
        line.service == "Lambda" and line.item.startswith("requests")
    )


def _per_million(service: str, item: str, per_txn: float, unit_price: float) -> CostLine:
    return CostLine(service, item, per_txn, unit_price, per_txn * unit_price * 1e6)


def billed_gb_seconds(memory_mb: int, duration_ms: float) -> float:
    """Lambda bills every started millisecond at the configured memory."""
    return memory_mb / 1024.0 * math.ceil(duration_ms) / 1000.0


def monthly_volume(tps: float) -> float:
    """Accepted transactions in a month at a steady ``tps``."""
    return tps * 3600 * HOURS_PER_MONTH


def costs(d: Deployment, w: Workload, reference_tps: float) -> Costs:
    """Variable cost per million accepted transactions at a steady ``reference_tps``, fixed per
    month. The rate sets the month's volume (volume-tiered prices) and X-Ray's sampled share."""
    batches = 1.0 / d.fraud_batch_size
    api_requests = monthly_volume(reference_tps) * w.requests_per_accepted
    c = Costs()

    def variable(service: str, item: str, per_txn: float, unit: str | float) -> None:
        """A line per million accepted transactions; ``unit``: a price key or a price."""
        c.variable.append(
            _per_million(service, item, per_txn, price(unit) if isinstance(unit, str) else unit)
        )

    variable(
        "API Gateway",
        f"REST requests ({api_requests / 1e6:,.0f} M a month, tiered)",
        w.requests_per_accepted,
        tiered_price("apigw_rest_request", api_requests),
    )
    variable("WAF", "requests inspected", w.requests_per_accepted, "waf_request")
    requests = w.requests_per_accepted + batches
    variable("Lambda", "requests (validator + fraud batches)", requests, "lambda_request")
    variable(
        "Lambda",
        f"GB-seconds ({d.architecture})",
        w.requests_per_accepted * billed_gb_seconds(d.validator_memory_mb, w.validator_ms)
        + batches * billed_gb_seconds(d.fraud_memory_mb, w.fraud_batch_ms),
        f"lambda_gb_second_{d.architecture}",
    )
    variable("SQS", "requests", w.sqs_requests, "sqs_request")
    for table, load in w.tables.items():  # on-demand: per request unit
        if load.wru:
            variable("DynamoDB", f"{table} write units", load.wru, "dynamodb_wru")
        if load.rru:
            variable("DynamoDB", f"{table} read units", load.rru, "dynamodb_rru")
    variable("KMS", "requests", w.kms_requests, "kms_request")
    for source, size in w.log_bytes.items():
        infrequent = source in w.infrequent_access_logs
        variable(
            "CloudWatch Logs",
            f"{source} (GB{', Infrequent Access' if infrequent else ''})",
            size / 1e9,
            "logs_ingest_gb_infrequent" if infrequent else "logs_ingest_gb",
        )
    xray = "xray_trace_recorded"
    variable("X-Ray", "traces recorded (API stage rule)", traced_share(d, reference_tps), xray)
    if w.lambda_started_traces:
        variable("X-Ray", "traces recorded (queue consumers)", w.lambda_started_traces, xray)
    variable("SNS", "alert publishes", w.sns_publishes, "sns_publish")
    variable("SNS", "alert emails", w.sns_emails, "sns_email")
    variable("VPC endpoints", "data processed (GB)", w.endpoint_bytes / 1e9, "vpce_gb")

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
    if d.snapstart:
        fixed(
            "Lambda",
            "SnapStart cache of the live versions (GB-s)",
            d.function_memory_gb * SECONDS_PER_MONTH,
            "lambda_snapstart_cache_gb_second",
        )
    fixed("CloudWatch", "dashboards", d.dashboards, "cw_dashboard_month")
    fixed(
        "CloudWatch",
        "custom metrics (EMF, log filters)",
        d.custom_metrics,
        "cw_custom_metric_month",
    )
    fixed(
        "CloudWatch",
        "API Gateway detailed (per-method) metrics",
        d.api_detailed_metrics,
        "cw_custom_metric_month",
    )
    return c


SECONDS_PER_MONTH = 3600 * HOURS_PER_MONTH
SNAPSTART_VERSION_DAYS = 14  # a published version stays cached until 14 days without a call


@dataclass(frozen=True)
class SnapStartPrice:
    """What compute's ``snapStart`` costs a month, on or off (ADR 0008)."""

    live_versions_monthly: float  # the cache of the versions the alias points at
    per_deploy: float  # the previous versions, cached until 14 days pass without a call
    per_restore: float  # one new validator environment resumed from its snapshot (a burst)


def snapstart_price(d: Deployment) -> SnapStartPrice:
    cache = price("lambda_snapstart_cache_gb_second")
    return SnapStartPrice(
        live_versions_monthly=d.function_memory_gb * SECONDS_PER_MONTH * cache,
        per_deploy=d.function_memory_gb * SNAPSTART_VERSION_DAYS * 86_400 * cache,
        per_restore=d.validator_memory_mb / 1024 * price("lambda_snapstart_restore_gb"),
    )


def warm_throughput_cost(raised_wru: Mapping[str, float]) -> list[CostLine]:
    """One-time cost of raising warm write throughput above what a new on-demand table (or
    index) has for free."""
    lines = []
    for table, units in raised_wru.items():
        extra = max(0.0, units - quota("dynamodb_new_table_wru"))
        if extra:
            unit = price("dynamodb_warm_wru_once")
            lines.append(
                CostLine("DynamoDB", f"{table} warm throughput", extra, unit, extra * unit)
            )
    return lines

"""Capacity and cost per million transactions of a stack configuration.

    python -m txn_perf.capacity --stack prod [--bench bench-results/bench.json] [--json PATH]

The deployment's knobs come from the stacks' own configuration (``Pulumi.yaml`` defaults, then
``Pulumi.<stack>.yaml``, validated by the models in :mod:`txn_infra.config`) and from what the
six stack programs declare when run under mocks (function memory, endpoints, keys, WAF rules,
alarms), so nothing here re-types a setting. Per-transaction CPU comes from the benchmark's
JSON when present (``nox -s bench`` writes ``bench-results/bench.json``; ``python -m
txn_perf.bench.handler_cost`` alone writes ``handler_cost.json``, also accepted), else from
a short measurement run here. AWS service latencies, item sizes and log volumes that cannot
be measured on this machine are the assumptions listed in :data:`ASSUMPTIONS`, each printed
with the result.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from txn_infra import config, contract, offline, shapes
from txn_perf import model, pricing
from txn_perf.bench import RESULTS, ROOT
from txn_perf.prices import AS_OF, PRICES, QUOTAS, REGION

TARGET_TPS = 1_000
# Steady daily volumes the cost is also priced at (the API's price per request falls with the
# month's volume; X-Ray's reservoir is a larger share of a slower stream).
VOLUMES_PER_DAY = (10e6, 30e6, TARGET_TPS * 86_400.0)
CAPACITY_GOAL_TPS = 3_000
COST_GOAL_PER_MILLION = 6.00

# The representative traffic mix, shared with the benchmark's traffic generator.
MIX = {
    "approved": 0.93,  # valid, no rule fires
    "flagged": 0.02,  # valid, a fraud rule fires (an alert is published and emailed)
    "invalid": 0.03,  # 400 (API Gateway's model or the validator)
    "unknown_merchant": 0.02,  # 422 from the validator
}
IDEMPOTENCY_KEY_SHARE = 0.5  # requests carrying an Idempotency-Key header
# Accepted transactions that are e-commerce (the rest card-present): only they count into a
# customer-IP velocity item (``txn_domain.fraud.customer_ip``). The generator draws half and half.
ECOMMERCE_SHARE = 0.5

# What cannot be measured here: each value, and why it is what it is.
ASSUMPTIONS: dict[str, tuple[float, str]] = {
    "sqs_send_ms": (8.0, "SQS SendMessage p50 in-region through an interface endpoint"),
    "ddb_put_ms": (5.0, "DynamoDB PutItem (idempotency claim) p50"),
    "ddb_batch_get_ms": (6.0, "DynamoDB BatchGetItem of ~25 counter items p50"),
    "ddb_statements_ms": (
        10.0,
        "BatchExecuteStatement of ~11-20 independent writes p50 (two calls per batch: "
        "card/IP counters, then records + merchant shard; no two-phase commit)",
    ),
    "sns_publish_ms": (15.0, "SNS PublishBatch p50"),
    "powertools_ms": (1.0, "Powertools logger/tracer/metrics per invocation, incl. flush"),
    "record_bytes": (700.0, "stored transaction record (< 1 KB: 1 WU, 2 in a transaction)"),
    "counter_bytes": (
        650.0,
        "card or IP counter item with its guard set (8-byte digests of the last 3 hours; < 1 KB)",
    ),
    "merchant_counter_bytes": (1_000.0, "a busy merchant's shard item (~1 KB)"),
    "idempotency_item_bytes": (
        750.0,
        "idempotency record: key, body hash, the answer and the queued message (745 bytes for "
        "the sample body with a 32-character card token)",
    ),
    "distinct_merchants_per_batch": (1.0, "merchants in one batch of 10 (worst case for reads)"),
    "failed_share": (
        0.001,
        "accepted transactions recorded FAILED after 5 receives (poison messages, a dependency "
        "down for 25 minutes); any one raises the DLQ alarm, so far above this is an incident",
    ),
    "lambda_platform_log_bytes": (
        420.0,
        "START + END + REPORT lines (with the XRAY line); ingested only if a function's "
        "systemLogLevel lets INFO through",
    ),
    "refusal_log_bytes": (450.0, "validator's INFO line for a request it refuses (422)"),
    "validator_emf_bytes": (
        380.0,
        "one EMF metrics line; the validator writes two for a refusal (TransactionsRejected, "
        "the by-code line) and one for a replayed Idempotency-Key, none for an accepted "
        "transaction (counted by the queue's NumberOfMessagesSent instead)",
    ),
    "replayed_share": (0.01, "accepted requests that replay an Idempotency-Key already used"),
    "fraud_emf_bytes": (700.0, "EMF lines per fraud batch (approved/flagged/duplicates/rule)"),
    "access_log_bytes": (620.0, "API Gateway access log line (edge ACCESS_LOG_FORMAT filled)"),
    "waf_log_bytes": (1_400.0, "WAF log record per request (headers, rule group matches)"),
    "waf_acted_share": (
        0.01,
        "requests WAF blocks or counts (all its filtered log keeps): ~0 of a provider's own "
        "traffic; 1% leaves room for scans and floods",
    ),
    "message_bytes": (800.0, "queued transaction message"),
    "xray_segments_per_trace": (4.0, "API stage, validator function + invocation, SQS hop"),
    "kms_requests_per_second": (
        1.0,
        "data-key refreshes: SQS (reuse 24 h), DynamoDB table keys (5 min), SNS, Lambda env "
        "at cold start; independent of traffic",
    ),
    "custom_metrics": (
        42.0,
        "EMF metric x dimension combinations: validator 2 (TransactionsRejected, "
        "IdempotentReplays) + TransactionsRejectedByCode per error "
        "code (9), fraud detector 3 + FlaggedByRule per rule (24), failed-transaction 4; "
        "bounded by the code's error classes and the rule document, never per id",
    ),
    "high_severity_share": (
        0.2,
        "flagged transactions with a blocklist match or a score >= 100 (the ones emailed)",
    ),
    "xray_default_reservoir_per_s": (
        1.0,
        "X-Ray default rule (1 trace/s, then 5%): the API stage's without a rule of ours, and "
        "always Lambda's for the traces it starts (not configurable)",
    ),
    "xray_default_fixed_rate": (0.05, "X-Ray default rule fixed rate"),
    "provisioned_utilization_of_target": (
        0.8,
        "average consumed/provisioned on a provisioned table, as a share of its target-tracking "
        "target: scale-out holds consumption near the target on rising and steady load, but "
        "scale-in waits 15 minutes at 20% below it and DynamoDB limits decreases a day, so "
        "falling and spiky load runs below target (70% target -> 56%)",
    ),
    "autoscaling_alarms_per_target": (
        4.0,
        "CloudWatch alarms target tracking creates per DynamoDB scalable target (high and low "
        "on consumption, high and low on provisioned capacity), billed as standard alarms; "
        "not verified offline",
    ),
}


def assumption(key: str) -> float:
    return ASSUMPTIONS[key][0]


def review_share() -> float:
    """Share of accepted transactions stored FLAGGED or FAILED: the sparse index's writes."""
    return MIX["flagged"] / (MIX["approved"] + MIX["flagged"]) + assumption("failed_share")


# --- the deployment, from config and the declared resources -----------------------------------


def layer_config(name: str, stack: str, model_type: type[config.C]) -> config.C:
    layer = contract.layer(name)
    prefix = f"{layer.project}:"
    values = {
        key[len(prefix) :]: value
        for key, value in offline.stack_config(layer, stack).items()
        if key.startswith(prefix)
    }
    return config.parse(model_type, values, layer.project)


@dataclass(frozen=True)
class Declared:
    """What the stacks declare that changes log, trace and email volumes (the cost trims).

    The defaults describe a deployment without them: every WAF record and platform line
    ingested, every flagged transaction emailed.
    """

    waf_logs_only_acted_on: bool = False  # a WAF logging filter that drops ALLOWed requests
    platform_lines_ingested: bool = True  # some function's systemLogLevel lets INFO through
    emails_high_severity_only: bool = False  # the fraud email subscription filters severity
    access_logs_infrequent: bool = False  # the API access log group is Infrequent Access class


_QUIET_SYSTEM_LEVELS = {"WARN", "ERROR", "FATAL"}


def declared(runs: dict[str, offline.LayerRun]) -> Declared:
    """Read the trims from the resources the stack programs declared."""
    (waf_logging,) = runs["edge"].of_type(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
    )
    log_filter = waf_logging.inputs.get("loggingFilter") or {}
    keeps = [f for f in log_filter.get("filters", []) if f.get("behavior") == "KEEP"]
    kept_actions = {
        c["actionCondition"]["action"]
        for f in keeps
        for c in f.get("conditions", [])
        if "actionCondition" in c
    }
    functions = runs["compute"].of_type("aws:lambda/function:Function")
    fraud_topic = runs["data"].exports["fraud_alerts_topic_arn"]
    emails = [
        s
        for s in runs["observability"].of_type("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs["topic"] == fraud_topic and s.inputs["protocol"] == "email"
    ]
    access_logs = runs["edge"].one("aws:cloudwatch/logGroup:LogGroup", "access-logs")
    return Declared(
        access_logs_infrequent=access_logs.inputs.get("logGroupClass") == "INFREQUENT_ACCESS",
        waf_logs_only_acted_on=log_filter.get("defaultBehavior") == "DROP"
        and "ALLOW" not in kept_actions,
        platform_lines_ingested=any(
            (f.inputs.get("loggingConfig") or {}).get("systemLogLevel") not in _QUIET_SYSTEM_LEVELS
            for f in functions
        ),
        emails_high_severity_only=bool(emails)
        and all(
            json.loads(e.inputs.get("filterPolicy") or "{}").get(shapes.ALERT_SEVERITY_ATTRIBUTE)
            == [shapes.ALERT_SEVERITY_HIGH]
            for e in emails
        ),
    )


def _xray_sampling(runs: dict[str, offline.LayerRun]) -> tuple[float, float]:
    """Reservoir and fixed rate of the API stage's sampling rule (X-Ray's default without)."""
    rules = [
        r
        for r in runs["observability"].of_type("aws:xray/samplingRule:SamplingRule")
        if r.inputs.get("serviceType") == "AWS::ApiGateway::Stage"
    ]
    if not rules:
        return assumption("xray_default_reservoir_per_s"), assumption("xray_default_fixed_rate")
    rule = min(rules, key=lambda r: r.inputs["priority"])
    return float(rule.inputs["reservoirSize"]), float(rule.inputs["fixedRate"])


def _alarm_metrics(alarm: offline.Resource) -> int:
    queries = alarm.inputs.get("metricQueries") or []
    return sum(1 for q in queries if q.get("metric")) or 1


def deployment(stack: str, runs: dict[str, offline.LayerRun] | None = None) -> model.Deployment:
    """The deployment ``stack`` describes: config values plus counts of declared resources."""
    compute = layer_config("compute", stack, config.ComputeConfig)
    edge = layer_config("edge", stack, config.EdgeConfig)
    runs = runs if runs is not None else offline.run_system(stack=stack)
    endpoints = runs["network"].of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    interface = [e for e in endpoints if e.inputs.get("vpcEndpointType") == "Interface"]
    acls = runs["edge"].of_type("aws:wafv2/webAcl:WebAcl")
    xray_reservoir, xray_rate = _xray_sampling(runs)
    other_sources = [
        s for s in shapes.EVENT_SOURCES if s.function.reserved_concurrency is None
    ]  # their executions come out of the unreserved pool the validator uses
    return model.Deployment(
        architecture=compute.architecture,
        validator_memory_mb=shapes.VALIDATOR.memory_mb,
        fraud_memory_mb=shapes.FRAUD_DETECTOR.memory_mb,
        fraud_batch_size=compute.fraud_batch_size,
        fraud_batching_window_s=compute.fraud_batching_window_seconds,
        fraud_max_concurrency=compute.fraud_max_concurrency,
        fraud_reserved_concurrency=shapes.FRAUD_DETECTOR.reserved_concurrency or 0,
        other_unreserved_concurrency=sum(s.maximum_concurrency or 0 for s in other_sources),
        api_rate_limit=edge.throttle_rate_limit,
        api_key_rate_limit=edge.throttle_rate_limit,
        api_keys=len(runs["edge"].of_type("aws:apigateway/apiKey:ApiKey")),
        waf_rate_limit_per_ip_5min=edge.waf_rate_limit_per_5min,
        interface_endpoints=len(interface),
        availability_zones=max(len(e.inputs.get("subnetIds") or []) for e in interface),
        waf_web_acls=len(acls),
        waf_rules=sum(len(a.inputs.get("rules") or []) for a in acls),
        kms_keys=len(runs["security"].of_type("aws:kms/key:Key")),
        alarm_metrics=sum(
            _alarm_metrics(a)
            for run in runs.values()
            for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        ),
        dashboards=sum(len(r.of_type("aws:cloudwatch/dashboard:Dashboard")) for r in runs.values()),
        custom_metrics=int(assumption("custom_metrics")),
        xray_reservoir_per_s=xray_reservoir,
        xray_fixed_rate=xray_rate,
    )


def warm_write_units(runs: dict[str, offline.LayerRun]) -> dict[str, float]:
    """Warm write throughput declared per table (and index), by shape component."""
    warm: dict[str, float] = {}
    for table in runs["data"].of_type("aws:dynamodb/table:Table"):
        component = table.name.removesuffix("-table")
        units = (table.inputs.get("warmThroughput") or {}).get("writeUnitsPerSecond")
        if units:
            warm[component] = float(units)
        for index in table.inputs.get("globalSecondaryIndexes") or []:
            units = (index.get("warmThroughput") or {}).get("writeUnitsPerSecond")
            if units:
                warm[f"{component} {index['name']}"] = float(units)
    return warm


_TARGET = "aws:appautoscaling/target:Target"
_SCALING_POLICY = "aws:appautoscaling/policy:Policy"


def declared_capacity(runs: dict[str, offline.LayerRun]) -> dict[str, model.Provisioned]:
    """The provisioned tables (and indexes) the data layer declares, by the same keys as
    :func:`warm_write_units`: bounds from their scalable targets, utilization from their
    target-tracking policies' target times ``provisioned_utilization_of_target``."""
    data = runs["data"]
    bounds = {
        (t.inputs["resourceId"], t.inputs["scalableDimension"]): t.inputs
        for t in data.of_type(_TARGET)
    }
    targets = {
        (p.inputs["resourceId"], p.inputs["scalableDimension"]): float(
            p.inputs["targetTrackingScalingPolicyConfiguration"]["targetValue"]
        )
        for p in data.of_type(_SCALING_POLICY)
        if p.inputs.get("policyType") == "TargetTrackingScaling"
    }
    share = assumption("provisioned_utilization_of_target")
    found: dict[str, model.Provisioned] = {}
    for table in data.of_type("aws:dynamodb/table:Table"):
        if table.inputs.get("billingMode") != "PROVISIONED":
            continue
        component = table.name.removesuffix("-table")
        scaled = [(component, f"table/{table.inputs['name']}", "table")]
        scaled += [
            (
                f"{component} {ix['name']}",
                f"table/{table.inputs['name']}/index/{ix['name']}",
                "index",
            )
            for ix in table.inputs.get("globalSecondaryIndexes") or []
        ]
        for key, resource_id, kind in scaled:
            read = (resource_id, f"dynamodb:{kind}:ReadCapacityUnits")
            write = (resource_id, f"dynamodb:{kind}:WriteCapacityUnits")
            found[key] = model.Provisioned(
                min_wcu=float(bounds[write]["minCapacity"]),
                max_wcu=float(bounds[write]["maxCapacity"]),
                min_rcu=float(bounds[read]["minCapacity"]),
                max_rcu=float(bounds[read]["maxCapacity"]),
                write_utilization=targets[write] / 100 * share,
                read_utilization=targets[read] / 100 * share,
                alarms=int(2 * assumption("autoscaling_alarms_per_target")),
            )
    return found


# --- the workload, from measurements and the assumptions --------------------------------------


def measured_cpu(bench: Path | None) -> tuple[dict[str, float], str]:
    """CPU us per transaction of the validator and the fraud detector, and where it came from."""
    if bench is not None and bench.exists():
        data = json.loads(bench.read_text())
        results = data.get("handler_cpu", data)["results"]  # bench.json, or handler_cost.json
        source = f"{bench.relative_to(ROOT) if bench.is_relative_to(ROOT) else bench}"
    else:
        from txn_perf.bench import handler_cost  # the handlers' imports, only when measuring

        results = {
            "validator": handler_cost.validator_case(3_000),
            "fraud_detector": handler_cost.fraud_case(3_000),
        }
        source = "measured now (3,000 iterations; run `nox -s bench` for the full figures)"
    return {k: results[k]["us_per_txn_cpu"] for k in ("validator", "fraud_detector")}, source


def workload(
    d: model.Deployment,
    cpu_us: dict[str, float],
    warm: dict[str, float],
    trims: Declared | None = None,
    tps: float = TARGET_TPS,
    provisioned: dict[str, model.Provisioned] | None = None,
) -> model.Workload:
    """What one accepted transaction costs in each service, at a steady ``tps``."""
    trims = trims or Declared()
    provisioned = provisioned or {}
    review = f"transactions {shapes.REVIEW_INDEX.name}"
    accepted = MIX["approved"] + MIX["flagged"]
    per_accepted = 1.0 / accepted
    batch = d.fraud_batch_size
    validator_ms = (
        model.lambda_cpu_ms(cpu_us["validator"], d.validator_memory_mb)
        + assumption("powertools_ms")
        + accepted * assumption("sqs_send_ms")
        + accepted * IDEMPOTENCY_KEY_SHARE * assumption("ddb_put_ms")
    )
    flagged_batch = 1 - (1 - MIX["flagged"] / accepted) ** batch  # a batch with >= 1 alert
    fraud_batch_ms = (
        model.lambda_cpu_ms(cpu_us["fraud_detector"] * batch, d.fraud_memory_mb)
        + assumption("powertools_ms")
        + assumption("ddb_batch_get_ms")
        + 2 * assumption("ddb_statements_ms")
        + flagged_batch * assumption("sns_publish_ms")
    )
    merchants = assumption("distinct_merchants_per_batch")
    # ADR 0003: PartiQL batches, each statement conditional on its own (1x, not 2x): the record
    # INSERT, one guarded statement per card and IP item, one per merchant shard per batch.
    record = model.write_units(assumption("record_bytes"), transactional=False)
    counter = model.write_units(assumption("counter_bytes"), transactional=False)
    merchant = model.write_units(assumption("merchant_counter_bytes"), transactional=False)
    # card per txn, customer IP per e-commerce txn, 4 shards per merchant
    counters_per_txn = 1 + ECOMMERCE_SHARE
    counter_reads = (counters_per_txn * batch + 4 * merchants) / batch
    tables = {
        "transactions": model.TableLoad(
            wru=record,
            # the batch's read also probes each record's key (a redelivery is skipped whole)
            rru=model.read_units(assumption("record_bytes")),
            warm_wru=warm.get("transactions"),
            provisioned=provisioned.get("transactions"),
        ),
        # sparse: only FLAGGED and FAILED records carry the index key (shapes.REVIEW_INDEX)
        shapes.REVIEW_INDEX.name: model.TableLoad(
            wru=review_share() * record,
            warm_wru=warm.get(review),
            provisioned=provisioned.get(review),
        ),
        "velocity": model.TableLoad(
            wru=counters_per_txn * counter + merchants * merchant / batch,
            rru=counter_reads * model.read_units(assumption("counter_bytes")),
            warm_wru=warm.get("velocity"),
            provisioned=provisioned.get("velocity"),
        ),
        "idempotency": model.TableLoad(
            # claimed only once the request is valid: per accepted transaction, not request
            wru=IDEMPOTENCY_KEY_SHARE
            * model.write_units(assumption("idempotency_item_bytes"), transactional=False),
            warm_wru=warm.get("idempotency"),
        ),
    }
    waf_logged = assumption("waf_acted_share") if trims.waf_logs_only_acted_on else 1.0
    platform = assumption("lambda_platform_log_bytes") if trims.platform_lines_ingested else 0.0
    log_bytes = {
        "WAF logs": per_accepted * waf_logged * assumption("waf_log_bytes"),
        "API access logs": per_accepted * assumption("access_log_bytes"),
        "validator logs": per_accepted * platform
        + MIX["unknown_merchant"]
        / accepted
        * (assumption("refusal_log_bytes") + 2 * assumption("validator_emf_bytes"))
        + assumption("replayed_share") * assumption("validator_emf_bytes"),
        "fraud detector logs": (platform + assumption("fraud_emf_bytes")) / batch,
    }
    # Fraud batches start their own traces (SQS-fed), sampled at Lambda's fixed rate.
    lambda_sampling = model.replace_sampling(
        d, assumption("xray_default_reservoir_per_s"), assumption("xray_default_fixed_rate")
    )
    batches_per_s = tps / batch
    lambda_traces = model.traced_share(lambda_sampling, batches_per_s) / batch
    flagged = MIX["flagged"] / accepted
    emailed = flagged * (
        assumption("high_severity_share") if trims.emails_high_severity_only else 1.0
    )
    sqs = 1.0 + 2.0 / batch  # SendMessage; ReceiveMessage + DeleteMessageBatch per batch
    return model.Workload(
        validator_ms=validator_ms,
        fraud_batch_ms=fraud_batch_ms,
        requests_per_accepted=per_accepted,
        tables=tables,
        sqs_requests=sqs,
        sns_publishes=flagged_batch / batch,
        sns_emails=emailed,
        log_bytes=log_bytes,
        endpoint_bytes=(
            2 * assumption("message_bytes")  # into SQS, out again to the poller... via Lambda
            + sum(log_bytes.values())
        ),
        xray_segments_per_trace=assumption("xray_segments_per_trace"),
        kms_requests_per_second=assumption("kms_requests_per_second"),
        lambda_started_traces=lambda_traces,
        infrequent_access_logs=frozenset(
            {"API access logs"} if trims.access_logs_infrequent else ()
        ),
    )


@dataclass(frozen=True)
class Bill:
    """What the month's bill depends on besides its volume: price it at any steady volume."""

    deployment: model.Deployment
    cpu: dict[str, float]
    warm: dict[str, float]
    trims: Declared
    provisioned: dict[str, model.Provisioned] | None = None

    def per_million(self, per_day: float) -> float:
        """Cost per million accepted transactions at a steady ``per_day`` (the API's tiers and
        a provisioned table's minimum both weigh on it)."""
        d, tps = self.deployment, per_day / 86_400.0
        w = workload(d, self.cpu, self.warm, self.trims, tps, self.provisioned)
        return pricing.costs(d, w, tps).per_million

    def by_volume(self) -> list[tuple[float, float]]:
        """Cost per million accepted transactions at each of :data:`VOLUMES_PER_DAY`."""
        return [(per_day, self.per_million(per_day)) for per_day in VOLUMES_PER_DAY]

    def break_even(self) -> float | None:
        """The lowest steady daily volume (up to :data:`VOLUMES_PER_DAY`'s highest) at which
        the cost per million meets the goal, to within 0.1%; ``None`` if it does not there."""
        high = max(VOLUMES_PER_DAY)
        if self.per_million(high) > COST_GOAL_PER_MILLION:
            return None
        low = 1e5  # 100,000 a day: far above the goal (fixed minimums dominate)
        while high / low > 1.001:  # the cost falls as the volume grows
            mid = (low * high) ** 0.5
            if self.per_million(mid) <= COST_GOAL_PER_MILLION:
                high = mid
            else:
                low = mid
        return high


# --- report ------------------------------------------------------------------------------------


def _provisioned_notes(provisioned: dict[str, model.Provisioned], w: model.Workload) -> list[str]:
    """What the DynamoDB lines of a provisioned table assume, and the floor it always costs."""
    if not provisioned:
        return []
    floor = pricing.provisioned_floor(w.tables)
    used = sorted({round(p.write_utilization, 3) for p in provisioned.values()})
    even = pricing.break_even_utilization()
    binding = ", ".join(
        f"{table} {p.min_wcu * p.write_utilization / load.wru:,.0f}"
        for table, load in w.tables.items()
        if (p := load.provisioned) is not None and load.wru > 0
    )
    return [
        f"provisioned: {', '.join(sorted(provisioned))} at "
        f"{', '.join(f'{u:.0%}' for u in used)} average utilization (assumption "
        f"provisioned_utilization_of_target x the target-tracking target); cheaper than "
        f"on-demand above {even['writes']:.0%} (writes) / {even['reads']:.0%} (reads)",
        f"provisioned: the auto scaling minimums cost ${sum(x.amount for x in floor):,.2f} a "
        f"month at any traffic (in the lines above at {TARGET_TPS:,} TPS); below these TPS the "
        f"write minimum, not the traffic, sets the price: {binding}",
    ]


def _tps(value: float) -> str:
    return "unbounded" if value == float("inf") else f"{value:,.0f}"


def report(stack: str, bench: Path | None) -> tuple[str, dict[str, Any]]:
    runs = offline.run_system(stack=stack)
    d = deployment(stack, runs)
    warm = warm_write_units(runs)
    cpu, cpu_source = measured_cpu(bench)
    trims = declared(runs)
    provisioned = declared_capacity(runs)
    w = workload(d, cpu, warm, trims, provisioned=provisioned)
    comps = model.capacity(d, w)
    first = model.bottleneck(comps)
    c = pricing.costs(d, w, reference_tps=TARGET_TPS)  # the volume of a steady peak
    minimums = {key: p.min_wcu for key, p in provisioned.items()}
    one_time = pricing.warm_throughput_cost(warm, minimums)

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
    out.append(f"{'component':<42}{'max TPS':>12}  basis")
    for comp in sorted(comps, key=lambda x: x.max_tps):
        out.append(f"{comp.name:<42}{_tps(comp.max_tps):>12}  {comp.basis}")
    out.append("")
    out.append(
        f"Bottleneck: {first.name} at {_tps(first.max_tps)} TPS; headroom over "
        f"{TARGET_TPS:,} TPS: {model.headroom(first.max_tps, TARGET_TPS):.1f}x "
        f"(goal >= {CAPACITY_GOAL_TPS:,} TPS: "
        f"{'met' if first.max_tps >= CAPACITY_GOAL_TPS else 'NOT met'})"
    )
    out.append(
        f"Per client IP: WAF allows {d.waf_rate_limit_per_ip_5min / 300:,.0f} req/s "
        "(rate rule over 5 minutes)"
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
        f"{COST_GOAL_PER_MILLION:.2f}: "
        f"{'met' if c.per_million <= COST_GOAL_PER_MILLION else 'NOT met'})"
    )
    out.append("By service: " + ", ".join(f"{k} {v:.2f}" for k, v in c.by_service().items()))
    bill = Bill(d, cpu, warm, trims, provisioned)
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
    for line in one_time:
        out.append(
            f"one-time: {line.service} {line.item}: {line.quantity:,.0f} WRU/s raised, "
            f"${line.amount:,.2f}"
        )
    out += _provisioned_notes(provisioned, w)
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
        "cost_per_million": c.per_million,
        "cost_by_service": c.by_service(),
        "cost_lines": [asdict(x) for x in c.variable],
        "cost_goal_met": c.per_million <= COST_GOAL_PER_MILLION,
        "cost_by_volume": [{"per_day": v, "per_million": cost} for v, cost in by_volume],
        "cost_goal_break_even_per_day": break_even,
        "fixed_monthly": c.monthly_fixed,
        "fixed_lines": [asdict(x) for x in c.fixed],
        "one_time": [asdict(x) for x in one_time],
        "provisioned": {k: asdict(v) for k, v in provisioned.items()},
        "provisioned_floor_monthly": sum(x.amount for x in pricing.provisioned_floor(w.tables)),
        "assumptions": {k: v for k, (v, _) in ASSUMPTIONS.items()},
        "prices": {k: asdict(v) for k, v in PRICES.items()},
        "quotas": {k: asdict(v) for k, v in QUOTAS.items()},
    }
    return "\n".join(out), json.loads(json.dumps(data, default=str).replace("Infinity", "null"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="prod", choices=["dev", "prod"])
    parser.add_argument("--bench", type=Path, default=RESULTS / "bench.json")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    try:
        text, data = report(args.stack, args.bench)
    except config.ConfigError as exc:
        print(f"error: config_invalid: {exc}", file=sys.stderr)
        return 2
    print(text)
    out = args.json or RESULTS / f"capacity-{args.stack}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

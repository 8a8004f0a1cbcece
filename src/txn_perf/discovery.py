"""The deployment a stack describes, read from its configuration and its declared resources.

Config values come from the layers' ``Pulumi.yaml`` defaults and ``Pulumi.<stack>.yaml``
(validated by :mod:`txn_infra.config`); everything else is counted in what the six stack
programs declare when run offline (:mod:`txn_infra.offline`), so nothing here re-types a setting.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from txn_domain.rules import load_default_rules
from txn_infra import config, offline
from txn_perf import model
from txn_perf.assumptions import assumption
from txn_spec import api_responses, contract, shapes


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


def _api_detailed_metrics(edge: offline.LayerRun) -> int:
    """CloudWatch metrics API Gateway adds with detailed metrics on: its per-method metrics, for
    every method of the stage (each a custom metric in CloudWatch's bill)."""
    settings = edge.of_type("aws:apigateway/methodSettings:MethodSettings")
    if not any((s.inputs.get("settings") or {}).get("metricsEnabled") for s in settings):
        return 0
    methods = len(edge.of_type("aws:apigateway/method:Method"))
    return methods * int(assumption("api_metrics_per_method"))


def _log_metrics(edge: offline.LayerRun, keys: int) -> int:
    """The series edge's metric filters can publish (ADR 0025): one per value of each dimension,
    multiplied: an error type is THROTTLED or QUOTA_EXCEEDED, an API key one of the stage's, or
    ``-`` (API Gateway's empty value) for a request throttled before a key was matched."""
    values = {
        shapes.ERROR_TYPE_DIMENSION: len(api_responses.THROTTLE_RESPONSES),
        shapes.API_KEY_DIMENSION: keys + 1,
    }
    return sum(
        math.prod(values[d] for d in f.inputs["metricTransformation"].get("dimensions") or {})
        for f in edge.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    )


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
    plans = [edge.limits_of(key) for key in edge.api_keys]
    busiest = max(plans, key=lambda plan: plan.rate_limit)
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
        api_key_rate_limits=tuple(plan.rate_limit for plan in plans),
        api_key_quota_per_day=busiest.quota_per_day,
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
        # FlaggedByRule has one series per rule id the fraud detector can flag with
        custom_metrics=int(assumption("custom_metrics_besides_rules"))
        + len(load_default_rules().rules)
        + _log_metrics(runs["edge"], len(edge.api_keys)),
        api_detailed_metrics=_api_detailed_metrics(runs["edge"]),
        xray_reservoir_per_s=xray_reservoir,
        xray_fixed_rate=xray_rate,
        function_memory_gb=sum(s.memory_mb for s in shapes.FUNCTIONS) / 1024,
        snapstart=any(
            f.inputs.get("snapStart")
            for f in runs["compute"].of_type("aws:lambda/function:Function")
        ),
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

"""Config rules of compute, edge and observability: refused at preview with one clear line."""

from __future__ import annotations

import pytest

from txn_infra.config import (
    ComputeConfig,
    ConfigError,
    EdgeConfig,
    ObservabilityConfig,
    PlanLimits,
    parse,
)
from txn_spec.lambda_runtime import powertools_layer_arn

COMPUTE = {
    "owner": "t",
    "architecture": "arm64",
    "logLevel": "INFO",
    "logSampleRate": "0",
    "fraudBatchSize": "10",
    "fraudBatchingWindowSeconds": "0",
    "fraudMaxConcurrency": "100",
    "functionsDir": "../../functions",
}
EDGE = {
    "owner": "t",
    "throttleRateLimit": "1500",
    "throttleBurstLimit": "3000",
    "quotaPerDay": "200000000",
    "wafRateLimitPer5Min": "300000",
    "auditLogRetentionDays": "365",
    "openapiDocument": "../../api/openapi.yaml",
    "apiKeys": '["provider"]',  # structured config reaches the program as JSON text
}
OBSERVABILITY = {
    "owner": "t",
    "alertEmail": "oncall@example.com",
    "errorRateThresholdPercent": "1",
    "queueAgeThresholdSeconds": "300",
    "flowLogRetentionDays": "365",
    "availabilityObjectivePercent": "99.9",
    "latencyObjectiveMs": "1000",
}


def test_defaults_parse() -> None:
    assert parse(ComputeConfig, COMPUTE, "txn-compute").fraud_max_concurrency == 100
    assert parse(EdgeConfig, EDGE, "txn-edge").audit_log_retention_days == 365
    assert parse(ObservabilityConfig, OBSERVABILITY, "txn-observability").fraud_alert_email is None


def test_mapping_concurrency_above_reserved_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"fraudMaxConcurrency .*reserved concurrency"):
        parse(ComputeConfig, COMPUTE | {"fraudMaxConcurrency": "101"}, "txn-compute")


def test_a_batching_window_the_visibility_cannot_cover_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"fraudBatchingWindowSeconds .*must be at most 0s"):
        parse(ComputeConfig, COMPUTE | {"fraudBatchingWindowSeconds": "5"}, "txn-compute")


@pytest.mark.parametrize("level", ["WARNING", "ERROR"])
def test_a_log_level_that_would_drop_the_emf_metrics_is_refused(level: str) -> None:
    with pytest.raises(ConfigError, match=r"logLevel .*must be DEBUG or INFO.*EMF"):
        parse(ComputeConfig, COMPUTE | {"logLevel": level}, "txn-compute")


def test_debug_sampling_that_lambda_would_drop_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"logSampleRate .*no effect at logLevel INFO"):
        parse(ComputeConfig, COMPUTE | {"logSampleRate": "0.01"}, "txn-compute")
    sampled = parse(ComputeConfig, COMPUTE | {"logLevel": "DEBUG", "logSampleRate": "0.5"}, "c")
    assert sampled.log_sample_rate == 0.5


@pytest.mark.parametrize("rate", ["-0.01", "1.5"])
def test_an_xray_sampling_rate_outside_0_to_1_is_refused(rate: str) -> None:
    with pytest.raises(ConfigError, match="xraySamplingRate"):
        parse(ObservabilityConfig, OBSERVABILITY | {"xraySamplingRate": rate}, "txn-observability")


@pytest.mark.parametrize("days", ["364", "366"])
def test_audit_logs_are_kept_a_year_in_a_retention_cloudwatch_accepts(days: str) -> None:
    with pytest.raises(ConfigError, match="auditLogRetentionDays"):
        parse(EdgeConfig, EDGE | {"auditLogRetentionDays": days}, "txn-edge")


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ('["provider", "provider"]', "lists provider more than once"),
        ("[]", "at least 1 item"),
        ('["Provider A"]', "should match pattern"),
        ("provider", "must be YAML structured config"),
    ],
)
def test_api_keys_are_distinct_names_and_at_least_one(keys: str, problem: str) -> None:
    assert parse(EdgeConfig, EDGE | {"apiKeys": '["old", "new"]'}, "e").api_keys == ("old", "new")
    with pytest.raises(ConfigError, match=f"txn-edge:apiKeys.*{problem}"):
        parse(EdgeConfig, EDGE | {"apiKeys": keys}, "txn-edge")


def test_a_key_has_the_limits_it_is_given_and_the_stages_for_the_rest() -> None:
    own = parse(EdgeConfig, EDGE | {"apiKeyLimits": '{"provider": {"rateLimit": 50}}'}, "e")
    assert own.limits_of("provider") == PlanLimits(50, 3000, 200_000_000)
    assert parse(EdgeConfig, EDGE, "e").limits_of("provider") == PlanLimits(1500, 3000, 200_000_000)


@pytest.mark.parametrize(
    ("limits", "problem"),
    [
        ('{"other": {"rateLimit": 10}}', "apiKeyLimits names other, not in apiKeys"),
        ('{"provider": {"rateLimit": 1600}}', "provider.rateLimit exceeds throttleRateLimit"),
        ('{"provider": {"burstLimit": 3001}}', "provider.burstLimit exceeds throttleBurstLimit"),
        ('{"provider": {"rate": 10}}', "apiKeyLimits.provider.rate Extra inputs"),
        ('{"provider": {"quotaPerDay": 0}}', "apiKeyLimits.provider.quotaPerDay Input should be"),
        ("provider: 10", "must be YAML structured config"),
    ],
)
def test_a_keys_own_limits_name_a_listed_key_and_fit_in_the_stage(
    limits: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=f"txn-edge:.*{problem}"):
        parse(EdgeConfig, EDGE | {"apiKeyLimits": limits}, "txn-edge")


def test_a_daily_quota_create_usage_plan_cannot_hold_is_refused() -> None:
    # AWS's API model types the quota's limit as a 32-bit integer
    assert parse(EdgeConfig, EDGE | {"quotaPerDay": str(2**31 - 1)}, "e").quota_per_day == 2**31 - 1
    with pytest.raises(ConfigError, match="txn-edge:quotaPerDay"):
        parse(EdgeConfig, EDGE | {"quotaPerDay": str(2**31)}, "txn-edge")


def test_an_empty_fraud_alert_email_falls_back_to_unset() -> None:
    parsed = parse(
        ObservabilityConfig, OBSERVABILITY | {"fraudAlertEmail": ""}, "txn-observability"
    )
    assert parsed.fraud_alert_email is None


def test_alert_email_must_be_an_address() -> None:
    with pytest.raises(ConfigError, match="alertEmail"):
        parse(ObservabilityConfig, OBSERVABILITY | {"alertEmail": "oncall"}, "txn-observability")


def test_powertools_layer_arn_follows_region_and_architecture() -> None:
    assert powertools_layer_arn("eu-west-1", "x86_64") == (
        "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:27"
    )


ARCHIVE = "arn:aws:logs:us-east-2:210987654321:destination:pci-audit-archive"


@pytest.mark.parametrize(
    ("model", "values"), [(EdgeConfig, EDGE), (ObservabilityConfig, OBSERVABILITY)]
)
def test_an_audit_log_archive_is_a_logs_destination_or_none(model, values) -> None:
    # Pulumi.yaml declares the key with an empty default: no copy
    assert (
        parse(model, values | {"auditLogDestinationArn": ""}, "n").audit_log_destination_arn is None
    )
    assert (
        parse(model, values | {"auditLogDestinationArn": ARCHIVE}, "n").audit_log_destination_arn
        == ARCHIVE
    )
    for wrong in (
        "arn:aws:firehose:us-east-2:210987654321:deliverystream/audit",  # not a logs destination
        "arn:aws:logs:us-east-2:210987654321:log-group:/audit",
        "pci-audit-archive",
    ):
        with pytest.raises(ConfigError, match="auditLogDestinationArn"):
            parse(model, values | {"auditLogDestinationArn": wrong}, "n")

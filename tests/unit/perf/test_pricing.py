"""The cost model's arithmetic and the price table it reads: each line, tiers, on-demand
tables, fixed and one-time charges."""

from __future__ import annotations

import math

import pytest

from tests.unit.perf.factories import deployment, workload
from txn_perf import pricing
from txn_perf.prices import AS_OF, PRICES, QUOTAS, TIERS, price, tiered_price


def test_lambda_bills_whole_milliseconds_at_configured_memory() -> None:
    assert pricing.billed_gb_seconds(512, 10.2) == pytest.approx(0.5 * 0.011)


def test_cost_lines_are_quantity_times_price_per_million() -> None:
    c = pricing.costs(deployment(), workload(), reference_tps=100)  # 263 M a month: first tier
    lines = {(x.service, x.item): x.amount for x in c.variable}
    assert lines[("API Gateway", "REST requests (263 M a month, tiered)")] == pytest.approx(3.50)
    assert lines[("WAF", "requests inspected")] == pytest.approx(0.60)
    assert lines[("DynamoDB", "velocity write units")] == pytest.approx(4 * 0.625)
    assert lines[("DynamoDB", "velocity read units")] == pytest.approx(0.125)
    assert lines[("SQS", "requests")] == pytest.approx(1.2 * 0.40)
    assert lines[("Lambda", "requests (validator + fraud batches)")] == pytest.approx(1.1 * 0.20)
    assert lines[("CloudWatch Logs", "logs (GB)")] == pytest.approx(0.50 * 1e3 / 1e9 * 1e6)
    assert c.per_million == pytest.approx(sum(x.amount for x in c.variable))
    assert c.by_service()["DynamoDB"] == pytest.approx(1.25 + 2.5 + 0.125)


def test_arm64_gb_seconds_cost_less_than_x86() -> None:
    arm = pricing.costs(deployment(), workload(), 1000).by_service()["Lambda"]
    x86 = pricing.costs(deployment(architecture="x86_64"), workload(), 1000).by_service()["Lambda"]
    assert arm < x86


def test_fixed_costs_count_endpoint_hours_acl_rules_keys_and_alarms() -> None:
    fixed = {x.item: x.amount for x in pricing.costs(deployment(), workload(), 1000).fixed}
    assert fixed["7 interface x 3 AZ hours"] == pytest.approx(7 * 3 * 730 * 0.01)
    assert fixed["web ACLs"] == pytest.approx(5.0)
    assert fixed["rules and rule groups"] == pytest.approx(5.0)
    assert fixed["customer managed keys"] == pytest.approx(2.0)
    assert fixed["alarm metrics"] == pytest.approx(2.2)


def test_warm_throughput_is_charged_only_above_the_default() -> None:
    lines = pricing.warm_throughput_cost({"velocity": 16_000, "idempotency": 4_000})
    assert [x.item for x in lines] == ["velocity warm throughput"]
    assert lines[0].quantity == 12_000


def test_every_price_and_quota_names_its_source() -> None:
    assert AS_OF
    assert all(p.source.startswith("https://") and p.value > 0 for p in PRICES.values())
    assert all(q.source.startswith("https://") and q.value > 0 for q in QUOTAS.values())
    assert price("lambda_gb_second_arm64") < price("lambda_gb_second_x86_64")


def test_traces_started_by_lambda_are_a_cost_line_of_their_own() -> None:
    c = pricing.costs(deployment(), workload(lambda_started_traces=0.006), reference_tps=1_000)
    (line,) = [x for x in c.variable if x.item == "traces recorded (queue consumers)"]
    assert line.amount == pytest.approx(0.006 * price("xray_trace_recorded") * 1e6)
    none = pricing.costs(deployment(), workload(), reference_tps=1_000)
    assert not [x for x in none.variable if "queue consumers" in x.item]


def test_a_tiered_price_bills_each_tier_at_its_own_rate() -> None:
    key = "apigw_rest_request"
    assert tiered_price(key, 100e6) == pytest.approx(3.50e-6)
    # 333 M at 3.50, then 667 M at 2.80, then 1 B at 2.38 (per million)
    expected = (333 * 3.50 + 667 * 2.80 + 1000 * 2.38) / 2000 / 1e6
    assert tiered_price(key, 2e9) == pytest.approx(expected)
    assert tiered_price(key, 0) == price(key)
    assert tiered_price("waf_request", 5e9) == price("waf_request")  # no tiers: flat


def test_every_tier_table_starts_at_the_listed_first_tier_price() -> None:
    for key, tiers in TIERS.items():
        assert tiers[0][1] == price(key)
        assert [unit for _, unit in tiers] == sorted((unit for _, unit in tiers), reverse=True)
        assert tiers[-1][0] == math.inf


def test_the_api_line_is_priced_at_the_month_of_the_reference_rate() -> None:
    slow = pricing.costs(deployment(), workload(), reference_tps=100).by_service()["API Gateway"]
    fast = pricing.costs(deployment(), workload(), reference_tps=1_000).by_service()["API Gateway"]
    assert slow == pytest.approx(3.50)
    assert fast == pytest.approx(
        tiered_price("apigw_rest_request", pricing.monthly_volume(1_000)) * 1e6
    )
    assert fast < slow


def test_infrequent_access_log_groups_are_priced_at_their_class() -> None:
    w = workload(
        log_bytes={"access": 1e3, "app": 1e3}, infrequent_access_logs=frozenset({"access"})
    )
    lines = {x.item: x.amount for x in pricing.costs(deployment(), w, 1000).variable}
    assert lines["access (GB, Infrequent Access)"] == pytest.approx(0.25 * 1e3 / 1e9 * 1e6)
    assert lines["app (GB)"] == pytest.approx(0.50 * 1e3 / 1e9 * 1e6)


def test_snapstart_off_adds_no_cost_line() -> None:
    c = pricing.costs(deployment(function_memory_gb=1.5), workload(), 1000)
    assert not [line for line in c.fixed if "SnapStart" in line.item]


def test_snapstart_on_caches_the_live_versions_all_month() -> None:
    # GIVEN three 512 MB functions with SnapStart on
    off = pricing.costs(deployment(function_memory_gb=1.5), workload(), 1000)
    on = pricing.costs(deployment(function_memory_gb=1.5, snapstart=True), workload(), 1000)
    # THEN the fixed bill grows by 1.5 GB cached for the month's seconds, and nothing else
    expected = 1.5 * 3600 * 730 * 0.0000015046
    assert on.monthly_fixed - off.monthly_fixed == pytest.approx(expected)
    assert on.per_million == off.per_million
    assert pricing.snapstart_price(deployment(function_memory_gb=1.5)).live_versions_monthly == (
        pytest.approx(expected)
    )


def test_each_snapstart_deploy_may_keep_its_old_versions_cached_for_14_days() -> None:
    snap = pricing.snapstart_price(deployment(function_memory_gb=1.5, validator_memory_mb=512))
    assert snap.per_deploy == pytest.approx(1.5 * 14 * 86_400 * 0.0000015046)
    assert snap.per_restore == pytest.approx(0.5 * 0.0001397998)


def test_the_mandated_floor_is_the_front_door_queue_invocations_and_tables_only() -> None:
    c = pricing.costs(deployment(), workload(), reference_tps=100)
    floor = {(x.service, x.item.split(" (")[0]) for x in c.variable if pricing.mandated(x)}
    assert floor == {
        ("API Gateway", "REST requests"),
        ("WAF", "requests inspected"),
        ("Lambda", "requests"),
        ("SQS", "requests"),
        ("DynamoDB", "transactions write units"),
        ("DynamoDB", "velocity write units"),
        ("DynamoDB", "velocity read units"),
    }
    rest = {x.service for x in c.variable if not pricing.mandated(x)}
    assert {"CloudWatch Logs", "X-Ray", "SNS", "VPC endpoints"} <= rest
    assert ("Lambda", "GB-seconds (arm64)") in {(x.service, x.item) for x in c.variable} - {
        (x.service, x.item) for x in c.variable if pricing.mandated(x)
    }

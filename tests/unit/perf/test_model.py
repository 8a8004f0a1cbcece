"""The capacity and cost model's arithmetic: Little's law, event sources, the bottleneck, costs."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from txn_perf import model
from txn_perf.prices import AS_OF, PRICES, QUOTAS, TIERS, price, quota, tiered_price


def deployment(**overrides: object) -> model.Deployment:
    base = model.Deployment(
        architecture="arm64", validator_memory_mb=512, fraud_memory_mb=512, fraud_batch_size=10,
        fraud_batching_window_s=0, fraud_max_concurrency=100, fraud_reserved_concurrency=100,
        other_unreserved_concurrency=5, api_rate_limit=5000, api_key_rate_limit=5000, api_keys=1,
        waf_rate_limit_per_ip_5min=1_500_000, interface_endpoints=7, availability_zones=3,
        waf_web_acls=1, waf_rules=5, kms_keys=2, alarm_metrics=22, dashboards=1,
        custom_metrics=40, xray_reservoir_per_s=1, xray_fixed_rate=0.05,
    )  # fmt: skip
    return replace(base, **overrides)


def workload(**overrides: object) -> model.Workload:
    base = model.Workload(
        validator_ms=10.0, fraud_batch_ms=40.0, requests_per_accepted=1.0,
        tables={"transactions": model.TableLoad(wru=2.0),
                "velocity": model.TableLoad(wru=4.0, rru=1.0)},
        sqs_requests=1.2, sns_publishes=0.0, sns_emails=0.0, log_bytes={"logs": 1e3},
        endpoint_bytes=0.0, xray_segments_per_trace=4,
    )  # fmt: skip
    return replace(base, **overrides)


def by_name(components: list[model.Component]) -> dict[str, model.Component]:
    return {c.name: c for c in components}


def test_littles_law_divides_concurrency_by_duration() -> None:
    assert model.littles_law_tps(100, 50) == pytest.approx(2_000)


def test_littles_law_refuses_a_zero_duration() -> None:
    with pytest.raises(ValueError, match="positive"):
        model.littles_law_tps(100, 0)


def test_event_source_throughput_is_concurrency_times_batch_over_duration() -> None:
    assert model.event_source_tps(100, 10, 40) == pytest.approx(25_000)


def test_lambda_cpu_stretches_below_one_vcpu_and_not_above() -> None:
    assert model.lambda_cpu_ms(100, 1769) == pytest.approx(0.1)
    assert model.lambda_cpu_ms(100, 3538) == pytest.approx(0.1)
    assert model.lambda_cpu_ms(100, 512) == pytest.approx(0.1 * 1769 / 512)


def test_validator_gets_the_account_pool_minus_reservations() -> None:
    assert model.validator_concurrency(deployment()) == quota("lambda_concurrency") - 105


def test_api_gateway_takes_the_lowest_of_account_stage_and_usage_plan() -> None:
    api = by_name(model.capacity(deployment(api_rate_limit=2000), workload()))["API Gateway"]
    assert api.max_tps == pytest.approx(2000)
    assert "stage throttle" in api.basis
    unthrottled = deployment(api_rate_limit=20_000, api_key_rate_limit=20_000)
    api = by_name(model.capacity(unthrottled, workload()))["API Gateway"]
    assert api.max_tps == pytest.approx(quota("apigw_account_rps"))


def test_rejected_requests_use_api_capacity_without_being_accepted() -> None:
    api = by_name(model.capacity(deployment(), workload(requests_per_accepted=1.25)))
    assert api["API Gateway"].max_tps == pytest.approx(4000)


def test_dynamodb_capacity_is_warm_units_over_units_per_transaction() -> None:
    comps = by_name(model.capacity(deployment(), workload()))
    assert comps["DynamoDB velocity writes"].max_tps == pytest.approx(1000)  # 4,000 / 4
    assert comps["DynamoDB velocity reads"].max_tps == pytest.approx(12_000)
    warm = workload(tables={"velocity": model.TableLoad(wru=4.0, warm_wru=16_000)})
    comp = by_name(model.capacity(deployment(), warm))["DynamoDB velocity writes"]
    assert comp.max_tps == pytest.approx(4000)


def test_warm_throughput_is_capped_at_the_table_maximum() -> None:
    warm = workload(tables={"velocity": model.TableLoad(wru=1.0, warm_wru=1e6)})
    comp = by_name(model.capacity(deployment(), warm))["DynamoDB velocity writes"]
    assert comp.max_tps == pytest.approx(quota("dynamodb_table_max_wru"))


def test_kms_is_unbounded_when_no_call_scales_with_traffic() -> None:
    assert by_name(model.capacity(deployment(), workload()))["KMS (us-east-2)"].max_tps == math.inf


def test_bottleneck_is_the_component_with_the_lowest_capacity() -> None:
    comps = model.capacity(deployment(), workload())
    first = model.bottleneck(comps)
    assert first.name == "DynamoDB velocity writes"
    assert all(first.max_tps <= c.max_tps for c in comps)
    assert model.headroom(first.max_tps, 1000) == pytest.approx(1.0)


def test_lambda_bills_whole_milliseconds_at_configured_memory() -> None:
    assert model.billed_gb_seconds(512, 10.2) == pytest.approx(0.5 * 0.011)


def test_xray_share_is_the_reservoir_then_the_fixed_rate() -> None:
    d = deployment()
    assert model.traced_share(d, 1) == pytest.approx(1.0)
    assert model.traced_share(d, 1000) == pytest.approx((1 + 999 * 0.05) / 1000)
    assert model.traced_share(d, 0) == 0.0


def test_cost_lines_are_quantity_times_price_per_million() -> None:
    c = model.costs(deployment(), workload(), reference_tps=100)  # 263 M a month: first tier
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
    arm = model.costs(deployment(), workload(), 1000).by_service()["Lambda"]
    x86 = model.costs(deployment(architecture="x86_64"), workload(), 1000).by_service()["Lambda"]
    assert arm < x86


def test_fixed_costs_count_endpoint_hours_acl_rules_keys_and_alarms() -> None:
    fixed = {x.item: x.amount for x in model.costs(deployment(), workload(), 1000).fixed}
    assert fixed["7 interface x 3 AZ hours"] == pytest.approx(7 * 3 * 730 * 0.01)
    assert fixed["web ACLs"] == pytest.approx(5.0)
    assert fixed["rules and rule groups"] == pytest.approx(5.0)
    assert fixed["customer managed keys"] == pytest.approx(2.0)
    assert fixed["alarm metrics"] == pytest.approx(2.2)


def test_write_and_read_units_follow_dynamodb_sizing() -> None:
    assert model.write_units(700, transactional=False) == 1
    assert model.write_units(700, transactional=True) == 2
    assert model.write_units(1025, transactional=False) == 2
    assert model.read_units(600) == 0.5
    assert model.read_units(4097, consistent=True) == 2


def test_warm_throughput_is_charged_only_above_the_default() -> None:
    lines = model.warm_throughput_cost({"velocity": 16_000, "idempotency": 4_000})
    assert [x.item for x in lines] == ["velocity warm throughput"]
    assert lines[0].quantity == 12_000


def test_every_price_and_quota_names_its_source() -> None:
    assert AS_OF
    assert all(p.source.startswith("https://") and p.value > 0 for p in PRICES.values())
    assert all(q.source.startswith("https://") and q.value > 0 for q in QUOTAS.values())
    assert price("lambda_gb_second_arm64") < price("lambda_gb_second_x86_64")


def test_traces_started_by_lambda_are_a_cost_line_of_their_own() -> None:
    c = model.costs(deployment(), workload(lambda_started_traces=0.006), reference_tps=1_000)
    (line,) = [x for x in c.variable if x.item == "traces recorded (queue consumers)"]
    assert line.amount == pytest.approx(0.006 * price("xray_trace_recorded") * 1e6)
    none = model.costs(deployment(), workload(), reference_tps=1_000)
    assert not [x for x in none.variable if "queue consumers" in x.item]


def test_replace_sampling_changes_only_the_rule() -> None:
    d = model.replace_sampling(deployment(), 2, 0.01)
    assert (d.xray_reservoir_per_s, d.xray_fixed_rate) == (2, 0.01)
    assert replace(d, xray_reservoir_per_s=1, xray_fixed_rate=0.05) == deployment()


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
    slow = model.costs(deployment(), workload(), reference_tps=100).by_service()["API Gateway"]
    fast = model.costs(deployment(), workload(), reference_tps=1_000).by_service()["API Gateway"]
    assert slow == pytest.approx(3.50)
    assert fast == pytest.approx(
        tiered_price("apigw_rest_request", model.monthly_volume(1_000)) * 1e6
    )
    assert fast < slow


def test_infrequent_access_log_groups_are_priced_at_their_class() -> None:
    w = workload(
        log_bytes={"access": 1e3, "app": 1e3}, infrequent_access_logs=frozenset({"access"})
    )
    lines = {x.item: x.amount for x in model.costs(deployment(), w, 1000).variable}
    assert lines["access (GB, Infrequent Access)"] == pytest.approx(0.25 * 1e3 / 1e9 * 1e6)
    assert lines["app (GB)"] == pytest.approx(0.50 * 1e3 / 1e9 * 1e6)


# --- provisioned tables --------------------------------------------------------------------------


def provisioned(**overrides: object) -> model.Provisioned:
    base = model.Provisioned(
        min_wcu=10, max_wcu=8_000, min_rcu=5, max_rcu=3_000,
        write_utilization=0.5, read_utilization=0.5, alarms=8,
    )  # fmt: skip
    return replace(base, **overrides)


def with_velocity(p: model.Provisioned | None, wru: float = 2.0, rru: float = 1.0):
    load = model.TableLoad(wru=wru, rru=rru, warm_wru=40_000, provisioned=p)
    return workload(tables={"velocity": load})


def test_a_provisioned_table_takes_its_auto_scaling_maximum_whatever_its_warm_throughput() -> None:
    comps = by_name(model.capacity(deployment(), with_velocity(provisioned())))
    assert comps["DynamoDB velocity writes"].max_tps == pytest.approx(4_000)  # 8,000 / 2
    assert comps["DynamoDB velocity reads"].max_tps == pytest.approx(3_000)  # 3,000 / 1
    assert "auto scaling max" in comps["DynamoDB velocity writes"].basis


def test_a_provisioned_unit_costs_the_hourly_price_over_an_hour_at_the_utilization() -> None:
    c = model.costs(deployment(), with_velocity(provisioned()), reference_tps=1000)
    lines = {x.item: x for x in c.variable if x.service == "DynamoDB"}
    assert set(lines) == {"velocity write capacity", "velocity read capacity"}
    per_wcu = price("dynamodb_wcu_hour") / (3600 * 0.5)
    assert lines["velocity write capacity"].amount == pytest.approx(2 * per_wcu * 1e6)
    per_rcu = price("dynamodb_rcu_hour") / (3600 * 0.5)
    assert lines["velocity read capacity"].amount == pytest.approx(1 * per_rcu * 1e6)


def test_provisioned_at_the_modelled_utilization_costs_less_than_on_demand() -> None:
    on_demand = model.costs(deployment(), with_velocity(None), 1000).by_service()["DynamoDB"]
    cheaper = model.costs(deployment(), with_velocity(provisioned()), 1000).by_service()
    assert cheaper["DynamoDB"] < on_demand
    idle = provisioned(write_utilization=0.2, read_utilization=0.2)  # below break-even
    assert model.costs(deployment(), with_velocity(idle), 1000).by_service()["DynamoDB"] > on_demand


def test_below_the_minimum_the_floor_sets_the_price() -> None:
    # 100 TPS x 2 WU = 200 WU/s would need 400 WCU at 50%; the minimum keeps 1,000
    floor = provisioned(min_wcu=1_000)
    c = model.costs(deployment(), with_velocity(floor), reference_tps=100)
    (line,) = [x for x in c.variable if x.item == "velocity write capacity"]
    assert line.unit_price == pytest.approx(1_000 * price("dynamodb_wcu_hour") / 3600 / 200)


def test_utilization_outside_0_to_1_is_refused() -> None:
    for utilization in (0.0, 1.5):
        with pytest.raises(ValueError, match="utilization"):
            model.provisioned_unit_price(0.00065, utilization, 100, 1)


def test_break_even_against_on_demand_is_about_29_percent() -> None:
    even = model.break_even_utilization()
    assert even["writes"] == pytest.approx(0.00065 / 3600 / (0.625 / 1e6))
    assert 0.28 < even["writes"] < 0.30
    assert 0.28 < even["reads"] < 0.30


def test_the_minimums_cost_a_month_of_their_capacity() -> None:
    lines = model.provisioned_floor({"velocity": with_velocity(provisioned()).tables["velocity"]})
    amounts = {x.item: x.amount for x in lines}
    assert amounts["velocity minimum WCU"] == pytest.approx(10 * 730 * price("dynamodb_wcu_hour"))
    assert amounts["velocity minimum RCU"] == pytest.approx(5 * 730 * price("dynamodb_rcu_hour"))
    assert model.provisioned_floor(workload().tables) == []


def test_target_tracking_alarms_are_a_fixed_cost_only_when_provisioned() -> None:
    fixed = {x.item: x for x in model.costs(deployment(), with_velocity(provisioned()), 1).fixed}
    assert fixed["DynamoDB target-tracking alarms"].quantity == 8
    assert fixed["DynamoDB target-tracking alarms"].amount == pytest.approx(0.8)
    on_demand = model.costs(deployment(), workload(), 1).fixed
    assert "DynamoDB target-tracking alarms" not in {x.item for x in on_demand}


def test_prewarming_a_provisioned_table_is_charged_above_the_capacity_it_starts_with() -> None:
    lines = model.warm_throughput_cost({"velocity": 12_000}, {"velocity": 100})
    assert lines[0].quantity == 11_900

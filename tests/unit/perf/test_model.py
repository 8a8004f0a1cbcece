"""The capacity model's arithmetic: Little's law, event sources, the bottleneck, item units."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tests.unit.perf.factories import deployment, workload
from txn_perf import model
from txn_perf.prices import quota
from txn_perf.report import finite


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
    unthrottled = deployment(api_rate_limit=20_000, api_key_rate_limits=(20_000,))
    api = by_name(model.capacity(unthrottled, workload()))["API Gateway"]
    assert api.max_tps == pytest.approx(quota("apigw_account_rps"))


def test_api_gateway_passes_at_most_what_the_keys_plans_allow_together() -> None:
    # ADR 0025: each provider's key on its own plan; together they may pass their sum
    two = deployment(api_rate_limit=10_000, api_key_rate_limits=(3000, 2000))
    api = by_name(model.capacity(two, workload()))["API Gateway"]
    assert api.max_tps == pytest.approx(5000)
    assert "usage plans of 2 key(s)" in api.basis


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


def test_xray_share_is_the_reservoir_then_the_fixed_rate() -> None:
    d = deployment()
    assert model.traced_share(d, 1) == pytest.approx(1.0)
    assert model.traced_share(d, 1000) == pytest.approx((1 + 999 * 0.05) / 1000)
    assert model.traced_share(d, 0) == 0.0


def test_replace_sampling_changes_only_the_rule() -> None:
    d = model.replace_sampling(deployment(), 2, 0.01)
    assert (d.xray_reservoir_per_s, d.xray_fixed_rate) == (2, 0.01)
    assert replace(d, xray_reservoir_per_s=1, xray_fixed_rate=0.05) == deployment()


def test_write_and_read_units_follow_dynamodb_sizing() -> None:
    assert model.write_units(700, transactional=False) == 1
    assert model.write_units(700, transactional=True) == 2
    assert model.write_units(1025, transactional=False) == 2
    assert model.read_units(600) == 0.5
    assert model.read_units(4097, consistent=True) == 2


def test_one_key_takes_the_partition_limit_over_its_busiest_items_units() -> None:
    # GIVEN a merchant over 4 shards (1 WU a write, 0.5 RU a read of each shard per batch) and a
    # card on one item of 1 WU
    w = workload(
        hot_keys={
            "merchant": model.TableLoad(wru=1.0 / 4, rru=0.5),
            "card": model.TableLoad(wru=1.0, rru=0.5),
        }
    )
    # WHEN the model takes DynamoDB's 1,000 write and 3,000 read units a second per partition
    comps = by_name(model.hot_key_capacity(w))
    # THEN shards multiply a key's write ceiling and reads are per item read
    assert comps["one merchant: writes"].max_tps == pytest.approx(4_000)
    assert comps["one merchant: reads"].max_tps == pytest.approx(6_000)
    assert comps["one card: writes"].max_tps == pytest.approx(1_000)
    assert comps["one card: reads"].max_tps == pytest.approx(6_000)


def test_an_item_over_one_kilobyte_halves_its_keys_write_ceiling() -> None:
    small = model.write_units(1_000, transactional=False)
    large = model.write_units(1_100, transactional=False)
    ceilings = [
        model.hot_key_capacity(workload(hot_keys={"m": model.TableLoad(wru=u / 4)}))[0].max_tps
        for u in (small, large)
    ]
    assert ceilings == [pytest.approx(4_000), pytest.approx(2_000)]


def test_a_key_without_reads_has_a_write_ceiling_only() -> None:
    (only,) = model.hot_key_capacity(workload(hot_keys={"index": model.TableLoad(wru=0.02)}))
    assert (only.name, only.max_tps) == ("one index: writes", pytest.approx(50_000))


def test_warm_throughput_needed_is_units_per_transaction_times_the_rate() -> None:
    assert model.warm_needed(workload(), 9_500) == {"transactions": 19_000, "velocity": 38_000}


def test_the_reports_json_writes_every_unbounded_figure_as_null_and_leaves_strings_alone() -> None:
    data = {"kms": math.inf, "floor": -math.inf, "ratio": math.nan, "note": "Infinity TPS"}
    assert finite({"rows": [data, 1.5]}) == {
        "rows": [{"kms": None, "floor": None, "ratio": None, "note": "Infinity TPS"}, 1.5]
    }

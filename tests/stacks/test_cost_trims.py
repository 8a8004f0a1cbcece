"""The cost model reads the trims from what the stacks declare, and each one moves its line:
WAF log records only for requests WAF acted on, no Lambda platform lines, emails only for
high-severity alerts, traces at the stage rule's rate."""

from __future__ import annotations

import pytest

from txn_infra.offline import LayerRun
from txn_perf import assumptions, bill, discovery, goals, model, workload

CPU = {"validator": 50.0, "fraud_detector": 60.0}


@pytest.fixture(scope="module")
def prod(prod_system: dict[str, LayerRun]) -> model.Deployment:
    return discovery.deployment("prod", prod_system)


def test_prod_declares_every_trim(prod_system: dict[str, LayerRun]) -> None:
    assert discovery.declared(prod_system) == discovery.Declared(
        waf_logs_only_acted_on=True,
        platform_lines_ingested=False,
        emails_high_severity_only=True,
        # Standard class: only it masks card data (issue 16), at twice the ingestion price
        access_logs_infrequent=False,
    )


def test_the_xray_rate_is_the_declared_stage_rule(
    prod: model.Deployment, system: dict[str, LayerRun]
) -> None:
    assert (prod.xray_reservoir_per_s, prod.xray_fixed_rate) == (1.0, 0.001)
    assert discovery.deployment("dev", system).xray_fixed_rate == 0.05


def test_each_trim_cuts_its_own_line_only(prod: model.Deployment) -> None:
    before = workload.workload(prod, CPU, {}, discovery.Declared())
    after = workload.workload(prod, CPU, {}, discovery.Declared(True, False, True, True))
    waf_share = assumptions.assumption("waf_acted_share")
    assert after.log_bytes["WAF logs"] == pytest.approx(before.log_bytes["WAF logs"] * waf_share)
    platform = assumptions.assumption("lambda_platform_log_bytes")
    assert before.log_bytes["fraud detector logs"] - after.log_bytes[
        "fraud detector logs"
    ] == pytest.approx(platform / prod.fraud_batch_size)
    high = assumptions.assumption("high_severity_share")
    assert after.sns_emails == pytest.approx(before.sns_emails * high)
    assert after.sns_publishes == before.sns_publishes  # every alert is still published
    assert after.log_bytes["API access logs"] == before.log_bytes["API access logs"]
    assert before.infrequent_access_logs == frozenset()
    assert after.infrequent_access_logs == {"API access logs"}  # same bytes, half the price
    assert after.tables == before.tables


def test_queue_consumer_traces_keep_lambdas_fixed_rate(prod: model.Deployment) -> None:
    w = workload.workload(prod, CPU, {}, discovery.Declared())
    batches_per_s = goals.TARGET_TPS / prod.fraud_batch_size  # 100
    expected = (1 + (batches_per_s - 1) * 0.05) / batches_per_s / prod.fraud_batch_size
    assert w.lambda_started_traces == pytest.approx(expected)


def test_the_modelled_ecommerce_share_is_the_traffic_generators() -> None:
    import random

    from txn_local import traffic

    rng = random.Random(11)
    merchant = {"merchant_id": "m_1001", "allowed_currencies": ["USD"], "country": "US"}
    draws = [traffic.transaction(rng, merchant)["channel"] for _ in range(4_000)]
    share = draws.count("ecommerce") / len(draws)
    assert share == pytest.approx(assumptions.ECOMMERCE_SHARE, abs=0.03)


def test_card_present_transactions_write_no_ip_counter(prod: model.Deployment) -> None:
    w = workload.workload(prod, CPU, {}, discovery.Declared())
    counter = model.write_units(assumptions.assumption("counter_bytes"), transactional=False)
    merchant = model.write_units(assumptions.assumption("merchant_counter_bytes"), False)
    card_and_ip = (1 + assumptions.ECOMMERCE_SHARE) * counter
    # a fraud report (ADR 0013) writes the card item and the merchant's risk item, 1 WU each
    reports = assumptions.assumption("fraud_report_share") * 2
    assert w.tables["velocity"].wru == pytest.approx(
        card_and_ip + merchant / prod.fraud_batch_size + reports
    )


@pytest.fixture(scope="module")
def prod_bill(prod: model.Deployment, prod_system: dict[str, LayerRun]) -> bill.Bill:
    return bill.Bill(prod, CPU, {}, discovery.declared(prod_system))


def test_the_break_even_volume_is_where_the_cost_crosses_a_goal(prod_bill: bill.Bill) -> None:
    # GIVEN a goal prod's bill meets from 30 M a day (the API's tiers fall with the volume)
    goal = prod_bill.per_million(30e6)
    # WHEN the volume is bisected THEN it is where the cost crosses that goal
    volume = prod_bill.break_even(goal)
    assert volume is not None
    assert prod_bill.per_million(volume) <= goal
    assert prod_bill.per_million(volume * 0.99) > goal
    assert volume == pytest.approx(30e6, rel=0.002)
    # a slower month pays the API's first tier over fewer transactions
    assert prod_bill.per_million(10e6) > prod_bill.per_million(volume)
    assert [v for v, _ in prod_bill.by_volume()] == list(bill.VOLUMES_PER_DAY)


def test_a_goal_not_met_at_the_highest_volume_has_no_break_even(prod_bill: bill.Bill) -> None:
    cheapest = prod_bill.per_million(max(bill.VOLUMES_PER_DAY))
    assert prod_bill.break_even(cheapest * 0.99) is None
    assert prod_bill.break_even(cheapest) is not None


def test_the_cpu_figures_come_from_either_benchmark_file(tmp_path) -> None:
    import json

    results = {
        "validator": {"us_per_txn_cpu": 61.0},
        "fraud_detector": {"us_per_txn_cpu": 70.0},
    }
    bench = tmp_path / "bench.json"  # nox -s bench
    bench.write_text(json.dumps({"handler_cpu": {"results": results}, "local_e2e": {}}))
    alone = tmp_path / "handler_cost.json"  # python -m txn_perf.bench.handler_cost
    alone.write_text(json.dumps({"results": results}))
    for path in (bench, alone):
        cpu, source = workload.measured_cpu(path)
        assert cpu == {"validator": 61.0, "fraud_detector": 70.0}
        assert source.endswith(path.name)


def test_without_a_benchmark_file_the_handlers_are_measured_now(tmp_path) -> None:
    cpu, source = workload.measured_cpu(tmp_path / "no-bench.json")

    assert source.startswith("measured now")
    assert cpu["validator"] > 0
    assert cpu["fraud_detector"] > 0

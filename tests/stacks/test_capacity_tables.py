"""The capacity model reads the tables' billing mode and auto scaling bounds from what the data
layer declares: prod's queue-fed tables are provisioned, hold the capacity goal at their maxima
and cost less per million; dev stays on-demand; the sparse index is priced at its share."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.stacks.test_data import prod_config
from txn_infra.offline import LayerRun
from txn_perf import assumptions, discovery, goals, model, pricing, report, workload
from txn_spec import shapes

CPU = {"validator": 50.0, "fraud_detector": 60.0}
REVIEW = f"transactions {shapes.REVIEW_INDEX.name}"


@pytest.fixture(scope="module")
def prod_capacity(prod_system: dict[str, LayerRun]) -> dict[str, model.Provisioned]:
    return discovery.declared_capacity(prod_system)


@pytest.fixture(scope="module")
def prod_workload(
    prod_system: dict[str, LayerRun], prod_capacity: dict[str, model.Provisioned]
) -> tuple[model.Deployment, model.Workload]:
    d = discovery.deployment("prod", prod_system)
    warm = discovery.warm_write_units(prod_system)
    declared = discovery.declared(prod_system)
    return d, workload.workload(d, CPU, warm, declared, provisioned=prod_capacity)


def test_dev_declares_no_provisioned_table(system: dict[str, LayerRun]) -> None:
    assert discovery.declared_capacity(system) == {}


def test_prod_declares_the_queue_fed_tables_and_the_index_with_the_configured_bounds(
    prod_capacity: dict[str, model.Provisioned],
) -> None:
    cfg = prod_config()
    assert set(prod_capacity) == {"transactions", REVIEW, "velocity"}
    tx = cfg.capacity(shapes.TRANSACTIONS_TABLE)
    assert tx is not None
    assert (prod_capacity["transactions"].min_wcu, prod_capacity["transactions"].max_wcu) == (
        tx.write.min,
        tx.write.max,
    )
    assert (prod_capacity[REVIEW].min_rcu, prod_capacity[REVIEW].max_rcu) == (
        tx.index_read.min,
        tx.index_read.max,
    )
    share = assumptions.assumption("provisioned_utilization_of_target")
    for p in prod_capacity.values():
        assert p.write_utilization == pytest.approx(0.70 * share)
        assert p.read_utilization == pytest.approx(0.70 * share)


def test_prod_tables_hold_the_capacity_goal_and_the_api_stays_the_bottleneck(
    prod_workload: tuple[model.Deployment, model.Workload],
) -> None:
    d, w = prod_workload
    comps = model.capacity(d, w)
    dynamodb = [c for c in comps if c.name.startswith("DynamoDB")]
    assert all(c.max_tps >= goals.CAPACITY_GOAL_TPS for c in dynamodb), dynamodb
    assert model.bottleneck(comps).name == "API Gateway"
    by_name = {c.name: c for c in comps}
    assert "auto scaling max" in by_name["DynamoDB velocity writes"].basis
    assert "new-table default" in by_name["DynamoDB idempotency writes"].basis  # on-demand


def test_the_sparse_index_is_written_for_the_flagged_and_failed_share_only(
    prod_workload: tuple[model.Deployment, model.Workload],
) -> None:
    _, w = prod_workload
    index = w.tables[shapes.REVIEW_INDEX.name]
    assert index.wru == pytest.approx(assumptions.review_share())
    assert 0.02 < assumptions.review_share() < 0.03
    assert index.wru < w.tables["transactions"].wru / 40


def test_provisioning_cuts_the_dynamodb_cost_and_only_the_queue_fed_lines(
    prod_workload: tuple[model.Deployment, model.Workload],
) -> None:
    d, provisioned = prod_workload
    on_demand = replace(
        provisioned,
        tables={k: replace(v, provisioned=None) for k, v in provisioned.tables.items()},
    )
    before = pricing.costs(d, on_demand, goals.TARGET_TPS)
    after = pricing.costs(d, provisioned, goals.TARGET_TPS)
    assert after.by_service()["DynamoDB"] < 0.6 * before.by_service()["DynamoDB"]
    lines = {x.item: x.amount for x in after.variable if x.service == "DynamoDB"}
    assert lines["idempotency write units"] == pytest.approx(
        {x.item: x.amount for x in before.variable}["idempotency write units"]
    )
    assert {k for k in lines if k.endswith("capacity")} == {
        "transactions write capacity",
        "transactions read capacity",
        "review-by-merchant write capacity",
        "velocity write capacity",
        "velocity read capacity",
    }
    non_dynamodb = [x for x in after.variable if x.service != "DynamoDB"]
    assert non_dynamodb == [x for x in before.variable if x.service != "DynamoDB"]


def test_the_report_prints_the_utilization_assumption_and_the_floor() -> None:
    text, data = report.report("prod", bench=None)
    assert "average utilization (assumption provisioned_utilization_of_target" in text
    assert "auto scaling minimums cost $" in text
    assert data["provisioned_floor_monthly"] > 0
    assert set(data["provisioned"]) == {"transactions", REVIEW, "velocity"}

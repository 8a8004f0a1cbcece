"""The capacity model reads the tables from what the data layer declares: prod's tables are
on-demand, hold the capacity goal at their warm throughput and are priced per request unit; the
sparse index is priced at its share."""

from __future__ import annotations

import pytest

from txn_infra import config
from txn_infra.offline import LayerRun
from txn_perf import assumptions, discovery, goals, model, pricing, report, workload
from txn_perf.prices import price, quota
from txn_spec import shapes

CPU = {"validator": 50.0, "fraud_detector": 60.0}


@pytest.fixture(scope="module")
def prod_workload(prod_system: dict[str, LayerRun]) -> tuple[model.Deployment, model.Workload]:
    d = discovery.deployment("prod", prod_system)
    warm = discovery.warm_write_units(prod_system)
    declared = discovery.declared(prod_system)
    return d, workload.workload(d, CPU, warm, declared)


def test_prod_holds_the_capacity_goal_but_for_lambdas_request_rate_at_default_concurrency(
    prod_workload: tuple[model.Deployment, model.Workload],
) -> None:
    d, w = prod_workload
    comps = model.capacity(d, w)
    dynamodb = [c for c in comps if c.name.startswith("DynamoDB")]
    assert all(c.max_tps >= goals.CAPACITY_GOAL_TPS for c in dynamodb), dynamodb
    # Lambda takes 10 invocations a second per unit of account concurrency, every function
    # together: at the default 1,000, the validator's and the fraud detector's invocations bind
    # below the goal, and the account quota must be raised (the report says to what)
    first, then = sorted(comps, key=lambda c: c.max_tps)[:2]
    assert first.name == model.LAMBDA_REQUESTS
    assert first.max_tps < goals.CAPACITY_GOAL_TPS
    assert first.max_tps == pytest.approx(10 * 1_000 / (w.requests_per_accepted + 1 / 10))
    assert then.name == "API Gateway"
    assert then.max_tps >= goals.CAPACITY_GOAL_TPS
    by_name = {c.name: c for c in comps}
    assert "WRU/s warm" in by_name["DynamoDB velocity writes"].basis  # pre-warmed
    assert "WRU/s warm" in by_name["DynamoDB idempotency writes"].basis  # past 8,000 TPS
    # AND each table's warm throughput (or a new table's or index's) covers what it takes at the
    # bottleneck's rate
    for table, need in model.warm_needed(w, model.bottleneck(comps).max_tps).items():
        assert (w.tables[table].warm_wru or quota("dynamodb_new_table_wru")) >= need, table


def test_the_sparse_index_is_written_for_the_flagged_and_failed_share_only(
    prod_workload: tuple[model.Deployment, model.Workload],
) -> None:
    _, w = prod_workload
    index = w.tables[shapes.REVIEW_INDEX.name]
    assert index.wru == pytest.approx(assumptions.review_share())
    assert 0.02 < assumptions.review_share() < 0.03
    assert index.wru < w.tables["transactions"].wru / 40


def test_every_prod_table_is_priced_per_request_unit_at_the_on_demand_price(
    prod_workload: tuple[model.Deployment, model.Workload],
) -> None:
    # GIVEN prod's workload WHEN it is priced at the reference rate
    d, w = prod_workload
    c = pricing.costs(d, w, goals.TARGET_TPS)
    lines = {x.item: x for x in c.variable if x.service == "DynamoDB"}
    # THEN every DynamoDB line is request units, reads and writes, each at its on-demand price
    assert set(lines) == {
        "transactions write units",
        "transactions read units",
        "review-by-merchant write units",
        "velocity write units",
        "velocity read units",
        "idempotency write units",
    }
    for table, load in w.tables.items():
        if load.wru:
            assert lines[f"{table} write units"].unit_price == price("dynamodb_wru")
            assert lines[f"{table} write units"].quantity == load.wru
        if load.rru:
            assert lines[f"{table} read units"].unit_price == price("dynamodb_rru")
            assert lines[f"{table} read units"].quantity == load.rru
    # AND nothing DynamoDB is billed by the month
    assert [x for x in c.fixed if x.service == "DynamoDB" or "DynamoDB" in x.item] == []


def test_the_report_prices_prod_tables_per_request_and_says_whether_the_goal_is_met() -> None:
    text, data = report.report("prod", bench=None)
    dynamodb = [x["item"] for x in data["cost_lines"] if x["service"] == "DynamoDB"]
    assert dynamodb
    assert all(item.endswith(("write units", "read units")) for item in dynamodb)
    assert "provisioned" not in text.lower()
    verdict = "met" if data["cost_goal_met"] else "NOT met"
    assert f"(goal <= {goals.COST_GOAL_PER_MILLION:.2f}: {verdict})" in text


def test_custom_metrics_are_priced_with_one_flagged_by_rule_series_per_rule(
    prod_workload: tuple[model.Deployment, model.Workload],
) -> None:
    from txn_domain.rules import load_default_rules

    d, _ = prod_workload
    rules = len(load_default_rules().rules)
    assert rules >= 30  # the shipped document, not an empty one
    besides = assumptions.assumption("custom_metrics_besides_rules")
    # edge's count of the requests refused 429 (ADR 0025): per refusal type (THROTTLED,
    # QUOTA_EXCEEDED), and per key (prod's, and "-" before a key is matched) and type
    keys = len(discovery.layer_config("edge", "prod", config.EdgeConfig).api_keys)
    assert d.custom_metrics == besides + rules + 2 + (keys + 1) * 2


def test_detailed_api_metrics_are_priced_per_method(
    prod_workload: tuple[model.Deployment, model.Workload], prod_system: dict
) -> None:
    # GIVEN the stage's method settings turn detailed metrics on for both POST routes
    d, w = prod_workload
    methods = prod_system["edge"].of_type("aws:apigateway/method:Method")
    assert len(methods) == len(shapes.API_PATHS)
    per_method = assumptions.assumption("api_metrics_per_method")
    assert d.api_detailed_metrics == len(methods) * per_method
    # THEN the fixed bill has a line for them at the custom-metric price
    lines = {line.item: line for line in pricing.costs(d, w, 1000.0).fixed}
    line = lines["API Gateway detailed (per-method) metrics"]
    assert line.amount == d.api_detailed_metrics * price("cw_custom_metric_month")

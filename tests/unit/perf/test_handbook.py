"""The reference simulator's shape (``--handbook``): its scenarios as the book describes them,
and the command that replays it. What the rules catch on it: docs/fraud-eval.md."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from txn_domain.pan import contains_pan
from txn_perf.fraud_eval import evaluate_traffic, handbook
from txn_perf.fraud_eval.world import DAY

# small, with compromises frequent enough that every scenario happens in a month
SMALL = replace(
    handbook.HandbookParams(customers=300, terminals=600, days=30),
    terminals_compromised_per_day=0.004,
    customers_compromised_per_day=0.01,
)


@pytest.fixture(scope="module")
def traffic():
    return handbook.generate(SMALL, seed=5)


def test_given_a_seed_then_the_traffic_is_the_same(traffic):
    again = handbook.generate(SMALL, seed=5)
    assert [(e.at, e.body, e.pattern) for e in again.events] == [
        (e.at, e.body, e.pattern) for e in traffic.events
    ]
    assert handbook.generate(SMALL, seed=6).events != traffic.events


def test_each_scenario_labels_its_sales(traffic):
    labels = {e.pattern for e in traffic.events}
    assert labels == {"legit", "large_amount", "compromised_terminal", "compromised_card"}
    # scenario 1: every amount over 220 is fraud, so no legitimate sale is above it
    assert max(e.body["amount"] for e in traffic.events if e.pattern == "legit") <= 22_000
    assert all(e.body["amount"] > 22_000 for e in traffic.events if e.pattern == "large_amount")
    # scenario 2: every sale at a compromised terminal, regulars included, while compromised
    # (a later scenario 3 may relabel one of them)
    for terminal in {
        e.body["terminal_id"] for e in traffic.events if e.pattern == "compromised_terminal"
    }:
        at_it = [e for e in traffic.events if e.body["terminal_id"] == terminal]
        hit = [i for i, e in enumerate(at_it) if e.pattern == "compromised_terminal"]
        assert {e.pattern for e in at_it[hit[0] : hit[-1] + 1]} <= {
            "compromised_terminal",
            "compromised_card",
        }


def sales_of(customers: int, terminals: int, days: int) -> list:
    """One sale of 10.00 a day per customer, customer c at terminal c % terminals."""
    return [
        handbook._Sale(c, c % terminals, d, 0, 10.0) for c in range(customers) for d in range(days)
    ]


def test_a_compromised_terminal_makes_every_sale_there_fraud_for_28_days():
    # one compromise, on day 0 (the labelling's days; the sales run 30)
    p = replace(SMALL, customers=2, terminals=2, days=1, customers_compromised_per_day=0.0)
    p = replace(p, terminals_compromised_per_day=0.5)  # 2 x 0.5: exactly one a day
    sales = sales_of(2, 2, 30)
    handbook._label(p, random.Random(1), sales)
    hit = {s.terminal for s in sales if s.label == "compromised_terminal"}
    assert len(hit) == 1
    for s in sales:
        fraud = s.terminal in hit and s.day < 28
        assert s.label == ("compromised_terminal" if fraud else "legit")


def test_a_third_of_the_days_leaked_cards_sales_pooled_are_fraud_at_five_times_the_amount():
    # both customers leak on day 0: 2 x 14 sales in their window, pooled, a third of them
    # (9, where each card's third apart would give 4 + 4)
    p = replace(SMALL, customers=2, terminals=2, days=1, terminals_compromised_per_day=0.0)
    p = replace(p, customers_compromised_per_day=1.0)
    sales = sales_of(2, 2, 20)
    handbook._label(p, random.Random(1), sales)
    leaked = [s for s in sales if s.label == "compromised_card"]
    assert len(leaked) == 9
    assert all(s.day < 14 and s.amount == 50.0 for s in leaked)
    assert all(s.amount == 10.0 for s in sales if s.label == "legit")


def test_every_fraud_is_known_a_week_later_and_nothing_else(traffic):
    fraud = {e.transaction_id: e.at for e in traffic.events if e.pattern != "legit"}
    assert sorted(txn for _, txn, _ in traffic.feedback) == sorted(fraud)
    assert all(at - fraud[txn] == 7 * DAY for at, txn, _ in traffic.feedback)


def test_every_sale_is_card_present_at_its_terminal_and_holds_no_card_number(traffic):
    merchants = {m["merchant_id"] for m in traffic.merchants}
    for e in traffic.events[:2000]:
        assert e.body["channel"] == "card_present"
        assert e.body["merchant_id"] in merchants
        assert e.body["merchant_id"].removeprefix("m_hb") == e.body["terminal_id"].removeprefix("t")
        assert 50.6 <= e.body["geo"]["lat"] <= 51.1
        assert not contains_pan(json.dumps(e.body))
    assert all(a.at <= b.at for a, b in zip(traffic.events, traffic.events[1:], strict=False))


def test_the_report_measures_each_scenario_and_the_terminal_after_its_feedback(traffic):
    built, text, _ = evaluate_traffic(traffic)
    assert built["source"] == "handbook seed 5"
    for label in ("large_amount", "compromised_terminal", "compromised_card"):
        assert built["recall"][label]["transactions"] == sum(
            e.pattern == label for e in traffic.events
        )
        assert label in text
    # a terminal's sales after its first fraud became known (7 days in)
    after = built["recall"]["compromised_terminal_after_feedback"]["transactions"]
    assert 0 < after < built["recall"]["compromised_terminal"]["transactions"]
    assert built["targets"]["compromised_terminal_after_feedback"]["value"] is not None


def test_the_default_rules_do_not_take_a_card_that_shops_widely_for_a_spree(traffic):
    # every customer here buys at random among ~78 terminals: with rules 2026-12-07.5 the spree
    # rules flagged 8.5% of this traffic's honest sales (9.4% at full size); ADR 0026
    built, _, _ = evaluate_traffic(traffic)
    assert built["fpr"] < 0.03
    assert built["rules"]["new-places-spree"]["legit"] < 0.02 * sum(
        e.pattern == "legit" for e in traffic.events
    )


def test_the_command_replays_it_and_refuses_the_projects_own_shaping(tmp_path, capsys):
    from txn_perf.fraud_eval.__main__ import main

    tiny = ["--cards", "40", "--days", "8", "--out", str(tmp_path)]
    assert main(["--handbook", "--seed", "3", "--save-traffic", *tiny]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "report-handbook-3.json",
        "scores-handbook-3.png",
        "traffic-handbook-3.jsonl",
    ]
    report = json.loads((tmp_path / "report-handbook-3.json").read_text())
    # --cards customers, twice as many terminals (one merchant each)
    same = handbook.generate(handbook.HandbookParams(customers=40, terminals=80, days=8), 3)
    assert report["source"] == "handbook seed 3"
    assert (report["cards"], report["merchants"]) == (
        len({e.body["card_token"] for e in same.events}),
        80,
    )
    assert report["transactions"] == len(same.events)
    assert "recall" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main(["--handbook", "--alt", *tiny])
    assert refused.value.code == 2
    assert "--handbook has its own shape; these do not apply: --alt" in capsys.readouterr().err

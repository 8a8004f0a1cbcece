"""Confirmed-fraud reports (ADR 0013): the decaying risk, counted once, late arrival, an unknown
transaction, and the report path of the real pipeline on the in-memory DynamoDB of the fraud
evaluation (DynamoDB's per-statement semantics, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from fraud_detector.pipeline import FraudPipeline
from txn_adapters.aws import to_item
from txn_domain.feedback import ReportedSale, plan
from txn_domain.fraud import epoch_seconds
from txn_domain.risk import HALF_LIFE_S, MAX_TERMINALS, OWN, Risk, decay
from txn_domain.velocity import Counter, card_key, guard_digest, risk_key
from txn_perf.fraud_eval.memdb import MemoryAws
from txn_perf.fraud_eval.replay import memory_pipeline
from txn_spec.shapes import FRAUD_REPORT_KIND, MESSAGE_KIND_ATTRIBUTE

DAY = 86_400
SALE = "2026-11-30T12:00:00.000Z"
T_SALE = epoch_seconds(SALE)
TXN = "01JDZZZZZZZZZZZZZZZZZZ0001"


# --- the risk ----------------------------------------------------------------------------------


def test_given_a_report_at_the_sale_time_then_the_score_is_one_and_halves_each_half_life():
    risk = Risk().add((OWN,), T_SALE, T_SALE, "d1", 8)
    assert risk.score(OWN, T_SALE) == pytest.approx(1.0)
    assert risk.score(OWN, T_SALE + HALF_LIFE_S) == pytest.approx(0.5)
    assert risk.score(OWN, T_SALE + 3 * HALF_LIFE_S) == pytest.approx(0.125)


def test_given_a_late_report_then_it_counts_from_when_the_fraud_happened():
    # confirmed a week (one half-life) after the sale: half a fraud today, as if on time
    late = Risk().add((OWN,), T_SALE, T_SALE + HALF_LIFE_S, "d1", 8)
    on_time = Risk().add((OWN,), T_SALE, T_SALE, "d1", 8)
    now = T_SALE + HALF_LIFE_S
    assert late.score(OWN, now) == pytest.approx(0.5)
    assert late.score(OWN, now) == pytest.approx(on_time.score(OWN, now))


def test_given_reports_in_any_order_then_the_score_is_the_same():
    a, b = T_SALE, T_SALE + 2 * DAY
    now = T_SALE + 9 * DAY
    one = Risk().add((OWN,), a, now - DAY, "da", 8).add((OWN,), b, now, "db", 8)
    other = Risk().add((OWN,), b, now - DAY, "db", 8).add((OWN,), a, now, "da", 8)
    assert one.score(OWN, now + DAY) == pytest.approx(other.score(OWN, now + DAY), rel=1e-3)


def test_given_a_risk_then_its_text_parses_back_to_the_same_scores():
    risk = Risk().add((OWN, "T-7"), T_SALE - DAY, T_SALE, "abcdEF+/", 32)
    again = Risk.parse(risk.text())
    assert again.reported == ("abcdEF+/",)
    for name in (OWN, "T-7"):
        assert again.score(name, T_SALE) == pytest.approx(risk.score(name, T_SALE), abs=1e-4)
    assert again.score("T-8", T_SALE) == 0.0


def test_given_many_terminals_then_the_item_keeps_the_riskiest_and_stays_small():
    risk = Risk()
    for i in range(MAX_TERMINALS + 10):
        risk = risk.add((OWN, f"T-{i:02d}"), T_SALE + i, T_SALE + i, f"d{i:06d}", 32)
    terminals = [name for name, _ in risk.scores if name != OWN]
    assert len(terminals) == MAX_TERMINALS
    assert "T-25" in terminals
    assert "T-00" not in terminals
    assert len(risk.text()) < 700


# --- what a report changes ---------------------------------------------------------------------


def sale(terminal: str | None = "T-1") -> ReportedSale:
    return ReportedSale(TXN, "tok_9f8e7d", "m_1001", terminal, T_SALE)


def items(card_exists: bool = True) -> tuple[Counter, Counter]:
    card = Counter(key=card_key("tok_9f8e7d"), exists=card_exists)
    return card, Counter(key=risk_key("m_1001"))


def test_given_a_report_then_card_merchant_and_terminal_each_gain_one_fraud():
    card, risk = items()
    planned = plan(sale(), card, risk, T_SALE)
    assert planned[card.key].score(OWN, T_SALE) == pytest.approx(1.0)
    assert planned[risk.key].score(OWN, T_SALE) == pytest.approx(1.0)
    assert planned[risk.key].score("T-1", T_SALE) == pytest.approx(1.0)


def test_given_an_online_sale_then_no_terminal_is_raised():
    card, risk = items()
    planned = plan(sale(terminal=None), card, risk, T_SALE)
    assert [name for name, _ in planned[risk.key].scores] == [OWN]


def test_given_the_card_counted_the_report_then_it_is_a_duplicate_whatever_the_merchant_item():
    card, risk = items()
    card.risk = plan(sale(), card, risk, T_SALE)[card.key]
    # the merchant's item forgot it long ago (it keeps only the recent reports)
    assert plan(sale(), card, Counter(key=risk.key), T_SALE + 30 * DAY) == {}


def test_given_the_card_item_is_gone_then_only_the_merchant_item_is_raised():
    card, risk = items(card_exists=False)
    assert set(plan(sale(), card, risk, T_SALE)) == {risk.key}


# --- the report path of the pipeline -----------------------------------------------------------


MERCHANT = {
    "merchant_id": "m_1001",
    "active": True,
    "allowed_currencies": ["USD"],
    "per_transaction_limit": 5000,
    "daily_limit": 200000,
    "mcc": "5942",
    "country": "US",
}


def report_record(transaction_id: str = TXN, message_id: str = "m-1") -> dict[str, Any]:
    body = {
        "transaction_id": transaction_id,
        "kind": "chargeback",
        "reported_at": "2026-12-04T09:00:00Z",
        "received_at": "2026-12-04T09:00:00.000Z",
        "schema_version": "1",
    }
    return {
        "messageId": message_id,
        "body": json.dumps(body),
        "messageAttributes": {
            MESSAGE_KIND_ATTRIBUTE: {"stringValue": FRAUD_REPORT_KIND, "dataType": "String"}
        },
    }


def transaction_record(transaction_id: str = TXN, terminal: str = "T-1") -> dict[str, Any]:
    body = {
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card_token": "tok_9f8e7d",
        "card_bin": "411111",
        "card_last4": "1111",
        "channel": "card_present",
        "terminal_id": terminal,
        "geo": {"lat": 40.71, "lon": -74.0},
        "timestamp": SALE,
        "transaction_id": transaction_id,
        "received_at": SALE,
    }
    return {"messageId": f"t-{transaction_id}", "body": json.dumps(body)}


@pytest.fixture
def world() -> tuple[MemoryAws, FraudPipeline, list[float]]:
    aws = MemoryAws([to_item(MERCHANT)])
    clock = [float(T_SALE)]
    pipeline = memory_pipeline(aws, clock)
    assert pipeline.process([transaction_record()]).failures == {}
    clock[0] = T_SALE + 4 * DAY  # the chargeback arrives days later
    return aws, pipeline, clock


def risk_of(aws: MemoryAws, key: str) -> Risk:
    return Risk.parse(aws.tables["velocity"][(key, "v")]["rk"]["S"])


def test_given_a_report_then_the_stored_items_hold_the_decayed_fraud(world):
    aws, pipeline, clock = world
    result = pipeline.process([report_record()])

    assert result.failures == {}
    assert result.reports == {"counted": 1}
    now = int(clock[0])
    # one fraud, four days of decay: counted from the sale, not from the report
    expected = decay(4 * DAY)
    assert risk_of(aws, risk_key("m_1001")).score("T-1", now) == pytest.approx(expected, 1e-3)
    assert risk_of(aws, risk_key("m_1001")).score(OWN, now) == pytest.approx(expected, 1e-3)
    assert risk_of(aws, card_key("tok_9f8e7d")).score(OWN, now) == pytest.approx(expected, 1e-3)


def test_given_the_report_redelivered_or_sent_again_later_then_it_counts_once(world):
    aws, pipeline, clock = world
    pipeline.process([report_record()])
    first = aws.tables["velocity"][(risk_key("m_1001"), "v")]["rk"]["S"]

    assert pipeline.process([report_record(message_id="m-2")]).reports == {"duplicate": 1}
    clock[0] += 20 * DAY
    assert pipeline.process([report_record(message_id="m-3")]).reports == {"duplicate": 1}
    assert aws.tables["velocity"][(risk_key("m_1001"), "v")]["rk"]["S"] == first


def test_given_the_same_report_twice_in_one_batch_then_it_counts_once(world):
    aws, pipeline, _clock = world
    result = pipeline.process([report_record(), report_record(message_id="m-2")])
    assert result.failures == {}
    assert result.reports == {"counted": 1}
    assert len(risk_of(aws, risk_key("m_1001")).reported) == 1


def test_given_an_unknown_transaction_then_the_report_is_acknowledged_with_its_code(world):
    aws, pipeline, _ = world
    before = dict(aws.tables["velocity"])
    result = pipeline.process([report_record(transaction_id="01JDZZZZZZZZZZZZZZZZZZ9999")])
    assert result.failures == {}  # not retried: nothing will ever make it known
    assert result.reports == {"transaction_unknown": 1}
    assert aws.tables["velocity"] == before


def test_given_a_report_racing_another_then_both_are_counted(world):
    aws, pipeline, clock = world
    second = "01JDZZZZZZZZZZZZZZZZZZ0002"
    clock[0] = T_SALE + 60
    pipeline.process([transaction_record(second)])
    clock[0] = T_SALE + 4 * DAY
    velocity = pipeline._velocity
    real_execute = velocity.execute
    raced = []

    def execute_after_a_concurrent_report(statements):
        if not raced:  # another container counts the second report between read and write
            raced.append(True)
            assert pipeline.process([report_record(second, message_id="m-9")]).failures == {}
        return real_execute(statements)

    velocity.execute = execute_after_a_concurrent_report  # type: ignore[method-assign]
    result = pipeline.process([report_record()])

    assert result.failures == {}
    risk = risk_of(aws, risk_key("m_1001"))
    assert set(risk.reported) == {guard_digest(TXN), guard_digest(second)}
    assert risk.score("T-1", int(clock[0])) == pytest.approx(2 * decay(4 * DAY), rel=1e-3)


def test_given_reports_then_a_new_card_at_that_terminal_scores_the_terminal_rule(world):
    _aws, pipeline, clock = world
    # five sales at terminal T-1 reported (the first is the fixture's): 5 x 0.67 after 4 days
    others = [f"01JDZZZZZZZZZZZZZZZZZZ000{i}" for i in range(2, 6)]
    pipeline.process([transaction_record(t) for t in others])
    reports = [report_record(t, message_id=f"m-{t}") for t in (TXN, *others)]
    assert pipeline.process(reports).reports == {"counted": 5}

    # a stranger's card, seasoned elsewhere, at the reported terminal
    base = json.loads(transaction_record("01JDZZZZZZZZZZZZZZZZZZ0100", terminal="T-9")["body"])
    for i, day in enumerate((-3, -2, -1)):
        clock[0] = T_SALE + 4 * DAY + day * DAY
        stamp = _stamp(clock[0])
        seasoned = {
            **base,
            "card_token": "tok_stranger",
            "transaction_id": f"01JDZZZZZZZZZZZZZZZZZZ020{i}",
            "timestamp": stamp,
            "received_at": stamp,
        }
        pipeline.process([{"messageId": f"s{i}", "body": json.dumps(seasoned)}])
    clock[0] = T_SALE + 4 * DAY + 60
    stamp = _stamp(clock[0])
    at_terminal = {
        **base,
        "card_token": "tok_stranger",
        "terminal_id": "T-1",
        "transaction_id": "01JDZZZZZZZZZZZZZZZZZZ0300",
        "timestamp": stamp,
        "received_at": stamp,
    }
    result = pipeline.process([{"messageId": "x", "body": json.dumps(at_terminal)}])
    (decided,) = result.decided
    assert "terminal-confirmed-fraud" in decided.decision.matched_rules


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

"""Every rule in the default document, firing and not firing, through the real pure path."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from txn_domain.fraud import assess, counter_keys
from txn_domain.models import Status
from txn_domain.rules.engine import RulesDocumentError, compile_rules
from txn_domain.velocity import Counter, card_key, ip_key, merchant_keys

T0 = datetime(2026, 11, 30, 12, 0, 0)


def at(**delta) -> str:
    return (T0 + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def preload(key: str, n: int, amount: int, small: bool, now: str) -> dict[str, Counter]:
    counter = Counter(key=key)
    ts = int(datetime.fromisoformat(now).timestamp())
    for _ in range(n):
        counter.add(ts, amount, small, None)
    counter.added.clear()  # already stored: nothing pending to write
    return {key: counter}


# rule id -> (firing scenario, quiet scenario); a scenario is a dict with
# "txns": [(received_at, overrides)], optional "merchant" kwargs and "counters" preload.
def one(**kw):
    return {"txns": [(at(), kw)]}


def repeat(n, step, **kw):
    return {"txns": [(at(**{k: v * i for k, v in step.items()}), kw) for i in range(n)]}


MERCHANT_SHARD0 = merchant_keys("m_1001")[0]
SCENARIOS = {
    "blocklist-bin": (one(card_bin="400000"), one()),
    "blocklist-card-token": (one(card_token="tok_stolen_0001"), one()),
    "blocklist-ip": (one(ip_address="198.51.100.66"), one()),
    "blocklist-country": (one(ip_country="IR", card_country="IR"), one()),
    "amount-global-max": (one(amount=1_000_000), one(amount=999_999)),
    "amount-near-merchant-limit": (one(amount=450_000), one(amount=449_999)),
    "merchant-daily-limit": (
        {"txns": [(at(), {"amount": 10_001})], "merchant": {"daily_limit": 100}},
        {"txns": [(at(), {"amount": 10_000})], "merchant": {"daily_limit": 100}},
    ),
    "card-count-1m": (repeat(4, {"seconds": 10}), repeat(3, {"seconds": 10})),
    "card-count-1h": (repeat(10, {"minutes": 5}), repeat(9, {"minutes": 5})),
    "card-count-24h": (repeat(25, {"minutes": 55}), repeat(24, {"minutes": 55})),
    "card-sum-1h": (
        repeat(2, {"minutes": 10}, amount=250_000),
        repeat(2, {"minutes": 10}, amount=249_999),
    ),
    "card-sum-24h": (
        repeat(5, {"hours": 2}, amount=400_000),
        repeat(5, {"hours": 2}, amount=399_999),
    ),
    "merchant-count-1m": (
        {"txns": [(at(), {})], "counters": (MERCHANT_SHARD0, 1199, 1999, False)},
        {"txns": [(at(), {})], "counters": (MERCHANT_SHARD0, 1198, 1999, False)},
    ),
    "ip-count-1h": (
        {"txns": [(at(), {})], "counters": (ip_key("203.0.113.7"), 19, 1999, False)},
        {"txns": [(at(), {})], "counters": (ip_key("203.0.113.7"), 18, 1999, False)},
    ),
    "ip-count-24h": (
        {"txns": [(at(), {})], "counters": (ip_key("203.0.113.7"), 99, 1999, False)},
        {"txns": [(at(), {})], "counters": (ip_key("203.0.113.7"), 98, 1999, False)},
    ),
    "card-testing-card": (
        repeat(3, {"minutes": 2}, amount=100),
        {
            "txns": [
                (at(), {"amount": 100}),
                (at(minutes=2), {"amount": 100}),
                (at(minutes=4), {"amount": 900}),
            ]
        },
    ),
    "card-testing-merchant": (
        {"txns": [(at(), {"amount": 150})], "counters": (MERCHANT_SHARD0, 29, 150, True)},
        {"txns": [(at(), {"amount": 150})], "counters": (MERCHANT_SHARD0, 28, 150, True)},
    ),
    "country-card-ip": (one(card_country="US", ip_country="CA"), one()),
    "country-cross-border": (
        one(card_country="GB", ip_country="GB"),
        one(card_country="GB", ip_country="US"),
    ),
    "billing-shipping-mismatch": (one(shipping_country="FR"), one()),
    "impossible-travel": (
        {"txns": [(at(), {}), (at(minutes=30), {"geo": {"lat": 51.5, "lon": -0.12}})]},
        {"txns": [(at(), {}), (at(hours=9), {"geo": {"lat": 51.5, "lon": -0.12}})]},
    ),
    "high-risk-mcc": ({**one(), "merchant": {"mcc": "7995"}}, one()),
    "merchant-high-risk": ({**one(), "merchant": {"risk_overrides": {"high_risk": True}}}, one()),
    "unusual-amount": (
        {
            "txns": [
                *[(at(hours=i), {"amount": 1000}) for i in range(5)],
                (at(hours=6), {"amount": 5000}),
            ]
        },
        {
            "txns": [
                *[(at(hours=i), {"amount": 1000}) for i in range(5)],
                (at(hours=6), {"amount": 4999}),
            ]
        },
    ),
}


def run(scenario, rules, make_txn, make_merchant):
    txns = [make_txn(received_at=r, **kw) for r, kw in scenario["txns"]]
    merchant = make_merchant(**scenario.get("merchant", {}))
    counters = {}
    if "counters" in scenario:
        counters = preload(*scenario["counters"], now=scenario["txns"][0][0])
    decided = assess(txns, {merchant.merchant_id: merchant}, counters, rules, shard=0)
    return decided[-1].decision


def test_given_a_card_present_transaction_then_its_ip_is_neither_read_nor_counted(
    rules, make_txn, make_merchant
):
    # a terminal's IP: a busy shop would reach the IP limits by itself
    firing = SCENARIOS["ip-count-24h"][0]
    txn = make_txn(received_at=at(), channel="card_present", terminal_id="T-1")
    counters = preload(*firing["counters"], now=at())
    merchant = make_merchant()

    (decided,) = assess([txn], {merchant.merchant_id: merchant}, counters, rules, shard=0)

    assert "ip-count-24h" not in decided.decision.matched_rules
    assert not counters[ip_key("203.0.113.7")].added  # nothing to write to the IP item
    assert counter_keys([txn]) == [card_key(txn.card_token), *merchant_keys(txn.merchant_id)]


def test_given_a_blocklisted_ip_on_a_card_present_transaction_then_still_flagged(
    rules, make_txn, make_merchant
):
    txn = make_txn(
        received_at=at(), channel="card_present", terminal_id="T-1", ip_address="198.51.100.66"
    )
    merchant = make_merchant()
    (decided,) = assess([txn], {merchant.merchant_id: merchant}, {}, rules, shard=0)
    assert "blocklist-ip" in decided.decision.matched_rules


def test_every_rule_has_a_scenario(rules):
    assert {r.id for r in rules.rules} == set(SCENARIOS)


def test_the_document_has_at_least_fifteen_rules(rules):
    assert len(rules.rules) >= 15


@pytest.mark.parametrize("rule_id", sorted(SCENARIOS))
def test_given_the_firing_scenario_then_rule_matches(rule_id, rules, make_txn, make_merchant):
    decision = run(SCENARIOS[rule_id][0], rules, make_txn, make_merchant)
    assert rule_id in decision.matched_rules


@pytest.mark.parametrize("rule_id", sorted(SCENARIOS))
def test_given_the_quiet_scenario_then_rule_does_not_match(rule_id, rules, make_txn, make_merchant):
    decision = run(SCENARIOS[rule_id][1], rules, make_txn, make_merchant)
    assert rule_id not in decision.matched_rules


def test_given_an_ordinary_transaction_then_approved_with_zero_score(
    rules, make_txn, make_merchant
):
    decision = run(one(), rules, make_txn, make_merchant)
    assert (decision.status, decision.score, decision.matched_rules) == (Status.APPROVED, 0, ())


def test_given_a_flag_action_rule_then_flagged(rules, make_txn, make_merchant):
    assert run(one(card_bin="400000"), rules, make_txn, make_merchant).status is Status.FLAGGED


def test_given_review_rules_below_flag_score_then_approved(rules, make_txn, make_merchant):
    decision = run(one(shipping_country="FR"), rules, make_txn, make_merchant)
    assert decision.status is Status.APPROVED
    assert decision.score == 15


def test_given_merchant_lower_flag_score_then_review_rules_flag(rules, make_txn, make_merchant):
    scenario = {**one(shipping_country="FR"), "merchant": {"risk_overrides": {"flag_score": 10}}}
    assert run(scenario, rules, make_txn, make_merchant).status is Status.FLAGGED


def test_given_merchant_disables_a_rule_then_it_does_not_match(rules, make_txn, make_merchant):
    scenario = {
        **one(card_bin="400000"),
        "merchant": {"risk_overrides": {"disabled_rules": ["blocklist-bin"]}},
    }
    assert run(scenario, rules, make_txn, make_merchant).matched_rules == ()


def test_given_missing_location_fields_then_location_rules_do_not_fire(
    rules, make_txn, make_merchant
):
    scenario = one(card_country=None, ip_country=None, billing_country=None, geo=None)
    assert run(scenario, rules, make_txn, make_merchant).matched_rules == ()


@pytest.mark.parametrize(
    "document",
    [
        {
            "rules": [
                {"id": "x", "action": "block", "condition": {"kind": "truthy", "feature": "a"}}
            ]
        },
        {"rules": [{"id": "x", "action": "flag", "condition": {"kind": "nope"}}]},
        {
            "rules": [
                {
                    "id": "x",
                    "action": "flag",
                    "condition": {
                        "kind": "compare",
                        "feature": "v.card.count.2m",
                        "op": ">",
                        "value": 1,
                    },
                }
            ]
        },
        {
            "rules": [
                {
                    "id": "x",
                    "action": "flag",
                    "condition": {"kind": "compare", "feature": "a", "op": "~", "value": 1},
                }
            ]
        },
        {"rules": [{"id": "x", "action": "flag", "condition": {"kind": "compare"}}]},
    ],
)
def test_given_a_bad_rules_document_when_compiled_then_refused(document):
    with pytest.raises(RulesDocumentError):
        compile_rules({"version": "t", "flag_score": 50, "small_amount_major": 2, **document})

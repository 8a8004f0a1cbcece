"""Money in one unit (issue 17, item 3): thresholds and sums in the reference currency."""

from __future__ import annotations

import pytest

from txn_domain.currencies import EXPONENTS
from txn_domain.fraud import assess
from txn_domain.money import RatesError, build_rates, load_rates
from txn_domain.rules.engine import RulesDocumentError, compile_rules
from txn_domain.velocity import card_key


def test_the_shipped_table_converts_every_currency_to_reference_minor_units():
    rates = load_rates()
    assert rates.reference == "USD"
    assert set(rates.per_minor) == set(EXPONENTS)
    assert 5_000 < rates.to_reference_minor(10_000, "JPY") < 9_000  # 10,000 yen: $50-90
    assert rates.to_reference_minor(1_000, "KWD") > 100  # 1 dinar (3 decimals) > $1
    assert rates.to_reference_minor(1999, "USD") == 1999
    assert rates.to_reference_minor(1, "VND") == 1  # never 0 for a positive amount


def test_a_rules_document_overrides_single_rates_and_bad_ones_fail_at_compile():
    doc = {"version": "t", "flag_score": 60, "small_amount": 2, "rules": []}
    overridden = compile_rules({**doc, "rates": {"JPY": 0.01}}).rates
    assert overridden.to_reference_minor(100, "JPY") == 100
    with pytest.raises(RulesDocumentError, match="rates"):
        compile_rules({**doc, "rates": {"JPY": -1}})
    with pytest.raises(RulesDocumentError, match="reference_currency"):
        compile_rules({**doc, "reference_currency": "EUR"})
    with pytest.raises(RatesError, match="no rate"):
        build_rates({"USD": 1}, "USD")


def test_a_cards_sums_add_reference_units_never_two_currencies_minor_units(
    rules, make_txn, make_merchant
):
    merchant = make_merchant(allowed_currencies=["USD", "JPY"])
    usd = make_txn(amount=5000, currency="USD")  # $50.00
    jpy = make_txn(amount=5000, currency="JPY", received_at="2026-11-30T12:00:01.000Z")  # ~$33
    counters: dict = {}
    assess([usd, jpy], {merchant.merchant_id: merchant}, counters, rules, shard=0)
    card = counters[card_key(usd.card_token)]
    total = card.window("sum", 86400, 1_796_040_001)
    assert total == 5000 + rules.rates.to_reference_minor(5000, "JPY")
    assert total < 10_000  # not 5000 cents + 5000 yen


def test_a_small_amount_is_small_in_reference_units(rules, make_txn, make_merchant):
    merchant = make_merchant(allowed_currencies=["JPY"])
    counters: dict = {}
    assess([make_txn(amount=150, currency="JPY")], {"m_1001": merchant}, counters, rules, 0)
    card = next(c for k, c in counters.items() if k.startswith("card#"))
    assert card.added[0].small  # 150 yen is about $1: a card-testing amount

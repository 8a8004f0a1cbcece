"""A customer IP far past every threshold the rules read is no longer counted: its item stays
small (DynamoDB's 400 KB item limit, one write unit per KB) and the rules decide the same."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest

from txn_domain.fraud import assess
from txn_domain.rules.engine import DEFAULT_DOCUMENT, compile_rules
from txn_domain.rules.saturation import FACTOR, ip_caps, saturated
from txn_domain.velocity import Counter, ip_key

NOW = "2026-11-30T12:00:00.000Z"
IP = "203.0.113.7"  # the sample body's customer IP (an e-commerce sale)
IP_RULES = {"ip-count-1h": 20, "ip-count-24h": 100}  # the shipped thresholds


def document() -> dict:
    return json.loads(DEFAULT_DOCUMENT.read_text(encoding="utf-8"))


def ip_counter(sales_in_the_last_hour: int) -> Counter:
    counter = Counter(key=ip_key(IP), exists=True)
    ts = int(datetime.fromisoformat(NOW).timestamp())
    for i in range(sales_in_the_last_hour):
        counter.add(ts - 3000 + i % 2900, 1500, False, None, f"d{i:07d}")
    counter.added.clear()  # already stored
    return counter


def test_the_shipped_rules_cap_each_ip_window_at_ten_times_its_threshold(rules) -> None:
    assert rules.ip_caps == ((3600, FACTOR * 20), (86400, FACTOR * 100))


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        ({"kind": "compare", "feature": "v.ip.count.1h", "op": "<", "value": 5}, "an upper bound"),
        ({"kind": "compare", "feature": "v.ip.sum.1h", "op": ">=", "value": 5}, "a sum"),
        (
            {"kind": "ratio", "numerator": "v.ip.count.1h", "denominator": "amount", "op": ">",
             "value": 1},
            "a ratio",
        ),
        ({"kind": "truthy", "feature": "v.ip.count.10m"}, "read as a truth value"),
    ],
)  # fmt: skip
def test_an_ip_count_read_any_other_way_leaves_ip_counting_uncapped(condition, why) -> None:
    doc = copy.deepcopy(document())
    doc["rules"].append(
        {"id": "odd", "action": "review", "weight": 1, "condition": {"kind": "any", "conditions": [
            {"kind": "truthy", "feature": "lodging"}, condition]}}
    )  # fmt: skip
    assert compile_rules(doc).ip_caps is None, why


def test_rules_that_read_no_ip_count_cap_nothing() -> None:
    doc = copy.deepcopy(document())
    doc["rules"] = [r for r in doc["rules"] if r["id"] not in IP_RULES]
    caps = compile_rules(doc).ip_caps
    assert caps == ()
    assert not saturated(ip_counter(5000), caps, int(datetime.fromisoformat(NOW).timestamp()))
    assert ip_caps([]) == ()


def test_a_saturated_ip_is_not_counted_and_its_sale_is_decided_the_same(
    rules, make_txn, make_merchant
) -> None:
    merchant = make_merchant()
    counters = {ip_key(IP): ip_counter(1200)}  # past 200 in the hour and 1,000 in the day
    txn = make_txn(received_at=NOW, channel="ecommerce", ip_address=IP)

    (decided,) = assess([txn], {merchant.merchant_id: merchant}, counters, rules, shard=0)

    assert not counters[ip_key(IP)].added  # no write to the IP's item
    assert set(IP_RULES) <= set(decided.decision.matched_rules)


def test_below_its_caps_an_ip_is_counted(rules, make_txn, make_merchant) -> None:
    merchant = make_merchant()
    # past the day's cap, not the hour's: one window below its cap and the sale counts
    counters = {ip_key(IP): ip_counter(150)}
    ts = int(datetime.fromisoformat(NOW).timestamp())
    for i in range(900):  # earlier in the day
        counters[ip_key(IP)].add(ts - 40000 + i, 1500, False, None, f"e{i:07d}")
    counters[ip_key(IP)].added.clear()
    txn = make_txn(received_at=NOW, channel="ecommerce", ip_address=IP)

    (decided,) = assess([txn], {merchant.merchant_id: merchant}, counters, rules, shard=0)

    (added,) = counters[ip_key(IP)].added
    assert added.at == ts
    assert set(IP_RULES) <= set(decided.decision.matched_rules)

"""A customer IP whose current buckets are past every threshold the rules read is not counted
further: its item stays small (DynamoDB's 400 KB item limit, one write unit per KB) and the rules
decide the same, now and later."""

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


def ip_counter(sales_now: int) -> Counter:
    """An IP item holding ``sales_now`` sales made this second (the current buckets)."""
    counter = Counter(key=ip_key(IP), exists=True)
    ts = int(datetime.fromisoformat(NOW).timestamp())
    for i in range(sales_now):
        counter.add(ts, 1500, False, None, f"d{i:07d}")
    counter.added.clear()  # already stored
    return counter


def test_the_shipped_rules_cap_each_ip_window_past_twice_its_threshold(rules) -> None:
    assert rules.ip_caps == ((3600, FACTOR * 20 + 1), (86400, FACTOR * 100 + 1))


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
    counters = {ip_key(IP): ip_counter(250)}  # its 5-minute and hourly buckets past 41 and 201
    txn = make_txn(received_at=NOW, channel="ecommerce", ip_address=IP)

    (decided,) = assess([txn], {merchant.merchant_id: merchant}, counters, rules, shard=0)

    assert not counters[ip_key(IP)].added  # no write to the IP's item
    assert set(IP_RULES) <= set(decided.decision.matched_rules)


def test_below_its_caps_an_ip_is_counted(rules, make_txn, make_merchant) -> None:
    merchant = make_merchant()
    # the 5-minute bucket is past its cap, the hourly one not: the sale counts
    counters = {ip_key(IP): ip_counter(150)}
    txn = make_txn(received_at=NOW, channel="ecommerce", ip_address=IP)

    (decided,) = assess([txn], {merchant.merchant_id: merchant}, counters, rules, shard=0)

    (added,) = counters[ip_key(IP)].added
    assert added.at == int(datetime.fromisoformat(NOW).timestamp())
    assert set(IP_RULES) <= set(decided.decision.matched_rules)


def sales(start: int) -> list[int]:
    """A shared IP's day: a burst of 1,000 in a minute, a trickle (36 an hour) long enough for
    the burst to leave the hour, then a steady 2 a second for 40 minutes and a slow hour."""
    times = [start + i * 60 // 1000 for i in range(1000)]
    times += [start + 60 + i * 100 for i in range(36 * 3)]
    steady = times[-1] + 60
    times += [steady + i // 2 for i in range(2 * 2400)]
    times += [steady + 2400 + i * 120 for i in range(30)]
    return times


@pytest.mark.parametrize("factor", [1, FACTOR])
def test_stepped_through_a_shared_ips_day_every_ip_rule_decides_as_if_every_sale_counted(
    monkeypatch, factor
) -> None:
    # the counts a rule reads change when buckets age out: the capped item must keep each
    # rule's answer at every sale, including after the burst's bucket has left the hour
    monkeypatch.setattr("txn_domain.rules.saturation.FACTOR", factor)
    caps = ip_caps([r["condition"] for r in document()["rules"]])
    capped, every = Counter(key=ip_key(IP)), Counter(key=ip_key(IP))
    start = int(datetime.fromisoformat(NOW).timestamp())
    windows = {"ip-count-1h": 3600, "ip-count-24h": 86400}
    for n, t in enumerate(sales(start)):
        if not saturated(capped, caps, t):
            capped.add(t, 1500, False, None, f"c{n:07d}")
        every.add(t, 1500, False, None, f"c{n:07d}")
        for rule, seconds in windows.items():
            threshold = IP_RULES[rule]
            assert (capped.window("count", seconds, t) >= threshold) == (
                every.window("count", seconds, t) >= threshold
            ), (rule, n, t - start)
    assert len(every.added) == 5938
    assert len(capped.added) < len(every.added) / 3  # what the item holds and writes


def test_a_condition_kind_it_does_not_know_leaves_ip_counting_uncapped() -> None:
    # were the engine to gain a negation, a cap could make "not over 20" false: none is safe
    read = {"kind": "compare", "feature": "v.ip.count.1h", "op": ">=", "value": 20}
    assert ip_caps([read]) == ((3600, FACTOR * 20 + 1),)
    assert ip_caps([{"kind": "not", "condition": read}]) is None

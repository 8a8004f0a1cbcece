from txn_domain.rules import compile_rules, load_default_rules
from txn_domain.velocity import MERCHANT_TTL, PACK, SHORT_TTL, Counter, b36, counter_ttl

NOW = 1_796_040_000  # 2026-12-01T...


def test_given_a_count_in_the_last_minute_then_one_minute_window_sees_it():
    counter = Counter(key="card#t")
    counter.add(NOW - 30, 500, False, None)
    assert counter.window("count", 60, NOW) == 1
    assert counter.window("sum", 60, NOW) == 500


def test_given_an_hour_old_count_then_one_minute_window_ignores_it_but_a_day_sees_it():
    counter = Counter(key="card#t")
    counter.add(NOW - 3 * 3600, 500, False, None)
    assert counter.window("count", 60, NOW) == 0
    assert counter.window("count", 86400, NOW) == 1


def test_given_stored_buckets_past_retention_when_read_then_ignored_and_marked_stale():
    old_minute = (NOW - 3600) // 60
    item = {
        "pk": {"S": "card#t"},
        "sk": {"S": "v"},
        "expires_at": {"N": str(NOW + 100)},
        "a" + b36(old_minute): {"N": str(PACK * 7)},
        "a" + b36(NOW // 60): {"N": str(PACK + 10)},
    }
    counter = Counter.from_item("card#t", item, NOW)
    assert counter.window("count", 600, NOW) == 1
    assert counter.stale == {"a" + b36(old_minute)}


def test_given_an_expired_item_not_yet_deleted_when_read_then_empty_and_reset():
    item = {
        "pk": {"S": "card#t"},
        "sk": {"S": "v"},
        "expires_at": {"N": str(NOW - 1)},
        "hn": {"N": "40"},
        "hs": {"N": "9000"},
        "d" + b36(NOW // 3600): {"N": str(PACK * 3)},
    }
    counter = Counter.from_item("card#t", item, NOW)
    assert (counter.history_count, counter.window("count", 86400, NOW), counter.reset) == (
        0,
        0,
        True,
    )


def test_given_two_adds_in_a_minute_then_one_delta_per_bucket():
    counter = Counter(key="card#t")
    counter.add(NOW, 100, True, (1.0, 2.0))
    counter.add(NOW + 1, 200, True, None)
    minute = "a" + b36(NOW // 60)
    assert counter.delta()[minute] == 2 * PACK + 300
    assert counter.delta()["k" + b36(NOW // 60)] == 2
    assert counter.last == (1.0, 2.0, NOW)


def test_a_merchant_shard_outlives_a_quiet_week_and_an_ip_item_a_day():
    # a quiet shop's typical sale is its shards' lifetime count and sum (ADR 0016)
    assert counter_ttl("merchant#m_1001#0") == MERCHANT_TTL == 8 * 86400
    assert counter_ttl("ip#203.0.113.7") == SHORT_TTL < MERCHANT_TTL
    # every counter takes its key's, however it is built: none can be written with another
    assert Counter(key="merchant#m_1001#0").ttl == MERCHANT_TTL
    assert Counter.from_item("ip#203.0.113.7", None, NOW).ttl == SHORT_TTL


def _prefixes(delta: dict[str, int], at: int) -> set[str]:
    """Which bucket prefixes of a sale at ``at`` a delta writes."""
    names = {"a": at // 60, "k": at // 60, "b": at // 300, "d": at // 3600}
    return {p for p, n in names.items() if p + b36(n) in delta}


def test_a_late_sale_writes_only_the_buckets_still_kept_at_processing_time():
    # buckets kept: a and k 11 minutes, b 13 five-minute buckets, d 25 hours
    for late_s, kept in [
        (5 * 60, {"a", "k", "b", "d"}),
        (12 * 60, {"b", "d"}),
        (70 * 60, {"d"}),
        (26 * 3600, set()),
    ]:
        counter = Counter(key="merchant#m#0")
        counter.add(NOW, 100, True, None)
        for sign in (1, -1):  # a correction takes out only what a write put in
            delta = counter.delta(sign=sign, now=NOW + late_s)
            assert _prefixes(delta, NOW) == kept, (late_s, sign)
            assert (delta["hn"], delta["hs"]) == (sign, 100 * sign)  # the history counts it


def test_each_kind_of_item_keeps_the_buckets_something_reads():
    # the default rules: a card's 1 and 10 minutes and day, an IP's hour and day, a
    # merchant's minute and day; a card's and a merchant's day whatever the rules say
    assert load_default_rules().buckets == {
        "card": frozenset("adk"),
        "ip": frozenset("bd"),
        "merchant": frozenset("adk"),
    }
    doc = {"version": "t", "flag_score": 60, "small_amount": 2, "rules": []}
    assert compile_rules(doc).buckets == {
        "card": frozenset("d"),
        "ip": frozenset(),
        "merchant": frozenset("d"),
    }
    hour = {"kind": "compare", "feature": "v.card.count.1h", "op": ">=", "value": 9}
    rule = {"id": "r", "action": "review", "weight": 10, "condition": hour}
    assert compile_rules({**doc, "rules": [rule]}).buckets["card"] == frozenset("bd")


def test_a_sale_is_counted_and_written_only_into_the_buckets_kept():
    counter = Counter(key="ip#203.0.113.7")
    counter.add(NOW, 100, True, None, "dg", kept=frozenset("bd"))
    assert counter.window("count", 3600, NOW) == counter.window("count", 86400, NOW) == 1
    assert counter.window("count", 600, NOW) == counter.window("small", 600, NOW) == 0
    for sign in (1, -1):  # a correction takes out exactly the buckets the write put in
        assert _prefixes(counter.delta(sign=sign, now=NOW), NOW) == {"b", "d"}

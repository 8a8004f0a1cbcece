from txn_domain.fraud import counter_ttl
from txn_domain.velocity import GRANULARITIES, PACK, SHORT_TTL, Counter, b36

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


def test_a_merchant_shard_keeps_a_daily_bucket_and_a_card_does_not():
    shard, card = Counter(key="merchant#m_1001#0"), Counter(key="card#t")
    for counter in (shard, card):
        counter.add(NOW, 100, False, None)
    day = "w" + b36(NOW // 86400)
    assert shard.delta()[day] == PACK + 100
    assert day not in card.delta()  # a card's item stays small: its profile says what is usual


def test_a_merchant_shard_sees_its_last_week_and_drops_older_days_on_read():
    day = NOW // 86400
    item = {
        "pk": {"S": "merchant#m_1001#0"},
        "sk": {"S": "v"},
        "expires_at": {"N": str(NOW + 100)},
        "w" + b36(day - 6): {"N": str(PACK * 5 + 10_000)},
        "w" + b36(day - 9): {"N": str(PACK * 40)},
    }
    counter = Counter.from_item("merchant#m_1001#0", item, NOW)
    assert counter.since("w", day - 7) == PACK * 5 + 10_000
    assert counter.window("count", 86400, NOW) == 0  # the day's window reads the hourly buckets
    assert counter.stale == {"w" + b36(day - 9)}


def test_a_merchant_shard_outlives_its_week_of_daily_buckets():
    assert counter_ttl("merchant#m_1001#0") >= GRANULARITIES["w"][0] * GRANULARITIES["w"][1]
    assert counter_ttl("ip#203.0.113.7") == SHORT_TTL

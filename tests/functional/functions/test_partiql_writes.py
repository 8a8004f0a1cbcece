"""The velocity and record statements on moto (with ``txn_moto.partiql``): guards, races,
duplicates, and loud failure on syntax the emulation does not know."""

from __future__ import annotations

from decimal import Decimal

from txn_adapters.partiql import Statement, execute
from txn_adapters.transactions import TransactionsStore
from txn_adapters.velocity import VelocityStore
from txn_domain.velocity import PACK, b36, guard_digest

NOW = 1_796_000_000


def _counter(store: VelocityStore, key: str, now: int = NOW):
    counters, _ = store.load([key], now)
    return counters[key]


def _count(store, key, txn_id, amount=100):
    counter = _counter(store, key)
    counter.add(NOW, amount, False, None, guard_digest(txn_id))
    return counter


def test_given_a_counted_transaction_when_its_statement_runs_again_then_the_guard_refuses(aws):
    store = VelocityStore(aws.dynamodb, "velocity")
    view = _count(store, "card#t", "T1")
    (first,) = store.execute([store.statement(view, view.added, NOW)])
    again = _count(store, "card#t", "T1")  # built from the item that now holds T1's digest
    stale_view = store.statement(again, again.added, NOW)

    (second,) = store.execute([stale_view])

    assert first.ok
    assert second.error == "ConditionalCheckFailed"
    assert guard_digest("T1") in second.item["g" + b36(NOW // 3600)]["SS"]
    assert _counter(store, "card#t").history_count == 1


def test_given_two_writers_creating_one_bucket_then_the_loser_fails_and_changes_nothing(aws):
    store = VelocityStore(aws.dynamodb, "velocity")
    seed = _count(store, "ip#a", "T0")
    store.execute([store.statement(seed, seed.added, NOW)])  # the item exists, buckets too
    later = NOW + 120  # a new minute: both writers see its bucket missing
    a, b = _counter(store, "ip#a"), _counter(store, "ip#a")
    a.add(later, 100, False, None, guard_digest("T1"))
    b.add(later, 200, False, None, guard_digest("T2"))

    outcomes = store.execute([store.statement(a, a.added, later)])
    (lost,) = store.execute([store.statement(b, b.added, later)])
    rebuilt = _counter(store, "ip#a")
    rebuilt.add(later, 200, False, None, guard_digest("T2"))
    (won,) = store.execute([store.statement(rebuilt, rebuilt.added, later)])

    assert outcomes[0].ok
    assert (lost.error, won.ok) == ("ConditionalCheckFailed", True)
    item = {i["pk"]: i for i in aws.items("velocity")}["ip#a"]
    ip = _counter(store, "ip#a", later)  # an IP item holds windows only: its day counts all
    assert (ip.window("count", 86400, later), ip.window("sum", 86400, later)) == (3, 400)
    assert item["a" + b36(later // 60)] == 2 * PACK + 300


def test_given_a_sale_processed_after_its_minute_expired_then_it_counts_without_that_bucket(aws):
    # A redelivery or a queue drained after an outage: the sale's minute bucket is past its
    # 11 minutes, and the item still holds it from another sale of that minute. The write must
    # not create it again (IS MISSING on a present attribute fails on every retry).
    store = VelocityStore(aws.dynamodb, "velocity")
    first = _count(store, "card#t", "T1")
    store.execute([store.statement(first, first.added, NOW)])
    late = NOW + 12 * 60
    counters, _ = store.load(["card#t"], late)
    card = counters["card#t"]
    card.add(NOW + 5, 200, True, None, guard_digest("T2"))  # received in T1's minute

    (outcome,) = store.execute([store.statement(card, card.added, late)])

    item = {i["pk"]: i for i in aws.items("velocity")}["card#t"]
    assert outcome.ok, outcome.error
    assert (item["hn"], item["hs"]) == (2, 300)
    assert "a" + b36(NOW // 60) not in item  # expired: removed, not written
    assert "k" + b36(NOW // 60) not in item
    assert item["b" + b36(NOW // 300)] == 2 * PACK + 300  # the 5-minute bucket is still kept
    assert guard_digest("T2") in item["g" + b36(NOW // 3600)]


def test_given_located_transactions_on_a_card_then_its_item_keeps_the_latest_location(aws):
    store = VelocityStore(aws.dynamodb, "velocity")
    card = _counter(store, "card#t")
    card.add(NOW + 60, 100, False, (51.5, -0.12), guard_digest("T2"))
    card.add(NOW, 100, False, (48.85, 2.35), guard_digest("T1"))  # delivered after T2, older
    card.add(NOW + 120, 100, False, None, guard_digest("T3"))  # newest, but not located

    (outcome,) = store.execute([store.statement(card, card.added, NOW + 120)])

    item = {i["pk"]: i for i in aws.items("velocity")}["card#t"]
    assert outcome.ok
    assert (item["lat"], item["lon"], item["lts"]) == (Decimal("51.5"), Decimal("-0.12"), NOW + 60)


def test_given_a_stored_record_when_inserted_again_then_duplicate_and_unchanged(aws):
    store = TransactionsStore(aws.dynamodb, "transactions")
    record = {
        "transaction_id": "T1",
        "timestamp": "2026-11-30T12:00:00Z",
        "status": "APPROVED",
        "received_at": "2026-11-30T12:00:00.000Z",
    }

    first = store.execute([store.insert(record)])
    second = store.execute([store.insert({**record, "status": "FLAGGED"})])

    assert (first[0].ok, second[0].error) == (True, "DuplicateItem")
    assert [i["status"] for i in aws.items("transactions")] == ["APPROVED"]


def test_given_syntax_the_emulation_does_not_know_then_the_statement_fails_loudly(aws):
    statement = Statement(
        'UPDATE "velocity" SET "hn" = "hn" * ? WHERE "pk" = ? AND "sk" = ?',
        [{"N": "2"}, {"S": "card#t"}, {"S": "v"}],
    )

    (outcome,) = execute(aws.dynamodb, [statement], "testing")

    assert outcome.error == "ValidationError"

"""One busy merchant's velocity on moto: containers write different shards, one write per batch,
and the read sums every shard (issue 20: a hot merchant spread over several partitions)."""

from __future__ import annotations

import json
import time

from fraud_detector.pipeline import FraudPipeline
from txn_adapters.alerts import AlertsPublisher
from txn_adapters.merchants import MerchantsRepository
from txn_adapters.transactions import TransactionsStore
from txn_adapters.velocity import VelocityStore
from txn_domain.rules import load_default_rules
from txn_domain.velocity import MERCHANT_SHARDS, MERCHANT_TTL, merchant_keys, window_total


def container(aws, shard: int | None = None) -> FraudPipeline:
    """A fraud detector container, as ``fraud_detector.app`` builds it, on moto's tables."""
    return FraudPipeline(
        rules=load_default_rules(),
        merchants=MerchantsRepository(aws.dynamodb, "merchants"),
        velocity=VelocityStore(aws.dynamodb, "velocity"),
        store=TransactionsStore(aws.dynamodb, "transactions"),
        alerts=AlertsPublisher(aws.sns, aws.sns.list_topics()["Topics"][0]["TopicArn"]),
        shard=shard,
    )


def test_given_containers_on_each_shard_then_one_merchants_writes_spread_and_the_read_sums_them(
    aws, accepted, sqs_record, monkeypatch
):
    # GIVEN 12 transactions of one merchant on distinct cards, in batches of 3, one batch for
    # each of 4 containers that write shards 0 to 3
    bodies = [accepted(card_token=f"tok_shard_{i}", amount=1000 + i) for i in range(12)]
    merchant_writes: list[int] = []
    for shard in range(MERCHANT_SHARDS):
        pipeline = container(aws, shard)
        execute = pipeline._store.execute

        def counting(statements, execute=execute):
            merchant_writes.append(
                sum(any("merchant#" in str(p) for p in s.params) for s in statements)
            )
            return execute(statements)

        monkeypatch.setattr(pipeline._store, "execute", counting)
        # WHEN the container processes its batch
        result = pipeline.process([sqs_record(b) for b in bodies[3 * shard : 3 * shard + 3]])
        assert result.failures == {}

    # THEN each batch wrote its three transactions to its own shard in one statement
    assert merchant_writes == [1, 1, 1, 1]
    items = {i["pk"]: i for i in aws.items("velocity") if i["pk"].startswith("merchant#")}
    assert {k: items[k]["hn"] for k in items} == dict.fromkeys(merchant_keys("m_1001"), 3)
    # AND the read the rules make, over every shard, counts and sums all twelve
    now = int(time.time())
    counters, _ = VelocityStore(aws.dynamodb, "velocity").load(merchant_keys("m_1001"), now)
    shards = tuple(counters.values())
    amounts = [json.loads(b)["amount"] for b in bodies]
    assert window_total(shards, "count", 86400, now) == 12
    assert window_total(shards, "sum", 86400, now) == sum(amounts)
    assert [s.window("count", 86400, now) for s in shards] == [3, 3, 3, 3]
    # AND a quiet shop's typical sale (ADR 0016) has every sale, kept eight days past the last
    assert sum(s.history_count for s in shards) == 12
    assert sum(s.history_sum for s in shards) == sum(amounts)
    assert all(abs(int(items[k]["expires_at"]) - now - MERCHANT_TTL) <= 60 for k in items)


def test_given_batches_of_one_merchant_then_each_writes_a_shard_drawn_at_random(
    aws, accepted, sqs_record
):
    # GIVEN one container without a fixed shard (as in Lambda, where every environment may
    # run its runtime under the same process id) and 12 batches of one transaction each
    pipeline = container(aws)
    for i in range(12):
        body = accepted(card_token=f"tok_draw_{i}")
        assert pipeline.process([sqs_record(body)]).failures == {}
    # THEN the merchant's writes landed on more than one shard (all on one: 4 x 0.25^12),
    # and every one of them is counted
    items = [i for i in aws.items("velocity") if i["pk"].startswith("merchant#m_1001#")]
    assert len(items) > 1
    assert sum(i["hn"] for i in items) == 12


def test_each_item_holds_only_the_kinds_of_bucket_something_reads(aws, accepted, sqs_record):
    # GIVEN small and ordinary sales online, on two cards, from one customer IP
    bodies = [
        accepted(card_token=f"tok_kept_{i % 2}", amount=amount, channel="ecommerce",
                 ip_address="203.0.113.77")
        for i, amount in enumerate((100, 150, 5000))
    ]  # fmt: skip
    # WHEN the fraud detector processes them
    assert container(aws, 0).process([sqs_record(b) for b in bodies]).failures == {}
    # THEN each item holds the buckets the default rules and the features read, and no others:
    # no 5-minute buckets on a card or a merchant, no minute or small-amount ones on an IP
    kinds: dict[str, set[str]] = {}
    for item in aws.items("velocity"):
        buckets = {name[0] for name in item if name[0] in "abdk" and name[1:].isalnum()}
        kinds.setdefault(item["pk"].split("#")[0], set()).update(buckets)
    assert kinds == {"card": {"a", "d", "k"}, "ip": {"b", "d"}, "merchant": {"a", "d", "k"}}

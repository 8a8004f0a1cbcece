"""The fraud pipeline's batch logic with stub AWS clients (no moto): retries on cancellation."""

from __future__ import annotations

from typing import Any

import pytest

from fraud_detector.pipeline import FraudPipeline
from txn_adapters.merchants import MerchantsRepository
from txn_adapters.transactions import TransactionsStore
from txn_adapters.velocity import VelocityStore
from txn_domain.errors import TransactionCancelledError
from txn_domain.velocity import Counter

NOW = 1_796_000_000


class StubDynamo:
    """Answers the calls the pipeline makes; ``cancel`` scripts TransactWriteItems failures."""

    def __init__(self, merchant: dict[str, Any], cancel: list[list[str]] | None = None):
        self.merchant = merchant
        self.cancel = list(cancel or [])
        self.committed: list[list[dict[str, Any]]] = []
        self.calls: list[str] = []

    def batch_get_item(self, RequestItems):
        self.calls.append("BatchGetItem")
        table = next(iter(RequestItems))
        if table == "merchants":
            return {"Responses": {"merchants": [self.merchant]}}
        return {"Responses": {table: []}}


class StubStore(TransactionsStore):
    def __init__(self, ddb: StubDynamo):
        super().__init__(None, "transactions")
        self.ddb = ddb

    def commit(self, actions):
        self.ddb.calls.append("TransactWriteItems")
        codes = self.ddb.cancel.pop(0) if self.ddb.cancel else None
        if codes is not None:
            reasons = [(c, None) for c in codes] + [("None", None)] * (len(actions) - len(codes))
            raise TransactionCancelledError("cancelled", reasons)
        self.ddb.committed.append(list(actions))


class StubAlerts:
    def __init__(self):
        self.sent: list[dict] = []

    def publish(self, alerts):
        self.sent += alerts
        return []


@pytest.fixture
def pipeline_factory(rules):
    merchant = {
        "merchant_id": {"S": "m_1001"},
        "active": {"BOOL": True},
        "allowed_currencies": {"L": [{"S": "USD"}]},
        "per_transaction_limit": {"N": "5000"},
        "daily_limit": {"N": "200000"},
        "mcc": {"S": "5942"},
        "country": {"S": "US"},
    }

    def make(cancel=None):
        ddb = StubDynamo(merchant, cancel)
        pipeline = FraudPipeline(
            rules=rules,
            merchants=MerchantsRepository(ddb, "merchants"),
            velocity=VelocityStore(ddb, "velocity"),
            store=StubStore(ddb),
            alerts=StubAlerts(),
            clock=lambda: NOW,
            shard=0,
        )
        return pipeline, ddb

    return make


def records(make_txn, n):
    return [
        {"messageId": f"m{i}", "body": make_txn(card_token=f"tok_{i:04d}").model_dump_json()}
        for i in range(n)
    ]


def test_given_a_batch_then_one_read_and_one_write_for_counters_and_records(
    pipeline_factory, make_txn
):
    pipeline, ddb = pipeline_factory()
    result = pipeline.process(records(make_txn, 10))

    assert result.failures == {}
    assert ddb.calls == [
        "BatchGetItem",
        "BatchGetItem",
        "TransactWriteItems",
    ]  # merchants, counters
    (actions,) = ddb.committed
    puts = [a for a in actions if "Put" in a]
    updates = [a for a in actions if "Update" in a]
    # 10 records; 10 cards + 1 shared IP + 1 merchant shard, each updated once
    assert (len(puts), len(updates)) == (10, 12)


def test_given_the_merchant_is_cached_then_the_next_batch_reads_only_counters(
    pipeline_factory, make_txn
):
    pipeline, ddb = pipeline_factory()
    pipeline.process(records(make_txn, 2))
    ddb.calls.clear()
    pipeline.process(records(make_txn, 2))
    assert ddb.calls == ["BatchGetItem", "TransactWriteItems"]


def test_given_one_record_already_stored_then_retry_without_it_and_count_it_not(
    pipeline_factory, make_txn
):
    pipeline, ddb = pipeline_factory(cancel=[["None", "ConditionalCheckFailed"]])
    batch = records(make_txn, 3)

    result = pipeline.process(batch)

    assert result.failures == {}
    assert result.duplicates == 1
    (actions,) = ddb.committed
    assert len([a for a in actions if "Put" in a]) == 2
    counted = [a["Update"]["Key"]["pk"]["S"] for a in actions if "Update" in a]
    assert "card#tok_0001" not in counted


def test_given_a_conflict_then_records_go_one_by_one(pipeline_factory, make_txn):
    pipeline, ddb = pipeline_factory(cancel=[["None", "TransactionConflict"]])
    result = pipeline.process(records(make_txn, 3))

    assert result.failures == {}
    assert len(ddb.committed) == 3


def test_given_a_persistent_conflict_for_one_record_then_only_it_fails(pipeline_factory, make_txn):
    pipeline, ddb = pipeline_factory(
        cancel=[["TransactionConflict"], None, ["TransactionConflict"]]
    )
    result = pipeline.process(records(make_txn, 2))
    assert set(result.failures) == {"m1"}
    assert len(ddb.committed) == 1


def test_counters_loaded_are_not_mutated_between_attempts(pipeline_factory, make_txn):
    pipeline, _ = pipeline_factory(cancel=[["ConditionalCheckFailed"]])
    loaded = {"card#tok_0000": Counter(key="card#tok_0000")}
    pipeline._velocity.load = lambda keys, now: {**{k: Counter(key=k) for k in keys}, **loaded}
    pipeline.process(records(make_txn, 2))
    assert loaded["card#tok_0000"].history_count == 0

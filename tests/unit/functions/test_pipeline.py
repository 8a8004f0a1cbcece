"""The fraud pipeline's batch logic with a scripted DynamoDB stand-in (no moto): calls per batch,
per-statement failures, races and the merchant corrections."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from fraud_detector.pipeline import ROUNDS, FraudPipeline
from txn_adapters.merchants import MerchantsRepository
from txn_adapters.transactions import TransactionsStore
from txn_adapters.velocity import VelocityStore
from txn_domain.errors import ServiceUnavailableError, WriteFailedError
from txn_domain.fraud import epoch_seconds
from txn_domain.models import AcceptedTransaction
from txn_domain.velocity import GUARD_WIDTH, b36, guard_digest

NOW = 1_796_000_000
RECEIVED = "2026-11-30T12:00:00.000Z"


class StubDynamo:
    """Answers the calls the pipeline makes; ``script`` gives, per BatchExecuteStatement call,
    a function from the statements to their per-statement error codes (or items)."""

    def __init__(self, merchant: dict[str, Any], script: list | None = None):
        self.merchant = merchant
        self.script = list(script or [])
        self.calls: list[str] = []
        self.reads: list[dict[str, Any]] = []  # every BatchGetItem's RequestItems
        self.sent: list[list[dict[str, Any]]] = []
        self.stored: list[dict[str, Any]] = []  # records every BatchGetItem finds
        self.velocity: list[dict[str, Any]] = []  # counter items every BatchGetItem finds

    def batch_get_item(self, RequestItems):
        self.calls.append("BatchGetItem")
        self.reads.append(RequestItems)
        if "merchants" in RequestItems:
            return {"Responses": {"merchants": [self.merchant]}}
        found = {"tx": self.stored, "velocity": self.velocity}
        return {"Responses": {t: list(found[t]) for t in RequestItems}}

    def batch_execute_statement(self, Statements):
        self.calls.append("BatchExecuteStatement")
        self.sent.append(Statements)
        answer = self.script.pop(0)(Statements) if self.script else [None] * len(Statements)
        return {
            "Responses": [
                {}
                if a is None
                else {"Error": {"Code": a[0], **({"Item": a[1]} if a[1] else {})}}
                if isinstance(a, tuple)
                else {"Error": {"Code": a}}
                for a in answer
            ]
        }


class StubAlerts:
    def __init__(self):
        self.sent: list[dict] = []

    def publish(self, alerts):
        self.sent += alerts
        return []


def on(predicate, code, others=None):
    """A script step: ``code`` for statements matching ``predicate``, ``others`` elsewhere."""
    return lambda statements: [code if predicate(s) else others for s in statements]


def touches(key: str):
    return lambda s: {"S": key} in s["Parameters"]


def inserts(table: str):
    return lambda s: s["Statement"].startswith(f'INSERT INTO "{table}"')


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

    def make(script=None, writes=None):
        ddb = StubDynamo(merchant, script)
        pipeline = FraudPipeline(
            rules=rules,
            merchants=MerchantsRepository(ddb, "merchants"),
            velocity=VelocityStore(ddb, "velocity"),
            store=TransactionsStore(ddb, "tx", writes=writes),
            alerts=StubAlerts(),
            clock=lambda: NOW,
            shard=0,
        )
        return pipeline, ddb

    return make


def records(make_txn, n, overrides=None):
    return [
        {
            "messageId": f"m{i}",
            "body": make_txn(
                card_token=f"tok_{i:04d}", received_at=RECEIVED, **(overrides or {}).get(i, {})
            ).model_dump_json(),
        }
        for i in range(n)
    ]


def kinds(statements):
    return [s["Statement"].split('"')[1] + ":" + s["Statement"].split()[0] for s in statements]


def second_insert_answered(pipeline_factory, make_txn, code, *later):
    """A batch of two whose second record's INSERT is answered ``code`` (the counters' call
    applied); ``later``: the scripts of the calls after it."""
    batch = records(make_txn, 2)
    second = AcceptedTransaction.model_validate_json(batch[1]["body"]).transaction_id
    pipeline, ddb = pipeline_factory(
        script=[
            lambda statements: [None] * len(statements),
            on(lambda s: inserts("tx")(s) and {"S": second} in s["Parameters"], code),
            *later,
        ]
    )
    return batch, pipeline, ddb


def test_given_a_batch_then_one_read_and_two_statement_calls(pipeline_factory, make_txn):
    pipeline, ddb = pipeline_factory()
    result = pipeline.process(records(make_txn, 10))

    assert result.failures == {}
    # merchants (cache miss), then counters + records, then the two writes
    assert ddb.calls == ["BatchGetItem", "BatchGetItem"] + ["BatchExecuteStatement"] * 2
    counters, records_and_merchant = (kinds(s) for s in ddb.sent)
    # 10 new cards + 1 shared IP; then 10 records + 1 merchant shard
    assert sorted(set(counters)) == ["velocity:INSERT"]
    assert len(counters) == 11
    assert records_and_merchant == ["tx:INSERT"] * 10 + ["velocity:INSERT"]


def test_given_the_merchant_is_cached_then_the_next_batch_makes_three_calls(
    pipeline_factory, make_txn
):
    pipeline, ddb = pipeline_factory()
    pipeline.process(records(make_txn, 2))
    ddb.calls.clear()
    pipeline.process(records(make_txn, 2))
    assert ddb.calls == ["BatchGetItem", "BatchExecuteStatement", "BatchExecuteStatement"]


def test_given_a_stored_record_then_it_is_neither_counted_nor_inserted(pipeline_factory, make_txn):
    pipeline, ddb = pipeline_factory()
    batch = records(make_txn, 2)
    txn = AcceptedTransaction.model_validate_json(batch[1]["body"])
    ddb.stored = [{"transaction_id": {"S": txn.transaction_id}, "status": {"S": "APPROVED"}}]

    result = pipeline.process(batch)

    assert (result.failures, result.duplicates) == ({}, 1)
    sent = [s for call in ddb.sent for s in call]
    assert not [s for s in sent if touches("card#tok_0001")(s)]
    assert not [s for s in sent if {"S": txn.transaction_id} in s["Parameters"]]


def test_given_a_counter_already_holding_the_digest_then_it_counts_as_done(
    pipeline_factory, make_txn
):
    batch = records(make_txn, 1)
    txn = AcceptedTransaction.model_validate_json(batch[0]["body"])
    hour = b36(epoch_seconds(txn.received_at) // GUARD_WIDTH)
    counted = {
        "pk": {"S": "card#tok_0000"},
        "sk": {"S": "v"},
        "expires_at": {"N": str(NOW + 100)},
        "g" + hour: {"SS": [guard_digest(txn.transaction_id)]},
    }
    # a concurrent delivery counted it between the read and the write
    pipeline, ddb = pipeline_factory(
        script=[on(touches("card#tok_0000"), ("ConditionalCheckFailed", counted))]
    )

    result = pipeline.process(batch)

    assert result.failures == {}
    assert ddb.calls.count("BatchExecuteStatement") == 2  # no retry for the card


def test_given_a_bucket_created_concurrently_then_the_statement_is_rebuilt_as_an_increment(
    pipeline_factory, make_txn
):
    raced = {
        "pk": {"S": "card#tok_0000"},
        "sk": {"S": "v"},
        "expires_at": {"N": str(NOW + 100)},
        "hn": {"N": "1"},
        "hs": {"N": "5"},
    }
    pipeline, ddb = pipeline_factory(
        script=[on(touches("card#tok_0000"), ("ConditionalCheckFailed", raced))]
    )

    result = pipeline.process(records(make_txn, 1))

    assert result.failures == {}
    retry = ddb.sent[1]
    assert len(retry) == 1
    assert retry[0]["Statement"].startswith('UPDATE "velocity"')
    assert '"hn" = "hn" + ?' in retry[0]["Statement"]
    assert 'NOT contains("g' not in retry[0]["Statement"]  # the guard set is new: IS MISSING


def test_given_a_counter_throttled_every_round_then_only_its_record_fails(
    pipeline_factory, make_txn, monkeypatch
):
    distinct_ips = {i: {"ip_address": f"198.51.100.{i}"} for i in range(3)}
    always = on(touches("card#tok_0001"), "ThrottlingError")
    pipeline, ddb = pipeline_factory(script=[always] * ROUNDS)
    waits: list[int] = []
    monkeypatch.setattr("fraud_detector.pipeline.backoff", waits.append)

    result = pipeline.process(records(make_txn, 3, distinct_ips))

    # a throttled statement is sent again after a growing wait, not at once
    assert waits == list(range(ROUNDS - 1))

    assert set(result.failures) == {"m1"}
    assert isinstance(result.failures["m1"], WriteFailedError)
    inserted = [s for s in ddb.sent[-1] if inserts("tx")(s)]
    assert len(inserted) == 2


def test_given_a_record_stored_concurrently_then_the_merchant_count_is_taken_back(
    pipeline_factory, make_txn
):
    batch, pipeline, ddb = second_insert_answered(pipeline_factory, make_txn, "DuplicateItem")

    ddb.velocity = [
        {
            "pk": {"S": "merchant#m_1001#0"},
            "sk": {"S": "v"},
            "expires_at": {"N": str(NOW + 100)},
            "hn": {"N": "7"},
            "hs": {"N": "700"},
        }
    ]

    result = pipeline.process(batch)

    assert (result.failures, result.duplicates, result.merchant_drift) == ({}, 1, 0)
    (correction,) = ddb.sent[-1]
    assert correction["Statement"].startswith('UPDATE "velocity"')
    assert '"hn" = "hn" + ?' in correction["Statement"]
    assert {"N": "-1"} in correction["Parameters"]  # hn back by one


def test_given_the_merchant_statement_fails_then_it_is_retried_for_the_stored_records(
    pipeline_factory, make_txn
):
    merchant = lambda s: touches("merchant#m_1001#0")(s)  # noqa: E731
    pipeline, ddb = pipeline_factory(
        script=[lambda st: [None] * len(st), on(merchant, "ThrottlingError")]
    )

    result = pipeline.process(records(make_txn, 2))

    assert (result.failures, result.merchant_drift) == ({}, 0)
    (retry,) = ddb.sent[-1]
    assert merchant(retry)
    assert {"N": "2"} in retry["Parameters"]
    # the shard is read again strongly consistent: a lagging read would rebuild a stale write
    assert ddb.reads[-1]["velocity"]["ConsistentRead"] is True
    assert "ConsistentRead" not in ddb.reads[1]["velocity"]  # the batch's own read


def test_given_the_counters_call_fails_then_every_record_fails_and_none_is_inserted(
    pipeline_factory, make_txn
):
    def unavailable(statements):
        raise ClientError({"Error": {"Code": "InternalServerError"}}, "BatchExecuteStatement")

    pipeline, ddb = pipeline_factory(script=[unavailable])

    result = pipeline.process(records(make_txn, 2))

    assert set(result.failures) == {"m0", "m1"}
    assert all(isinstance(e, ServiceUnavailableError) for e in result.failures.values())
    assert len(ddb.sent) == 1


def test_given_counters_left_unprocessed_once_then_read_again_after_a_wait(monkeypatch):
    class Unprocessed(StubDynamo):
        def batch_get_item(self, RequestItems):
            if not self.reads:
                self.reads.append(RequestItems)
                return {"Responses": {}, "UnprocessedKeys": RequestItems}
            return super().batch_get_item(RequestItems)

    waits: list[int] = []
    monkeypatch.setattr("txn_adapters.velocity.backoff", waits.append)
    ddb = Unprocessed({})
    ddb.velocity = [{"pk": {"S": "card#t"}, "sk": {"S": "v"}, "expires_at": {"N": str(NOW + 9)}}]

    counters, _ = VelocityStore(ddb, "velocity").load(["card#t"], NOW)

    assert (waits, counters["card#t"].exists) == ([0], True)


def test_given_a_merchant_correction_then_it_is_sent_as_the_records_are(pipeline_factory, make_txn):
    # Unguarded increments, like step 3's: through the store's writer, never the SDK's to resend.
    batch = records(make_txn, 2)
    second = AcceptedTransaction.model_validate_json(batch[1]["body"]).transaction_id
    writes = StubDynamo({}, [on(lambda s: {"S": second} in s["Parameters"], "DuplicateItem")])
    pipeline, ddb = pipeline_factory(writes=writes)

    result = pipeline.process(batch)

    assert (result.failures, result.duplicates, result.merchant_drift) == ({}, 1, 0)
    records_and_shard, (correction,) = writes.sent
    assert kinds(records_and_shard) == ["tx:INSERT", "tx:INSERT", "velocity:INSERT"]
    assert touches("merchant#m_1001#0")(correction)  # the duplicate's count taken back out
    assert [kinds(call) for call in ddb.sent] == [["velocity:INSERT"] * 3]  # cards and IP


# DynamoDB's error guide: a write answered with an internal server error "may have succeeded or
# failed". A merchant shard's increment has no guard: it is neither sent again nor taken back,
# and what it may have miscounted is reported as drift.


def test_given_the_merchant_statement_is_answered_with_an_internal_error_then_no_correction(
    pipeline_factory, make_txn
):
    merchant = touches("merchant#m_1001#0")
    pipeline, ddb = pipeline_factory(
        script=[lambda st: [None] * len(st), on(merchant, "InternalServerError")]
    )

    result = pipeline.process(records(make_txn, 2))

    assert (result.failures, result.merchant_drift) == ({}, 2)
    assert len(ddb.sent) == 2  # counters, then records and shard: nothing after


def test_given_a_duplicate_beside_a_merchant_statement_in_doubt_then_both_sales_are_drift(
    pipeline_factory, make_txn
):
    # the duplicate's sale may have been counted here as well as by its other delivery
    def answers(statements):
        duplicate = [s for s in statements if inserts("tx")(s)][1]
        merchant = touches("merchant#m_1001#0")
        return [
            "DuplicateItem" if s is duplicate else "InternalServerError" if merchant(s) else None
            for s in statements
        ]

    batch = records(make_txn, 2)
    pipeline, ddb = pipeline_factory(script=[lambda st: [None] * len(st), answers])

    result = pipeline.process(batch)

    assert (result.failures, result.duplicates, result.merchant_drift) == ({}, 1, 2)
    assert len(ddb.sent) == 2  # no correction either way


def test_given_a_record_insert_answered_with_an_internal_error_then_its_count_is_not_taken_back(
    pipeline_factory, make_txn
):
    batch, pipeline, ddb = second_insert_answered(pipeline_factory, make_txn, "InternalServerError")
    result = pipeline.process(batch)

    # the record may be stored: SQS redelivers it and its probe finds it or stores it then
    assert set(result.failures) == {"m1"}
    assert result.merchant_drift == 1
    assert len(ddb.sent) == 2  # no -1 on the shard, which may have counted a stored sale


def test_given_a_correction_answered_with_an_internal_error_then_it_is_not_sent_again(
    pipeline_factory, make_txn
):
    batch, pipeline, ddb = second_insert_answered(
        pipeline_factory,
        make_txn,
        "DuplicateItem",
        on(touches("merchant#m_1001#0"), "InternalServerError"),
    )

    result = pipeline.process(batch)

    assert (result.failures, result.duplicates, result.merchant_drift) == ({}, 1, 1)
    (correction,) = ddb.sent[-1]
    assert {"N": "-1"} in correction["Parameters"]
    assert len(ddb.sent) == 3  # the correction once, not again


def test_given_a_card_write_answered_with_an_internal_error_then_it_is_read_back_and_settled(
    pipeline_factory, make_txn
):
    # a guarded write: reading the item back tells whether it was applied
    pipeline, ddb = pipeline_factory(
        script=[on(touches("card#tok_0000"), "InternalServerError"), lambda st: [None] * len(st)]
    )

    result = pipeline.process(records(make_txn, 1))

    assert result.failures == {}
    assert ddb.reads[-1]["velocity"]["ConsistentRead"] is True  # read back before resending
    assert kinds(ddb.sent[1]) == ["velocity:INSERT"]  # the card, rebuilt and sent again

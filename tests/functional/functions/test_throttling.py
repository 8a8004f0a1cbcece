"""A table that throttles (an on-demand table above its warm throughput or twice its previous
peak, or a hot partition): each throttled write fails only its own message, SQS redelivers it,
and the redelivery records it once and counts it once (ADR 0003).

GIVEN the real handlers against moto WHEN DynamoDB answers with its throttling errors (per
statement inside ``BatchExecuteStatement``, for a whole call, as unprocessed keys of
``BatchGetItem``) THEN the batch reports exactly the affected messages as failures, nothing is
half-stored, and delivering the same messages again (SQS after the visibility timeout) ends with
one record and one count per transaction.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from txn_domain.velocity import PACK


def sqs_event(*records):
    return {"Records": list(records)}


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {f["itemIdentifier"] for f in response["batchItemFailures"]}


def throttled(operation: str) -> ClientError:
    error = {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}
    return ClientError({"Error": error}, operation)


def counts(aws) -> dict[str, int]:
    """Lifetime count per card item and the merchant's over its shards; an IP item's (windows
    only) over its hour buckets."""
    found: dict[str, int] = {}
    for item in aws.items("velocity"):
        key = item["pk"]
        if key.startswith("merchant#"):
            key = key.rsplit("#", 1)[0]
        if key.startswith("ip#"):
            count = sum(int(v) // PACK for name, v in item.items() if name.startswith("d"))
        else:
            count = int(item.get("hn", 0))
        found[key] = found.get(key, 0) + count
    return found


@pytest.fixture
def ddb(fraud_app) -> Any:
    """The fraud detector's client for the records' writes (never resent by the SDK)."""
    return fraud_app.pipeline._store._writes


@pytest.fixture
def reads(fraud_app) -> Any:
    """The client the fraud detector reads and counts with."""
    return fraud_app.pipeline._velocity._ddb


def test_given_record_inserts_throttled_per_statement_then_only_those_messages_retry(
    fraud_app, accepted, sqs_record, aws, context, ddb, monkeypatch
):
    bodies = [accepted(card_token=f"tok_{i}", ip_address=f"198.51.100.{i}") for i in range(3)]
    records = [sqs_record(b) for b in bodies]
    throttled_id = json.loads(bodies[1])["transaction_id"]
    real = ddb.batch_execute_statement

    def throttle_one_insert(Statements: list[dict[str, Any]]) -> dict[str, Any]:
        def hit(s: dict[str, Any]) -> bool:
            return (
                s["Statement"].startswith('INSERT INTO "transactions"')
                and {"S": throttled_id} in s["Parameters"]
            )

        passed = [s for s in Statements if not hit(s)]
        answers = iter(real(Statements=passed)["Responses"] if passed else [])
        error = {"Code": "ProvisionedThroughputExceeded", "Message": "throughput exceeded"}
        return {"Responses": [{"Error": error} if hit(s) else next(answers) for s in Statements]}

    monkeypatch.setattr(ddb, "batch_execute_statement", throttle_one_insert)
    first = fraud_app.lambda_handler(sqs_event(*records), context)
    monkeypatch.setattr(ddb, "batch_execute_statement", real)

    assert failed_ids(first) == {records[1]["messageId"]}
    stored = {i["transaction_id"] for i in aws.items("transactions")}
    assert throttled_id not in stored
    assert len(stored) == 2
    # its card and IP were counted (guarded), its merchant count was taken back with its record
    assert counts(aws)["card#tok_1"] == 1
    assert counts(aws)["merchant#m_1001"] == 2

    again = fraud_app.lambda_handler(sqs_event(*records), context)  # SQS redelivers

    assert again == {"batchItemFailures": []}
    assert {i["transaction_id"] for i in aws.items("transactions")} == {
        json.loads(b)["transaction_id"] for b in bodies
    }
    assert counts(aws)["card#tok_1"] == 1  # not counted twice
    assert counts(aws)["ip#198.51.100.1"] == 1
    assert counts(aws)["merchant#m_1001"] == 3


def test_given_the_whole_records_call_throttled_then_every_message_retries_and_counts_once(
    fraud_app, accepted, sqs_record, aws, context, ddb, monkeypatch
):
    records = [sqs_record(accepted(card_token=f"tok_{i}")) for i in range(2)]
    real = ddb.batch_execute_statement

    def throttle_records(Statements: list[dict[str, Any]]) -> dict[str, Any]:
        if any(s["Statement"].startswith('INSERT INTO "transactions"') for s in Statements):
            raise throttled("BatchExecuteStatement")
        return real(Statements=Statements)

    monkeypatch.setattr(ddb, "batch_execute_statement", throttle_records)
    first = fraud_app.lambda_handler(sqs_event(*records), context)
    monkeypatch.setattr(ddb, "batch_execute_statement", real)

    assert failed_ids(first) == {r["messageId"] for r in records}
    assert aws.items("transactions") == []

    again = fraud_app.lambda_handler(sqs_event(*records), context)

    assert again == {"batchItemFailures": []}
    assert len(aws.items("transactions")) == 2
    assert (counts(aws)["card#tok_0"], counts(aws)["card#tok_1"]) == (1, 1)
    assert counts(aws)["merchant#m_1001"] == 2


def test_given_reads_left_unprocessed_then_nothing_is_written_and_every_message_retries(
    fraud_app, accepted, sqs_record, aws, context, reads, monkeypatch
):
    records = [sqs_record(accepted())]

    def nothing_processed(RequestItems: dict[str, Any]) -> dict[str, Any]:
        return {"Responses": {}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(reads, "batch_get_item", nothing_processed)
    waits: list[int] = []
    monkeypatch.setattr("txn_adapters.merchants.backoff", waits.append)
    response = fraud_app.lambda_handler(sqs_event(*records), context)

    assert failed_ids(response) == {records[0]["messageId"]}
    assert (aws.items("transactions"), aws.items("velocity")) == ([], [])
    assert waits == [0, 1, 2, 3]  # five reads, a growing wait before each one sent again


def test_given_the_failed_record_write_throttled_then_it_retries_and_is_recorded_once(
    failed_app, accepted, sqs_record, aws, context, monkeypatch
):
    records = [sqs_record(accepted(), receive_count=6), sqs_record(accepted(card_token="tok_b"))]
    client = failed_app.store._ddb
    real = client.put_item
    calls: list[str] = []

    def throttle_first(**kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs["Item"]["transaction_id"]["S"])
        if len(calls) == 1:
            raise throttled("PutItem")
        return real(**kwargs)

    monkeypatch.setattr(client, "put_item", throttle_first)
    first = failed_app.lambda_handler(sqs_event(*records), context)

    assert failed_ids(first) == {records[0]["messageId"]}
    assert len(aws.items("transactions")) == 1

    again = failed_app.lambda_handler(sqs_event(*records), context)

    assert again == {"batchItemFailures": []}
    items = aws.items("transactions")
    assert len(items) == 2
    assert {i["status"] for i in items} == {"FAILED"}

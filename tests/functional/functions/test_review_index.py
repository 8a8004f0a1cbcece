"""The sparse ``review-by-merchant`` index against moto: what the functions store lands in it
exactly when a person must look at the record, and the runbook's query ("Fraud alerts": a
merchant's FLAGGED records, newest first) returns them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.functional.functions.conftest import ROOT
from txn_spec.shapes import REVIEW_INDEX, REVIEW_KEY

BLOCKLISTED_BIN = "400000"  # the rule document's blocklist: always FLAGGED
# The runbook's query, as the test sends it (the runbook must show the same expressions).
KEY_CONDITION = "review_merchant_id = :m"
FILTER = "#s = :flagged"


def sqs_event(*records):
    return {"Records": list(records)}


def flagged_by_merchant(aws, merchant_id: str) -> list[dict[str, Any]]:
    """The runbook's query (docs/runbooks.md, "Fraud alerts"), as boto3 sends it."""
    pages = aws.dynamodb.get_paginator("query").paginate(
        TableName="transactions",
        IndexName=REVIEW_INDEX.name,
        KeyConditionExpression=KEY_CONDITION,
        FilterExpression=FILTER,
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":m": {"S": merchant_id}, ":flagged": {"S": "FLAGGED"}},
        ScanIndexForward=False,
    )
    return [item for page in pages for item in page["Items"]]


def hours_ago(hours: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def indexed(aws) -> list[dict[str, Any]]:
    return aws.dynamodb.scan(TableName="transactions", IndexName=REVIEW_INDEX.name)["Items"]


def test_given_approved_and_flagged_records_then_only_the_flagged_one_is_in_the_index(
    fraud_app, accepted, sqs_record, aws, context
):
    approved = accepted()
    flagged = accepted(card_bin=BLOCKLISTED_BIN, card_token="tok_flag")

    fraud_app.lambda_handler(sqs_event(sqs_record(approved), sqs_record(flagged)), context)

    by_id = {i["transaction_id"]: i for i in aws.items("transactions")}
    flagged_item = by_id[json.loads(flagged)["transaction_id"]]
    approved_item = by_id[json.loads(approved)["transaction_id"]]
    assert (flagged_item["status"], flagged_item[REVIEW_KEY]) == ("FLAGGED", "m_1001")
    assert (approved_item["status"], REVIEW_KEY in approved_item) == ("APPROVED", False)
    assert [i["transaction_id"]["S"] for i in indexed(aws)] == [flagged_item["transaction_id"]]


def test_given_a_dead_lettered_transaction_then_its_failed_record_is_in_the_index(
    failed_app, accepted, sqs_record, aws, context
):
    body = accepted(merchant_id="m_2001")

    failed_app.lambda_handler(sqs_event(sqs_record(body, receive_count=6)), context)

    (item,) = aws.items("transactions")
    assert (item["status"], item[REVIEW_KEY]) == ("FAILED", "m_2001")
    assert [i["transaction_id"]["S"] for i in indexed(aws)] == [item["transaction_id"]]


def test_given_an_unparsable_dead_letter_then_its_failed_record_stays_out_of_the_index(
    failed_app, sqs_record, aws, context
):
    failed_app.lambda_handler(sqs_event(sqs_record('{"not": "a transaction"}')), context)

    (item,) = aws.items("transactions")
    assert item["status"] == "FAILED"
    assert REVIEW_KEY not in item
    assert indexed(aws) == []


def test_the_runbook_query_lists_a_merchants_flagged_records_newest_first(
    fraud_app, failed_app, accepted, sqs_record, aws, context
):
    older = accepted(card_bin=BLOCKLISTED_BIN, timestamp=hours_ago(2))
    newer = accepted(card_bin=BLOCKLISTED_BIN, card_token="tok_b", timestamp=hours_ago(1))
    other_merchant = accepted(
        card_bin=BLOCKLISTED_BIN, card_token="tok_c", merchant_id="m_2001", currency="EUR"
    )
    approved = accepted(card_token="tok_d")
    failed = accepted(card_token="tok_e")
    fraud_app.lambda_handler(
        sqs_event(*(sqs_record(b) for b in (older, other_merchant, newer, approved))), context
    )
    failed_app.lambda_handler(sqs_event(sqs_record(failed, receive_count=6)), context)

    found = flagged_by_merchant(aws, "m_1001")

    ids = [json.loads(b)["transaction_id"] for b in (newer, older)]
    assert [i["transaction_id"]["S"] for i in found] == ids
    assert {i["status"]["S"] for i in found} == {"FLAGGED"}
    # the projection is ALL: the reviewer gets the score and rules without a second read
    assert {"score", "matched_rules", "amount", "card_last4"} <= set(found[0])
    assert [i["status"]["S"] for i in indexed(aws) if i["merchant_id"]["S"] == "m_1001"].count(
        "FAILED"
    ) == 1


def test_the_runbook_shows_the_query_this_file_runs() -> None:
    runbook = (ROOT / "docs" / "runbooks.md").read_text()
    section = runbook.split("## Fraud alerts", 1)[1]
    for part in (f"--index-name {REVIEW_INDEX.name}", KEY_CONDITION, FILTER, '"#s": "status"'):
        assert part in section, part

"""The sparse review index's key: only records whose status needs a person carry it.

GIVEN a decided or failed record WHEN the transactions store writes it (the fraud detector's
PartiQL INSERT, the failed-transaction function's conditional PutItem) THEN the stored item has
``review_merchant_id`` = its merchant exactly when the status is FLAGGED or FAILED.
"""

from __future__ import annotations

from typing import Any

import pytest

from txn_adapters.transactions import TransactionsStore, stored_item
from txn_domain.fraud import transaction_record
from txn_domain.models import Decision, Status
from txn_spec.shapes import REVIEW_KEY, TRANSACTION_EXPIRY, TRANSACTION_RETENTION_DAYS

NEEDS_REVIEW = {Status.APPROVED: False, Status.FLAGGED: True, Status.FAILED: True}


class RecordingDynamoDB:
    """Keeps what ``put_item`` was asked to store; answers like DynamoDB for a new key."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.items.append(kwargs["Item"])
        return {}


def decided(make_txn, status: Status) -> dict[str, Any]:
    decision = Decision(status=status, score=0, matched_rules=(), rules_version="v")
    return transaction_record(make_txn(), decision, "2026-11-30T12:00:01Z")


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_the_key_is_the_merchant_exactly_for_statuses_that_need_review(make_txn, status) -> None:
    item = stored_item(decided(make_txn, status))

    assert (REVIEW_KEY in item) is NEEDS_REVIEW[status]
    if NEEDS_REVIEW[status]:
        assert item[REVIEW_KEY] == item["merchant_id"] == "m_1001"


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_the_fraud_detector_insert_carries_the_key_only_for_review(make_txn, status) -> None:
    statement = TransactionsStore(None, "transactions").insert(decided(make_txn, status))

    assert (f"'{REVIEW_KEY}': ?" in statement.text) is NEEDS_REVIEW[status]
    if NEEDS_REVIEW[status]:
        assert statement.params.count({"S": "m_1001"}) == 2  # merchant_id and the index key


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_the_conditional_put_carries_the_key_only_for_review(make_txn, status) -> None:
    ddb = RecordingDynamoDB()

    TransactionsStore(ddb, "transactions").put_if_new(decided(make_txn, status))

    (item,) = ddb.items
    assert (item.get(REVIEW_KEY) == {"S": "m_1001"}) is NEEDS_REVIEW[status]
    assert (REVIEW_KEY in item) is NEEDS_REVIEW[status]


def test_a_failed_record_without_a_merchant_carries_no_key() -> None:
    unparsed = {
        "transaction_id": "unparsed-m1",
        "timestamp": "t",
        "status": "FAILED",
        "failed_at": "2026-11-30T12:00:00.000Z",
    }

    assert REVIEW_KEY not in stored_item(unparsed)


def test_the_record_itself_is_not_changed() -> None:
    record = {
        "transaction_id": "t1",
        "timestamp": "t",
        "status": "FLAGGED",
        "merchant_id": "m",
        "received_at": "2026-11-30T12:00:00.000Z",
    }

    stored_item(record)

    assert REVIEW_KEY not in record
    assert TRANSACTION_EXPIRY not in record


RECEIVED = 1_796_040_000  # 2026-11-30T12:00:00Z


@pytest.mark.parametrize(
    "times",
    [
        {"received_at": "2026-11-30T12:00:00.000Z"},  # decided, or failed after it was parsed
        {"received_at": "2026-11-30T12:00:00.000Z", "failed_at": "2026-12-01T08:00:00.000Z"},
        {"failed_at": "2026-11-30T12:00:00.000Z"},  # a message that was no transaction
    ],
)
def test_every_record_expires_the_retention_period_after_it_was_received(times) -> None:
    # PCI DSS 3.2.1: the table's TTL deletes what is no longer needed
    item = stored_item({"transaction_id": "t1", "timestamp": "t", "status": "FAILED", **times})

    assert item[TRANSACTION_EXPIRY] == RECEIVED + TRANSACTION_RETENTION_DAYS * 86400


def test_the_insert_and_the_put_store_the_expiry(make_txn) -> None:
    record = decided(make_txn, Status.APPROVED)
    expected = {"N": str(RECEIVED + TRANSACTION_RETENTION_DAYS * 86400)}
    ddb = RecordingDynamoDB()

    statement = TransactionsStore(ddb, "transactions").insert(record)
    TransactionsStore(ddb, "transactions").put_if_new(record)

    assert f"'{TRANSACTION_EXPIRY}': ?" in statement.text
    assert expected in statement.params
    assert ddb.items[0][TRANSACTION_EXPIRY] == expected

"""The fraud report's lookup of its transaction: a strongly consistent Query on the id."""

from __future__ import annotations

from typing import Any

from txn_adapters.transactions import TransactionsStore


class RecordingDynamoDB:
    """Records the Query it is sent and answers with ``items``."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.queries: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.queries.append(kwargs)
        return {"Items": self.items}


def test_the_reported_transaction_is_read_strongly_consistent() -> None:
    # a report found nothing is acknowledged for good (transaction_unknown): an eventually
    # consistent read could miss a record written a moment before
    ddb = RecordingDynamoDB([])

    assert TransactionsStore(ddb, "transactions").find("01JDZZZZZZZZZZZZZZZZZZ9999") is None

    (query,) = ddb.queries
    assert query["ConsistentRead"] is True
    assert query["KeyConditionExpression"] == "transaction_id = :id"
    assert query["ExpressionAttributeValues"] == {":id": {"S": "01JDZZZZZZZZZZZZZZZZZZ9999"}}

"""The fraud detector's batch intake: parse each body, group message ids by transaction."""

from __future__ import annotations

import json

import pytest

from fraud_detector.messages import by_transaction
from fraud_detector.pipeline import _parse
from fraud_detector.reports import parse_report
from txn_domain.errors import BadRequestError


def report(transaction_id: str) -> str:
    return json.dumps(
        {
            "transaction_id": transaction_id,
            "kind": "chargeback",
            "reported_at": "2026-12-01T10:00:00.000Z",
            "received_at": "2026-12-01T10:00:01.000Z",
            "schema_version": "1",
        }
    )


def test_a_transaction_twice_in_a_batch_is_kept_once_and_both_messages_are_named():
    records = [
        {"messageId": "m1", "body": report("01JDAAAAAAAAAAAAAAAAAAAAAA")},
        {"messageId": "m2", "body": "{not json"},
        {"messageId": "m3", "body": report("01JDBBBBBBBBBBBBBBBBBBBBBB")},
        {"messageId": "m4", "body": report("01JDAAAAAAAAAAAAAAAAAAAAAA")},
    ]
    failures: dict[str, Exception] = {}
    first, message_ids = by_transaction(records, parse_report, failures)

    assert list(first) == ["01JDAAAAAAAAAAAAAAAAAAAAAA", "01JDBBBBBBBBBBBBBBBBBBBBBB"]
    assert message_ids == {
        "01JDAAAAAAAAAAAAAAAAAAAAAA": ["m1", "m4"],
        "01JDBBBBBBBBBBBBBBBBBBBBBB": ["m3"],
    }
    assert list(failures) == ["m2"]
    assert isinstance(failures["m2"], BadRequestError)


@pytest.mark.parametrize(
    ("read", "what"),
    [(_parse, "a transaction"), (parse_report, "a fraud report")],
)
def test_a_body_of_the_wrong_shape_is_a_coded_error_naming_the_field(read, what):
    with pytest.raises(BadRequestError) as caught:
        read(json.dumps({"transaction_id": 7}))
    assert str(caught.value).startswith(f"queued message is not {what}")
    assert caught.value.field

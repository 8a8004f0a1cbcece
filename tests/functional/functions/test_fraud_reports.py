"""``POST /fraud-reports`` (ADR 0013) through the real handlers on moto: the validator queues a
report marked by its kind; the fraud detector finds the stored transaction and raises the card's,
terminal's and merchant's risk once; a bad report is a coded 4xx and queues nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.functional.functions.conftest import (
    API_KEY_ID,
    REGION,
    make_report_event,
    report_body,
    report_record,
    reported,
)
from txn_domain.risk import OWN, Risk
from txn_spec.shapes import FRAUD_REPORT_KIND, MESSAGE_KIND_ATTRIBUTE

CARD_PRESENT = {
    "channel": "card_present",
    "terminal_id": "T-42",
    "ip_address": None,
    "ip_country": None,
    "card_token": "tok_reported",
}


def velocity_item(key: str) -> dict | None:
    found = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName="velocity", Key={"pk": {"S": key}, "sk": {"S": "v"}}
    )
    return found.get("Item")


@pytest.fixture
def decided(posted, fraud_app, context) -> str:
    """A card-present sale at terminal T-42, posted with API_KEY_ID and stored by the fraud
    detector: its id."""
    record = posted(**CARD_PRESENT)
    response = fraud_app.lambda_handler({"Records": [record]}, context)
    assert response == {"batchItemFailures": []}
    return json.loads(record["body"])["transaction_id"]


def test_given_a_report_when_posted_then_202_and_queued_marked_as_a_report(
    validator_app, aws, context
):
    txn_id = "01JDZZZZZZZZZZZZZZZZZZ0001"
    response = validator_app.lambda_handler(make_report_event(report_body(txn_id)), context)

    assert response["statusCode"] == 202
    assert json.loads(response["body"])["transaction_id"] == txn_id
    (message,) = aws.messages()
    assert message["MessageAttributes"][MESSAGE_KIND_ATTRIBUTE]["StringValue"] == (
        FRAUD_REPORT_KIND
    )
    queued = json.loads(message["Body"])
    assert set(queued) == {
        "transaction_id",
        "kind",
        "reported_at",
        "received_at",
        "api_key_id",
        "schema_version",
    }
    assert queued["api_key_id"] == API_KEY_ID  # whose report it is, checked when it is taken


def test_given_a_report_without_an_api_key_then_403_and_nothing_queued(validator_app, aws, context):
    # never behind API Gateway (every method requires a key): a direct invoke of the function
    event = make_report_event(report_body("01JDZZZZZZZZZZZZZZZZZZ0001"))
    del event["requestContext"]["identity"]["apiKeyId"]

    response = validator_app.lambda_handler(event, context)

    assert response["statusCode"] == 403
    assert json.loads(response["body"])["error"]["code"] == "forbidden"
    assert aws.messages() == []


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"kind": "refund"}, "invalid_value", "kind"),
        ({"transaction_id": "not-a-ulid"}, "invalid_format", "transaction_id"),
        ({"card_number": "4111111111111111"}, "pan_not_allowed", "card_number"),
        ({"merchant_id": "m_1001"}, "unknown_field", "merchant_id"),
        (
            {"reported_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
            "invalid_value",
            "reported_at",
        ),
    ],
)
def test_given_a_bad_report_when_posted_then_a_coded_400_and_nothing_queued(
    validator_app, aws, context, change, code, field
):
    body = {**report_body("01JDZZZZZZZZZZZZZZZZZZ0001"), **change}
    response = validator_app.lambda_handler(make_report_event(body), context)

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == code
    assert json.loads(response["body"])["error"]["field"] == field
    assert "4111111111111111" not in response["body"]
    assert aws.messages() == []


def test_given_a_report_on_a_stored_sale_then_card_terminal_and_merchant_risk_rise_once(
    decided, validator_app, fraud_app, aws, sqs_record, context
):
    # GIVEN the validator queued a report on the stored sale
    event = make_report_event(report_body(decided, kind="confirmed_fraud"))
    assert validator_app.lambda_handler(event, context)["statusCode"] == 202
    (message,) = aws.messages()
    record = report_record(sqs_record, message["Body"])

    # WHEN the fraud detector takes it, and takes it again (a redelivery)
    for attempt in range(2):
        response = fraud_app.lambda_handler({"Records": [record]}, context)
        assert response == {"batchItemFailures": []}, attempt
        if attempt == 0:
            merchant = velocity_item("risk#m_1001")
            card = velocity_item("card#tok_reported")

    # THEN the terminal, the merchant and the card hold one confirmed fraud each, once
    assert merchant is not None
    assert card is not None
    now = int(datetime.now(UTC).timestamp())
    risk = Risk.parse(merchant["rk"]["S"])
    assert risk.score("T-42", now) == pytest.approx(1.0, abs=1e-3)
    assert risk.score(OWN, now) == pytest.approx(1.0, abs=1e-3)
    assert Risk.parse(card["rk"]["S"]).score(OWN, now) == pytest.approx(1.0, abs=1e-3)
    assert velocity_item("risk#m_1001") == merchant
    assert velocity_item("card#tok_reported") == card
    # the card's windows and profile are as the sale left them: the report only adds rk
    assert card["hn"] == {"N": "1"}


def test_given_a_report_on_an_unknown_transaction_then_acknowledged_and_nothing_written(
    fraud_app, aws, sqs_record, context, log_stream
):
    logs = log_stream(fraud_app)
    record = report_record(sqs_record, reported("01JDZZZZZZZZZZZZZZZZZZ9999"))

    response = fraud_app.lambda_handler({"Records": [record]}, context)

    assert response == {"batchItemFailures": []}
    assert aws.items("velocity") == []
    assert "transaction_unknown" in logs.getvalue()


@pytest.mark.parametrize(
    ("sender", "counted"),
    [
        ("key-of-another-provider", False),  # not bound to m_1001: dropped, said, counted never
        (None, True),  # queued before ADR 0024 by a validator that had admitted it: counted
    ],
)
def test_given_a_report_on_a_sale_then_it_counts_only_from_a_key_bound_to_its_merchant(
    decided, fraud_app, aws, sqs_record, context, log_stream, capsys, sender, counted
):
    logs = log_stream(fraud_app)
    record = report_record(sqs_record, reported(decided, api_key_id=sender))

    response = fraud_app.lambda_handler({"Records": [record]}, context)

    assert response == {"batchItemFailures": []}  # acknowledged either way: a retry is no use
    card = velocity_item("card#tok_reported")
    assert card is not None  # the sale's own windows
    assert ("rk" in card) is counted  # the card's confirmed fraud
    assert (velocity_item("risk#m_1001") is not None) is counted  # the shop's and terminal's
    said = [json.loads(x) for x in logs.getvalue().splitlines() if "[not_permitted]" in x]
    expected = {"transaction_id": decided, "merchant_id": "m_1001", "api_key_id": sender}
    assert [{k: line[k] for k in expected} for line in said] == ([] if counted else [expected])
    outcome = "counted" if counted else "not_permitted"
    assert f'"outcome":"{outcome}"' in capsys.readouterr().out.replace(" ", "")


def test_given_the_merchant_left_the_provider_that_posted_a_sale_then_its_report_still_counts(
    decided, fraud_app, aws, sqs_record, context, log_stream
):
    # GIVEN the sale was stored with the key that posted it, and the merchant has since moved
    # to another provider (its item names only the new provider's key)
    (stored,) = [i for i in aws.items("transactions") if i["transaction_id"] == decided]
    assert stored["api_key_id"] == API_KEY_ID
    boto3.resource("dynamodb", region_name=REGION).Table("merchants").update_item(
        Key={"merchant_id": "m_1001"},
        UpdateExpression="SET api_key_ids = :v",
        ExpressionAttributeValues={":v": {"key-of-the-new-provider"}},
    )
    fraud_app.pipeline._merchants._cache.clear()  # as a minute later (the cache's TTL)
    logs = log_stream(fraud_app)

    # WHEN the old provider reports the chargeback it received, and a third key reports it too
    records = [
        report_record(sqs_record, reported(decided, api_key_id=key))
        for key in (API_KEY_ID, "key-of-another-provider")
    ]
    assert fraud_app.lambda_handler({"Records": records}, context) == {"batchItemFailures": []}

    # THEN the poster's report counts; the third key, which neither posted nor is named, is said
    assert "rk" in (velocity_item("card#tok_reported") or {})
    said = [json.loads(x) for x in logs.getvalue().splitlines() if "[not_permitted]" in x]
    assert [line["api_key_id"] for line in said] == ["key-of-another-provider"]


def test_given_a_sale_queued_without_the_attribute_then_its_merchants_binding_alone_judges(
    accepted, fraud_app, aws, sqs_record, context
):
    # GIVEN a sale queued by a validator from before keys were kept: no attribute
    body = json.loads(accepted(**CARD_PRESENT))
    sale = sqs_record(json.dumps(body))
    assert fraud_app.lambda_handler({"Records": [sale]}, context) == {"batchItemFailures": []}
    (stored,) = aws.items("transactions")
    assert "api_key_id" not in stored

    # WHEN a key the merchant does not name reports it, THEN it is not counted
    reporter = "key-of-another-provider"
    report = report_record(sqs_record, reported(body["transaction_id"], api_key_id=reporter))
    assert fraud_app.lambda_handler({"Records": [report]}, context) == {"batchItemFailures": []}
    assert "rk" not in (velocity_item("card#tok_reported") or {})


def test_given_two_keys_report_one_sale_in_a_batch_then_it_counts_once_and_the_other_is_said(
    decided, fraud_app, sqs_record, context, log_stream, capsys
):
    logs = log_stream(fraud_app)
    records = [
        report_record(sqs_record, reported(decided, api_key_id=key))
        for key in ("key-of-another-provider", API_KEY_ID)
    ]

    assert fraud_app.lambda_handler({"Records": records}, context) == {"batchItemFailures": []}

    card = velocity_item("card#tok_reported")
    assert card is not None
    assert "rk" in card  # counted, once, for the bound key
    said = [json.loads(x) for x in logs.getvalue().splitlines() if "[not_permitted]" in x]
    assert [line["api_key_id"] for line in said] == ["key-of-another-provider"]
    out = capsys.readouterr().out.replace(" ", "")
    assert '"outcome":"counted"' in out
    assert '"outcome":"not_permitted"' in out


def test_given_a_sales_merchant_item_that_does_not_validate_then_only_its_report_waits_for_the_mend(
    decided, accepted, fraud_app, sqs_record, context
):
    # GIVEN a second stored sale, of m_1002, whose item is then written wrong by hand
    other = accepted(merchant_id="m_1002", card_token="tok_other_shop")
    assert fraud_app.lambda_handler({"Records": [sqs_record(other)]}, context) == {
        "batchItemFailures": []
    }
    merchants = boto3.resource("dynamodb", region_name=REGION).Table("merchants")

    def bind(value: object) -> None:
        merchants.update_item(
            Key={"merchant_id": "m_1002"},
            UpdateExpression="SET api_key_ids = :v",
            ExpressionAttributeValues={":v": value},
        )

    bind(API_KEY_ID)  # a string, not a string set
    fraud_app.pipeline._merchants._cache.clear()  # as a minute later (the cache's TTL)
    hurt = report_record(sqs_record, reported(json.loads(other)["transaction_id"]))
    fine = report_record(sqs_record, reported(decided))

    # WHEN reports on both sales come in one batch
    first = fraud_app.lambda_handler({"Records": [hurt, fine]}, context)

    # THEN the sale of the mended merchant counts; the other report is retried until the mend
    assert first == {"batchItemFailures": [{"itemIdentifier": hurt["messageId"]}]}
    assert "rk" in (velocity_item("card#tok_reported") or {})
    assert "rk" not in (velocity_item("card#tok_other_shop") or {})
    bind({API_KEY_ID})
    assert fraud_app.lambda_handler({"Records": [hurt]}, context) == {"batchItemFailures": []}
    assert "rk" in (velocity_item("card#tok_other_shop") or {})

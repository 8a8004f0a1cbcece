from __future__ import annotations

import json

import boto3
import pytest

from tests.functional.functions.conftest import API_KEY_ID, REGION

PAN = "4111111111111111"


def body_of(response):
    return json.loads(response["body"])


def test_given_a_plain_body_when_posted_then_202_and_one_message_queued(
    validator_app, api_event, make_body, aws, context
):
    response = validator_app.lambda_handler(api_event(make_body()), context)

    assert response["statusCode"] == 202
    answer = body_of(response)
    (message,) = aws.messages()
    queued = json.loads(message["Body"])
    assert queued["transaction_id"] == answer["transaction_id"]
    assert queued["received_at"] == answer["received_at"]
    assert "api_key_id" not in queued  # an attribute: a consumer from before it ignores it
    assert queued["timestamp"].endswith("Z")
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "merchant_id": "m_1001",
        "currency": "USD",
        "channel": "ecommerce",
        "schema_version": "1",
        "transaction_id": answer["transaction_id"],
        "api_key_id": API_KEY_ID,  # stored with the record: who posted it (ADR 0024)
    }


def test_given_a_base64_body_when_posted_then_202(validator_app, api_event, make_body, context):
    response = validator_app.lambda_handler(api_event(make_body(), b64=True), context)
    assert response["statusCode"] == 202


def test_given_no_idempotency_key_when_posted_then_nothing_written_to_idempotency_table(
    validator_app, api_event, make_body, aws, context
):
    validator_app.lambda_handler(api_event(make_body()), context)
    assert aws.items("idempotency") == []


@pytest.mark.parametrize(
    ("event_kw", "code"),
    [
        ({"body": None}, "missing_body"),
        ({"body": "{not json"}, "malformed_json"),
        ({"body": "[1, 2]"}, "invalid_type"),
        ({"body": "bm90IGpzb24=", "b64": True}, "malformed_json"),
        ({"body": "***", "flag_only": True}, "malformed_body"),
        ({"body": '{"amount": 1}'}, "missing_field"),
    ],
)
def test_given_malformed_input_when_posted_then_400_with_error_shape(
    validator_app, api_event, aws, context, event_kw, code
):
    event_kw = dict(event_kw)
    flag_only = event_kw.pop("flag_only", False)
    event = api_event(event_kw.pop("body"), **event_kw)
    if flag_only:  # flagged as base64 but is not
        event["isBase64Encoded"] = True
    response = validator_app.lambda_handler(event, context)

    assert response["statusCode"] == 400
    error = body_of(response)["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["code"] == code
    assert aws.messages() == []


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"merchant_id": "m_nope"}, "merchant_unknown", "merchant_id"),
        ({"merchant_id": "m_9001"}, "merchant_inactive", "merchant_id"),
        ({"currency": "EUR"}, "currency_not_allowed", "currency"),
        ({"amount": 500_001}, "amount_over_limit", "amount"),
    ],
)
def test_given_merchant_terms_broken_when_posted_then_422(
    validator_app, api_event, make_body, aws, context, overrides, code, field
):
    response = validator_app.lambda_handler(api_event(make_body(**overrides)), context)

    assert response["statusCode"] == 422
    assert body_of(response)["error"]["code"] == code
    assert body_of(response)["error"]["field"] == field
    assert aws.messages() == []


@pytest.mark.parametrize("merchant_id", ["m_1001", "m_9001"])  # active, and inactive
def test_given_a_key_not_bound_to_the_merchant_then_403_and_nothing_of_the_merchant_is_told(
    validator_app, api_event, make_body, aws, context, log_stream, merchant_id
):
    logs = log_stream(validator_app)
    # the body breaks the merchant's terms too (amount over m_1001's limit; m_9001 inactive):
    # the key's binding is judged first, so another provider's key learns none of them
    body = make_body(merchant_id=merchant_id, amount=500_001)
    response = validator_app.lambda_handler(
        api_event(body, api_key_id="key-of-another-provider"), context
    )

    assert response["statusCode"] == 403
    assert body_of(response)["error"] == {
        "code": "merchant_not_permitted",
        "message": "this API key may not post for this merchant",
        "field": "merchant_id",
    }
    assert aws.messages() == []
    # the log line says which key tried which merchant (the answer does not repeat the id)
    (line,) = [json.loads(x) for x in logs.getvalue().splitlines() if "transaction refused" in x]
    assert (line["code"], line["api_key_id"], line["merchant_id"]) == (
        "merchant_not_permitted",
        "key-of-another-provider",
        merchant_id,
    )


def test_given_a_merchant_bound_to_no_key_then_every_key_is_refused(
    validator_app, api_event, make_body, aws, context
):
    merchants = boto3.resource("dynamodb", region_name=REGION).Table("merchants")
    merchants.update_item(Key={"merchant_id": "m_1001"}, UpdateExpression="REMOVE api_key_ids")

    response = validator_app.lambda_handler(api_event(make_body()), context)

    assert response["statusCode"] == 403
    assert body_of(response)["error"]["code"] == "merchant_not_permitted"
    assert aws.messages() == []


def test_given_a_pan_when_posted_then_400_not_echoed_not_logged_not_queued(
    validator_app, api_event, make_body, aws, context, log_stream
):
    logs = log_stream(validator_app)
    event = api_event(make_body(external_id=PAN, note="4111 1111 1111 1111"))

    response = validator_app.lambda_handler(event, context)

    assert response["statusCode"] == 400
    assert body_of(response)["error"]["code"] == "pan_not_allowed"
    assert PAN not in response["body"]
    assert aws.messages() == []
    (line,) = [json.loads(x) for x in logs.getvalue().splitlines() if "transaction refused" in x]
    # the code joins the access log's line of the same request: who sent a card number, when
    assert line["code"] == "pan_not_allowed"
    assert line["request_id"] == event["requestContext"]["requestId"]
    assert line["source_ip"] == "203.0.113.7"
    assert PAN not in logs.getvalue()


def test_given_same_idempotency_key_and_body_when_replayed_then_first_answer(
    validator_app, api_event, make_body, aws, context
):
    body = make_body()
    first = validator_app.lambda_handler(
        api_event(body, headers={"Idempotency-Key": "k-1"}), context
    )
    again = validator_app.lambda_handler(
        api_event(body, headers={"idempotency-key": "k-1"}), context
    )

    assert (first["statusCode"], again["statusCode"]) == (202, 202)
    assert first["body"] == again["body"]
    # re-sent with the same id: the fraud detector's conditional write drops the copy
    ids = {json.loads(m["Body"])["transaction_id"] for m in aws.messages()}
    assert ids == {body_of(first)["transaction_id"]}
    assert len(aws.items("idempotency")) == 1


def test_given_a_replay_then_it_is_queued_with_the_posting_key_as_the_first_was(
    validator_app, api_event, make_body, aws, context
):
    body = make_body()
    validator_app.lambda_handler(api_event(body, headers={"Idempotency-Key": "k-4"}), context)
    (record,) = aws.items("idempotency")
    # stored without the key, as before keys were kept: either validator reads the other's record
    assert "api_key_id" not in json.loads(record["message"])

    validator_app.lambda_handler(api_event(body, headers={"Idempotency-Key": "k-4"}), context)

    first, again = aws.messages()
    assert first["Body"] == again["Body"]
    for message in (first, again):
        assert message["MessageAttributes"]["api_key_id"]["StringValue"] == API_KEY_ID


def test_given_a_replay_then_the_first_answer_carries_idempotent_replayed(
    validator_app, api_event, make_body, context
):
    body = make_body()
    first = validator_app.lambda_handler(
        api_event(body, headers={"Idempotency-Key": "k-3"}), context
    )
    again = validator_app.lambda_handler(
        api_event(body, headers={"Idempotency-Key": "k-3"}), context
    )

    assert "Idempotent-Replayed" not in first["headers"]
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert (again["statusCode"], again["body"]) == (first["statusCode"], first["body"])


def test_given_the_quoted_structured_field_form_then_it_names_the_same_key(
    validator_app, api_event, make_body, context
):
    # draft-ietf-httpapi-idempotency-key-header: the value is an sf-string
    key = "8e03978e-40d5-43e8-bc93-6894a57f9324"
    body = make_body()
    quoted = validator_app.lambda_handler(
        api_event(body, headers={"Idempotency-Key": f'"{key}"'}), context
    )
    bare = validator_app.lambda_handler(api_event(body, headers={"Idempotency-Key": key}), context)
    other = validator_app.lambda_handler(
        api_event(make_body(amount=2500), headers={"Idempotency-Key": f'"{key}"'}), context
    )

    assert quoted["statusCode"] == 202
    assert bare["body"] == quoted["body"]
    assert bare["headers"]["Idempotent-Replayed"] == "true"
    assert other["statusCode"] == 422
    assert body_of(other)["error"]["code"] == "idempotency_key_reused"
    assert "Idempotent-Replayed" not in other["headers"]


@pytest.mark.parametrize("key", ['"unclosed', 'closed"', '""', '"a b"', '"a\\"b"', "a" * 129])
def test_given_a_malformed_quoted_key_then_400_invalid_header(
    validator_app, api_event, make_body, context, key
):
    response = validator_app.lambda_handler(
        api_event(make_body(), headers={"Idempotency-Key": key}), context
    )
    assert response["statusCode"] == 400
    assert body_of(response)["error"]["code"] == "invalid_header"


@pytest.mark.parametrize(
    "sent",
    [
        {"idempotency-key": ["k-first", "k-second"]},  # as a deployed REST API passes names
        {"Idempotency-Key": ["k-first"], "idempotency-key": ["k-second"]},  # two spellings
    ],
    ids=["one-name", "two-spellings"],
)
def test_given_two_idempotency_key_headers_then_400_invalid_header(
    validator_app, api_event, make_body, context, sent
):
    # GIVEN two Idempotency-Key headers: API Gateway's ``headers`` keeps the last one only
    event = api_event(make_body(), headers={"idempotency-key": "k-second"})
    event["multiValueHeaders"] = sent
    response = validator_app.lambda_handler(event, context)
    # THEN the request is refused, not keyed by whichever header API Gateway kept
    assert response["statusCode"] == 400
    assert body_of(response)["error"] == {
        "code": "invalid_header",
        "message": "send one Idempotency-Key header",
        "field": "Idempotency-Key",
    }


def test_given_one_idempotency_key_header_in_both_maps_then_it_keys_the_request(
    validator_app, api_event, make_body, context
):
    # API Gateway passes one header in both maps, under the same name
    event = api_event(make_body(), headers={"idempotency-key": "k-one"})
    event["multiValueHeaders"] = {"idempotency-key": ["k-one"]}
    first = validator_app.lambda_handler(event, context)
    again = validator_app.lambda_handler(event, context)
    assert first["statusCode"] == again["statusCode"] == 202
    assert again["headers"]["Idempotent-Replayed"] == "true"


def test_given_same_idempotency_key_and_other_body_when_posted_then_refused(
    validator_app, api_event, make_body, context
):
    headers = {"Idempotency-Key": "k-2"}
    validator_app.lambda_handler(api_event(make_body(), headers=headers), context)

    response = validator_app.lambda_handler(
        api_event(make_body(amount=2500), headers=headers), context
    )

    assert response["statusCode"] == 422
    assert body_of(response)["error"]["code"] == "idempotency_key_reused"


def test_given_a_bad_idempotency_key_when_posted_then_400(
    validator_app, api_event, make_body, context
):
    event = api_event(make_body(), headers={"Idempotency-Key": "bad key with spaces"})
    assert validator_app.lambda_handler(event, context)["statusCode"] == 400


def test_given_the_queue_is_gone_when_posted_then_503_with_a_code(
    validator_app, api_event, make_body, aws, context, log_stream
):
    logs = log_stream(validator_app)
    aws.sqs.delete_queue(QueueUrl=aws.queue_url)

    response = validator_app.lambda_handler(api_event(make_body()), context)

    assert response["statusCode"] == 503
    assert body_of(response)["error"]["code"] == "dependency_failed"
    assert "Traceback" not in response["body"]
    assert '"level":"ERROR"' in logs.getvalue()


def test_given_an_accepted_transaction_then_no_metric_line_is_written(
    validator_app, api_event, make_body, context, capsys
):
    # the queue's NumberOfMessagesSent counts accepted transactions; a line each would be most
    # of the function's log bill
    response = validator_app.lambda_handler(api_event(make_body()), context)

    assert response["statusCode"] == 202
    assert "_aws" not in capsys.readouterr().out


def test_given_a_replayed_key_then_the_replay_is_counted(
    validator_app, api_event, make_body, context, capsys
):
    event = api_event(make_body(), headers={"Idempotency-Key": "order-77"})
    validator_app.lambda_handler(event, context)
    capsys.readouterr()

    validator_app.lambda_handler(event, context)

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert [m.get("IdempotentReplays") for m in emf] == [[1.0]]


def test_given_a_rejection_then_metric_has_the_code_dimension(
    validator_app, api_event, make_body, context, capsys
):
    validator_app.lambda_handler(api_event(make_body(merchant_id="m_9001")), context)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    rejected = [m for m in emf if "TransactionsRejectedByCode" in m]
    assert rejected[0]["code"] == "merchant_inactive"

"""Pure parts of the local runtime: proxy events, proxy answers, batch-failure semantics,
SQS records, the request schema and the gateway responses."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import fastjsonschema
import pytest

from tests.factories import local_gateway
from txn_local.errors import LocalError
from txn_local.gateway import (
    Request,
    compile_body_check,
    from_proxy_result,
    load_request_schema,
    proxy_event,
)
from txn_local.pollers import failed_message_ids, sqs_record
from txn_spec import api_responses, shapes

OPENAPI_STUB = Path(__file__).parents[2] / "functional" / "local" / "openapi_stub.yaml"


def request(**overrides) -> Request:
    values = {
        "method": "POST",
        "path": "/transaction",
        "query": "a=1&a=2&b=",
        "headers": [
            ("x-api-key", "k"),
            ("Idempotency-Key", "abc"),
            ("X-Multi", "1"),
            ("X-Multi", "2"),
        ],
        "body": b'{"amount": 1}',
        "source_ip": "127.0.0.1",
    }
    values.update(overrides)
    return Request(**values)


def event_for(req: Request) -> dict:
    return proxy_event(
        req,
        rest_api_id="api123",
        account_id="123456789012",
        api_key="k",
        api_key_id="kid",
        host="127.0.0.1",
        port=8080,
    )


def test_proxy_event_has_the_rest_v1_shape():
    event = event_for(request())
    assert event["resource"] == "/transaction"
    assert event["httpMethod"] == "POST"
    assert event["body"] == '{"amount": 1}'
    assert event["isBase64Encoded"] is False
    assert event["headers"]["Idempotency-Key"] == "abc"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"]["a"] == ["1", "2"]
    context = event["requestContext"]
    assert (context["stage"], context["path"], context["apiId"]) == (
        "v1",
        "/v1/transaction",
        "api123",
    )
    assert context["identity"]["apiKey"] == "k"
    assert context["identity"]["apiKeyId"] == "kid"
    assert context["identity"]["sourceIp"] == "127.0.0.1"


def test_a_body_that_is_not_utf8_arrives_base64_encoded():
    event = event_for(request(body=b"\xff\xfe"))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_no_query_string_gives_null_parameters_as_api_gateway_does():
    event = event_for(request(query=""))
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


@pytest.mark.parametrize(
    "result",
    [None, "text", {"body": "x"}, {"statusCode": "200"}, {"statusCode": 200, "body": {"a": 1}}],
    ids=["none", "string", "no-status", "status-as-string", "body-not-string"],
)
def test_a_malformed_proxy_answer_is_a_502(result):
    response = from_proxy_result(result)
    assert response.status == 502
    assert json.loads(response.body)["error"]["code"] == "internal_error"


def test_a_proxy_answer_keeps_status_headers_and_decodes_base64():
    response = from_proxy_result(
        {
            "statusCode": 202,
            "headers": {"X-One": "1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"{}").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status == 202
    assert response.body == b"{}"
    assert [v for h, v in response.headers if h == "Set-Cookie"] == ["a=1", "b=2"]
    assert ("X-One", "1") in response.headers


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b", "c"}),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, {"a", "b", "c"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b", "c"}),
        ({"batchItemFailures": [{"id": "b"}]}, {"a", "b", "c"}),
        ("not a dict", {"a", "b", "c"}),
    ],
    ids=[
        "null",
        "empty",
        "empty-list",
        "null-list",
        "one-failure",
        "empty-id",
        "null-id",
        "unknown-id",
        "bad-key",
        "invalid-answer",
    ],
)
def test_batch_failures_are_read_as_lambda_reads_them(result, failed):
    assert failed_message_ids(result, ["a", "b", "c"]) == failed


def test_an_sqs_record_has_the_lambda_event_shape():
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": {
            "ApproximateReceiveCount": "2",
            "SentTimestamp": "1",
            "SenderId": "s",
            "ApproximateFirstReceiveTimestamp": "2",
        },
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": "x"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01"},
        },
    }
    record = sqs_record(message, queue_arn="arn:aws:sqs:us-east-2:1:q", region="us-east-2")
    assert record["messageId"] == "m1"
    assert record["receiptHandle"] == "rh"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "x",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AQ=="
    assert (record["eventSource"], record["eventSourceARN"]) == (
        "aws:sqs",
        "arn:aws:sqs:us-east-2:1:q",
    )


def test_the_request_schema_follows_refs_and_nullable():
    check = compile_body_check(load_request_schema(OPENAPI_STUB))
    body = {
        "merchant_id": "m_1",
        "amount": 1,
        "currency": "USD",
        "card_token": "tok_1",
        "card_bin": "411111",
        "card_last4": "1111",
        "channel": "ecommerce",
        "timestamp": "2026-11-30T12:00:00Z",
        "terminal_id": None,
        "geo": {"lat": 1, "lon": 2},
    }
    assert check(body) == body
    with pytest.raises(fastjsonschema.JsonSchemaException):
        check({**body, "geo": {"lat": 1, "alt": 3}})


def test_a_missing_openapi_document_is_a_clear_error(tmp_path):
    with pytest.raises(LocalError) as error:
        load_request_schema(tmp_path / "nope.yaml")
    assert error.value.code == "openapi_missing"


@pytest.mark.parametrize("response", api_responses.GATEWAY_RESPONSES, ids=lambda r: r.response_type)
def test_the_edge_template_and_the_local_body_are_the_same_answer(response):
    assert json.loads(api_responses.template(response)) == api_responses.body(response)
    assert "$context" not in api_responses.template(response)  # never echo the input (PCI)


def test_the_gateway_serves_the_stacks_api_path():
    assert event_for(request())["resource"] == f"/{shapes.API_PATH}"


class RecordingValidator:
    physical_name = "stand-in"

    def __init__(self) -> None:
        self.events: list[dict] = []

    def invoke(self, event: dict) -> dict:
        self.events.append(event)
        return {"statusCode": 202, "headers": {}, "body": "{}"}


def report_request(body: dict, key: str = "k") -> Request:
    return request(
        path=f"/{shapes.FRAUD_REPORTS_PATH}",
        query="",
        headers=[("x-api-key", key)],
        body=json.dumps(body).encode(),
    )


REPORT = {
    "transaction_id": "01JDZZZZZZZZZZZZZZZZZZ0001",
    "kind": "chargeback",
    "reported_at": "2026-12-04T09:00:00Z",
}


def test_a_fraud_report_reaches_the_validator_as_its_own_resource():
    validator = RecordingValidator()
    gateway = local_gateway(validator, {"k": "kid"})

    response = gateway.answer(report_request(REPORT))

    assert response.status == 202
    (event,) = validator.events
    assert event["resource"] == event["requestContext"]["resourcePath"] == "/fraud-reports"
    assert json.loads(event["body"]) == REPORT


@pytest.mark.parametrize(
    ("body", "key", "answer"),
    [
        ({**REPORT, "kind": "refund"}, "k", api_responses.BAD_REQUEST_BODY),
        ({**REPORT, "card_number": "4111111111111111"}, "k", api_responses.BAD_REQUEST_BODY),
        ({k: v for k, v in REPORT.items() if k != "kind"}, "k", api_responses.BAD_REQUEST_BODY),
        (REPORT, "wrong", api_responses.INVALID_API_KEY),
    ],
)
def test_a_bad_fraud_report_gets_the_gateway_answer_and_never_the_validator(body, key, answer):
    validator = RecordingValidator()
    gateway = local_gateway(validator, {"k": "kid"})

    response = gateway.answer(report_request(body, key))

    assert (response.status, json.loads(response.body)) == (
        answer.status,
        api_responses.body(answer),
    )
    assert validator.events == []

"""The local runtime end to end with stand-in handlers: gateway, pollers, redrive, resources."""

from __future__ import annotations

import http.client
import json
import socket
import uuid
from typing import Any

import pytest

from txn_local.traffic import UNBOUND_KEY_VALUE
from txn_spec import shapes

pytestmark = pytest.mark.e2e


def test_accepted_transactions_are_stored_once_with_a_final_status(
    runtime, client, make_body, stored_items
):
    # GIVEN a burst of valid requests
    replies = [client.request(make_body(amount=500 + i)) for i in range(25)]
    # WHEN the pipeline drains
    assert runtime.wait_idle(30)
    # THEN each accepted transaction is in the table exactly once, with a final status
    assert {r.status for r in replies} == {202}
    for reply in replies:
        items = stored_items(reply.body["transaction_id"])
        assert [item["status"]["S"] for item in items] == ["APPROVED"]


def test_a_poison_message_ends_failed_through_the_dlq(runtime, stored_items):
    # GIVEN a queued transaction the fraud detector cannot process
    assert runtime.resources is not None
    transaction_id = uuid.uuid4().hex[:26].upper()
    poison = {
        "transaction_id": transaction_id,
        "timestamp": "2026-11-30T12:00:00.000Z",
        "merchant_id": "m_1001",
        "amount": "not-a-number",
    }
    runtime.aws.client("sqs").send_message(
        QueueUrl=runtime.resources.queue_url(shapes.TRANSACTIONS_QUEUE),
        MessageBody=json.dumps(poison),
    )
    # WHEN it has failed maxReceiveCount times and moto's redrive moved it to the DLQ
    assert runtime.wait_idle(40)
    # THEN the failed-transaction function recorded it as FAILED, once
    assert [item["status"]["S"] for item in stored_items(transaction_id)] == ["FAILED"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"merchant_id": "m_1001"}, id="missing-fields"),
        pytest.param("amount-as-string", id="wrong-type"),
        pytest.param("extra-field", id="unknown-field"),
        pytest.param(b'{"merchant_id": ', id="not-json"),
    ],
)
def test_a_body_the_schema_refuses_gets_400_and_never_reaches_the_validator(
    runtime, client, calls, make_body, body
):
    if body == "amount-as-string":
        body = make_body(amount="19.99")
    elif body == "extra-field":
        body = make_body(pan="4111111111111111")
    before = calls["validator"]
    reply = client.request(body)
    assert (reply.status, reply.code) == (400, "invalid_request")
    assert calls["validator"] == before


def test_a_body_the_validator_refuses_is_never_enqueued(runtime, client, make_body):
    before = runtime.stats()["fraud-detector"]["records"]
    reply = client.request(make_body(card_token="4111111111111111"))
    assert (reply.status, reply.code) == (400, "pan_not_allowed")
    assert runtime.wait_idle(10)
    assert runtime.stats()["fraud-detector"]["records"] == before


@pytest.mark.parametrize("api_key", [None, "wrong-key-0123456789abcdef"], ids=["missing", "wrong"])
def test_a_missing_or_wrong_api_key_gets_403(runtime, client, calls, make_body, api_key):
    before = calls["validator"]
    reply = client.request(make_body(), api_key=api_key)
    assert (reply.status, reply.code) == (403, "forbidden")
    assert calls["validator"] == before


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/transaction"), ("POST", "/transactions"), ("PUT", "/transaction"), ("POST", "/")],
)
def test_other_routes_get_api_gateways_missing_token_answer(client, make_body, method, path):
    reply = client.request(make_body(), method=method, path=path)
    assert (reply.status, reply.code) == (404, "not_found")


def test_a_replayed_idempotency_key_gets_the_first_answer(client, make_body):
    body = make_body()
    headers = {"Idempotency-Key": f"test-{uuid.uuid4()}"}
    first = client.request(body, headers=headers)
    second = client.request(body, headers=headers)
    assert first.status == 202
    assert second == first


def test_the_api_key_is_the_one_the_embedded_api_gateway_holds_and_the_merchants_name(runtime):
    assert runtime.resources is not None
    apigateway = runtime.aws.client("apigateway")
    plans = apigateway.get_usage_plans()["items"]
    stage = [{"apiId": runtime.resources.rest_api_id, "stage": shapes.API_STAGE}]
    assert [p["apiStages"] for p in plans] == [stage, stage]
    # each key on a plan of its own (ADR 0025)
    on_plans = [apigateway.get_usage_plan_keys(usagePlanId=p["id"])["items"] for p in plans]
    assert [len(plan_keys) for plan_keys in on_plans] == [1, 1]
    keys = {k["value"]: k["id"] for plan_keys in on_plans for k in plan_keys}
    # the runtime's key, and another provider's that no merchant names (ADR 0024)
    assert set(keys) == {runtime.api_key, UNBOUND_KEY_VALUE}
    bound = [set(m["api_key_ids"]) for m in runtime.resources.merchants]
    assert bound == [{keys[runtime.api_key]}] * len(runtime.resources.merchants) != []


@pytest.mark.parametrize("shape", shapes.TABLES, ids=lambda s: s.component)
def test_tables_have_the_shapes_the_data_stack_declares(runtime, shape):
    assert runtime.resources is not None
    dynamodb = runtime.aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=runtime.resources.table(shape))["Table"]
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    assert keys == {
        "HASH": shape.hash_key,
        **({"RANGE": shape.range_key} if shape.range_key else {}),
    }
    assert {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])} == {
        i.name for i in shape.indexes
    }
    assert table["SSEDescription"]["SSEType"] == "KMS"
    ttl = dynamodb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    assert ttl.get("AttributeName") == shape.ttl_attribute


@pytest.mark.parametrize("shape", shapes.QUEUES, ids=lambda s: s.component)
def test_queues_have_the_timings_and_redrive_the_data_stack_declares(runtime, shape):
    assert runtime.resources is not None
    attributes: dict[str, Any] = runtime.aws.client("sqs").get_queue_attributes(
        QueueUrl=runtime.resources.queue_url(shape), AttributeNames=["All"]
    )["Attributes"]
    assert int(attributes["VisibilityTimeout"]) == shape.visibility_timeout_seconds
    assert int(attributes["MessageRetentionPeriod"]) == shape.message_retention_seconds
    if shape.dead_letter is None:
        assert "RedrivePolicy" not in attributes
    else:
        redrive = json.loads(attributes["RedrivePolicy"])
        assert (
            redrive["deadLetterTargetArn"]
            == runtime.resources.queue_arns[shape.dead_letter.component]
        )


def test_a_body_with_broken_chunked_framing_gets_400_in_the_error_shape(runtime, calls):
    # GIVEN a chunked body whose chunk size is not hex (a client's framing bug)
    request = (
        b"POST /transaction HTTP/1.1\r\nHost: local\r\n"
        + f"x-api-key: {runtime.api_key}\r\n".encode()
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"zz\r\n{}\r\n0\r\n\r\n"
    )
    before = calls["validator"]
    with socket.create_connection(("127.0.0.1", runtime.gateway.port), timeout=10) as conn:
        conn.sendall(request)
        reply = http.client.HTTPResponse(conn)
        reply.begin()
        status, body = reply.status, json.loads(reply.read())
    # THEN a 400 with a code and a message, as every refusal has, and no validator call
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert body["error"]["message"]
    assert calls["validator"] == before

"""The real functions end to end through the local runtime: gateway, queue, pollers, tables.

One runtime for the module (free ports, the real handlers, the OpenAPI schema and the demo
merchants from the repository); about 40 s in all.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from txn_local import callcount
from txn_local.demo import USER_AGENT as DEMO_USER_AGENT
from txn_local.demo import Demo
from txn_local.runtime import LocalRuntime, RuntimeConfig
from txn_local.traffic import UNBOUND_KEY_VALUE
from txn_spec import shapes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    config = RuntimeConfig(port=0, aws_port=0, api_key="e2e-test-key-0123456789abcdef")
    with LocalRuntime(config) as started:
        yield started


def post(
    runtime: LocalRuntime,
    body: Any,
    *,
    api_key: str | None = "default",
    headers: dict[str, str] | None = None,
    path: str = "/transaction",
) -> tuple[int, dict[str, Any]]:
    assert runtime.gateway is not None
    sent = {"Content-Type": "application/json", **(headers or {})}
    if api_key is not None:
        sent["x-api-key"] = runtime.api_key if api_key == "default" else api_key
    connection = http.client.HTTPConnection("127.0.0.1", runtime.gateway.port, timeout=15)
    try:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        connection.request("POST", path, body=payload, headers=sent)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def body(**overrides: Any) -> dict[str, Any]:
    values = {
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card_token": f"tok_{uuid.uuid4().hex[:6]}x{uuid.uuid4().hex[:6]}",
        "card_bin": "411111",
        "card_last4": "4242",
        "channel": "ecommerce",
        "ip_address": "203.0.113.7",
        "ip_country": "US",
        "card_country": "US",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    values.update(overrides)
    return values


def rows(runtime: LocalRuntime) -> list[dict[str, Any]]:
    assert runtime.resources is not None
    dynamodb = runtime.aws.client("dynamodb")
    deserializer = TypeDeserializer()
    items, arguments = [], {"TableName": runtime.resources.table(shapes.TRANSACTIONS_TABLE)}
    while True:
        page = dynamodb.scan(**arguments)
        items += [{k: deserializer.deserialize(v) for k, v in i.items()} for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def enqueued(runtime: LocalRuntime) -> int:
    """Records the fraud detector has been handed so far."""
    return runtime.stats()[shapes.FRAUD_DETECTOR.component]["records"]


def test_every_accepted_transaction_is_stored_once_with_a_final_status(runtime):
    # GIVEN 60 valid transactions from 6 concurrent clients
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda i: post(runtime, body(amount=1000 + i)), range(60)))
    # WHEN the pipeline drains
    assert runtime.wait_idle(30)
    # THEN each was accepted and is in the table exactly once, with a final status and the id
    # of the API key that posted it (the queued message's attribute, ADR 0024)
    assert [a for a in answers if a[0] != 202] == []
    ids = [answer["transaction_id"] for _, answer in answers]
    stored = [r for r in rows(runtime) if r["transaction_id"] in set(ids)]
    assert sorted(r["transaction_id"] for r in stored) == sorted(ids)
    assert {r["status"] for r in stored} <= {"APPROVED", "FLAGGED"}
    assert runtime.resources is not None
    assert {r["api_key_id"] for r in stored} == set(runtime.resources.merchants[0]["api_key_ids"])


def test_the_functions_reach_dynamodb_directly_and_each_call_is_counted_once(runtime):
    # GIVEN the functions' environment: DynamoDB on its own server, the rest on the one endpoint
    environment = runtime.function_environment()
    assert environment["AWS_ENDPOINT_URL_DYNAMODB"] != environment["AWS_ENDPOINT_URL"]
    assert runtime.wait_idle(30)
    before = runtime.aws.calls()["calls"]
    # WHEN one transaction goes through
    status, _ = post(runtime, body())
    assert status == 202
    assert runtime.wait_idle(30)
    # THEN its calls are counted once each, DynamoDB's by the server that answered them
    moved = callcount.difference(runtime.aws.calls()["calls"], before)
    assert moved["sqs"]["SendMessage"] == 1
    assert moved["sqs"]["DeleteMessageBatch"] == 1
    assert moved["dynamodb"]["BatchGetItem"] == 1  # the fraud detector's profile read
    assert set(moved) <= {"sqs", "sns", "dynamodb"}


def test_64_concurrent_keep_alive_clients_get_no_reset_and_no_5xx(runtime):
    # GIVEN 64 clients with a keep-alive connection each, all starting at once
    assert runtime.gateway is not None
    start = threading.Barrier(64)

    def client(number: int) -> tuple[list[int], set[int]]:
        connection = http.client.HTTPConnection("127.0.0.1", runtime.gateway.port, timeout=60)
        headers = {"Content-Type": "application/json", "x-api-key": runtime.api_key}
        statuses, ports = [], set()
        start.wait()
        try:
            for _ in range(4):  # WHEN each sends 4 transactions over its connection
                payload = json.dumps(body(amount=2000 + number)).encode()
                connection.request("POST", "/transaction", body=payload, headers=headers)
                response = connection.getresponse()
                response.read()
                statuses.append(response.status)
                ports.add(connection.sock.getsockname()[1])
        finally:
            connection.close()
        return statuses, ports

    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(client, range(64)))  # a reset would raise here
    # THEN all 256 are accepted, each client's over the one connection it opened
    assert [status for statuses, _ in results for status in statuses] == [202] * 256
    assert [len(ports) for _, ports in results] == [1] * 64
    assert runtime.wait_idle(60)


def test_a_poison_message_ends_failed(runtime):
    # GIVEN a message on the transactions queue that is not a transaction
    assert runtime.resources is not None
    sent = runtime.aws.client("sqs").send_message(
        QueueUrl=runtime.resources.queue_url(shapes.TRANSACTIONS_QUEUE),
        MessageBody=json.dumps({"transaction_id": "poison", "amount": "lots"}),
    )
    # WHEN it has failed maxReceiveCount times and moto's redrive moved it to the DLQ
    assert runtime.wait_idle(45)
    # THEN the failed-transaction function recorded it as FAILED, once
    mine = [r for r in rows(runtime) if r.get("message_id") == sent["MessageId"]]
    assert [r["status"] for r in mine] == ["FAILED"]


@pytest.mark.parametrize(
    ("request_body", "status", "code"),
    [
        pytest.param(body(amount="19.99"), 400, "invalid_request", id="schema-wrong-type"),
        pytest.param({"merchant_id": "m_1001"}, 400, "invalid_request", id="schema-missing"),
        pytest.param(b"{not json", 400, "invalid_request", id="not-json"),
        pytest.param(body(card_token="4111111111111111"), 400, "pan_not_allowed", id="pan"),
        pytest.param(body(merchant_id="m_nobody"), 422, "merchant_unknown", id="unknown-merchant"),
        pytest.param(body(merchant_id="m_9001"), 422, "merchant_inactive", id="inactive-merchant"),
    ],
)
def test_bad_input_gets_a_4xx_with_a_code_and_is_never_enqueued(
    runtime, request_body, status, code
):
    assert runtime.wait_idle(30)
    before = enqueued(runtime)
    answered, answer = post(runtime, request_body)
    assert answered == status
    assert answer["error"]["code"] == code
    assert runtime.wait_idle(10)
    assert enqueued(runtime) == before


def test_a_key_the_gateway_admits_but_the_merchant_does_not_name_gets_403_never_enqueued(runtime):
    # ADR 0024: another provider's valid key, bound to no merchant
    assert runtime.wait_idle(30)
    before = enqueued(runtime)
    answered, answer = post(runtime, body(), api_key=UNBOUND_KEY_VALUE)
    assert (answered, answer["error"]["code"]) == (403, "merchant_not_permitted")
    assert post(runtime, body())[0] == 202  # the same body with the merchant's own key
    assert runtime.wait_idle(10)
    assert enqueued(runtime) == before + 1


def test_a_replayed_idempotency_key_gets_the_first_answer(runtime):
    request_body = body()
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    first = post(runtime, request_body, headers=key)
    again = post(runtime, request_body, headers=key)
    assert first[0] == 202
    assert again == first
    assert runtime.wait_idle(30)
    stored = [r for r in rows(runtime) if r["transaction_id"] == first[1]["transaction_id"]]
    assert len(stored) == 1


def test_a_replay_of_a_quoted_key_gets_the_first_answer_marked_replayed(runtime):
    # The structured-field form of the IETF draft; the gateway passes the validator's header on.
    headers = {
        "Content-Type": "application/json",
        "x-api-key": runtime.api_key,
        "Idempotency-Key": f'"{uuid.uuid4()}"',
    }
    payload = json.dumps(body()).encode()
    answers = []
    for _ in range(2):
        connection = http.client.HTTPConnection("127.0.0.1", runtime.gateway.port, timeout=15)
        connection.request("POST", "/transaction", body=payload, headers=headers)
        response = connection.getresponse()
        answers.append(
            (response.status, response.getheader("Idempotent-Replayed"), response.read())
        )
        connection.close()
    assert answers[0][:2] == (202, None)
    assert answers[1] == (202, "true", answers[0][2])


@pytest.mark.parametrize("api_key", [None, "not-the-key-0123456789"], ids=["missing", "wrong"])
def test_a_missing_or_wrong_api_key_gets_403(runtime, api_key):
    assert runtime.wait_idle(30)  # what earlier tests queued is handed over first
    before = enqueued(runtime)
    status, answer = post(runtime, body(), api_key=api_key)
    assert (status, answer["error"]["code"]) == (403, "forbidden")
    assert runtime.wait_idle(30)
    assert enqueued(runtime) == before


def test_the_demo_burst_ends_with_nothing_lost(runtime, monkeypatch):
    # the validator's events, as the gateway builds them from the demo's requests
    gateway = runtime.gateway
    assert gateway is not None
    seen: list[dict[str, Any]] = []
    validator = gateway.validator
    handler = validator.handler

    def recording(event: dict[str, Any], context: Any) -> Any:
        seen.append(event["requestContext"]["identity"])
        return handler(event, context)

    monkeypatch.setattr(gateway, "validator", dataclasses.replace(validator, handler=recording))
    # as a client that retries a 503 with its Idempotency-Key (api/openapi.yaml): the suite's
    # other worker can slow moto past the validator's 1.5 s read timeout
    outcome = Demo(runtime, count=150, timeout=60, seed=11, idempotency_keys=True).run()
    assert outcome.problems == []
    assert len(outcome.accepted_ids) > 100
    # every request names its client, as the deployed API's WAF requires (api/openapi.yaml)
    assert seen
    assert {identity["userAgent"] for identity in seen} == {DEMO_USER_AGENT}


def test_each_function_logs_and_counts_under_its_own_service_name(runtime):
    """As compute sets POWERTOOLS_SERVICE_NAME per function; the validator runs in this process."""
    from txn_local import embedded

    validator = sys.modules[shapes.VALIDATOR.handler.rpartition(".")[0]]
    assert validator.logger.service == embedded.name(shapes.VALIDATOR.component)
    assert os.environ.get("POWERTOOLS_SERVICE_NAME") != validator.logger.service


def velocity_item(runtime: LocalRuntime, key: str) -> dict[str, Any] | None:
    assert runtime.resources is not None
    found = runtime.aws.client("dynamodb").get_item(
        TableName=runtime.resources.table(shapes.VELOCITY_TABLE),
        Key={"pk": {"S": key}, "sk": {"S": "v"}},
    )
    return found.get("Item")


def test_a_fraud_report_raises_the_terminal_risk_once_through_the_gateway(runtime):
    # GIVEN a card-present sale at a terminal, decided
    terminal = f"T-{uuid.uuid4().hex[:8]}"
    sale = body(channel="card_present", terminal_id=terminal, ip_address=None, ip_country=None)
    status, answer = post(runtime, sale)
    assert status == 202
    assert runtime.wait_idle(30)
    report = {
        "transaction_id": answer["transaction_id"],
        "kind": "confirmed_fraud",
        "reported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    # WHEN the fraud is reported, twice (a client's retry)
    first = post(runtime, report, path="/fraud-reports")
    assert runtime.wait_idle(30)
    risk = velocity_item(runtime, "risk#m_1001")
    again = post(runtime, report, path="/fraud-reports")
    assert runtime.wait_idle(30)
    # THEN both are accepted, the terminal and the card carry one confirmed fraud, once
    assert first == (202, {**first[1], "transaction_id": answer["transaction_id"]})
    assert again[0] == 202
    assert risk is not None
    assert f"{terminal}:1.0000" in risk["rk"]["S"]
    assert velocity_item(runtime, "risk#m_1001") == risk
    card = velocity_item(runtime, f"card#{sale['card_token']}")
    assert card is not None
    assert "*:1.0000" in card["rk"]["S"]


def test_a_bad_fraud_report_gets_a_400_with_a_code_and_is_never_enqueued(runtime):
    before = enqueued(runtime)
    pan = {"transaction_id": "4111111111111111", "kind": "chargeback", "reported_at": "x"}
    unknown_kind = {
        "transaction_id": "01JDZZZZZZZZZZZZZZZZZZ0001",
        "kind": "refund",
        "reported_at": "2026-12-01T00:00:00Z",
    }
    for bad in (pan, unknown_kind, {"transaction_id": "01JDZZZZZZZZZZZZZZZZZZ0001"}):
        status, answer = post(runtime, bad, path="/fraud-reports")
        assert (status, answer["error"]["code"]) == (400, "invalid_request")
        assert "4111111111111111" not in json.dumps(answer)
    status, _ = post(runtime, unknown_kind, path="/fraud-reports", api_key="wrong-key-0123456789")
    assert status == 403
    assert runtime.wait_idle(30)
    assert enqueued(runtime) == before

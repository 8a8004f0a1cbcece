"""Property tests of the validator's Lambda handler, in-process against moto.

Whatever arrives in the API Gateway event (body plain or base64, any headers), the handler
answers 202, 400 or 422 (never a 5xx), every 4xx carries a machine-readable code, and no card
number reaches its log or the queue. Names match ``tests/functional/functions/conftest.py``: the
handler module is imported once per process and keeps the settings it was imported with.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from txn_resilience import cards, strategies
from txn_resilience.leaks import LeakScan
from txn_spec.shapes import IDEMPOTENCY_TABLE, MERCHANTS_TABLE, Env

REGION, ACCOUNT = "us-east-2", "123456789012"
ROOT = Path(__file__).resolve().parents[3]
API_KEY_ID = "key-1"  # every event's key; the fixture merchants are bound to it (ADR 0024)
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/transactions"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    Env.TRANSACTIONS_TABLE: "transactions",
    Env.MERCHANTS_TABLE: "merchants",
    Env.IDEMPOTENCY_TABLE: "idempotency",
    Env.VELOCITY_TABLE: "velocity",
    Env.TRANSACTIONS_QUEUE_URL: QUEUE_URL,
    Env.FRAUD_ALERTS_TOPIC_ARN: f"arn:aws:sns:{REGION}:{ACCOUNT}:fraud-alerts",
}
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _table(ddb: Any, name: str, key: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture(scope="module")
def app() -> Iterator[Any]:
    patch = pytest.MonkeyPatch()
    for name, value in ENVIRONMENT.items():
        patch.setenv(name, value)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        _table(ddb, "merchants", MERCHANTS_TABLE.hash_key)
        _table(ddb, "idempotency", IDEMPOTENCY_TABLE.hash_key)
        merchants = boto3.resource("dynamodb", region_name=REGION).Table("merchants")
        for merchant in json.loads((ROOT / "fixtures" / "merchants.json").read_text()):
            merchants.put_item(Item={**merchant, "api_key_ids": {API_KEY_ID}})
        assert boto3.client("sqs", region_name=REGION).create_queue(QueueName="transactions")
        module = importlib.import_module("validator.app")
        module.validator._merchants._cache.clear()
        yield module
    patch.undo()


@pytest.fixture(scope="module")
def log(app: Any) -> io.StringIO:
    buffer = io.StringIO()
    app.logger.registered_handler.setStream(buffer)
    return buffer


class Context:
    function_name = "txn-test-validator"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:txn-test-validator"
    aws_request_id = "req"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def event(body: str | bytes | None, *, b64: bool, headers: dict[str, str]) -> dict[str, Any]:
    if isinstance(body, bytes) and not b64:
        body = body.decode("utf-8", "replace")
    if b64 and body is not None:
        raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        body = base64.b64encode(raw).decode()
    return {
        "resource": "/transaction",
        "path": "/transaction",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", **headers},
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "identity": {"apiKeyId": API_KEY_ID, "sourceIp": "203.0.113.7"},
        },
        "body": body,
        "isBase64Encoded": b64,
    }


def answer_of(app: Any, evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = app.lambda_handler(evt, Context())
    return result["statusCode"], json.loads(result["body"])


def queued(app: Any) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION)
    bodies = []
    while got := sqs.receive_message(QueueUrl=QUEUE_URL, MaxNumberOfMessages=10).get("Messages"):
        bodies += [m["Body"] for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=m["ReceiptHandle"])
    return bodies


bodies = st.one_of(
    strategies.raw_bodies(),
    strategies.valid_bodies().map(json.dumps),
    strategies.mutated_bodies().map(lambda case: json.dumps(case[2])),
    # any time the contract's pattern admits, real or not, at the edges of the years too
    st.tuples(strategies.valid_bodies(), strategies.any_rfc3339()).map(
        lambda t: json.dumps({**t[0], "timestamp": t[1]})
    ),
    st.tuples(
        strategies.valid_bodies(), strategies.pans(), st.sampled_from(("plain", "escaped"))
    ).map(lambda t: strategies.with_pan(t[0], t[1], "external_id", t[2])),
    st.none(),
)
headers = st.dictionaries(
    st.sampled_from(["Idempotency-Key", "idempotency-key", "X-Other", "Content-Type"]),
    st.text(max_size=140),
    max_size=2,
)


@FAST
@given(body=bodies, b64=st.booleans(), extra=headers)
def test_every_event_gets_202_400_or_422_with_a_code_never_a_5xx(
    app: Any, log: io.StringIO, body: Any, b64: bool, extra: dict[str, str]
) -> None:
    status, payload = answer_of(app, event(body, b64=b64, headers=extra))
    assert status in {202, 400, 422}, payload
    if status >= 400:
        assert CODE.match(payload["error"]["code"]), payload
        assert isinstance(payload["error"]["message"], str)
    else:
        assert len(payload["transaction_id"]) == 26


@FAST
@given(
    body=strategies.valid_bodies(), pan=strategies.pans(), how=st.sampled_from(("plain", "escaped"))
)
def test_a_card_number_is_refused_and_reaches_neither_the_log_nor_the_queue(
    app: Any, log: io.StringIO, body: dict, pan: str, how: str
) -> None:
    before = len(log.getvalue())
    status, payload = answer_of(
        app, event(strategies.with_pan(body, pan, "terminal_id", how), b64=False, headers={})
    )
    assert (status, payload["error"]["code"]) == (400, "pan_not_allowed")
    # scanned as the leak scan reads logs: a refusal's line names its request id, a UUID whose
    # all-digit groups can pass Luhn (txn_resilience.leaks.UUID)
    scan = LeakScan()
    scan.log_lines(log.getvalue()[before:].splitlines())
    assert not [f for f in scan.findings if f.rule == "pan"]
    assert not [b for b in queued(app) if cards.find_pans(b)]


def test_valid_bodies_are_queued_once_each(app: Any) -> None:
    queued(app)
    ids = set()
    for n in range(5):
        body = {**strategies_body(), "card_token": f"tok_handler{n:04d}"}
        status, payload = answer_of(app, event(json.dumps(body), b64=True, headers={}))
        assert status == 202
        ids.add(payload["transaction_id"])
    assert {json.loads(b)["transaction_id"] for b in queued(app)} == ids


def strategies_body() -> dict[str, Any]:
    return {
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card_token": "tok_handler0000",
        "card_bin": "411111",
        "card_last4": "1111",
        "channel": "ecommerce",
        "timestamp": strategies.now_rfc3339(),
    }

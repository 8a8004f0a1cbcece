"""moto-backed fixtures: the real tables, queues and topic from ``txn_spec.shapes``, the demo
merchants from ``fixtures/merchants.json``, and factories for real Lambda event shapes."""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.factories import transaction_body
from txn_moto import partiql
from txn_spec.shapes import (
    FRAUD_REPORT_KIND,
    FRAUD_REPORTS_PATH,
    MESSAGE_KIND_ATTRIBUTE,
    TABLES,
    Env,
)

# moto's own PartiQL cannot run the fraud detector's conditional statements (see the module).
partiql.apply()

REGION = "us-east-2"
ACCOUNT = "123456789012"
ROOT = Path(__file__).resolve().parents[3]
# The API key every event here is sent with; every fixture merchant is bound to it (ADR 0024).
API_KEY_ID = "key-123"
SERVICE_PREFIX = "txn-test-"  # + the package: each handler's POWERTOOLS_SERVICE_NAME
NAMES = {
    Env.TRANSACTIONS_TABLE: "transactions",
    Env.MERCHANTS_TABLE: "merchants",
    Env.IDEMPOTENCY_TABLE: "idempotency",
    Env.VELOCITY_TABLE: "velocity",
    Env.TRANSACTIONS_QUEUE_URL: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/transactions",
    Env.FRAUD_ALERTS_TOPIC_ARN: f"arn:aws:sns:{REGION}:{ACCOUNT}:fraud-alerts",
}


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        **NAMES,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@dataclass
class Aws:
    dynamodb: Any
    sqs: Any
    sns: Any
    queue_url: str
    alerts_queue_url: str

    def items(self, table: str) -> list[dict[str, Any]]:
        return boto3.resource("dynamodb", region_name=REGION).Table(table).scan()["Items"]

    def messages(self, url: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=url or self.queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                return out
            out += got


@contextmanager
def provisioned(names: Mapping[str, str]) -> Iterator[Aws]:
    """moto with the tables, queue and topic the ``Env`` values in ``names`` name, and the demo
    merchants; the topic delivers to an inbox queue the tests read."""
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        for shape in TABLES:
            keys = [{"AttributeName": shape.hash_key, "KeyType": "HASH"}]
            if shape.range_key:
                keys.append({"AttributeName": shape.range_key, "KeyType": "RANGE"})
            kwargs: dict[str, Any] = {}
            if shape.indexes:
                kwargs["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": ix.name,
                        "KeySchema": [
                            {"AttributeName": ix.hash_key, "KeyType": "HASH"},
                            {"AttributeName": ix.range_key, "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": ix.projection},
                    }
                    for ix in shape.indexes
                ]
            ddb.create_table(
                TableName=names[f"{shape.component.upper()}_TABLE"],  # the Env name
                KeySchema=keys,
                AttributeDefinitions=[
                    {"AttributeName": k, "AttributeType": t} for k, t in shape.attributes.items()
                ],
                BillingMode="PAY_PER_REQUEST",
                **kwargs,
            )
        table = boto3.resource("dynamodb", region_name=REGION).Table(names[Env.MERCHANTS_TABLE])
        for merchant in json.loads((ROOT / "fixtures" / "merchants.json").read_text()):
            table.put_item(Item={**merchant, "api_key_ids": {API_KEY_ID}})
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = names[Env.TRANSACTIONS_QUEUE_URL]
        url = sqs.create_queue(QueueName=queue_url.rsplit("/", 1)[1])["QueueUrl"]
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name=names[Env.FRAUD_ALERTS_TOPIC_ARN].rsplit(":", 1)[1])
        alerts_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic["TopicArn"],
            Protocol="sqs",
            Endpoint=alerts_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        assert (url, topic["TopicArn"]) == (queue_url, names[Env.FRAUD_ALERTS_TOPIC_ARN])
        yield Aws(ddb, sqs, sns, url, alerts_url)


@pytest.fixture
def aws() -> Iterator[Aws]:
    with provisioned(NAMES) as found:
        yield found


def _load(module: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    # Each function has its own service name, as compute gives it (read at the first import).
    package = module.split(".")[0]
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"{SERVICE_PREFIX}{package}")
    app = importlib.import_module(module)
    for holder in ("validator", "pipeline"):
        obj = getattr(app, holder, None)
        merchants = getattr(obj, "_merchants", None)
        if merchants is not None:
            merchants._cache.clear()  # the per-container cache must not leak between tests
    return app


@pytest.fixture
def validator_app(aws, monkeypatch):
    return _load("validator.app", monkeypatch)


@pytest.fixture
def fraud_app(aws, monkeypatch):
    return _load("fraud_detector.app", monkeypatch)


@pytest.fixture
def failed_app(aws, monkeypatch):
    return _load("failed_transactions.app", monkeypatch)


@pytest.fixture
def log_stream() -> Callable[[Any], io.StringIO]:
    """Point a handler module's Powertools logger at a buffer; returns the buffer."""

    def capture(app: Any) -> io.StringIO:
        buffer = io.StringIO()
        app.logger.registered_handler.setStream(buffer)
        return buffer

    return capture


@dataclass
class LambdaContext:
    function_name: str = "test-fn"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test-fn"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body_now(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /transaction`` body timestamped now."""
    return transaction_body(**{"timestamp": now_rfc3339(), **overrides})


@pytest.fixture
def make_body() -> Callable[..., dict[str, Any]]:
    return body_now


def make_api_event(
    body: Any,
    *,
    b64: bool = False,
    headers: dict[str, str] | None = None,
    api_key_id: str = API_KEY_ID,
) -> dict:
    """An API Gateway REST (v1) Lambda proxy event for ``POST /transaction``, sent with the
    API key ``api_key_id``."""
    raw = body if isinstance(body, str | None) else json.dumps(body)
    if b64 and raw is not None:
        raw = base64.b64encode(raw.encode()).decode()
    return {
        "resource": "/transaction",
        "path": "/transaction",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "x-api-key": "k", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/transaction",
            "httpMethod": "POST",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "identity": {"apiKeyId": api_key_id, "sourceIp": "203.0.113.7"},
            "accountId": ACCOUNT,
            "apiId": "abc123",
        },
        "body": raw,
        "isBase64Encoded": b64,
    }


@pytest.fixture
def api_event() -> Callable[..., dict[str, Any]]:
    return make_api_event


def report_body(transaction_id: str, kind: str = "chargeback") -> dict[str, Any]:
    """A valid ``POST /fraud-reports`` body (ADR 0013), reported now."""
    return {"transaction_id": transaction_id, "kind": kind, "reported_at": now_rfc3339()}


def make_report_event(body: Any, **kw: Any) -> dict[str, Any]:
    """The proxy event of ``POST /fraud-reports``."""
    event = make_api_event(body, **kw)
    event["resource"] = event["path"] = event["requestContext"]["resourcePath"] = (
        f"/{FRAUD_REPORTS_PATH}"
    )
    return event


def reported(transaction_id: str, api_key_id: str | None = API_KEY_ID) -> str:
    """The message the validator queues for a report on ``transaction_id`` sent with the API key
    ``api_key_id`` (None: as a validator from before ADR 0024 queued it, without)."""
    received = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    message = {**report_body(transaction_id), "received_at": received, "schema_version": "1"}
    if api_key_id is not None:
        message["api_key_id"] = api_key_id
    return json.dumps(message)


def report_record(make: Callable[..., dict[str, Any]], body: str, **kw: Any) -> dict[str, Any]:
    """An SQS record of a queued report: ``make`` (:func:`make_sqs_record`) plus its kind."""
    record = make(body, **kw)
    record["messageAttributes"] = {
        MESSAGE_KIND_ATTRIBUTE: {
            "stringValue": FRAUD_REPORT_KIND,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    return record


def make_sqs_record(
    body: str,
    *,
    message_id: str | None = None,
    receive_count: int = 1,
    queue: str = "transactions",
    attributes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One record of an SQS event as Lambda delivers it; ``attributes``: its string message
    attributes."""
    sent = str(int(time.time() * 1000) - 60_000)
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "rh-" + uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": sent,
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": sent,
        },
        "messageAttributes": {
            name: {"stringValue": value, "dataType": "String"}
            for name, value in (attributes or {}).items()
        },
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own digest
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
        "awsRegion": REGION,
    }


@pytest.fixture
def sqs_record() -> Callable[..., dict[str, Any]]:
    return make_sqs_record


@pytest.fixture
def accepted(posted) -> Callable[..., str]:
    """Run a body through the real validator and return the queued message body."""
    return lambda **overrides: posted(**overrides)["body"]


@pytest.fixture
def posted(validator_app, api_event, make_body, aws, context) -> Callable[..., dict[str, Any]]:
    """Run a body through the real validator and return the queued message as the fraud
    detector receives it: its body and its message attributes."""

    def make(**overrides: Any) -> dict[str, Any]:
        response = validator_app.lambda_handler(api_event(make_body(**overrides)), context)
        assert response["statusCode"] == 202, response["body"]
        (message,) = aws.messages()
        aws.sqs.delete_message(QueueUrl=aws.queue_url, ReceiptHandle=message["ReceiptHandle"])
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        return make_sqs_record(message["Body"], attributes=attributes)

    return make

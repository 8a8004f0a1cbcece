"""The local runtime with small stand-in handlers: gateway, pollers, resources, CLI.

The stand-ins call the embedded AWS the way the real handlers do; the end-to-end tests in
``tests/e2e`` run the real ones.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from txn_local.runtime import LocalRuntime, RuntimeConfig
from txn_spec import shapes
from txn_spec.shapes import Env

HERE = Path(__file__).parent

PAN = re.compile(r"\d{13,19}")


@cache
def _clients() -> tuple[Any, Any]:
    return boto3.client("dynamodb"), boto3.client("sqs")


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def _error(status: int, code: str) -> dict[str, Any]:
    return _answer(status, {"error": {"code": code, "message": code, "field": None}})


def validator(event: dict[str, Any], context: Any) -> dict[str, Any]:
    dynamodb, sqs = _clients()
    body = json.loads(event["body"])
    if any(PAN.search(str(body.get(f, ""))) for f in ("card_token", "external_id")):
        return _error(400, "pan_not_allowed")
    key = next((v for h, v in event["headers"].items() if h.lower() == "idempotency-key"), None)
    if key:
        seen = dynamodb.get_item(
            TableName=os.environ[Env.IDEMPOTENCY_TABLE], Key={"id": {"S": key}}
        )
        if "Item" in seen:
            return json.loads(seen["Item"]["response"]["S"])
    merchant = dynamodb.get_item(
        TableName=os.environ[Env.MERCHANTS_TABLE], Key={"merchant_id": {"S": body["merchant_id"]}}
    ).get("Item")
    if not merchant or not merchant.get("active", {}).get("BOOL", False):
        return _error(422, "unknown_merchant")
    transaction_id = uuid.uuid4().hex[:26].upper()
    sqs.send_message(
        QueueUrl=os.environ[Env.TRANSACTIONS_QUEUE_URL],
        MessageBody=json.dumps({**body, "transaction_id": transaction_id}),
    )
    answer = _answer(202, {"transaction_id": transaction_id})
    if key:
        dynamodb.put_item(
            TableName=os.environ[Env.IDEMPOTENCY_TABLE],
            Item={"id": {"S": key}, "response": {"S": json.dumps(answer)}},
        )
    return answer


def _store(item: dict[str, Any]) -> None:
    dynamodb, _ = _clients()
    try:
        dynamodb.put_item(
            TableName=os.environ[Env.TRANSACTIONS_TABLE],
            Item={k: {"S": str(v)} for k, v in item.items()},
            ConditionExpression="attribute_not_exists(transaction_id)",
        )
    except ClientError as error:  # a redelivery: already stored
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise


def fraud_detector(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            txn = json.loads(record["body"])
            if not isinstance(txn["amount"], int):
                raise TypeError("amount must be an integer")
            status = "FLAGGED" if txn["amount"] < 100 else "APPROVED"
            _store(
                {
                    "transaction_id": txn["transaction_id"],
                    "timestamp": txn["timestamp"],
                    "merchant_id": txn["merchant_id"],
                    "status": status,
                }
            )
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def failed_transactions(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event["Records"]:
        txn = json.loads(record["body"])
        _store(
            {
                "transaction_id": txn["transaction_id"],
                "timestamp": txn["timestamp"],
                "merchant_id": txn.get("merchant_id", "unknown"),
                "status": "FAILED",
                "reason": "processing failed after retries",
            }
        )
    return {"batchItemFailures": []}


HANDLERS = {
    "validator": validator,
    "fraud-detector": fraud_detector,
    "failed-transactions": failed_transactions,
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]

    @property
    def code(self) -> str | None:
        return (self.body.get("error") or {}).get("code")


class Client:
    """A tiny HTTP client for the local gateway."""

    def __init__(self, runtime: LocalRuntime):
        self.runtime = runtime

    def request(
        self,
        body: Any,
        *,
        api_key: str | None = "default",
        headers: dict[str, str] | None = None,
        method: str = "POST",
        path: str = "/transaction",
    ) -> Reply:
        assert self.runtime.gateway is not None
        connection = http.client.HTTPConnection("127.0.0.1", self.runtime.gateway.port, timeout=10)
        sent = dict(headers or {})
        if api_key is not None:
            sent["x-api-key"] = self.runtime.api_key if api_key == "default" else api_key
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return Reply(response.status, json.loads(data) if data else {})


def valid_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card_token": "tok_9f8e7dabc",
        "card_bin": "411111",
        "card_last4": "1111",
        "channel": "ecommerce",
        "timestamp": "2026-11-30T12:00:00Z",
        "external_id": f"pi_{uuid.uuid4().hex[:12]}",
    }
    body.update(overrides)
    return body


@pytest.fixture(scope="module")
def calls() -> Counter[str]:
    """How often each stand-in handler ran."""
    return Counter()


@pytest.fixture(scope="module")
def runtime(calls: Counter[str]) -> Iterator[LocalRuntime]:
    """One runtime per module (one at a time per process), on free ports, with stand-ins."""

    def counted(name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(event: dict[str, Any], context: Any) -> Any:
            calls[name] += 1
            return handler(event, context)

        return wrapper

    config = RuntimeConfig(
        port=0,
        aws_port=0,
        api_key="functional-test-key-0123456789",
        merchants_file=HERE / "merchants_stub.json",
        openapi_document=HERE / "openapi_stub.yaml",
        handlers={name: counted(name, handler) for name, handler in HANDLERS.items()},
    )
    with LocalRuntime(config) as started:
        yield started


@pytest.fixture
def client(runtime: LocalRuntime) -> Client:
    return Client(runtime)


def stored(runtime: LocalRuntime, transaction_id: str) -> list[dict[str, Any]]:
    """Every item of the transactions table for ``transaction_id`` (there should be one)."""
    assert runtime.resources is not None
    return runtime.aws.client("dynamodb").query(
        TableName=runtime.resources.table(shapes.TRANSACTIONS_TABLE),
        KeyConditionExpression="transaction_id = :t",
        ExpressionAttributeValues={":t": {"S": transaction_id}},
    )["Items"]


@pytest.fixture
def make_body() -> Callable[..., dict[str, Any]]:
    """Factory: a valid TransactionRequest body, fields overridden by keyword."""
    return valid_body


@pytest.fixture
def stored_items(runtime: LocalRuntime) -> Callable[[str], list[dict[str, Any]]]:
    return lambda transaction_id: stored(runtime, transaction_id)

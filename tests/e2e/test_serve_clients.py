"""Serve mode as clients nobody here wrote see it: the AWS CLI on the one AWS endpoint, plain
HTTP on the API, and the readiness wait.

One ``python -m txn_local serve`` for the module (free ports, the real handlers), found through
its ``ready`` line, then driven only from outside: the AWS CLI with ``--endpoint-url`` (as the
README shows it) and HTTP requests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from txn_local import embedded
from txn_spec import shapes

pytestmark = pytest.mark.e2e

API_KEY = "serve-test-key-0123456789abcdef"
AWS = Path(sys.executable).with_name("aws")  # the awscli dev dependency, in the same venv


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    """``{"api": ..., "aws": ...}`` from the ready line of a running ``serve``."""
    environment = {**os.environ, "TXN_LOCAL_API_KEY": API_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "txn_local", "serve", "--port", "0", "--aws-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    assert process.stdout is not None
    watchdog = threading.Timer(240, process.kill)  # no ready line: the test fails, not hangs
    watchdog.start()
    output = []
    try:
        for line in process.stdout:
            output.append(line)
            if line.startswith("ready "):
                break
        watchdog.cancel()
        assert "".join(output[-1:]).startswith("ready "), "".join(output[-20:])
        assert sum(line.startswith("ready") for line in output) == 1
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keep it draining
        ready = dict(field.split("=", 1) for field in output[-1].split()[1:])
        other = [line.split()[2] for line in output if line.strip().startswith("other key")]
        yield ready | {"other_key": other[0] if other else ""}
    finally:
        watchdog.cancel()
        process.send_signal(signal.SIGINT)
        process.wait(90)


def aws(served: dict[str, str], *arguments: str) -> Any:
    """One AWS CLI command on the served endpoint, its JSON answer."""
    assert AWS.is_file(), f"the AWS CLI is not installed at {AWS}: ./noxw installs it"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    command = [str(AWS), "--endpoint-url", served["aws"], "--region", embedded.REGION]
    result = subprocess.run(  # noqa: S603 - the venv's aws
        [*command, "--output", "json", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def post(
    served: dict[str, str], key: str = API_KEY, **overrides: Any
) -> tuple[int, dict[str, Any]]:
    """The status and body of a ``POST /transaction`` sent with ``key``."""
    body = {
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card_token": f"tok_{uuid.uuid4().hex[:12]}",
        "card_bin": "411111",
        "card_last4": "1111",
        "channel": "ecommerce",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **overrides,
    }
    request = urllib.request.Request(  # noqa: S310 - the served loopback API
        served["api"],
        data=json.dumps(body).encode(),
        headers={"x-api-key": key, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_printed_key_of_another_provider_is_refused_for_the_demo_merchants(served):
    # ADR 0024: a key the gateway admits, which no merchant names
    assert served["other_key"]
    status, answer = post(served, key=served["other_key"])
    assert (status, answer["error"]["code"]) == (403, "merchant_not_permitted")


def test_one_endpoint_answers_every_service_on_the_aws_cli(served):
    tables = aws(served, "dynamodb", "list-tables")["TableNames"]
    assert sorted(tables) == sorted(embedded.name(shape.component) for shape in shapes.TABLES)
    queues = aws(served, "sqs", "list-queues")["QueueUrls"]
    assert len(queues) == len(shapes.QUEUES)
    assert all(url.startswith(served["aws"]) for url in queues)
    topics = [t["TopicArn"] for t in aws(served, "sns", "list-topics")["Topics"]]
    assert topics == [f"arn:aws:sns:{embedded.REGION}:123456789012:txn-local-fraud-alerts"]
    assert aws(served, "kms", "list-aliases")["Aliases"]
    assert aws(served, "apigateway", "get-rest-apis")["items"]


def test_boto3_needs_only_aws_endpoint_url(served, monkeypatch):
    for name in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", served["aws"])
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=embedded.REGION
    )
    assert len(session.client("sqs").list_queues()["QueueUrls"]) == len(shapes.QUEUES)
    assert len(session.client("dynamodb").list_tables()["TableNames"]) == len(shapes.TABLES)
    assert len(session.client("sns").list_topics()["Topics"]) == 1


def test_the_aws_cli_scans_a_transaction_the_api_accepted(served):
    status, accepted = post(served)
    assert status == 202
    transaction_id = accepted["transaction_id"]
    table = embedded.name(shapes.TRANSACTIONS_TABLE.component)
    mine: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = aws(served, "dynamodb", "scan", "--table-name", table)["Items"]
        mine = [i for i in items if i["transaction_id"]["S"] == transaction_id]
        if mine and mine[0]["status"]["S"] == "APPROVED":
            break
        time.sleep(0.5)
    assert [i["status"]["S"] for i in mine] == ["APPROVED"]


def test_the_aws_cli_reads_the_queue_attributes(served):
    name = embedded.name(shapes.TRANSACTIONS_QUEUE.component)
    url = aws(served, "sqs", "get-queue-url", "--queue-name", name)["QueueUrl"]
    attributes = aws(
        served, "sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All"
    )["Attributes"]
    queue = shapes.TRANSACTIONS_QUEUE
    assert attributes["VisibilityTimeout"] == str(queue.visibility_timeout_seconds)
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(embedded.name(shapes.TRANSACTIONS_DLQ.component))


def test_a_queue_subscribed_to_the_fraud_alerts_topic_receives_an_alert(served):
    url = aws(served, "sqs", "create-queue", "--queue-name", "cli-alerts")["QueueUrl"]
    arn = aws(
        served, "sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "QueueArn"
    )["Attributes"]["QueueArn"]
    (topic,) = [t["TopicArn"] for t in aws(served, "sns", "list-topics")["Topics"]]
    aws(served, "sns", "subscribe", "--topic-arn", topic, "--protocol", "sqs",
        "--notification-endpoint", arn)  # fmt: skip
    # a card on the BIN blocklist is FLAGGED (merchant risk alone no longer flags: issue 17),
    # and a flag is an alert on the topic
    status, accepted = post(served, card_bin="510510")
    assert status == 202
    transaction_id = accepted["transaction_id"]
    received: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(transaction_id in m for m in received):
        answer = aws(served, "sqs", "receive-message", "--queue-url", url,
                     "--wait-time-seconds", "2", "--max-number-of-messages", "10")  # fmt: skip
        received += [m["Body"] for m in (answer or {}).get("Messages", [])]
    assert any(transaction_id in body for body in received), received


def test_wait_returns_once_serve_is_ready(served):
    port = str(urlsplit(served["api"]).port)
    result = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "txn_local", "wait", "--port", port, "--timeout", "30"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"ready api={served['api']}"

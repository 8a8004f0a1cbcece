"""The moto server's direct path for JSON-protocol calls answers as moto's Flask app does."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

from txn_local.motoserver import DirectJson


def call(app, service: str, target: str, body: dict) -> tuple[int, str, dict]:
    headers = {
        "X-Amz-Target": target,
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-2/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        ),
    }
    response = Client(app).post("/", data=json.dumps(body), headers=headers)
    return response.status_code, response.headers["Content-Type"], response.get_json(force=True)


@pytest.fixture
def apps():
    with mock_aws():  # fresh backends, dropped afterwards
        moto = DomainDispatcherApplication(create_backend_app)
        yield moto, DirectJson(moto)


@pytest.mark.parametrize(
    ("service", "target", "body"),
    [
        pytest.param("sqs", "AmazonSQS.GetQueueUrl", {"QueueName": "absent"}, id="sqs-error"),
        pytest.param("sqs", "AmazonSQS.ListQueues", {}, id="sqs-list"),
        pytest.param(
            "dynamodb", "DynamoDB_20120810.DescribeTable", {"TableName": "absent"}, id="ddb-error"
        ),
        pytest.param("dynamodb", "DynamoDB_20120810.ListTables", {}, id="ddb-list"),
    ],
)
def test_a_json_call_gets_the_answer_moto_s_flask_app_gives(apps, service, target, body):
    moto, direct = apps
    assert call(direct, service, target, body) == call(moto, service, target, body)


def test_state_written_through_the_direct_path_is_moto_s(apps):
    moto, direct = apps
    status, _, created = call(direct, "sqs", "AmazonSQS.CreateQueue", {"QueueName": "q"})
    assert status == 200
    _, _, found = call(moto, "sqs", "AmazonSQS.GetQueueUrl", {"QueueName": "q"})
    assert found == created


def test_other_calls_take_moto_s_app(apps):
    _, direct = apps
    seen = []

    def app(environ, start_response):
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"{}"]

    direct.app = app
    Client(direct).get("/restapis")
    Client(direct).post("/", data="Action=ListTopics", headers={"X-Amz-Target": "Other.Call"})
    assert seen == ["/restapis", "/"]

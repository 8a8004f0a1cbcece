"""The call counter names services and operations as AWS does and keeps observers apart."""

from __future__ import annotations

import io
import json

from txn_local.callcount import CALLS_PATH, OBSERVER_AGENT, CallCounter, difference


def _environ(service: str, **extra: object) -> dict:
    auth = (
        "AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-2/"
        f"{service}/aws4_request, SignedHeaders=host, Signature=abc"
    )
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "HTTP_AUTHORIZATION": auth,
        "wsgi.input": io.BytesIO(b""),
        **extra,
    }


def _app(environ: dict, start_response) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [])
    return [body]


def _call(counter: CallCounter, environ: dict) -> bytes:
    return b"".join(counter(environ, lambda *_: None))


def test_counts_by_service_and_operation_across_protocols() -> None:
    counter = CallCounter(_app)
    _call(counter, _environ("dynamodb", HTTP_X_AMZ_TARGET="DynamoDB_20120810.GetItem"))
    _call(counter, _environ("dynamodb", HTTP_X_AMZ_TARGET="DynamoDB_20120810.GetItem"))
    _call(counter, _environ("sqs", HTTP_X_AMZ_TARGET="AmazonSQS.ReceiveMessage"))
    form = b"Action=PublishBatch&Version=2010-03-31"
    echoed = _call(
        counter,
        _environ(
            "sns",
            CONTENT_TYPE="application/x-www-form-urlencoded; charset=utf-8",
            CONTENT_LENGTH=str(len(form)),
            **{"wsgi.input": io.BytesIO(form)},
        ),
    )
    _call(
        counter,
        _environ("apigateway", REQUEST_METHOD="GET", PATH_INFO="/usageplans/abc/keys"),
    )
    assert echoed == form  # the app still reads the whole body
    assert counter.snapshot()["calls"] == {
        "apigateway": {"GET /usageplans": 1},
        "dynamodb": {"GetItem": 2},
        "sns": {"PublishBatch": 1},
        "sqs": {"ReceiveMessage": 1},
    }


def test_observers_are_counted_apart_and_the_counts_endpoint_is_not_counted() -> None:
    counter = CallCounter(_app)
    target = {"HTTP_X_AMZ_TARGET": "AmazonSQS.GetQueueAttributes"}
    _call(counter, _environ("sqs", HTTP_USER_AGENT=f"Boto3/1.35 {OBSERVER_AGENT}", **target))
    answer = json.loads(_call(counter, {"PATH_INFO": CALLS_PATH, "REQUEST_METHOD": "GET"}))
    assert answer == {"calls": {}, "observer": {"sqs": {"GetQueueAttributes": 1}}}


def test_difference() -> None:
    before = {"sqs": {"SendMessage": 2}}
    after = {"sqs": {"SendMessage": 5}, "dynamodb": {"GetItem": 1}}
    assert difference(after, before) == {"sqs": {"SendMessage": 3}, "dynamodb": {"GetItem": 1}}
    assert difference(before, before) == {}

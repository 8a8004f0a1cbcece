"""The one AWS endpoint: SQS and SNS answered by the front server, the rest forwarded."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from txn_local.motoserver import Forward, http_server


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The second server: says what it received."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    seen = {
        "method": environ["REQUEST_METHOD"],
        "uri": environ["REQUEST_URI"],
        "target": environ.get("HTTP_X_AMZ_TARGET"),
        "body": body.decode(),
    }
    start_response("418 I'm a Teapot", [("X-Backend", "yes"), ("Content-Type", "text/json")])
    return [json.dumps(seen).encode()]


def _front(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "5")])
    return [b"front"]


@pytest.fixture
def forward() -> Iterator[Forward]:
    backend = http_server("127.0.0.1", 0, _echo, threads=2, what="test backend")
    threading.Thread(target=backend.serve, daemon=True).start()
    yield Forward(_front, f"http://127.0.0.1:{backend.bind_addr[1]}")
    backend.stop()


def call(app: Forward, service: str, body: bytes = b"", **environ: str) -> tuple[str, dict, bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer.update(status=status, headers=dict(headers))

    scope = f"AWS4-HMAC-SHA256 Credential=testing/20261206/us-east-2/{service}/aws4_request, x"
    full = {
        "REQUEST_METHOD": "POST",
        "REQUEST_URI": "/",
        "PATH_INFO": "/",
        "HTTP_AUTHORIZATION": scope if service else "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **environ,
    }
    payload = b"".join(app(full, start_response))
    return answer["status"], answer["headers"], payload


@pytest.mark.parametrize("service", ["sqs", "sns", ""])
def test_sqs_sns_and_unsigned_calls_are_answered_by_the_front(forward, service):
    assert call(forward, service)[2] == b"front"


@pytest.mark.parametrize("service", ["dynamodb", "kms", "apigateway"])
def test_every_other_service_goes_to_the_second_server_as_sent(forward, service):
    target = {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem"}
    for _ in range(2):  # the second call over the kept-alive connection
        status, headers, payload = call(
            forward, service, b'{"a": 1}', REQUEST_URI="/restapis/x?limit=5%2B1", **target
        )
        assert status == "418 I'm a Teapot"
        assert headers["X-Backend"] == "yes"
        assert headers["Content-Length"] == str(len(payload))
        assert json.loads(payload) == {
            "method": "POST",
            "uri": "/restapis/x?limit=5%2B1",
            "target": "DynamoDB_20120810.GetItem",
            "body": '{"a": 1}',
        }

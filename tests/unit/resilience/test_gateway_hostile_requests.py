"""Regressions found by the bad-input run against the local gateway (no AWS needed)."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import local_gateway
from txn_local.gateway import Gateway, Request
from txn_spec import shapes


class Validator:
    physical_name = "stand-in"

    def invoke(self, event: dict) -> dict:
        return {"statusCode": 202, "headers": {}, "body": "{}"}


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = local_gateway(Validator(), {"k": "kid"}, port=0)
    gw.start()
    yield gw
    gw.stop()


def post(body: bytes) -> Request:
    return Request(
        method="POST",
        path=f"/{shapes.API_PATH}",
        query="",
        headers=[("x-api-key", "k")],
        body=body,
        source_ip="127.0.0.1",
    )


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_a_body_nested_thousands_deep_is_a_coded_400(gateway: Gateway, opener: bytes) -> None:
    closer = b"]" if opener == b"[" else b"}"
    response = gateway.handle(post(opener * 5000 + b"1" + closer * 5000))
    assert response.status == 400
    assert json.loads(response.body)["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "BREW"])
def test_an_unknown_method_gets_the_coded_404_not_a_501(gateway: Gateway, method: str) -> None:
    connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    connection.request(method, f"/{shapes.API_PATH}", headers={"x-api-key": "k"})
    response = connection.getresponse()
    assert response.status == 404
    assert json.loads(response.read())["error"]["code"] == "not_found"
    connection.close()


def test_connect_is_refused_by_the_http_server_not_a_5xx(gateway: Gateway) -> None:
    # CONNECT asks for a tunnel: cheroot (not a proxy) refuses it before any route is matched
    connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    connection.request("CONNECT", f"/{shapes.API_PATH}", headers={"x-api-key": "k"})
    assert connection.getresponse().status == 405
    connection.close()


def test_128_concurrent_keep_alive_clients_get_no_reset_and_no_5xx(gateway: Gateway) -> None:
    # regression: a listen backlog of 5 reset 6-8 of 32 clients that connected at once
    start = threading.Barrier(128)

    def client(_: int) -> list[int]:
        connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=30)
        start.wait()
        try:
            statuses = []
            for _ in range(5):
                connection.request("POST", f"/{shapes.API_PATH}", body=b"{}")
                response = connection.getresponse()
                response.read()
                statuses.append(response.status)
            return statuses
        finally:
            connection.close()

    with ThreadPoolExecutor(128) as pool:
        statuses = [status for answers in pool.map(client, range(128)) for status in answers]
    assert statuses == [403] * 640  # no key: API Gateway's answer, from every connection


def test_a_request_on_an_open_connection_after_stop_is_still_answered(gateway: Gateway) -> None:
    # regression: a restart made keep-alive connections fail on the stopped gateway's port
    connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    connection.request("GET", "/nowhere")
    connection.getresponse().read()
    gateway.stop()
    body = {
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card_token": "tok_abcdefgh",
        "card_bin": "411111",
        "card_last4": "1111",
        "channel": "ecommerce",
        "timestamp": "2026-11-30T12:00:00Z",
    }
    assert gateway.handle(post(json.dumps(body).encode())).status == 202


def test_a_restart_cuts_open_connections(gateway: Gateway) -> None:
    connection = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    idle = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    for open_connection in (connection, idle):
        ask(open_connection)
    gateway.requested_port = gateway.port  # as restart_compute does
    gateway.stop()
    with pytest.raises((OSError, http.client.HTTPException)):
        ask(connection)
    # and it comes back on the port it had picked, its old connections still winding down
    gateway.start()
    fresh = http.client.HTTPConnection(gateway.host, gateway.port, timeout=10)
    assert json.loads(ask(fresh))["error"]["code"] == "not_found"
    fresh.close()
    idle.close()


def ask(connection: http.client.HTTPConnection) -> bytes:
    connection.request("GET", "/nowhere")
    return connection.getresponse().read()

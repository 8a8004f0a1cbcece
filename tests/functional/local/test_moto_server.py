"""The moto server child keeps its clients' connections open."""

from __future__ import annotations

import http.client

import pytest

from txn_local.callcount import CALLS_PATH
from txn_local.motoserver import MotoServer

pytestmark = pytest.mark.e2e


def test_more_than_ten_keep_alive_connections_all_stay_open():
    # GIVEN a moto server and 25 clients, as many as the runtime's processes hold
    server = MotoServer("127.0.0.1", 0, "keepalive-test")
    server.start()
    try:
        connections = [
            http.client.HTTPConnection("127.0.0.1", server.port, timeout=10) for _ in range(25)
        ]
        # WHEN each makes two calls, all connections idle in between
        ports = []
        for _ in range(2):
            for connection in connections:
                connection.request("GET", CALLS_PATH)
                response = connection.getresponse()
                response.read()
                assert response.status == 200
            ports.append([c.sock.getsockname()[1] if c.sock else None for c in connections])
        # THEN the second round went over the first round's connections (http.client opens a
        # new one, from a new port, after the server closed one)
        assert None not in ports[0]
        assert ports[1] == ports[0]
        for connection in connections:
            connection.close()
    finally:
        server.stop()

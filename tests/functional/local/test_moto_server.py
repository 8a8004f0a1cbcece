"""The moto server child keeps its clients' connections open."""

from __future__ import annotations

import http.client
import socket

import pytest

from txn_local import motoserver
from txn_local.callcount import CALLS_PATH
from txn_local.errors import LocalError
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


def test_a_child_that_cannot_bind_reports_its_own_coded_error(monkeypatch):
    # GIVEN a port taken after the parent's check (the check passes, the child's bind fails)
    monkeypatch.setattr(motoserver, "ensure_port_free", lambda *_: None)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = MotoServer("127.0.0.1", taken.getsockname()[1], "taken-test")
        # WHEN it starts
        with pytest.raises(LocalError) as error:
            server.start()
    # THEN the child's own error comes back, coded, and the child is gone
    assert error.value.code == "port_in_use"
    assert "the embedded AWS cannot listen on 127.0.0.1:" in error.value.message
    assert server.pid is None

"""``python -m txn_local``: clear errors, not tracebacks."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys

import pytest

from txn_local.__main__ import EXIT_ERROR, main

pytestmark = pytest.mark.e2e


def test_a_taken_gateway_port_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = io.StringIO()
        code = main(["serve", "--port", str(port), "--aws-port", "0"], out=out)
    assert code == EXIT_ERROR
    assert "error [port_in_use]" in out.getvalue()
    assert str(port) in out.getvalue()
    assert "Traceback" not in out.getvalue()


def test_a_taken_aws_port_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = io.StringIO()
        code = main(["serve", "--port", "0", "--aws-port", str(port)], out=out)
    assert code == EXIT_ERROR
    assert "error [port_in_use]" in out.getvalue()
    assert "embedded AWS" in out.getvalue()


@pytest.mark.parametrize(
    ("argv", "rule"),
    [
        (["--port", "70000"], "--port must be a port number (0-65535)"),
        (["--port", "http"], "argument --port: invalid int value: 'http'"),
        (["--count", "0"], "--count must be at least 1"),
        (["--workers", "0"], "--workers must be 1-100"),
        (["--timeout", "-1"], "--timeout must be more than 0 seconds"),
        (["--log-level", "LOUD"], "--log-level must be"),
        (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid' is not an address"),
        (["nonsense"], "argument mode: invalid choice: 'nonsense'"),
    ],
)
def test_a_bad_setting_is_one_coded_line_with_the_rule(argv, rule, capsys):
    out = io.StringIO()
    assert main(argv, out=out) == EXIT_ERROR
    (line,) = out.getvalue().splitlines()
    assert line.startswith("txn_local: error [bad_setting]: ")
    assert rule in line
    assert capsys.readouterr().err == ""  # no usage block


@pytest.mark.parametrize("key", ["short-key", "x" * 129, "a key with spaces 0123456789"])
def test_a_bad_api_key_is_one_coded_line_not_a_traceback(key):
    # a real process: whatever the runtime would print, not only what main() returns
    result = subprocess.run(
        [sys.executable, "-m", "txn_local", "serve", "--port", "0", "--aws-port", "0"],
        capture_output=True,
        text=True,
        env={**os.environ, "TXN_LOCAL_API_KEY": key},
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_ERROR
    assert result.stderr == ""
    (line,) = result.stdout.splitlines()
    assert line.startswith("txn_local: error [bad_setting]: TXN_LOCAL_API_KEY must be 20-128 ")


def test_wait_with_nothing_serving_is_a_coded_error_after_the_timeout():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    out = io.StringIO()
    assert main(["wait", "--port", str(port), "--timeout", "1"], out=out) == EXIT_ERROR
    (line,) = out.getvalue().splitlines()
    assert line.startswith("txn_local: error [not_ready]: ")
    assert str(port) in line

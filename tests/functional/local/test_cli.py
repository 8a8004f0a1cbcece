"""``python -m txn_local``: clear errors, not tracebacks."""

from __future__ import annotations

import io
import socket

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


@pytest.mark.parametrize("argv", [["--port", "70000"], ["--count", "0"], ["nonsense"]])
def test_bad_arguments_exit_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "usage:" in capsys.readouterr().err

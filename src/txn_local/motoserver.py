"""One moto server in a child process, so the embedded AWS runs on its own core.

``MotoServer(host, port).start()`` spawns ``python -m txn_local.motoserver``; the child binds
the port (0 picks a free one), prints ``ready <port>`` and serves until its stdin closes, so it
never outlives the runtime that started it, even when that runtime is killed. A taken port is a
:class:`~txn_local.errors.LocalError`, not a hang or a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from txn_local.errors import LocalError

START_TIMEOUT_SECONDS = 60
_READY = "ready"
_PORT_IN_USE_EXIT = 3


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Raise ``port_in_use`` when ``port`` is taken, before anything starts listening."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise LocalError(
                "port_in_use",
                f"{what} cannot listen on {host}:{port} ({error.strerror}); stop whatever uses "
                "it or choose another port",
            ) from None


class MotoServer:
    """A moto server child process; ``url`` is its endpoint once started."""

    def __init__(self, host: str, port: int, label: str):
        self.host = host
        self.requested_port = port
        self.label = label
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._log = Path(tempfile.mkstemp(prefix=f"txn-local-{label}-", suffix=".log")[1])

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"moto server {self.label} is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Spawn the child; :meth:`wait_ready` waits until it listens."""
        ensure_port_free(self.host, self.requested_port, f"the embedded AWS ({self.label})")
        command = [sys.executable, "-m", "txn_local.motoserver"]
        command += ["--host", self.host, "--port", str(self.requested_port)]
        with self._log.open("w") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=_child_environment(),
            )

    def wait_ready(self) -> None:
        line = self._read_ready_line()
        if not line.startswith(_READY):
            code = self._process.wait(timeout=5) if self._process and line == "" else None
            tail = self.log_tail()
            self.stop()
            if code == _PORT_IN_USE_EXIT:
                raise LocalError(
                    "port_in_use",
                    f"the embedded AWS ({self.label}) cannot listen on "
                    f"{self.host}:{self.requested_port}: the port is taken",
                )
            raise LocalError(
                "embedded_aws_failed",
                f"moto server ({self.label}) did not start; its log says: {tail}",
            )
        self.port = int(line.split()[1])

    def _read_ready_line(self) -> str:
        assert self._process is not None
        assert self._process.stdout is not None
        result: list[str] = []
        reader = threading.Thread(
            target=lambda: result.append(self._process.stdout.readline().strip()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(START_TIMEOUT_SECONDS)
        return result[0] if result else "timeout"

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self._log.read_text().strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin:
            process.stdin.close()  # the child shuts down when its stdin closes
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()
        self._log.unlink(missing_ok=True)


def _child_environment() -> dict[str, str]:
    """The child imports this package; make sure it can, installed or not."""
    source_root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (source_root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}


def _serve(host: str, port: int) -> int:
    """The child: serve moto until stdin closes."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from txn_local import moto_patches
    from txn_moto import partiql

    moto_patches.apply()
    partiql.apply()  # the fraud detector's PartiQL write statements (ADR 0003)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    app = DomainDispatcherApplication(create_backend_app)
    try:
        server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    except OSError as error:
        print(f"cannot bind {host}:{port}: {error}", file=sys.stderr)
        return _PORT_IN_USE_EXIT

    def stop_when_parent_goes() -> None:
        sys.stdin.read()
        server.shutdown()

    threading.Thread(target=stop_when_parent_goes, daemon=True).start()
    print(f"{_READY} {server.server_port}", flush=True)
    server.serve_forever()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    return _serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())

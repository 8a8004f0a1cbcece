"""The embedded AWS: moto servers in child processes, one endpoint for every service.

``MotoServer(host, port).start()`` spawns ``python -m txn_local.motoserver``; the child binds
the port (0 picks a free one), reads from its stdin the URL of the server it forwards other
services to (an empty line: none), prints ``ready <port>`` and serves until its stdin closes,
so it never outlives the runtime that started it, even when that runtime is killed. A taken
port is a :class:`~txn_local.errors.LocalError`, not a hang or a traceback.

Two servers share the work across both cores behind one port (:mod:`txn_local.embedded`): the
front answers SQS and SNS itself (an SNS topic delivers to SQS queues in-process, so they must
share a moto) and :class:`Forward` passes every other service's calls (by the SigV4 credential
scope) to the second server, over keep-alive connections.

The children serve moto's WSGI app with cheroot (a thread pool with HTTP/1.1 keep-alive)
rather than werkzeug's development server, which closes the connection after every response and
starts a thread per request. A :class:`~txn_local.callcount.CallCounter` in front of the app
counts every call by service and operation (``MotoServer.calls()``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar

from cheroot import wsgi

from txn_local.callcount import CALLS_PATH, CallCounter, Calls, service_of
from txn_local.errors import LocalError
from txn_moto import partiql, patches

START_TIMEOUT_SECONDS = 60
# Worker threads per moto server: a long-polling receive holds one for up to a second.
SERVER_THREADS = 32
KEEP_ALIVE_CONNECTIONS = 256
_READY = "ready"


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Raise ``port_in_use`` when ``port`` is taken, before anything starts listening."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            # As the servers bind (SO_REUSEADDR): connections left in TIME_WAIT by a server
            # that just stopped do not make its port "taken", so it can be restarted at once.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
        except OSError as error:
            raise LocalError(
                "port_in_use",
                f"{what} cannot listen on {host}:{port} ({error.strerror}); stop whatever uses "
                "it or choose another port",
            ) from None


class _Server(wsgi.Server):
    @classmethod
    def prepare_socket(cls, *args: Any, **kwargs: Any) -> socket.socket:
        # SO_REUSEADDR on a port 0 as well (cheroot sets it only on a fixed port), so a
        # restart on the port it picked binds again while its old connections wind down.
        sock: socket.socket = super().prepare_socket(*args, **kwargs)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return sock


def http_server(host: str, port: int, app: Any, *, threads: int, what: str) -> Any:
    """cheroot serving the WSGI ``app`` on ``host:port``, bound (``serve()`` runs it): a pool of
    ``threads``, HTTP/1.1 keep-alive for every client and a listen backlog for bursts."""
    server = _Server((host, port), app, numthreads=threads, request_queue_size=1024)
    # cheroot keeps at most 10 idle keep-alive connections and closes the others after their
    # response: with 25 clients and more, most calls paid for a new TCP connection both sides.
    server.keep_alive_conn_limit = KEEP_ALIVE_CONNECTIONS
    try:
        server.prepare()
    except OSError as error:
        raise LocalError("port_in_use", f"{what} cannot listen on {host}:{port}: {error}") from None
    return server


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
        try:  # here, not only in the child: a coded error, not a child that never starts
            patches.check_version()
        except patches.MotoVersionError as error:
            raise LocalError("moto_version", str(error)) from None
        command = [sys.executable, "-m", "txn_local.motoserver"]
        command += ["--host", self.host, "--port", str(self.requested_port), "--label", self.label]
        with self._log.open("w") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=child_environment(os.environ, SOURCE_ROOT),
            )

    def wait_ready(self, forward_to: str = "") -> None:
        """Tell the child where to forward the services it does not answer (:class:`Forward`;
        empty: none) and wait until it listens."""
        assert self._process is not None
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(f"{forward_to}\n")
            self._process.stdin.flush()
        except OSError:  # it died already: its log says why
            pass
        stdout = self._process.stdout
        assert stdout is not None
        answered = select.select([stdout], [], [], START_TIMEOUT_SECONDS)[0]
        word, _, rest = (stdout.readline().strip() if answered else "timeout").partition(" ")
        if word != _READY:
            tail = self.log_tail()
            self.stop()
            if word == "error":  # the child's LocalError: "error <code> <message>"
                raise LocalError(*rest.split(" ", 1))
            raise LocalError(
                "embedded_aws_failed",
                f"moto server ({self.label}) did not start; its log says: {tail}",
            )
        self.port = int(rest)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def calls(self) -> dict[str, Calls]:
        """The calls this server answered so far: ``{"calls": ..., "observer": ...}``."""
        with urllib.request.urlopen(f"{self.url}{CALLS_PATH}", timeout=10) as response:  # noqa: S310 - our own loopback server
            return json.loads(response.read())

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
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        self._log.unlink(missing_ok=True)


SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the folder this package is in


def child_environment(environment: Mapping[str, str], *folders: Path) -> dict[str, str]:
    """``environment`` for a child process that imports from ``folders``, installed or not."""
    paths = (*map(str, folders), environment.get("PYTHONPATH"))
    return {
        **environment,
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        "PYTHONUNBUFFERED": "1",
    }


def _serve(host: str, port: int) -> int:
    """The child: serve moto until stdin closes."""
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    patches.apply()
    partiql.apply()  # the fraud detector's PartiQL write statements (ADR 0003)
    # moto's dispatcher lists its own package directory (a few hundred stat calls) on every
    # request to match the host against service names; the directory does not change.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    app: Any = DirectJson(DomainDispatcherApplication(create_backend_app))
    forward_to = sys.stdin.readline().strip()
    app = CallCounter(Forward(app, forward_to) if forward_to else app)
    try:
        server = http_server(host, port, app, threads=SERVER_THREADS, what="the embedded AWS")
    except LocalError as error:
        print(f"error {error.code} {error.message}", flush=True)
        return 1

    def stop_when_parent_goes() -> None:
        sys.stdin.read()
        server.stop()

    threading.Thread(target=stop_when_parent_goes, daemon=True).start()
    print(f"{_READY} {server.bind_addr[1]}", flush=True)
    server.serve()
    return 0


class Forward:
    """WSGI app: SQS and SNS calls (and unsigned ones) to ``app``, every other service's calls
    to the moto server at ``url``, over one keep-alive connection per worker thread."""

    LOCAL = frozenset({"sqs", "sns", "unsigned"})
    _HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})

    def __init__(self, app: Callable[..., Iterable[bytes]], url: str):
        self.app = app
        self._address = urllib.parse.urlsplit(url).netloc
        self._local = threading.local()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if service_of(environ) in self.LOCAL:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers["Content-Length"] = str(length)
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._local.connection = http.client.HTTPConnection(self._address)
            try:
                connection.request(environ["REQUEST_METHOD"], environ["REQUEST_URI"], body, headers)
                response = connection.getresponse()
                payload = response.read()
                break
            except (OSError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        out = [(k, v) for k, v in response.getheaders() if k.lower() not in self._HOP_BY_HOP]
        out.append(("Content-Length", str(len(payload))))
        start_response(f"{response.status} {response.reason}", out)
        return [payload]


class DirectJson:
    """WSGI app: JSON-protocol calls of the busy services go straight to moto's handler.

    moto serves every service through a Flask app. Per request its dispatcher first finds the
    service by matching the host against every backend's URL patterns; then Flask pushes a
    request context, matches its URL map, runs flask-cors' hook and builds a response object
    around what the handler returned. For a JSON-protocol call (``POST /`` with an
    ``X-Amz-Target`` header) the target names the service and the Flask view would only call
    ``<Service>Response.dispatch(request, url, headers)``: this makes that call itself, with
    moto's own request type, and writes the status, headers and body the handler returned. The
    same moto code answers; a third of the per-call CPU of the SQS server goes. Any other call
    takes moto's app unchanged.
    """

    # X-Amz-Target prefix -> (module, response class)
    SERVICES: ClassVar[dict[str, tuple[str, str]]] = {
        "AmazonSQS": ("moto.sqs.responses", "SQSResponse"),
        "DynamoDB_20120810": ("moto.dynamodb.responses", "DynamoHandler"),
    }

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        import importlib

        from moto.core.request import Request

        class ServerRequest(Request):
            from_wsgi_server = True  # as moto's Flask request class says

        self.app = app
        self._request_class = ServerRequest
        self._handlers = {
            prefix: getattr(importlib.import_module(module), name).dispatch
            for prefix, (module, name) in self.SERVICES.items()
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        from botocore.exceptions import ClientError

        target = environ.get("HTTP_X_AMZ_TARGET", "")
        handler = self._handlers.get(target.partition(".")[0])
        if (
            handler is None
            or environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO") not in ("", "/")
        ):
            return self.app(environ, start_response)
        request = self._request_class(environ)
        try:
            result = handler(request, request.raw_url, dict(request.headers))
        except ClientError as error:  # as moto's Flask view answers it
            result = 400, {}, error.response["Error"]["Message"]
        status, headers, body = result if len(result) == 3 else (200, {}, result)
        payload = body.encode() if isinstance(body, str) else bytes(body or b"")
        names = {name.lower() for name in headers}
        header_list = [(name, str(value)) for name, value in headers.items()]
        if "content-type" not in names:
            header_list.append(("Content-Type", "text/html; charset=utf-8"))  # Flask's default
        if "content-length" not in names:
            header_list.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {reason_phrase(int(status))}", header_list)
        return [payload]


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--label", default="aws")  # which one, in a process list
    args = parser.parse_args(argv)
    return _serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())

"""Counting the AWS API calls a moto server answers, by service and operation.

:class:`CallCounter` wraps the moto WSGI app inside the server child process, so every call is
counted where it lands: the handlers', the event-source pollers' ``ReceiveMessage`` and
``DeleteMessageBatch``, the gateway's API key look-ups. ``GET /_txn_local/calls`` answers the
counts so far as JSON (that request is not counted). Calls from clients whose user agent
carries :data:`OBSERVER_AGENT` (the runtime watching its queues, a benchmark reading the table
back) are counted apart, under ``observer``, so they never inflate the pipeline's figures.

The operation is what AWS names it: the ``X-Amz-Target`` suffix (JSON protocols: DynamoDB,
SQS, KMS), the ``Action`` form field (query protocols: SNS), or ``METHOD /first-segment`` for
REST APIs (API Gateway). The service is the SigV4 credential scope's.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

CALLS_PATH = "/_txn_local/calls"
OBSERVER_AGENT = "txn-local-observer"

_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/([^/,]+)/aws4_request")

Calls = dict[str, dict[str, int]]  # service -> operation -> count


def service_of(environ: dict[str, Any]) -> str:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else "unsigned"


def operation_of(environ: dict[str, Any]) -> str:
    """The operation's AWS name; may replace ``wsgi.input`` after reading a form body."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rpartition(".")[2]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    query_action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if query_action:
        return query_action[0]
    segment = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
    return f"{environ.get('REQUEST_METHOD', 'GET')} /{segment}"


class CallCounter:
    """WSGI middleware: counts each call, then passes it to ``app`` unchanged."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._observer: Counter[tuple[str, str]] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == CALLS_PATH:
            body = json.dumps(self.snapshot()).encode()
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        key = (service_of(environ), operation_of(environ))
        observer = OBSERVER_AGENT in environ.get("HTTP_USER_AGENT", "")
        with self._lock:
            (self._observer if observer else self._calls)[key] += 1
        return self.app(environ, start_response)

    def snapshot(self) -> dict[str, Calls]:
        with self._lock:
            return {"calls": _nest(self._calls), "observer": _nest(self._observer)}


def _nest(counts: Counter[tuple[str, str]]) -> Calls:
    nested: Calls = {}
    for (service, operation), count in sorted(counts.items()):
        nested.setdefault(service, {})[operation] = count
    return nested


def difference(after: Calls, before: Calls) -> Calls:
    """``after - before``, dropping operations that did not move."""
    delta: Calls = {}
    for service, operations in after.items():
        for operation, count in operations.items():
            moved = count - before.get(service, {}).get(operation, 0)
            if moved:
                delta.setdefault(service, {})[operation] = moved
    return delta

"""Faults injected into the functions, on a seeded schedule.

The functions reach AWS through one boto3 client per service and SDK policy
(``txn_adapters.aws.client``). :class:`AwsFaults` registers botocore event handlers on those
clients, so an injected fault goes
through the same code paths as a real one:

- ``before-send`` answers instead of the embedded AWS with an error response (a throttle, a 5xx)
  or raises a connection error: botocore parses it, its retry policy retries it, and after the
  last attempt the adapters see the ``ClientError`` they would see in AWS;
- ``after-call`` raises :class:`FunctionCrash` after a call succeeded: the function dies there,
  in the middle of its batch, as a Lambda that runs out of memory would. The handler wrapper in
  :mod:`txn_resilience.handlers` turns it into a failed invocation.

Which call fails is decided by the call's number on its operation and the seed, so a plan
replays the same schedule (threads may interleave calls differently between runs). A fault may
be limited to a window of seconds, or to the calls one function makes (:data:`RUNNING`, set by
the handler wrapper): here the functions share one process's clients, where each Lambda has
its own.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

THROTTLE_CODES = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "sqs": "RequestThrottled",
    "sns": "Throttling",
}


# The function whose handler runs on this thread (its shape's component), or None outside one.
RUNNING: ContextVar[str | None] = ContextVar("txn_resilience_running", default=None)


class FunctionCrash(BaseException):
    """The function process dies here. A ``BaseException``: no ``except Exception`` stops it."""


@dataclass(frozen=True)
class Fault:
    """Fail ``rate`` of the calls to ``service``.``operation`` (``*``: any operation).

    ``kind``: ``throttle`` (400 with the service's throttling code), ``error`` (500 internal
    error), ``unavailable`` (connection refused), ``crash`` (the function dies right after
    the call succeeded). ``window`` limits the fault to seconds after the plan starts;
    ``function`` to the calls that function's handler makes (a shape's component).
    """

    service: str
    operation: str
    kind: str
    rate: float = 1.0
    window: tuple[float, float] | None = None
    function: str | None = None

    def matches(self, service: str, operation: str) -> bool:
        return (
            self.service == service
            and self.operation in ("*", operation)
            and self.function in (None, RUNNING.get())
        )


@dataclass
class AwsFaults:
    """Installs a list of faults on the functions' clients and counts what it injected."""

    faults: tuple[Fault, ...]
    seed: int = 1
    injected: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    active: bool = True

    def install(self, client_for: Callable[[str], Any]) -> None:
        """Hook every service a fault names, on the client ``client_for(service)`` returns."""
        for service in sorted({f.service for f in self.faults}):
            events = client_for(service).meta.events
            events.register_first(f"before-send.{_service_id(service)}", self._before_send)
            events.register_first(f"after-call.{_service_id(service)}", self._after_call)

    def _decide(self, service: str, operation: str, kinds: set[str]) -> Fault | None:
        phase = "sent" if "crash" not in kinds else "done"  # attempts sent, calls completed
        with self._lock:
            number = self.calls[f"{service}.{operation}:{phase}"]
            self.calls[f"{service}.{operation}:{phase}"] += 1
        if not self.active:
            return None
        elapsed = time.monotonic() - self.started
        for fault in self.faults:
            if fault.kind not in kinds or not fault.matches(service, operation):
                continue
            if fault.window and not fault.window[0] <= elapsed < fault.window[1]:
                continue
            draw = random.Random(f"{self.seed}:{fault}:{number}").random()  # noqa: S311
            if draw < fault.rate:
                with self._lock:
                    self.injected[f"{service}.{operation}:{fault.kind}"] += 1
                return fault
        return None

    def _before_send(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        service, operation = _names(kwargs["event_name"])
        fault = self._decide(service, operation, {"throttle", "error", "unavailable"})
        if fault is None:
            return None
        if fault.kind == "unavailable":
            raise EndpointConnectionError(endpoint_url=request.url)
        return _error_response(service, request, fault.kind)

    def _after_call(self, http_response: Any = None, parsed: Any = None, **kwargs: Any) -> None:
        service, operation = _names(kwargs["event_name"])
        status = getattr(http_response, "status_code", 200)
        if status < 300 and self._decide(service, operation, {"crash"}) is not None:
            raise FunctionCrash(f"crashed after {service}.{operation}")

    def total(self) -> int:
        return sum(self.injected.values())


def _service_id(service: str) -> str:
    return {"dynamodb": "dynamodb", "sqs": "sqs", "sns": "sns"}[service]


def _names(event_name: str) -> tuple[str, str]:
    _, service, operation = event_name.split(".", 2)
    return service.lower(), operation


class _Raw:
    """The raw stream botocore reads an HTTP body from."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def _error_response(service: str, request: Any, kind: str) -> AWSResponse:
    """An error as each service's protocol spells it (JSON for DynamoDB and SQS, XML for SNS)."""
    code = THROTTLE_CODES[service] if kind == "throttle" else "InternalError"
    if service == "dynamodb" and kind == "error":
        code = "InternalServerError"
    status = 400 if kind == "throttle" else 500
    message = f"injected {kind}"
    if service == "sns":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        ).encode()
        headers = {"Content-Type": "text/xml"}
    else:
        prefix = "com.amazonaws.dynamodb.v20120810#" if service == "dynamodb" else ""
        body = f'{{"__type": "{prefix}{code}", "message": "{message}"}}'.encode()
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        if service == "sqs":
            headers["x-amzn-query-error"] = f"{code};Sender"
    return AWSResponse(request.url, status, headers, _Raw(body))

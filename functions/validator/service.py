"""What the validator does with one request, with its AWS dependencies passed in."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from txn_adapters.idempotency import StoredAnswer
from txn_domain.errors import (
    BadRequestError,
    DomainError,
    ForbiddenError,
    IdempotencyConflictError,
)
from txn_domain.ids import new_transaction_id
from txn_domain.models import AcceptedTransaction, MerchantConfig, QueuedReport, utc_millis
from txn_domain.validation import (
    check_caller,
    check_merchant,
    check_reported_at,
    check_timestamp,
    parse_report,
    parse_request,
)
from txn_spec.api_responses import IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER
from txn_spec.shapes import FRAUD_REPORTS_RESOURCE

_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:.")
_HEADERS = {"Content-Type": "application/json"}


class Merchants(Protocol):
    def get(self, merchant_id: str) -> MerchantConfig | None: ...


class Queue(Protocol):
    def send(self, txn: AcceptedTransaction, posted_by: str | None = None) -> str: ...
    def send_report(self, report: QueuedReport) -> str: ...


class Idempotency(Protocol):
    def claim(self, key: str, answer: StoredAnswer) -> StoredAnswer | None: ...


@dataclass(frozen=True, slots=True)
class Result:
    status_code: int
    body: str
    outcome: str  # "accepted", "replayed", "report_accepted" or the error code
    transaction_id: str | None = None
    merchant_id: str | None = None  # of a refusal for the key (ADR 0024): for the log only

    def to_proxy(self) -> dict[str, Any]:
        headers = {**_HEADERS, REPLAYED_HEADER: "true"} if self.outcome == "replayed" else _HEADERS
        return {"statusCode": self.status_code, "headers": headers, "body": self.body}


def error_result(err: DomainError) -> Result:
    merchant_id = err.merchant_id if isinstance(err, ForbiddenError) else None
    return Result(err.status, json.dumps(err.to_body()), err.code, merchant_id=merchant_id)


def request_body(event: dict[str, Any]) -> str | bytes | None:
    """The body of an API Gateway proxy event, base64-decoded when flagged so."""
    body = event.get("body")
    if body is None or not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError("the body is not valid base64", code="malformed_body") from None


def api_key_id(event: dict[str, Any]) -> str | None:
    """The id of the API key the request was sent with (API Gateway checked the key)."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return identity.get("apiKeyId") or None


def idempotency_key(event: dict[str, Any]) -> str | None:
    """The ``Idempotency-Key`` header (any case), scoped by the caller's API key id.

    The IETF draft (httpapi-idempotency-key-header) makes the value a structured-field string,
    ``"8e03978e-..."``; the bare form is accepted too, and both name the same key. Two headers
    are refused: API Gateway's ``headers`` keeps only the last, so a retry could otherwise name
    another key than the client meant.
    """
    sent = [
        value
        for name, values in (event.get("multiValueHeaders") or {}).items()
        if name.lower() == IDEMPOTENCY_KEY_HEADER.lower()
        for value in values or ()
    ]
    if len(sent) > 1:
        raise BadRequestError(
            "send one Idempotency-Key header", code="invalid_header", field="Idempotency-Key"
        )
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == IDEMPOTENCY_KEY_HEADER.lower() and value is not None:
            if len(value) > 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if not (1 <= len(value) <= 128) or not set(value) <= _KEY_CHARS:
                raise BadRequestError(
                    "Idempotency-Key must be 1-128 characters of [A-Za-z0-9-_:.], bare or in "
                    "double quotes",
                    code="invalid_header",
                    field="Idempotency-Key",
                )
            return f"{api_key_id(event) or 'anonymous'}#{value}"
    return None


class Validator:
    def __init__(
        self,
        merchants: Merchants,
        queue: Queue,
        idempotency: Idempotency,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_id: Callable[[], str] = new_transaction_id,
    ):
        self._merchants = merchants
        self._queue = queue
        self._idempotency = idempotency
        self._clock = clock
        self._new_id = new_id

    def handle(self, event: dict[str, Any]) -> Result:
        """Validate, enqueue and answer; a :class:`DomainError` becomes its error answer."""
        try:
            return self._handle(event)
        except DomainError as err:
            return error_result(err)

    def is_report(self, event: dict[str, Any]) -> bool:
        """Whether ``event`` is a ``POST /fraud-reports`` (the proxy event's resource)."""
        return event.get("resource") == FRAUD_REPORTS_RESOURCE

    def _handle(self, event: dict[str, Any]) -> Result:
        if self.is_report(event):
            return self._report(event)
        key = idempotency_key(event)
        request = parse_request(request_body(event))
        now = self._clock()
        check_timestamp(request, now)
        merchant = self._merchants.get(request.merchant_id)
        caller = api_key_id(event)
        check_caller(merchant, caller)
        check_merchant(request, merchant)

        # Already validated: construct without validating the same fields a second time (from
        # the fields' values as stored: iterating the model is twice the cost of the copy).
        txn = AcceptedTransaction.model_construct(
            **vars(request),
            transaction_id=self._new_id(),
            received_at=utc_millis(now),
        )
        body = json.dumps(
            {
                "transaction_id": txn.transaction_id,
                "status": "accepted",
                "received_at": txn.received_at,
            }
        )
        if key is not None:
            # The hash of the validated request, not of the raw body: "the same body" means the
            # same request, so reordered keys or "+00:00" for "Z" replay; other values get 422.
            request_hash = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
            answer = StoredAnswer(request_hash, 202, body, txn.model_dump_json(exclude_none=True))
            stored = self._idempotency.claim(key, answer)
            if stored is not None:
                if stored.body_hash != request_hash:
                    raise IdempotencyConflictError(
                        "Idempotency-Key was already used with a different body",
                        field="Idempotency-Key",
                    )
                # Send again: the first attempt may have died before its SendMessage; the fraud
                # detector drops the copy if not.
                replay = AcceptedTransaction.model_validate_json(stored.message)
                # the key is scoped by the caller: the caller is the one that posted it first
                self._queue.send(replay, posted_by=caller)
                return Result(
                    stored.status_code, stored.response, "replayed", replay.transaction_id
                )
        self._queue.send(txn, posted_by=caller)
        return Result(202, body, "accepted", txn.transaction_id)

    def _report(self, event: dict[str, Any]) -> Result:
        """Validate a fraud report and queue it (ADR 0013). No Idempotency-Key: a report counts
        once however often it is sent (the fraud detector's items remember it)."""
        sender = api_key_id(event)
        if sender is None:  # never behind API Gateway, which requires the key: a direct invoke
            raise ForbiddenError("a report must be sent with an API key")
        report = parse_report(request_body(event))
        now = self._clock()
        check_reported_at(report, now)
        queued = QueuedReport.model_construct(
            **dict(report), received_at=utc_millis(now), api_key_id=sender
        )
        self._queue.send_report(queued)
        body = json.dumps(
            {
                "transaction_id": queued.transaction_id,
                "status": "accepted",
                "received_at": queued.received_at,
            }
        )
        return Result(202, body, "report_accepted", queued.transaction_id)

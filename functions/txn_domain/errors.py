"""Domain errors: each carries a machine-readable ``code``, a human ``message``, the offending
``field`` (or ``None``) and the HTTP status a client should see.

Messages never contain the input value that caused them: the input may carry card data.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the functions raise on purpose."""

    status: int = 500
    default_code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.field = field

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


# --- refused input (4xx) -------------------------------------------------------------------------


class BadRequestError(DomainError):
    """The request is malformed: bad JSON, a missing or invalid field, a card number."""

    status = 400
    default_code = "invalid_request"


class PanDetectedError(BadRequestError):
    """A raw card number (PAN) was found somewhere in the request."""

    default_code = "pan_not_allowed"


class ForbiddenError(DomainError):
    """The caller's API key may not act for what the request names (ADR 0024); ``merchant_id``
    names the merchant for the refusal's log line, never for the answer."""

    status = 403
    default_code = "forbidden"

    def __init__(self, message: str, *, code: str | None = None, merchant_id: str | None = None):
        super().__init__(message, code=code, field="merchant_id" if merchant_id else None)
        self.merchant_id = merchant_id


class MerchantRejectedError(DomainError):
    """The request is well formed but the merchant cannot take it."""

    status = 422
    default_code = "merchant_rejected"


class IdempotencyConflictError(DomainError):
    """An ``Idempotency-Key`` was reused with a different body."""

    status = 422
    default_code = "idempotency_key_reused"


# --- the platform's own trouble (never the client's fault) ----------------------------------------


class ServiceUnavailableError(DomainError):
    """A dependency failed; the client may retry (with the same Idempotency-Key)."""

    status = 503
    default_code = "service_unavailable"


class ThrottledError(ServiceUnavailableError):
    default_code = "throttled"


class DuplicateError(DomainError):
    """A conditional write found the item already there: the work was done before."""

    status = 409
    default_code = "duplicate"


class ConfigurationError(DomainError):
    """The function is deployed without a setting it needs (e.g. a missing env var)."""

    default_code = "misconfigured"


class WriteFailedError(ServiceUnavailableError):
    """One statement of a batched write failed (throttled, conflicting, ...); its record is
    retried by SQS. ``reason`` is DynamoDB's per-statement error code."""

    default_code = "write_failed"

    def __init__(self, message: str, reason: str):
        super().__init__(f"{message}: {reason}")
        self.reason = reason

"""Validation of a ``POST /transaction`` request: the body, then the merchant's terms; and of a
``POST /fraud-reports`` body (ADR 0013), with the same PAN scan and error codes.

Order matters: the PAN scan runs before the request model, so a card number is refused whatever
field (or non-field) it hides in, and no later error message can echo it. The raw text is the
cheap first look; when it has a long digit run or a ``\\u`` escape, the decoded JSON decides:
escapes cannot hide a card number, and the fraction digits of a JSON number (a precise ``geo``
coordinate) are not one. A body that is not JSON is judged on its text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from txn_domain.currencies import to_major
from txn_domain.errors import (
    BadRequestError,
    ForbiddenError,
    MerchantRejectedError,
    PanDetectedError,
)
from txn_domain.models import FraudReport, MerchantConfig, TransactionRequest
from txn_domain.pan import contains_pan

M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 8 * 1024
MAX_CLOCK_SKEW = timedelta(minutes=5)

# pydantic error type -> (our code, message template); {field} is the dotted location.
_ERRORS = {
    "missing": ("missing_field", "{field} is required"),
    "extra_forbidden": ("unknown_field", "{field} is not a field of this request"),
    "int_type": ("invalid_type", "{field} must be an integer"),
    "string_type": ("invalid_type", "{field} must be a string"),
    "float_type": ("invalid_type", "{field} must be a number"),
    "model_type": ("invalid_type", "{field} must be an object"),
    "dict_type": ("invalid_type", "{field} must be an object"),
    "string_pattern_mismatch": ("invalid_format", "{field} has an invalid format"),
    "greater_than_equal": ("out_of_range", "{field} is below its minimum"),
    "less_than_equal": ("out_of_range", "{field} is above its maximum"),
    "literal_error": ("invalid_value", "{field} is not one of the allowed values"),
    "json_invalid": ("malformed_json", "the body is not valid JSON"),
    "json_type": ("malformed_json", "the body must be a JSON object"),
}


def _field_of(loc: tuple[int | str, ...]) -> str | None:
    return ".".join(str(part) for part in loc) or None


def _from_pydantic(exc: ValidationError) -> BadRequestError:
    err = exc.errors(include_input=False, include_url=False)[0]
    field = _field_of(err["loc"])
    kind = err["type"]
    if kind == "value_error":  # our own validators: their message never holds the input
        reason = str(err.get("ctx", {}).get("error", "is invalid"))
        return BadRequestError(f"{field} {reason}", code="invalid_value", field=field)
    code, template = _ERRORS.get(kind, ("invalid_value", "{field} is invalid"))
    if code == "malformed_json" or field is None:
        return BadRequestError(template.format(field="body"), code=code, field=None)
    return BadRequestError(template.format(field=field), code=code, field=field)


def _texts(value: Any) -> Iterator[str]:
    """Every key, string and integer in a decoded JSON document, as text (floats left out)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)


def holds_pan(value: Any) -> bool:
    """Whether a decoded JSON document holds a card number in any key, string or integer."""
    return any(contains_pan(text) for text in _texts(value))


def _pan_in(body: str) -> tuple[bool, str | None]:
    """Whether ``body`` holds a PAN, and the top-level field holding it when known."""
    escaped = "\\u" in body
    if not escaped and not contains_pan(body):
        return False, None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON (or too deep for it): judge the text
        return contains_pan(body), None
    try:
        if not holds_pan(data):
            return False, None
    except RecursionError:
        return contains_pan(body), None
    if isinstance(data, dict):
        for key, value in data.items():
            if contains_pan(key):  # the key is the card number: naming it would echo it
                return True, None
            if holds_pan(value):
                return True, key
    return True, None


def _text(body: str | bytes | None) -> str:
    """The body as text, refused when missing, too large, not UTF-8 or holding a card number."""
    if body is None or len(body) == 0:
        raise BadRequestError("the request has no body", code="missing_body")
    if len(body) > MAX_BODY_BYTES:
        raise BadRequestError(f"the body exceeds {MAX_BODY_BYTES} bytes", code="body_too_large")
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestError("the body is not UTF-8", code="malformed_json") from None
    found, field = _pan_in(body)
    if found:
        raise PanDetectedError(
            "raw card numbers are not accepted; send the card token, BIN and last four digits",
            field=field,
        )
    return body


def _validated(model: type[M], body: str | bytes | None) -> M:
    try:
        return model.model_validate_json(_text(body))
    except ValidationError as exc:
        raise _from_pydantic(exc) from None


def parse_request(body: str | bytes | None) -> TransactionRequest:
    """A validated request from the raw body, or :class:`BadRequestError`."""
    return _validated(TransactionRequest, body)


def parse_report(body: str | bytes | None) -> FraudReport:
    """A validated fraud report from the raw body, or :class:`BadRequestError` (a card number
    is refused as in a transaction: the report names the transaction by its id only)."""
    return _validated(FraudReport, body)


def _not_in_future(value: str, field: str, now: datetime) -> None:
    if datetime.fromisoformat(value) - now.astimezone(UTC) > MAX_CLOCK_SKEW:
        raise BadRequestError(f"{field} is in the future", code="invalid_value", field=field)


def check_reported_at(report: FraudReport, now: datetime) -> None:
    _not_in_future(report.reported_at, "reported_at", now)


def check_timestamp(txn: TransactionRequest, now: datetime) -> None:
    _not_in_future(txn.timestamp, "timestamp", now)


def check_caller(merchant: MerchantConfig | None, api_key_id: str | None) -> None:
    """Refuse a caller whose API key is not bound to the merchant (ADR 0024): before any other
    term, so such a caller learns nothing of the merchant's. An unknown merchant (``None``) is
    left to :func:`check_merchant`."""
    if merchant is not None and not merchant.admits(api_key_id):
        raise ForbiddenError(
            "this API key may not post for this merchant",
            code="merchant_not_permitted",
            merchant_id=merchant.merchant_id,
        )


def check_merchant(txn: TransactionRequest, merchant: MerchantConfig | None) -> None:
    """Refuse what the merchant cannot take; ``None`` means the merchant is unknown."""
    if merchant is None:
        raise MerchantRejectedError(
            "merchant is not known", code="merchant_unknown", field="merchant_id"
        )
    if not merchant.active:
        raise MerchantRejectedError(
            "merchant is not active", code="merchant_inactive", field="merchant_id"
        )
    if txn.currency not in merchant.allowed_currencies:
        raise MerchantRejectedError(
            f"merchant does not accept {txn.currency}",
            code="currency_not_allowed",
            field="currency",
        )
    if to_major(txn.amount, txn.currency) > merchant.per_transaction_limit:
        raise MerchantRejectedError(
            "amount exceeds the merchant's per-transaction limit",
            code="amount_over_limit",
            field="amount",
        )

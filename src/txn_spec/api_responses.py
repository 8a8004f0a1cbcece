"""The answers API Gateway itself gives (gateway responses), in the API's own error shape.

The validator answers bad input with ``{"error": {"code", "message", "field"}}``. A request
that API Gateway refuses before any Lambda runs (no API key, a body the request validator
rejects, an unknown path) would otherwise get API Gateway's bare ``{"message": "Forbidden"}``;
customising the gateway responses gives every refusal the same machine-readable shape.

One definition, two renderers: the ``edge`` stack turns each entry into an
``aws.apigateway.Response`` with :func:`template` (API Gateway fills ``$context`` variables),
and the local gateway answers with :func:`body` (Python fills the same fields). Pure Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GatewayResponse:
    """One API Gateway response type with its status, code and message. ``sets_status=False``:
    the edge leaves the status to API Gateway (``status`` is then what the local gateway
    answers, API Gateway's own status in that case)."""

    response_type: str
    status: int
    code: str
    message: str
    sets_status: bool = True


BAD_REQUEST_BODY = GatewayResponse(
    "BAD_REQUEST_BODY",
    400,
    "invalid_request",
    "The request body does not match the schema of the route",
)
INVALID_API_KEY = GatewayResponse(
    "INVALID_API_KEY", 403, "forbidden", "A valid x-api-key header is required"
)
# API Gateway's answer to a path or method the API does not have (its own status is 403, as for
# a missing IAM signature, which this API never asks for): 404, so a client with a typo in the
# path is not told that its key is bad.
MISSING_AUTHENTICATION_TOKEN = GatewayResponse(
    "MISSING_AUTHENTICATION_TOKEN", 404, "not_found", "No such resource or method"
)
REQUEST_TOO_LARGE = GatewayResponse(
    "REQUEST_TOO_LARGE", 413, "request_too_large", "The request is larger than 10 MB"
)
THROTTLED = GatewayResponse("THROTTLED", 429, "throttled", "Too many requests: slow down")
QUOTA_EXCEEDED = GatewayResponse("QUOTA_EXCEEDED", 429, "quota_exceeded", "Usage quota exceeded")
# The refusals of a key's usage plan or the stage's throttle: edge counts them (ADR 0025).
THROTTLE_RESPONSES = (THROTTLED, QUOTA_EXCEEDED)
# AWS WAF blocked the request (deployed only: the local gateway has no WAF in front of it).
WAF_FILTERED = GatewayResponse("WAF_FILTERED", 403, "forbidden", "The request was blocked")
# Every 5XX API Gateway answers itself, in the error shape but with its own status: 502 for a
# Lambda error or a malformed proxy answer (what the local gateway answers), 504 for an
# integration timeout or failure, 500 for a configuration error (a lost invoke permission).
# Setting DEFAULT_5XX's status would set every other 5XX response's to it ("Gateway response
# types for API Gateway"), and the runbook tells these cases apart by status.
DEFAULT_5XX = GatewayResponse(
    "DEFAULT_5XX", 502, "internal_error", "Internal server error", sets_status=False
)
# Every other 4XX API Gateway answers itself (a bad request parameter, an unsupported media type,
# ...) falls back to DEFAULT_4XX: in the error shape too, its status left to API Gateway for the
# same reason as DEFAULT_5XX's. The local gateway never answers one (its status here is nominal).
DEFAULT_4XX = GatewayResponse(
    "DEFAULT_4XX", 400, "request_refused", "The request was refused", sets_status=False
)

GATEWAY_RESPONSES = (
    BAD_REQUEST_BODY,
    INVALID_API_KEY,
    MISSING_AUTHENTICATION_TOKEN,
    REQUEST_TOO_LARGE,
    THROTTLED,
    QUOTA_EXCEEDED,
    WAF_FILTERED,
    DEFAULT_4XX,
    DEFAULT_5XX,
)

# The validator's idempotency headers (``api/openapi.yaml``): a replay gets the first answer
# with ``Idempotent-Replayed: true``; ``edge`` declares both on the method.
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

# The request validator checks the body against the route's model (``api/openapi.yaml``).
REQUEST_MODEL = "TransactionRequest"
REPORT_MODEL = "FraudReport"
MAX_BODY_BYTES = 10 * 1024 * 1024


def body(response: GatewayResponse) -> dict[str, Any]:
    """The body the client gets, as a dict (the local gateway serialises it)."""
    return {"error": {"code": response.code, "message": response.message, "field": None}}


def template(response: GatewayResponse) -> str:
    """The ``application/json`` response template for API Gateway: the same body, constant.

    Deliberately without ``$context.error.validationErrorString``: API Gateway's validation
    message quotes the offending value, which may be a card number (PCI DSS 3.3).
    """
    return json.dumps(body(response))

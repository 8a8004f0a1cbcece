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
    """One API Gateway response type with its status, code and message."""

    response_type: str
    status: int
    code: str
    message: str
    # API Gateway's variable that carries the detail, e.g. the validator's error string.
    detail_variable: str | None = None


BAD_REQUEST_BODY = GatewayResponse(
    "BAD_REQUEST_BODY",
    400,
    "invalid_request",
    "The request body does not match the TransactionRequest schema",
    detail_variable="$context.error.validationErrorString",
)
INVALID_API_KEY = GatewayResponse(
    "INVALID_API_KEY", 403, "forbidden", "A valid x-api-key header is required"
)
MISSING_AUTHENTICATION_TOKEN = GatewayResponse(
    "MISSING_AUTHENTICATION_TOKEN", 403, "not_found", "No such resource or method"
)
REQUEST_TOO_LARGE = GatewayResponse(
    "REQUEST_TOO_LARGE", 413, "request_too_large", "The request is larger than 10 MB"
)
THROTTLED = GatewayResponse("THROTTLED", 429, "throttled", "Too many requests: slow down")
QUOTA_EXCEEDED = GatewayResponse("QUOTA_EXCEEDED", 429, "quota_exceeded", "Usage quota exceeded")
# A Lambda error or a malformed proxy answer; API Gateway's own default is 502 here.
DEFAULT_5XX = GatewayResponse("DEFAULT_5XX", 502, "internal_error", "Internal server error")

GATEWAY_RESPONSES = (
    BAD_REQUEST_BODY,
    INVALID_API_KEY,
    MISSING_AUTHENTICATION_TOKEN,
    REQUEST_TOO_LARGE,
    THROTTLED,
    QUOTA_EXCEEDED,
    DEFAULT_5XX,
)

# The request validator checks the body against this model (``api/openapi.yaml``).
REQUEST_MODEL = "TransactionRequest"
MAX_BODY_BYTES = 10 * 1024 * 1024


def template(response: GatewayResponse) -> str:
    """The ``application/json`` response template for API Gateway."""
    message = response.message
    if response.detail_variable:
        # API Gateway substitutes the variable as raw text inside the JSON string.
        message = f"{message}: {response.detail_variable}"
    return json.dumps({"error": {"code": response.code, "message": message, "field": None}})


def body(response: GatewayResponse, detail: str | None = None) -> dict[str, Any]:
    """The body the local gateway answers with; ``detail`` fills ``detail_variable``."""
    message = response.message if not detail else f"{response.message}: {detail}"
    return {"error": {"code": response.code, "message": message, "field": None}}

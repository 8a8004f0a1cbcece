"""Checks schemathesis runs on every answer of the local gateway (``SCHEMATHESIS_HOOKS``)."""

from __future__ import annotations

import json
import re

import schemathesis

CODE = re.compile(r"^[a-z][a-z0-9_]*$")


@schemathesis.check
def error_has_a_code(ctx, response, case) -> None:
    """Every 4xx answer carries ``{"error": {"code": <snake_case>, "message": ...}}``."""
    if not 400 <= response.status_code < 500:
        return
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(f"{response.status_code} without an error object") from None
    if not isinstance(error.get("code"), str) or not CODE.match(error["code"]):
        raise AssertionError(f"{response.status_code} without a machine-readable code")
    if not isinstance(error.get("message"), str):
        raise AssertionError(f"{response.status_code} without a message")

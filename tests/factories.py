"""The one sample transaction body the tests build on: the API document's own example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from txn_spec import api_schema

SAMPLE_BODY: dict[str, Any] = api_schema.request_example(
    Path(__file__).resolve().parents[1] / api_schema.OPENAPI_PATH
)


def transaction_body(**overrides: Any) -> dict[str, Any]:
    """A valid request body with fields overridden; ``field=...`` (Ellipsis) drops a field."""
    body = {**SAMPLE_BODY, **overrides}
    return {k: v for k, v in body.items() if v is not ...}

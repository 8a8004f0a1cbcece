"""The one sample transaction body the tests build on (the API document's own example), and
the local gateway with stand-ins for the validator and the usage plan's keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from txn_local.gateway import Gateway, compile_body_check, load_request_schema
from txn_spec import api_schema
from txn_spec.api_responses import REPORT_MODEL

OPENAPI = Path(__file__).resolve().parents[1] / api_schema.OPENAPI_PATH
SAMPLE_BODY: dict[str, Any] = api_schema.request_example(OPENAPI)


def transaction_body(**overrides: Any) -> dict[str, Any]:
    """A valid request body with fields overridden; ``field=...`` (Ellipsis) drops a field."""
    body = {**SAMPLE_BODY, **overrides}
    return {k: v for k, v in body.items() if v is not ...}


@dataclass(frozen=True)
class StandInKeys:
    """The enabled API keys of the stage's usage plans: value -> key id."""

    keys: Mapping[str, str]

    def key_id(self, value: str | None) -> str | None:
        return self.keys.get(value or "")


def local_gateway(validator: Any, keys: Mapping[str, str], **options: Any) -> Gateway:
    """The local gateway in front of ``validator`` (anything with ``invoke(event)`` and
    ``physical_name``), checking bodies against ``api/openapi.yaml``."""
    return Gateway(
        validator=validator,
        body_check=compile_body_check(load_request_schema(OPENAPI)),
        report_check=compile_body_check(load_request_schema(OPENAPI, REPORT_MODEL)),
        api_keys=StandInKeys(keys),  # type: ignore[arg-type]
        rest_api_id="api",
        account_id="123456789012",
        **options,
    )

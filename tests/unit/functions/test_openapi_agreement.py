"""The OpenAPI request schema (what API Gateway enforces) and the pydantic model (what the
validator enforces) accept and refuse the same bodies."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import fastjsonschema
import pytest
import yaml

from txn_domain.countries import ALPHA2
from txn_domain.currencies import EXPONENTS
from txn_domain.errors import BadRequestError
from txn_domain.models import TransactionRequest
from txn_domain.validation import parse_request

OPENAPI = Path(__file__).resolve().parents[3] / "api" / "openapi.yaml"


def _draft4(schema):
    """OpenAPI 3.0 ``nullable`` as JSON Schema draft-04 (what API Gateway models speak)."""
    schema = copy.deepcopy(schema)
    if schema.pop("nullable", False):
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    for prop in schema.get("properties", {}).values():
        prop.update(_draft4(prop))
    return schema


@pytest.fixture(scope="module")
def api_schema():
    doc = yaml.safe_load(OPENAPI.read_text())
    return doc["components"]["schemas"]["TransactionRequest"]


@pytest.fixture(scope="module")
def gateway_accepts(api_schema):
    check = fastjsonschema.compile(
        {"$schema": "http://json-schema.org/draft-04/schema#", **_draft4(api_schema)}
    )

    def accepts(body):
        try:
            check(body)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return accepts


def model_accepts(body):
    try:
        parse_request(json.dumps(body))
    except BadRequestError:
        return False
    return True


def test_required_fields_agree(api_schema):
    model = TransactionRequest.model_json_schema()
    assert set(api_schema["required"]) == set(model["required"])
    assert set(api_schema["properties"]) == set(model["properties"])


def test_enums_match_the_data_tables(api_schema):
    assert set(api_schema["properties"]["currency"]["enum"]) == set(EXPONENTS)
    assert set(api_schema["properties"]["card_country"]["enum"]) == ALPHA2


def test_numeric_bounds_agree(api_schema):
    model = TransactionRequest.model_json_schema()["properties"]["amount"]
    api = api_schema["properties"]["amount"]
    assert (api["minimum"], api["maximum"]) == (model["minimum"], model["maximum"])


def test_gateway_schema_keeps_to_draft_04_without_format(api_schema):
    assert "format" not in json.dumps(api_schema)
    assert api_schema["additionalProperties"] is False


SAMPLES = [
    ({}, True),
    ({"terminal_id": "T-1", "channel": "card_present"}, True),
    ({"geo": None, "card_country": None}, True),
    ({"amount": ...}, False),
    ({"amount": "1999"}, False),
    ({"amount": 1.5}, False),
    ({"amount": 0}, False),
    ({"amount": 100_000_000_000}, False),
    ({"currency": "XXX"}, False),
    ({"currency": "usd"}, False),
    ({"card_country": "ZZ"}, False),
    ({"card_bin": "12345"}, False),
    ({"card_last4": "12345"}, False),
    ({"card_token": "t"}, False),
    ({"merchant_id": ""}, False),
    ({"channel": "phone"}, False),
    ({"timestamp": "yesterday"}, False),
    ({"geo": {"lat": 0}}, False),
    ({"geo": {"lat": 0, "lon": 181}}, False),
    ({"geo": {"lat": 0, "lon": 0, "alt": 1}}, False),
    ({"extra": 1}, False),
    ({"external_id": "has space"}, False),
]


@pytest.mark.parametrize(("overrides", "valid"), SAMPLES)
def test_given_a_sample_body_then_gateway_and_model_agree(
    overrides, valid, make_body, gateway_accepts
):
    body = make_body(**overrides)
    assert gateway_accepts(body) is valid
    assert model_accepts(body) is valid


@pytest.mark.parametrize(
    "overrides",
    [{"timestamp": "2026-02-30T12:00:00Z"}, {"ip_address": "999.1.1.1"}],
)
def test_where_draft_04_cannot_speak_the_model_is_stricter(overrides, make_body, gateway_accepts):
    body = make_body(**overrides)
    assert gateway_accepts(body)
    assert not model_accepts(body)


KEYS = [
    "k",
    "order-77",
    "8e03978e-40d5-43e8-bc93-6894a57f9324",
    '"8e03978e-40d5-43e8-bc93-6894a57f9324"',
    "a" * 128,
    f'"{"a" * 128}"',
    "a" * 129,
    "",
    '""',
    '"open',
    'close"',
    "with space",
    '"with space"',
    "semi;colon",
    '"esc\\"aped"',
]


@pytest.mark.parametrize("key", KEYS)
def test_the_idempotency_key_parameter_and_the_validator_accept_the_same_values(key):
    import re

    from validator.service import idempotency_key

    operation = yaml.safe_load(OPENAPI.read_text())["paths"]["/transaction"]["post"]
    (parameter,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    schema = parameter["schema"]
    documented = (
        schema["minLength"] <= len(key) <= schema["maxLength"]
        and re.search(schema["pattern"], key) is not None
    )
    try:
        idempotency_key({"headers": {"Idempotency-Key": key}})
        accepted = True
    except BadRequestError:
        accepted = False
    assert accepted == documented


def test_the_openapi_document_states_the_key_lifetime_the_store_keeps():
    from txn_adapters.idempotency import DEFAULT_TTL_SECONDS

    operation = yaml.safe_load(OPENAPI.read_text())["paths"]["/transaction"]["post"]
    (parameter,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert DEFAULT_TTL_SECONDS == 24 * 3600
    assert parameter["description"].count(f"{DEFAULT_TTL_SECONDS // 3600} hours") == 2
    assert "422 idempotency_key_reused" in parameter["description"]
    assert "409" not in operation["responses"]  # a concurrent retry gets the first answer
    assert "idempotency_key_reused" in operation["responses"]["422"]["description"]
    assert "Idempotent-Replayed" in operation["responses"]["202"]["headers"]

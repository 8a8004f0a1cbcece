"""api_schema: the OpenAPI request schema becomes a self-contained draft-04 model that refuses
what the document refuses."""

from __future__ import annotations

from pathlib import Path

import fastjsonschema
import pytest

from tests.factories import transaction_body
from txn_spec import api_schema

DOCUMENT = Path(__file__).resolve().parents[2] / api_schema.OPENAPI_PATH


@pytest.fixture(scope="module")
def validate():
    return fastjsonschema.compile(api_schema.model_schema(api_schema.load_document(DOCUMENT)))


def test_refs_are_inlined_and_annotations_dropped() -> None:
    geo = {"type": "object", "required": ["lat", "lon"], "properties": {"lat": {}, "lon": {}}}
    request = {
        "type": "object",
        "example": {"geo": {"lat": 1, "lon": 2}},
        "x-internal-note": "dropped",
        "properties": {"geo": {"$ref": "#/components/schemas/Geo"}},
    }
    document = {"components": {"schemas": {"Geo": geo, "R": request}}}
    schema = api_schema.model_schema(document, "R")
    assert schema["$schema"] == api_schema.DRAFT_04
    assert schema["properties"]["geo"]["required"] == ["lat", "lon"]
    assert "example" not in schema
    assert "x-internal-note" not in schema


def test_openapi_dialect_becomes_draft_04() -> None:
    properties = {"terminal_id": {"type": "string", "nullable": True}, "version": {"const": 1}}
    request = {"type": "object", "properties": properties}
    schema = api_schema.model_schema({"components": {"schemas": {"R": request}}}, "R")
    assert schema["properties"]["terminal_id"]["type"] == ["string", "null"]
    assert schema["properties"]["version"] == {"enum": [1]}


@pytest.mark.parametrize(
    "body",
    [
        transaction_body(amount=...),
        transaction_body(amount="19.99"),
        transaction_body(currency="usd"),
        transaction_body(pan="4111111111111111"),
        transaction_body(geo={"lat": 200, "lon": 0}),
    ],
    ids=["missing-amount", "amount-as-string", "lower-currency", "unknown-field", "bad-geo"],
)
def test_malformed_bodies_are_refused(validate, body: dict) -> None:
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validate(body)


def test_draft_06_exclusive_bounds_become_draft_04() -> None:
    document = {"components": {"schemas": {"R": {"type": "number", "exclusiveMinimum": 0}}}}
    assert api_schema.model_schema(document, "R")["minimum"] == 0
    assert api_schema.model_schema(document, "R")["exclusiveMinimum"] is True


def test_a_missing_schema_or_document_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(api_schema.SchemaError, match=r"components\.schemas\.Nope"):
        api_schema.model_schema(api_schema.load_document(DOCUMENT), "Nope")
    with pytest.raises(api_schema.SchemaError, match="no OpenAPI document"):
        api_schema.load_document(tmp_path / "missing.yaml")


def test_recursive_refs_are_refused() -> None:
    document = {
        "components": {
            "schemas": {
                "A": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}
            }
        }
    }
    with pytest.raises(api_schema.SchemaError, match="recursive"):
        api_schema.model_schema(document, "A")


def test_the_real_document_accepts_the_documented_example_and_refuses_a_pan_field(
    validate,
) -> None:
    example = api_schema.request_example(DOCUMENT)
    validate(example)
    assert "example" not in api_schema.model_schema(api_schema.load_document(DOCUMENT))
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validate(example | {"card_number": "4111111111111111"})

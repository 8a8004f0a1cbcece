"""api_schema: the OpenAPI request schema becomes a self-contained draft-04 model that refuses
what the document refuses."""

from __future__ import annotations

from pathlib import Path

import fastjsonschema
import pytest

from txn_infra import api_schema

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "openapi-minimal.yaml"
GOOD = {"merchant_id": "m_1001", "amount": 1999, "currency": "USD", "card_token": "tok_9f8e7d"}


@pytest.fixture(scope="module")
def validate():
    schema = api_schema.model_schema(api_schema.load_document(FIXTURE))
    return fastjsonschema.compile(schema)


def test_refs_are_inlined_and_annotations_dropped() -> None:
    schema = api_schema.model_schema(api_schema.load_document(FIXTURE))
    assert schema["$schema"] == api_schema.DRAFT_04
    assert schema["properties"]["geo"]["required"] == ["lat", "lon"]
    assert "example" not in schema
    assert "x-internal-note" not in schema


def test_openapi_dialect_becomes_draft_04() -> None:
    schema = api_schema.model_schema(api_schema.load_document(FIXTURE))
    assert schema["properties"]["terminal_id"]["type"] == ["string", "null"]
    assert schema["properties"]["version"] == {"enum": [1]}


def test_a_good_body_passes(validate) -> None:
    validate(GOOD | {"terminal_id": None, "geo": {"lat": 40.7, "lon": -74.0}})


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in GOOD.items() if k != "amount"},
        GOOD | {"amount": "19.99"},
        GOOD | {"currency": "usd"},
        GOOD | {"pan": "4111111111111111"},
        GOOD | {"geo": {"lat": 200, "lon": 0}},
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
        api_schema.model_schema(api_schema.load_document(FIXTURE), "Nope")
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


def test_the_real_document_accepts_the_documented_example_and_refuses_a_pan_field() -> None:
    document = Path(__file__).resolve().parents[2] / api_schema.OPENAPI_PATH
    check = fastjsonschema.compile(api_schema.model_schema(api_schema.load_document(document)))
    example = api_schema.request_example(document)
    check(example)
    assert "example" not in api_schema.model_schema(api_schema.load_document(document))
    with pytest.raises(fastjsonschema.JsonSchemaException):
        check(example | {"card_number": "4111111111111111"})

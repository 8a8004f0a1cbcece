"""The request body schema of the API, from its OpenAPI document, as an API Gateway model.

API Gateway validates request bodies against JSON Schema draft-04. The OpenAPI document in
``api/openapi.yaml`` is the one description of the API; this module turns one of its
``components.schemas`` into a self-contained draft-04 schema, so the gateway refuses exactly
what the document says is malformed, before any function runs:

- local ``$ref``s (``#/components/schemas/...``) are inlined (API Gateway would need them as
  separate models with gateway URLs); a cycle is an error;
- OpenAPI 3.0 ``nullable: true`` and 3.1 type lists become draft-04 type lists;
- ``const`` becomes a one-value ``enum``; draft-06 numeric ``exclusiveMinimum``/``Maximum``
  become the draft-04 boolean form;
- annotations API Gateway does not know (``example``, ``examples``, ``readOnly``,
  ``writeOnly``, ``deprecated``, ``discriminator``, ``xml``, ``externalDocs``, ``x-*``) are dropped.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

DRAFT_04 = "http://json-schema.org/draft-04/schema#"
OPENAPI_PATH = Path("api") / "openapi.yaml"
REQUEST_SCHEMA = "TransactionRequest"
REPORT_SCHEMA = "FraudReport"  # POST /fraud-reports (ADR 0013)

_DROPPED = frozenset(
    {"example", "examples", "readOnly", "writeOnly", "deprecated", "discriminator", "xml",
     "externalDocs", "$schema", "$id", "$comment", "contentMediaType", "contentEncoding"}
)  # fmt: skip
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_VALUES = ("items", "additionalProperties", "not")


class SchemaError(ValueError):
    """The OpenAPI document lacks the schema, or uses something draft-04 cannot express."""


def load_document(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SchemaError(f"no OpenAPI document at {path}") from None
    if not isinstance(document, dict):
        raise SchemaError(f"{path} is not an OpenAPI document")
    return document


def model_schema(document: dict[str, Any], name: str = REQUEST_SCHEMA) -> dict[str, Any]:
    """``components.schemas.<name>`` of ``document`` as a self-contained draft-04 schema."""
    schemas = (document.get("components") or {}).get("schemas") or {}
    if name not in schemas:
        raise SchemaError(f"the OpenAPI document has no components.schemas.{name}")
    converted = _convert(schemas[name], schemas, trail=(name,))
    return {"$schema": DRAFT_04, "title": name, **converted}


def request_example(path: Path, name: str = REQUEST_SCHEMA) -> dict[str, Any]:
    """The ``example`` of ``components.schemas.<name>`` in the document at ``path`` (a copy)."""
    schema = ((load_document(path).get("components") or {}).get("schemas") or {}).get(name) or {}
    if not isinstance(schema.get("example"), dict):
        raise SchemaError(f"components.schemas.{name} in {path} has no example object")
    return copy.deepcopy(schema["example"])


def model_json(path: Path, name: str = REQUEST_SCHEMA) -> str:
    """The API Gateway model body (stable JSON text) for schema ``name`` in ``path``."""
    return json.dumps(model_schema(load_document(path), name), sort_keys=True)


def _convert(node: Any, schemas: dict[str, Any], trail: tuple[str, ...]) -> Any:
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    if "$ref" in node:
        target = _ref_name(node["$ref"])
        if target in trail:
            raise SchemaError(f"recursive $ref {' -> '.join((*trail, target))} cannot be inlined")
        if target not in schemas:
            raise SchemaError(f"$ref to unknown schema {target!r}")
        return _convert(schemas[target], schemas, (*trail, target))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-"):
            continue
        if key in _SCHEMA_MAPS:
            out[key] = {k: _convert(v, schemas, trail) for k, v in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [_convert(v, schemas, trail) for v in value]
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = _convert(value, schemas, trail)
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out[key.replace("exclusive", "").lower()] = value
            out[key] = True
        elif key != "nullable":
            out[key] = copy.deepcopy(value)
    if node.get("nullable") is True:
        types = out.get("type")
        if types is not None:
            types = types if isinstance(types, list) else [types]
            out["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _ref_name(ref: str) -> str:
    prefix = "#/components/schemas/"
    if not ref.startswith(prefix):
        raise SchemaError(f"only local component $refs are supported, not {ref!r}")
    return ref.removeprefix(prefix)

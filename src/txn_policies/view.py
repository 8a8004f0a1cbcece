"""The one shape every policy reads: a resource's type, name, URN, properties and dependencies.

Properties use the provider's camelCase wire names, the same under CrossGuard (``args.props``)
and under the offline run (``Resource.inputs``/``outputs``). A value Pulumi cannot know during
a preview (an ARN of a resource created in the same update) is the ``UNKNOWN`` marker; a check
that needs it calls :func:`known`, which raises :class:`UnknownValueError` so the CrossGuard
adapter can report "can't run during preview" instead of a false pass or a false violation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class _Unknown:
    """A property value Pulumi will only know after the update (computed in the same stack)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


class UnknownValueError(Exception):
    """A check needed a value that is unknown until the update runs."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} is unknown until the update runs")
        self.path = path


@dataclass(frozen=True)
class ResourceView:
    """What a policy sees of one resource.

    ``deps`` maps a property name to the URNs of the resources its value came from (CrossGuard
    fills it from ``property_dependencies``); checks use it to pair resources whose linking ARN
    is still unknown during a preview.
    """

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    deps: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.type} {self.name!r}"


def urn_of(type_: str, name: str, stack: str = "dev", project: str = "txn") -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def get(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """``props["a"]["b"]`` for ``path="a.b"``; ``default`` when a step is missing or null.

    Block-typed properties that the provider models as a one-element list (``[{...}]``) are
    read through transparently.
    """
    value: Any = props
    for step in path.split("."):
        if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 1:
            value = value[0]
        if not isinstance(value, Mapping) or value.get(step) is None:
            return default
        value = value[step]
    return value


def known(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Like :func:`get`, but raises :class:`UnknownValueError` for a value not yet known."""
    value = get(props, path, default)
    if value is UNKNOWN:
        raise UnknownValueError(path)
    return value


def whole(value: Any) -> int | None:
    """A whole number from an int or a float (CrossGuard's protobuf numbers are floats)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def count(props: Mapping[str, Any], path: str, default: int) -> int:
    """A whole-number property, ``default`` when missing; unknown raises, junk is an error."""
    value = known(props, path)
    if value is None:
        return default
    number = whole(value)
    if number is None:
        raise ValueError(f"{path} is {value!r}, not a whole number")
    return number


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def document(value: Any, path: str = "policy") -> dict[str, Any] | None:
    """A policy document property parsed to a dict (JSON string or already an object)."""
    if value is None or value == "":
        return None
    if value is UNKNOWN:
        raise UnknownValueError(path)
    if isinstance(value, Mapping):
        return plain(value)
    return json.loads(value)


def statements(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for statement in as_list(doc.get("Statement")):
        if isinstance(statement, Mapping):
            yield dict(statement)


def plain(value: Any) -> Any:
    """Deep-copy mappings and sequences into dicts and lists (CrossGuard hands out proxies)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(v) for v in value]
    return value

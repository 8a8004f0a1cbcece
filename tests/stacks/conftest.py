"""Stack tests run each layer's real program under Pulumi's mocks (txn_infra.offline).

Each layer runs once per session; upstream layers answer its stack references with their real
exports, exactly as in ``run_system``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from txn_infra.offline import LayerRun, Resource, run_system
from txn_spec import contract


@pytest.fixture(scope="session")
def prod_system() -> dict[str, LayerRun]:
    return run_system(stack="prod")


def upstream_exports(system: dict[str, LayerRun], spec: contract.Layer) -> dict[str, dict]:
    """What ``spec``'s references answered with in the dev run, per producer."""
    return {name: system[name].exports for name in spec.upstream}


def policy(resource: Resource, key: str = "policy") -> dict[str, Any]:
    """A JSON policy input of a resource, parsed."""
    return json.loads(resource.inputs[key])


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

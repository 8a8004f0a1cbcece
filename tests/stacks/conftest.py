"""Stack tests run each layer's real program under the harness's mocks (no CLI, no AWS).

Each layer runs once per session; upstream layers answer its stack references with their real
exports, exactly as in ``run_system``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from txn_infra import contract
from txn_infra.harness import LayerRun, Resource, run_system


@pytest.fixture(scope="session")
def system() -> dict[str, LayerRun]:
    """Every layer that exists, run in DAG order for the dev stack."""
    return run_system(stack="dev", layers=existing_layers())


@pytest.fixture(scope="session")
def prod_system() -> dict[str, LayerRun]:
    return run_system(stack="prod", layers=existing_layers())


def existing_layers() -> list[str]:
    from txn_infra.harness import REPO_ROOT

    return [n for n in contract.deploy_order() if (REPO_ROOT / "stacks" / n).is_dir()]


def policy(resource: Resource, key: str = "policy") -> dict[str, Any]:
    """A JSON policy input of a resource, parsed."""
    return json.loads(resource.inputs[key])


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

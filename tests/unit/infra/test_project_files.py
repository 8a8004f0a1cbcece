"""Every project's ``Pulumi.yaml`` config declarations load in the Pulumi CLI.

The CLI validates a project file before any command (``pulumi stack select`` included) against
its ``project.json`` schema, whose config ``type`` is one of ``string``, ``integer``,
``boolean``, ``array`` and ``object`` (``object`` from CLI 3.186, pulumi/pulumi#20129); and it
checks a typed key's default, and each stack's value, as ``ValidateConfigValue`` in
``sdk/go/common/workspace/project.go`` does. The mocks never load these files, so a ``type:
number`` would pass every other test and stop three layers at their first real command.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from txn_infra.offline import REPO_ROOT
from txn_spec import contract

# project.json's SimpleConfigType enum.
CONFIG_TYPES = frozenset({"string", "integer", "boolean", "array", "object"})
PROJECTS = sorted((REPO_ROOT / "stacks").glob("*/Pulumi.yaml"))


def fits(declared: dict[str, Any], value: Any) -> bool:
    """Whether the CLI accepts ``value`` for a key of the declared type (ValidateConfigValue)."""
    kind = declared.get("type")
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        if isinstance(value, str):
            return value.lstrip("+-").isdigit()
        if isinstance(value, float):
            return math.trunc(value) == value
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if kind == "object":
        return isinstance(value, dict)
    items = declared.get("items")
    return isinstance(value, list) and items is not None and all(fits(items, v) for v in value)


def declarations(project: Path) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(project.read_text()).get("config") or {}
    return {key: value for key, value in config.items() if isinstance(value, dict)}


def problems(project: Path) -> list[str]:
    """What the CLI would refuse in the project file and its stack files' values."""
    name = yaml.safe_load(project.read_text())["name"]
    found: list[str] = []
    declared = declarations(project)
    for key, declaration in declared.items():
        if "type" not in declaration:
            continue
        kind = declaration["type"]
        if kind not in CONFIG_TYPES:
            found.append(f"{key}: type {kind!r} is not one of {sorted(CONFIG_TYPES)}")
        elif kind == "array" and "items" not in declaration:
            found.append(f"{key}: an array needs items")
        elif "default" in declaration and not fits(declaration, declaration["default"]):
            found.append(f"{key}: default {declaration['default']!r} is not {kind}")
    for stack_file in sorted(project.parent.glob("Pulumi.*.yaml")):
        values = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
        # ValidateStackConfigAndApplyProjectConfig: a declared key with neither a default nor a
        # value must be set by every stack ("Stack 'dev' is missing configuration value ...")
        stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for key, declaration in declared.items():
            required = "default" not in declaration and "value" not in declaration
            if required and f"{name}:{key}" not in values and key not in values:
                found.append(f"Stack '{stack}' is missing configuration value '{key}'")
        for full_key, value in values.items():
            namespace, _, key = full_key.rpartition(":")
            declaration = declared.get(key, {})
            if namespace == name and "type" in declaration and not fits(declaration, value):
                found.append(
                    f"{stack_file.name} {full_key}: {value!r} is not {declaration['type']}"
                )
    return found


def test_every_project_including_the_account_bootstrap_is_checked() -> None:
    assert {p.parent.name for p in PROJECTS} >= {"account", *contract.LAYERS}


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.parent.name)
def test_the_cli_accepts_every_declared_config_type_default_and_stack_value(
    project: Path,
) -> None:
    assert problems(project) == []


def test_a_number_type_and_a_default_of_another_type_are_named(tmp_path: Path) -> None:
    project = tmp_path / "Pulumi.yaml"
    project.write_text(
        "name: txn-x\nruntime: python\nconfig:\n"
        "  rate:\n    type: number\n    default: 0.05\n"
        "  days:\n    type: integer\n    default: 1.5\n"
        "  names:\n    type: array\n    default: [a]\n"
        "  burst:\n    type: integer\n    default: 10\n"
        "  subjects:\n    type: array\n    items:\n      type: string\n"
    )
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  txn-x:burst: lots\n")

    assert problems(project) == [
        "rate: type 'number' is not one of ['array', 'boolean', 'integer', 'object', 'string']",
        "days: default 1.5 is not integer",
        "names: an array needs items",
        "Stack 'dev' is missing configuration value 'subjects'",
        "Pulumi.dev.yaml txn-x:burst: 'lots' is not integer",
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_layer_of_a_stack_names_its_resources_with_the_same_app(stack: str) -> None:
    # `app` is declared per project, but security writes the ARNs of the tables, queues and
    # topic data creates from its own: two values would grant roles on names nobody creates
    from txn_ops.settings import config_value

    apps = {
        name: config_value(REPO_ROOT, layer, stack, "app")
        for name, layer in contract.LAYERS.items()
    }
    assert len(set(apps.values())) == 1, apps

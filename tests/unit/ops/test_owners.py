"""CODEOWNERS: every layer's team owns its stack and its components; the spec is the platform's."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.unit.ops.test_ops_cli import run_cli
from txn_ops import owners
from txn_ops import settings as cfg
from txn_ops.affected import ImportGraph
from txn_ops.errors import OpsError
from txn_spec import contract

ROOT = cfg.REPO_ROOT
PLATFORM = "@txn-platform/platform-owners"
COMPONENTS = "src/txn_infra/components/"


def ownership_problems(text: str) -> list[str]:
    """What is wrong with a CODEOWNERS text, judged against what each layer's program loads."""
    from codeowners import CodeOwners

    rules = CodeOwners(text)
    loads = ImportGraph(ROOT).layer_modules()
    loaded_by = Counter(f for files in loads.values() for f in files)
    problems: list[str] = []
    teams: dict[str, tuple[str, ...]] = {}
    for name in contract.LAYERS:
        team = owners.of(rules, f"{contract.layer(name).folder}/__main__.py")
        teams[name] = team
        if len(team) != 1 or team == (PLATFORM,):
            problems.append(f"stacks/{name} is owned by {team or 'nobody'}, not one team")
        for module in sorted(loads[name]):
            own = owners.of(rules, module)
            if module.startswith(COMPONENTS) and loaded_by[module] == 1 and own != team:
                problems.append(f"{module} (only {name} loads it) is owned by {own}")
    shared = [n for n, t in Counter(teams.values()).items() if t > 1]
    problems += [f"{team} owns several layers" for team in shared]
    for spec in sorted((ROOT / "src" / "txn_spec").glob("*.py")):
        path = spec.relative_to(ROOT).as_posix()
        if owners.of(rules, path) != (PLATFORM,):
            problems.append(f"{path} is owned by {owners.of(rules, path)}, not {PLATFORM}")
    return problems


def codeowners_text() -> str:
    return (ROOT / owners.CODEOWNERS).read_text()


def test_each_layer_has_its_team_and_the_spec_belongs_to_the_platform_owners() -> None:
    assert ownership_problems(codeowners_text()) == []


def test_a_component_handed_to_another_team_is_reported() -> None:
    doctored = codeowners_text() + "\n/src/txn_infra/components/data.py @txn-platform/network\n"
    problems = ownership_problems(doctored)
    assert any("components/data.py" in p and "network" in p for p in problems), problems


def test_a_spec_module_taken_by_one_team_is_reported() -> None:
    doctored = codeowners_text() + "\n/src/txn_spec/shapes.py @txn-platform/data\n"
    assert any("txn_spec/shapes.py" in p for p in ownership_problems(doctored))


def test_owners_to_ask_groups_the_changed_files_by_owner() -> None:
    asked = owners.to_ask(
        ["stacks/data/__main__.py", "src/txn_spec/naming.py", "api/openapi.yaml"], ROOT
    )
    assert asked == {
        "@txn-platform/compute": ["api/openapi.yaml"],
        "@txn-platform/data": ["stacks/data/__main__.py"],
        "@txn-platform/edge": ["api/openapi.yaml"],
        PLATFORM: ["src/txn_spec/naming.py"],
    }


def test_a_repository_without_codeowners_is_a_coded_error(tmp_path: Path) -> None:
    with pytest.raises(OpsError) as raised:
        owners.to_ask(["README.md"], tmp_path)
    assert raised.value.code == "codeowners-missing"


def test_affected_names_the_owners_to_ask() -> None:
    text = run_cli("affected", "--files", "stacks/edge/__main__.py", "functions/validator/app.py")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    at = lines.index("Owners to ask (.github/CODEOWNERS):")
    assert [line.split()[0] for line in lines[at + 1 :]] == [
        "@txn-platform/compute",
        "@txn-platform/edge",
    ]
    as_json = run_cli("affected", "--format", "json", "--files", "stacks/edge/__main__.py")
    assert json.loads(as_json.stdout)["owners"] == {
        "@txn-platform/edge": ["stacks/edge/__main__.py"]
    }

"""Which layers a change touches: folder rules, the static import graph, git diffs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from txn_ops import affected, cli
from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_spec import contract

# A small repository shaped like ours: network and data import different components, both
# import the contract, data's component uses naming through a relative import.
FILES = {
    "src/txn_infra/__init__.py": "",
    "src/txn_infra/contract.py": "",
    "src/txn_infra/naming.py": "",
    "src/txn_infra/offline.py": "from txn_infra import contract\n",
    "src/txn_infra/components/__init__.py": "",
    "src/txn_infra/components/network.py": "import txn_infra.contract\n",
    "src/txn_infra/components/data.py": "from ..naming import physical_name\n",
    "src/txn_infra/components/schema.json": "{}\n",
    "src/txn_policies/__init__.py": "",
    "src/txn_policies/pci.py": "",
    "policies/__main__.py": "from txn_policies.pci import rules\n",
    "stacks/network/__main__.py": (
        "from txn_infra import contract\nfrom txn_infra.components.network import Net\n"
    ),
    "stacks/network/Pulumi.yaml": "name: txn-network\n",
    "stacks/data/__main__.py": (
        "from txn_infra import contract\nfrom txn_infra.components import data\n"
    ),
    "stacks/compute/__main__.py": "from txn_infra import contract\n",
    "functions/validator/handler.py": "",
    "README.md": "",
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, FILES)
    return tmp_path


def changed(tree: Path, *paths: str) -> list[str]:
    return affected.select(paths, tree).changed_layers


def test_a_component_selects_only_the_layer_that_imports_it(tree: Path) -> None:
    selection = affected.select(["src/txn_infra/components/data.py"], tree)

    assert selection.changed_layers == ["data"]
    assert selection.downstream_layers == ["compute", "edge", "observability"]
    assert selection.layers == ["data", "compute", "edge", "observability"]


def test_a_module_imported_through_a_relative_import_selects_its_importers(tree: Path) -> None:
    assert changed(tree, "src/txn_infra/naming.py") == ["data"]


def test_the_contract_selects_every_layer_that_imports_it(tree: Path) -> None:
    assert changed(tree, "src/txn_infra/contract.py") == ["network", "data", "compute"]


def test_a_package_init_selects_every_layer_loading_a_module_below_it(tree: Path) -> None:
    assert changed(tree, "src/txn_infra/components/__init__.py") == ["network", "data"]


def test_a_data_file_in_a_package_selects_the_layers_loading_that_package(tree: Path) -> None:
    assert changed(tree, "src/txn_infra/components/schema.json") == ["network", "data"]


def test_a_module_no_layer_imports_selects_nothing(tree: Path) -> None:
    selection = affected.select(["src/txn_infra/offline.py"], tree)

    assert selection.layers == []
    assert selection.ignored == ["src/txn_infra/offline.py"]


def test_files_in_a_layer_folder_select_that_layer(tree: Path) -> None:
    assert changed(tree, "stacks/network/Pulumi.prod.yaml") == ["network"]


def test_functions_select_compute_and_the_api_selects_compute_and_edge(tree: Path) -> None:
    assert changed(tree, "functions/validator/handler.py") == ["compute"]
    assert changed(tree, "api/openapi.yaml") == ["compute", "edge"]


def test_pyproject_and_policies_select_every_layer(tree: Path) -> None:
    assert changed(tree, "pyproject.toml") == list(contract.LAYERS)
    assert changed(tree, "policies/pci.py") == list(contract.LAYERS)


def test_a_module_the_policy_pack_imports_selects_every_layer(tree: Path) -> None:
    assert changed(tree, "src/txn_policies/pci.py") == list(contract.LAYERS)


def test_docs_tests_and_tooling_select_nothing(tree: Path) -> None:
    selection = affected.select(["README.md", "tests/unit/test_x.py", "noxfile.py"], tree)

    assert selection.layers == []
    assert len(selection.ignored) == 3


def test_a_layer_both_changed_and_downstream_is_listed_once_as_changed(tree: Path) -> None:
    selection = affected.select(["stacks/data/x.py", "stacks/compute/y.py"], tree)

    assert selection.changed_layers == ["data", "compute"]
    assert selection.downstream_layers == ["edge", "observability"]


def test_in_this_repository_the_network_component_selects_network() -> None:
    selection = affected.select(["src/txn_infra/components/network.py"], cfg.REPO_ROOT)

    assert selection.changed_layers == ["network"]


def test_in_this_repository_the_contract_selects_every_layer_with_a_program() -> None:
    programs = [n for n, layer in contract.LAYERS.items() if cfg.has_program(cfg.REPO_ROOT, layer)]

    assert affected.select(["src/txn_spec/contract.py"], cfg.REPO_ROOT).changed_layers == programs


def test_in_this_repository_any_spec_module_selects_compute_which_bundles_the_spec() -> None:
    selection = affected.select(["src/txn_spec/invariants.py"], cfg.REPO_ROOT)

    assert "compute" in selection.changed_layers


def test_a_new_lock_selects_every_layer(tree: Path) -> None:
    assert affected.select(["uv.lock"], tree).changed_layers == contract.deploy_order()


# -- git ----------------------------------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(  # noqa: S603
        ["git", "-C", str(root), *args],  # noqa: S607
        check=True,
        capture_output=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "PATH": "/usr/bin:/bin",
        },
    )


@pytest.fixture
def repo_with_branch(tree: Path) -> Path:
    git(tree, "init", "-q", "-b", "main")
    git(tree, "add", ".")
    git(tree, "commit", "-q", "-m", "base")
    git(tree, "checkout", "-q", "-b", "change")
    (tree / "src/txn_infra/components/data.py").write_text("from ..naming import other\n")
    git(tree, "commit", "-q", "-am", "change data")
    return tree


def test_changed_files_come_from_the_merge_base(repo_with_branch: Path) -> None:
    git(repo_with_branch, "checkout", "-q", "main")
    (repo_with_branch / "README.md").write_text("moved on\n")
    git(repo_with_branch, "commit", "-q", "-am", "main moves on")
    git(repo_with_branch, "checkout", "-q", "change")

    files = affected.changed_files("main", "HEAD", repo_with_branch)

    assert files == ["src/txn_infra/components/data.py"]  # not main's README change


def test_an_unknown_base_ref_says_to_fetch_it(repo_with_branch: Path) -> None:
    with pytest.raises(OpsError) as caught:
        affected.changed_files("origin/main", "HEAD", repo_with_branch)

    assert caught.value.code == "git-ref-unknown"
    assert "fetch-depth: 0" in caught.value.message


def test_the_cli_prints_layer_names_in_deploy_order(repo_with_branch: Path) -> None:
    lines: list[str] = []

    code = cli.main(
        ["--root", str(repo_with_branch), "affected", "--base", "main", "--format", "names"],
        emit=lines.append,
    )

    assert code == 0
    assert lines == ["data compute edge observability"]


def test_the_cli_can_leave_out_downstream_layers_and_explain_itself(tree: Path) -> None:
    lines: list[str] = []
    files = ["functions/validator/handler.py", "README.md"]

    cli.main(
        ["--root", str(tree), "affected", "--files", *files, "--changed-only", "--format", "names"],
        emit=lines.append,
    )
    cli.main(["--root", str(tree), "affected", "--files", *files], emit=lines.append)

    assert lines[0] == "compute"
    assert lines[1] == "Layers touched by 2 files:"
    assert lines[2].split()[:3] == ["compute", "changed:", "functions/validator/handler.py"]
    assert lines[3].split()[:4] == ["edge", "downstream", "of", "compute:"]
    assert lines[-2] == "  files that touch no layer: 1"
    assert lines[-1].startswith("Owners to ask: unknown (codeowners-missing: no .github/CODEOWNERS")

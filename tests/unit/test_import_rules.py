"""The import rules of docs/architecture.md hold: import-linter runs the contracts that
pyproject.toml declares, and a tree that breaks one fails."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_a_spec_module_that_imports_the_infrastructure_breaks_a_contract(tmp_path: Path) -> None:
    # GIVEN the project's own spec contract over a tree whose spec imports txn_infra
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    spec_rule = next(c for c in contracts["contracts"] if c["source_modules"] == ["txn_spec"])
    for package, text in {
        "txn_spec": "from txn_infra import layer\n",
        "txn_infra": "",
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(text)
    forbidden = [m for m in spec_rule["forbidden_modules"] if m == "txn_infra"]
    (tmp_path / "setup.cfg").write_text(
        "[importlinter]\nroot_packages =\n    txn_spec\n    txn_infra\n\n"
        f"[importlinter:contract:spec]\nname = {spec_rule['name']}\ntype = forbidden\n"
        "source_modules =\n    txn_spec\n"
        f"forbidden_modules =\n    {forbidden[0]}\n"
    )
    # THEN import-linter, in a fresh interpreter that finds this tree first, reports it broken
    lint = str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run(  # noqa: S603 - the venv's own lint-imports, fixed arguments
        [lint, "--config", "setup.cfg", "--no-cache"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    assert "BROKEN" in done.stdout
    assert "txn_spec -> txn_infra" in done.stdout


# Issue 14: no product module grows past this; a module that does is doing two jobs.
MODULE_LINES = 500
PRODUCT_ROOTS = ("functions", "src", "stacks")


def test_no_product_module_is_over_the_size_limit() -> None:
    modules = [p for root in PRODUCT_ROOTS for p in (ROOT / root).rglob("*.py")]
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in modules}
    assert len(sizes) > 100  # the walk found the product tree, not an empty directory
    over = {path: n for path, n in sizes.items() if n > MODULE_LINES}
    assert not over, f"modules over {MODULE_LINES} lines: {over}"

"""bundle: what goes into a function's zip, and the same source always gives the same bytes."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from txn_infra import bundle


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """GIVEN a functions/ tree with a handler, the shared packages, caches and a test folder."""
    functions = tmp_path / "functions"
    files = {
        "validator/__init__.py": "",
        "validator/app.py": "def lambda_handler(event, context):\n    return {}\n",
        "validator/__pycache__/app.cpython-313.pyc": "junk",
        "validator/tests/test_app.py": "def test(): ...\n",
        "txn_domain/__init__.py": "",
        "txn_domain/rules/__init__.py": "",
        "txn_domain/rules/amount.py": "LIMIT = 1\n",
        "txn_domain/.hidden": "x",
        "txn_adapters/__init__.py": "",
        "fraud_detector/__init__.py": "",
    }
    for name, text in files.items():
        (functions / name).parent.mkdir(parents=True, exist_ok=True)
        (functions / name).write_text(text)
    spec = tmp_path / "src" / "txn_spec"
    spec.mkdir(parents=True)
    for module in ("__init__.py", "shapes.py", "naming.py"):
        (spec / module).write_text(f"# {module}\n")
    (spec / "__pycache__").mkdir()
    (spec / "__pycache__" / "shapes.cpython-313.pyc").write_text("junk")
    return functions, spec


def build(tree: tuple[Path, Path], out: Path, package: str = "validator") -> bundle.Bundle:
    functions, spec = tree
    return bundle.build(package, functions_dir=functions, spec_dir=spec, out_dir=out)


def test_bundle_holds_the_package_shared_code_and_the_spec_only(tree, tmp_path: Path) -> None:
    built = build(tree, tmp_path / "out")
    assert built.entries == (
        "txn_adapters/__init__.py",
        "txn_domain/__init__.py",
        "txn_domain/rules/__init__.py",
        "txn_domain/rules/amount.py",
        "txn_spec/__init__.py",
        "txn_spec/naming.py",
        "txn_spec/shapes.py",
        "validator/__init__.py",
        "validator/app.py",
    )
    with zipfile.ZipFile(built.path) as archive:
        assert tuple(archive.namelist()) == built.entries


def test_same_source_gives_the_same_hash_whatever_the_timestamps(tree, tmp_path: Path) -> None:
    first = build(tree, tmp_path / "a")
    functions, _ = tree
    for path in functions.rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
    (functions / "validator" / "app.py").chmod(0o777)
    second = build(tree, tmp_path / "b")
    assert first.sha256_hex == second.sha256_hex
    assert first.path.read_bytes() == second.path.read_bytes()


def test_entries_have_fixed_dates_and_modes(tree, tmp_path: Path) -> None:
    built = build(tree, tmp_path / "out")
    with zipfile.ZipFile(built.path) as archive:
        for info in archive.infolist():
            assert info.date_time == bundle.FIXED_DATE_TIME
            assert info.external_attr >> 16 == 0o100644


def test_a_code_change_changes_the_hash(tree, tmp_path: Path) -> None:
    before = build(tree, tmp_path / "out")
    functions, _ = tree
    (functions / "txn_domain" / "rules" / "amount.py").write_text("LIMIT = 2\n")
    after = build(tree, tmp_path / "out")
    assert before.sha256_hex != after.sha256_hex


def test_an_unchanged_archive_is_not_rewritten(tree, tmp_path: Path) -> None:
    first = build(tree, tmp_path / "out")
    os.utime(first.path, (1_000_000_000, 1_000_000_000))
    build(tree, tmp_path / "out")
    assert first.path.stat().st_mtime == 1_000_000_000


def test_source_code_hash_is_base64_of_the_sha256(tree, tmp_path: Path) -> None:
    import base64
    import hashlib

    built = build(tree, tmp_path / "out")
    digest = hashlib.sha256(built.path.read_bytes()).digest()
    assert built.source_code_hash == base64.b64encode(digest).decode()


def test_a_missing_package_is_a_clear_error(tree, tmp_path: Path) -> None:
    with pytest.raises(bundle.BundleError, match="failed_transactions"):
        build(tree, tmp_path / "out", package="failed_transactions")


@pytest.mark.parametrize("package", ["validator", "fraud_detector", "failed_transactions"])
def test_each_real_bundle_imports_its_handler_with_nothing_of_the_repository_beside_it(
    tmp_path: Path, package: str
) -> None:
    # GIVEN the real bundle, unpacked, and an interpreter that sees it and the third-party
    # packages (the layer's stand-in), but not src/ or functions/
    import json
    import subprocess
    import sys

    from txn_infra.components.compute import build_packages
    from txn_perf.bench.coldstart import lambda_environment
    from txn_spec import shapes

    root = Path(__file__).resolve().parents[2]
    built = build_packages(root / "functions", tmp_path / "out")[package]
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(tmp_path / "task")
    shape = next(s for s in shapes.FUNCTIONS if s.package == package)
    probe = (
        "import sys; "
        f"sys.path = [p for p in sys.path if p not in {json.dumps([str(root / 'src'), str(root / 'functions')])}]; "  # noqa: E501
        f"sys.path.insert(0, {str(tmp_path / 'task')!r}); "
        f"import {package}.app; "
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('txn_')}))"
    )
    environment = {**os.environ, **lambda_environment(shape), "POWERTOOLS_TRACE_DISABLED": "1"}
    done = subprocess.run(  # noqa: S603 - our interpreter, a fixed probe
        [sys.executable, "-c", probe], env=environment, capture_output=True, text=True
    )
    # THEN the handler imports, and of the project only the bundled packages are loaded
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['txn_adapters', 'txn_domain', 'txn_spec']"

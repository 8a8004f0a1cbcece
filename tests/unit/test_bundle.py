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
    infra = tmp_path / "src" / "txn_infra"
    infra.mkdir(parents=True)
    for module in ("__init__.py", "shapes.py", "offline.py", "layer.py"):
        (infra / module).write_text(f"# {module}\n")
    return functions, infra


def build(tree: tuple[Path, Path], out: Path, package: str = "validator") -> bundle.Bundle:
    functions, infra = tree
    return bundle.build(package, functions_dir=functions, infra_dir=infra, out_dir=out)


def test_bundle_holds_the_package_shared_code_and_pure_infra_only(tree, tmp_path: Path) -> None:
    built = build(tree, tmp_path / "out")
    assert built.entries == (
        "txn_adapters/__init__.py",
        "txn_domain/__init__.py",
        "txn_domain/rules/__init__.py",
        "txn_domain/rules/amount.py",
        "txn_infra/__init__.py",
        "txn_infra/shapes.py",
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

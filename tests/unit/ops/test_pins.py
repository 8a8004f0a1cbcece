"""uv.lock, the installed packages and the places that repeat a pin agree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from txn_ops import pins
from txn_spec import lambda_runtime


def test_the_lock_the_venv_the_layer_the_moto_patches_and_noxw_agree() -> None:
    locked = pins.locked_versions()
    installed = pins.installed_versions(set(locked))
    assert pins.drift(locked, installed, pins.noxw_uv_version()) == []


def test_a_lock_with_another_powertools_than_the_layer_is_drift() -> None:
    locked = {**pins.locked_versions(), "aws-lambda-powertools": "3.99.0"}
    problems = pins.drift(locked, {}, pins.noxw_uv_version())
    assert problems == [
        "uv.lock has aws-lambda-powertools 3.99.0, POWERTOOLS_RELEASE in "
        "txn_spec/lambda_runtime.py (the Lambda layer's release) says "
        f"{lambda_runtime.POWERTOOLS_RELEASE}"
    ]


def test_a_moto_other_than_the_patched_release_is_drift() -> None:
    locked = pins.locked_versions()
    problems = pins.drift(locked, {"moto": "5.0.1"}, pins.noxw_uv_version())
    assert problems == [f"moto 5.0.1 is installed, uv.lock has {locked['moto']}: run ./noxw"]


def test_the_layer_version_is_the_one_published_for_the_release() -> None:
    arn = lambda_runtime.powertools_layer_arn("us-east-2", "x86_64")
    published = lambda_runtime.LAYER_VERSIONS[lambda_runtime.POWERTOOLS_RELEASE]
    assert arn.endswith(f"-python313-x86_64:{published}")
    assert lambda_runtime.ssm_parameter("x86_64").endswith(
        f"/{lambda_runtime.PYTHON_RUNTIME}/{lambda_runtime.POWERTOOLS_RELEASE}"
    )


def _lock_check(folder: Path) -> subprocess.CompletedProcess[str]:
    # Online, like ./noxw's own `uv sync --locked` (which needs the registry anyway): a stale lock
    # is only detected by resolving, and `--offline` resolves from uv's cache of the index pages,
    # which a fresh machine does not have ("No solution found" instead of "needs to be updated").
    uv = Path(sys.executable).with_name("uv")
    return subprocess.run(  # noqa: S603 - the venv's own uv, fixed arguments
        [str(uv), "lock", "--check"],
        cwd=folder, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_the_lock_is_current_and_a_dependency_added_without_relocking_is_caught(
    tmp_path: Path,
) -> None:
    # GIVEN a copy of the project's pyproject.toml and uv.lock: the lock is current
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(pins.ROOT / name, tmp_path / name)
    assert _lock_check(tmp_path).returncode == 0
    # WHEN a dependency is added to pyproject.toml without ./noxw -s lock
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pyyaml>=6",', '"pyyaml>=6", "six",'))
    # THEN the check that ./noxw's `uv sync --locked` makes fails, naming the stale lock
    stale = _lock_check(tmp_path)
    assert stale.returncode != 0
    assert "needs to be updated" in stale.stderr

"""What uv.lock pins, held against the places that must agree with it.

Four facts live in two places each, because each place needs its own copy: the moto release
(the lock, and :data:`txn_moto.patches.MOTO_VERSION` for the patches), the Powertools
release (the lock, and :data:`txn_spec.lambda_runtime.POWERTOOLS_RELEASE` for the layer), uv
(the lock, and ``UV_VERSION`` in ``./noxw``, which installs uv before it can read the lock), and
what is installed in ``.venv`` (``uv sync --locked`` makes it the lock). :func:`drift` lists
every disagreement; ``./noxw -s lock`` prints the pins and fails on any.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import sysconfig
import tomllib
from pathlib import Path

from txn_moto import patches
from txn_spec import lambda_runtime

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "uv.lock"
NOXW = ROOT / "noxw"
SHOWN = ("pulumi", "pulumi-aws", "pulumi-aws-native", "boto3", "aws-lambda-powertools", "moto")


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """Package name -> version, for every package in the lock. A package locked at two versions
    (one per Python range, as uv does when a release drops an old Python) reads "3.6.1 | 3.7"."""
    found: dict[str, list[str]] = {}
    for package in tomllib.loads(lock.read_text())["package"]:
        if "version" in package:
            found.setdefault(package["name"], []).append(package["version"])
    return {name: " | ".join(versions) for name, versions in found.items()}


def noxw_uv_version(noxw: Path = NOXW) -> str:
    match = re.search(r"^UV_VERSION=(\S+)$", noxw.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{noxw} sets no UV_VERSION")
    return match.group(1)


def drift(locked: dict[str, str], installed: dict[str, str], uv_in_noxw: str) -> list[str]:
    """Every disagreement between the lock and the places that repeat it (empty when none)."""
    expected = {
        "moto": (patches.MOTO_VERSION, "MOTO_VERSION in txn_moto/patches.py"),
        "aws-lambda-powertools": (
            lambda_runtime.POWERTOOLS_RELEASE,
            "POWERTOOLS_RELEASE in txn_spec/lambda_runtime.py (the Lambda layer's release)",
        ),
        "uv": (uv_in_noxw, "UV_VERSION in ./noxw"),
    }
    found = [
        f"uv.lock has {name} {locked.get(name)}, {where} says {want}"
        for name, (want, where) in expected.items()
        if locked.get(name) != want
    ]
    found += [
        f"{name} {version} is installed, uv.lock has {locked[name]}: run ./noxw"
        for name, version in sorted(installed.items())
        if name in locked and version not in locked[name].split(" | ")
    ]
    if lambda_runtime.POWERTOOLS_RELEASE not in lambda_runtime.LAYER_VERSIONS:
        found.append(f"no layer version known for Powertools {lambda_runtime.POWERTOOLS_RELEASE}")
    return found


def installed_versions(names: set[str]) -> dict[str, str]:
    """Installed version of each of ``names`` that is installed (normalised names), read from
    the environment's site-packages only: once something imports ``pkg_resources``, setuptools'
    vendored copies (older packaging, more-itertools, ...) join ``sys.path`` with their own
    metadata, and they are not what uv installed."""
    found = {}
    site_packages = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    for dist in importlib.metadata.distributions(path=site_packages):
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if name in names:
            found[name] = dist.version
    return found


def main() -> int:
    locked = locked_versions()
    for name in SHOWN:
        print(f"  {name:<24} {locked[name]}")
    print(f"  {'Lambda runtime':<24} {lambda_runtime.PYTHON_RUNTIME}")
    print(f"  {'Powertools layer':<24} {lambda_runtime.powertools_layer_arn('<region>', 'arm64')}")
    problems = drift(locked, installed_versions(set(locked)), noxw_uv_version())
    for problem in problems:
        print(f"pin_drift: {problem}", file=sys.stderr)
    print(f"{len(locked)} packages locked; {len(problems)} pins disagree")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

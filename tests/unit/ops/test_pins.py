"""uv.lock, the installed packages and the places that repeat a pin agree."""

from __future__ import annotations

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

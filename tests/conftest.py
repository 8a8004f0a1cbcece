"""Root test configuration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

# Import hypothesis at collection time, at a shallow stack depth. Imported lazily inside the
# Pulumi runtime's nested event-loop pumping (txn_infra.offline), pytest's assertion rewriting of
# hypothesis trips CPython 3.11's "AST constructor recursion depth mismatch".
import hypothesis  # noqa: F401
import pytest

if TYPE_CHECKING:
    from txn_infra.offline import LayerRun


@pytest.fixture(scope="session")
def system() -> dict[str, LayerRun]:
    """All six layers for dev under mocks, in DAG order, with the function sources and OpenAPI
    document their ``Pulumi.yaml`` defaults name: the stack tests and the IAM census share it."""
    from txn_infra.offline import run_system

    return run_system(stack="dev")


# The region the moto-backed tests of the deploy tooling act in.
MOTO_REGION = "us-east-2"


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's AWS for one test, with fake credentials; yields the region."""
    from moto import mock_aws

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": MOTO_REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield MOTO_REGION

"""The tests session asks for Chromium only when the browser test can be collected."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def noxfile():
    spec = importlib.util.spec_from_file_location("noxfile", ROOT / "noxfile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("args", "needed"),
    [
        ([], True),  # the whole suite
        (["-k", "dashboard"], True),  # still the whole tree collected
        (["tests"], True),
        (["tests/e2e"], True),
        (["tests/e2e/test_dashboard.py::test_a_refused_fraud_report"], True),
        (["tests/stacks/test_data.py"], False),  # the README's per-layer command
        (["tests/unit", "-x"], False),
    ],
)
def test_the_browser_is_needed_only_where_the_browser_test_may_run(noxfile, args, needed):
    assert noxfile.needs_browser(args) is needed

"""In Lambda (tracing on) the tracer patches botocore, the one library the functions call AWS
with, and nothing else: every patched library is imported at each cold start."""

from __future__ import annotations

import os
import subprocess
import sys

from txn_perf.bench.coldstart import lambda_environment

PROBE = (
    "from aws_xray_sdk.core import patcher; from txn_adapters.telemetry import make_tracer; "
    "make_tracer(); print(sorted(patcher._PATCHED_MODULES))"
)


def test_a_cold_start_patches_botocore_only() -> None:
    environment = {**os.environ, **lambda_environment(None)}
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)
    done = subprocess.run(  # noqa: S603 - our interpreter, a fixed probe
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "['botocore']"

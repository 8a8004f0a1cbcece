"""The demo's terminal output stays readable: progress and summary only, log lines in a file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_the_demo_writes_its_log_lines_to_a_file_not_into_the_progress(tmp_path):
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "txn_local", "demo", "--count", "60", "--clients", "4"]
    result = subprocess.run(  # noqa: S603 - our own module
        [*command, "--port", "0", "--aws-port", "0", "--log-file", str(log)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    terminal = (result.stdout + result.stderr).splitlines()
    assert [line for line in terminal if line.lstrip().startswith("{")] == []
    assert not [line for line in terminal if "Traceback" in line or "ERROR" in line]
    assert f"  log             {log}" in terminal
    # the poison message's failure is logged as the function logs it, in the file
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(record.get("level") == "ERROR" for record in records), log.read_text()[-2000:]

"""schemathesis against the local gateway, from the OpenAPI document, bounded in examples.

Checks: ``not_a_server_error`` (no 5xx), our ``error_has_a_code`` (every 4xx has a code) and
``status_code_conformance`` (only documented statuses). It runs as a child process with the
checks module in ``SCHEMATHESIS_HOOKS``; its JSON report gives the counts.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from txn_spec.shapes import FRAUD_REPORTS_RESOURCE

CHECKS = "not_a_server_error,error_has_a_code,status_code_conformance"


def run(
    openapi: Path,
    base_url: str,
    api_key: str,
    max_examples: int = 60,
    seed: int = 11,
    phases: str = "examples,coverage,fuzzing",
) -> dict[str, Any]:
    """``coverage`` (every boundary and type violation the schema implies, ~1,300 requests
    here) runs whatever ``max_examples`` says; leave it out for a quick run."""
    with tempfile.TemporaryDirectory(prefix="txn-schemathesis-") as tmp:
        report = Path(tmp) / "report.ndjson"
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", str(openapi),
            "--url", base_url,
            "--header", f"x-api-key: {api_key}",
            "--checks", CHECKS,
            "--max-examples", str(max_examples),
            "--seed", str(seed),
            "--phases", phases,
            "--workers", "1",
            "--report", "ndjson", "--report-ndjson-path", str(report),
            "--suppress-health-check", "all",
        ]  # fmt: skip
        environment = {**os.environ, "SCHEMATHESIS_HOOKS": "txn_resilience.schemathesis_hooks"}
        completed = subprocess.run(  # noqa: S603 - fixed arguments
            command,
            capture_output=True,
            text=True,
            env=environment,
            timeout=600,
            check=False,
            cwd=tmp,  # schemathesis keeps a cache folder where it runs
        )
        return _summary(completed, report)


def _summary(completed: subprocess.CompletedProcess[str], report: Path) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    accepted_ids: set[str] = set()
    failures: list[str] = []
    if report.exists():
        for line in report.read_text().splitlines():
            for status, content, uri in _responses(json.loads(line)):
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                # a fraud report's 202 (ADR 0013) queues no transaction: not in the ledger
                if status == 202 and not urlsplit(uri).path.endswith(FRAUD_REPORTS_RESOURCE):
                    accepted_ids.add(_transaction_id(content))
    if completed.returncode != 0:
        failures = [
            line.strip()
            for line in completed.stdout.splitlines()
            if line.strip().startswith(("-", "_")) or "Failed" in line or "Error" in line
        ][:10]
    return {
        "exit_status": completed.returncode,
        "requests": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        # A valid example (the schema's own, or one the fuzzer built) is a real transaction:
        # the ledger accounts for it like any other client's 202.
        "accepted_ids": sorted(accepted_ids),
        "failures": failures,
        "tail": completed.stdout.strip().splitlines()[-3:],
    }


def _responses(event: Any) -> list[tuple[int, Any, str]]:
    """(status code, recorded body, request URI) of every response in one ndjson event (any
    nesting; an interaction records its request beside its response)."""
    found: list[tuple[int, Any, str]] = []
    if isinstance(event, dict):
        response = event.get("response")
        if isinstance(response, dict) and isinstance(response.get("status_code"), int):
            request = event.get("request")
            uri = request.get("uri", "") if isinstance(request, dict) else ""
            found.append((response["status_code"], response.get("content"), str(uri)))
        for value in event.values():
            if isinstance(value, dict | list):
                found += _responses(value)
    elif isinstance(event, list):
        for value in event:
            found += _responses(value)
    return found


def _transaction_id(content: Any) -> str:
    """The id in a recorded 202 body (``{"$base64": ...}`` in the report); a 202 without one
    is itself a contract failure, so it raises instead of going uncounted."""
    raw = content.get("$base64", "") if isinstance(content, dict) else content or ""
    body = base64.b64decode(raw) if isinstance(content, dict) else str(raw).encode()
    try:
        return str(json.loads(body)["transaction_id"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"a 202 answer without a transaction_id: {body[:200]!r}") from error

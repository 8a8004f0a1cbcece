"""The schemathesis report is read for statuses and for the transactions it got accepted."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from txn_resilience import fuzz
from txn_resilience.__main__ import problems


def _event(status: int, body: bytes) -> dict:
    content = {"$base64": base64.b64encode(body).decode()}
    return {"ScenarioFinished": {"recorder": {"interactions": {"a": {
        "request": {"method": "POST"},
        "response": {"status_code": status, "content": content},
    }}}}}  # fmt: skip


def _summary(tmp_path: Path, *events: dict) -> dict:
    report = tmp_path / "report.ndjson"
    report.write_text("\n".join(json.dumps(e) for e in events))
    completed = subprocess.CompletedProcess(args=[], returncode=0, stdout="", stderr="")
    return fuzz._summary(completed, report)


def test_every_202_in_the_report_gives_its_transaction_id_to_the_ledger(tmp_path: Path) -> None:
    # GIVEN two accepted examples and one refused request in the report
    summary = _summary(
        tmp_path,
        _event(202, b'{"transaction_id": "txn_a", "status": "accepted"}'),
        _event(400, b'{"error": {"code": "invalid_body", "message": "no"}}'),
        _event(202, b'{"transaction_id": "txn_b", "status": "accepted"}'),
    )
    # THEN both accepted ids are reported, and the statuses are counted
    assert summary["accepted_ids"] == ["txn_a", "txn_b"]
    assert summary["statuses"] == {"202": 2, "400": 1}


def test_a_202_without_a_transaction_id_is_an_error_not_an_uncounted_answer(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="without a transaction_id"):
        _summary(tmp_path, _event(202, b'{"status": "accepted"}'))


def test_an_unbalanced_ledger_is_reported_with_its_line() -> None:
    report = {
        "ledger": {"balanced": False},
        "ledger_line": "submitted 2 = APPROVED 1 + ... orphans 1",
        "leaks": {"findings": 0},
        "unanswered": 0,
        "conflicting_ids": 0,
        "flagged_without_alert": 0,
    }
    assert problems(report) == ["ledger not balanced: submitted 2 = APPROVED 1 + ... orphans 1"]


def test_a_scenarios_watchdog_outlasts_its_own_load_and_drain_limits() -> None:
    from txn_resilience.catalogue import soak

    # GIVEN the 20,000-transaction soak, which may load for 2,000 s and drain for 1,000 s
    spec = soak(20_000)
    # THEN its watchdog waits for all of that (a fixed 600 s killed a slow but healthy soak)
    assert spec.budget_seconds >= spec.load_seconds + spec.drain_seconds
    assert spec.load_seconds == 2_000
    assert spec.drain_seconds == 1_000


def test_the_ledger_reads_every_queue_of_the_redrive_chain() -> None:
    from txn_resilience.scenario import LEDGER_QUEUES
    from txn_spec import shapes

    # GIVEN the chain a transaction can be redriven along: queue -> DLQ -> parking -> ...
    chain, shape = [], shapes.TRANSACTIONS_QUEUE
    while shape is not None:
        chain.append(shape)
        shape = shape.dead_letter
    # THEN the ledger looks for still-queued transactions in every one of them (a poison
    # message parked after the DLQ consumer's own retries was counted as missing)
    assert set(chain) <= set(LEDGER_QUEUES)
    assert len(chain) == 3

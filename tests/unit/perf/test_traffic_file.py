"""Labelled traffic as a file (``--save-traffic``, ``--traffic FILE``): a generated run
replays the same from its file, a risk team's own history with its own ids and labels replays
too, and every fault is refused with its line and a code, never a stack trace."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.factories import transaction_body
from txn_domain.models import MerchantConfig
from txn_domain.rules.engine import DEFAULT_DOCUMENT
from txn_perf.fraud_eval import evaluate_traffic, generator, replay, traffic_file
from txn_perf.fraud_eval.__main__ import main

MERCHANT = {
    "merchant_id": "m_1001",
    "active": True,
    "allowed_currencies": ["USD"],
    "per_transaction_limit": 5000,
    "daily_limit": 100000,
    "mcc": "5732",
    "country": "US",
}
FORMAT = {"format": traffic_file.FORMAT}


def _txn(tid: str, at: str, label: str = "legit", **body: Any) -> dict[str, Any]:
    return {
        "id": tid,
        "received_at": at,
        "label": label,
        "transaction": transaction_body(timestamp=at, **body),
    }


def _file(tmp_path: Path, *lines: Any, name: str = "history.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines))
    return path


def test_a_generated_run_replays_the_same_from_its_file(tmp_path):
    made = generator.generate(generator.sized(generator.Params(), cards=60, days=10), seed=3)
    read = traffic_file.read(traffic_file.write(made, tmp_path / "t.jsonl"))
    assert [MerchantConfig.model_validate(m) for m in read.merchants] == [
        MerchantConfig.model_validate(m) for m in made.merchants
    ]
    assert [(e.transaction_id, e.body, e.pattern) for e in read.events] == [
        (e.transaction_id, e.body, e.pattern) for e in made.events
    ]
    # times are kept to the millisecond, as the platform stamps received_at
    assert all(abs(a.at - b.at) < 0.001 for a, b in zip(read.events, made.events, strict=True))
    assert [(tid, p) for _, tid, p in read.feedback] == [(tid, p) for _, tid, p in made.feedback]
    assert read.feedback, "the run has confirmed fraud to deliver"
    assert read.start == made.start  # the launch week from the same midnight
    direct = replay.replay(made, feedback=replay.default_feedback())
    again = replay.replay(read, feedback=replay.default_feedback())
    assert [replace(s, at=0.0) for s in again.scored] == [replace(s, at=0.0) for s in direct.scored]
    assert any(s.flagged for s in direct.scored)
    # (a confirmation due after the last sale has nothing left to change: it is not delivered)
    assert again.feedback_delivered == direct.feedback_delivered > 0


def test_a_teams_own_history_replays_with_its_ids_and_labels(tmp_path):
    card = {"card_token": "tok_victim", "merchant_id": "m_1001"}
    path = _file(
        tmp_path,
        FORMAT,
        _txn("a1", "2026-11-02T10:00:00Z", **card),
        {"merchant": MERCHANT},  # merchants may come after the sales that name them
        _txn("a2", "2026-11-03T10:00:00Z", "account_takeover", **card, amount=400000),
        _txn("a3", "2026-11-03T10:05:00Z", "account_takeover", **card, amount=450000),
        {"fraud_report": {"id": "a2", "received_at": "2026-11-20T08:00:00Z"}},
        _txn("a4", "2026-11-21T09:00:00Z", **card),
    )
    traffic = traffic_file.read(path)
    labels = [e.pattern for e in traffic.events]
    assert labels == ["legit", "account_takeover", "account_takeover", "legit"]
    ids = [e.transaction_id for e in traffic.events]
    assert ids == [e.transaction_id for e in traffic_file.read(path).events]  # reproducible
    assert len(set(ids)) == 4
    assert traffic.feedback == [
        (traffic.events[1].at + 17 * 86400 - 2 * 3600, ids[1], "account_takeover")
    ]
    built, text, png = evaluate_traffic(traffic, tmp_path / "out", "history")
    assert built["source"] == "history.jsonl"
    assert built["seed"] is None
    assert built["params"] is None
    assert built["transactions"] == 4
    assert built["cards"] == 1
    assert built["recall"]["account_takeover"]["transactions"] == 2
    assert built["replay"]["feedback_delivered"] == 1
    # the generator's patterns are not in this history: their targets are not measured
    assert built["targets"]["large_amount"]["met"] is None
    assert "not measured" in text
    assert "account_takeover" in text
    assert png is not None
    assert (tmp_path / "out" / "report-history.json").exists()


OK = _txn("a1", "2026-11-02T10:00:00Z")


@pytest.mark.parametrize(
    ("lines", "line", "code"),
    [
        ([{"merchant": MERCHANT}, OK], 1, "unknown_format"),
        ([{"format": "fraud-eval-traffic/0"}, OK], 1, "unknown_format"),
        ([FORMAT, {"merchant": MERCHANT}, "{not json", OK], 3, "malformed_json"),
        ([FORMAT, {"merchant": MERCHANT}, "[1, 2]"], 3, "malformed_line"),
        ([FORMAT, {"merchant": MERCHANT}, {"sale": {}}], 3, "unknown_line"),
        ([FORMAT, {"merchant": {**MERCHANT, "mcc": "shop"}}, OK], 2, "invalid_line"),
        ([FORMAT, {"merchant": MERCHANT}, {"merchant": MERCHANT}, OK], 3, "duplicate_merchant"),
        ([FORMAT, {"merchant": MERCHANT}, {**OK, "received_at": "yesterday"}], 3, "invalid_line"),
        ([FORMAT, {"merchant": MERCHANT}, {**OK, "extra": 1}], 3, "invalid_line"),
        ([FORMAT, {"merchant": MERCHANT}], 2, "no_transactions"),
        ([FORMAT, {"merchant": MERCHANT}, OK, OK], 4, "duplicate_id"),
        # the API's own validation, as POST /transaction refuses the body
        (
            [FORMAT, {"merchant": MERCHANT}, _txn("a1", "2026-11-02T10:00:00Z", amount=0)],
            3,
            "out_of_range",
        ),
        (
            [
                FORMAT,
                {"merchant": MERCHANT},
                _txn("a1", "2026-11-02T10:00:00Z", external_id="4111111111111111"),
            ],
            3,
            "pan_not_allowed",
        ),
        ([FORMAT, {"merchant": MERCHANT}, "[" * 100_000 + "]" * 100_000], 3, "line_too_long"),
        ([FORMAT, {"merchant": MERCHANT}, "[" * 20_000 + "]" * 20_000], 3, "malformed_json"),
        ([FORMAT, {"merchant": {**MERCHANT, "mcc": "shop"}}], 2, "invalid_line"),
        ([FORMAT, {"merchant": MERCHANT, "note": 1}, OK], 2, "invalid_line"),
        ([FORMAT, {"merchant": MERCHANT}, {**OK, "label": "Legit"}], 3, "invalid_line"),
        (
            [
                FORMAT,
                {"merchant": MERCHANT},
                {**OK, "label": "compromised_terminal_after_feedback"},
            ],
            3,
            "reserved_label",
        ),
        ([FORMAT, {"merchant": MERCHANT}, {**OK, "label": "in_flagged"}], 3, "reserved_label"),
        # times the platform's clock and ids take, and a sale stamped after it was received
        ([FORMAT, {"merchant": MERCHANT}, _txn("a1", "0001-01-01T00:00:00Z")], 3, "out_of_range"),
        ([FORMAT, {"merchant": MERCHANT}, _txn("a1", "9999-12-31T23:59:59Z")], 3, "out_of_range"),
        (
            [FORMAT, {"merchant": MERCHANT}, {**OK, "received_at": "2026-11-02T09:00:00Z"}],
            3,
            "invalid_value",
        ),
        # a report: once, after its sale
        (
            [
                FORMAT,
                {"merchant": MERCHANT},
                OK,
                {"fraud_report": {"id": "a1", "received_at": "2026-11-02T09:59:00Z"}},
            ],
            4,
            "report_before_transaction",
        ),
        (
            [
                FORMAT,
                {"merchant": MERCHANT},
                OK,
                {"fraud_report": {"id": "a1", "received_at": "2026-11-03T00:00:00Z"}},
                {"fraud_report": {"id": "a1", "received_at": "2026-11-04T00:00:00Z"}},
            ],
            5,
            "duplicate_report",
        ),
        # a card number anywhere in a line, never echoed
        (
            [FORMAT, {"merchant": MERCHANT}, {**OK, "label": "4111111111111111"}],
            3,
            "pan_not_allowed",
        ),
        # ... and as the validator refuses what the merchant cannot take
        ([FORMAT, OK], 2, "merchant_unknown"),
        (
            [FORMAT, {"merchant": MERCHANT}, _txn("a1", "2026-11-02T10:00:00Z", currency="EUR")],
            3,
            "currency_not_allowed",
        ),
        (
            [
                FORMAT,
                {"merchant": MERCHANT},
                OK,
                {"fraud_report": {"id": "a9", "received_at": "2026-11-03T00:00:00Z"}},
            ],
            4,
            "transaction_unknown",
        ),
    ],
)
def test_a_fault_is_refused_with_its_line_and_a_code(tmp_path, lines, line, code):
    with pytest.raises(traffic_file.TrafficFileError) as caught:
        traffic_file.read(_file(tmp_path, *lines))
    assert (caught.value.line, caught.value.code) == (line, code), caught.value
    assert caught.value.message
    assert "4111111111111111" not in str(caught.value)


def test_the_command_replays_a_file_and_refuses_a_bad_one_with_its_line(tmp_path, capsys):
    made = generator.generate(generator.sized(generator.Params(), cards=40, days=8), seed=3)
    good = traffic_file.write(made, tmp_path / "good.jsonl")
    assert main(["--traffic", str(good), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("good.jsonl: ")
    assert (tmp_path / "out" / "report-good.json").exists()

    saved = ["--seed", "3", "--cards", "40", "--days", "8", "--save-traffic"]
    assert main([*saved, "--out", str(tmp_path / "gen")]) == 0
    assert f"{tmp_path / 'gen' / 'traffic-3.jsonl'}" in capsys.readouterr().out
    assert (
        traffic_file.read(tmp_path / "gen" / "traffic-3.jsonl").feedback
        == traffic_file.read(good).feedback
    )  # the same run as the one written above

    bad = _file(tmp_path, FORMAT, {"merchant": MERCHANT}, "{not json", name="bad.jsonl")
    assert main(["--traffic", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"{bad}:3: malformed_json: ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "2"], "--traffic replays a file; for generated traffic only: --seed"),
        (["--alt", "--days", "3"], "for generated traffic only: --days, --alt"),
        (["--save-traffic"], "for generated traffic only: --save-traffic"),
    ],
)
def test_the_command_refuses_generator_options_with_a_file(tmp_path, capsys, argv, message):
    path = _file(tmp_path, FORMAT, {"merchant": MERCHANT}, OK)
    with pytest.raises(SystemExit) as exited:
        main(["--traffic", str(path), *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_the_command_refuses_a_missing_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--traffic", str(tmp_path / "none.jsonl")])
    assert exited.value.code == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_the_command_judges_by_another_rules_document_to_compare_two(tmp_path, capsys):
    made = generator.generate(generator.sized(generator.Params(), cards=40, days=8), seed=3)
    path = traffic_file.write(made, tmp_path / "history.jsonl")
    shipped = json.loads(DEFAULT_DOCUMENT.read_text(encoding="utf-8"))
    # the candidate keeps only the blocklists: everything else a review rule would flag passes
    candidate = {
        **shipped,
        "version": "candidate-1",
        "rules": [r for r in shipped["rules"] if r["id"].startswith("blocklist-")],
    }
    rules = tmp_path / "candidate.json"
    rules.write_text(json.dumps(candidate))
    assert main(["--traffic", str(path), "--out", str(tmp_path / "shipped")]) == 0
    assert main(["--traffic", str(path), "--rules", str(rules), "--out", str(tmp_path / "c")]) == 0
    assert "rules candidate-1" in capsys.readouterr().out
    before = json.loads((tmp_path / "shipped" / "report-history.json").read_text())
    after = json.loads((tmp_path / "c" / "report-history.json").read_text())
    assert before["rules_version"] == shipped["version"]
    assert after["rules_version"] == "candidate-1"
    assert before["recall_all_fraud"] > 0
    assert after["recall_all_fraud"] == 0  # the replay has no blocklisted card, BIN, IP or country
    assert set(after["rules"]) == set()

    # the two side by side: what the candidate gains and costs
    shipped_report = tmp_path / "shipped" / "report-history.json"
    candidate_report = tmp_path / "c" / "report-history.json"
    assert main(["--compare", str(shipped_report), str(candidate_report)]) == 0
    table = capsys.readouterr().out
    assert f"rules {shipped['version']}" in table
    assert "rules candidate-1" in table
    row = next(line for line in table.splitlines() if line.startswith("recall, all fraud"))
    assert row.split()[-2:] == [f"-{100 * before['recall_all_fraud']:.2f}", "pt"]
    matched = before["rules"]  # every rule the shipped document matched is gone
    assert all(f"  {rule} " in table for rule in matched)
    assert "false positives by merchant" in table
    chance = next(line for line in table.splitlines() if "as many by chance alone" in line)
    assert chance.split()[-2:] == [
        f"{r['merchants_over_target_by_chance']:.1f}" for r in (before, after)
    ]
    # a report from before that figure: shown as "-", not refused
    older = tmp_path / "older.json"
    older.write_text(json.dumps({k: v for k, v in before.items() if "by_chance" not in k}))
    assert main(["--compare", str(older), str(candidate_report)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "by chance alone" in line)
    assert row.split()[-2] == "-"

    with pytest.raises(SystemExit):
        main(["--compare", str(shipped_report), str(candidate_report), "--rules", str(rules)])
    assert "these do not apply: --rules" in capsys.readouterr().err

    other = tmp_path / "other.json"
    other.write_text(json.dumps({**after, "transactions": after["transactions"] + 1}))
    with pytest.raises(SystemExit) as exited:
        main(["--compare", str(shipped_report), str(other)])
    assert exited.value.code == 2
    assert "the reports are of different traffic" in capsys.readouterr().err

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**shipped, "flag_score": "high", "rules": [{"id": "x"}]}))
    with pytest.raises(SystemExit) as exited:
        main(["--traffic", str(path), "--rules", str(broken)])
    assert exited.value.code == 2
    assert f"--rules {broken}: " in capsys.readouterr().err

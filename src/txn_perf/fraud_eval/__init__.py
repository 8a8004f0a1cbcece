"""Fraud-detection quality on labelled traffic (issue 17): generator, replay, report.

:func:`evaluate` generates a population (:mod:`.generator`), replays it through the real fraud
detector in event time (:mod:`.replay`, on the in-memory AWS of :mod:`.memdb`) and reports what
was caught (:mod:`.report`); :func:`evaluate_traffic` does the same for labelled traffic read
from a file (:mod:`.traffic_file`). ``python -m txn_perf.fraud_eval`` (``./noxw -s fraud-eval``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from txn_domain.rules import RuleSet
from txn_perf.fraud_eval import generator, replay, report, traffic_file


def evaluate(
    params: generator.Params,
    seed: int,
    out: Path | None = None,
    name: str = "",
    progress: replay.Progress | None = None,
    save_traffic: bool = False,
    rules: RuleSet | None = None,
) -> tuple[dict[str, Any], str, Path | None]:
    """(report, printable table, PNG path or ``None`` without ``out``) for the generated
    traffic of ``seed``; ``progress`` hears how far the replay is. ``save_traffic`` also writes
    the traffic as a file (``traffic-<name>-<seed>.jsonl``, or ``traffic-<seed>.jsonl``) that
    :func:`evaluate_traffic` can replay. ``rules``: judged by these instead of the shipped
    document."""
    traffic = generator.generate(params, seed)
    stem = f"{name}-{seed}" if name else str(seed)
    return evaluate_traffic(traffic, out, stem, progress, rules, save_traffic)


def evaluate_traffic(
    traffic: generator.Traffic,
    out: Path | None = None,
    stem: str = "",
    progress: replay.Progress | None = None,
    rules: RuleSet | None = None,
    save_traffic: bool = False,
) -> tuple[dict[str, Any], str, Path | None]:
    """As :func:`evaluate`, for traffic generated or read from a file (``report-<stem>.json``
    and ``scores-<stem>.png`` in ``out``; ``save_traffic``: also ``traffic-<stem>.jsonl``)."""
    if save_traffic and out is not None:
        traffic_file.write(traffic, out / f"traffic-{stem}.jsonl")
    run = replay.replay(traffic, rules, feedback=replay.default_feedback(), progress=progress)
    built = report.build(traffic, run)
    png = None
    if out is not None:
        png = report.plot(traffic, run, out / f"scores-{stem}.png")
        (out / f"report-{stem}.json").write_text(json.dumps(built, indent=1))
    return built, report.table(built), png

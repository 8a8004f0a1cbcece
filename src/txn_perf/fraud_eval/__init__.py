"""Fraud-detection quality on labelled traffic (issue 17): generator, replay, report.

:func:`evaluate` generates a population (:mod:`.generator`), replays it through the real fraud
detector in event time (:mod:`.replay`, on the in-memory AWS of :mod:`.memdb`) and reports what
was caught (:mod:`.report`). ``python -m txn_perf.fraud_eval`` (``./noxw -s fraud-eval``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from txn_perf.fraud_eval import generator, replay, report


def evaluate(
    params: generator.Params,
    seed: int,
    out: Path | None = None,
    name: str = "",
    progress: replay.Progress | None = None,
) -> tuple[dict[str, Any], str, Path | None]:
    """(report, printable table, PNG path or ``None`` without ``out``); ``progress`` hears
    how far the replay is."""
    traffic = generator.generate(params, seed)
    run = replay.replay(traffic, feedback=replay.default_feedback(), progress=progress)
    built = report.build(traffic, run)
    png = None
    if out is not None:
        stem = f"{name}-{seed}" if name else str(seed)
        png = report.plot(traffic, run, out / f"scores-{stem}.png")
        (out / f"report-{stem}.json").write_text(json.dumps(built, indent=1))
    return built, report.table(built), png

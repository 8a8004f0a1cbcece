"""The benchmarks: what the handlers and the local pipeline measure on this machine.

``python -m txn_perf.bench`` (``./noxw -s bench``) runs both and writes
``bench-results/bench.json``, which the capacity report reads; :mod:`txn_perf.bench.handler_cost`
and :mod:`txn_perf.bench.local_e2e` also run alone.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "bench-results"  # what the benchmarks and the capacity report write

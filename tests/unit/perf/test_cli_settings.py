"""The measuring commands refuse, with a message and exit status 2, settings that cannot make a run
(before, a bench with no clients died dividing by zero, a resilience run at --scale 0 ran the soak
anyway, and a fraud-eval of one card's day never ended)."""

from __future__ import annotations

import pytest

from txn_perf.bench.__main__ import main as bench
from txn_perf.bench.coldstart import main as coldstart
from txn_resilience.__main__ import main as resilience

REFUSED = [
    (bench, ["--count", "0"], "--count must be at least 1"),
    (bench, ["--clients", "0"], "--clients must be at least 1"),
    (bench, ["--workers", "101"], "--workers must be 1-100"),
    (bench, ["--window", "0"], "--window must be at least 1"),
    (bench, ["--timeout", "0"], "--timeout must be more than 0 seconds"),
    (bench, ["--iterations", "0"], "--iterations must be at least 1"),
    (bench, ["--cold-rounds", "0"], "--cold-rounds must be at least 1"),
    (coldstart, ["--rounds", "0"], "--rounds must be at least 1"),
    (resilience, ["--scale", "0"], "--scale must be at least 1"),
    (resilience, ["--soak", "-1"], "--soak must be 0 (no soak) or more transactions"),
]


@pytest.mark.parametrize(
    ("command", "argv", "message"), REFUSED, ids=[" ".join(a) for _, a, _ in REFUSED]
)
def test_a_setting_that_cannot_make_a_run_is_refused_before_anything_runs(
    command, argv, message, capsys
):
    with pytest.raises(SystemExit) as refused:
        command(argv)
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_capacity_refuses_a_benchmark_file_that_is_missing_or_not_the_benchmarks(tmp_path, capsys):
    from txn_perf.capacity import main as capacity

    not_json = tmp_path / "notes.md"
    not_json.write_text("# not a benchmark\n")
    no_figures = tmp_path / "bench.json"
    no_figures.write_text('{"handler_cpu": {"results": {}}}')
    for path, code in [
        (tmp_path / "missing.json", "bench_missing"),
        (not_json, "bench_invalid"),
        (no_figures, "bench_invalid"),
    ]:
        assert capacity(["--bench", str(path), "--plots", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert f"error: {code}: " in err
        assert "Traceback" not in err

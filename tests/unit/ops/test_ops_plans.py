"""A deploy that follows saved plans (--plans) where the preview could not plan every layer.

A preview saves no plan for a layer whose upstream is not deployed yet ("waits for"): its
program needs the upstream's real outputs. So a first deploy of prod from plans can apply only
the layers planned, then must stop, in one line, for a new preview.
"""

from __future__ import annotations

from pathlib import Path

from txn_ops import cli
from txn_spec import contract


def saved_plans(repo: Path, *layers: str) -> None:
    """The plans a preview saved, as files (their content is the workspace's to read)."""
    (repo / "plans").mkdir(exist_ok=True)
    for layer in layers:
        (repo / "plans" / f"{layer}.json").write_text("{}")


def deploy_from_plans(repo: Path, fake, lines, *layers: str) -> int:
    return cli.main(
        ["--root", str(repo), "deploy", "--stack", "dev", "--plans", str(repo / "plans"), *layers],
        workspace_factory=lambda settings, args: fake,
        preflight=lambda settings: None,
        emit=lines.append,
        concurrency_check=lambda reservations, region: None,
    )


def test_a_first_deploy_from_plans_stops_after_the_planned_layers_in_one_line(
    repo: Path, fake, lines, capsys
) -> None:
    # GIVEN a blank stack, whose preview planned network only
    saved_plans(repo, "network")

    code = deploy_from_plans(repo, fake, lines)

    # THEN network deploys, and the deploy stops before security with what to do next
    assert code == 2
    assert fake.calls == [("up", "network")]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        "txn-ops: error: plans-incomplete: stopped before security, which has no saved plan "
        "(its preview waited for network)"
    )
    assert "preview again with --plans" in err[0]
    summary = [line.split()[:3] for line in lines if line.startswith("  ") and "up" in line]
    assert summary[:3] == [
        ["network", "up", "updated"],
        ["security", "up", "no"],
        ["data", "up", "skipped"],
    ]


def test_a_deploy_from_plans_whose_upstream_was_deployed_runs_every_layer(
    repo: Path, fake, lines
) -> None:
    fake.deploy_all()
    fake.program_changed.update({"data", "compute"})
    saved_plans(repo, "data", "compute")

    code = deploy_from_plans(repo, fake, lines, "data", "compute")

    assert code == 0
    assert fake.calls[:2] == [("up", "data"), ("up", "compute")]


def test_a_deploy_job_run_again_stops_at_the_first_layer_without_a_plan_file(
    repo: Path, fake, lines, capsys
) -> None:
    # GIVEN the first job deployed network from its plan and stopped; the job is run again
    # with the same plans (CI's "re-run failed jobs"): network is deployed now
    saved_plans(repo, "network")
    deploy_from_plans(repo, fake, lines)
    capsys.readouterr()
    fake.calls.clear()

    code = deploy_from_plans(repo, fake, lines)

    # THEN it stops again in one line before security, not with a step's failure
    assert code == 2
    assert fake.calls == [("up", "network")]
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "stopped before security, which has no saved plan (none was saved)" in err


def test_without_plans_a_first_deploy_runs_every_layer(repo: Path, fake, lines) -> None:
    code = cli.main(
        ["--root", str(repo), "deploy", "--stack", "dev"],
        workspace_factory=lambda settings, args: fake,
        preflight=lambda settings: None,
        emit=lines.append,
        concurrency_check=lambda reservations, region: None,
    )

    assert code == 0
    assert [layer for op, layer in fake.calls if op == "up"] == contract.deploy_order()

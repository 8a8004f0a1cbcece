"""The example deploy workflow: checks gate every deploy, prod applies the plans reviewers saw."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from txn_infra.config import JOB_SUBJECTS, ROLE_KINDS
from txn_ops import pins

WORKFLOW = Path(__file__).resolve().parents[3] / ".github" / "workflows" / "infra.yml"
AWS_JOBS = ("preview-dev", "deploy-dev", "preview-prod", "deploy-prod")
# owner/repo@<full commit SHA> # v<release>: a tag can be moved to other code, a commit cannot
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _jobs() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]


def _upstream(jobs: dict[str, Any], name: str) -> set[str]:
    needs = jobs[name].get("needs", [])
    direct = {needs} if isinstance(needs, str) else set(needs)
    return direct.union(*(_upstream(jobs, n) for n in direct)) if direct else set()


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_tests_lint_types_and_synth_gate_every_job_that_touches_aws() -> None:
    jobs = _jobs()
    checks = _runs(jobs["checks"])
    for session in ("tests", "lint", "typecheck", "synth"):
        assert session in checks, f"the checks job does not run {session}"
    touching_aws = [name for name, job in jobs.items() if "pulumi/actions@" in str(job)]
    assert touching_aws, "no job installs the Pulumi CLI"
    for name in touching_aws:
        assert "checks" in _upstream(jobs, name), f"{name} can run without the checks"


def test_prod_is_previewed_with_saved_plans_before_the_gate_and_deployed_from_them() -> None:
    jobs = _jobs()
    preview, deploy = jobs["preview-prod"], jobs["deploy-prod"]
    assert "preview-prod" in _upstream(jobs, "deploy-prod")
    assert preview["environment"] != deploy["environment"] == "prod"
    assert "--stack prod --plans plans/prod" in _runs(preview)
    assert "deploy -- --stack prod --plans plans/prod" in _runs(deploy)
    uploaded = next(s for s in preview["steps"] if "upload-artifact" in s.get("uses", ""))
    downloaded = next(s for s in deploy["steps"] if "download-artifact" in s.get("uses", ""))
    assert uploaded["with"]["name"] == downloaded["with"]["name"]


def test_the_listed_layers_are_previewed_and_deployed() -> None:
    # through an environment variable: a template expanded into the script could inject code
    jobs = _jobs()
    for name in AWS_JOBS:
        step = next(s for s in jobs[name]["steps"] if "LAYERS" in s.get("env", {}))
        assert step["env"]["LAYERS"] == "${{ needs.affected.outputs.layers }}", name
        assert step["run"].rstrip().endswith(" $LAYERS"), name
        assert "${{" not in step["run"], name


def test_the_pulumi_cli_is_pinned_to_the_sdk_release_in_the_lock() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["env"]["PULUMI_VERSION"] == pins.locked_versions()["pulumi"]
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if step.get("uses", "").startswith("pulumi/actions"):
                assert step["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}", name


def _kind_and_stack(job: dict[str, Any]) -> tuple[str, str]:
    """What the job runs: a preview or a deploy (its nox session), of which stack."""
    (command,) = {k for k in ROLE_KINDS if f"./noxw -s {k} -- " in _runs(job)}
    (stack,) = {s for s in ("dev", "prod") if f"-- --stack {s}" in _runs(job)}
    return command, stack


def _role_variables(job: dict[str, Any]) -> set[str]:
    """The role ARN templates the job's txn_ops steps assume (TXN_DEPLOY_ROLE_ARN)."""
    return {
        s["env"]["TXN_DEPLOY_ROLE_ARN"] for s in job["steps"] if "./noxw -s" in s.get("run", "")
    }


def _subject(job: dict[str, Any]) -> str:
    """The job's OIDC token subject (after repo:<owner>/<name>:), as GitHub builds it: its
    environment when it names one; a job without one that runs only for pull requests gets
    the event's subject."""
    if "environment" in job:
        return f"environment:{job['environment']}"
    assert "github.event_name == 'pull_request'" in job["if"]
    return "pull_request"


def test_each_layer_runs_as_its_own_role_and_no_job_assumes_a_shared_one() -> None:
    jobs = _jobs()
    for name in AWS_JOBS:
        steps = jobs[name]["steps"]
        assert not any("configure-aws-credentials" in s.get("uses", "") for s in steps), name
        kind, stack = _kind_and_stack(jobs[name])
        variable = f"TXN_{kind.upper()}_ROLE_ARN_{stack.upper()}"
        assert _role_variables(jobs[name]) == {f"${{{{ vars.{variable} }}}}"}, name


def test_the_jobs_that_run_before_a_review_assume_preview_roles() -> None:
    # a pull request's code, and prod's preview before the approval: no role that writes
    jobs = _jobs()
    assert _kind_and_stack(jobs["preview-dev"]) == ("preview", "dev")
    assert _kind_and_stack(jobs["preview-prod"]) == ("preview", "prod")
    for name in ("preview-dev", "preview-prod"):
        assert _role_variables(jobs[name]) == {
            f"${{{{ vars.TXN_PREVIEW_ROLE_ARN_{_kind_and_stack(jobs[name])[1].upper()} }}}}"
        }
    assert jobs["deploy-prod"]["environment"] == "prod"  # the one behind the approval


def test_only_the_jobs_that_assume_deploy_roles_may_ask_for_an_oidc_token() -> None:
    # The roles trust a job's token by its environment: a job that runs the change's own code
    # (the tests, the affected-layers script) must not be able to mint one.
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert "id-token" not in workflow["permissions"]
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", {}).get("id-token")
        assert granted == ("write" if name in AWS_JOBS else None), name


def test_deploys_wait_their_turn_in_order_and_none_is_displaced() -> None:
    # By default a concurrency group keeps one pending run and cancels the one before it.
    jobs = _jobs()
    for name in ("deploy-dev", "preview-prod", "deploy-prod"):
        assert jobs[name]["concurrency"]["queue"] == "max", name
        assert not jobs[name]["concurrency"].get("cancel-in-progress"), name


def test_a_merge_deploys_every_layer_so_a_missed_deploy_is_caught_up() -> None:
    script = _runs(_jobs()["affected"])
    push, pull_request = script.split("else", 1)
    assert '"$EVENT" == push' in push
    assert "network security data compute edge observability" in push
    assert "txn_ops affected" in pull_request
    assert "txn_ops affected" not in push


def test_each_jobs_token_is_trusted_by_the_kind_of_role_it_assumes_and_no_other() -> None:
    # The account stack's default OIDC subjects (txn_infra.config.JOB_SUBJECTS) name each job by
    # its environment or event, per kind of role: a job renamed here and not there could not
    # assume its roles, a stale name would stay trusted, and a preview job whose token a deploy
    # role accepted would hold write credentials before any review.
    jobs = _jobs()
    used: dict[str, dict[str, set[str]]] = {k: {} for k in ROLE_KINDS}
    for name in AWS_JOBS:
        kind, stack = _kind_and_stack(jobs[name])
        subject = _subject(jobs[name])
        assert subject in JOB_SUBJECTS[kind][stack], name
        for other in ROLE_KINDS:
            if other != kind:
                assert subject not in JOB_SUBJECTS[other][stack], name
        used[kind].setdefault(stack, set()).add(subject)
    assert used == {
        k: {s: set(v) for s, v in by_stack.items()} for k, by_stack in JOB_SUBJECTS.items()
    }


def test_every_action_is_pinned_to_a_commit_with_its_release_named() -> None:
    uses = [
        line.split("uses:", 1)[1].strip()
        for line in WORKFLOW.read_text().splitlines()
        if line.strip().removeprefix("- ").startswith("uses:")
    ]
    assert len(uses) >= 5, "the workflow's steps were not found"
    unpinned = [u for u in uses if not PINNED.match(u)]
    assert not unpinned, f"not pinned to a full commit SHA with a # vX.Y.Z comment: {unpinned}"


def test_no_checkout_leaves_its_token_for_later_steps() -> None:
    for name, job in _jobs().items():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, name


def test_dependabot_keeps_the_pinned_actions_and_the_lock_current() -> None:
    config = yaml.safe_load((WORKFLOW.parents[1] / "dependabot.yml").read_text())
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert {("github-actions", "/"), ("uv", "/")} <= ecosystems
    # a release is proposed once it is a week old, time for a compromised one to be caught
    assert all(u["cooldown"]["default-days"] >= 7 for u in config["updates"])


def test_a_change_to_the_workflow_or_the_tests_runs_the_checks() -> None:
    # a Dependabot bump of an action touches only the workflow: the tests above must run on it
    on = yaml.safe_load(WORKFLOW.read_text())[True]  # YAML 1.1 reads the key "on" as True
    paths = on["pull_request"]["paths"]
    for needed in (".github/**", "tests/**", "noxfile.py"):
        assert needed in paths, needed


def test_a_job_whose_role_variable_is_unset_stops_saying_which() -> None:
    # unset, txn_ops would fall back to pyproject's deploy-role template (or no role at all)
    jobs = _jobs()
    for name in AWS_JOBS:
        step = next(s for s in jobs[name]["steps"] if "TXN_DEPLOY_ROLE_ARN" in s.get("env", {}))
        variable = step["env"]["TXN_DEPLOY_ROLE_ARN"].split("vars.", 1)[1].split()[0]
        assert f'"${{TXN_DEPLOY_ROLE_ARN:?set the repository variable {variable}}}"' in step["run"]

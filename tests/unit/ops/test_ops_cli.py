"""The ``python -m txn_ops`` command line: plans without the cloud, one-line errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from moto import mock_aws

from txn_ops import cli
from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_ops.pulumi_workspace import classify, preflight
from txn_ops.workspace import StepFailed
from txn_spec import contract, shapes

ROOT = cfg.REPO_ROOT


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT):
    """The CLI as a user runs it: a separate process with only the given environment."""
    base = {"PATH": os.path.dirname(sys.executable), "HOME": str(cwd)}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "txn_ops", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        check=False,
        timeout=60,
    )


def plan_rows(stdout: str) -> list[tuple[str, str]]:
    rows = [line.split() for line in stdout.splitlines() if line.startswith("  ")]
    return [(r[1], r[2]) for r in rows if r[0].rstrip(".").isdigit()]


@pytest.fixture
def fake_pulumi(tmp_path: Path) -> Path:
    """A directory with a stand-in ``pulumi`` executable, to get past the CLI check."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "pulumi"
    script.write_text("#!/bin/sh\necho v3.200.0\n")
    script.chmod(0o755)
    return folder


# -- --plan: no CLI, no credentials -------------------------------------------------------------


def test_deploy_plan_prints_every_layer_upstream_first_without_cli_or_aws() -> None:
    done = run_cli("deploy", "--stack", "dev", "--plan")

    assert done.returncode == 0, done.stderr
    assert plan_rows(done.stdout) == [
        ("note", "account"),
        ("up", "network"),
        ("up", "security"),
        ("check", "data"),
        ("up", "data"),
        ("check", "compute"),
        ("up", "compute"),
        ("up", "edge"),
        ("up", "observability"),
    ]
    assert "organization/txn-network/dev" in done.stdout
    assert "Plan: deploy stack dev, 6 layers, upstream first" in done.stdout


def test_the_planned_quota_check_names_the_quota_and_what_it_must_cover() -> None:
    done = run_cli("deploy", "--stack", "prod", "compute", "--plan")

    check = next(line for line in done.stdout.splitlines() if line.startswith("  1. check"))
    assert "Lambda concurrent executions (L-B99A9384)" in check
    assert "us-east-2" in check
    assert f"txn-prod-fraud-detector {shapes.FRAUD_DETECTOR.reserved_concurrency}" in check


def test_the_planned_trail_check_names_the_tables_region_and_that_it_only_warns() -> None:
    done = run_cli("deploy", "--stack", "prod", "data", "--plan")

    check = next(line for line in done.stdout.splitlines() if line.startswith("  1. check"))
    assert "CloudTrail trail logging in us-east-2" in check
    tables = "txn-prod-transactions, txn-prod-merchants"
    assert f"DynamoDB data events (reads and writes) for {tables}" in check
    assert check.endswith("warns, never stops the deploy")


def test_a_deploy_from_a_blank_account_starts_with_the_account_bootstrap_it_does_not_run() -> None:
    done = run_cli("deploy", "--stack", "prod", "--plan")

    note = next(line for line in done.stdout.splitlines() if line.startswith("  0. "))
    assert "once per account and region, by the administrators" in note
    assert note.endswith("cd stacks/account && pulumi up -s us-east-2")


def test_destroy_plan_prints_the_reverse_order_and_the_eni_wait() -> None:
    done = run_cli("destroy", "--stack", "dev", "--plan")

    assert done.returncode == 0, done.stderr
    assert plan_rows(done.stdout) == [
        ("destroy", "observability"),
        ("destroy", "edge"),
        ("destroy", "compute"),
        ("wait", "compute"),
        ("destroy", "data"),
        ("destroy", "security"),
        ("destroy", "network"),
    ]
    assert "Plan: destroy stack dev, 6 layers, downstream first" in done.stdout


def test_a_prod_destroy_plan_says_the_shipped_deletion_protection_refuses_it() -> None:
    done = run_cli("destroy", "--stack", "prod", "--plan")

    assert done.returncode == 0, done.stderr
    assert (
        "Refused before anything runs: deletionProtection on in prod for network, security, "
        "data, edge, observability (turn it off and deploy them first)"
    ) in done.stdout
    dev = run_cli("destroy", "--stack", "dev", "--plan")
    assert "Checked first: deletionProtection off in dev for every chosen layer" in dev.stdout


def test_a_one_layer_plan_names_the_upstream_check_and_the_drift_previews() -> None:
    done = run_cli("deploy", "--stack", "prod", "data", "--plan")

    assert plan_rows(done.stdout) == [("check", "data"), ("up", "data")]
    assert "Checked first: deployed in prod: security" in done.stdout
    assert "Then: preview for drift, if their upstream changed: compute, edge, observability" in (
        done.stdout
    )


def test_the_nox_session_prints_the_same_plan() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "destroy", "--", "--stack", "dev", "--plan"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert plan_rows(done.stdout)[0] == ("destroy", "observability")
    assert plan_rows(done.stdout)[-1] == ("destroy", "network")


# -- one-line errors ----------------------------------------------------------------------------


def test_without_the_pulumi_cli_the_user_gets_one_line_saying_what_to_install() -> None:
    done = run_cli("deploy", "--stack", "dev", "network")

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "txn-ops: error: pulumi-cli-missing: the Pulumi CLI is not on PATH: install it "
        "(https://www.pulumi.com/docs/iac/download-install/) and run again"
    ]
    assert done.stdout == ""


def test_without_a_backend_the_user_is_told_where_to_configure_it(
    fake_pulumi: Path, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.txn-ops]\nbackend-url = ""\n')
    path = f"{fake_pulumi}:{os.path.dirname(sys.executable)}"

    done = run_cli("--root", str(tmp_path), "preview", "--stack", "dev", env={"PATH": path})

    assert done.returncode == 2
    assert done.stderr.startswith("txn-ops: error: backend-missing: ")
    assert "Traceback" not in done.stderr


def test_without_aws_credentials_the_user_is_told_how_to_log_in(
    fake_pulumi: Path, tmp_path: Path
) -> None:
    env = {
        "PATH": f"{fake_pulumi}:{os.path.dirname(sys.executable)}",
        "PULUMI_BACKEND_URL": "s3://state-bucket",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }

    done = run_cli("deploy", "--stack", "dev", "network", env=env)

    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("txn-ops: error: aws-credentials-missing: ")
    assert "aws sso login" in done.stderr


def test_destroy_without_yes_asks_for_confirmation() -> None:
    done = run_cli("destroy", "--stack", "dev", "edge")

    assert done.returncode == 2
    assert "error: confirm: destroy deletes every resource of edge in stack dev" in done.stderr


def test_an_unknown_layer_is_refused_before_any_check_of_the_environment() -> None:
    done = run_cli("deploy", "--stack", "dev", "netwrk")

    assert done.returncode == 2
    assert done.stderr.startswith("txn-ops: error: layer-unknown: unknown layer 'netwrk'")


def test_an_unknown_stack_is_refused_by_the_argument_parser() -> None:
    done = run_cli("deploy", "--stack", "staging", "--plan")

    assert done.returncode == 2
    assert "invalid choice: 'staging'" in done.stderr


def test_preflight_checks_the_cli_first(settings) -> None:
    with pytest.raises(OpsError) as caught:
        preflight(settings, environ={"PATH": "/nonexistent"})

    assert caught.value.code == "pulumi-cli-missing"


def test_preflight_requires_a_passphrase_for_the_passphrase_provider(fake_pulumi, repo) -> None:
    settings = cfg.load(repo, environ={"TXN_SECRETS_PROVIDER": "passphrase"})

    with pytest.raises(OpsError) as caught:
        preflight(settings, environ={"PATH": str(fake_pulumi)})

    assert caught.value.code == "secrets-passphrase"


@pytest.mark.parametrize(
    ("printed", "code"),
    [
        ("error: NoCredentialProviders: no valid providers in chain", "aws-credentials"),
        (
            "error: ExpiredToken: The security token included in the request is expired",
            "aws-credentials",
        ),
        ("error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive", "pulumi-login"),
        ("error: getting secrets manager: incorrect passphrase", "secrets-passphrase"),
    ],
)
def test_pulumi_output_that_means_an_environment_problem_becomes_one_line(printed, code) -> None:
    error = classify(f"stdout: ...\nstderr: {printed}\n", "data", "s3://state")

    assert isinstance(error, OpsError)
    assert error.code == code


def test_a_program_failure_names_the_layer_and_pulumi_first_error_line() -> None:
    error = classify(
        "code: 255\nstdout: Updating (dev)\n  error: creating SQS queue: QueueAlreadyExists\n",
        "data",
        "s3://state",
    )

    assert isinstance(error, StepFailed)
    assert str(error) == "data: creating SQS queue: QueueAlreadyExists"


def test_a_refusal_by_aws_says_what_the_layers_role_may_not_do() -> None:
    # a preview role asked to create a missing stack: the backend's lock is an S3 write
    error = classify(
        "code: 255\nstderr: error: could not create stack: failed to acquire lock: writing "
        ".pulumi/locks/...: AccessDenied: Access Denied\n",
        "data",
        "s3://state",
    )

    assert isinstance(error, StepFailed)
    assert str(error).startswith("data: could not create stack: failed to acquire lock")
    assert "a preview role (txn-<region>-<layer>-preview) only reads" in str(error)


@pytest.mark.parametrize(
    "printed",
    [
        "Policies:\n    ❌ txn-platform@v1 (local: policies)\n"
        "        - [mandatory]  dynamodb-cmk-encryption  (aws:dynamodb/table:Table: velocity)\n",
        "Diagnostics:\n  aws:dynamodb:Table (velocity):\n"
        "    mandatory: [dynamodb-cmk-encryption] Every DynamoDB table is encrypted ...\n",
    ],
)
def test_a_mandatory_policy_violation_is_named_as_one(printed) -> None:
    error = classify(f"code: 255\nstdout: {printed}stderr: error: preview failed\n", "data", "s")

    assert str(error) == "data: the policy pack reported mandatory violations (above)"


def test_an_advisory_violation_beside_a_refusal_is_reported_as_the_refusal() -> None:
    # an advisory policy fails nothing: the failure is AWS's refusal, with the role's hint
    error = classify(
        "code: 255\nstdout: Policies:\n        - [advisory]  iam-parliament-low  (role)\n"
        "stderr: error: creating IAM Role: AccessDenied: not authorized to perform "
        "iam:CreateRole\n",
        "security",
        "s3://state",
    )

    assert str(error).startswith("security: creating IAM Role: AccessDenied")
    assert "a deploy role holds its layer's grants" in str(error)


# -- in-process runs against the fake -----------------------------------------------------------


def test_deploy_exits_zero_and_prints_the_summary(fake, repo, lines) -> None:
    code = cli.main(
        ["--root", str(repo), "deploy", "--stack", "dev", "network"],
        workspace_factory=lambda settings, args: fake,
        preflight=lambda settings: None,
        emit=lines.append,
    )

    assert code == 0
    assert "Summary: deploy dev" in lines


def test_a_failed_layer_exits_one(fake, repo, lines) -> None:
    fake.failing.add("network")

    code = cli.main(
        ["--root", str(repo), "deploy", "--stack", "dev"],
        workspace_factory=lambda settings, args: fake,
        preflight=lambda settings: None,
        emit=lines.append,
    )

    assert code == 1


def test_a_refusal_exits_two_with_one_line(fake, repo, lines, capsys) -> None:
    code = cli.main(
        ["--root", str(repo), "deploy", "--stack", "dev", "edge"],
        workspace_factory=lambda settings, args: fake,
        preflight=lambda settings: None,
        emit=lines.append,
    )

    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("txn-ops: error: upstream-missing: layer edge reads security")


def test_outputs_hide_secret_values_unless_asked(fake, repo, lines) -> None:
    fake.deploy_all()

    def outputs(*extra: str) -> str:
        lines.clear()
        cli.main(
            ["--root", str(repo), "outputs", "--stack", "dev", "edge", *extra],
            workspace_factory=lambda settings, args: fake,
            preflight=lambda settings: None,
            emit=lines.append,
        )
        return "\n".join(lines)

    assert "api_key_values                     [secret]" in outputs()
    assert "edge.api_key_values.v1" in outputs("--show-secrets")
    assert '"api_key_values": "[secret]"' in outputs("--json")


def test_a_deploy_into_an_account_too_small_for_the_reservations_stops_before_compute(
    fake, repo, lines, capsys
) -> None:
    # GIVEN a new account whose Lambda concurrency limit is 10
    import boto3
    from botocore.stub import Stubber

    from txn_ops import quotas

    client = boto3.client(
        "lambda", region_name="us-east-2", aws_access_key_id="test", aws_secret_access_key="test"
    )
    stub = Stubber(client)
    stub.add_response(
        "get_account_settings",
        {"AccountLimit": {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}},
    )
    stub.add_client_error(
        "get_function_concurrency", "ResourceNotFoundException", http_status_code=404
    )

    # WHEN everything is deployed
    with stub:
        code = cli.main(
            ["--root", str(repo), "deploy", "--stack", "dev"],
            workspace_factory=lambda settings, args: fake,
            preflight=lambda settings: None,
            concurrency_check=lambda reservations, region: quotas.check_reserved_concurrency(
                reservations, region, client=client
            ),
            emit=lines.append,
        )

    # THEN it stops before compute with one coded line that says what to raise and how
    assert code == 2
    assert fake.calls == [("up", "network"), ("up", "security"), ("up", "data")]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("txn-ops: error: lambda-concurrency-quota: ")
    assert "L-B99A9384" in err[0]


def test_a_deploy_into_an_account_without_a_trail_warns_before_data_and_goes_on(
    fake, repo, lines, monkeypatch
) -> None:
    # GIVEN an account with no CloudTrail trail (moto's), read with the caller's credentials
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")

    # WHEN everything is deployed
    with mock_aws():
        code = cli.main(
            ["--root", str(repo), "deploy", "--stack", "dev"],
            workspace_factory=lambda settings, args: fake,
            preflight=lambda settings: None,
            concurrency_check=lambda reservations, region: None,
            emit=lines.append,
        )

    # THEN one warning line before data, every layer deployed, and the summary says so
    assert code == 0
    assert [name for action, name in fake.calls] == list(contract.deploy_order())
    warnings = [line for line in lines if line.lstrip().startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "    warning: audit-trail-missing: no CloudTrail trail is logging in us-east-2"
    )
    deploy_data = next(i for i, line in enumerate(lines) if "] deploy data (" in line)
    assert lines.index(warnings[0]) < deploy_data
    row = next(line.split() for line in lines if "check-trail" in line)
    assert row[:4] == ["data", "check-trail", "warning", "audit-trail-missing"]


@pytest.mark.parametrize("command", ["preview", "deploy"])
def test_a_relative_plans_directory_is_made_absolute_for_the_cli_in_the_stack_folder(
    command: str, tmp_path, monkeypatch
) -> None:
    # the Automation API runs the Pulumi CLI in stacks/<layer>: a relative --save-plan/--plan
    # would be opened there, not where the command was given
    monkeypatch.chdir(tmp_path)
    args = cli.parser().parse_args([command, "--stack", "prod", "--plans", "plans/prod"])
    assert args.plans == (tmp_path / "plans" / "prod").resolve()
    assert args.plans.is_absolute()

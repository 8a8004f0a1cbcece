"""Each layer deploys as its own role: which one, how it is assumed, and the refusal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from txn_ops import cli, roles
from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_spec import contract

TEMPLATE = "arn:aws:iam::111122223333:role/txn-{region}-{layer}-deploy"


def with_roles(repo: Path, dev: str = TEMPLATE) -> Path:
    text = (repo / "pyproject.toml").read_text()
    (repo / "pyproject.toml").write_text(
        text + f'\n[tool.txn-ops.deploy-role-arn]\ndev = "{dev}"\n'
    )
    return repo


def utc_now() -> datetime:
    return datetime.now(UTC)


# the caller: a person's IAM Identity Center session
SSO_ROLE, PERSON = "AWSReservedSSO_DataTeam_0123456789abcdef", "alice@example.com"


class FakeSts:
    """STS as the roles module calls it: records the calls, refuses the roles in ``denied``,
    and hands out credentials for the hour that follows ``now``."""

    def __init__(
        self, denied: frozenset[str] = frozenset(), now: Callable[[], datetime] = utc_now
    ) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.identity_calls = 0
        self.denied = denied
        self.now = now

    def __call__(self, region: str | None) -> FakeSts:
        return self

    def _answer(self, call: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((call, kwargs))
        if kwargs["RoleArn"] in self.denied:
            error = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}
            raise ClientError(error, call)
        layer = kwargs["RoleSessionName"]
        return {
            "Credentials": {
                "AccessKeyId": f"AKIA-{layer}",
                "SecretAccessKey": "secret",
                "SessionToken": f"token-{len(self.calls)}",
                "Expiration": self.now() + timedelta(seconds=kwargs["DurationSeconds"]),
            }
        }

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer("AssumeRole", kwargs)

    def get_caller_identity(self) -> dict[str, Any]:
        self.identity_calls += 1
        return {"Arn": f"arn:aws:sts::111122223333:assumed-role/{SSO_ROLE}/{PERSON}"}

    def assume_role_with_web_identity(self, **kwargs: Any) -> dict[str, Any]:
        return self._answer("AssumeRoleWithWebIdentity", kwargs)


def test_each_layer_has_its_own_role_from_the_stacks_template(repo: Path) -> None:
    settings = cfg.load(with_roles(repo), environ={})
    arns = {n: roles.role_arn(settings, contract.layer(n), "dev") for n in contract.LAYERS}
    assert arns["network"] == "arn:aws:iam::111122223333:role/txn-us-east-2-network-deploy"
    assert len(set(arns.values())) == len(contract.LAYERS)
    assert roles.role_arn(settings, contract.NETWORK, "prod") is None  # prod has no template


def test_without_a_template_the_caller_deploys_and_the_plan_says_so(repo: Path) -> None:
    settings = cfg.load(repo, environ={})
    assert roles.describe(settings, contract.DATA, "dev") == roles.AMBIENT
    assert settings.deploy_roles_source == "not set"


def test_the_environment_overrides_the_template_for_every_stack(repo: Path) -> None:
    other = "arn:aws:iam::999999999999:role/ci-{layer}"
    settings = cfg.load(with_roles(repo), environ={roles.ROLE_ENV: other})
    assert (
        roles.role_arn(settings, contract.EDGE, "prod") == "arn:aws:iam::999999999999:role/ci-edge"
    )
    assert settings.deploy_roles_source == "$TXN_DEPLOY_ROLE_ARN"


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ('dev = "arn:aws:iam::1:role/one-for-all"', "has no {layer}"),
        ('staging = "arn:aws:iam::1:role/{layer}"', "maps a stack"),
    ],
)
def test_a_bad_role_setting_is_one_coded_line(repo: Path, table: str, needle: str) -> None:
    text = (repo / "pyproject.toml").read_text()
    (repo / "pyproject.toml").write_text(text + f"\n[tool.txn-ops.deploy-role-arn]\n{table}\n")
    with pytest.raises(OpsError) as raised:
        cfg.load(repo, environ={})
    assert raised.value.code == "settings-invalid"
    assert needle in str(raised.value)


def test_credentials_are_assumed_once_per_layer_and_reported(repo: Path, emit, lines) -> None:
    sts = FakeSts()
    creds = roles.LayerCredentials(cfg.load(with_roles(repo), environ={}), "dev", emit, {}, sts)

    first = creds(contract.DATA)
    again = creds(contract.DATA)

    assert (
        first
        == again
        == {
            "AWS_ACCESS_KEY_ID": f"AKIA-txn-data-dev-{PERSON}",
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_SESSION_TOKEN": "token-1",
        }
    )
    assert [c for c, _ in sts.calls] == ["AssumeRole"]
    assert lines == [
        "    data: running as arn:aws:iam::111122223333:role/txn-us-east-2-data-deploy"
        f" (session txn-data-dev-{PERSON})"
    ]


def test_credentials_are_assumed_again_once_fewer_than_fifty_minutes_are_left(
    repo: Path, emit, lines
) -> None:
    # GIVEN a role session of an hour, the most role chaining allows
    now = [datetime(2026, 3, 1, 12, 0, tzinfo=UTC)]
    sts = FakeSts(now=lambda: now[0])
    settings = cfg.load(with_roles(repo), environ={})
    creds = roles.LayerCredentials(settings, "dev", emit, {}, sts, now=lambda: now[0])
    first = creds(contract.DATA)

    # WHEN a destroy asks for them again 9 minutes later, then 11
    now[0] += timedelta(minutes=9)
    still = creds(contract.DATA)
    now[0] += timedelta(minutes=2)
    renewed = creds(contract.DATA)

    # THEN the role is assumed again once fewer than 50 minutes are left: every operation
    # starts with at least that long
    assert still == first
    assert renewed["AWS_SESSION_TOKEN"] == "token-2"
    assert len(sts.calls) == 2
    assert lines[-1] == (
        "    data: renewed credentials of arn:aws:iam::111122223333:role/txn-us-east-2-data-deploy"
        f" (session txn-data-dev-{PERSON})"
    )


def test_in_github_actions_the_jobs_oidc_token_is_exchanged(
    repo: Path, emit, monkeypatch: pytest.MonkeyPatch
) -> None:
    github = {
        roles.GITHUB_TOKEN_URL: "https://token.example/?x=1",
        roles.GITHUB_TOKEN_BEARER: "b",
        "GITHUB_RUN_ID": "9876543210",
        "GITHUB_RUN_ATTEMPT": "2",
    }
    monkeypatch.setattr(
        roles, "_github_token", lambda environ: f"jwt-for-{environ[roles.GITHUB_TOKEN_BEARER]}"
    )
    sts = FakeSts()
    creds = roles.LayerCredentials(cfg.load(with_roles(repo), environ={}), "dev", emit, github, sts)

    creds(contract.EDGE)

    ((call, kwargs),) = sts.calls
    assert call == "AssumeRoleWithWebIdentity"
    assert kwargs["WebIdentityToken"] == "jwt-for-b"
    assert kwargs["RoleArn"].endswith(":role/txn-us-east-2-edge-deploy")
    # CloudTrail names each call by its session: the run (and attempt) that made it
    assert kwargs["RoleSessionName"] == "txn-edge-dev-gh9876543210-2"


def test_a_role_nobody_granted_stops_the_deploy_before_anything_runs(
    repo: Path, fake, lines, capsys
) -> None:
    with_roles(repo)
    denied = frozenset({TEMPLATE.format(region="us-east-2", layer="data")})
    code = cli.main(
        ["--root", str(repo), "deploy", "--stack", "dev", "network", "security", "data"],
        workspace_factory=lambda settings, args: fake,
        preflight=lambda settings: None,
        emit=lines.append,
        sts=FakeSts(denied),
    )

    assert code == 2
    assert fake.calls == []  # network and security were not deployed either
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("txn-ops: error: deploy-role-unreachable: layer data deploys as")
    # the trust names the account as principal: the team's own role must allow the assume too
    assert "deployers.data" in err
    assert "IAM policy of its own allowing sts:AssumeRole" in err


def test_outputs_are_read_as_the_layers_role(repo: Path, fake, lines) -> None:
    # the team's own role may only assume its layer's; the state bucket and key are the role's
    fake.deploy_all()
    given: list[Any] = []
    sts = FakeSts()

    def workspace(settings: cfg.Settings, args: Any) -> Any:
        given.append(args.credentials)
        return fake

    code = cli.main(
        ["--root", str(with_roles(repo)), "outputs", "--stack", "dev", "edge"],
        workspace_factory=workspace,
        preflight=lambda settings: None,
        emit=lines.append,
        sts=sts,
    )

    assert code == 0
    assert [kwargs["RoleSessionName"] for _, kwargs in sts.calls] == [f"txn-edge-dev-{PERSON}"]
    assert given[0].reader(contract.EDGE)["AWS_ACCESS_KEY_ID"] == f"AKIA-txn-edge-dev-{PERSON}"


def test_outputs_as_json_print_the_role_lines_to_stderr_and_the_json_alone(
    repo: Path, fake, lines, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/deploy.md reads edge's api_key_ids from `outputs --json` in a script
    fake.deploy_all()

    assert run_with_roles(repo, fake, lines, "outputs", "--stack", "dev", "edge", "--json") == 0

    assert set(json.loads("\n".join(lines))) == {"edge"}
    assert "edge: running as arn:aws:iam::111122223333:role/txn-us-east-2-edge-deploy" in (
        capsys.readouterr().err
    )


def test_the_plan_names_the_role_of_each_layer(repo: Path, lines) -> None:
    code = cli.main(
        ["--root", str(with_roles(repo)), "deploy", "--plan", "--stack", "dev", "network", "edge"],
        emit=lines.append,
    )
    assert code == 0
    named = [line.split("as ", 1)[1] for line in lines if line.strip().startswith("as ")]
    assert named == [
        "arn:aws:iam::111122223333:role/txn-us-east-2-network-deploy",
        "arn:aws:iam::111122223333:role/txn-us-east-2-edge-deploy",
    ]


def test_a_stack_outside_the_run_is_read_with_a_role_of_the_run_that_reads_it(
    repo: Path, emit
) -> None:
    sts = FakeSts()
    creds = roles.LayerCredentials(cfg.load(with_roles(repo), environ={}), "dev", emit, {}, sts)
    creds.check(["edge"])

    assert creds.reader(contract.SECURITY) == creds(contract.EDGE)  # edge reads security
    assert [kwargs["RoleSessionName"] for _, kwargs in sts.calls] == [f"txn-edge-dev-{PERSON}"]


def test_a_drift_preview_only_its_owners_may_run_is_reported_not_failed(
    fake, settings, emit, lines
) -> None:
    from txn_ops.deploy import Orchestrator
    from txn_ops.report import Console

    # GIVEN a team that may assume data's role only, which may read security's stack
    fake.deploy_all()
    fake.program_changed.add("data")
    state, preview = fake.state, fake.preview

    def role_of(layer: contract.Layer) -> None:
        # the real workspace assumes the layer's role before it selects the stack
        if layer.name not in ("data", "security"):
            raise OpsError("deploy-role-unreachable", f"layer {layer.name} deploys as its role")

    fake.state = lambda layer, stack: role_of(layer) or state(layer, stack)
    fake.preview = lambda layer, stack, packs: role_of(layer) or preview(layer, stack, packs)

    # WHEN it deploys data
    report = Orchestrator(
        fake, settings, "dev", console=Console(emit), concurrency_check=lambda r, region: None
    ).run("deploy", ["data"])

    # THEN the layers downstream are left to their owners, and the deploy succeeds
    assert not report.failed
    drift = [(r.layer, r.result) for r in report.rows if r.action == "drift"]
    assert drift == [(n, "needs its owners") for n in ("compute", "edge", "observability")]
    assert report.needs_update == ["compute", "edge", "observability"]
    assert any("cannot preview compute with the roles of this run" in line for line in lines)


def test_a_destroy_whose_downstream_stack_the_team_cannot_read_stops_with_that_reason(
    fake, settings, emit
) -> None:
    from txn_ops.deploy import Orchestrator
    from txn_ops.report import Console

    # GIVEN a team that may assume network's role only, with security still deployed
    fake.deploy_all(names=["network", "security"])
    state = fake.state

    def read(layer: contract.Layer, stack: str):
        if layer.name != "network":
            raise OpsError("deploy-role-unreachable", f"layer {layer.name} deploys as its role")
        return state(layer, stack)

    fake.state = read

    # WHEN it destroys network
    with pytest.raises(OpsError) as caught:
        Orchestrator(fake, settings, "dev", console=Console(emit)).run("destroy", ["network"])

    # THEN it is told it cannot confirm security is gone, not that it cannot deploy security
    assert caught.value.code == "downstream-unknown"
    assert caught.value.message.startswith(
        "cannot read layer security's stack dev to confirm it is destroyed"
    )
    assert fake.calls == []


@pytest.fixture
def aws_clients(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """boto3 clients as txn_ops makes them, recorded, answering from botocore's Stubber: an
    account with room for the reservations, and no Lambda interface left in any VPC."""
    import boto3
    from botocore.stub import Stubber

    made: list[tuple[str, dict[str, Any]]] = []
    real = boto3.client

    def client(service: str, **kwargs: Any) -> Any:
        made.append((service, kwargs))
        region = kwargs["region_name"]
        stubbed = real(
            service, region_name=region, aws_access_key_id="k", aws_secret_access_key="s"
        )
        stub = Stubber(stubbed)
        if service == "lambda":
            limits = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}
            stub.add_response("get_account_settings", {"AccountLimit": limits})
            stub.add_client_error("get_function_concurrency", "ResourceNotFoundException", 404)
        if service == "ec2":
            stub.add_response("describe_network_interfaces", {"NetworkInterfaces": []})
        stub.activate()
        return stubbed

    monkeypatch.setattr(boto3, "client", client)
    return made


def keys_of(kwargs: dict[str, Any]) -> str | None:
    return kwargs.get("aws_access_key_id")


def run_with_roles(repo: Path, fake, lines, *args: str) -> int:
    """``txn_ops`` on the fake workspace with deploy roles set, STS answering every role."""
    return cli.main(
        ["--root", str(with_roles(repo)), *args],
        workspace_factory=lambda settings, _: fake,
        preflight=lambda settings: None,
        emit=lines.append,
        sts=FakeSts(),
    )


def test_the_concurrency_check_reads_lambda_as_computes_role(
    repo: Path, fake, lines, aws_clients
) -> None:
    # GIVEN deploy roles and no credentials of the caller's own (a CI job's OIDC token only)
    fake.deploy_all(names=["network", "security", "data"])
    code = run_with_roles(repo, fake, lines, "deploy", "--stack", "dev", "compute")

    assert code == 0
    assert [(s, keys_of(k)) for s, k in aws_clients] == [
        ("lambda", f"AKIA-txn-compute-dev-{PERSON}")
    ]
    assert fake.calls == [("up", "compute")]


def test_the_eni_wait_lists_interfaces_as_networks_role(
    repo: Path, fake, lines, aws_clients
) -> None:
    fake.deploy_all()
    code = run_with_roles(repo, fake, lines, "destroy", "--stack", "dev", "--yes")

    assert code == 0
    assert [(s, keys_of(k)) for s, k in aws_clients] == [("ec2", f"AKIA-txn-network-dev-{PERSON}")]


def test_a_destroy_that_waits_for_enis_needs_networks_role_before_anything_runs(
    repo: Path, fake, lines, capsys
) -> None:
    # GIVEN everything deployed, and a team that may not assume network's role
    fake.deploy_all()
    denied = frozenset({TEMPLATE.format(region="us-east-2", layer="network")})
    above_network = ["observability", "edge", "compute", "data", "security"]
    code = cli.main(
        ["--root", str(with_roles(repo)), "destroy", "--stack", "dev", "--yes", *above_network],
        workspace_factory=lambda settings, args: fake,
        preflight=lambda settings: None,
        emit=lines.append,
        sts=FakeSts(denied),
    )

    assert code == 2
    assert fake.calls == []  # not compute, then a wait that cannot look
    err = capsys.readouterr().err
    assert err.startswith("txn-ops: error: deploy-role-unreachable: layer network deploys as")


def test_a_local_session_is_named_after_the_person_asked_once_per_run(repo: Path, emit) -> None:
    # CloudTrail names every call made with the role by its session (PCI DSS 10.2.1): outside
    # CI, the person's own session name (IAM Identity Center's is the user's)
    sts = FakeSts()
    creds = roles.LayerCredentials(cfg.load(with_roles(repo), environ={}), "dev", emit, {}, sts)
    creds.check(["network", "edge"])

    names = [kwargs["RoleSessionName"] for _, kwargs in sts.calls]
    assert names == [f"txn-network-dev-{PERSON}", f"txn-edge-dev-{PERSON}"]
    assert sts.identity_calls == 1


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        (f"arn:aws:sts::111122223333:assumed-role/{SSO_ROLE}/{PERSON}", PERSON),
        ("arn:aws:iam::111122223333:user/ops/bob", "bob"),
        ("arn:aws:sts::111122223333:assumed-role/Admin/j doe:laptop", "j-doe-laptop"),
        ("arn:aws:iam::111122223333:root", ""),
        ("arn:aws:sts::111122223333:federated-user/carol", ""),
    ],
)
def test_the_caller_is_named_as_a_session_name_may_hold_it(arn: str, name: str) -> None:
    assert roles.caller_name(arn) == name


def test_a_long_person_name_is_cut_to_the_session_names_64_characters(repo: Path, emit) -> None:
    sts = FakeSts()
    sts.get_caller_identity = lambda: {  # type: ignore[method-assign]  # a longer user name
        "Arn": f"arn:aws:sts::111122223333:assumed-role/{SSO_ROLE}/{'x' * 80}@example.com"
    }
    creds = roles.LayerCredentials(cfg.load(with_roles(repo), environ={}), "dev", emit, {}, sts)
    creds(contract.OBSERVABILITY)

    ((_, kwargs),) = sts.calls
    assert kwargs["RoleSessionName"] == ("txn-observability-dev-" + "x" * 80)[:64]

"""The per-layer deploy roles: derived from the programs, deployed by the account project."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.stacks.conftest import as_list, policy, statements
from txn_infra import deploy_permissions
from txn_infra.offline import ACCOUNT_ID, LayerRun, Resource, run_layer
from txn_spec import contract

REGION = "us-east-2"
BUCKET = f"arn:aws:s3:::txn-pulumi-state-{ACCOUNT_ID}-{REGION}"


@pytest.fixture(scope="module")
def account() -> LayerRun:
    return run_layer(
        contract.ACCOUNT,
        stack=REGION,
        config={
            "txn-account:githubRepository": "acme/txn-platform",
            "txn-account:deployers": json.dumps(
                {"data": ["arn:aws:iam::123456789012:role/data-team"]}
            ),
        },
    )


def role_policy(account: LayerRun, layer: str) -> list[dict[str, Any]]:
    return statements(policy(account.one("aws:iam/rolePolicy:RolePolicy", f"deploy-{layer}-")))


def trust(account: LayerRun, layer: str) -> list[dict[str, Any]]:
    role = account.one("aws:iam/role:Role", f"deploy-{layer}")
    return statements(policy(role, "assumeRolePolicy"))


def test_the_checked_in_permissions_are_what_the_programs_register(
    system: dict[str, LayerRun], prod_system: dict[str, LayerRun]
) -> None:
    fresh = deploy_permissions.document({"dev": system, "prod": prod_system})
    stale = "deploy-permissions.json is stale: run python -m txn_infra.deploy_permissions"
    assert deploy_permissions.OUTPUT.read_text() == fresh, stale


def test_a_resource_type_nobody_mapped_stops_the_derivation() -> None:
    bucket = Resource("aws:s3/bucket:Bucket", "b", {"bucket": "x"}, {}, None, "b")
    with pytest.raises(deploy_permissions.UnknownTypeError) as raised:
        deploy_permissions.derive({"dev": {"data": _run_with(bucket)}})
    assert "aws:s3/bucket:Bucket" in str(raised.value)
    assert "deploy_grants.yaml" in str(raised.value)


def _run_with(*resources: Resource) -> LayerRun:
    return LayerRun(layer=contract.DATA, stack="dev", resources=list(resources))


def test_one_role_per_layer_with_its_derived_statements_for_this_account(
    account: LayerRun,
) -> None:
    derived = deploy_permissions.load()
    names = {r.inputs["name"] for r in account.of_type("aws:iam/role:Role")}
    assert {f"txn-{REGION}-{layer}-deploy" for layer in contract.LAYERS} <= names
    for layer in contract.LAYERS:
        deployed = role_policy(account, layer)
        expected = json.loads(
            json.dumps(derived[layer]).replace("{account}", ACCOUNT_ID).replace("{region}", REGION)
        )
        assert [s for s in deployed if "Sid" not in s] == expected, layer
        assert "{account}" not in json.dumps(deployed)
        assert "{region}" not in json.dumps(deployed)


def test_each_role_writes_only_its_own_state_and_reads_its_upstreams(account: LayerRun) -> None:
    for name, layer in contract.LAYERS.items():
        by_sid = {s["Sid"]: s for s in role_policy(account, name) if "Sid" in s}
        own = as_list(by_sid["OwnState"]["Resource"])
        assert own
        assert all(f"/{layer.project}/" in arn for arn in own), own
        read = as_list(by_sid["UpstreamOutputsAndBackendVersion"]["Resource"])
        upstream = {arn.split("/")[-2] for arn in read if "/.pulumi/stacks/" in arn}
        assert upstream == {contract.layer(u).project for u in layer.upstream}, name
        assert all(arn.startswith(BUCKET + "/.pulumi/") for arn in own + read)


def test_the_trust_names_the_team_and_the_repositorys_workflow_only(account: LayerRun) -> None:
    data = {s["Sid"]: s for s in trust(account, "data")}
    team = data["TheLayersTeam"]["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert team == ["arn:aws:iam::123456789012:role/data-team"]
    # no team named: any role of this account that its IAM policies let assume network's role
    network = {s["Sid"]: s for s in trust(account, "network")}
    anyone = network["TheLayersTeam"]["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert anyone == [f"arn:aws:iam::{ACCOUNT_ID}:role/*"]
    assert network["TheLayersTeam"]["Principal"]["AWS"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    github = data["TheRepositorysWorkflow"]
    assert github["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert github["Principal"]["Federated"].endswith(
        ":oidc-provider/token.actions.githubusercontent.com"
    )
    claims = github["Condition"]["StringEquals"]
    assert claims["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    # only the deploy jobs' environments: no bare branch (any job of main, the tests included),
    # no pull request
    assert sorted(claims["token.actions.githubusercontent.com:sub"]) == [
        "repo:acme/txn-platform:environment:dev",
        "repo:acme/txn-platform:environment:prod",
        "repo:acme/txn-platform:environment:prod-preview",
    ]


@pytest.mark.parametrize(
    ("environments", "jobs"),
    [(["prod"], ["prod", "prod-preview"]), (["dev"], ["dev"])],
)
def test_an_account_trusts_only_the_deploy_jobs_of_its_own_stacks(
    environments: list[str], jobs: list[str]
) -> None:
    # dev's job (no reviewers) must not get prod's roles, in an account of its own
    run = run_layer(
        contract.ACCOUNT,
        stack=REGION,
        config={
            "txn-account:githubRepository": "acme@1001/txn-platform@2002",  # immutable form
            "txn-account:environments": json.dumps(environments),
        },
    )
    role = run.one("aws:iam/role:Role", "deploy-data")
    github = {s["Sid"]: s for s in statements(policy(role, "assumeRolePolicy"))}
    subjects = github["TheRepositorysWorkflow"]["Condition"]["StringEquals"]
    assert sorted(subjects["token.actions.githubusercontent.com:sub"]) == [
        f"repo:acme@1001/txn-platform@2002:environment:{job}" for job in jobs
    ]


def test_the_shipped_stack_trusts_no_repository_until_one_is_configured() -> None:
    shipped = run_layer(contract.ACCOUNT, stack=REGION)
    role = shipped.one("aws:iam/role:Role", "deploy-edge")
    assert [s["Sid"] for s in statements(policy(role, "assumeRolePolicy"))] == ["TheLayersTeam"]


def test_the_roles_pass_the_policy_pack_with_a_team_and_a_repository_configured(
    account: LayerRun,
) -> None:
    from txn_policies.evaluate import blocking, evaluate
    from txn_policies.synth import views_of

    assert [str(v) for v in blocking(evaluate(views_of(account)))] == []


def test_no_grant_names_an_id_aws_generates(system: dict[str, LayerRun]) -> None:
    # an execution-log group is named after its REST API's id: the offline run's id would never
    # match the real one, and edge's first deploy would be refused that group
    generated = deploy_permissions.generated_ids(system, deploy_permissions.load_grants())
    text = deploy_permissions.OUTPUT.read_text()
    assert generated
    assert sorted(i for i in generated if i in text) == []
    assert "log-group:API-Gateway-Execution-Logs_*/v1" in text

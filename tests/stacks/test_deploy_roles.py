"""The per-layer deploy roles: derived from the programs, deployed by the account project."""

from __future__ import annotations

import json
from typing import Any

import pulumi
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
            "txn-account:environments": json.dumps(["prod"]),  # an account of its own
            "txn-account:deployers": json.dumps(
                {"data": ["arn:aws:iam::123456789012:role/data-team"]}
            ),
        },
    )


def role_policy(account: LayerRun, layer: str) -> list[dict[str, Any]]:
    return statements(policy(account.one("aws:iam/rolePolicy:RolePolicy", f"deploy-{layer}-")))


def trust(account: LayerRun, layer: str) -> list[dict[str, Any]]:
    return trust_of(account.one("aws:iam/role:Role", f"deploy-{layer}"))


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


def test_alarms_are_granted_by_each_stacks_name_pattern_not_one_by_one(
    system: dict[str, LayerRun], prod_system: dict[str, LayerRun]
) -> None:
    # one ARN per alarm took observability's role past IAM's inline-policy limit
    derived = deploy_permissions.derive({"dev": system, "prod": prod_system})["observability"]
    (alarms,) = [s for s in derived if "cloudwatch:PutMetricAlarm" in s["Action"]]
    assert alarms["Resource"] == [
        "arn:aws:cloudwatch:{region}:{account}:alarm:txn-dev-*",
        "arn:aws:cloudwatch:{region}:{account}:alarm:txn-prod-*",
    ]


def test_a_stack_wide_grant_refuses_a_name_outside_every_stacks_pattern() -> None:
    alarm = Resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm", "a", {"name": "other-x"}, {}, None, "a"
    )
    run = LayerRun(layer=contract.OBSERVABILITY, stack="dev", resources=[alarm])
    with pytest.raises(ValueError, match="'other-x' is under no stack name pattern"):
        deploy_permissions.derive({"dev": {"observability": run}})


def _run_with(*resources: Resource) -> LayerRun:
    return LayerRun(layer=contract.DATA, stack="dev", resources=list(resources))


def test_an_invoke_nobody_mapped_stops_the_derivation() -> None:
    # a new provider function in a program reaches AWS at every preview and deploy: its reads
    # must be in both roles, or it must stop here
    run = LayerRun(layer=contract.DATA, stack="dev", invokes=["aws:ec2/getVpc:getVpc"])
    for derivation in (deploy_permissions.derive, deploy_permissions.derive_previews):
        with pytest.raises(deploy_permissions.UnknownInvokeError) as raised:
            derivation({"dev": {"data": run}})
        assert "aws:ec2/getVpc:getVpc" in str(raised.value)
        assert "deploy_grants.yaml" in str(raised.value)


def test_an_invokes_reads_go_to_both_roles_of_the_layer_that_calls_it() -> None:
    run = LayerRun(
        layer=contract.DATA,
        stack="dev",
        invokes=["aws:index/getAvailabilityZones:getAvailabilityZones"],
    )
    runs = {"dev": {"data": run}}
    zones = {"Effect": "Allow", "Action": ["ec2:DescribeAvailabilityZones"], "Resource": "*"}
    assert deploy_permissions.derive(runs)["data"] == [zones]
    assert deploy_permissions.derive_previews(runs)["data"] == [zones]
    assert deploy_permissions.derive_previews(runs)["network"] == []


def test_every_invoke_grant_only_reads() -> None:
    from tests.stacks.test_deploy_boundary import changes

    grants = deploy_permissions.load_grants()
    assert grants.invokes
    writes = {t: [a for a in actions if changes(a)] for t, actions in grants.invokes.items()}
    assert {t: found for t, found in writes.items() if found} == {}


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
        read = as_list(by_sid["StacksAndBackendVersion"]["Resource"])
        stacks = {arn.split("/")[-2] for arn in read if "/.pulumi/stacks/" in arn}
        upstream = {contract.layer(u).project for u in layer.upstream}
        assert stacks == {layer.project, *upstream}, name
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
    # no pull request, not prod's preview (it runs before the approval: the preview roles')
    assert sorted(claims["token.actions.githubusercontent.com:sub"]) == [
        "repo:acme/txn-platform:environment:prod",
    ]


def github_subjects(run: LayerRun, role: str) -> list[str]:
    """The OIDC token subjects the trust policy of the role named ``*role*`` accepts."""
    github = {s["Sid"]: s for s in trust_of(run.one("aws:iam/role:Role", role))}
    return sorted(
        github["TheRepositorysWorkflow"]["Condition"]["StringEquals"][
            "token.actions.githubusercontent.com:sub"
        ]
    )


def trust_of(role: Resource) -> list[dict[str, Any]]:
    return statements(policy(role, "assumeRolePolicy"))


@pytest.mark.parametrize(
    ("environments", "deploy", "preview"),
    [
        (["prod"], ["environment:prod"], ["environment:prod-preview"]),
        (["dev"], ["environment:dev"], ["pull_request"]),
    ],
)
def test_an_account_trusts_each_kind_of_role_to_its_own_jobs_only(
    environments: list[str], deploy: list[str], preview: list[str]
) -> None:
    # dev's jobs (no reviewers) must not get prod's roles, in an account of its own; and no job
    # that runs before a review (prod's preview, a pull request's) gets a role that writes
    run = run_layer(
        contract.ACCOUNT,
        stack=REGION,
        config={
            "txn-account:githubRepository": "acme@1001/txn-platform@2002",  # immutable form
            "txn-account:environments": json.dumps(environments),
        },
    )
    repo = "repo:acme@1001/txn-platform@2002"
    for layer in contract.LAYERS:
        assert github_subjects(run, f"deploy-{layer}") == [f"{repo}:{s}" for s in deploy]
        assert github_subjects(run, f"preview-{layer}") == [f"{repo}:{s}" for s in preview]
    if environments == ["prod"]:
        assert f"{repo}:environment:prod" not in github_subjects(run, "preview-data")
        assert f"{repo}:environment:prod-preview" not in github_subjects(run, "deploy-data")
    else:
        assert f"{repo}:pull_request" not in github_subjects(run, "deploy-data")


def test_the_administrators_choose_each_kind_of_roles_subjects() -> None:
    run = run_layer(
        contract.ACCOUNT,
        stack=REGION,
        config={
            "txn-account:githubRepository": "acme/txn-platform",
            "txn-account:githubSubjects": json.dumps(["environment:release"]),
            "txn-account:githubPreviewSubjects": json.dumps(["environment:plan"]),
        },
    )
    assert github_subjects(run, "deploy-edge") == ["repo:acme/txn-platform:environment:release"]
    assert github_subjects(run, "preview-edge") == ["repo:acme/txn-platform:environment:plan"]


def test_a_preview_role_trusts_the_layers_team_as_its_deploy_role_does(account: LayerRun) -> None:
    for layer in contract.LAYERS:
        deploy = {s["Sid"]: s for s in trust(account, layer)}
        preview = {
            s["Sid"]: s for s in trust_of(account.one("aws:iam/role:Role", f"preview-{layer}"))
        }
        assert preview["TheLayersTeam"] == deploy["TheLayersTeam"], layer


def test_the_shipped_stack_trusts_no_repository_until_one_is_configured() -> None:
    shipped = run_layer(contract.ACCOUNT, stack=REGION)
    for kind in ("deploy", "preview"):
        role = shipped.one("aws:iam/role:Role", f"{kind}-edge")
        assert [s["Sid"] for s in trust_of(role)] == ["TheLayersTeam"]


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


def test_ci_in_an_account_shared_by_dev_and_prod_is_refused_unless_chosen() -> None:
    # the roles are per account and region: by default dev's unreviewed jobs would reach prod
    shared = {
        "txn-account:githubRepository": "acme/txn-platform",
        "txn-account:environments": json.dumps(["dev", "prod"]),
    }
    with pytest.raises(pulumi.RunError) as raised:
        run_layer(contract.ACCOUNT, stack=REGION, config=shared)
    assert "one account per environment" in str(raised.value)

    chosen = run_layer(
        contract.ACCOUNT,
        stack=REGION,
        config={
            **shared,
            "txn-account:githubSubjects": json.dumps(["environment:prod"]),
            "txn-account:githubPreviewSubjects": json.dumps(["environment:prod-preview"]),
        },
    )
    assert github_subjects(chosen, "preview-edge") == [
        "repo:acme/txn-platform:environment:prod-preview"
    ]


# IAM counts every inline policy of a role together, white space aside, against 10,240
# characters (IAM User Guide, "IAM and AWS STS quotas"); PutRolePolicy refuses more with
# LimitExceeded, which the mocks never say. Region names of 14 characters are the longest.
ROLE_INLINE_POLICIES_LIMIT = 10_240
LONGEST_REGION = "ap-southeast-4"


def test_every_role_s_inline_policies_fit_iam_s_size_limit_in_the_longest_region() -> None:
    run = run_layer(contract.ACCOUNT, stack=LONGEST_REGION, config={"aws:region": LONGEST_REGION})
    sizes: dict[str, int] = {}
    for inline in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        size = len("".join(inline.inputs["policy"].split()))
        sizes[inline.inputs["role"]] = sizes.get(inline.inputs["role"], 0) + size
    assert len(sizes) == 1 + 2 * len(contract.LAYERS)  # API Gateway's, deploy and preview roles
    largest = max(sizes, key=lambda role: sizes[role])
    # Over it: move the derived statements into customer-managed policies (6,144 each).
    assert sizes[largest] < ROLE_INLINE_POLICIES_LIMIT, (largest, sizes[largest])

"""The per-layer preview roles: what a ``pulumi preview`` of the layer needs, nothing that writes.

The jobs that run before any review (a pull request's preview in dev, prod's preview before its
approval) assume these instead of the deploy roles. Each rendered role is evaluated like AWS
would (``tests/iam_eval.py``) against the reads a preview makes and against every create,
update and delete each layer's deploy makes, as ``test_deploy_boundary`` builds them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.iam_eval import Request, decide
from tests.stacks.conftest import as_list, policy, statements
from tests.stacks.test_deploy_boundary import (
    BUCKET,
    REGION,
    changes,
    denied,
    needs,
    reached,
    state_writes,
)
from txn_infra import deploy_permissions
from txn_infra.components.account.documents import STATE_OWN_PREFIXES
from txn_infra.offline import ACCOUNT_ID, LayerRun, run_layer
from txn_spec import contract
from txn_spec.naming import deploy_role, preview_role

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"


@pytest.fixture(scope="module")
def account() -> LayerRun:
    return run_layer(contract.ACCOUNT, stack=REGION)


@pytest.fixture(scope="module")
def previews(account: LayerRun) -> dict[str, list[dict[str, Any]]]:
    """Each layer's preview role policy, as the account project renders it for this account."""
    return {
        layer: statements(policy(account.one(POLICY, f"preview-{layer}-")))
        for layer in contract.LAYERS
    }


def test_one_preview_role_per_layer_beside_its_deploy_role(account: LayerRun) -> None:
    roles = {r.inputs["name"]: r for r in account.of_type(ROLE)}
    for layer in contract.LAYERS:
        preview = roles[preview_role("txn", REGION, layer)]
        deploy = roles[deploy_role("txn", REGION, layer)]
        assert preview.inputs["name"] == f"txn-{REGION}-{layer}-preview"
        # the administrators' roles, as the deploy roles: no boundary (it caps the roles
        # security creates), one-hour sessions
        for key in ("permissionsBoundary", "maxSessionDuration"):
            assert preview.inputs.get(key) == deploy.inputs.get(key), (layer, key)
    assert account.exports["preview_role_arns"] == {
        layer: f"arn:aws:iam::{ACCOUNT_ID}:role/txn-{REGION}-{layer}-preview"
        for layer in contract.LAYERS
    }


def test_the_derived_preview_reads_are_deployed_for_this_account(
    previews: dict[str, list[dict[str, Any]]],
) -> None:
    derived = deploy_permissions.load_previews()
    for layer in contract.LAYERS:
        expected = json.loads(
            json.dumps(derived[layer]).replace("{account}", ACCOUNT_ID).replace("{region}", REGION)
        )
        assert [s for s in previews[layer] if "Sid" not in s] == expected, layer


def preview_reads(layer: contract.Layer, run: LayerRun, keys: dict[str, str]) -> Iterator[Request]:
    """What a preview of ``layer``'s dev stack asks of AWS: its stack and its upstream stacks
    (the references), the backend's version file, the bucket listed (a missing stack file is a
    404 only to a caller that may list), both keys' decrypt, and its program's invokes."""
    yield Request("s3:GetObject", f"{BUCKET}/.pulumi/meta.yaml")
    yield Request("s3:GetObject", f"{BUCKET}/.pulumi/stacks/{layer.project}/dev.json")
    yield Request("s3:ListBucket", BUCKET, {"s3:prefix": ".pulumi/stacks/"})
    yield Request("s3:ListBucket", BUCKET)
    for upstream in layer.upstream:
        project = contract.layer(upstream).project
        yield Request("s3:GetObject", f"{BUCKET}/.pulumi/stacks/{project}/dev.json")
    yield Request("kms:Decrypt", keys["state"])  # S3, reading the SSE-KMS state objects
    yield Request("kms:Decrypt", keys["secrets"])  # the awskms provider, the stack's data key
    grants = deploy_permissions.load_grants()
    for action in deploy_permissions.invoke_actions(run.invokes, layer.name, grants):
        yield Request(action, "*")


@pytest.fixture(scope="module")
def keys(account: LayerRun) -> dict[str, str]:
    return {
        "state": account.exports["state_key_arn"],
        "secrets": account.exports["secrets_key_arn"],
    }


@pytest.mark.parametrize("layer", list(contract.LAYERS))
def test_a_preview_role_reads_what_a_preview_of_its_layer_needs(
    layer: str,
    system: dict[str, LayerRun],
    previews: dict[str, list[dict[str, Any]]],
    keys: dict[str, str],
) -> None:
    spec = contract.layer(layer)
    missing = denied(previews[layer], preview_reads(spec, system[layer], keys))
    assert missing == [], f"{layer}'s preview role cannot: {missing[:5]}"


def test_the_networks_availability_zones_invoke_is_granted_to_its_preview(
    system: dict[str, LayerRun], previews: dict[str, list[dict[str, Any]]]
) -> None:
    # network picks its subnets' zones with aws.get_availability_zones_output at every preview
    assert "aws:index/getAvailabilityZones:getAvailabilityZones" in system["network"].invokes
    zones = Request("ec2:DescribeAvailabilityZones", "*")
    assert decide(previews["network"], zones).allowed
    assert not decide(previews["data"], zones).allowed


def every_change(system: dict[str, LayerRun]) -> Iterator[Request]:
    """Every create, update and delete of every layer's deploy (test_deploy_boundary's)."""
    for layer in contract.LAYERS:
        yield from (r for _, r in needs(layer, system[layer].resources) if changes(r.action))


def test_no_preview_role_makes_any_change_any_layers_deploy_makes(
    system: dict[str, LayerRun], previews: dict[str, list[dict[str, Any]]]
) -> None:
    requests = list(every_change(system))
    assert len(requests) > 100
    assert {layer: reached(role, iter(requests)) for layer, role in previews.items()} == {
        layer: [] for layer in contract.LAYERS
    }


def bucket_writes() -> Iterator[Request]:
    """A write or delete of every object a layer's deploy writes, of the backend's version
    file, and of any other key of the bucket."""
    for layer in contract.LAYERS.values():
        yield from state_writes(layer)
        for prefix in STATE_OWN_PREFIXES:
            key = f"{BUCKET}/.pulumi/{prefix.format(p=layer.project)}dev/x.json"
            for action in ("s3:PutObject", "s3:DeleteObject"):
                yield Request(action, key)
    for key in (".pulumi/meta.yaml", "anything"):
        yield Request("s3:PutObject", f"{BUCKET}/{key}")
        yield Request("s3:DeleteObject", f"{BUCKET}/{key}")


def test_no_preview_role_writes_or_deletes_anything_in_the_state_bucket(
    previews: dict[str, list[dict[str, Any]]],
) -> None:
    # a preview takes no lock and saves no state, history or backup (Pulumi's DIY backend)
    for layer, role in previews.items():
        assert reached(role, bucket_writes()) == [], layer


def test_no_preview_role_encrypts_with_either_key(
    previews: dict[str, list[dict[str, Any]]], keys: dict[str, str]
) -> None:
    # a new stack's data key (kms:Encrypt) and a state object written (GenerateDataKey through
    # S3) are a deploy's
    for role in previews.values():
        assert not decide(role, Request("kms:Encrypt", keys["secrets"])).allowed
        assert not decide(role, Request("kms:GenerateDataKey", keys["state"])).allowed


def test_a_preview_role_reads_no_stack_outside_its_own_and_its_upstreams(
    previews: dict[str, list[dict[str, Any]]],
) -> None:
    for name, layer in contract.LAYERS.items():
        readable = {name, *layer.upstream}
        for other in contract.LAYERS.values():
            stack = Request("s3:GetObject", f"{BUCKET}/.pulumi/stacks/{other.project}/dev.json")
            assert decide(previews[name], stack).allowed == (other.name in readable), (name, other)
        # nor a deploy's history, backups or locks, its own included
        for prefix in ("history", "backups", "locks"):
            key = f"{BUCKET}/.pulumi/{prefix}/{layer.project}/dev/x.json"
            assert not decide(previews[name], Request("s3:GetObject", key)).allowed


def test_every_action_a_preview_role_holds_only_reads(
    previews: dict[str, list[dict[str, Any]]], keys: dict[str, str]
) -> None:
    """Service Authorization Reference access levels (parliament's copy): Read or List; and
    kms:Decrypt, which the reference files under Write like every cryptographic operation, on
    the two Pulumi keys only."""
    for layer, role in previews.items():
        for statement in role:
            assert statement["Effect"] == "Allow"
            writes = [a for a in as_list(statement["Action"]) if changes(a)]
            if writes == ["kms:Decrypt"]:
                assert as_list(statement["Resource"]) in ([keys["state"]], [keys["secrets"]])
                continue
            assert writes == [], (layer, statement.get("Sid"))


def test_a_doctored_preview_role_that_writes_is_named(
    system: dict[str, LayerRun], previews: dict[str, list[dict[str, Any]]]
) -> None:
    doctored = [
        *previews["data"],
        {"Effect": "Allow", "Action": "dynamodb:UpdateTable", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{BUCKET}/.pulumi/stacks/*"},
    ]
    assert any("dynamodb:UpdateTable" in r for r in reached(doctored, every_change(system)))
    assert any("s3:PutObject" in r for r in reached(doctored, bucket_writes()))

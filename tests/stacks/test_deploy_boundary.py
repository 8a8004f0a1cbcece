"""The blast radius of one team: each layer's deploy role, evaluated like AWS would.

For every layer, the requests its deploy makes are built from what its program registers (the
same resources and ``deploy_grants.yaml`` the roles are derived from, with the real names of
the dev stack and the tags the provider puts on every resource). The role the account project
deploys for that layer must allow all of them, and the role of every other layer must allow
none of them, nor a write to another layer's state. The evaluation is the IAM census's
(``tests/iam_eval.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from tests.iam_eval import Request, decide
from tests.stacks.conftest import policy, statements
from txn_infra import deploy_permissions
from txn_infra.components.security.key_policies import KEY_USAGE_ACTIONS
from txn_infra.offline import ACCOUNT_ID, LayerRun, Resource, run_layer
from txn_spec import contract

REGION = "us-east-2"
BUCKET = f"arn:aws:s3:::txn-pulumi-state-{ACCOUNT_ID}-{REGION}"
TAG = f"aws:ResourceTag/{deploy_permissions.TAG_KEY}"
REQUEST_TAG = f"aws:RequestTag/{deploy_permissions.TAG_KEY}"
VIA = "kms:ViaService"


@pytest.fixture(scope="module")
def roles() -> dict[str, list[dict[str, Any]]]:
    """Each layer's deployed role policy, as the account project renders it for this account."""
    account = run_layer(contract.ACCOUNT, stack=REGION)
    return {
        layer: statements(policy(account.one("aws:iam/rolePolicy:RolePolicy", f"deploy-{layer}-")))
        for layer in contract.LAYERS
    }


def _fill(text: str, **names: str) -> str:
    return text.format(region=REGION, account=ACCOUNT_ID, **names)


def _context(condition: dict[str, Any] | None, via: str, boundary: str = "") -> dict[str, str]:
    """The request context a real call carries for a grant's condition (its first value);
    ``{boundary}`` is the permissions boundary of the role the call is about."""
    context: dict[str, str] = {}
    for operator, keys in (condition or {}).items():
        for key, wanted in keys.items():
            if operator == "Null":  # "true": the request lacks the key (a resource not there yet)
                if str(wanted).lower() == "false":
                    context[key] = "present"
                continue
            value = wanted[0] if isinstance(wanted, list) else wanted
            text = str(value).replace("{via}", via).replace("{boundary}", boundary)
            context[key] = _fill(text)
    return context


Need = tuple[str | None, Request]  # the layer whose resource it is (None: not known here)


def needs(layer: str, resources: Sequence[Resource]) -> Iterator[Need]:
    """Every create, update, read and delete the layer's deploy asks of AWS, with its context
    and the layer that owns the resource: the layer itself for what it names or tags, the layer
    a condition names (security's keys), unknown for another layer's resource named in an input.
    Reads on "*" (Describe*, List*) are left out: they change nothing and several layers share
    them."""
    grants = deploy_permissions.load_grants()
    bounds = {
        r.inputs["name"]: str(r.inputs.get("permissionsBoundary", ""))
        for r in resources
        if r.type == deploy_permissions.ROLE_TYPE
    }
    for resource in resources:
        if resource.type.startswith(deploy_permissions.SKIPPED):
            continue
        for grant in grants.by_type[resource.type]:
            if grant.tagged:
                generated = _fill(grant.tagged).replace("*", f"{resource.type.split(':')[-1]}/id")
                for action in grant.actions:
                    yield layer, Request(action, generated, {TAG: layer})
                for action in grant.creates:
                    made = [a for a in grant.creates if a != deploy_permissions.EC2_TAG]
                    context = {REQUEST_TAG: layer}
                    if action == deploy_permissions.EC2_TAG:
                        context["ec2:CreateAction"] = made[0]
                    yield layer, Request(action, generated, context)
                continue
            via = deploy_permissions.via_value(resource, grant.via) if grant.via else ""
            name = str(resource.inputs.get(grant.name) or resource.physical_name)
            for template in grant.arn or ("{via}",):
                arn = _fill(template, name=name, via=via)
                if arn == "*" and not grant.condition:
                    continue
                context = _context(grant.condition, via, bounds.get(name) or bounds.get(via, ""))
                owner = context.get(TAG, None if grant.via else layer)
                for action in grant.actions:
                    yield owner, Request(action, arn, context)


def state_needs(layer: contract.Layer) -> Iterator[Request]:
    own = f"{BUCKET}/.pulumi/stacks/{layer.project}/dev.json"
    yield Request("s3:PutObject", own)
    yield Request("s3:GetObject", own)
    # `pulumi stack ls` lists every project's stacks at once (no delimiter); and a HeadObject
    # of a stack file not there yet is a 404 only to a caller that may list the bucket.
    yield Request("s3:ListBucket", BUCKET, {"s3:prefix": ".pulumi/stacks/"})
    yield Request("s3:ListBucket", BUCKET)
    for upstream in layer.upstream:
        yield Request("s3:GetObject", f"{BUCKET}/.pulumi/stacks/txn-{upstream}/dev.json")


def state_writes(layer: contract.Layer) -> Iterator[Request]:
    yield Request("s3:PutObject", f"{BUCKET}/.pulumi/stacks/{layer.project}/dev.json")
    yield Request("s3:DeleteObject", f"{BUCKET}/.pulumi/locks/{layer.project}/dev/lock.json")


def changes(action: str) -> bool:
    """Not a read: IAM's access level (its Service Authorization Reference, parliament's copy)."""
    service, name = action.split(":")
    return _ACCESS_LEVELS.get((service, name.lower()), "Write") not in ("Read", "List")


def _access_levels() -> dict[tuple[str, str], str]:
    from parliament import iam_definition

    return {
        (s["prefix"], p["privilege"].lower()): p["access_level"]
        for s in iam_definition
        for p in s["privileges"]
    }


_ACCESS_LEVELS = _access_levels()


def denied(role: Sequence[dict[str, Any]], requests: Iterator[Request]) -> list[str]:
    return [
        f"{r.action} on {r.resource} {json.dumps(dict(r.context))}"
        for r in requests
        if not decide(role, r).allowed
    ]


def reached(role: Sequence[dict[str, Any]], requests: Iterator[Request]) -> list[str]:
    return sorted({f"{r.action} on {r.resource}" for r in requests if decide(role, r).allowed})


@pytest.mark.parametrize("layer", list(contract.LAYERS))
def test_a_layers_role_can_do_everything_its_own_deploy_needs(
    layer: str, system: dict[str, LayerRun], roles: dict[str, list[dict[str, Any]]]
) -> None:
    missing = denied(roles[layer], (r for _, r in needs(layer, system[layer].resources)))
    missing += denied(roles[layer], state_needs(contract.layer(layer)))
    assert missing == [], f"{layer}'s role cannot: {missing[:5]}"


def boundary_breaches(
    roles: dict[str, list[dict[str, Any]]], system: dict[str, LayerRun]
) -> dict[str, list[str]]:
    """For each role, the changes to other layers' resources (and state) it could make."""
    breaches: dict[str, list[str]] = {}
    for layer, role in roles.items():
        for other in contract.LAYERS:
            if other == layer:
                continue
            theirs = (
                r
                for owner, r in needs(other, system[other].resources)
                if owner == other and changes(r.action)
            )
            found = reached(role, theirs)
            found += reached(role, state_writes(contract.layer(other)))
            if found:
                breaches.setdefault(layer, []).extend(f"{other}: {f}" for f in found)
    return breaches


def test_no_role_reaches_another_layers_resources_or_state(
    system: dict[str, LayerRun], roles: dict[str, list[dict[str, Any]]]
) -> None:
    assert boundary_breaches(roles, system) == {}


def test_a_doctored_role_that_reaches_into_another_layer_is_named(
    system: dict[str, LayerRun], roles: dict[str, list[dict[str, Any]]]
) -> None:
    doctored = dict(roles)
    doctored["network"] = [
        *roles["network"],
        {
            "Effect": "Allow",
            "Action": "dynamodb:UpdateTable",
            "Resource": "arn:aws:dynamodb:*:*:table/*",
        },
    ]
    breaches = boundary_breaches(doctored, system)
    assert list(breaches) == ["network"]
    assert any(
        b.startswith(
            "data: dynamodb:UpdateTable on arn:aws:dynamodb:us-east-2:123456789012:table/txn-dev-"
        )
        for b in breaches["network"]
    ), breaches


def test_a_role_that_writes_another_layers_state_is_named(
    system: dict[str, LayerRun], roles: dict[str, list[dict[str, Any]]]
) -> None:
    doctored = dict(roles)
    doctored["edge"] = [
        *roles["edge"],
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{BUCKET}/.pulumi/stacks/*"},
    ]
    breaches = boundary_breaches(doctored, system)
    assert (
        "compute: s3:PutObject on " + BUCKET + "/.pulumi/stacks/txn-compute/dev.json"
        in breaches["edge"]
    )


def test_security_may_tag_a_key_it_creates_and_no_key_another_layer_owns(
    roles: dict[str, list[dict[str, Any]]],
) -> None:
    # tags sent with CreateKey are authorised as kms:TagResource on a key that has no tags yet
    key = _fill("arn:aws:kms:{region}:{account}:key/new")
    at_create = Request("kms:TagResource", key, {REQUEST_TAG: "security"})
    assert decide(roles["security"], at_create).allowed
    owned = Request("kms:TagResource", key, {REQUEST_TAG: "security", TAG: "data"})
    assert not decide(roles["security"], owned).allowed
    assert not any(
        decide(roles[layer], at_create).allowed for layer in roles if layer != "security"
    )


# "How Amazon DynamoDB uses AWS KMS": the principal that chooses a customer managed key for a
# table holds what DynamoDB needs of it
DYNAMODB_KEY_USE = ("kms:CreateGrant", *KEY_USAGE_ACTIONS)


@pytest.mark.parametrize("action", DYNAMODB_KEY_USE)
def test_data_may_use_securitys_key_through_dynamodb_only(
    action: str, roles: dict[str, list[dict[str, Any]]]
) -> None:
    key = _fill("arn:aws:kms:{region}:{account}:key/k1")
    via_dynamodb = _fill("dynamodb.{region}.amazonaws.com")
    assert decide(roles["data"], Request(action, key, {TAG: "security", VIA: via_dynamodb})).allowed
    assert not decide(roles["data"], Request(action, key, {TAG: "security"})).allowed


def test_the_roles_txn_ops_asks_for_the_checks_around_compute_may_make_them(
    roles: dict[str, list[dict[str, Any]]],
) -> None:
    # before compute deploys, the concurrency check reads as compute's role (txn_ops.quotas);
    # after it is destroyed, the ENI wait lists interfaces as network's (txn_ops.enis)
    from txn_ops import quotas

    function = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:"
    reads = [Request("lambda:GetAccountSettings", "*")]
    reads += [
        Request("lambda:GetFunctionConcurrency", function + name)
        for name in quotas.reservations("txn", "dev")
    ]
    assert len(reads) > 1
    assert denied(roles["compute"], iter(reads)) == []
    assert denied(roles["network"], iter([Request("ec2:DescribeNetworkInterfaces", "*")])) == []


def test_compute_may_attach_the_layers_its_functions_name(
    system: dict[str, LayerRun], roles: dict[str, list[dict[str, Any]]]
) -> None:
    # CreateFunction needs lambda:GetLayerVersion on each layer it attaches ("Adding layers to
    # functions"); the layers are read from the program, not from deploy_grants.yaml
    layers = {
        arn
        for fn in system["compute"].of_type("aws:lambda/function:Function")
        for arn in fn.inputs["layers"]
    }
    assert layers
    reads = [Request("lambda:GetLayerVersion", arn) for arn in sorted(layers)]
    assert denied(roles["compute"], iter(reads)) == []
    assert not decide(roles["data"], reads[0]).allowed


def test_compute_may_tag_the_event_source_mappings_it_creates_and_only_those(
    system: dict[str, LayerRun], roles: dict[str, list[dict[str, Any]]]
) -> None:
    # the provider's default tags reach the mappings: CreateEventSourceMapping is authorised
    # with lambda:TagResource too (Service Authorization Reference, Lambda)
    mappings = system["compute"].of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mappings
    mapping = _fill("arn:aws:lambda:{region}:{account}:event-source-mapping:") + "uuid-1"
    at_create = Request("lambda:TagResource", mapping, {REQUEST_TAG: "compute"})
    assert decide(roles["compute"], at_create).allowed
    assert decide(roles["compute"], Request("lambda:ListTags", mapping, {TAG: "compute"})).allowed
    assert not decide(
        roles["compute"], Request("lambda:UntagResource", mapping, {TAG: "edge"})
    ).allowed
    # a mapping another layer tagged cannot be re-tagged as compute's
    retag = Request("lambda:TagResource", mapping, {REQUEST_TAG: "compute", TAG: "edge"})
    assert not decide(roles["compute"], retag).allowed
    assert not decide(roles["edge"], at_create).allowed


@pytest.mark.parametrize("layer", ["compute", "edge", "observability"])
def test_a_layer_that_creates_log_groups_may_use_the_logs_key_through_cloudwatch_logs_only(
    layer: str, system: dict[str, LayerRun], roles: dict[str, list[dict[str, Any]]]
) -> None:
    # CloudWatch Logs uses a group's key with its caller's credentials (kms:ViaService)
    assert system[layer].of_type("aws:cloudwatch/logGroup:LogGroup")
    key = _fill("arn:aws:kms:{region}:{account}:key/logs")
    via_logs = _fill("logs.{region}.amazonaws.com")
    for action in ("kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"):
        assert decide(roles[layer], Request(action, key, {TAG: "security", VIA: via_logs})).allowed
        assert not decide(roles[layer], Request(action, key, {TAG: "security"})).allowed
    assert not decide(
        roles["data"], Request("kms:GenerateDataKey", key, {TAG: "security", VIA: via_logs})
    ).allowed

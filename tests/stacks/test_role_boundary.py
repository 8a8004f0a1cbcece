"""The permissions boundary of the roles security creates (audit-account finding 2).

Security's deploy role creates the function and flow-logs roles and writes their policies. Without
a boundary it could make one trust itself and allow ``"Action": "*"``: account admin. Now the
account project (the administrators) creates one boundary per environment; every role security
creates carries its environment's; and security's deploy role may create a role, or write or
delete its policy, only with that boundary set, and can change no boundary. What is left
(``UpdateAssumeRolePolicy`` has no condition key) is capped by the boundary: ADR 0011.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from tests.iam_eval import Request, decide
from tests.stacks.conftest import as_list, policy, statements
from txn_infra import deploy_permissions
from txn_infra.offline import ACCOUNT_ID, LayerRun, Resource, run_layer
from txn_spec import contract

REGION = "us-east-2"
ENVIRONMENTS = ("dev", "prod")
PERMISSIONS_BOUNDARY = "iam:PermissionsBoundary"
# What would remove or loosen a boundary: never granted to a deploy role (IAM User Guide,
# "Permissions boundaries for IAM entities", delegation example).
BOUNDARY_CHANGES = (
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:DeletePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
)
NOT_IN_A_BOUNDARY = ("iam:", "sts:", "organizations:")


def boundary_arn(environment: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:policy/txn-{environment}-role-boundary"


def role_arn(environment: str, component: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:role/txn-{environment}-{component}-role"


@pytest.fixture(scope="module")
def account() -> LayerRun:
    return run_layer(contract.ACCOUNT, stack=REGION)


@pytest.fixture(scope="module")
def security_role(account: LayerRun) -> list[dict[str, Any]]:
    """Security's deploy role as the account project deploys it."""
    return statements(policy(account.one("aws:iam/rolePolicy:RolePolicy", "deploy-security-")))


@pytest.fixture(scope="module")
def boundaries(account: LayerRun) -> dict[str, list[dict[str, Any]]]:
    return {
        e: statements(policy(account.one("aws:iam/policy:Policy", f"role-boundary-{e}")))
        for e in ENVIRONMENTS
    }


@pytest.fixture(scope="module")
def security_runs(
    system: dict[str, LayerRun], prod_system: dict[str, LayerRun]
) -> dict[str, LayerRun]:
    return {"dev": system["security"], "prod": prod_system["security"]}


# --- The boundary: created by the administrators, set on every platform role --------------------


def test_the_account_creates_each_environments_boundary_under_its_computed_name(
    account: LayerRun,
) -> None:
    names = {p.inputs["name"] for p in account.of_type("aws:iam/policy:Policy")}
    assert names == {f"txn-{e}-role-boundary" for e in ENVIRONMENTS}
    assert account.exports["role_boundary_arns"] == {e: boundary_arn(e) for e in ENVIRONMENTS}


def test_every_role_security_creates_carries_its_environments_boundary(
    security_runs: dict[str, LayerRun],
) -> None:
    for environment, run in security_runs.items():
        roles = run.of_type("aws:iam/role:Role")
        assert len(roles) == 4  # three functions and the VPC flow logs
        assert {r.inputs.get("permissionsBoundary") for r in roles} == {boundary_arn(environment)}


def requests_of(statement: dict[str, Any]) -> Iterator[Request]:
    """Every request a role's own statement allows, with each value its condition names."""
    keys = [
        (key, as_list(v)) for c in statement.get("Condition", {}).values() for key, v in c.items()
    ]
    for values in itertools.product(*(v for _, v in keys)):
        context = {key: str(value) for (key, _), value in zip(keys, values, strict=True)}
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                yield Request(action, str(resource), context)


def test_the_boundary_allows_every_call_the_roles_own_policies_allow(
    security_runs: dict[str, LayerRun], boundaries: dict[str, list[dict[str, Any]]]
) -> None:
    """A boundary that misses one would break a real function or the flow logs."""
    for environment, run in security_runs.items():
        policies = run.of_type("aws:iam/rolePolicy:RolePolicy")
        requests = [r for p in policies for s in statements(policy(p)) for r in requests_of(s)]
        assert len(requests) > 50
        refused = [r for r in requests if not decide(boundaries[environment], r).allowed]
        assert refused == [], environment


def test_the_boundary_allows_nothing_of_iam_sts_or_organizations_nor_a_wildcard_action(
    boundaries: dict[str, list[dict[str, Any]]],
) -> None:
    for statement in (s for found in boundaries.values() for s in found):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action
            assert not action.lower().startswith(NOT_IN_A_BOUNDARY), action


def test_a_dev_roles_boundary_reaches_no_prod_table(
    boundaries: dict[str, list[dict[str, Any]]],
) -> None:
    prod = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/txn-prod-transactions"
    assert decide(boundaries["prod"], Request("dynamodb:PutItem", prod)).allowed
    assert not decide(boundaries["dev"], Request("dynamodb:PutItem", prod)).allowed


def test_no_platform_role_may_write_the_api_access_log(
    boundaries: dict[str, list[dict[str, Any]]],
) -> None:
    # An audit log (PCI DSS 10.3.2) only API Gateway writes: a role rewritten by the residual
    # path must not forge or bury entries in it.
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/txn/prod"
    flow_logs = Request("logs:PutLogEvents", f"{logs}/vpc-flow-logs:log-stream:eni-1")
    access_log = Request("logs:PutLogEvents", f"{logs}/api-access:log-stream:s-1")
    assert decide(boundaries["prod"], flow_logs).allowed
    assert not decide(boundaries["prod"], access_log).allowed


def test_a_role_whose_policy_allows_everything_is_still_held_to_the_boundary(
    boundaries: dict[str, list[dict[str, Any]]],
) -> None:
    """The residual path: security rewrites a function role's trust (no condition key) and its
    policy (allowed, with the boundary) to ``"Action": "*"``: AWS allows only what both allow."""
    rewritten = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    admin = [
        Request("iam:PutRolePolicy", role_arn("prod", "validator")),
        Request("iam:CreateRole", f"arn:aws:iam::{ACCOUNT_ID}:role/escape"),
        Request("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT_ID}:role/txn-us-east-2-data-deploy"),
        Request("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/k1"),
        Request("s3:GetObject", f"arn:aws:s3:::txn-pulumi-state-{ACCOUNT_ID}-{REGION}/x"),
    ]
    for request in admin:
        assert decide(rewritten, request).allowed
        assert not decide(boundaries["prod"], request).allowed, request.action


# --- Security's deploy role ---------------------------------------------------------------------


@pytest.mark.parametrize("action", ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"])
def test_security_may_change_a_role_only_with_its_boundary(
    action: str, security_role: list[dict[str, Any]]
) -> None:
    for environment in ENVIRONMENTS:
        role = role_arn(environment, "validator")
        with_it = Request(action, role, {PERMISSIONS_BOUNDARY: boundary_arn(environment)})
        assert decide(security_role, with_it).allowed
        assert not decide(security_role, Request(action, role)).allowed
        other = f"arn:aws:iam::{ACCOUNT_ID}:policy/AdministratorAccess"
        for boundary in (other, "arn:aws:iam::aws:policy/AdministratorAccess"):
            request = Request(action, role, {PERMISSIONS_BOUNDARY: boundary})
            assert not decide(security_role, request).allowed


def test_security_may_change_its_roles_description(
    security_role: list[dict[str, Any]],
) -> None:
    # terraform-provider-aws updates a role's description with UpdateRoleDescription
    for action in ("iam:UpdateRoleDescription", "iam:UpdateRole"):
        assert decide(security_role, Request(action, role_arn("dev", "validator"))).allowed


def test_no_deploy_role_may_change_a_boundary(account: LayerRun) -> None:
    for layer in contract.LAYERS:
        role = statements(policy(account.one("aws:iam/rolePolicy:RolePolicy", f"deploy-{layer}-")))
        for environment, action in itertools.product(ENVIRONMENTS, BOUNDARY_CHANGES):
            context = {PERMISSIONS_BOUNDARY: boundary_arn(environment)}
            for resource in (boundary_arn(environment), role_arn(environment, "validator")):
                assert not decide(role, Request(action, resource, context)).allowed, (layer, action)


def _takes_the_boundary_key() -> set[str]:
    from parliament import iam_definition

    return {
        f"iam:{p['privilege']}".lower()
        for s in iam_definition
        if s["prefix"] == "iam"
        for p in s["privileges"]
        if any(PERMISSIONS_BOUNDARY in r["condition_keys"] for r in p["resource_types"])
    }


def test_every_granted_action_that_takes_the_boundary_key_is_conditioned_on_it() -> None:
    """Service Authorization Reference for IAM (parliament's copy): whatever such action a
    deploy role holds, it holds only for the platform's boundaries."""
    keyed = _takes_the_boundary_key()
    assert {"iam:createrole", "iam:putrolepolicy", "iam:deleterolepolicy"} <= keyed
    allowed = {f"arn:aws:iam::{{account}}:policy/txn-{e}-role-boundary" for e in ENVIRONMENTS}
    found = 0
    for layer, grants in deploy_permissions.load().items():
        for statement in grants:
            if not {a.lower() for a in as_list(statement["Action"])} & keyed:
                continue
            found += 1
            condition = statement.get("Condition", {})
            # the key is of type ARN (Service Authorization Reference): an ARN operator
            assert set(condition) == {"ArnEquals"}, layer
            assert set(as_list(condition["ArnEquals"][PERMISSIONS_BOUNDARY])) <= allowed
    assert found == 2


def test_a_role_without_a_boundary_stops_the_derivation() -> None:
    role = Resource("aws:iam/role:Role", "r", {"name": "txn-dev-validator-role"}, {}, None, "r")
    run = LayerRun(layer=contract.SECURITY, stack="dev", resources=[role])
    with pytest.raises(deploy_permissions.UnboundedRoleError, match="permissions_boundary"):
        deploy_permissions.derive({"dev": {"security": run}})

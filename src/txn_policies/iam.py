"""IAM policy documents: where they live on each resource type, and the Parliament audit.

Parliament (duo-labs) lints a policy document offline against the IAM definitions it ships:
malformed statements, unknown actions and condition keys, resources in the wrong ARN format,
privilege-escalation patterns in resource policies. A trust policy has no ``Resource`` element,
which Parliament reads as malformed, so trust statements are audited with the role's own ARN as
their resource (the resource a trust policy implicitly governs).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import parliament

from txn_policies.view import UNKNOWN, ResourceView, as_list, document, get, statements
from txn_spec.naming import ROLE_BOUNDARY_TAG

DocumentKind = Literal["identity", "trust", "resource"]

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
VPC_ENDPOINT_POLICY = "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"

IDENTITY_TYPES = frozenset({ROLE, POLICY, ROLE_POLICY, USER_POLICY, GROUP_POLICY})
RESOURCE_POLICY_TYPES = frozenset(
    {KMS_KEY, KMS_KEY_POLICY, QUEUE_POLICY, TOPIC_POLICY, VPC_ENDPOINT, VPC_ENDPOINT_POLICY}
)
DOCUMENT_TYPES = IDENTITY_TYPES | RESOURCE_POLICY_TYPES

# An identity policy may grant an action on ``Resource: "*"`` only when IAM has no resource-level
# permission for it (X-Ray trace upload, ec2:Describe*, cloudwatch:PutMetricData,
# kms:CreateKey, Cloud Control, ...): read from the Service Authorization Reference as
# parliament's database holds it, not from a list typed here. An action the database does not
# know is treated as having resource-level permissions.


@functools.cache
def _resource_types() -> dict[str, tuple[str, ...]]:
    from parliament import iam_definition

    return {
        f"{service['prefix']}:{p['privilege']}".lower(): tuple(
            r["resource_type"] for r in p["resource_types"]
        )
        for service in iam_definition
        for p in service["privileges"]
    }


def has_resource_level_permissions(action: str) -> bool:
    types = _resource_types().get(action.lower())
    return types is None or any(types)


# The one documented exception for actions that do have resource-level permissions: Lambda
# checks these with a function's execution role when it creates or updates a VPC function,
# before any interface exists, and AWS's guide (and AWSLambdaVPCAccessExecutionRole) grant them
# on "*"; narrowed, CreateFunction fails. Accepted on "*" only in the policy of a role that
# only Lambda may assume (stacks/security/README.md).
LAMBDA_ENI_MANAGEMENT_ACTIONS = frozenset(
    {
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)
_LAMBDA_ENI_LOWER = {a.lower() for a in LAMBDA_ENI_MANAGEMENT_ACTIONS}
LAMBDA_SERVICE = "lambda.amazonaws.com"

# Severities Parliament assigns (its config.yaml); these block a deployment.
BLOCKING_SEVERITIES = frozenset({"CRITICAL", "HIGH", "MEDIUM"})
# Low-severity findings that the dedicated Resource "*" policy already judges.
RESOURCE_STAR_FINDINGS = frozenset({"RESOURCE_STAR", "RESOURCE_EFFECTIVELY_STAR"})

_TRUST_SUBJECT = "arn:aws:iam::123456789012:role/trust-policy-subject"


@dataclass(frozen=True)
class Document:
    """One policy document found on a resource."""

    where: str  # e.g. "assumeRolePolicy", "inlinePolicies[0] (name)"
    kind: DocumentKind
    body: dict[str, Any]


def documents(resource: ResourceView) -> Iterator[Document]:
    """Every policy document a resource carries, with its kind."""
    props = resource.props
    if resource.type == ROLE:
        trust = document(props.get("assumeRolePolicy"), "assumeRolePolicy")
        if trust is not None:
            yield Document("assumeRolePolicy", "trust", trust)
        for index, inline in enumerate(as_list(props.get("inlinePolicies"))):
            body = document(get(inline, "policy"), f"inlinePolicies[{index}].policy")
            if body is not None:
                label = get(inline, "name", str(index))
                yield Document(f"inline policy {label!r}", "identity", body)
    elif resource.type in IDENTITY_TYPES:
        body = document(props.get("policy"))
        if body is not None:
            yield Document("policy", "identity", body)
    elif resource.type in RESOURCE_POLICY_TYPES:
        body = document(props.get("policy"))
        if body is not None:
            yield Document("policy", "resource", body)


def allowed(statement: dict[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def allows(doc: Document) -> Iterator[tuple[int, dict[str, Any]]]:
    """The Allow statements of a document, each with its index among all its statements."""
    for index, statement in enumerate(statements(doc.body)):
        if allowed(statement):
            yield index, statement


def actions(statement: dict[str, Any]) -> list[str]:
    return [str(a) for a in as_list(statement.get("Action"))]


def is_allowed_star_action(action: str, *, lambda_execution_role: bool = False) -> bool:
    """May an identity policy grant ``action`` on ``"*"``? The Lambda ENI actions only in the
    policy of a Lambda execution role."""
    if not has_resource_level_permissions(action):
        return True
    return lambda_execution_role and action.lower() in _LAMBDA_ENI_LOWER


def trusts_only_lambda(role: ResourceView) -> bool:
    """Does the role's trust policy let only the Lambda service assume it?"""
    trust = document(role.props.get("assumeRolePolicy"), "assumeRolePolicy")
    allows = [s for s in statements(trust or {}) if allowed(s)]
    principals = [get(s, "Principal") for s in allows]
    return bool(allows) and all(
        isinstance(p, Mapping)
        and set(p) == {"Service"}
        and as_list(p["Service"]) == [LAMBDA_SERVICE]
        for p in principals
    )


def role_of(role_policy: ResourceView, resources: Sequence[ResourceView]) -> ResourceView | None:
    """The role an inline ``RolePolicy`` belongs to: by its ``role`` value (name, id or ARN),
    or while that is unknown (a preview) by the dependency CrossGuard records."""
    ref = role_policy.props.get("role")
    for role in (r for r in resources if r.type == ROLE):
        if ref is UNKNOWN or ref is None:
            if role.urn in role_policy.deps.get("role", frozenset()):
                return role
        elif ref in {role.props.get(k) for k in ("name", "id", "arn")} - {None, UNKNOWN}:
            return role
    return None


def is_lambda_execution_role_policy(
    resource: ResourceView, resources: Sequence[ResourceView]
) -> bool:
    """Is ``resource`` a Lambda execution role, or the inline policy of one?"""
    if resource.type == ROLE:
        return trusts_only_lambda(resource)
    if resource.type == ROLE_POLICY:
        role = role_of(resource, resources)
        return role is not None and trusts_only_lambda(role)
    if resource.type == POLICY:
        return is_permissions_boundary(resource)
    return False  # a managed or user/group policy can be attached to anything


# A permissions boundary grants nothing: it caps the roles it is set on (IAM User Guide,
# "Permissions boundaries for IAM entities"), so the boundary of Lambda execution roles must
# allow what Lambda checks with them. The account project tags it so (role_boundary.py).
def is_permissions_boundary(resource: ResourceView) -> bool:
    tags = resource.props.get("tags")
    key, value = ROLE_BOUNDARY_TAG
    return resource.type == POLICY and isinstance(tags, Mapping) and tags.get(key) == value


@dataclass(frozen=True)
class Finding:
    issue: str
    severity: str
    detail: str


def audit(doc: Document) -> list[Finding]:
    """Parliament's findings for one document (trust statements get the role as resource)."""
    body = doc.body
    if doc.kind == "trust":
        body = dict(body)
        body["Statement"] = [
            {**s, "Resource": _TRUST_SUBJECT} if isinstance(s, dict) else s
            for s in as_list(body.get("Statement"))
        ]
    return list(_audit(json.dumps(body, sort_keys=True)))


# GitHub Actions' OIDC provider and its claims, as AWS documents them for a role's trust ("Use
# IAM roles to connect GitHub Actions to actions in AWS"): parliament's database predates them
# and reports the provider and the two condition keys as unknown.
GITHUB_OIDC = "token.actions.githubusercontent.com"


# Actions AWS added after parliament's database, each with where AWS documents it.
NEWER_ACTIONS = frozenset(
    {
        # CloudWatch Logs API Reference, PutLogGroupDeletionProtection; CloudFormation's
        # AWS::Logs::LogGroup update handler lists it among its permissions
        "logs:PutLogGroupDeletionProtection",
    }
)


def _known_to_aws(issue: str, detail: Any) -> bool:
    if issue == "UNKNOWN_ACTION":
        return str(detail).removeprefix("Unknown action ") in NEWER_ACTIONS
    return issue in ("UNKNOWN_FEDERATION_SOURCE", "UNKNOWN_CONDITION_FOR_ACTION") and (
        f"oidc-provider/{GITHUB_OIDC}" in str(detail) or f"condition {GITHUB_OIDC}:" in str(detail)
    )


@lru_cache(maxsize=512)
def _audit(text: str) -> tuple[Finding, ...]:
    analysed = parliament.analyze_policy_string(text)
    found = []
    for finding in analysed.findings:
        if _known_to_aws(finding.issue, finding.detail):
            continue
        severity = str(parliament.config.get(finding.issue, {}).get("severity", "HIGH"))
        found.append(Finding(finding.issue, severity.upper(), _short(finding.detail)))
    return tuple(found)


def _short(detail: Any, limit: int = 160) -> str:
    text = str(detail)
    return text if len(text) <= limit else text[: limit - 3] + "..."

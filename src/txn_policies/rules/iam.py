"""IAM: least privilege in identity and trust policies, Parliament's audit of every document."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from txn_policies import iam
from txn_policies.rules.model import PCI, policy
from txn_policies.view import ResourceView, as_list

_BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def _broad_managed(arn: object) -> bool:
    if not isinstance(arn, str) or ":iam::aws:policy/" not in arn:
        return False
    name = arn.rsplit("/", 1)[-1]
    return name in _BROAD_MANAGED_POLICIES or name.endswith("FullAccess")


@policy(
    name="iam-no-wildcard-actions",
    description="No identity or trust policy allows a wildcard action, NotAction or a broad "
    "AWS-managed policy.",
    requirements=(f"{PCI} 7.2.1", f"{PCI} 7.2.2", f"{PCI} 7.2.5"),
    enforcement="mandatory",
    reason="mandatory: least privilege for application accounts; a wildcard also grants every "
    "action AWS adds later.",
    remediation="list the exact actions the function calls",
    types=(*iam.IDENTITY_TYPES, iam.ROLE_POLICY_ATTACHMENT),
)
def _no_wildcard_actions(resource: ResourceView) -> Iterator[str]:
    arns = [resource.props.get("policyArn"), *as_list(resource.props.get("managedPolicyArns"))]
    for arn in arns:
        if _broad_managed(arn):
            yield f"attaches the broad AWS-managed policy {arn}; fix: a scoped inline policy"
    for doc in iam.documents(resource):
        if doc.kind == "resource":
            continue
        for _, statement in iam.allows(doc):
            if "NotAction" in statement:
                yield f"{doc.where} allows NotAction; fix: list the allowed actions"
            wild = [a for a in iam.actions(statement) if "*" in a]
            if wild:
                yield f"{doc.where} allows wildcard action(s) {wild}; fix: list exact actions"


@policy(
    name="iam-resource-star-only-allowed",
    description="Identity policies use Resource '*' only for actions IAM gives no resource-level "
    "permission (Service Authorization Reference), and a Lambda execution role (or its "
    "permissions boundary) for the ENI management Lambda checks before an interface exists.",
    requirements=(f"{PCI} 7.2.1", f"{PCI} 7.2.5"),
    enforcement="mandatory",
    reason="mandatory: every table, queue, topic and key has a name known before deploy "
    "(naming.physical_name), so there is no reason to grant it on '*'.",
    remediation="name the ARNs (naming.physical_name) or move the action to a scoped statement",
    types=iam.IDENTITY_TYPES,
    stack=True,
)
def _resource_star(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView, str]]:
    for resource in resources:
        if resource.type not in iam.IDENTITY_TYPES:
            continue
        lambda_role = iam.is_lambda_execution_role_policy(resource, resources)
        for message in _star_grants(resource, lambda_execution_role=lambda_role):
            yield resource, message


def _star_grants(resource: ResourceView, *, lambda_execution_role: bool) -> Iterator[str]:
    for doc in iam.documents(resource):
        if doc.kind != "identity":
            continue
        for _, statement in iam.allows(doc):
            if "NotResource" in statement:
                yield f"{doc.where} allows NotResource; fix: name the resources"
            if "*" not in as_list(statement.get("Resource")):
                continue
            extra = sorted(
                a
                for a in iam.actions(statement)
                if not iam.is_allowed_star_action(a, lambda_execution_role=lambda_execution_role)
            )
            if extra:
                eni = sorted(set(extra) & iam.LAMBDA_ENI_MANAGEMENT_ACTIONS)
                only_lambda = (
                    f"; {eni} only in a role that only lambda.amazonaws.com may assume"
                    if eni
                    else ""
                )
                yield (
                    f"{doc.where} grants {extra} on Resource '*'; fix: name the resource ARNs "
                    "(only actions without resource-level permissions may use "
                    f"'*'{only_lambda})"
                )


_DEPUTY_KEYS = frozenset(
    {
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:principalorgid",
        "aws:principalarn",
        "sts:externalid",
        # GitHub's OIDC token: the repository and branch or environment it was issued for
        "token.actions.githubusercontent.com:sub",
    }
)


@policy(
    name="iam-trust-policy-conditions",
    description="Every trust statement limits who may assume the role with a condition key "
    "(aws:SourceAccount / aws:SourceArn for services, sts:ExternalId or org for accounts).",
    requirements=(f"{PCI} 7.2.5", f"{PCI} 8.2.2"),
    enforcement="mandatory",
    reason="mandatory: without a source condition a service can be tricked into assuming the "
    "role for another account (confused deputy).",
    remediation="add Condition StringEquals aws:SourceAccount=<account id> (and aws:SourceArn)",
    types=(iam.ROLE,),
)
def _trust_conditions(role: ResourceView) -> Iterator[str]:
    for doc in iam.documents(role):
        if doc.kind != "trust":
            continue
        for index, statement in iam.allows(doc):
            keys = {
                key.lower()
                for operator in (statement.get("Condition") or {}).values()
                if isinstance(operator, dict)
                for key in operator
            }
            if not keys & _DEPUTY_KEYS:
                principal = statement.get("Principal")
                yield (
                    f"trust statement {index} for {principal} has no source condition; fix: "
                    "Condition StringEquals aws:SourceAccount = this account (or aws:SourceArn)"
                )


@policy(
    name="iam-parliament-audit",
    description="Parliament finds nothing of medium, high or critical severity in any policy "
    "document (identity, trust, key, queue, topic and endpoint policies).",
    requirements=(f"{PCI} 7.2.1", f"{PCI} 7.2.5"),
    enforcement="mandatory",
    reason="mandatory: malformed statements, actions on the wrong resource type and unknown "
    "condition keys silently grant nothing or more than intended.",
    remediation="correct the statement Parliament names",
    types=iam.DOCUMENT_TYPES,
)
def _parliament(resource: ResourceView) -> Iterator[str]:
    for doc in iam.documents(resource):
        for finding in iam.audit(doc):
            if finding.severity in iam.BLOCKING_SEVERITIES:
                yield (
                    f"{doc.where}: parliament {finding.severity} {finding.issue}: "
                    f"{finding.detail}; fix: correct that statement"
                )


@policy(
    name="iam-parliament-hygiene",
    description="Parliament's low-severity findings (unknown actions, old versions, ...), "
    "except Resource '*' which iam-resource-star-only-allowed judges.",
    requirements=(f"{PCI} 7.2.5",),
    enforcement="advisory",
    reason="advisory: Parliament's bundled IAM catalogue lags new AWS actions, so an unknown "
    "action may be new rather than wrong.",
    remediation="check the action, and the condition key and operator, against the service "
    "authorization reference",
    types=iam.DOCUMENT_TYPES,
)
def _parliament_low(resource: ResourceView) -> Iterator[str]:
    for doc in iam.documents(resource):
        for finding in iam.audit(doc):
            if (
                finding.severity not in iam.BLOCKING_SEVERITIES
                and finding.issue not in iam.RESOURCE_STAR_FINDINGS
            ):
                yield f"{doc.where}: parliament {finding.issue}: {finding.detail}"

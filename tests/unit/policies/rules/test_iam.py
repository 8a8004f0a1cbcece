"""IAM: no wildcards, Resource '*' only where IAM has no resource, trust conditions, Parliament."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.policies.rules.conftest import (
    ACCOUNT,
    QUEUE_ARN,
    Case,
    case_id,
    fails_with_the_fix,
    passes,
    res,
)
from txn_policies.rules.model import KMS_KEY
from txn_policies.view import UNKNOWN, ResourceView

ROLE = "aws:iam/role:Role"
IAM_POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
BOUNDARY = {"Purpose": "permissions-boundary"}  # role_boundary.BOUNDARY_TAG


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "arn:aws:dynamodb:us-east-2:123456789012:table/t", **kw):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **kw}


TRUST_OK = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
)

TRUST_OPEN = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
)

TRUST_APIGATEWAY = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
)

# What Lambda checks with an execution role before a VPC function's interface exists.
ENI_MANAGEMENT = [
    "ec2:AssignPrivateIpAddresses",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
]
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def role(*statements: dict[str, Any], trust: str = TRUST_OK, **props: Any) -> ResourceView:
    inline = [{"name": "access", "policy": doc(*statements)}] if statements else []
    return res(ROLE, "fn-role", assumeRolePolicy=trust, inlinePolicies=inline, **props)


def role_with_policy(trust: str, *statements: dict[str, Any], by_dependency: bool = False):
    """A role and its inline ``RolePolicy``, linked by the role's name, or (a preview, where the
    name is unknown) only by the dependency CrossGuard records."""
    owner = res(
        ROLE, "fn-role", assumeRolePolicy=trust, name="txn-dev-fn-role", id="txn-dev-fn-role"
    )
    if by_dependency:
        attached = res(
            ROLE_POLICY,
            "fn-role-policy",
            deps={"role": {owner.urn}},
            role=UNKNOWN,
            policy=doc(*statements),
        )
    else:
        attached = res(
            ROLE_POLICY, "fn-role-policy", role="txn-dev-fn-role", policy=doc(*statements)
        )
    return [owner, attached]


CASES = [
    Case(
        "iam-no-wildcard-actions",
        [role(allow(["dynamodb:GetItem", "dynamodb:PutItem"]))],
        [role(allow("dynamodb:*"))],
        "wildcard action",
    ),
    Case(
        "iam-no-wildcard-actions",
        [res(ATTACHMENT, policyArn="arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess")],
        [res(ATTACHMENT, policyArn="arn:aws:iam::aws:policy/AdministratorAccess")],
        "broad AWS-managed policy",
    ),
    Case(
        "iam-no-wildcard-actions",
        [res(IAM_POLICY, policy=doc({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}))],
        [res(IAM_POLICY, policy=doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))],
        "NotAction",
    ),
    Case(
        "iam-resource-star-only-allowed",
        [role(allow(["xray:PutTraceSegments", "ec2:DescribeNetworkInterfaces"], "*"))],
        [role(allow(["xray:PutTraceSegments", "dynamodb:GetItem"], "*"))],
        "['dynamodb:GetItem'] on Resource '*'",
    ),
    # CreateNetworkInterface has resource-level permissions: the subnets and group are named.
    Case(
        "iam-resource-star-only-allowed",
        [
            role(
                allow(
                    "ec2:CreateNetworkInterface",
                    [
                        f"arn:aws:ec2:us-east-2:{ACCOUNT}:network-interface/*",
                        f"arn:aws:ec2:us-east-2:{ACCOUNT}:subnet/subnet-a",
                        f"arn:aws:ec2:us-east-2:{ACCOUNT}:security-group/sg-1",
                    ],
                )
            )
        ],
        [role(allow("ec2:CreateNetworkInterface", "*"))],
        "['ec2:CreateNetworkInterface'] on Resource '*'",
    ),
    # The documented exception: Lambda checks the ENI actions with an execution role before any
    # interface exists, so a role only Lambda assumes may have them on "*" ...
    Case(
        "iam-resource-star-only-allowed",
        [role(allow(ENI_MANAGEMENT, "*"))],
        [role(allow(ENI_MANAGEMENT, "*"), trust=TRUST_APIGATEWAY)],
        "only in a role that only lambda.amazonaws.com may assume",
    ),
    # ... also through its inline RolePolicy, found by the role's name or, while that is
    # unknown in a preview, by the dependency ...
    Case(
        "iam-resource-star-only-allowed",
        [
            *role_with_policy(TRUST_OK, allow(ENI_MANAGEMENT, "*")),
            *role_with_policy(TRUST_OK, allow(ENI_MANAGEMENT, "*"), by_dependency=True),
        ],
        [*role_with_policy(TRUST_APIGATEWAY, allow(ENI_MANAGEMENT, "*"), by_dependency=True)],
        "['ec2:AssignPrivateIpAddresses', 'ec2:DeleteNetworkInterface', "
        "'ec2:UnassignPrivateIpAddresses'] on Resource '*'",
    ),
    # ... and the permissions boundary of such roles, which grants nothing itself ...
    Case(
        "iam-resource-star-only-allowed",
        [res(IAM_POLICY, policy=doc(allow(ENI_MANAGEMENT, "*")), tags=BOUNDARY)],
        [res(IAM_POLICY, policy=doc(allow(ENI_MANAGEMENT, "*")), tags={"Purpose": "other"})],
        "only in a role that only lambda.amazonaws.com may assume",
    ),
    # ... but never a policy that can be attached to anything, nor a role policy whose role is
    # not in view.
    Case(
        "iam-resource-star-only-allowed",
        [res(IAM_POLICY, policy=doc(allow("xray:PutTraceSegments", "*")))],
        [
            res(IAM_POLICY, policy=doc(allow(ENI_MANAGEMENT, "*"))),
            res(ROLE_POLICY, role="some-other-role", policy=doc(allow(ENI_MANAGEMENT, "*"))),
        ],
        "only in a role that only lambda.amazonaws.com may assume",
    ),
    Case(
        "iam-trust-policy-conditions",
        [role(trust=TRUST_OK)],
        [role(trust=TRUST_OPEN)],
        "aws:SourceAccount",
    ),
    Case(
        "iam-parliament-audit",
        [role(allow("sqs:SendMessage", QUEUE_ARN))],
        [role(allow("dynamodb:GetItem", QUEUE_ARN))],
        "RESOURCE_MISMATCH",
    ),
    Case(
        "iam-parliament-audit",
        [
            res(
                KMS_KEY,
                policy=doc(
                    allow("kms:Decrypt", "*", Principal={"AWS": "arn:aws:iam::123456789012:root"})
                ),
            )
        ],
        [
            res(
                KMS_KEY,
                policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt"}]}),
            )
        ],
        "MALFORMED",
    ),
    Case(
        "iam-parliament-hygiene",
        [role(allow("dynamodb:GetItem"))],
        [role(allow("dynamodb:GetItme"))],
        "UNKNOWN_ACTION",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)

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
from txn_policies.rules import KMS_KEY
from txn_policies.view import ResourceView

ROLE = "aws:iam/role:Role"
IAM_POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


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


def role(*statements: dict[str, Any], trust: str = TRUST_OK, **props: Any) -> ResourceView:
    inline = [{"name": "access", "policy": doc(*statements)}] if statements else []
    return res(ROLE, "fn-role", assumeRolePolicy=trust, inlinePolicies=inline, **props)


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
        [role(allow(["xray:PutTraceSegments", "ec2:CreateNetworkInterface"], "*"))],
        [role(allow(["xray:PutTraceSegments", "dynamodb:GetItem"], "*"))],
        "['dynamodb:GetItem'] on Resource '*'",
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

"""Lambda functions: VPC, tracing, a declared log group, a CMK for the environment."""

from __future__ import annotations

import pytest

from tests.unit.policies.rules.conftest import (
    KEY_ARN,
    Case,
    case_id,
    fails_with_the_fix,
    function,
    passes,
    res,
)
from txn_policies.rules.model import FUNCTION, LOG_GROUP

CASES = [
    Case(
        "lambda-in-private-subnets",
        [function()],
        [function(vpcConfig=None)],
        "outside the VPC",
    ),
    Case(
        "lambda-in-private-subnets",
        [function()],
        [function(vpcConfig={"subnetIds": ["subnet-a"], "securityGroupIds": []})],
        "no security group",
    ),
    Case(
        "lambda-xray-tracing",
        [function()],
        [function(tracingConfig={"mode": "PassThrough"})],
        "mode='Active'",
    ),
    Case(
        "lambda-has-log-group",
        [function("txn-dev-v"), res(LOG_GROUP, "lg", name="/aws/lambda/txn-dev-v")],
        [function("txn-dev-v"), res(LOG_GROUP, "lg", name="/aws/lambda/other")],
        "/aws/lambda/txn-dev-v",
    ),
    Case(
        "lambda-has-log-group",
        [function(loggingConfig={"logGroup": "/txn/dev/fns"}), res(LOG_GROUP, name="/txn/dev/fns")],
        [res(FUNCTION, "auto-named", tracingConfig={"mode": "Active"})],
        "no fixed name",
    ),
    Case(
        "lambda-env-cmk",
        [function(environment={"variables": {"T": "t"}}, kmsKeyArn=KEY_ARN)],
        [function(environment={"variables": {"T": "t"}})],
        "kms_key_arn",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)

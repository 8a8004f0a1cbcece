"""Encryption at rest with customer-managed keys, and key rotation."""

from __future__ import annotations

import pytest

from tests.unit.policies.rules.conftest import (
    KEY_ARN,
    Case,
    case_id,
    fails_with_the_fix,
    passes,
    res,
)
from txn_policies.rules.model import KMS_KEY, LOG_GROUP, QUEUE, TABLE, TOPIC
from txn_policies.view import UNKNOWN

CASES = [
    Case(
        "dynamodb-cmk-encryption",
        [res(TABLE, serverSideEncryption={"enabled": True, "kmsKeyArn": KEY_ARN})],
        [res(TABLE, serverSideEncryption={"enabled": True, "kmsKeyArn": "alias/aws/dynamodb"})],
        "AWS-managed key",
    ),
    Case(
        "dynamodb-cmk-encryption",
        [res(TABLE, serverSideEncryption={"enabled": True, "kmsKeyArn": UNKNOWN})],
        [res(TABLE)],
        "kms_key_arn",
    ),
    Case(
        "sqs-cmk-encryption",
        [res(QUEUE, kmsMasterKeyId=KEY_ARN)],
        [res(QUEUE, sqsManagedSseEnabled=True)],
        "SSE-SQS",
    ),
    Case("sns-cmk-encryption", [res(TOPIC, kmsMasterKeyId=KEY_ARN)], [res(TOPIC)], "not encrypted"),
    Case(
        "sns-cmk-encryption",
        [res(TOPIC, kmsMasterKeyId=KEY_ARN)],
        [res(TOPIC, kmsMasterKeyId="alias/aws/sns")],
        "AWS-managed",
    ),
    Case(
        "log-group-cmk-encryption",
        [res(LOG_GROUP, kmsKeyId=KEY_ARN)],
        [res(LOG_GROUP, name="/aws/lambda/x")],
        "kms_key_id",
    ),
    Case(
        "kms-key-rotation",
        [res(KMS_KEY, enableKeyRotation=True), res(KMS_KEY, keySpec="RSA_2048")],
        [res(KMS_KEY, enableKeyRotation=False)],
        "enable_key_rotation",
    ),
    Case(
        "kms-key-rotation",
        [res(KMS_KEY, enableKeyRotation=True, rotationPeriodInDays=90)],
        [res(KMS_KEY, enableKeyRotation=True, rotationPeriodInDays=730)],
        "730 days",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)

"""The account bootstrap's policy documents, as data: one function per document.

Built on the same ``Platform`` (names and ARNs of one scope) and trust policy as the layers'
documents in ``security``. Here the scope is one AWS account and region: the stack is named
after the region, and the documents cover every environment that runs there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from txn_infra.components.security import KEY_ADMIN_ACTIONS, Platform
from txn_infra.components.security.platform import Statement, concat
from txn_spec import shapes
from txn_spec.naming import (
    APIGATEWAY_EXECUTION_LOG_PREFIX,
    APIGATEWAY_WELCOME_LOG_GROUP,
    log_group,
)

# What the Pulumi CLI asks of KMS. S3 default encryption: GenerateDataKey to write a state
# object, Decrypt to read it (S3 asks on the caller's behalf). The awskms secrets provider
# encrypts the stack's data key once (Encrypt) and decrypts it on every operation (Decrypt).
STATE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
SECRETS_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt")

# What API Gateway does with its account-wide role. AWS's AmazonAPIGatewayPushToCloudWatchLogs
# grants seven logs actions on "*"; kept are the ones that create and write, dropped are
# logs:GetLogEvents and logs:FilterLogEvents, which read.
API_LOG_WRITE = ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")


def _key_admin(p: Platform) -> Statement:
    # In a key policy "Resource": "*" means "this key": it can name no other resource.
    return {
        "Sid": "KeyAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": p.root},
        "Action": list(KEY_ADMIN_ACTIONS),
        "Resource": "*",
    }


def state_key_policy(p: Platform) -> dict[str, Any]:
    """The state key: only S3, encrypting and decrypting state objects for this account's
    principals whose IAM policies allow it (the deploy roles); nobody calls it directly."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _key_admin(p),
            {
                "Sid": "StateObjectsThroughS3",
                "Effect": "Allow",
                "Principal": {"AWS": p.root},
                "Action": list(STATE_KEY_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": p.account_id,
                        "kms:ViaService": p.service("s3"),
                    }
                },
            },
        ],
    }


def secrets_key_policy(p: Platform) -> dict[str, Any]:
    """The secrets key: the Pulumi CLI of this account's principals whose IAM policies allow
    it. Every decrypt is a CloudTrail event: who read a stack's secrets, and when."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _key_admin(p),
            {
                "Sid": "PulumiSecretsThroughIamPolicies",
                "Effect": "Allow",
                "Principal": {"AWS": p.root},
                "Action": list(SECRETS_KEY_ACTIONS),
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": p.account_id}},
            },
        ],
    }


def state_bucket_policy(bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Refuse every request to the bucket or its objects that does not come over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, concat(bucket_arn, "/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def apigateway_log_groups(app: str, environments: Sequence[str]) -> dict[str, list[str]]:
    """The groups API Gateway writes for the environments of this account and region, by who
    creates them: ``edge`` creates the access-log groups (and, before the stage, each
    execution-log group); API Gateway creates an execution-log group it does not find and the
    welcome group. An execution-log group is named after the API id, unknown here: every API's
    group of the platform's stage."""
    return {
        "created by edge": [
            log_group(app, env, shapes.API_ACCESS_LOG_COMPONENT) for env in environments
        ],
        "created by API Gateway": [
            f"{APIGATEWAY_EXECUTION_LOG_PREFIX}*/{shapes.API_STAGE}",
            APIGATEWAY_WELCOME_LOG_GROUP,
        ],
    }


def apigateway_cloudwatch_statements(p: Platform, environments: Sequence[str]) -> list[Statement]:
    """API Gateway's account-wide CloudWatch role: the API log groups of ``environments`` and
    the welcome group, nothing else."""
    groups = apigateway_log_groups(p.app, environments)
    its_own = groups["created by API Gateway"]
    every = groups["created by edge"] + its_own
    return [
        {
            "Sid": "CreateTheGroupsApiGatewayNames",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup"],
            "Resource": [p.log_group_arn(g) for g in its_own],
        },
        {
            "Sid": "WriteApiLogs",
            "Effect": "Allow",
            "Action": sorted(API_LOG_WRITE),
            "Resource": [p.log_group_arn(g) for g in every],
        },
        # DescribeLogGroups has no resource-level permission: "*" is the only Resource accepted.
        {
            "Sid": "FindLogGroups",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": "*",
        },
    ]

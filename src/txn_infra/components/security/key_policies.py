"""Key policies of the data key, the logs key and the alarms key, as data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from txn_infra.components.security.platform import Platform, Statement, allow
from txn_spec import shapes

# Key administration without ``kms:*``: what an operator (and Pulumi) needs to create, read,
# tag, alias, rotate and schedule the deletion of a key. Deliberately absent: every
# cryptographic operation (admins cannot read data) and ``kms:DisableKeyRotation`` (rotation
# stays on; turning it off takes a key policy change that review will see).
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
KEY_USAGE_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
# What CloudWatch Logs does with the logs key: every usage action but DescribeKey, whose
# requests carry no encryption context for the logs key's conditions to match.
LOGS_KEY_CRYPTO = tuple(a for a in KEY_USAGE_ACTIONS if a != "kms:DescribeKey")
# Services that encrypt with the data key on a caller's behalf (kms:ViaService): the tables and
# the functions' environment variables with every usage action (DynamoDB's own minimum, "How
# Amazon DynamoDB uses AWS KMS"), ...
DATA_KEY_SERVICES = ("dynamodb", "lambda")
# ... the queues and the topic with what their producers and consumers call: GenerateDataKey
# and Decrypt (SQS "Key management", SNS "Key management"), and DescribeKey, which reads no data.
MESSAGE_KEY_SERVICES = ("sqs", "sns")
MESSAGE_KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")
# DynamoDB (tables) and Lambda (environment variables) create grants on the key for the
# resources they encrypt; nobody else may.
GRANTING_SERVICES = ("dynamodb", "lambda")


# In a key policy ``Resource: "*"`` means "this key": a key policy can name no other resource.


def key_admin(p: Platform) -> Statement:
    """The account's key administrators: every key policy of the platform starts with it."""
    return allow("KeyAdministration", KEY_ADMIN_ACTIONS, "*", principal={"AWS": p.root})


def key_policy(p: Platform, *statements: Statement) -> dict[str, Any]:
    """A key policy: the key administrators, then ``statements``."""
    return {"Version": "2012-10-17", "Statement": [key_admin(p), *statements]}


def _through(
    p: Platform,
    sid: str,
    actions: Sequence[str],
    services: Sequence[str],
    more: dict[str, Any] | None = None,
) -> Statement:
    """``actions`` on the key for this account's principals, only through ``services``."""
    via = {"kms:CallerAccount": p.account_id, "kms:ViaService": [p.service(s) for s in services]}
    condition = {"StringEquals": via, **(more or {})}
    return allow(sid, actions, "*", condition, principal={"AWS": p.root})


def data_key_policy(p: Platform) -> dict[str, Any]:
    """The data key: tables, queues, the fraud-alerts topic and Lambda environment variables.

    Only this account's principals, only through the services that encrypt with it: no AWS
    service principal (the alarm topic has its own key, ADR 0009).
    """
    return key_policy(
        p,
        _through(p, "UseThroughTablesAndLambdaInThisAccount", KEY_USAGE_ACTIONS, DATA_KEY_SERVICES),
        # No Encrypt, ReEncrypt* or GenerateDataKeyWithoutPlaintext through SQS and SNS: a
        # sender asks for a data key, a receiver decrypts it, and nothing else uses the key there.
        _through(
            p,
            "MessagesThroughQueuesAndTopicsInThisAccount",
            MESSAGE_KEY_ACTIONS,
            MESSAGE_KEY_SERVICES,
        ),
        _through(
            p,
            "GrantsForAwsResourcesOnly",
            ["kms:CreateGrant"],
            GRANTING_SERVICES,
            {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    )


def alarms_key_policy(p: Platform) -> dict[str, Any]:
    """The alarm topic's key: this environment's alarms and EventBridge, only for that topic
    (ADR 0009).

    A CloudWatch alarm publishing to an SSE-KMS topic calls KMS itself, as the service principal
    ``cloudwatch.amazonaws.com`` on the alarm's behalf, for ``kms:GenerateDataKey`` and
    ``kms:Decrypt`` (SNS, "Enable compatibility between event sources from AWS services and
    encrypted topics"). A service principal acting for a resource carries ``aws:SourceArn`` and
    ``aws:SourceAccount``; SNS puts the topic ARN in the encryption context
    (``kms:EncryptionContext:aws:sns:topicArn``), which AWS's SNS guide pairs with
    ``aws:SourceArn`` in its key policy for service publishers. So another account's alarm, an
    alarm of another environment and any other ciphertext are all refused.

    EventBridge publishes to the topic too (observability's control-change rule), and calls KMS
    as ``events.amazonaws.com`` (the SNS guide's table of event sources). For it the SNS guide
    says: "Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a AWS KMS policy
    is not supported for EventBridge-to-encrypted topics". So its statement cannot name this
    environment's rule; it is held to the alarm topic's ciphertexts by the encryption context
    alone, and which rules may publish to that topic is the topic policy's and IAM's to say
    (ADR 0009, amendment of 2026-12-07).

    Its own key, not the data key: the path that says "the platform is failing" must not share
    a failure domain with the platform (a disabled or pending-deletion data key would stop
    tables and queues and silence the alarm about it), and the key that protects cardholder data
    keeps no service principal at all. Nobody else needs it: publishers are alarms and the
    control-change rule only, and email delivery needs no key permission of the subscriber.
    """
    # Exactly what SNS asks KMS for on a publish; AWS's samples write GenerateDataKey*, which
    # adds the pair and no-plaintext variants SNS never uses.
    publish = ["kms:Decrypt", "kms:GenerateDataKey"]
    alarm_topic = p.topic_arn(shapes.ALARMS_TOPIC)
    return key_policy(
        p,
        allow(
            "ThisEnvironmentsAlarmsPublishToTheAlarmTopic",
            publish,
            "*",
            {
                "StringEquals": {
                    "aws:SourceAccount": p.account_id,
                    "kms:EncryptionContext:aws:sns:topicArn": alarm_topic,
                },
                "ArnLike": {"aws:SourceArn": p.alarm_arn_pattern},
            },
            principal={"Service": "cloudwatch.amazonaws.com"},
        ),
        allow(
            "EventBridgeRulesPublishToTheAlarmTopic",
            publish,
            "*",
            # No aws:SourceAccount or aws:SourceArn: not supported for EventBridge (above), and a
            # condition the request lacks refuses every delivery.
            {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": alarm_topic}},
            principal={"Service": "events.amazonaws.com"},
        ),
    )


def logs_key_policy(p: Platform) -> dict[str, Any]:
    """The logs key: every log group of this environment and, of the execution logs API Gateway
    names after an API id not known here, any API's group of the platform's stage.

    CloudWatch Logs encrypts and decrypts log events itself, as ``logs.<region>.amazonaws.com``,
    with the log group's ARN as encryption context; the ``StringLike`` condition on that context
    limits the key to this environment's groups, and the account id inside the ARNs keeps
    another account's groups out (no confused deputy).

    CloudWatch Logs also calls KMS with the credentials of whoever calls it (``kms:ViaService``):
    AWS's guide ("Encrypt log data in CloudWatch Logs using AWS Key Management Service") asks for
    the key to be usable by "your roles which call CloudWatch Logs", and the managed policy
    ``CloudWatchLogsAPIKeyAccess`` gives a ``PutLogEvents`` caller ``kms:GenerateDataKey`` and
    ``kms:Decrypt`` through ``logs``. So the account's principals may use the key, but only
    through CloudWatch Logs and only for this environment's groups; which of them may is up to
    their IAM policies: the function and flow-log roles (security's ``iam_documents``), API
    Gateway's logging role (the account project), the deploy roles that create the groups
    (``deploy_grants.yaml``), and whoever reads the logs (``stacks/security/README.md``).

    WAF writes to a CloudWatch Logs group through ``delivery.logs.amazonaws.com``, which only
    calls ``logs:PutLogEvents`` under the group's resource policy; CloudWatch Logs then encrypts.
    AWS documents a key grant to ``delivery.logs`` only for S3 (SSE-KMS) and Firehose
    destinations, so it gets none here.
    """
    return key_policy(
        p,
        allow(
            "CloudWatchLogsForThisEnvironmentsGroups",
            # No kms:DescribeKey: its requests carry no encryption context, so the
            # condition below could never let it through (AWS's sample lists it anyway).
            LOGS_KEY_CRYPTO,
            "*",
            # StringLike, not ArnLike: the context key is typed String in IAM, and the
            # wildcard match on the group ARN is the same.
            {"StringLike": {"kms:EncryptionContext:aws:logs:arn": p.log_group_patterns()}},
            principal={"Service": p.service("logs")},
        ),
        allow(
            "CallersOfCloudWatchLogsForThisEnvironmentsGroups",
            LOGS_KEY_CRYPTO,  # and DescribeKey, which the root has
            "*",
            {
                "StringEquals": {
                    "kms:CallerAccount": p.account_id,
                    "kms:ViaService": p.service("logs"),
                },
                "StringLike": {"kms:EncryptionContext:aws:logs:arn": p.log_group_patterns()},
            },
            principal={"AWS": p.root},
        ),
    )

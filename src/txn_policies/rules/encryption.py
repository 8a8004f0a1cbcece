"""Encryption at rest with customer-managed keys: tables, queues, topics, log groups, rotation."""

from __future__ import annotations

from collections.abc import Iterator

from txn_policies.rules.model import (
    KMS_KEY,
    LOG_GROUP,
    PCI,
    QUEUE,
    TABLE,
    TOPIC,
    policy,
)
from txn_policies.view import ResourceView, get, whole

MAX_KEY_ROTATION_DAYS = 365


def _aws_managed_key(value: object) -> bool:
    return isinstance(value, str) and "alias/aws/" in value


MANDATORY_CMK = (
    "mandatory: cardholder-data stores and their logs must be readable only through keys this "
    "team controls, rotates and can revoke; AWS-owned or AWS-managed keys cannot be scoped."
)


@policy(
    name="dynamodb-cmk-encryption",
    description="Every DynamoDB table is encrypted with a customer-managed KMS key.",
    requirements=(f"{PCI} 3.5.1", f"{PCI} 3.6.1"),
    enforcement="mandatory",
    reason=MANDATORY_CMK,
    remediation="set server_side_encryption={'enabled': True, 'kms_key_arn': <data key ARN>}",
    types=(TABLE,),
)
def _table_cmk(table: ResourceView) -> Iterator[str]:
    sse = get(table.props, "serverSideEncryption", {})
    key = get(sse, "kmsKeyArn")
    if get(sse, "enabled") is not True or key is None:
        yield (
            "is not encrypted with a customer-managed key (AWS-owned key by default); "
            "fix: server_side_encryption enabled with kms_key_arn of the security layer's data key"
        )
    elif _aws_managed_key(key):
        yield f"uses the AWS-managed key {key}; fix: use the security layer's data key"


@policy(
    name="sqs-cmk-encryption",
    description="Every SQS queue is encrypted with a customer-managed KMS key (not SSE-SQS).",
    requirements=(f"{PCI} 3.5.1", f"{PCI} 3.6.1"),
    enforcement="mandatory",
    reason=MANDATORY_CMK,
    remediation="set kms_master_key_id=<data key ARN> on the queue",
    types=(QUEUE,),
)
def _queue_cmk(queue: ResourceView) -> Iterator[str]:
    key = get(queue.props, "kmsMasterKeyId")
    if key is None:
        managed = get(queue.props, "sqsManagedSseEnabled")
        how = "SSE-SQS (AWS-owned key)" if managed else "no key"
        yield f"is encrypted with {how}; fix: kms_master_key_id = the data key's ARN"
    elif _aws_managed_key(key):
        yield f"uses the AWS-managed key {key}; fix: kms_master_key_id = the data key's ARN"


@policy(
    name="sns-cmk-encryption",
    description="Every SNS topic is encrypted with a customer-managed KMS key.",
    requirements=(f"{PCI} 3.5.1", f"{PCI} 3.6.1"),
    enforcement="mandatory",
    reason=MANDATORY_CMK,
    remediation="set kms_master_key_id=<data key ARN> on the topic",
    types=(TOPIC,),
)
def _topic_cmk(topic: ResourceView) -> Iterator[str]:
    key = get(topic.props, "kmsMasterKeyId")
    if key is None:
        yield "is not encrypted; fix: kms_master_key_id = the data key's ARN"
    elif _aws_managed_key(key):
        yield f"uses the AWS-managed key {key}; fix: kms_master_key_id = the data key's ARN"


@policy(
    name="log-group-cmk-encryption",
    description="Every CloudWatch log group is encrypted with a customer-managed KMS key.",
    requirements=(f"{PCI} 3.5.1", f"{PCI} 10.3.2"),
    enforcement="mandatory",
    reason=MANDATORY_CMK,
    remediation="set kms_key_id=<logs key ARN> on the log group",
    types=(LOG_GROUP,),
)
def _log_group_cmk(group: ResourceView) -> Iterator[str]:
    if get(group.props, "kmsKeyId") is None:
        yield "is not encrypted with a customer-managed key; fix: kms_key_id = the logs key's ARN"


@policy(
    name="kms-key-rotation",
    description="Every symmetric customer-managed key rotates automatically, at least yearly.",
    requirements=(f"{PCI} 3.6.1", f"{PCI} 3.7.4"),
    enforcement="mandatory",
    reason="mandatory: 3.7.4 requires key changes at the end of a defined cryptoperiod; "
    "automatic rotation is the only control that cannot be forgotten.",
    remediation="set enable_key_rotation=True (rotation_period_in_days <= 365)",
    types=(KMS_KEY,),
)
def _key_rotation(key: ResourceView) -> Iterator[str]:
    spec = get(key.props, "customerMasterKeySpec") or get(key.props, "keySpec")
    if spec not in (None, "SYMMETRIC_DEFAULT"):
        return  # AWS rotates only symmetric encryption keys
    if get(key.props, "enableKeyRotation") is not True:
        yield "does not rotate; fix: enable_key_rotation=True"
    period = get(key.props, "rotationPeriodInDays")
    if (whole(period) or 0) > MAX_KEY_ROTATION_DAYS:
        yield f"rotates every {period} days; fix: rotation_period_in_days <= 365"

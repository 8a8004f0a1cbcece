"""Where transactions live and travel: DynamoDB tables, SQS queues and the fraud-alerts topic.

Everything is built from the shapes in :mod:`txn_spec.shapes` (the local runtime builds the
same resources from the same shapes) and encrypted with the data key from ``security``. Tables
are on-demand with point-in-time recovery; queues and the topic refuse requests without TLS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from txn_infra.components.resource_policies import deny_insecure_transport, tls_only_topic_policy
from txn_spec import shapes

# SQS may reuse a data key for up to a day before asking KMS again: at 1,000+ messages a second
# that is a few KMS calls per queue and day (AWS's estimate: per producing and per consuming
# principal, and more as SQS is distributed) instead of that every five minutes (the default).
KMS_DATA_KEY_REUSE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class TableArgs:
    shape: shapes.TableShape
    name: str
    key_arn: pulumi.Input[str]
    deletion_protection: bool
    # Write units a second the table takes at once; None: on-demand initial.
    warm_write_units: int | None = None


class Table(pulumi.ComponentResource):
    """A DynamoDB table of a shape: on-demand, PITR on, CMK-encrypted, no stream."""

    def __init__(self, name: str, args: TableArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:data:Table", name, None, opts)
        shape = args.shape
        warm = args.warm_write_units
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=args.name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=shape.hash_key,
            range_key=shape.range_key,
            attributes=[
                aws.dynamodb.TableAttributeArgs(name=attr, type=kind)
                for attr, kind in sorted(shape.attributes.items())
            ],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=index.name,
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                            attribute_name=attr, key_type=key_type
                        )
                        for attr, key_type in ((index.hash_key, "HASH"), (index.range_key, "RANGE"))
                        if attr is not None
                    ],
                    projection_type=index.projection,
                    non_key_attributes=list(index.non_key_attributes) or None,
                    # No warm throughput: the one index takes about 2% of its table's writes
                    # (docs/capacity.md), far below the on-demand initial. DynamoDB raises an
                    # index's warm throughput with traffic, and the provider rebuilds an index
                    # whose configured level reads as a decrease (its updateDiffGSI); an ignore
                    # path into the set of indexes would not stop it (a wildcard is not applied
                    # by the bridge, pulumi-terraform-bridge#3177).
                )
                for index in shape.indexes
            ]
            or None,
            ttl=(
                aws.dynamodb.TableTtlArgs(attribute_name=shape.ttl_attribute, enabled=True)
                if shape.ttl_attribute
                else None
            ),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                enabled=True, kms_key_arn=args.key_arn
            ),
            # Pre-warming is charged once; the table keeps the level without further cost.
            warm_throughput=(
                aws.dynamodb.TableWarmThroughputArgs(write_units_per_second=warm) if warm else None
            ),
            deletion_protection_enabled=args.deletion_protection,
            stream_enabled=False,
            # DynamoDB raises a table's warm throughput by itself as traffic grows, and it cannot
            # be lowered: after a refresh, the configured level would read as a decrease, which
            # the provider answers with a new table (ForceNewIfChange on a lower value). Set at
            # creation; raise it later by hand. Ignored only where it is set:
            # CLIs before 3.190 fail on an ignore path the old inputs lack (pulumi/pulumi#20278).
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["warmThroughput"] if warm else None
            ),
        )
        self.register_outputs({"name": self.table.name, "arn": self.table.arn})


@dataclass(frozen=True)
class QueuesArgs:
    queues: Sequence[shapes.QueueShape]
    name_of: Callable[[str], str]  # component -> physical name
    key_arn: pulumi.Input[str]


class Queues(pulumi.ComponentResource):
    """Queues of the given shapes, each wired to its dead-letter queue.

    A dead-letter queue is created before its source; the source's redrive policy names it,
    and the DLQ's redrive-allow policy names the source in a separate resource once both
    exist (the two policies would otherwise make a cycle).
    """

    def __init__(self, name: str, args: QueuesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:data:Queues", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.queues: dict[str, aws.sqs.Queue] = {}
        for shape in _dead_letters_first(args.queues):
            dlq = self.queues[shape.dead_letter.component] if shape.dead_letter else None
            queue = aws.sqs.Queue(
                f"{name}-{shape.component}",
                name=args.name_of(shape.component),
                visibility_timeout_seconds=shape.visibility_timeout_seconds,
                message_retention_seconds=shape.message_retention_seconds,
                receive_wait_time_seconds=shape.receive_wait_time_seconds,
                kms_master_key_id=args.key_arn,
                kms_data_key_reuse_period_seconds=KMS_DATA_KEY_REUSE_SECONDS,
                redrive_policy=(
                    pulumi.Output.json_dumps(
                        {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": shape.max_receive_count}
                    )
                    if dlq is not None
                    else None
                ),
                opts=child,
            )
            aws.sqs.QueuePolicy(
                f"{name}-{shape.component}-policy",
                queue_url=queue.url,
                policy=pulumi.Output.json_dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [deny_insecure_transport("sqs:*", queue.arn)],
                    }
                ),
                opts=child,
            )
            self.queues[shape.component] = queue
        for shape in args.queues:
            if shape.dead_letter is not None:
                # Only its source may use a DLQ as its dead-letter queue.
                aws.sqs.RedriveAllowPolicy(
                    f"{name}-{shape.dead_letter.component}-redrive-allow",
                    queue_url=self.queues[shape.dead_letter.component].url,
                    redrive_allow_policy=pulumi.Output.json_dumps(
                        {
                            "redrivePermission": "byQueue",
                            "sourceQueueArns": [self.queues[shape.component].arn],
                        }
                    ),
                    opts=child,
                )
        self.register_outputs({c: q.arn for c, q in self.queues.items()})


def _dead_letters_first(queues: Sequence[shapes.QueueShape]) -> list[shapes.QueueShape]:
    ordered: list[shapes.QueueShape] = []

    def visit(shape: shapes.QueueShape) -> None:
        if shape.dead_letter is not None:
            if shape.dead_letter not in queues:
                raise ValueError(
                    f"{shape.component}: its DLQ {shape.dead_letter.component} is missing"
                )
            visit(shape.dead_letter)
        if shape not in ordered:
            ordered.append(shape)

    for shape in queues:
        visit(shape)
    return ordered


@dataclass(frozen=True)
class TopicArgs:
    name: str
    key_arn: pulumi.Input[str]
    account_id: pulumi.Input[str]


class Topic(pulumi.ComponentResource):
    """An SNS topic encrypted with the CMK that only this account may publish to, over TLS."""

    def __init__(self, name: str, args: TopicArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:data:Topic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{name}-topic", name=args.name, kms_master_key_id=args.key_arn, opts=child
        )
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=self.topic.arn,
            policy=tls_only_topic_policy(
                self.topic.arn,
                {
                    # Delegates to this account's IAM policies (the fraud detector's and
                    # failed-transactions' roles); no other account may publish.
                    "Sid": "PublishFromThisAccountOnly",
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": pulumi.Output.concat("arn:aws:iam::", args.account_id, ":root")
                    },
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                },
            ),
            opts=child,
        )
        self.register_outputs({"arn": self.topic.arn})

"""Trust policies and the inline policy of every role, as data: one function per document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from txn_infra.components.security.platform import (
    PARTITION,
    NetworkIds,
    Platform,
    Statement,
    allow,
    concat,
)
from txn_spec import shapes
from txn_spec.naming import function_log_group, log_group

# SQS actions a Lambda event source mapping performs with the function's role (as
# AWSLambdaSQSQueueExecutionRole grants; tests/census.py holds the roles to what is used).
SQS_CONSUME = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
LOG_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")
FLOW_LOGS_WRITE = (
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
)
# What CloudWatch Logs asks KMS for with a writer's credentials when the group has a key
# (kms:ViaService; AWS's managed policy CloudWatchLogsAPIKeyAccess grants a writer the same).
LOGS_KEY_USE = ("kms:Decrypt", "kms:GenerateDataKey")
XRAY_WRITE = (
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)
# What Lambda does with a function's role to the function's network interfaces once they exist
# (AWSLambdaVPCAccessExecutionRole grants them on "*"; see _function_baseline).
LAMBDA_ENI_MANAGEMENT = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)


def trust_policy(
    service: str, p: Platform, source_arn: pulumi.Input[str] | None = None
) -> dict[str, Any]:
    """Only ``service`` may assume the role, and only on behalf of this account."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": p.account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    statement = allow(None, "sts:AssumeRole", condition=condition, principal={"Service": service})
    return {"Version": "2012-10-17", "Statement": [statement]}


def _ec2_arns(p: Platform, kind: str, ids: pulumi.Input[Sequence[str]]) -> pulumi.Input[Any]:
    """ARNs of EC2 resources whose ids come as a list (another stack's output)."""
    if isinstance(ids, (list, tuple)):
        return [p.arn("ec2", concat(kind, i)) for i in ids]
    return pulumi.Output.all(p.account_id, ids).apply(
        lambda v: [f"arn:{PARTITION}:ec2:{p.region}:{v[0]}:{kind}{i}" for i in v[1]]
    )


def _flatten(*parts: Any) -> pulumi.Input[Any]:
    """One list of ARNs from single ARNs and lists of them, some known only at deploy time."""

    def join(values: Sequence[Any]) -> list[str]:
        return [a for v in values for a in (v if isinstance(v, list) else [v])]

    if all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(a, str) for a in v))
        for v in parts
    ):
        return join(parts)
    return pulumi.Output.all(*parts).apply(join)


@dataclass(frozen=True)
class FunctionKeys:
    """The keys a function's role uses through AWS services: the data key (tables, queues,
    topics, environment) and the logs key (its log group)."""

    data_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]


def logs_key_for_groups(
    p: Platform, logs_key_arn: pulumi.Input[str], groups: Sequence[str]
) -> list[Statement]:
    """A logs key, used by CloudWatch Logs on a writer's behalf for the writer's ``groups``
    (names, ``*`` allowed: API Gateway names its execution groups after an API id).

    CloudWatch Logs calls KMS with the caller's credentials (AWS's CloudWatch Logs guide, "Encrypt
    log data ...": add ``kms:ViaService`` "to your roles which call CloudWatch Logs"), with the
    group's ARN as encryption context; ``DescribeKey`` carries no context.
    """
    via = {"kms:ViaService": p.service("logs")}
    context = [p.arn("logs", f"log-group:{group}") for group in groups]
    return [
        allow(
            "LogsKeyForItsGroupsThroughCloudWatchLogs",
            LOGS_KEY_USE,
            logs_key_arn,
            {"StringEquals": via, "StringLike": {"kms:EncryptionContext:aws:logs:arn": context}},
        ),
        allow(
            "DescribeLogsKeyThroughCloudWatchLogs",
            ["kms:DescribeKey"],
            logs_key_arn,
            {"StringEquals": via},
        ),
    ]


def _via_endpoint(net: NetworkIds, service: str) -> dict[str, Any]:
    return {"StringEquals": {"aws:SourceVpce": net.endpoint_ids[service]}}


def _function_baseline(
    fn: shapes.FunctionShape,
    p: Platform,
    net: NetworkIds,
    keys: FunctionKeys,
    key_services: Sequence[str],
) -> list[Statement]:
    """What every function needs: its logs, traces, ENIs and the data key through its services."""
    group = function_log_group(p.name(fn.component))
    return [
        # Only its own group, which compute creates (with retention and KMS) before the
        # function exists: no logs:CreateLogGroup.
        allow("WriteOwnLogs", LOG_WRITE, p.log_group_arn(group)),
        *logs_key_for_groups(p, keys.logs_key_arn, [group]),
        # X-Ray has no resource-level permissions: "*" is the only Resource AWS accepts.
        allow("WriteTraces", XRAY_WRITE, "*"),
        # Lambda creates the function's ENIs with its role. A new ENI has no id yet, so
        # network-interface/* in this account and region; the subnets and the security group
        # it may be created in are named exactly.
        allow(
            "CreateEnisInItsSubnetsAndGroup",
            ["ec2:CreateNetworkInterface"],
            _flatten(
                p.arn("ec2", "network-interface/*"),
                _ec2_arns(p, "subnet/", net.private_subnet_ids),
                p.arn("ec2", concat("security-group/", net.function_security_group_id)),
            ),
        ),
        # Lambda checks these with the role when it creates or updates a VPC function, before
        # any interface exists, so neither an interface ARN nor ec2:Vpc has anything to match:
        # AWS's guide warns that without a resource id for DeleteNetworkInterface "your function
        # may not be able to access the VPC", and CreateFunction fails with them narrowed to
        # network-interface/* (terraform-provider-aws#20698). Granted as
        # AWSLambdaVPCAccessExecutionRole does, on "*"; the function's own code cannot reach
        # the EC2 API (no NAT, no EC2 endpoint). stacks/security/README.md has the reasoning.
        allow("ManageEnisAsLambdaChecksThem", LAMBDA_ENI_MANAGEMENT, "*"),
        # Describe* calls have no resource-level permissions: "*" is the only Resource AWS
        # accepts. DescribeSubnets joined AWSLambdaVPCAccessExecutionRole in January 2024.
        allow("DescribeEnis", ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], "*"),
        allow(
            "DataKeyThroughItsServices",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            keys.data_key_arn,
            {"StringEquals": {"kms:ViaService": [p.service(s) for s in key_services]}},
        ),
    ]


def function_statements(
    p: Platform, net: NetworkIds, keys: FunctionKeys
) -> dict[str, list[Statement]]:
    """Each function's permissions, keyed by its component name (``validator``, ...).

    No ``cloudwatch:PutMetricData``: Powertools Metrics writes EMF to the function's logs.
    """
    s = shapes
    transactions, merchants = p.table_arn(s.TRANSACTIONS_TABLE), p.table_arn(s.MERCHANTS_TABLE)
    idempotency, velocity = p.table_arn(s.IDEMPOTENCY_TABLE), p.table_arn(s.VELOCITY_TABLE)
    queue, dlq = p.queue_arn(s.TRANSACTIONS_QUEUE), p.queue_arn(s.TRANSACTIONS_DLQ)
    dynamodb = _via_endpoint(net, "dynamodb")
    publish_alerts = allow(
        "PublishFraudAlerts",
        ["sns:Publish"],
        p.topic_arn(s.FRAUD_ALERTS_TOPIC),
        _via_endpoint(net, "sns"),
    )
    return {
        s.VALIDATOR.component: [
            *_function_baseline(s.VALIDATOR, p, net, keys, ("dynamodb", "sqs", "lambda")),
            allow("ReadMerchants", ["dynamodb:GetItem"], merchants, dynamodb),
            # A conditional PutItem; GetItem when a failed condition returns no stored record.
            allow(
                "IdempotencyRecords",
                ["dynamodb:GetItem", "dynamodb:PutItem"],
                idempotency,
                dynamodb,
            ),
            allow("Enqueue", ["sqs:SendMessage"], queue, _via_endpoint(net, "sqs")),
        ],
        s.FRAUD_DETECTOR.component: [
            *_function_baseline(
                s.FRAUD_DETECTOR, p, net, keys, ("dynamodb", "sqs", "sns", "lambda")
            ),
            # The event source mapping polls with this role from the Lambda service, outside
            # the VPC: an aws:SourceVpce condition here would stop delivery.
            allow("ConsumeTransactionsQueue", SQS_CONSUME, queue),
            # The pipeline reads merchants with BatchGetItem, a single miss too.
            allow("ReadMerchants", ["dynamodb:BatchGetItem"], merchants, dynamodb),
            # ADR 0003: one BatchGetItem probes the records; BatchExecuteStatement is authorised
            # per statement (PartiQL INSERT for records, INSERT/UPDATE for counters).
            allow(
                "RecordTransactions",
                ["dynamodb:BatchGetItem", "dynamodb:PartiQLInsert"],
                transactions,
                dynamodb,
            ),
            # A fraud report names its transaction by id only: one Query on the partition key
            # finds the record (its card, merchant and terminal), ADR 0013.
            allow("ReadReportedTransactions", ["dynamodb:Query"], transactions, dynamodb),
            allow(
                "VelocityCounters",
                ["dynamodb:BatchGetItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"],
                velocity,
                dynamodb,
            ),
            publish_alerts,
        ],
        s.FAILED_TRANSACTIONS.component: [
            *_function_baseline(
                s.FAILED_TRANSACTIONS, p, net, keys, ("dynamodb", "sqs", "sns", "lambda")
            ),
            # Polled by the Lambda service, like the main queue: no aws:SourceVpce.
            allow("ConsumeDeadLetterQueue", SQS_CONSUME, dlq),
            # A conditional PutItem that returns the stored record when there is one.
            allow("RecordFailures", ["dynamodb:PutItem"], transactions, dynamodb),
            # The alert of a FLAGGED transaction dead-lettered by an SNS outage.
            publish_alerts,
        ],
    }


def flow_logs_statements(p: Platform, logs_key_arn: pulumi.Input[str]) -> list[Statement]:
    """VPC flow logs deliver to the one group observability creates.

    The VPC guide ("IAM role for publishing flow logs to CloudWatch Logs") says the role's
    policy "must include at least" CreateLogGroup, CreateLogStream, PutLogEvents,
    DescribeLogGroups and DescribeLogStreams. All but CreateLogGroup, on that group where IAM
    can name it: with it, records still in flight when observability's destroy deletes the
    group make the service create it again, with no key and no retention, and the next deploy
    of observability fails on a group that exists (terraform-aws-modules/terraform-aws-vpc#435;
    that module dropped the action in its PR 550, as rackspace's base network did, and flow logs
    deliver without it since the group exists before the flow log).
    """
    group = log_group(p.app, p.environment, "vpc-flow-logs")
    return [
        allow("WriteFlowLogs", FLOW_LOGS_WRITE, p.log_group_arn(group)),
        # DescribeLogGroups has no resource-level permission: "*" is the only Resource accepted.
        allow("FindLogGroups", ["logs:DescribeLogGroups"], "*"),
        *logs_key_for_groups(p, logs_key_arn, [group]),
    ]

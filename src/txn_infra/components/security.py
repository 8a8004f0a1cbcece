"""Keys and roles: the two customer-managed KMS keys and the IAM role of every function and
AWS service that acts for the platform.

Every policy document is data: the ``*_statements`` / ``*_key_policy`` functions below return
plain dicts (with ``pulumi.Input`` values where an id is only known at deploy time), one function
per document, so a reviewer reads a role's whole permission set in one place and tests or an
IAM linter can check it. Passing plain strings gives plain JSON-ready dicts.

ARNs of resources that ``data`` and ``compute`` create later are built here from the one naming
function and the resource shapes, so ``security`` deploys before them and never reads them.

Rules kept throughout:

- no wildcard action in an Allow; ``Resource: "*"`` in an identity policy only where the action
  has no resource-level permission, each case commented;
- trust policies name one service principal and pin ``aws:SourceAccount``;
- calls made from inside the VPC carry ``aws:SourceVpce`` (the endpoint the call must use);
  calls that the Lambda service makes with the role (the SQS event source mapping) do not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from txn_infra import shapes
from txn_infra.naming import (
    WAF_LOG_GROUP_PREFIX,
    function_log_group,
    log_group,
    log_group_prefix,
    physical_name,
)

Statement = dict[str, Any]
PARTITION = "aws"

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
# Services that encrypt with the data key on a caller's behalf (kms:ViaService).
DATA_KEY_SERVICES = ("dynamodb", "sqs", "sns", "lambda")
# DynamoDB (tables) and Lambda (environment variables) create grants on the key for the
# resources they encrypt; nobody else may.
GRANTING_SERVICES = ("dynamodb", "lambda")

# SQS actions a Lambda event source mapping performs with the function's role.
SQS_CONSUME = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
)
LOG_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")
XRAY_WRITE = (
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)


# API Gateway names its execution log groups itself, after the API id and the stage.
APIGATEWAY_EXECUTION_LOGS = "API-Gateway-Execution-Logs_*"


def _concat(*parts: pulumi.Input[str]) -> pulumi.Input[str]:
    """Join parts into a string, or an Output when any part is only known at deploy time."""
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)  # type: ignore[arg-type]
    return pulumi.Output.concat(*parts)


@dataclass(frozen=True)
class Platform:
    """Where the platform lives: enough to name every resource and ARN of one environment."""

    app: str
    environment: str
    region: str
    account_id: pulumi.Input[str]

    @property
    def prefix(self) -> str:
        return f"{self.app}-{self.environment}"

    def name(self, component: str) -> str:
        return physical_name(self.app, self.environment, component)

    def arn(
        self, service: str, resource: pulumi.Input[str], *, regional: bool = True
    ) -> pulumi.Input[str]:
        region = self.region if regional else ""
        return _concat(f"arn:{PARTITION}:{service}:{region}:", self.account_id, ":", resource)

    def service(self, name: str) -> str:
        """The regional endpoint name of a service, as ``kms:ViaService`` sees it."""
        return f"{name}.{self.region}.amazonaws.com"

    @property
    def root(self) -> pulumi.Input[str]:
        """The account principal: in a key policy it delegates to the account's IAM policies."""
        return self.arn("iam", "root", regional=False)

    def table_arn(self, shape: shapes.TableShape) -> pulumi.Input[str]:
        return self.arn("dynamodb", f"table/{self.name(shape.component)}")

    def queue_arn(self, shape: shapes.QueueShape) -> pulumi.Input[str]:
        return self.arn("sqs", self.name(shape.component))

    def topic_arn(self, shape: shapes.TopicShape) -> pulumi.Input[str]:
        return self.arn("sns", self.name(shape.component))

    def log_group_arn(self, name: str) -> pulumi.Input[str]:
        """A log group and its streams (IAM matches streams under ``<group ARN>:*``)."""
        return self.arn("logs", f"log-group:{name}:*")

    @property
    def own_log_groups(self) -> str:
        """Name pattern of the non-Lambda groups (API access logs, VPC flow logs)."""
        return f"{log_group_prefix(self.app, self.environment)}*"

    def log_group_patterns(self) -> list[pulumi.Input[str]]:
        """Every log group of this environment, as ARN patterns (no ``:*`` suffix).

        Function logs, non-Lambda groups (API access logs, VPC flow logs), WAF logs and the
        execution logs API Gateway names itself (``API-Gateway-Execution-Logs_<api>/<stage>``).
        """
        names = (
            function_log_group(f"{self.prefix}-*"),
            self.own_log_groups,
            f"{WAF_LOG_GROUP_PREFIX}{self.prefix}-*",
            APIGATEWAY_EXECUTION_LOGS,
        )
        return [self.arn("logs", f"log-group:{name}") for name in names]


@dataclass(frozen=True)
class NetworkIds:
    """What the roles need from ``network``: the VPC and the endpoints calls must come through."""

    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    function_security_group_id: pulumi.Input[str]
    # service name (sqs, sns, dynamodb, ...) -> VPC endpoint id
    endpoint_ids: Mapping[str, pulumi.Input[str]]


# --- Key policies -------------------------------------------------------------------------------
# In a key policy ``Resource: "*"`` means "this key": a key policy can name no other resource.


def _key_admin(p: Platform) -> Statement:
    return {
        "Sid": "KeyAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": p.root},
        "Action": list(KEY_ADMIN_ACTIONS),
        "Resource": "*",
    }


def data_key_policy(p: Platform) -> dict[str, Any]:
    """The data key: tables, queues, topics and Lambda environment variables."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            _key_admin(p),
            {
                "Sid": "UseThroughAwsServicesInThisAccount",
                "Effect": "Allow",
                "Principal": {"AWS": p.root},
                "Action": list(KEY_USAGE_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": p.account_id,
                        "kms:ViaService": [p.service(s) for s in DATA_KEY_SERVICES],
                    }
                },
            },
            {
                "Sid": "GrantsForAwsResourcesOnly",
                "Effect": "Allow",
                "Principal": {"AWS": p.root},
                "Action": ["kms:CreateGrant"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": p.account_id,
                        "kms:ViaService": [p.service(s) for s in GRANTING_SERVICES],
                    },
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            },
            {
                # CloudWatch alarms publish to the (encrypted) alarm topic that observability
                # creates; SNS asks KMS for a data key on the alarm service's behalf.
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": p.account_id}},
            },
        ],
    }


def logs_key_policy(p: Platform) -> dict[str, Any]:
    """The logs key: every log group of this environment and no other.

    CloudWatch Logs encrypts and decrypts log events itself, as ``logs.<region>.amazonaws.com``,
    with the log group's ARN as encryption context; the ``StringLike`` condition on that context
    limits the key to this environment's groups, and the account id inside the ARNs keeps
    another account's groups out (no confused deputy). Readers of the logs need no KMS
    permission, so no principal of the account may use this key directly.

    WAF writes to a CloudWatch Logs group through ``delivery.logs.amazonaws.com``, which only
    calls ``logs:PutLogEvents`` under the group's resource policy; CloudWatch Logs then encrypts.
    AWS documents a key grant to ``delivery.logs`` only for S3 (SSE-KMS) and Firehose
    destinations, so it gets none here.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            _key_admin(p),
            {
                "Sid": "CloudWatchLogsForThisEnvironmentsGroups",
                "Effect": "Allow",
                "Principal": {"Service": p.service("logs")},
                # No kms:DescribeKey: its requests carry no encryption context, so the
                # condition below could never let it through (AWS's sample lists it anyway).
                "Action": [a for a in KEY_USAGE_ACTIONS if a != "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    # StringLike, not ArnLike: the context key is typed String in IAM, and the
                    # wildcard match on the group ARN is the same.
                    "StringLike": {"kms:EncryptionContext:aws:logs:arn": p.log_group_patterns()}
                },
            },
        ],
    }


# --- Role policies ------------------------------------------------------------------------------


def trust_policy(
    service: str, p: Platform, source_arn: pulumi.Input[str] | None = None
) -> dict[str, Any]:
    """Only ``service`` may assume the role, and only on behalf of this account."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": p.account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ],
    }


def _allow(
    sid: str,
    actions: Sequence[str],
    resources: pulumi.Input[str] | Sequence[pulumi.Input[str]],
    condition: dict[str, Any] | None = None,
) -> Statement:
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": list(resources) if isinstance(resources, (list, tuple)) else resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _ec2_arns(p: Platform, kind: str, ids: pulumi.Input[Sequence[str]]) -> pulumi.Input[Any]:
    """ARNs of EC2 resources whose ids come as a list (another stack's output)."""
    if isinstance(ids, (list, tuple)):
        return [p.arn("ec2", _concat(kind, i)) for i in ids]
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


def _via_endpoint(net: NetworkIds, service: str) -> dict[str, Any]:
    return {"StringEquals": {"aws:SourceVpce": net.endpoint_ids[service]}}


def _function_baseline(
    fn: shapes.FunctionShape,
    p: Platform,
    net: NetworkIds,
    data_key_arn: pulumi.Input[str],
    key_services: Sequence[str],
) -> list[Statement]:
    """What every function needs: its logs, traces, ENIs and the data key through its services."""
    vpc_arn = p.arn("ec2", _concat("vpc/", net.vpc_id))
    in_vpc = {"ArnEquals": {"ec2:Vpc": vpc_arn}}
    return [
        # Only its own group, which compute creates (with retention and KMS) before the
        # function exists: no logs:CreateLogGroup.
        _allow(
            "WriteOwnLogs",
            LOG_WRITE,
            p.log_group_arn(function_log_group(p.name(fn.component))),
        ),
        # X-Ray has no resource-level permissions: "*" is the only Resource AWS accepts.
        _allow("WriteTraces", XRAY_WRITE, "*"),
        # Lambda creates the function's ENIs with its role. A new ENI has no id yet, so
        # network-interface/* in this account and region; the subnets and the security group
        # it may be created in are named exactly.
        _allow(
            "CreateEnisInItsSubnetsAndGroup",
            ["ec2:CreateNetworkInterface"],
            _flatten(
                p.arn("ec2", "network-interface/*"),
                _ec2_arns(p, "subnet/", net.private_subnet_ids),
                p.arn("ec2", _concat("security-group/", net.function_security_group_id)),
            ),
        ),
        _allow(
            "ManageEnisInThePlatformVpc",
            [
                "ec2:AssignPrivateIpAddresses",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ],
            p.arn("ec2", "network-interface/*"),
            in_vpc,
        ),
        # Describe* calls have no resource-level permissions: "*" is the only Resource AWS
        # accepts. DescribeSubnets joined AWSLambdaVPCAccessExecutionRole in January 2024.
        _allow("DescribeEnis", ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], "*"),
        _allow(
            "DataKeyThroughItsServices",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            data_key_arn,
            {"StringEquals": {"kms:ViaService": [p.service(s) for s in key_services]}},
        ),
    ]


def function_statements(
    p: Platform, net: NetworkIds, data_key_arn: pulumi.Input[str]
) -> dict[str, list[Statement]]:
    """Each function's permissions, keyed by its component name (``validator``, ...).

    No ``cloudwatch:PutMetricData``: Powertools Metrics writes EMF to the function's logs.
    """
    s = shapes
    transactions, merchants = p.table_arn(s.TRANSACTIONS_TABLE), p.table_arn(s.MERCHANTS_TABLE)
    idempotency, velocity = p.table_arn(s.IDEMPOTENCY_TABLE), p.table_arn(s.VELOCITY_TABLE)
    queue, dlq = p.queue_arn(s.TRANSACTIONS_QUEUE), p.queue_arn(s.TRANSACTIONS_DLQ)
    dynamodb = _via_endpoint(net, "dynamodb")
    publish_alerts = _allow(
        "PublishFraudAlerts",
        ["sns:Publish"],
        p.topic_arn(s.FRAUD_ALERTS_TOPIC),
        _via_endpoint(net, "sns"),
    )
    return {
        s.VALIDATOR.component: [
            *_function_baseline(s.VALIDATOR, p, net, data_key_arn, ("dynamodb", "sqs", "lambda")),
            _allow("ReadMerchants", ["dynamodb:GetItem"], merchants, dynamodb),
            _allow(
                "IdempotencyRecords",
                [
                    "dynamodb:DeleteItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ],
                idempotency,
                dynamodb,
            ),
            _allow("Enqueue", ["sqs:SendMessage"], queue, _via_endpoint(net, "sqs")),
        ],
        s.FRAUD_DETECTOR.component: [
            *_function_baseline(
                s.FRAUD_DETECTOR, p, net, data_key_arn, ("dynamodb", "sqs", "sns", "lambda")
            ),
            # The event source mapping polls with this role from the Lambda service, outside
            # the VPC: an aws:SourceVpce condition here would stop delivery.
            _allow("ConsumeTransactionsQueue", SQS_CONSUME, queue),
            # The pipeline reads merchants with BatchGetItem (GetItem for a single miss).
            _allow(
                "ReadMerchants", ["dynamodb:BatchGetItem", "dynamodb:GetItem"], merchants, dynamodb
            ),
            # ADR 0003: one BatchGetItem probes the records; BatchExecuteStatement is authorised
            # per statement (PartiQL INSERT for records, INSERT/UPDATE for counters).
            _allow(
                "RecordTransactions",
                ["dynamodb:BatchGetItem", "dynamodb:PartiQLInsert"],
                transactions,
                dynamodb,
            ),
            _allow(
                "VelocityCounters",
                ["dynamodb:BatchGetItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate"],
                velocity,
                dynamodb,
            ),
            publish_alerts,
        ],
        s.FAILED_TRANSACTIONS.component: [
            *_function_baseline(
                s.FAILED_TRANSACTIONS, p, net, data_key_arn, ("dynamodb", "sqs", "sns", "lambda")
            ),
            # Polled by the Lambda service, like the main queue: no aws:SourceVpce.
            _allow("ConsumeDeadLetterQueue", SQS_CONSUME, dlq),
            # A conditional PutItem that returns the stored record when there is one.
            _allow("RecordFailures", ["dynamodb:PutItem"], transactions, dynamodb),
            # The alert of a FLAGGED transaction dead-lettered by an SNS outage.
            publish_alerts,
        ],
    }


def apigateway_logs_statements(p: Platform) -> list[Statement]:
    """API Gateway's account-wide CloudWatch role: access logs and execution logs only."""
    groups = [p.log_group_arn(p.own_log_groups), p.log_group_arn(APIGATEWAY_EXECUTION_LOGS)]
    return [
        _allow(
            "WriteApiLogs",
            [
                # API Gateway creates its execution log groups when they do not exist yet.
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            groups,
        ),
        # DescribeLogGroups has no resource-level permission: "*" is the only Resource accepted.
        _allow("FindLogGroups", ["logs:DescribeLogGroups"], "*"),
    ]


def flow_logs_statements(p: Platform) -> list[Statement]:
    """VPC flow logs deliver to the one group observability creates."""
    return [
        _allow(
            "WriteFlowLogs",
            ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            p.log_group_arn(log_group(p.app, p.environment, "vpc-flow-logs")),
        )
    ]


# --- Components ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeysArgs:
    platform: Platform
    deletion_window_days: int


class PlatformKeys(pulumi.ComponentResource):
    """The data key and the logs key, rotated yearly, each with its alias."""

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:security:PlatformKeys", name, None, opts)
        p = args.platform
        self.data_key = self._key(
            name,
            "data",
            "Tables, queues, topics and Lambda environment variables",
            data_key_policy(p),
            args,
        )
        self.logs_key = self._key(
            name, "logs", "Every CloudWatch Logs group of the platform", logs_key_policy(p), args
        )
        self.register_outputs(
            {"data_key_arn": self.data_key.arn, "logs_key_arn": self.logs_key.arn}
        )

    def _key(
        self, name: str, purpose: str, description: str, policy: dict[str, Any], args: KeysArgs
    ) -> aws.kms.Key:
        child = pulumi.ResourceOptions(parent=self)
        p = args.platform
        key = aws.kms.Key(
            f"{name}-{purpose}",
            description=f"{p.prefix} {purpose} key: {description}",
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=pulumi.Output.json_dumps(policy),
            tags={"Name": p.name(purpose)},
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-{purpose}-alias",
            name=f"alias/{p.name(purpose)}",
            target_key_id=key.key_id,
            opts=child,
        )
        return key


@dataclass(frozen=True)
class RolesArgs:
    platform: Platform
    network: NetworkIds
    data_key_arn: pulumi.Input[str]


class PlatformRoles(pulumi.ComponentResource):
    """One role per function, plus API Gateway's logging role and the VPC flow logs role.

    Policies are inline (``aws.iam.RolePolicy``): each document belongs to exactly one role,
    lives and dies with it, and cannot be attached to another principal by mistake, which a
    customer-managed policy could.
    """

    def __init__(self, name: str, args: RolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:security:PlatformRoles", name, None, opts)
        p = self._platform = args.platform
        lambda_trust = trust_policy("lambda.amazonaws.com", p)
        policies = function_statements(p, args.network, args.data_key_arn)
        self.function_roles: dict[str, aws.iam.Role] = {
            fn.component: self._role(
                name,
                fn.component,
                f"Execution role of {p.name(fn.component)}",
                lambda_trust,
                policies[fn.component],
            )
            for fn in shapes.FUNCTIONS
        }
        self.apigateway_logs_role = self._role(
            name,
            "apigateway-logs",
            "API Gateway writes access and execution logs",
            trust_policy("apigateway.amazonaws.com", p),
            apigateway_logs_statements(p),
        )
        self.flow_logs_role = self._role(
            name,
            "flow-logs",
            "VPC flow logs deliver to CloudWatch Logs",
            trust_policy("vpc-flow-logs.amazonaws.com", p, p.arn("ec2", "vpc-flow-log/*")),
            flow_logs_statements(p),
        )
        self.register_outputs(
            {f"{c}_role_arn": r.arn for c, r in self.function_roles.items()}
            | {
                "apigateway_logs_role_arn": self.apigateway_logs_role.arn,
                "flow_logs_role_arn": self.flow_logs_role.arn,
            }
        )

    def _role(
        self,
        name: str,
        component: str,
        description: str,
        trust: dict[str, Any],
        statements: list[Statement],
    ) -> aws.iam.Role:
        child = pulumi.ResourceOptions(parent=self)
        physical = self._platform.name(f"{component}-role")
        role = aws.iam.Role(
            f"{name}-{component}",
            name=physical,
            description=description,
            assume_role_policy=pulumi.Output.json_dumps(trust),
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-{component}-policy",
            name=f"{physical}-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
            opts=child,
        )
        return role

"""The policies: each one a PCI DSS v4.0 (or mission) control as data plus a pure check.

A policy names the requirement(s) it supports, is ``mandatory`` (blocks a deployment) or
``advisory`` (reported, does not block) with the reason for that choice, and checks either one
resource at a time (``resource_check``) or a set of resources together (``stack_check``).
Checks yield messages that name the problem and the fix; they never raise for a bad resource.

Stack checks are written for two views of the system. ``synth`` hands them every resource of
all six layers; a real ``pulumi preview --policy-pack`` hands them the resources of ONE stack.
Cross-layer rules therefore take each side from the resources in view when it is there and
from ``txn_infra.shapes`` (the declared shape both layers are built from) when it is not: the
``data`` preview checks its queues against the consumers the shapes declare, the ``compute``
preview checks its mappings and functions against the queues the shapes declare.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from txn_infra import shapes
from txn_policies import iam
from txn_policies.view import UNKNOWN, ResourceView, as_list, count, document, get, known, whole

Enforcement = Literal["mandatory", "advisory"]

TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
REDRIVE_POLICY = "aws:sqs/redrivePolicy:RedrivePolicy"
TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = iam.KMS_KEY
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
INTERNET_GATEWAY_ATTACHMENT = "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment"
EGRESS_ONLY_GATEWAY = "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
ELASTIC_IP = "aws:ec2/eip:Eip"
FUNCTION = "aws:lambda/function:Function"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
STAGE = "aws:apigateway/stage:Stage"
METHOD = "aws:apigateway/method:Method"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"

FUNCTION_LOG_RETENTION_DAYS = 30
AUDIT_LOG_RETENTION_DAYS = 365
MAX_KEY_ROTATION_DAYS = 365
VISIBILITY_MULTIPLIER = 5  # ADR 0002: 300 s for a 60 s function; AWS advises 6x
LAMBDA_DEFAULT_TIMEOUT = 3
PCI = "PCI DSS v4.0"


@dataclass(frozen=True)
class Violation:
    """One failed control: the resource (None for the stack as a whole) and what to do."""

    policy: str
    resource: ResourceView | None
    message: str

    @property
    def subject(self) -> str:
        return self.resource.label if self.resource else "stack"


ResourceCheck = Callable[[ResourceView], Iterable[str]]
StackCheck = Callable[[Sequence[ResourceView]], Iterable[tuple[ResourceView | None, str]]]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    requirements: tuple[str, ...]
    enforcement: Enforcement
    reason: str  # why this enforcement level
    remediation: str
    resource_types: frozenset[str]
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if (self.resource_check is None) == (self.stack_check is None):
            raise ValueError(f"{self.name}: give exactly one of resource_check, stack_check")

    @property
    def scope(self) -> Literal["resource", "stack"]:
        return "resource" if self.resource_check is not None else "stack"

    def applies_to(self, resource: ResourceView) -> bool:
        return resource.type in self.resource_types

    def evaluate(self, resources: Sequence[ResourceView]) -> list[Violation]:
        """Violations over ``resources`` (may raise ``UnknownValueError`` during a preview)."""
        if self.resource_check is not None:
            return [
                Violation(self.name, r, message)
                for r in resources
                if self.applies_to(r)
                for message in self.resource_check(r)
            ]
        assert self.stack_check is not None
        return [Violation(self.name, r, m) for r, m in self.stack_check(resources)]


POLICIES: list[Policy] = []


def policy(
    *,
    name: str,
    description: str,
    requirements: Sequence[str],
    enforcement: Enforcement,
    reason: str,
    remediation: str,
    types: Iterable[str],
    stack: bool = False,
) -> Callable[[Callable[..., Iterable[object]]], Callable[..., Iterable[object]]]:
    """Register a check function as a policy (resource-level unless ``stack=True``)."""

    def register(check: Callable[..., Iterable[object]]) -> Callable[..., Iterable[object]]:
        POLICIES.append(
            Policy(
                name=name,
                description=description,
                requirements=tuple(requirements),
                enforcement=enforcement,
                reason=reason,
                remediation=remediation,
                resource_types=frozenset(types),
                resource_check=None if stack else check,  # type: ignore[arg-type]
                stack_check=check if stack else None,  # type: ignore[arg-type]
            )
        )
        return check

    return register


def by_name(name: str) -> Policy:
    for candidate in POLICIES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no policy named {name!r}")


def _aws_managed_key(value: object) -> bool:
    return isinstance(value, str) and "alias/aws/" in value


MANDATORY_CMK = (
    "mandatory: cardholder-data stores and their logs must be readable only through keys this "
    "team controls, rotates and can revoke; AWS-owned or AWS-managed keys cannot be scoped."
)

# --- Encryption at rest with customer-managed keys ----------------------------------------------


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


# --- DynamoDB recovery and capacity -------------------------------------------------------------


@policy(
    name="dynamodb-point-in-time-recovery",
    description="Every DynamoDB table has point-in-time recovery on.",
    requirements=(f"{PCI} 12.10.1", "mission: nothing is lost"),
    enforcement="mandatory",
    reason="mandatory: the transactions table is the system of record; without PITR a bad "
    "write or a deleted item cannot be recovered (incident response, 12.10.1).",
    remediation="set point_in_time_recovery={'enabled': True}",
    types=(TABLE,),
)
def _table_pitr(table: ResourceView) -> Iterator[str]:
    if get(table.props, "pointInTimeRecovery.enabled") is not True:
        yield "has point-in-time recovery off; fix: point_in_time_recovery enabled=True"


_TABLE_SHAPES = {t.component: t for t in shapes.TABLES}
# Used by a function behind the API while the client waits (the validator): on-demand only.
_SYNCHRONOUS_TABLES = frozenset(t.component for t in shapes.synchronous_tables())
_DIMENSIONS = ("Read", "Write")


def _scaling(
    resources: Sequence[ResourceView],
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(resource id, scalable dimension) of the DynamoDB scalable targets in view, and of those
    with a target-tracking policy."""
    targets = {
        (known(t.props, "resourceId"), known(t.props, "scalableDimension"))
        for t in resources
        if t.type == SCALABLE_TARGET and get(t.props, "serviceNamespace") == "dynamodb"
    }
    tracked = {
        (known(p.props, "resourceId"), known(p.props, "scalableDimension"))
        for p in resources
        if p.type == SCALING_POLICY
        and get(p.props, "serviceNamespace") == "dynamodb"
        and get(p.props, "policyType") == "TargetTrackingScaling"
        and get(p.props, "targetTrackingScalingPolicyConfiguration.targetValue") is not None
    }
    return targets, tracked


@policy(
    name="dynamodb-capacity-scales",
    description="Every DynamoDB table is on-demand, or provisioned with target-tracking auto "
    "scaling on the reads and writes of the table and of each index; the tables the API path "
    "uses while the client waits (merchants, idempotency) are on-demand.",
    requirements=("mission: 1,000+ TPS bursts, nothing lost",),
    enforcement="mandatory",
    reason="mandatory: a provisioned table or index that cannot scale throttles every burst "
    "above its setting. Behind SQS a throttle is a redelivery, but one that never scales drifts "
    "into the DLQ as FAILED; on the API path it is an error to the client (ADR 0005).",
    remediation="billing_mode='PAY_PER_REQUEST', or per table and index an "
    "aws.appautoscaling.Target and a TargetTrackingScaling Policy for reads and for writes",
    types=(TABLE, SCALABLE_TARGET, SCALING_POLICY),
    stack=True,
)
def _table_capacity(
    resources: Sequence[ResourceView],
) -> Iterator[tuple[ResourceView | None, str]]:
    provisioned = [
        r
        for r in resources
        if r.type == TABLE and get(r.props, "billingMode", "PROVISIONED") != "PAY_PER_REQUEST"
    ]
    if not provisioned:
        return
    targets, tracked = _scaling(resources)
    for table in provisioned:
        name = known(table.props, "name")
        if not isinstance(name, str):
            message = (
                "is provisioned without a fixed name, so no scalable target can name it; fix: "
                "name=physical_name(...) or billing_mode='PAY_PER_REQUEST'"
            )
            yield table, message
            continue
        if _component(name, _TABLE_SHAPES) in _SYNCHRONOUS_TABLES:
            message = (
                f"{name} is provisioned, but the validator uses it while the API client waits: "
                "a throttle there is an error to the client, not a redelivery; fix: "
                "billing_mode='PAY_PER_REQUEST'"
            )
            yield table, message
            continue
        indexes = [get(i, "name") for i in as_list(get(table.props, "globalSecondaryIndexes"))]
        scaled = [(f"table/{name}", "table", "table")] + [
            (f"table/{name}/index/{index}", "index", f"index {index}") for index in indexes
        ]
        keys = {
            f"{label} {d.lower()}s": (resource_id, f"dynamodb:{kind}:{d}CapacityUnits")
            for resource_id, kind, label in scaled
            for d in _DIMENSIONS
        }
        unscaled = [label for label, key in keys.items() if key not in targets]
        untracked = [label for label, key in keys.items() if key in targets and key not in tracked]
        if unscaled:
            message = (
                f"{name} is provisioned without auto scaling on {', '.join(unscaled)}; fix: an "
                "aws.appautoscaling.Target (service_namespace 'dynamodb', resource_id "
                "'table/<name>[/index/<index>]') with a TargetTrackingScaling Policy for each"
            )
            yield table, message
        if untracked:
            message = (
                f"{name} has scalable targets without a target-tracking policy on "
                f"{', '.join(untracked)}; fix: a TargetTrackingScaling Policy on "
                "DynamoDB{Read,Write}CapacityUtilization for each target"
            )
            yield table, message


# --- Network: private only ----------------------------------------------------------------------

_FORBIDDEN_NETWORK = {
    INTERNET_GATEWAY: "an internet gateway",
    INTERNET_GATEWAY_ATTACHMENT: "an internet gateway attachment",
    EGRESS_ONLY_GATEWAY: "an egress-only internet gateway",
    NAT_GATEWAY: "a NAT gateway",
    ELASTIC_IP: "an Elastic IP (public address)",
}


def _route_problem(route: object) -> str | None:
    if not hasattr(route, "get"):
        return None
    gateway = get(route, "gatewayId")  # type: ignore[arg-type]
    if isinstance(gateway, str) and gateway.startswith("igw-"):
        return f"routes to internet gateway {gateway}"
    for key in ("natGatewayId", "egressOnlyGatewayId"):
        if get(route, key) not in (None, ""):  # type: ignore[arg-type]
            return f"routes through {key} {get(route, key)}"  # type: ignore[arg-type]
    for key in ("destinationCidrBlock", "cidrBlock", "destinationIpv6CidrBlock", "ipv6CidrBlock"):
        cidr = get(route, key)  # type: ignore[arg-type]
        if isinstance(cidr, str) and ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
            return f"has a default route {cidr}"
    return None


@policy(
    name="no-internet-gateway-or-nat",
    description="No internet gateway, NAT gateway, public address or default route exists.",
    requirements=(f"{PCI} 1.3.1", f"{PCI} 1.3.2", f"{PCI} 1.4.1"),
    enforcement="mandatory",
    reason="mandatory: the CDE has no path to or from the internet; every AWS API is reached "
    "through VPC endpoints, so any internet path is an unreviewed data exit.",
    remediation="remove the gateway or route; reach AWS APIs through a VPC endpoint",
    types=(*_FORBIDDEN_NETWORK, ROUTE, ROUTE_TABLE),
)
def _no_internet(resource: ResourceView) -> Iterator[str]:
    if resource.type in _FORBIDDEN_NETWORK:
        yield (
            f"is {_FORBIDDEN_NETWORK[resource.type]} in the CDE; fix: remove it and use a VPC "
            "endpoint for the AWS API that needed it"
        )
        return
    routes = [resource.props] if resource.type == ROUTE else as_list(resource.props.get("routes"))
    for route in routes:
        problem = _route_problem(route)
        if problem:
            yield f"{problem}; fix: remove the route (private subnets keep only local routes)"


@policy(
    name="no-public-subnet",
    description="No subnet assigns public IPv4 or IPv6 addresses on launch.",
    requirements=(f"{PCI} 1.3.1", f"{PCI} 1.4.4"),
    enforcement="mandatory",
    reason="mandatory: components that process cardholder data must not be directly "
    "reachable from untrusted networks.",
    remediation="set map_public_ip_on_launch=False and assign_ipv6_address_on_creation=False",
    types=(SUBNET,),
)
def _no_public_subnet(subnet: ResourceView) -> Iterator[str]:
    if get(subnet.props, "mapPublicIpOnLaunch") is True:
        yield "maps public IPs on launch; fix: map_public_ip_on_launch=False"
    if get(subnet.props, "assignIpv6AddressOnCreation") is True:
        yield "assigns IPv6 addresses on creation; fix: assign_ipv6_address_on_creation=False"


# --- Lambda -------------------------------------------------------------------------------------


@policy(
    name="lambda-in-private-subnets",
    description="Every function runs in the VPC: two or more private subnets and a security group.",
    requirements=(f"{PCI} 1.3.1", f"{PCI} 1.3.2", f"{PCI} 1.4.4"),
    enforcement="mandatory",
    reason="mandatory: a function outside the VPC reaches the internet and bypasses the "
    "endpoint policies and security groups that bound the CDE.",
    remediation="set vpc_config with the network layer's private subnet ids and function SG",
    types=(FUNCTION,),
)
def _function_in_vpc(function: ResourceView) -> Iterator[str]:
    subnets = as_list(get(function.props, "vpcConfig.subnetIds"))
    groups = as_list(get(function.props, "vpcConfig.securityGroupIds"))
    if not subnets:
        yield (
            "runs outside the VPC; fix: vpc_config subnet_ids = network private_subnet_ids, "
            "security_group_ids = [function_security_group_id]"
        )
        return
    if len(subnets) < 2:
        yield f"runs in {len(subnets)} subnet; fix: use the private subnets of every AZ"
    if not groups:
        yield "has no security group; fix: security_group_ids = [function_security_group_id]"


@policy(
    name="lambda-xray-tracing",
    description="Every function has active X-Ray tracing.",
    requirements=(f"{PCI} 10.2.1",),
    enforcement="mandatory",
    reason="mandatory: a transaction's path across API, queue and functions must be "
    "reconstructable when investigating an event.",
    remediation="set tracing_config={'mode': 'Active'}",
    types=(FUNCTION,),
)
def _function_traced(function: ResourceView) -> Iterator[str]:
    mode = get(function.props, "tracingConfig.mode", "PassThrough")
    if mode != "Active":
        yield f"has tracing mode {mode}; fix: tracing_config mode='Active'"


def _function_name(function: ResourceView) -> str | None:
    name = function.props.get("name")
    return name if isinstance(name, str) else None


def _function_log_group_name(function: ResourceView) -> str | None:
    custom = get(function.props, "loggingConfig.logGroup")
    if isinstance(custom, str):
        return custom
    name = _function_name(function)
    return f"/aws/lambda/{name}" if name else None


@policy(
    name="lambda-has-log-group",
    description="Every function's log group is declared in the stack (retention and KMS from "
    "the first invocation).",
    requirements=(f"{PCI} 10.2.1", f"{PCI} 10.5.1"),
    enforcement="mandatory",
    reason="mandatory: a log group Lambda creates itself never expires and is unencrypted by "
    "a CMK, and the first invocations' logs land there.",
    remediation="declare aws.cloudwatch.LogGroup('/aws/lambda/<name>') before the function",
    types=(FUNCTION, LOG_GROUP),
    stack=True,
)
def _function_log_groups(
    resources: Sequence[ResourceView],
) -> Iterator[tuple[ResourceView | None, str]]:
    declared = {r.props.get("name") for r in resources if r.type == LOG_GROUP}
    for function in (r for r in resources if r.type == FUNCTION):
        expected = _function_log_group_name(function)
        if expected is None:
            message = (
                "has no fixed name, so its log group cannot be declared before it; fix: set "
                "name=physical_name(...) and declare /aws/lambda/<name>"
            )
            yield function, message
        elif expected not in declared:
            message = (
                f"writes to log group {expected}, which no stack declares; fix: declare "
                f"aws.cloudwatch.LogGroup(name='{expected}') with retention and KMS"
            )
            yield function, message


@policy(
    name="lambda-env-cmk",
    description="Function environment variables are encrypted with a customer-managed key.",
    requirements=(f"{PCI} 3.6.1",),
    enforcement="advisory",
    reason="advisory: the environment holds only resource names and settings, never secrets "
    "or card data, so the AWS-managed key is acceptable; a CMK is defence in depth.",
    remediation="set kms_key_arn=<data key ARN> on the function",
    types=(FUNCTION,),
)
def _function_env_cmk(function: ResourceView) -> Iterator[str]:
    if get(function.props, "environment.variables") and not get(function.props, "kmsKeyArn"):
        yield "encrypts its environment with the AWS-managed key; fix: kms_key_arn = data key"


# --- Log retention ------------------------------------------------------------------------------


def _is_function_log_group(group: ResourceView) -> bool:
    name = group.props.get("name")
    return isinstance(name, str) and name.startswith("/aws/lambda/")


@policy(
    name="function-log-retention",
    description="Function log groups keep logs exactly 30 days.",
    requirements=("mission: function logs 30 d",),
    enforcement="mandatory",
    reason="mandatory: the mission fixes 30 days for operational function logs; audit trails "
    "(API access, WAF, flow logs) carry the 12-month requirement instead (audit-log-retention).",
    remediation="set retention_in_days=30 on /aws/lambda/* log groups",
    types=(LOG_GROUP,),
)
def _function_log_retention(group: ResourceView) -> Iterator[str]:
    if not _is_function_log_group(group):
        return
    days = get(group.props, "retentionInDays")
    if days != FUNCTION_LOG_RETENTION_DAYS:
        shown = "never expires" if days in (None, 0) else f"keeps {days} days"
        yield f"{shown}; fix: retention_in_days={FUNCTION_LOG_RETENTION_DAYS}"


@policy(
    name="audit-log-retention",
    description="Audit log groups (API access, WAF, flow logs: all but /aws/lambda/*) keep logs "
    "at least 365 days, set explicitly.",
    requirements=(f"{PCI} 10.5.1",),
    enforcement="mandatory",
    reason="mandatory: 10.5.1 requires audit log history for at least 12 months.",
    remediation="set retention_in_days >= 365 on audit log groups",
    types=(LOG_GROUP,),
)
def _audit_log_retention(group: ResourceView) -> Iterator[str]:
    if _is_function_log_group(group):
        return
    days = whole(get(group.props, "retentionInDays"))
    if days is None or days == 0:
        yield "has no explicit retention; fix: retention_in_days >= 365 (a recorded decision)"
    elif days < AUDIT_LOG_RETENTION_DAYS:
        yield f"keeps {days} days; fix: retention_in_days >= {AUDIT_LOG_RETENTION_DAYS}"


# --- IAM ----------------------------------------------------------------------------------------

_BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def _broad_managed(arn: object) -> bool:
    if not isinstance(arn, str) or ":iam::aws:policy/" not in arn:
        return False
    name = arn.rsplit("/", 1)[-1]
    return name in _BROAD_MANAGED_POLICIES or name.endswith("FullAccess")


@policy(
    name="iam-no-wildcard-actions",
    description="No identity or trust policy allows a wildcard action, NotAction or a broad "
    "AWS-managed policy.",
    requirements=(f"{PCI} 7.2.1", f"{PCI} 7.2.2", f"{PCI} 7.2.5"),
    enforcement="mandatory",
    reason="mandatory: least privilege for application accounts; a wildcard also grants every "
    "action AWS adds later.",
    remediation="list the exact actions the function calls",
    types=(*iam.IDENTITY_TYPES, iam.ROLE_POLICY_ATTACHMENT),
)
def _no_wildcard_actions(resource: ResourceView) -> Iterator[str]:
    arns = [resource.props.get("policyArn"), *as_list(resource.props.get("managedPolicyArns"))]
    for arn in arns:
        if _broad_managed(arn):
            yield f"attaches the broad AWS-managed policy {arn}; fix: a scoped inline policy"
    for doc in iam.documents(resource):
        if doc.kind == "resource":
            continue
        for statement in iam.statements_of(doc):
            if not iam.allowed(statement):
                continue
            if "NotAction" in statement:
                yield f"{doc.where} allows NotAction; fix: list the allowed actions"
            wild = [a for a in iam.actions(statement) if "*" in a]
            if wild:
                yield f"{doc.where} allows wildcard action(s) {wild}; fix: list exact actions"


@policy(
    name="iam-resource-star-only-allowed",
    description="Identity policies use Resource '*' only for actions without resource-level "
    "permissions (X-Ray, Lambda VPC ENI management, cloudwatch:PutMetricData).",
    requirements=(f"{PCI} 7.2.1", f"{PCI} 7.2.5"),
    enforcement="mandatory",
    reason="mandatory: every table, queue, topic and key has a name known before deploy "
    "(naming.physical_name), so there is no reason to grant it on '*'.",
    remediation="name the ARNs (naming.physical_name) or move the action to a scoped statement",
    types=iam.IDENTITY_TYPES,
)
def _resource_star(resource: ResourceView) -> Iterator[str]:
    for doc in iam.documents(resource):
        if doc.kind != "identity":
            continue
        for statement in iam.statements_of(doc):
            if not iam.allowed(statement):
                continue
            if "NotResource" in statement:
                yield f"{doc.where} allows NotResource; fix: name the resources"
            if "*" not in as_list(statement.get("Resource")):
                continue
            extra = sorted(a for a in iam.actions(statement) if not iam.is_allowed_star_action(a))
            if extra:
                yield (
                    f"{doc.where} grants {extra} on Resource '*'; fix: name the resource ARNs "
                    "(only X-Ray, ENI management and cloudwatch:PutMetricData may use '*')"
                )


_DEPUTY_KEYS = frozenset(
    {
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:principalorgid",
        "aws:principalarn",
        "sts:externalid",
    }
)


@policy(
    name="iam-trust-policy-conditions",
    description="Every trust statement limits who may assume the role with a condition key "
    "(aws:SourceAccount / aws:SourceArn for services, sts:ExternalId or org for accounts).",
    requirements=(f"{PCI} 7.2.5", f"{PCI} 8.2.2"),
    enforcement="mandatory",
    reason="mandatory: without a source condition a service can be tricked into assuming the "
    "role for another account (confused deputy).",
    remediation="add Condition StringEquals aws:SourceAccount=<account id> (and aws:SourceArn)",
    types=(iam.ROLE,),
)
def _trust_conditions(role: ResourceView) -> Iterator[str]:
    for doc in iam.documents(role):
        if doc.kind != "trust":
            continue
        for index, statement in enumerate(iam.statements_of(doc)):
            if not iam.allowed(statement):
                continue
            keys = {
                key.lower()
                for operator in (statement.get("Condition") or {}).values()
                if isinstance(operator, dict)
                for key in operator
            }
            if not keys & _DEPUTY_KEYS:
                principal = statement.get("Principal")
                yield (
                    f"trust statement {index} for {principal} has no source condition; fix: "
                    "Condition StringEquals aws:SourceAccount = this account (or aws:SourceArn)"
                )


@policy(
    name="iam-parliament-audit",
    description="Parliament finds nothing of medium, high or critical severity in any policy "
    "document (identity, trust, key, queue, topic and endpoint policies).",
    requirements=(f"{PCI} 7.2.1", f"{PCI} 7.2.5"),
    enforcement="mandatory",
    reason="mandatory: malformed statements, actions on the wrong resource type and unknown "
    "condition keys silently grant nothing or more than intended.",
    remediation="correct the statement Parliament names",
    types=iam.DOCUMENT_TYPES,
)
def _parliament(resource: ResourceView) -> Iterator[str]:
    for doc in iam.documents(resource):
        for finding in iam.audit(doc):
            if finding.severity in iam.BLOCKING_SEVERITIES:
                yield (
                    f"{doc.where}: parliament {finding.severity} {finding.issue}: "
                    f"{finding.detail}; fix: correct that statement"
                )


@policy(
    name="iam-parliament-hygiene",
    description="Parliament's low-severity findings (unknown actions, old versions, ...), "
    "except Resource '*' which iam-resource-star-only-allowed judges.",
    requirements=(f"{PCI} 7.2.5",),
    enforcement="advisory",
    reason="advisory: Parliament's bundled IAM catalogue lags new AWS actions, so an unknown "
    "action may be new rather than wrong.",
    remediation="check the action name against the service authorization reference",
    types=iam.DOCUMENT_TYPES,
)
def _parliament_low(resource: ResourceView) -> Iterator[str]:
    for doc in iam.documents(resource):
        for finding in iam.audit(doc):
            if (
                finding.severity not in iam.BLOCKING_SEVERITIES
                and finding.issue not in iam.RESOURCE_STAR_FINDINGS
            ):
                yield f"{doc.where}: parliament {finding.issue}: {finding.detail}"


# --- API Gateway and WAF ------------------------------------------------------------------------


@policy(
    name="api-stage-tracing-and-access-logs",
    description="Every API stage has X-Ray tracing and access logging to a log group.",
    requirements=(f"{PCI} 10.2.1", f"{PCI} 10.2.2"),
    enforcement="mandatory",
    reason="mandatory: the API is the CDE's only entry point; every request must leave an "
    "audit record.",
    remediation="set xray_tracing_enabled=True and access_log_settings(destination_arn, format)",
    types=(STAGE,),
)
def _stage_logged(stage: ResourceView) -> Iterator[str]:
    if get(stage.props, "xrayTracingEnabled") is not True:
        yield "has X-Ray tracing off; fix: xray_tracing_enabled=True"
    settings = get(stage.props, "accessLogSettings", {})
    if not get(settings, "destinationArn") or not get(settings, "format"):
        yield "has no access log; fix: access_log_settings destination_arn + format"


_ACCESS_LOG_FIELDS = (
    "$context.requestId",
    "$context.identity.sourceIp",
    "$context.requestTime",
    "$context.httpMethod",
    "$context.resourcePath",
    "$context.status",
)


@policy(
    name="api-access-log-fields",
    description="API access logs record who, what, when, where and the outcome.",
    requirements=(f"{PCI} 10.2.2",),
    enforcement="advisory",
    reason="advisory: the field list is this team's reading of 10.2.2; an equivalent set of "
    "context variables is acceptable.",
    remediation=f"include {', '.join(_ACCESS_LOG_FIELDS)} in the access log format",
    types=(STAGE,),
)
def _access_log_fields(stage: ResourceView) -> Iterator[str]:
    fmt = get(stage.props, "accessLogSettings.format")
    if isinstance(fmt, str):
        missing = [f for f in _ACCESS_LOG_FIELDS if f not in fmt]
        if missing:
            yield f"access log format lacks {missing}; fix: add them"


@policy(
    name="api-no-data-trace",
    description="No API stage logs full request and response bodies (data trace).",
    requirements=(f"{PCI} 3.3.1", f"{PCI} 3.5.1"),
    enforcement="mandatory",
    reason="mandatory: data trace writes request bodies to CloudWatch; a client that sends a "
    "PAN by mistake would have it stored in clear in the execution log.",
    remediation="set settings.data_trace_enabled=False on aws.apigateway.MethodSettings",
    types=(METHOD_SETTINGS,),
)
def _no_data_trace(settings: ResourceView) -> Iterator[str]:
    if get(settings.props, "settings.dataTraceEnabled") is True:
        yield "enables data trace (full bodies in logs); fix: data_trace_enabled=False"


@policy(
    name="api-methods-require-api-key",
    description="Every API method requires an API key (usage plan).",
    requirements=(f"{PCI} 7.2.1", f"{PCI} 8.2.1"),
    enforcement="mandatory",
    reason="mandatory: only registered payment providers may submit transactions, each under "
    "its own key and usage plan. A key identifies a caller, it does not authenticate one: the "
    "upgrade path is a Lambda authorizer or mTLS (see policies/README.md).",
    remediation="set api_key_required=True on the method",
    types=(METHOD,),
)
def _method_api_key(method: ResourceView) -> Iterator[str]:
    if get(method.props, "httpMethod") == "OPTIONS":
        return
    if get(method.props, "apiKeyRequired") is not True:
        yield "does not require an API key; fix: api_key_required=True"


def _paired(
    source: ResourceView, prop: str, target: ResourceView, target_values: Iterable[object]
) -> bool:
    """Does ``source.prop`` point at ``target`` (by value, or by dependency while unknown)?"""
    value = source.props.get(prop)
    if value is UNKNOWN or value is None:
        return target.urn in source.deps.get(prop, frozenset())
    return value in {v for v in target_values if v not in (None, UNKNOWN)}


@policy(
    name="api-stage-waf",
    description="Every API stage is associated with a WAF web ACL, by its stage ARN.",
    requirements=(f"{PCI} 6.4.2",),
    enforcement="mandatory",
    reason="mandatory: 6.4.2 requires an automated solution that detects and prevents "
    "web-based attacks in front of public-facing web applications.",
    remediation="aws.wafv2.WebAclAssociation(resource_arn=stage.arn, depends_on=[stage])",
    types=(STAGE, WEB_ACL_ASSOCIATION),
    stack=True,
)
def _stage_waf(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView | None, str]]:
    associations = [r for r in resources if r.type == WEB_ACL_ASSOCIATION]
    for association in associations:
        arn = association.props.get("resourceArn")
        if isinstance(arn, str) and ":execute-api:" in arn:
            message = (
                f"targets the execution ARN {arn}; fix: resource_arn = the stage ARN "
                "(arn:aws:apigateway:<region>::/restapis/<id>/stages/<name>)"
            )
            yield association, message
    for stage in (r for r in resources if r.type == STAGE):
        if not any(
            _paired(a, "resourceArn", stage, [stage.props.get("arn")]) for a in associations
        ):
            message = (
                "has no WAF web ACL association; fix: aws.wafv2.WebAclAssociation("
                "resource_arn=stage.arn, web_acl_arn=<web ACL ARN>)"
            )
            yield stage, message


# --- Cross-resource rules (ADR 0002, ADR 0007) --------------------------------------------------


def _component(physical: object, components: Iterable[str]) -> str | None:
    """The shape component a physical name ``<app>-<env>-<component>`` ends with (longest)."""
    if not isinstance(physical, str):
        return None
    name = physical.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    for component in sorted(components, key=len, reverse=True):
        if name.endswith(f"-{component}"):
            return component
    return None


_QUEUE_SHAPES = {q.component: q for q in shapes.QUEUES}
_FUNCTION_SHAPES = {f.component: f for f in shapes.FUNCTIONS}


@dataclass(frozen=True)
class _Queue:
    resource: ResourceView | None
    name: str
    visibility: int
    retention: int


@dataclass(frozen=True)
class _Function:
    resource: ResourceView | None
    name: str
    timeout: int
    reserved: int | None


def _queues(resources: Sequence[ResourceView]) -> list[ResourceView]:
    return [r for r in resources if r.type == QUEUE]


def _queue_for(arn: object, resources: Sequence[ResourceView]) -> _Queue | None:
    """The queue ``arn`` names: from the resources in view, else from the shapes."""
    for queue in _queues(resources):
        if arn is not UNKNOWN and arn in (queue.props.get("arn"), queue.props.get("id")):
            return _Queue(
                queue,
                str(queue.props.get("name", queue.name)),
                count(queue.props, "visibilityTimeoutSeconds", 30),
                count(queue.props, "messageRetentionSeconds", 345_600),
            )
    component = _component(arn, _QUEUE_SHAPES)
    if component is None:
        return None
    shape = _QUEUE_SHAPES[component]
    return _Queue(
        None,
        f"{component} (shapes)",
        shape.visibility_timeout_seconds,
        shape.message_retention_seconds,
    )


def _function_for(ref: object, resources: Sequence[ResourceView]) -> _Function | None:
    for function in (r for r in resources if r.type == FUNCTION):
        if ref is not UNKNOWN and ref in (function.props.get("name"), function.props.get("arn")):
            reserved = whole(get(function.props, "reservedConcurrentExecutions"))  # -1: none
            return _Function(
                function,
                str(function.props.get("name")),
                count(function.props, "timeout", LAMBDA_DEFAULT_TIMEOUT),
                reserved if reserved is not None and reserved >= 0 else None,
            )
    component = _component(ref, _FUNCTION_SHAPES)
    if component is None:
        return None
    shape = _FUNCTION_SHAPES[component]
    return _Function(
        None, f"{component} (shapes)", shape.timeout_seconds, shape.reserved_concurrency
    )


def _sqs_mappings(resources: Sequence[ResourceView]) -> list[ResourceView]:
    mappings = [r for r in resources if r.type == EVENT_SOURCE_MAPPING]
    return [m for m in mappings if ":sqs:" in str(known(m.props, "eventSourceArn", ""))]


@policy(
    name="sqs-visibility-covers-consumer",
    description="A queue's visibility timeout is at least 5x its consumer's timeout plus the "
    "mapping's batching window.",
    requirements=("mission: exactly once, nothing lost (ADR 0002)",),
    enforcement="mandatory",
    reason="mandatory: a message that becomes visible while its batch still runs is processed "
    "twice and burns a receive towards the DLQ.",
    remediation="raise visibility_timeout_seconds or lower the function timeout / window",
    types=(QUEUE, EVENT_SOURCE_MAPPING, FUNCTION),
    stack=True,
)
def _visibility(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView | None, str]]:
    mappings = _sqs_mappings(resources)
    for mapping in mappings:
        queue = _queue_for(known(mapping.props, "eventSourceArn"), resources)
        function = _function_for(known(mapping.props, "functionName"), resources)
        if queue is None or function is None:
            continue
        window = count(mapping.props, "maximumBatchingWindowInSeconds", 0)
        needed = VISIBILITY_MULTIPLIER * function.timeout + window
        if queue.visibility < needed:
            message = (
                f"queue {queue.name} visibility {queue.visibility}s < {VISIBILITY_MULTIPLIER} x "
                f"{function.name} timeout {function.timeout}s + window {window}s = {needed}s; "
                f"fix: visibility_timeout_seconds >= {needed}"
            )
            yield queue.resource or mapping, message
    if mappings:
        return
    # A stack with the queues but not the mappings (the data layer under a real preview):
    # check each queue against the consumer the shapes declare for it.
    for source in shapes.EVENT_SOURCES:
        for queue in _queues(resources):
            name = queue.props.get("name", queue.name)
            if _component(name, _QUEUE_SHAPES) != source.queue.component:
                continue
            visibility = count(queue.props, "visibilityTimeoutSeconds", 30)
            window = source.maximum_batching_window_seconds
            needed = VISIBILITY_MULTIPLIER * source.function.timeout_seconds + window
            if visibility < needed:
                message = (
                    f"visibility {visibility}s < {VISIBILITY_MULTIPLIER} x "
                    f"{source.function.component} timeout {source.function.timeout_seconds}s "
                    f"+ window {window}s (shapes) = {needed}s; "
                    f"fix: visibility_timeout_seconds >= {needed}"
                )
                yield queue, message


@policy(
    name="esm-concurrency-within-reserved",
    description="An SQS event source's maximum concurrency is set and not above its function's "
    "reserved concurrency.",
    requirements=("mission: nothing lost under throttling (ADR 0002)",),
    enforcement="mandatory",
    reason="mandatory: reserved concurrency does not limit the SQS poller; batches it cannot "
    "run are throttled, retried and drift into the DLQ.",
    remediation="set scaling_config.maximum_concurrency <= reserved_concurrent_executions",
    types=(EVENT_SOURCE_MAPPING, FUNCTION),
    stack=True,
)
def _esm_concurrency(
    resources: Sequence[ResourceView],
) -> Iterator[tuple[ResourceView | None, str]]:
    for mapping in _sqs_mappings(resources):
        function = _function_for(known(mapping.props, "functionName"), resources)
        if function is None or function.reserved is None:
            continue
        maximum = get(mapping.props, "scalingConfig.maximumConcurrency")
        maximum = whole(maximum)
        if maximum is None:
            message = (
                f"has no maximum concurrency while {function.name} reserves {function.reserved}; "
                f"fix: scaling_config maximum_concurrency <= {function.reserved}"
            )
            yield mapping, message
        elif maximum > function.reserved:
            message = (
                f"maximum concurrency {maximum} > {function.name} reserved {function.reserved}; "
                f"fix: scaling_config maximum_concurrency <= {function.reserved}"
            )
            yield mapping, message


@policy(
    name="esm-partial-batch-failures",
    description="SQS event sources report partial batch failures.",
    requirements=("mission: exactly once (ADR 0007)",),
    enforcement="mandatory",
    reason="mandatory: without ReportBatchItemFailures one bad record makes the whole batch "
    "visible again, re-processing the good ones.",
    remediation="set function_response_types=['ReportBatchItemFailures']",
    types=(EVENT_SOURCE_MAPPING,),
)
def _partial_batch(mapping: ResourceView) -> Iterator[str]:
    if ":sqs:" not in str(mapping.props.get("eventSourceArn", "")):
        return
    if "ReportBatchItemFailures" not in as_list(mapping.props.get("functionResponseTypes")):
        yield "does not report batch item failures; fix: ReportBatchItemFailures"


def _redrives(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView, object, object]]:
    """(resource carrying the redrive, source queue ref, dead-letter target ARN)."""
    for r in resources:
        if r.type not in (QUEUE, REDRIVE_POLICY):
            continue
        raw = r.props.get("redrivePolicy")
        source = r.props.get("arn") if r.type == QUEUE else r.props.get("queueUrl")
        if raw is UNKNOWN:  # the DLQ is created in the same update: pair by dependency
            yield r, source, UNKNOWN
            continue
        body = document(raw, "redrivePolicy")
        if body is not None:
            yield r, source, body.get("deadLetterTargetArn", UNKNOWN)


def _queue_by_ref(ref: object, resources: Sequence[ResourceView]) -> ResourceView | None:
    for queue in _queues(resources):
        if ref is not UNKNOWN and ref in (queue.props.get("url"), queue.props.get("id")):
            return queue
    return None


@policy(
    name="dlq-retention-exceeds-source",
    description="A dead-letter queue keeps messages longer than its source queue (equal only "
    "at the 14-day SQS maximum).",
    requirements=("mission: nothing lost (ADR 0007)",),
    enforcement="mandatory",
    reason="mandatory: SQS keeps a message's original enqueue time in the DLQ, so a DLQ with "
    "shorter retention deletes failed transactions before anyone records them.",
    remediation="raise the DLQ's message_retention_seconds above the source queue's",
    types=(QUEUE, REDRIVE_POLICY),
    stack=True,
)
def _dlq_retention(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView | None, str]]:
    for owner, source_ref, target_ref in _redrives(resources):
        source = owner if owner.type == QUEUE else _queue_by_ref(source_ref, resources)
        target = next(
            (
                q
                for q in _queues(resources)
                if q is not source and _paired_value(target_ref, owner, q)
            ),
            None,
        )
        if source is None:
            continue
        source_days = count(source.props, "messageRetentionSeconds", 345_600)
        if target is None:
            shape = _QUEUE_SHAPES.get(_component(target_ref, _QUEUE_SHAPES) or "")
            if shape is None:
                continue
            target_days = shape.message_retention_seconds
            target_name = f"{shape.component} (shapes)"
        else:
            target_days = count(target.props, "messageRetentionSeconds", 345_600)
            target_name = str(target.props.get("name", target.name))
        at_max = source_days == target_days == shapes.SQS_MAX_RETENTION
        if target_days < source_days or (target_days == source_days and not at_max):
            message = (
                f"keeps messages {source_days}s but its DLQ {target_name} only {target_days}s; "
                f"fix: DLQ message_retention_seconds > {source_days} "
                f"(max {shapes.SQS_MAX_RETENTION})"
            )
            yield source, message


def _paired_value(target_ref: object, owner: ResourceView, queue: ResourceView) -> bool:
    if target_ref is UNKNOWN or target_ref is None:
        return queue.urn in owner.deps.get("redrivePolicy", frozenset())
    return target_ref == queue.props.get("arn")

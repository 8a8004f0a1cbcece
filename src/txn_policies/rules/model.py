"""What every section of the pack shares: the policy model, the resource types, registration.

A section module registers each check with the ``@policy(...)`` decorator, which files it under
the section's module name in :data:`SECTIONS`; ``txn_policies.rules`` puts the sections in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from txn_policies import iam
from txn_policies.view import ResourceView

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
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
FUNCTION = "aws:lambda/function:Function"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
REST_API = "aws:apigateway/restApi:RestApi"
STAGE = "aws:apigateway/stage:Stage"
METHOD = "aws:apigateway/method:Method"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
GATEWAY_RESPONSE = "aws:apigateway/response:Response"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"

PCI = "PCI DSS v4.0.1"


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


# Section module name -> its policies, in the order the module registers them.
SECTIONS: dict[str, list[Policy]] = {}


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
    """Register a check function as a policy of its section (resource-level unless
    ``stack=True``)."""

    def register(check: Callable[..., Iterable[object]]) -> Callable[..., Iterable[object]]:
        SECTIONS.setdefault(check.__module__, []).append(
            Policy(
                name=name,
                description=description,
                requirements=tuple(requirements),
                enforcement=enforcement,
                reason=reason,
                remediation=remediation,
                resource_types=frozenset(types),
                resource_check=None if stack else check,
                stack_check=check if stack else None,
            )
        )
        return check

    return register


def _component(physical: object, components: Iterable[str]) -> str | None:
    """The shape component a physical name ``<app>-<env>-<component>`` ends with (longest)."""
    if not isinstance(physical, str):
        return None
    name = physical.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    for component in sorted(components, key=len, reverse=True):
        if name.endswith(f"-{component}"):
            return component
    return None

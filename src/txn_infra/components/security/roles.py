"""The IAM role of every function and AWS service that acts for the platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from txn_infra.components.security.iam_documents import (
    FunctionKeys,
    flow_logs_statements,
    function_statements,
    trust_policy,
)
from txn_infra.components.security.platform import NetworkIds, Platform, Statement
from txn_spec import shapes


@dataclass(frozen=True)
class RolesArgs:
    platform: Platform
    network: NetworkIds
    data_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]


class PlatformRoles(pulumi.ComponentResource):
    """One role per function, plus the VPC flow logs role.

    Policies are inline (``aws.iam.RolePolicy``): each document belongs to exactly one role,
    lives and dies with it, and cannot be attached to another principal by mistake, which a
    customer-managed policy could.
    """

    def __init__(self, name: str, args: RolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:security:PlatformRoles", name, None, opts)
        p = self._platform = args.platform
        lambda_trust = trust_policy("lambda.amazonaws.com", p)
        keys = FunctionKeys(data_key_arn=args.data_key_arn, logs_key_arn=args.logs_key_arn)
        policies = function_statements(p, args.network, keys)
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
        self.flow_logs_role = self._role(
            name,
            "flow-logs",
            "VPC flow logs deliver to CloudWatch Logs",
            trust_policy("vpc-flow-logs.amazonaws.com", p, p.arn("ec2", "vpc-flow-log/*")),
            flow_logs_statements(p, args.logs_key_arn),
        )
        self.register_outputs(
            {f"{c}_role_arn": r.arn for c, r in self.function_roles.items()}
            | {"flow_logs_role_arn": self.flow_logs_role.arn}
        )

    def _role(
        self,
        name: str,
        component: str,
        description: str,
        trust: dict[str, Any],
        statements: list[Statement],
    ) -> aws.iam.Role:
        physical = self._platform.name(f"{component}-role")
        role, _ = role_with_policy(
            self,
            f"{name}-{component}",
            physical,
            description,
            trust,
            statements,
            permissions_boundary=self._platform.role_boundary_arn,
        )
        return role


def role_with_policy(
    parent: pulumi.Resource,
    resource_name: str,
    physical: str,
    description: str,
    trust: pulumi.Input[dict[str, Any]],
    statements: pulumi.Input[list[Statement]],
    *,
    permissions_boundary: pulumi.Input[str] | None,
) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """A role with one-hour sessions and its inline policy (``<physical>-policy``): every role
    of the platform and of the account bootstrap is one.

    ``permissions_boundary`` is required so every caller decides: the platform's roles carry
    their environment's boundary (``Platform.role_boundary_arn``), without which security's
    deploy role may not create them or change their policy (IAM User Guide, "Permissions
    boundaries for IAM entities"); the account bootstrap's roles, made by the administrators,
    pass ``None``."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        resource_name,
        name=physical,
        description=description,
        assume_role_policy=pulumi.Output.json_dumps(trust),
        max_session_duration=3600,
        permissions_boundary=permissions_boundary,
        opts=child,
    )
    policy = aws.iam.RolePolicy(
        f"{resource_name}-policy",
        name=f"{physical}-policy",
        role=role.id,
        policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements}),
        opts=child,
    )
    return role, policy

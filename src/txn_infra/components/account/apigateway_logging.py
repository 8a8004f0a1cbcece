"""API Gateway's CloudWatch role, one setting per account and region, and the role it names.

Every REST API stage in the region writes its execution and access logs with this role, so it
belongs to no environment's stack: two environments' stacks would overwrite each other's
setting, and destroying one would take the role from the other's logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from txn_infra.components.account.documents import apigateway_cloudwatch_statements
from txn_infra.components.security import Platform
from txn_infra.components.security.iam_documents import trust_policy


@dataclass(frozen=True)
class ApiGatewayLoggingArgs:
    platform: Platform
    # The environments whose APIs run in this account and region.
    environments: Sequence[str]


class ApiGatewayLogging(pulumi.ComponentResource):
    """The role (trust: API Gateway for this account only), its inline policy, and the
    account-level ``cloudwatchRoleArn`` that points API Gateway at it."""

    def __init__(
        self, name: str, args: ApiGatewayLoggingArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:account:ApiGatewayLogging", name, None, opts)
        p = args.platform
        child = pulumi.ResourceOptions(parent=self)
        physical = p.name("apigateway-cloudwatch-role")
        self.role = aws.iam.Role(
            f"{name}-role",
            name=physical,
            description="API Gateway writes the platform's API logs (account-wide setting)",
            assume_role_policy=pulumi.Output.json_dumps(
                trust_policy("apigateway.amazonaws.com", p)
            ),
            max_session_duration=3600,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            name=f"{physical}-policy",
            role=self.role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": apigateway_cloudwatch_statements(p, args.environments),
                }
            ),
            opts=child,
        )
        # Setting the role makes API Gateway assume it and write to /aws/apigateway/welcome at
        # once: the policy must be in place first, or AWS answers "The role ARN does not have
        # required permissions". Destroying the setting resets it (pulumi-aws 7).
        aws.apigateway.Account(
            f"{name}-setting",
            cloudwatch_role_arn=self.role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.register_outputs({"apigateway_cloudwatch_role_arn": self.role.arn})

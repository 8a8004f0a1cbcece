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
from txn_infra.components.security.roles import role_with_policy
from txn_spec import naming


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
        self.role, policy = role_with_policy(
            self,
            f"{name}-role",
            naming.apigateway_cloudwatch_role(p.app, p.region),
            "API Gateway writes the platform's API logs (account-wide setting)",
            trust_policy("apigateway.amazonaws.com", p),
            apigateway_cloudwatch_statements(p, args.environments),
            # the administrators' role, not one security's deploy role may create
            permissions_boundary=None,
        )
        aws.apigateway.Account(
            f"{name}-setting",
            cloudwatch_role_arn=self.role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.register_outputs({"apigateway_cloudwatch_role_arn": self.role.arn})

"""What every key policy and role document is built from: where the platform lives (names
and ARNs of one environment) and the network ids its roles pin calls to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from txn_spec import shapes
from txn_spec.naming import (
    APIGATEWAY_EXECUTION_LOG_PREFIX,
    WAF_LOG_GROUP_PREFIX,
    function_log_group,
    log_group_prefix,
    physical_name,
    physical_name_pattern,
    role_boundary,
)

Statement = dict[str, Any]  # one statement of a key policy or of a role's policy
PARTITION = "aws"


# API Gateway names its execution log groups itself, after the API id and the stage. The id is
# not known when security deploys: any API's group of the platform's stage (not every API's and
# stage's in the account; dev and prod in one account still share the stage name).
APIGATEWAY_EXECUTION_LOGS = f"{APIGATEWAY_EXECUTION_LOG_PREFIX}*/{shapes.API_STAGE}"


def concat(*parts: pulumi.Input[str]) -> pulumi.Input[str]:
    """Join parts into a string, or an Output when any part is only known at deploy time."""
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)
    return pulumi.Output.concat(*parts)


def allow(
    sid: str | None,
    actions: str | Sequence[str],
    resources: pulumi.Input[str] | Sequence[pulumi.Input[str]] | None = None,
    condition: Mapping[str, Any] | None = None,
    *,
    principal: Mapping[str, Any] | None = None,
) -> Statement:
    """An Allow statement with its keys in AWS's order: ``principal`` for a key or trust
    policy, no ``resources`` for a trust policy (which governs only its own role)."""
    statement: Statement = {"Sid": sid} if sid else {}
    statement["Effect"] = "Allow"
    if principal is not None:
        statement["Principal"] = principal
    statement["Action"] = actions if isinstance(actions, str) else list(actions)
    if resources is not None:
        statement["Resource"] = (
            list(resources) if isinstance(resources, list | tuple) else resources
        )
    if condition:
        statement["Condition"] = condition
    return statement


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
        return concat(f"arn:{PARTITION}:{service}:{region}:", self.account_id, ":", resource)

    def service(self, name: str) -> str:
        """The regional endpoint name of a service, as ``kms:ViaService`` sees it."""
        return f"{name}.{self.region}.amazonaws.com"

    @property
    def root(self) -> pulumi.Input[str]:
        """The account principal: in a key policy it delegates to the account's IAM policies."""
        return self.arn("iam", "root", regional=False)

    @property
    def role_boundary_arn(self) -> pulumi.Input[str]:
        """The permissions boundary of this environment's roles (the account project's policy)."""
        return self.arn(
            "iam", f"policy/{role_boundary(self.app, self.environment)}", regional=False
        )

    def table_arn(self, shape: shapes.TableShape) -> pulumi.Input[str]:
        return self.arn("dynamodb", f"table/{self.name(shape.component)}")

    def queue_arn(self, shape: shapes.QueueShape) -> pulumi.Input[str]:
        return self.arn("sqs", self.name(shape.component))

    def topic_arn(self, shape: shapes.TopicShape) -> pulumi.Input[str]:
        return self.arn("sns", self.name(shape.component))

    @property
    def alarm_arn_pattern(self) -> pulumi.Input[str]:
        """Every CloudWatch alarm of this environment: alarms carry physical names too."""
        return self.arn("cloudwatch", f"alarm:{physical_name_pattern(self.app, self.environment)}")

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
    """What the roles need from ``network``: where ENIs go and the endpoints calls come through."""

    private_subnet_ids: pulumi.Input[Sequence[str]]
    function_security_group_id: pulumi.Input[str]
    # service name (sqs, sns, dynamodb, ...) -> VPC endpoint id
    endpoint_ids: Mapping[str, pulumi.Input[str]]

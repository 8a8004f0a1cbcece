"""VPC flow logs to a CMK-encrypted log group."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class FlowLogsArgs:
    vpc_id: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    log_group_name: str
    key_arn: pulumi.Input[str]
    retention_days: int
    deletion_protection: bool  # an audit log (PCI DSS 10.5.1's 12 months), refused deletion in prod


class VpcFlowLogs(pulumi.ComponentResource):
    """Every accepted and rejected flow of the VPC, to a CMK-encrypted log group."""

    def __init__(self, name: str, args: FlowLogsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:observability:VpcFlowLogs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.retention_days,
            deletion_protection_enabled=args.deletion_protection,
            kms_key_id=args.key_arn,
            opts=child,
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-vpc",
            vpc_id=args.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.log_group.arn,
            iam_role_arn=args.role_arn,
            max_aggregation_interval=60,
            opts=child,
        )
        self.register_outputs({"log_group_name": self.log_group.name})

"""An audit log group copied, event by event, to a central archive (PCI DSS 10.3.3).

A subscription filter with an empty pattern sends every event of the group to a CloudWatch Logs
*destination* in another account, the log archive's, in the group's region. No role is passed:
that works when the destination's access policy names this account as principal (CloudWatch
Logs API reference, PutSubscriptionFilter and PutDestinationPolicy). A destination shared with a
whole organisation needs a role in the sending account ("Create an IAM role", cross-account
subscriptions guide), which this setting does not take. What is copied is masked as the group
masks it: data protection masks at every egress, subscription filters included.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

EVERY_EVENT = ""  # a subscription filter's pattern that matches every event


def archive(
    name: str, group: aws.cloudwatch.LogGroup, destination_arn: str, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogSubscriptionFilter:
    """Copy every event of ``group`` to the archive's destination."""
    return aws.cloudwatch.LogSubscriptionFilter(
        name,
        name="audit-archive",
        log_group=group.name,
        destination_arn=destination_arn,
        filter_pattern=EVERY_EVENT,
        opts=opts,
    )


def same_region(destination_arn: str | None, region: str) -> None:
    """Refuse, at preview, a destination in another region than the groups' (AWS refuses it)."""
    elsewhere = destination_arn.split(":")[3] if destination_arn else region
    if elsewhere != region:
        raise ValueError(
            f"auditLogDestinationArn {destination_arn} is in {elsewhere}; "
            f"a subscription filter delivers only to a destination in its group's region "
            f"({region}): create the archive's destination there"
        )

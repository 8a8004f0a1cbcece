"""Who is told: the alarm topic and the email subscriptions to it and to the fraud alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from txn_infra.components.resource_policies import tls_only_topic_policy
from txn_spec import shapes

# What a person is emailed from the fraud-alerts topic: high-severity alerts only. Every alert
# stays on the topic for machine subscribers; at 1,000 TPS and a 2% flag rate one email per
# flagged transaction would be 20 a second, more than anyone reads (and $0.42 per million).
FRAUD_EMAIL_FILTER_POLICY = json.dumps(
    {shapes.ALERT_SEVERITY_ATTRIBUTE: [shapes.ALERT_SEVERITY_HIGH]}, sort_keys=True
)


@dataclass(frozen=True)
class NotificationsArgs:
    topic_name: str
    key_arn: pulumi.Input[str]
    alert_email: str
    fraud_alerts_topic_arn: pulumi.Input[str]
    fraud_alert_email: str
    region: str
    account_id: pulumi.Input[str]
    alarm_names: str  # this environment's alarms, as an ARN wildcard on their names ("txn-dev-*")


class Notifications(pulumi.ComponentResource):
    """The alarm topic (CMK) and the email subscriptions to it and to the fraud-alerts topic."""

    def __init__(
        self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:observability:Notifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{name}-alarms",
            name=args.topic_name,
            kms_master_key_id=args.key_arn,
            opts=child,
        )
        # Only this environment's alarms publish (CloudWatch's "Preventing confused deputy
        # issues": aws:SourceArn and aws:SourceAccount), the same alarms the topic's key admits;
        # the account's IAM principals keep what their own policies grant them.
        alarm_arns = pulumi.Output.concat(
            "arn:aws:cloudwatch:", args.region, ":", args.account_id, ":alarm:", args.alarm_names
        )
        aws.sns.TopicPolicy(
            f"{name}-alarms-policy",
            arn=self.topic.arn,
            policy=tls_only_topic_policy(
                self.topic.arn,
                {
                    "Sid": "ThisEnvironmentsAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {
                        "ArnLike": {"aws:SourceArn": alarm_arns},
                        "StringEquals": {"aws:SourceAccount": args.account_id},
                    },
                },
            ),
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-alarms-email",
            topic=self.topic.arn,
            protocol="email",
            endpoint=args.alert_email,
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-fraud-alerts-email",
            topic=args.fraud_alerts_topic_arn,
            protocol="email",
            endpoint=args.fraud_alert_email,
            filter_policy=FRAUD_EMAIL_FILTER_POLICY,
            filter_policy_scope="MessageAttributes",
            opts=child,
        )
        self.register_outputs({"alarm_topic_arn": self.topic.arn})

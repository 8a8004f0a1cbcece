"""Who is told: the alarm topic and the email subscriptions to it and to the fraud alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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

# The Sid of the topic policy's statement for EventBridge (control_changes.py publishes here).
EVENTBRIDGE_SID = "EventBridgeRulesOfThisAccountPublish"


def eventbridge_publishes(topic_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The topic policy's statement for EventBridge rules (the control-change rule), with no
    condition: AWS's EventBridge User Guide, "Using resource-based policies for Amazon
    EventBridge", Amazon SNS permissions: "You can't use Condition blocks in Amazon SNS topic
    policies for EventBridge". So it cannot name the rule (aws:SourceArn) as CloudWatch's
    statement names the alarms. What it admits is EventBridge publishing as its service
    principal, as it does for a rule of this account whose target has no role. AWS documents a
    rule of another account delivering to a topic only through an execution role of that
    account ("Sending events to an AWS service in another account"), an IAM principal this
    policy does not name. Who may point a rule of this account at the topic is whoever IAM lets
    call events:PutTargets: of the deploy roles, observability's, on its own rule only
    (deploy_grants.yaml)."""
    return {
        "Sid": EVENTBRIDGE_SID,
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic_arn,
    }


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
        # issues": aws:SourceArn and aws:SourceAccount), the same alarms the topic's key admits,
        # and EventBridge for this account's rules (the control-change rule; no condition is
        # possible there, eventbridge_publishes); the account's IAM principals keep what their
        # own policies grant them.
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
                eventbridge_publishes(self.topic.arn),
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

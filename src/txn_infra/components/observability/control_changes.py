"""Who switched a security control off: an EventBridge rule on the CloudTrail calls that do it.

The alarms see a disabled control by its effect, minutes later (no WAF metrics, no log events).
This rule sees the API call itself (PCI DSS 10.3.4: audit logs cannot be changed without an
alert; 10.7.2: a failed security control is detected) and sends the event to the alarm topic,
so on-call is told as by an alarm, with the caller, the call and where it came from
(``docs/runbooks.md#security-control-changed``).

What AWS documents, and what is taken from it:

- EventBridge User Guide, "AWS service events delivered via AWS CloudTrail" and "Events from
  AWS services": CloudTrail sends "AWS API Call via CloudTrail" events to the *default* event
  bus, and "a CloudTrail trail with logging enabled is required" for them. The platform does
  not create the trail (docs/deploy.md section 1); without one logging management events in
  this Region, this rule never fires. Delivery is best effort.
- EventBridge User Guide, "Tutorial: Create an Amazon EventBridge rule for AWS CloudTrail API
  calls": rules work only in the Region where they are created; a call made in another Region
  (a multi-Region trail changed from its home Region elsewhere, an organisation trail changed in
  the management account) is not seen here.
- EventBridge User Guide, "Receiving read-only management events from AWS services": a rule in
  the ``ENABLED`` state matches every CloudTrail management event but the read-only ones. Every
  call below changes something, so ``ENABLED`` is enough.
- EventBridge events reference, one page per service: ``source`` ``aws.<service>`` and
  ``detail.eventSource`` ``<service>.amazonaws.com`` for the events CloudTrail delivers
  (``aws.wafv2``, ``aws.logs``, ``aws.ec2``, ``aws.kms``, ``aws.cloudtrail``), and an
  ``eventName`` array to match specific calls. Values in a pattern's array match any of them;
  the fields of a pattern must all match ("Event pattern syntax", "Arrays in event patterns").
- EventBridge quotas: an event pattern is at most 2,048 characters.

The pattern lists the sources, event sources and call names as three flat arrays, the only
pattern features used (documented longest, and what the test's matcher evaluates). The arrays
are independent, so a listed name would also match where another listed service had a call of
that name; none is listed twice, and none of these services has a call named like another's
that we know of.

Deploys are not excluded. The deploy roles are the principals that may make most of these calls
(stacks/account/deploy-permissions.json), so excluding them would exclude the likeliest way a
control goes off; a deploy that deletes a log group or changes a key policy is itself a control
change PCI DSS 10.3.4 wants alerted; and a deploy makes these calls only when it creates,
changes or destroys such a resource, not on every run. The runbook says how to tell a reviewed
deploy (its session names the CI run or the person) from anything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from txn_infra.components.observability.watched import runbook_link

CLOUDTRAIL_API_CALL = "AWS API Call via CloudTrail"
# EventBridge quotas, "Event pattern size".
MAX_PATTERN_CHARACTERS = 2048

# The calls that switch one of this platform's security controls off or weaken it, by the
# CloudTrail event source of the service that receives them (each service's EventBridge source
# is aws.<the same name>).
CONTROL_CALLS: Mapping[str, tuple[str, ...]] = {
    # WAF in front of the stage (edge): taken away, its log stopped, or deleted
    "wafv2.amazonaws.com": ("DisassociateWebACL", "DeleteLoggingConfiguration", "DeleteWebACL"),
    # the audit and function log groups: deleted, kept shorter (or for ever), unprotected,
    # no longer encrypted with the logs key, unmasked, no longer copied to the archive
    "logs.amazonaws.com": (
        "DeleteLogGroup",
        "PutRetentionPolicy",
        "DeleteRetentionPolicy",
        "PutLogGroupDeletionProtection",
        "DisassociateKmsKey",
        "DeleteDataProtectionPolicy",
        "DeleteSubscriptionFilter",
    ),
    # the VPC flow log (observability)
    "ec2.amazonaws.com": ("DeleteFlowLogs",),
    # the data and logs keys (security): disabled, deleted, no longer rotated, re-policed. The
    # alarms key encrypts the topic these alerts go to: a call that disables it or drops
    # EventBridge from its policy also refuses the alert about itself (SNS: KMSDisabledException,
    # KMSInvalidStateException), so it is watched from elsewhere (stacks/observability/README)
    "kms.amazonaws.com": (
        "DisableKey",
        "ScheduleKeyDeletion",
        "DisableKeyRotation",
        "PutKeyPolicy",
    ),
    # the account's trail, which every other audit question depends on
    "cloudtrail.amazonaws.com": ("StopLogging", "DeleteTrail", "PutEventSelectors", "UpdateTrail"),
}


def event_bridge_source(event_source: str) -> str:
    """The EventBridge ``source`` of a service's CloudTrail events: ``aws.<service>``."""
    return "aws." + event_source.removesuffix(".amazonaws.com")


def control_change_pattern(calls: Mapping[str, tuple[str, ...]] = CONTROL_CALLS) -> dict[str, Any]:
    """The event pattern: CloudTrail's API call events of these services, for these calls."""
    return {
        "source": [event_bridge_source(s) for s in calls],
        "detail-type": [CLOUDTRAIL_API_CALL],
        "detail": {
            "eventSource": list(calls),
            "eventName": [name for names in calls.values() for name in names],
        },
    }


@dataclass(frozen=True)
class ControlChangesArgs:
    rule_name: str
    topic_arn: pulumi.Input[str]  # the alarm topic, whose policy admits events.amazonaws.com


class ControlChangeAlerts(pulumi.ComponentResource):
    """A rule on the default event bus for the calls that switch a control off, to the alarm
    topic. The target has no role: EventBridge publishes to SNS under the topic's policy
    ("Using resource-based policies for Amazon EventBridge"), which, like the alarms key's
    policy, names ``events.amazonaws.com`` (notifications.py, security's key_policies.py)."""

    def __init__(
        self, name: str, args: ControlChangesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:observability:ControlChangeAlerts", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        services = ", ".join(s.removesuffix(".amazonaws.com") for s in CONTROL_CALLS)
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            name=args.rule_name,
            description=(
                f"A call that switches a security control off ({services}), from CloudTrail "
                f"(PCI DSS 10.3.4, 10.7.2). {runbook_link('security-control-changed')}"
            ),
            event_pattern=json.dumps(control_change_pattern(), separators=(",", ":")),
            state="ENABLED",
            opts=child,
        )
        # The whole event, untransformed: the CloudTrail record in `detail` is what the runbook
        # reads (userIdentity, eventName, requestParameters, sourceIPAddress, errorCode).
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-alarm-topic",
            rule=self.rule.name,
            arn=args.topic_arn,
            target_id="alarm-topic",
            opts=child,
        )
        self.register_outputs({"rule_arn": self.rule.arn})

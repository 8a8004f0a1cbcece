"""observability: an EventBridge rule on the CloudTrail calls that switch a security control
off (PCI DSS 10.3.4, 10.7.2), published to the alarm topic, which EventBridge may publish to
under the topic's policy and the alarms key's.

The rule's pattern is evaluated on sample CloudTrail events by a matcher of the pattern
features it uses (exact values in arrays, nested objects: EventBridge User Guide, "Event pattern
syntax" and "Arrays in event patterns"); the matcher refuses any other feature, so a pattern
that grows one is tested only once the matcher knows it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.stacks.test_observability import runbook_anchors
from txn_infra import deploy_permissions
from txn_infra.components.observability.control_changes import MAX_PATTERN_CHARACTERS
from txn_infra.offline import ACCOUNT_ID, LayerRun

RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
REGION = "us-east-2"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:txn-dev-alarms"
API_CALL = "AWS API Call via CloudTrail"

# The calls that switch this platform's controls off, by the service CloudTrail names
# (issue: "alerts on switching controls off", docs/pci-dss.md). Typed here, not imported: a
# call dropped from the component's list fails its case below.
REQUIRED_CALLS = [
    ("wafv2.amazonaws.com", "DisassociateWebACL"),
    ("wafv2.amazonaws.com", "DeleteLoggingConfiguration"),
    ("wafv2.amazonaws.com", "DeleteWebACL"),
    ("logs.amazonaws.com", "DeleteLogGroup"),
    ("logs.amazonaws.com", "PutRetentionPolicy"),
    ("logs.amazonaws.com", "DeleteRetentionPolicy"),
    ("logs.amazonaws.com", "PutLogGroupDeletionProtection"),
    ("logs.amazonaws.com", "DisassociateKmsKey"),
    ("logs.amazonaws.com", "DeleteDataProtectionPolicy"),
    ("logs.amazonaws.com", "DeleteSubscriptionFilter"),
    ("ec2.amazonaws.com", "DeleteFlowLogs"),
    ("kms.amazonaws.com", "DisableKey"),
    ("kms.amazonaws.com", "ScheduleKeyDeletion"),
    ("kms.amazonaws.com", "DisableKeyRotation"),
    ("kms.amazonaws.com", "PutKeyPolicy"),
    ("cloudtrail.amazonaws.com", "StopLogging"),
    ("cloudtrail.amazonaws.com", "DeleteTrail"),
    ("cloudtrail.amazonaws.com", "PutEventSelectors"),
    ("cloudtrail.amazonaws.com", "UpdateTrail"),
]
# Calls of the same services that switch nothing off: writing logs, creating or enabling a
# control, using a key.
ORDINARY_CALLS = [
    ("logs.amazonaws.com", "PutLogEvents"),
    ("logs.amazonaws.com", "CreateLogGroup"),
    ("logs.amazonaws.com", "PutDataProtectionPolicy"),
    ("wafv2.amazonaws.com", "AssociateWebACL"),
    ("ec2.amazonaws.com", "CreateFlowLogs"),
    ("kms.amazonaws.com", "Decrypt"),
    ("kms.amazonaws.com", "EnableKey"),
    ("kms.amazonaws.com", "CancelKeyDeletion"),
    ("cloudtrail.amazonaws.com", "StartLogging"),
]


@pytest.fixture(scope="module")
def obs(system: dict[str, LayerRun]) -> LayerRun:
    return system["observability"]


def pattern(rule: Any) -> dict[str, Any]:
    return json.loads(rule.inputs["eventPattern"])


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching for the features the rule uses: every field of the pattern must
    be in the event with the same nesting; an array of values matches when the event's value is
    one of them (or, for an event array, when the two share a value)."""
    if isinstance(pattern, dict):
        if not isinstance(event, dict):
            return False
        return all(key in event and matches(value, event[key]) for key, value in pattern.items())
    assert isinstance(pattern, list), f"a pattern's leaf is an array, not {pattern!r}"
    unknown = [value for value in pattern if not isinstance(value, str)]
    assert not unknown, f"content filters the matcher does not evaluate: {unknown}"
    values = event if isinstance(event, list) else [event]
    return any(value in pattern for value in values)


def cloudtrail_event(
    event_source: str, event_name: str, detail_type: str = API_CALL, **detail: Any
) -> dict[str, Any]:
    """An event as CloudTrail delivers it to the default bus: EventBridge's envelope around the
    CloudTrail record (here a console session's call)."""
    service = event_source.removesuffix(".amazonaws.com")
    return {
        "version": "0",
        "id": "6f87d04b-9f74-4f04-a780-7acf4b0a9b74",
        "detail-type": detail_type,
        "source": f"aws.{service}",
        "account": ACCOUNT_ID,
        "time": "2026-12-07T10:15:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.10",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:alice",
                "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/AWSReservedSSO_Admin_0123/alice",
                "accountId": ACCOUNT_ID,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/AWSReservedSSO_Admin_0123",
                        "userName": "AWSReservedSSO_Admin_0123",
                    }
                },
            },
            "eventTime": "2026-12-07T10:15:00Z",
            "eventSource": event_source,
            "eventName": event_name,
            "awsRegion": REGION,
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.22.0",
            "requestParameters": {},
            "responseElements": None,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT_ID,
            "eventCategory": "Management",
            **detail,
        },
    }


def test_one_enabled_rule_on_the_default_bus_named_by_the_naming_function(
    obs: LayerRun, prod_system: dict[str, LayerRun]
) -> None:
    (rule,) = obs.of_type(RULE)
    assert rule.inputs["name"] == "txn-dev-control-changes"
    # AWS services' events, CloudTrail's among them, go to the default bus only
    assert rule.inputs.get("eventBusName") in (None, "default")
    # ENABLED matches every CloudTrail management event but the read-only ones, and none of
    # these calls reads: nothing needs ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
    assert rule.inputs["state"] == "ENABLED"
    assert "roleArn" not in rule.inputs
    (prod,) = prod_system["observability"].of_type(RULE)
    assert prod.inputs["name"] == "txn-prod-control-changes"


@pytest.mark.parametrize(("event_source", "event_name"), REQUIRED_CALLS)
def test_every_call_that_switches_a_control_off_matches(
    obs: LayerRun, event_source: str, event_name: str
) -> None:
    (rule,) = obs.of_type(RULE)
    assert matches(pattern(rule), cloudtrail_event(event_source, event_name))
    # a refused call too: someone tried (errorCode says so, and the runbook reads it)
    refused = cloudtrail_event(event_source, event_name, errorCode="AccessDenied")
    assert matches(pattern(rule), refused)


@pytest.mark.parametrize(("event_source", "event_name"), ORDINARY_CALLS)
def test_an_ordinary_call_of_the_same_services_does_not_match(
    obs: LayerRun, event_source: str, event_name: str
) -> None:
    (rule,) = obs.of_type(RULE)
    assert not matches(pattern(rule), cloudtrail_event(event_source, event_name))


def test_only_cloudtrail_api_calls_of_the_platforms_services_match(obs: LayerRun) -> None:
    (rule,) = obs.of_type(RULE)
    found = pattern(rule)
    # a listed name under another detail-type, or from classic WAF (not the platform's)
    console = cloudtrail_event(
        "kms.amazonaws.com", "DisableKey", "AWS Console Action via CloudTrail"
    )
    assert not matches(found, console)
    classic = cloudtrail_event("waf.amazonaws.com", "DeleteWebACL")
    assert not matches(found, classic)
    # the whole pattern is the three arrays of the listed calls, nothing wider
    assert found["detail-type"] == [API_CALL]
    assert sorted(found["detail"]["eventSource"]) == sorted({s for s, _ in REQUIRED_CALLS})
    assert sorted(found["source"]) == sorted({f"aws.{s.split('.')[0]}" for s, _ in REQUIRED_CALLS})
    assert sorted(found["detail"]["eventName"]) == sorted(n for _, n in REQUIRED_CALLS)
    assert set(found) == {"source", "detail-type", "detail"}
    assert set(found["detail"]) == {"eventSource", "eventName"}


def test_the_pattern_fits_eventbridges_limit(obs: LayerRun) -> None:
    (rule,) = obs.of_type(RULE)
    # EventBridge quotas: an event pattern is at most 2,048 characters
    assert len(rule.inputs["eventPattern"]) <= MAX_PATTERN_CHARACTERS == 2048


def test_the_rule_sends_the_whole_event_to_the_alarm_topic_like_an_alarm(obs: LayerRun) -> None:
    (rule,) = obs.of_type(RULE)
    (target,) = obs.of_type(TARGET)
    topic = obs.one("aws:sns/topic:Topic").outputs["arn"]
    assert topic == TOPIC
    assert target.inputs["rule"] == rule.inputs["name"]
    assert target.inputs["arn"] == topic
    # no role: EventBridge publishes to SNS under the topic's policy; no transformer, so the
    # CloudTrail record the runbook reads arrives whole
    assert not {"roleArn", "input", "inputPath", "inputTransformer"} & set(target.inputs)
    assert rule.inputs["description"].endswith("Runbook: docs/runbooks.md#security-control-changed")
    assert "security-control-changed" in runbook_anchors()


def test_the_alarm_topic_admits_eventbridge_with_no_condition(obs: LayerRun) -> None:
    """GIVEN the rule publishes as events.amazonaws.com WHEN the topic policy admits it THEN
    for sns:Publish on this topic and with no Condition block: the EventBridge User Guide says
    "You can't use Condition blocks in Amazon SNS topic policies for EventBridge", so a
    statement for this rule only (aws:SourceArn) would refuse every delivery. What keeps other
    rules out is IAM (who may call events:PutTargets) and, for other accounts, that AWS
    documents their delivery only through a role of their own (ADR 0009, amendment)."""
    (policy,) = obs.of_type("aws:sns/topicPolicy:TopicPolicy")
    document = json.loads(policy.inputs["policy"])["Statement"]
    events = [s for s in document if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert events == [
        {
            "Sid": "EventBridgeRulesOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": TOPIC,
        }
    ]
    # and the request without TLS is still refused, EventBridge's included
    (deny,) = [s for s in document if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*"


def test_the_alarms_key_lets_eventbridge_encrypt_for_the_topic_the_rule_targets(
    system: dict[str, LayerRun],
) -> None:
    """The key the topic uses (security's) admits EventBridge for that topic's messages: a key
    that refused it would let the rule fire and deliver nothing (as ADR 0009 says of alarms)."""
    security, obs = system["security"], system["observability"]
    key = security.one("aws:kms/key:Key", "keys-alarms")
    topic = obs.one("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]
    (events,) = [
        s
        for s in json.loads(key.inputs["policy"])["Statement"]
        if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    (target,) = obs.of_type(TARGET)
    context = events["Condition"]["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"]
    assert context == target.inputs["arn"] == topic.outputs["arn"]
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(events["Action"])


def test_observabilitys_deploy_role_manages_this_rule_and_its_targets_only() -> None:
    statements = deploy_permissions.load()["observability"]
    granted: dict[str, set[str]] = {}
    for statement in statements:
        for action in statement["Action"]:
            if action.startswith("events:"):
                resources = statement["Resource"]
                granted.setdefault(action, set()).update(
                    resources if isinstance(resources, list) else [resources]
                )
    rules = {
        f"arn:aws:events:{{region}}:{{account}}:rule/txn-{stack}-control-changes"
        for stack in ("dev", "prod")
    }
    actions = (
        "events:PutRule",
        "events:DescribeRule",
        "events:DeleteRule",
        "events:ListTagsForResource",
        "events:TagResource",
        "events:UntagResource",
        "events:PutTargets",
        "events:RemoveTargets",
        "events:ListTargetsByRule",
    )
    assert granted == dict.fromkeys(actions, rules)
    # neither the rule nor its target passes a role, so no role is passed to EventBridge
    passed = {
        json.dumps(s.get("Condition", {}).get("StringEquals", {}).get("iam:PassedToService"))
        for s in statements
        if "iam:PassRole" in s["Action"]
    }
    assert passed
    assert not any("events.amazonaws.com" in service for service in passed)

"""Fraud-alert severity end to end under moto: the attribute the publisher sets is the one the
observability layer's email subscription filters on, so only high-severity alerts reach a person
while a machine subscriber still receives every alert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from txn_adapters.alerts import AlertsPublisher, severity
from txn_infra.components.observability import FRAUD_EMAIL_FILTER_POLICY

REGION = "us-east-2"


def alert(txn: str, score: int, rules: list[str]) -> dict[str, Any]:
    return {
        "type": "fraud_alert",
        "transaction_id": txn,
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card": "411111******1111",
        "score": score,
        "matched_rules": rules,
        "rules_version": "test",
        "timestamp": "2026-11-30T12:00:00Z",
    }


BLOCKLISTED = alert("txn_blocklisted", 100, ["blocklist-bin"])
STRONG = alert("txn_strong", 110, ["card-count-1m", "impossible-travel"])
VELOCITY = alert("txn_velocity", 60, ["card-testing-card"])


@pytest.mark.parametrize(
    ("given", "expected"), [(BLOCKLISTED, "high"), (STRONG, "high"), (VELOCITY, "normal")]
)
def test_severity_is_high_for_a_blocklist_match_or_a_score_of_100(given, expected) -> None:
    assert severity(given) == expected


@pytest.fixture
def topic() -> Iterator[dict[str, Any]]:
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        arn = sns.create_topic(Name="fraud-alerts")["TopicArn"]
        inboxes = {}
        for name, policy in (("person", FRAUD_EMAIL_FILTER_POLICY), ("machine", None)):
            url = sqs.create_queue(QueueName=f"alerts-{name}")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            attributes = {"RawMessageDelivery": "true"}
            if policy:
                attributes |= {"FilterPolicy": policy, "FilterPolicyScope": "MessageAttributes"}
            sns.subscribe(
                TopicArn=arn,
                Protocol="sqs",
                Endpoint=queue_arn["Attributes"]["QueueArn"],
                Attributes=attributes,
            )
            inboxes[name] = url
        yield {"sns": sns, "sqs": sqs, "arn": arn, "inboxes": inboxes}


def received(sqs: Any, url: str) -> set[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return {json.loads(m["Body"])["transaction_id"] for m in messages}


def test_the_email_filter_lets_through_only_high_severity_alerts(topic) -> None:
    failed = AlertsPublisher(topic["sns"], topic["arn"]).publish([BLOCKLISTED, STRONG, VELOCITY])

    assert failed == []
    assert received(topic["sqs"], topic["inboxes"]["person"]) == {"txn_blocklisted", "txn_strong"}
    assert received(topic["sqs"], topic["inboxes"]["machine"]) == {
        "txn_blocklisted",
        "txn_strong",
        "txn_velocity",
    }

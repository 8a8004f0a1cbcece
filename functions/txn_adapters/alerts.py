"""Fraud alerts on the SNS topic: one PublishBatch per ten alerts, each with its severity.

Every flagged transaction is published (machines subscribe to all of them); the ``severity``
message attribute lets a subscription filter keep only what a person must read now: a
blocklist match, or a score far above the flag threshold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import translate
from txn_spec.shapes import ALERT_SEVERITY_ATTRIBUTE, ALERT_SEVERITY_HIGH, ALERT_SEVERITY_NORMAL

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import PublishBatchRequestEntryTypeDef

    from txn_domain.fraud import FraudAlert

# Scores add rule weights; a transaction is flagged from 60. 100 takes a blocklist match or at
# least two strong signals together (e.g. a card burst and impossible travel).
HIGH_SEVERITY_SCORE = 100
BLOCKLIST_RULE_PREFIX = "blocklist-"


def severity(alert: FraudAlert) -> str:
    """``high`` for a blocklist match or a score of at least HIGH_SEVERITY_SCORE."""
    rules = alert.get("matched_rules") or ()
    if alert.get("score", 0) >= HIGH_SEVERITY_SCORE or any(
        rule.startswith(BLOCKLIST_RULE_PREFIX) for rule in rules
    ):
        return ALERT_SEVERITY_HIGH
    return ALERT_SEVERITY_NORMAL


class AlertsPublisher:
    def __init__(self, sns: SNSClient, topic_arn: str):
        self._sns = sns
        self._topic = topic_arn

    def publish(self, alerts: Sequence[FraudAlert]) -> list[str]:
        """Publish alerts (each with a ``transaction_id``); returns the ids that failed."""
        failed: list[str] = []
        for start in range(0, len(alerts), 10):
            chunk = alerts[start : start + 10]
            entries: list[PublishBatchRequestEntryTypeDef] = [
                {
                    "Id": str(i),
                    "Subject": "Fraud alert",
                    "Message": json.dumps(alert, separators=(",", ":")),
                    "MessageAttributes": {
                        "merchant_id": {"DataType": "String", "StringValue": alert["merchant_id"]},
                        ALERT_SEVERITY_ATTRIBUTE: {
                            "DataType": "String",
                            "StringValue": severity(alert),
                        },
                    },
                }
                for i, alert in enumerate(chunk)
            ]
            try:
                response = self._sns.publish_batch(
                    TopicArn=self._topic, PublishBatchRequestEntries=entries
                )
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "publishing fraud alerts") from exc
            failed.extend(chunk[int(f["Id"])]["transaction_id"] for f in response.get("Failed", []))
        return failed

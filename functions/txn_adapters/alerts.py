"""Fraud alerts on the SNS topic: one PublishBatch per ten alerts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import translate


class AlertsPublisher:
    def __init__(self, sns: Any, topic_arn: str):
        self._sns = sns
        self._topic = topic_arn

    def publish(self, alerts: Sequence[dict[str, Any]]) -> list[str]:
        """Publish alerts (each with a ``transaction_id``); returns the ids that failed."""
        failed: list[str] = []
        for start in range(0, len(alerts), 10):
            chunk = alerts[start : start + 10]
            entries = [
                {
                    "Id": str(i),
                    "Subject": "Fraud alert",
                    "Message": json.dumps(alert, separators=(",", ":")),
                    "MessageAttributes": {
                        "merchant_id": {"DataType": "String", "StringValue": alert["merchant_id"]},
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

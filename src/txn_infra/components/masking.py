"""Card data masked in a log group: a CloudWatch Logs data protection policy.

Every group that may see card data is in the Standard log class. AWS's masking guide now lists
the Infrequent Access class too, but that class's Logs Insights has no ``unmask`` ("Logs
Insights QL commands supported in log classes"), and the card-data runbook needs it. A second line
of defence behind the code's own masking. The audit statement sends its findings nowhere (a
CloudWatch Logs destination would need the account-wide logs:PutResourcePolicy in every deploy
role that masks a group); each log event with a finding counts in ``AWS/Logs``
``LogEventsWithFindings``, which observability's ``card-data-in-logs`` alarm pages on.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

# Managed data identifiers audited and masked.
CARD_DATA_IDENTIFIERS = ("CreditCardNumber", "CreditCardExpiration", "CreditCardSecurityCode")


def card_masking_policy(log_group_name: str) -> str:
    """A CloudWatch Logs data protection policy: audit and mask card data in a log group."""
    identifiers = [
        f"arn:aws:dataprotection::aws:data-identifier/{i}" for i in CARD_DATA_IDENTIFIERS
    ]
    return json.dumps(
        {
            "Name": "mask-card-data",
            "Description": f"Audit and mask card data written to {log_group_name}",
            "Version": "2021-06-01",
            "Statement": [
                {
                    "Sid": "audit-card-data",
                    "DataIdentifier": identifiers,
                    "Operation": {"Audit": {"FindingsDestination": {}}},
                },
                {
                    "Sid": "mask-card-data",
                    "DataIdentifier": identifiers,
                    "Operation": {"Deidentify": {"MaskConfig": {}}},
                },
            ],
        },
        sort_keys=True,
    )


def mask_card_data(
    name: str, group: aws.cloudwatch.LogGroup, opts: pulumi.ResourceOptions
) -> aws.cloudwatch.LogDataProtectionPolicy:
    """The data protection policy of ``group``."""
    return aws.cloudwatch.LogDataProtectionPolicy(
        name,
        log_group_name=group.name,
        policy_document=group.name.apply(card_masking_policy),
        opts=opts,
    )

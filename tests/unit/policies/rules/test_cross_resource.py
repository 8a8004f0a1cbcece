"""Cross-resource rules (ADR 0002, ADR 0007): visibility covers the consumer, concurrency, DLQ."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.policies.rules.conftest import (
    ACCOUNT,
    QUEUE_ARN,
    Case,
    case_id,
    fails_with_the_fix,
    function,
    passes,
    res,
)
from txn_policies import rules
from txn_policies.rules.model import EVENT_SOURCE_MAPPING, QUEUE, REDRIVE_POLICY
from txn_policies.view import UNKNOWN, ResourceView, UnknownValueError, urn_of

DLQ_ARN = f"arn:aws:sqs:us-east-2:{ACCOUNT}:txn-dev-transactions-dlq"
DAY = 86_400


def queue(name: str, arn: str, **props: Any) -> ResourceView:
    return res(QUEUE, name, name=name, arn=arn, **props)


def mapping(**props: Any) -> ResourceView:
    defaults: dict[str, Any] = {
        "eventSourceArn": QUEUE_ARN,
        "functionName": "txn-dev-fraud-detector",
        "functionResponseTypes": ["ReportBatchItemFailures"],
        "scalingConfig": {"maximumConcurrency": 100},
    }
    return res(EVENT_SOURCE_MAPPING, "esm", **{**defaults, **props})


CASES = [
    Case(
        "sqs-visibility-covers-consumer",
        [
            queue("txn-dev-transactions", QUEUE_ARN, visibilityTimeoutSeconds=300),
            function(),
            mapping(),
        ],
        [
            queue("txn-dev-transactions", QUEUE_ARN, visibilityTimeoutSeconds=120),
            function(),
            mapping(),
        ],
        "visibility 120s < 6 x txn-dev-fraud-detector timeout 50s + window 0s = 300s",
    ),
    Case(
        # The compute stack alone: the queue's visibility comes from the shapes (300 s).
        "sqs-visibility-covers-consumer",
        [function(timeout=50), mapping(maximumBatchingWindowInSeconds=0)],
        [function(timeout=50), mapping(maximumBatchingWindowInSeconds=5)],
        "transactions (shapes) visibility 300s",
    ),
    Case(
        # The data stack alone: the consumer's timeout comes from the shapes (50 s).
        "sqs-visibility-covers-consumer",
        [queue("txn-dev-transactions", QUEUE_ARN, visibilityTimeoutSeconds=300)],
        [queue("txn-dev-transactions", QUEUE_ARN, visibilityTimeoutSeconds=200)],
        "(shapes) = 300s",
    ),
    Case(
        "esm-concurrency-within-reserved",
        [function(reservedConcurrentExecutions=100), mapping()],
        [function(reservedConcurrentExecutions=50), mapping()],
        "maximum concurrency 100 > txn-dev-fraud-detector reserved 50",
    ),
    Case(
        "esm-concurrency-within-reserved",
        [function(reservedConcurrentExecutions=-1), mapping(scalingConfig=None)],
        [function(reservedConcurrentExecutions=100), mapping(scalingConfig=None)],
        "no maximum concurrency",
    ),
    Case(
        "esm-partial-batch-failures",
        [mapping()],
        [mapping(functionResponseTypes=[])],
        "ReportBatchItemFailures",
    ),
    Case(
        "dlq-retention-exceeds-source",
        [
            queue(
                "txn-dev-transactions",
                QUEUE_ARN,
                messageRetentionSeconds=4 * DAY,
                redrivePolicy=json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5}),
            ),
            queue("txn-dev-transactions-dlq", DLQ_ARN, messageRetentionSeconds=14 * DAY),
        ],
        [
            queue(
                "txn-dev-transactions",
                QUEUE_ARN,
                messageRetentionSeconds=4 * DAY,
                redrivePolicy=json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5}),
            ),
            queue("txn-dev-transactions-dlq", DLQ_ARN, messageRetentionSeconds=4 * DAY),
        ],
        "its DLQ txn-dev-transactions-dlq only 345600s",
    ),
    Case(
        # Equal only at the 14-day maximum; the DLQ paired by dependency while its ARN is unknown.
        "dlq-retention-exceeds-source",
        [
            res(
                QUEUE,
                "dlq",
                name="txn-dev-transactions-dlq",
                arn=UNKNOWN,
                messageRetentionSeconds=14 * DAY,
                redrivePolicy=UNKNOWN,
                deps={"redrivePolicy": {urn_of(QUEUE, "parking")}},
            ),
            res(
                QUEUE,
                "parking",
                name="txn-dev-transactions-parking",
                arn=UNKNOWN,
                messageRetentionSeconds=14 * DAY,
            ),
        ],
        [
            res(
                REDRIVE_POLICY,
                queueUrl="https://sqs/txn-dev-transactions",
                redrivePolicy=json.dumps({"deadLetterTargetArn": DLQ_ARN}),
            ),
            res(
                QUEUE,
                "q",
                name="txn-dev-transactions",
                url="https://sqs/txn-dev-transactions",
                messageRetentionSeconds=7 * DAY,
            ),
            queue("txn-dev-transactions-dlq", DLQ_ARN, messageRetentionSeconds=7 * DAY),
        ],
        "only 604800s",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)


def test_a_check_needing_an_unknown_value_says_so() -> None:
    with pytest.raises(UnknownValueError, match="eventSourceArn"):
        rules.by_name("sqs-visibility-covers-consumer").evaluate([mapping(eventSourceArn=UNKNOWN)])


def test_a_mapping_on_an_alias_is_checked_against_the_functions_own_settings() -> None:
    # GIVEN a mapping that targets the live alias (SnapStart) of a function reserving only 50,
    # whose own name the shapes would not have told apart from the real fraud detector
    alias = f"arn:aws:lambda:us-east-2:{ACCOUNT}:function:txn-dev-fraud-detector:live"
    resources = [function(reservedConcurrentExecutions=50), mapping(functionName=alias)]
    # THEN the function's own reserved concurrency, not the shapes' 100, is what it is held to
    violations = rules.by_name("esm-concurrency-within-reserved").evaluate(resources)
    assert [v.message for v in violations] == [
        "maximum concurrency 100 > txn-dev-fraud-detector reserved 50; "
        "fix: scaling_config maximum_concurrency <= 50"
    ]

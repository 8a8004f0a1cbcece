"""DynamoDB recovery, billing and retention: point-in-time recovery, on-demand capacity, TTL."""

from __future__ import annotations

import pytest

from tests.unit.policies.rules.conftest import Case, case_id, fails_with_the_fix, passes, res
from txn_policies.rules.model import TABLE
from txn_spec import shapes

ON_DEMAND = {"billingMode": "PAY_PER_REQUEST", "pointInTimeRecovery": {"enabled": True}}
EXP = shapes.TRANSACTION_EXPIRY

CASES = [
    Case(
        "dynamodb-point-in-time-recovery",
        [res(TABLE, pointInTimeRecovery={"enabled": True})],
        [res(TABLE, pointInTimeRecovery={"enabled": False})],
        "point-in-time recovery off",
    ),
    Case(
        "dynamodb-on-demand",
        [res(TABLE, name="txn-prod-merchants", **ON_DEMAND)],
        [res(TABLE, name="txn-prod-merchants", billingMode="PROVISIONED", readCapacity=5)],
        "uses billing mode PROVISIONED",
    ),
    Case(
        # a queue-fed table too, however it scales: ADR 0005's exception is gone
        "dynamodb-on-demand",
        [res(TABLE, "transactions-table", name="txn-prod-transactions", **ON_DEMAND)],
        [
            res(
                TABLE,
                "transactions-table",
                name="txn-prod-transactions",
                billingMode="PROVISIONED",
                readCapacity=25,
                writeCapacity=50,
                globalSecondaryIndexes=[
                    {"name": "review-by-merchant", "readCapacity": 5, "writeCapacity": 5}
                ],
            ),
            res(
                "aws:appautoscaling/target:Target",
                "transactions-write-target",
                serviceNamespace="dynamodb",
                resourceId="table/txn-prod-transactions",
                scalableDimension="dynamodb:table:WriteCapacityUnits",
            ),
        ],
        "uses billing mode PROVISIONED",
    ),
    Case(
        # no billing mode at all is the provider's default: provisioned
        "dynamodb-on-demand",
        [res(TABLE, name="txn-dev-velocity", billingMode="PAY_PER_REQUEST")],
        [res(TABLE, name="txn-dev-velocity")],
        "uses billing mode PROVISIONED",
    ),
    Case(
        # PCI DSS 3.2.1: a table that holds card data deletes it when its items expire
        "dynamodb-expires-what-it-holds",
        [
            res(TABLE, name="txn-prod-transactions", ttl={"enabled": True, "attributeName": EXP}),
            res(TABLE, name="txn-prod-merchants"),  # its shape declares no expiry
            res(TABLE, name="someone-elses-table"),  # no shape of this platform's
        ],
        [res(TABLE, name="txn-prod-transactions")],
        "does not expire its items on 'expires_at'",
    ),
    Case(
        "dynamodb-expires-what-it-holds",
        [
            res(
                TABLE,
                name="txn-dev-idempotency",
                ttl={"enabled": True, "attributeName": "expiration"},
            )
        ],
        [res(TABLE, name="txn-dev-idempotency", ttl={"enabled": True, "attributeName": EXP})],
        "does not expire its items on 'expiration'",
    ),
    Case(
        "dynamodb-expires-what-it-holds",
        [res(TABLE, name="txn-dev-velocity", ttl={"enabled": True, "attributeName": EXP})],
        [res(TABLE, name="txn-dev-velocity", ttl={"enabled": False, "attributeName": EXP})],
        "does not expire its items on 'expires_at'",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)

"""DynamoDB recovery and capacity: point-in-time recovery, auto scaling or on-demand."""

from __future__ import annotations

import pytest

from tests.unit.policies.rules.conftest import Case, case_id, fails_with_the_fix, passes, res
from txn_policies.rules import SCALABLE_TARGET, SCALING_POLICY, TABLE
from txn_policies.view import ResourceView


def provisioned_table(component: str, index: str | None = None) -> ResourceView:
    indexes = [{"name": index, "readCapacity": 5, "writeCapacity": 5}] if index else []
    return res(
        TABLE,
        f"{component}-table",
        name=f"txn-dev-{component}",
        billingMode="PROVISIONED",
        readCapacity=5,
        writeCapacity=5,
        globalSecondaryIndexes=indexes,
    )


def scaled(
    component: str,
    index: str | None = None,
    dimensions: tuple[str, ...] = ("Read", "Write"),
    policies: bool = True,
) -> list[ResourceView]:
    """Scalable targets (and target-tracking policies) of a table or one of its indexes."""
    resource_id = f"table/txn-dev-{component}" + (f"/index/{index}" if index else "")
    kind = "index" if index else "table"
    found = []
    for dimension in dimensions:
        key = {
            "serviceNamespace": "dynamodb",
            "resourceId": resource_id,
            "scalableDimension": f"dynamodb:{kind}:{dimension}CapacityUnits",
        }
        label = f"{component}-{index}-{dimension}"
        found.append(res(SCALABLE_TARGET, f"{label}-target", minCapacity=5, maxCapacity=50, **key))
        if policies:
            tracking = {
                "targetValue": 70,
                "predefinedMetricSpecification": {
                    "predefinedMetricType": f"DynamoDB{dimension}CapacityUtilization"
                },
            }
            found.append(
                res(
                    SCALING_POLICY,
                    f"{label}-policy",
                    policyType="TargetTrackingScaling",
                    targetTrackingScalingPolicyConfiguration=tracking,
                    **key,
                )
            )
    return found


CASES = [
    Case(
        "dynamodb-point-in-time-recovery",
        [res(TABLE, pointInTimeRecovery={"enabled": True})],
        [res(TABLE, pointInTimeRecovery={"enabled": False})],
        "point-in-time recovery off",
    ),
    Case(
        "dynamodb-capacity-scales",
        [res(TABLE, name="txn-dev-velocity", billingMode="PAY_PER_REQUEST"), *scaled("velocity")],
        [res(TABLE, name="txn-dev-velocity", billingMode="PROVISIONED", readCapacity=5)],
        "without auto scaling on table reads, table writes",
    ),
    Case(
        # every index of a provisioned table scales too: an index short of writes throttles
        # its table's writes
        "dynamodb-capacity-scales",
        [
            provisioned_table("transactions", index="review-by-merchant"),
            *scaled("transactions"),
            *scaled("transactions", index="review-by-merchant"),
        ],
        [
            provisioned_table("transactions", index="review-by-merchant"),
            *scaled("transactions"),
            *scaled("transactions", index="review-by-merchant", dimensions=("Read",)),
        ],
        "without auto scaling on index review-by-merchant writes",
    ),
    Case(
        "dynamodb-capacity-scales",
        [provisioned_table("velocity"), *scaled("velocity")],
        [provisioned_table("velocity"), *scaled("velocity", policies=False)],
        "without a target-tracking policy on table reads, table writes",
    ),
    Case(
        # the validator's tables stay on-demand even with auto scaling
        "dynamodb-capacity-scales",
        [res(TABLE, name="txn-dev-merchants", billingMode="PAY_PER_REQUEST")],
        [provisioned_table("merchants"), *scaled("merchants")],
        "while the API client waits",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)

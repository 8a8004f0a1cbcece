"""DynamoDB recovery and capacity: point-in-time recovery, capacity that follows a burst."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial

from txn_policies.rules._common import (
    PCI,
    SCALABLE_TARGET,
    SCALING_POLICY,
    TABLE,
    Policy,
    _component,
    register_policy,
)
from txn_policies.view import ResourceView, as_list, get, known
from txn_spec import shapes

POLICIES: list[Policy] = []
policy = partial(register_policy, POLICIES)


@policy(
    name="dynamodb-point-in-time-recovery",
    description="Every DynamoDB table has point-in-time recovery on.",
    requirements=(f"{PCI} 12.10.1", "mission: nothing is lost"),
    enforcement="mandatory",
    reason="mandatory: the transactions table is the system of record; without PITR a bad "
    "write or a deleted item cannot be recovered (incident response, 12.10.1).",
    remediation="set point_in_time_recovery={'enabled': True}",
    types=(TABLE,),
)
def _table_pitr(table: ResourceView) -> Iterator[str]:
    if get(table.props, "pointInTimeRecovery.enabled") is not True:
        yield "has point-in-time recovery off; fix: point_in_time_recovery enabled=True"


_TABLE_SHAPES = {t.component: t for t in shapes.TABLES}
# Used by a function behind the API while the client waits (the validator): on-demand only.
_SYNCHRONOUS_TABLES = frozenset(t.component for t in shapes.synchronous_tables())
_DIMENSIONS = ("Read", "Write")


def _scaling(
    resources: Sequence[ResourceView],
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(resource id, scalable dimension) of the DynamoDB scalable targets in view, and of those
    with a target-tracking policy."""
    targets = {
        (known(t.props, "resourceId"), known(t.props, "scalableDimension"))
        for t in resources
        if t.type == SCALABLE_TARGET and get(t.props, "serviceNamespace") == "dynamodb"
    }
    tracked = {
        (known(p.props, "resourceId"), known(p.props, "scalableDimension"))
        for p in resources
        if p.type == SCALING_POLICY
        and get(p.props, "serviceNamespace") == "dynamodb"
        and get(p.props, "policyType") == "TargetTrackingScaling"
        and get(p.props, "targetTrackingScalingPolicyConfiguration.targetValue") is not None
    }
    return targets, tracked


@policy(
    name="dynamodb-capacity-scales",
    description="Every DynamoDB table is on-demand, or provisioned with target-tracking auto "
    "scaling on the reads and writes of the table and of each index; the tables the API path "
    "uses while the client waits (merchants, idempotency) are on-demand.",
    requirements=("mission: 1,000+ TPS bursts, nothing lost",),
    enforcement="mandatory",
    reason="mandatory: a provisioned table or index that cannot scale throttles every burst "
    "above its setting. Behind SQS a throttle is a redelivery, but one that never scales drifts "
    "into the DLQ as FAILED; on the API path it is an error to the client (ADR 0005).",
    remediation="billing_mode='PAY_PER_REQUEST', or per table and index an "
    "aws.appautoscaling.Target and a TargetTrackingScaling Policy for reads and for writes",
    types=(TABLE, SCALABLE_TARGET, SCALING_POLICY),
    stack=True,
)
def _table_capacity(
    resources: Sequence[ResourceView],
) -> Iterator[tuple[ResourceView | None, str]]:
    provisioned = [
        r
        for r in resources
        if r.type == TABLE and get(r.props, "billingMode", "PROVISIONED") != "PAY_PER_REQUEST"
    ]
    if not provisioned:
        return
    targets, tracked = _scaling(resources)
    for table in provisioned:
        name = known(table.props, "name")
        if not isinstance(name, str):
            message = (
                "is provisioned without a fixed name, so no scalable target can name it; fix: "
                "name=physical_name(...) or billing_mode='PAY_PER_REQUEST'"
            )
            yield table, message
            continue
        if _component(name, _TABLE_SHAPES) in _SYNCHRONOUS_TABLES:
            message = (
                f"{name} is provisioned, but the validator uses it while the API client waits: "
                "a throttle there is an error to the client, not a redelivery; fix: "
                "billing_mode='PAY_PER_REQUEST'"
            )
            yield table, message
            continue
        indexes = [get(i, "name") for i in as_list(get(table.props, "globalSecondaryIndexes"))]
        scaled = [(f"table/{name}", "table", "table")] + [
            (f"table/{name}/index/{index}", "index", f"index {index}") for index in indexes
        ]
        keys = {
            f"{label} {d.lower()}s": (resource_id, f"dynamodb:{kind}:{d}CapacityUnits")
            for resource_id, kind, label in scaled
            for d in _DIMENSIONS
        }
        unscaled = [label for label, key in keys.items() if key not in targets]
        untracked = [label for label, key in keys.items() if key in targets and key not in tracked]
        if unscaled:
            message = (
                f"{name} is provisioned without auto scaling on {', '.join(unscaled)}; fix: an "
                "aws.appautoscaling.Target (service_namespace 'dynamodb', resource_id "
                "'table/<name>[/index/<index>]') with a TargetTrackingScaling Policy for each"
            )
            yield table, message
        if untracked:
            message = (
                f"{name} has scalable targets without a target-tracking policy on "
                f"{', '.join(untracked)}; fix: a TargetTrackingScaling Policy on "
                "DynamoDB{Read,Write}CapacityUtilization for each target"
            )
            yield table, message

"""DynamoDB recovery and billing: point-in-time recovery, on-demand capacity."""

from __future__ import annotations

from collections.abc import Iterator

from txn_policies.rules.model import PCI, TABLE, policy
from txn_policies.view import ResourceView, get


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


@policy(
    name="dynamodb-on-demand",
    description="Every DynamoDB table is billed on-demand (PAY_PER_REQUEST), in every stack.",
    requirements=("mission: on-demand billing and PITR on every table",),
    enforcement="mandatory",
    reason="mandatory: the mission bills every table on-demand, dev and prod. On-demand takes a "
    "burst up to the table's warm throughput with nothing to size; provisioned capacity "
    "throttles above its setting until auto scaling catches up, delays every queue-fed decision "
    "by a visibility timeout, and bills its minimums while idle (ADR 0005, superseded).",
    remediation="billing_mode='PAY_PER_REQUEST'",
    types=(TABLE,),
)
def _table_on_demand(table: ResourceView) -> Iterator[str]:
    mode = get(table.props, "billingMode", "PROVISIONED")  # the provider's default
    if mode != "PAY_PER_REQUEST":
        yield f"uses billing mode {mode}; fix: billing_mode='PAY_PER_REQUEST'"

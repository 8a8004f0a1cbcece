"""DynamoDB recovery, billing and retention: point-in-time recovery, on-demand capacity, and
expiry where the table's shape declares it."""

from __future__ import annotations

from collections.abc import Iterator

from txn_policies.rules.model import PCI, TABLE, policy
from txn_policies.view import ResourceView, get
from txn_spec import shapes


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


@policy(
    name="dynamodb-expires-what-it-holds",
    description="A table whose shape declares a TTL attribute (the transactions, velocity and "
    "idempotency tables: card tokens, BINs, last fours, IPs) has TTL on, on that attribute.",
    requirements=(f"{PCI} 3.2.1",),
    enforcement="mandatory",
    reason="mandatory: card data is kept no longer than the retention the shape states "
    "(transactions: TRANSACTION_RETENTION_DAYS); the items carry their expiry, but only the "
    "table's TTL deletes them, so a table without it keeps card data for ever.",
    remediation="ttl={'enabled': True, 'attribute_name': <the shape's ttl_attribute>}",
    types=(TABLE,),
)
def _table_expires(table: ResourceView) -> Iterator[str]:
    name = str(get(table.props, "name", ""))
    shape = next((s for s in shapes.TABLES if name.endswith(f"-{s.component}")), None)
    if shape is None or shape.ttl_attribute is None:
        return
    ttl = get(table.props, "ttl") or {}
    if ttl.get("enabled") is not True or ttl.get("attributeName") != shape.ttl_attribute:
        yield (
            f"does not expire its items on {shape.ttl_attribute!r} (the {shape.component} "
            f"shape's TTL attribute); fix: ttl enabled=True, attribute_name="
            f"{shape.ttl_attribute!r}"
        )

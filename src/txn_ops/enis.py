"""Wait for the Lambda network interfaces in a VPC to be released, right after ``compute`` goes.

Lambda's shared (Hyperplane) network interfaces outlive their functions: AWS deletes them some
time after the last function using the subnet and security group is gone, often 20 to 40
minutes. Lambda deletes them with the permissions of the functions' execution roles, so the
roles (``security``) must still exist then: AWS documents that an interface whose role was
deleted first stays until someone deletes it by hand ("Deleting ENIs" in the Lambda developer
guide's VPC networking page). And until the interfaces are gone the subnets and security groups
(``network``) cannot be deleted. The destroy therefore waits here, with progress, after
``compute`` and before ``data``, ``security`` and ``network``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from txn_ops.errors import OpsError

LAMBDA_ENI_DESCRIPTION = "AWS Lambda VPC ENI*"


def lambda_interfaces(ec2: Any, vpc_id: str) -> list[str]:
    """Ids of the network interfaces Lambda created in the VPC."""
    paginator = ec2.get_paginator("describe_network_interfaces")
    found: list[str] = []
    filters = [
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "description", "Values": [LAMBDA_ENI_DESCRIPTION]},
    ]
    for page in paginator.paginate(Filters=filters):
        found.extend(eni["NetworkInterfaceId"] for eni in page["NetworkInterfaces"])
    return sorted(found)


def wait_for_lambda_enis(
    vpc_id: str,
    region: str,
    *,
    timeout_seconds: float = 45 * 60,
    interval_seconds: float = 30,
    ec2: Callable[[], Any] | None = None,
    emit: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Return once no Lambda interface is left in the VPC; OpsError after ``timeout_seconds``.

    ``ec2`` makes the EC2 client for each check, so a wait that outlives a role session asks
    with fresh credentials; without it, the caller's own."""
    if ec2 is None:
        import boto3

        ec2 = functools.partial(boto3.client, "ec2", region_name=region)
    deadline = clock() + timeout_seconds
    while True:
        remaining = lambda_interfaces(ec2(), vpc_id)
        if not remaining:
            emit(f"    no Lambda network interfaces left in {vpc_id}")
            return
        if clock() >= deadline:
            raise OpsError(
                "enis-timeout",
                f"{len(remaining)} Lambda network interfaces still in {vpc_id} after "
                f"{timeout_seconds / 60:.0f} min ({', '.join(remaining[:3])}...): check that no "
                "function outside this system uses the VPC, then run the same destroy again "
                "(the layers it already destroyed have nothing left to delete)",
            )
        emit(
            f"    {len(remaining)} Lambda network interfaces still in {vpc_id}; "
            f"checking again in {interval_seconds:.0f}s"
        )
        sleep(interval_seconds)

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

from botocore.exceptions import BotoCoreError, ClientError

from txn_ops.errors import OpsError

LAMBDA_ENI_DESCRIPTION = "AWS Lambda VPC ENI*"


# EC2 answers a busy account with these; the wait asks again at its next check.
THROTTLED = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})


def lambda_interfaces(ec2: Any, vpc_id: str) -> dict[str, str]:
    """The network interfaces Lambda created in the VPC: id -> status."""
    paginator = ec2.get_paginator("describe_network_interfaces")
    found: dict[str, str] = {}
    filters = [
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "description", "Values": [LAMBDA_ENI_DESCRIPTION]},
    ]
    for page in paginator.paginate(Filters=filters):
        found.update(
            (eni["NetworkInterfaceId"], eni.get("Status", "")) for eni in page["NetworkInterfaces"]
        )
    return dict(sorted(found.items()))


def _check(ec2: Callable[[], Any], vpc_id: str, region: str) -> dict[str, str] | None:
    """One check; None when EC2 throttled it. Any other failure ends the wait with a code: the
    layers below compute are untouched, so the same destroy can simply run again."""
    try:
        return lambda_interfaces(ec2(), vpc_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in THROTTLED:
            return None
        reason = f"{code}: {exc.response.get('Error', {}).get('Message', '')}"
    except BotoCoreError as exc:
        reason = str(exc)
    raise OpsError(
        "enis-check-failed",
        f"could not list the Lambda network interfaces in {vpc_id} ({region}): {reason}. Nothing "
        "below compute was touched: fix the credentials or the network and run the same destroy "
        "again",
    )


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
    remaining: dict[str, str] | None = None  # None until a check is answered
    while True:
        checked = _check(ec2, vpc_id, region)
        if checked is not None:
            remaining = checked
            if not remaining:
                emit(f"    no Lambda network interfaces left in {vpc_id}")
                return
        if clock() >= deadline:
            if remaining is None:
                raise OpsError(
                    "enis-check-failed",
                    f"EC2 throttled every check of {vpc_id} for {timeout_seconds / 60:.0f} min. "
                    "Nothing below compute was touched: run the same destroy again",
                )
            raise _timed_out(vpc_id, region, remaining, timeout_seconds)
        emit(
            f"    {len(checked)} Lambda network interfaces still in {vpc_id}; "
            f"checking again in {interval_seconds:.0f}s"
            if checked is not None
            else f"    EC2 throttled the check; checking again in {interval_seconds:.0f}s"
        )
        sleep(interval_seconds)


def _timed_out(
    vpc_id: str, region: str, remaining: dict[str, str], timeout_seconds: float
) -> OpsError:
    ids = list(remaining)
    if ids and all(status == "available" for status in remaining.values()):
        # Detached and left: Lambda deletes its interfaces with the functions' execution roles,
        # and an interface whose role went first stays (the Lambda guide, "Deleting ENIs").
        deletes = "; ".join(
            f"aws ec2 delete-network-interface --region {region} --network-interface-id {eni}"
            for eni in ids
        )
        return OpsError(
            "enis-orphaned",
            f"{len(ids)} Lambda network interfaces in {vpc_id} are detached and Lambda has not "
            "deleted them: the functions' execution roles were probably deleted before them "
            f"(security destroyed by hand). An administrator deletes them ({deletes}), then "
            "runs the same destroy again",
        )
    return OpsError(
        "enis-timeout",
        f"{len(ids)} Lambda network interfaces still in {vpc_id} after "
        f"{timeout_seconds / 60:.0f} min ({', '.join(ids[:3])}...): check that no function "
        "outside this system uses the VPC, then run the same destroy again (the layers it "
        "already destroyed have nothing left to delete)",
    )

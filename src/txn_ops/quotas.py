"""Before ``compute`` deploys: can the account reserve the concurrency the shapes declare?

A function's reserved concurrency comes out of the account's regional limit on concurrent
executions, and Lambda refuses a reservation that would leave fewer than 100 executions
unreserved for the functions without one ("You can reserve up to the Unreserved account
concurrency value minus 100", Lambda developer guide, configuring reserved concurrency). New
accounts often start far below the 1,000 default (10 is common), and AWS raises the limit only on
request. Without this check the first deploy creates every function of ``compute`` and then fails
on ``PutFunctionConcurrency`` halfway; with it, the deploy stops before ``compute`` with one line
naming the quota and how to raise it.

The numbers come from Lambda's ``GetAccountSettings``: ``AccountLimit.ConcurrentExecutions`` is
the limit, ``AccountLimit.UnreservedConcurrentExecutions`` is the limit minus every reservation
in the region. What our own functions already reserve (a redeploy) is read with
``GetFunctionConcurrency`` and not counted against us; what any other function reserves (the
other stack's, in a shared account) is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from txn_ops.errors import OpsError
from txn_spec import shapes
from txn_spec.naming import physical_name

# Service Quotas' name and code of the limit that GetAccountSettings reports.
QUOTA_NAME = "Lambda concurrent executions"
SERVICE_CODE = "lambda"
QUOTA_CODE = "L-B99A9384"
# Lambda keeps at least this many executions unreserved for functions without a reservation.
MIN_UNRESERVED = 100


def reservations(app: str, stack: str) -> dict[str, int]:
    """Reserved concurrency by physical function name, as ``compute`` deploys it from the shapes."""
    return {
        physical_name(app, stack, shape.component): shape.reserved_concurrency
        for shape in shapes.FUNCTIONS
        if shape.reserved_concurrency
    }


def required_limit(reserved: Mapping[str, int], reserved_by_others: int) -> int:
    """The smallest account limit that holds every reservation and Lambda's unreserved floor."""
    return reserved_by_others + sum(reserved.values()) + MIN_UNRESERVED


def describe(reserved: Mapping[str, int]) -> str:
    """``txn-dev-fraud-detector 100``: what the plan and the error say is to be reserved."""
    return ", ".join(f"{name} {n}" for name, n in reserved.items())


def check_reserved_concurrency(
    reserved: Mapping[str, int], region: str | None, *, client: Any = None
) -> None:
    """Return when the account can hold ``reserved``; one-line OpsError when it cannot."""
    if not reserved:
        return
    from botocore.exceptions import BotoCoreError, ClientError

    if client is None:
        import boto3

        client = boto3.client("lambda", region_name=region)
    where = region or client.meta.region_name
    try:
        limits = client.get_account_settings()["AccountLimit"]
        ours_now = sum(_reserved_now(client, name) for name in reserved)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise OpsError(
            "lambda-account-settings",
            f"cannot read Lambda's account settings in {where} ({code}): the deploy role needs "
            "lambda:GetAccountSettings and lambda:GetFunctionConcurrency; see docs/deploy.md",
        ) from None
    except BotoCoreError as exc:
        raise OpsError("aws-unreachable", f"cannot reach AWS Lambda in {where} ({exc})") from None
    limit = int(limits["ConcurrentExecutions"])
    unreserved = int(limits.get("UnreservedConcurrentExecutions", limit))
    others = max(limit - unreserved - ours_now, 0)
    needed = required_limit(reserved, others)
    if limit >= needed:
        return
    by_others = f" + {others} reserved by other functions" if others else ""
    raise OpsError(
        "lambda-concurrency-quota",
        f"{QUOTA_NAME} ({QUOTA_CODE}) is {limit} in {where}; compute reserves "
        f"{describe(reserved)}, so with {MIN_UNRESERVED} kept unreserved{by_others} the account "
        f"needs at least {needed}: raise the quota in the Service Quotas console (AWS Lambda > "
        "Concurrent executions) or with `aws service-quotas request-service-quota-increase "
        f"--service-code {SERVICE_CODE} --quota-code {QUOTA_CODE} --desired-value {needed} "
        f"--region {where}`, then deploy again",
    )


def _reserved_now(client: Any, name: str) -> int:
    """What the function reserves today; 0 when it has no reservation or does not exist yet."""
    try:
        answer = client.get_function_concurrency(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        return 0
    return int(answer.get("ReservedConcurrentExecutions") or 0)

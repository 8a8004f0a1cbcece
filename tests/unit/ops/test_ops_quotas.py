"""The reserved-concurrency preflight against Lambda's real API model (botocore's Stubber).

moto does not implement ``GetAccountSettings`` (it answers 404 "Not yet implemented"), so the
client is a real boto3 Lambda client with a Stubber: every request and every canned answer is
checked against the service model, and a call the test did not expect fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import boto3
import pytest
from botocore.stub import Stubber

from txn_ops import quotas
from txn_ops.errors import OpsError
from txn_spec import shapes

REGION = "us-east-2"
FRAUD = "txn-prod-fraud-detector"


@pytest.fixture
def client():
    return boto3.client(
        "lambda", region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def stub(client) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def account(stub: Stubber, limit: int, unreserved: int) -> None:
    stub.add_response(
        "get_account_settings",
        {
            "AccountLimit": {
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": unreserved,
            }
        },
        {},
    )


def ours(stub: Stubber, name: str, reserved: int | None) -> None:
    """What our function reserves today; None: it does not exist yet (a first deploy)."""
    if reserved is None:
        stub.add_client_error(
            "get_function_concurrency",
            service_error_code="ResourceNotFoundException",
            http_status_code=404,
            expected_params={"FunctionName": name},
        )
        return
    stub.add_response(
        "get_function_concurrency",
        {"ReservedConcurrentExecutions": reserved},
        {"FunctionName": name},
    )


def check(client, reservations: Mapping[str, int]) -> None:
    quotas.check_reserved_concurrency(reservations, REGION, client=client)


# -- what is needed ---------------------------------------------------------------------------


def test_the_reservations_are_the_shapes_reserved_concurrency_by_physical_function_name() -> None:
    reserved = {
        f"txn-prod-{shape.component}": shape.reserved_concurrency
        for shape in shapes.FUNCTIONS
        if shape.reserved_concurrency
    }

    assert quotas.reservations("txn", "prod") == reserved
    assert reserved == {FRAUD: shapes.FRAUD_DETECTOR.reserved_concurrency}


# -- the check --------------------------------------------------------------------------------


def test_a_new_account_at_10_is_refused_in_one_line_naming_the_quota_and_how_to_raise_it(
    client, stub
):
    account(stub, limit=10, unreserved=10)
    ours(stub, FRAUD, None)

    with pytest.raises(OpsError) as caught:
        check(client, {FRAUD: 100})

    error = caught.value
    assert error.code == "lambda-concurrency-quota"
    assert "\n" not in str(error)
    assert "Lambda concurrent executions (L-B99A9384)" in error.message
    assert f"is 10 in {REGION}" in error.message
    assert "needs at least 200" in error.message
    assert "Service Quotas console" in error.message
    assert (
        "aws service-quotas request-service-quota-increase --service-code lambda "
        f"--quota-code L-B99A9384 --desired-value 200 --region {REGION}"
    ) in error.message


def test_the_default_limit_of_1000_leaves_room(client, stub) -> None:
    account(stub, limit=1000, unreserved=1000)
    ours(stub, FRAUD, None)

    check(client, {FRAUD: 100})


def test_the_reservations_plus_100_unreserved_is_exactly_enough(client, stub) -> None:
    account(stub, limit=200, unreserved=200)
    ours(stub, FRAUD, None)

    check(client, {FRAUD: 100})


def test_one_short_of_the_reservations_plus_100_unreserved_is_refused(client, stub) -> None:
    account(stub, limit=199, unreserved=199)
    ours(stub, FRAUD, None)

    with pytest.raises(OpsError, match="needs at least 200"):
        check(client, {FRAUD: 100})


def test_a_redeploy_does_not_count_our_own_reservation_against_us(client, stub) -> None:
    # GIVEN a 200 account where our fraud detector already reserves its 100
    account(stub, limit=200, unreserved=100)
    ours(stub, FRAUD, 100)

    # THEN deploying it again fits
    check(client, {FRAUD: 100})


def test_what_other_functions_reserve_is_added_to_what_is_needed(client, stub) -> None:
    # GIVEN dev's fraud detector reserving 100 in the account prod deploys into
    account(stub, limit=250, unreserved=150)
    ours(stub, FRAUD, None)

    with pytest.raises(OpsError) as caught:
        check(client, {FRAUD: 100})

    assert "needs at least 300" in caught.value.message
    assert "100 reserved by other functions" in caught.value.message
    assert "--desired-value 300" in caught.value.message


def test_the_needed_number_follows_the_reservations_it_is_given(client, stub) -> None:
    account(stub, limit=149, unreserved=149)
    ours(stub, "a", None)
    ours(stub, "b", None)

    with pytest.raises(OpsError, match="needs at least 150"):
        check(client, {"a": 30, "b": 20})


def test_no_reservations_need_no_call(client, stub) -> None:
    check(client, {})  # the Stubber fails on any call it was not given


def test_settings_lambda_refuses_to_show_are_one_coded_line(client, stub) -> None:
    stub.add_client_error(
        "get_account_settings",
        service_error_code="AccessDeniedException",
        http_status_code=403,
    )

    with pytest.raises(OpsError) as caught:
        check(client, {FRAUD: 100})

    assert caught.value.code == "lambda-account-settings"
    assert "AccessDeniedException" in caught.value.message
    assert "lambda:GetAccountSettings" in caught.value.message

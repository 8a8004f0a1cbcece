"""Waiting for Lambda's network interfaces after compute is destroyed, against moto's EC2."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.conftest import MOTO_REGION
from txn_ops.enis import lambda_interfaces, wait_for_lambda_enis
from txn_ops.errors import OpsError

REGION = MOTO_REGION


@pytest.fixture
def ec2(mocked_aws: str):
    return boto3.client("ec2", region_name=mocked_aws)


@pytest.fixture
def vpc(ec2) -> tuple[str, str]:
    vpc_id = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.40.0.0/20")["Subnet"]["SubnetId"]
    return vpc_id, subnet_id


def add_eni(ec2, subnet_id: str, description: str) -> str:
    eni = ec2.create_network_interface(SubnetId=subnet_id, Description=description)
    return eni["NetworkInterface"]["NetworkInterfaceId"]


def test_only_lambda_interfaces_in_the_vpc_are_counted(ec2, vpc) -> None:
    vpc_id, subnet_id = vpc
    lambda_eni = add_eni(ec2, subnet_id, "AWS Lambda VPC ENI-txn-dev-validator-abc")
    add_eni(ec2, subnet_id, "VPC Endpoint Interface vpce-123")

    assert lambda_interfaces(ec2, vpc_id) == {lambda_eni: "available"}


def test_the_wait_returns_once_the_interfaces_are_released(ec2, vpc) -> None:
    vpc_id, subnet_id = vpc
    eni = add_eni(ec2, subnet_id, "AWS Lambda VPC ENI-txn-dev-fraud-detector")
    printed: list[str] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # AWS releases the interface while we wait
        sleeps.append(seconds)
        ec2.delete_network_interface(NetworkInterfaceId=eni)

    wait_for_lambda_enis(vpc_id, REGION, ec2=lambda: ec2, emit=printed.append, sleep=sleep)

    assert sleeps == [30]
    assert printed[0].strip().startswith("1 Lambda network interfaces still in")
    assert printed[-1].strip() == f"no Lambda network interfaces left in {vpc_id}"


def wait_briefly(vpc_id: str, ec2_factory, printed: list[str] | None = None) -> float:
    """Wait with a 90 s limit on a clock that only the sleeps move; the seconds it waited."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    wait_for_lambda_enis(
        vpc_id,
        REGION,
        ec2=ec2_factory,
        timeout_seconds=90,
        emit=(printed.append if printed is not None else lambda _: None),
        sleep=sleep,
        clock=lambda: now[0],
    )
    return now[0]


def test_the_wait_gives_up_after_its_timeout_with_what_to_check(ec2, vpc) -> None:
    vpc_id, subnet_id = vpc
    eni = add_eni(ec2, subnet_id, "AWS Lambda VPC ENI-txn-dev-validator")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet_id)
    ec2.attach_network_interface(
        NetworkInterfaceId=eni, InstanceId=instance["Instances"][0]["InstanceId"], DeviceIndex=1
    )

    with pytest.raises(OpsError) as caught:
        wait_briefly(vpc_id, lambda: ec2)

    assert caught.value.code == "enis-timeout"
    assert "run the same destroy again" in caught.value.message


def test_interfaces_left_detached_are_named_as_orphans_with_their_delete_commands(ec2, vpc) -> None:
    # Lambda deletes its interfaces with the execution roles; one whose role went first stays,
    # detached ("available"), and no amount of waiting helps
    vpc_id, subnet_id = vpc
    eni = add_eni(ec2, subnet_id, "AWS Lambda VPC ENI-txn-dev-validator")

    with pytest.raises(OpsError) as caught:
        wait_briefly(vpc_id, lambda: ec2)

    assert caught.value.code == "enis-orphaned"
    assert (
        f"aws ec2 delete-network-interface --region {REGION} --network-interface-id {eni}"
        in caught.value.message
    )


class FailingEc2:
    """An EC2 client whose DescribeNetworkInterfaces answers with the given errors, then with
    no interface left."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def get_paginator(self, name: str) -> FailingEc2:
        assert name == "describe_network_interfaces"
        return self

    def paginate(self, **_: object) -> list[dict[str, list[object]]]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return [{"NetworkInterfaces": []}]


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "DescribeNetworkInterfaces")


def test_a_throttled_check_is_asked_again_at_the_next_one() -> None:
    ec2 = FailingEc2(client_error("RequestLimitExceeded"))
    printed: list[str] = []

    waited = wait_briefly("vpc-1", lambda: ec2, printed)

    assert (ec2.calls, waited) == (2, 30)
    assert "EC2 throttled the check" in printed[0]


def test_a_wait_ec2_throttles_throughout_says_so_and_not_that_interfaces_remain() -> None:
    throttled = [client_error("RequestLimitExceeded") for _ in range(5)]

    with pytest.raises(OpsError) as caught:
        wait_briefly("vpc-1", lambda: FailingEc2(*throttled))

    assert caught.value.code == "enis-check-failed"
    assert caught.value.message.startswith("EC2 throttled every check of vpc-1")


@pytest.mark.parametrize(
    "error",
    [
        client_error("UnauthorizedOperation"),
        client_error("ExpiredToken"),
        EndpointConnectionError(endpoint_url="https://ec2"),
    ],
)
def test_any_other_failure_of_a_check_ends_the_wait_with_a_code_not_a_traceback(error) -> None:
    with pytest.raises(OpsError) as caught:
        wait_briefly("vpc-1", lambda: FailingEc2(error))

    assert caught.value.code == "enis-check-failed"
    assert "Nothing below compute was touched" in caught.value.message

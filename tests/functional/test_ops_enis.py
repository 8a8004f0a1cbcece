"""Waiting for Lambda's network interfaces after compute is destroyed, against moto's EC2."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from txn_ops.enis import lambda_interfaces, wait_for_lambda_enis
from txn_ops.errors import OpsError

REGION = "us-east-2"


@pytest.fixture
def ec2(monkeypatch: pytest.MonkeyPatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


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

    assert lambda_interfaces(ec2, vpc_id) == [lambda_eni]


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


def test_the_wait_gives_up_after_its_timeout_with_what_to_check(ec2, vpc) -> None:
    vpc_id, subnet_id = vpc
    add_eni(ec2, subnet_id, "AWS Lambda VPC ENI-txn-dev-validator")
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(OpsError) as caught:
        wait_for_lambda_enis(
            vpc_id,
            REGION,
            ec2=lambda: ec2,
            timeout_seconds=90,
            emit=lambda _: None,
            sleep=sleep,
            clock=lambda: now[0],
        )

    assert caught.value.code == "enis-timeout"
    assert "run the same destroy again" in caught.value.message
    assert now[0] == 90

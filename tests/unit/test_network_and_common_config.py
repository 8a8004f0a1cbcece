"""Config values AWS would refuse at deploy are refused at preview: the VPC's block (CreateVpc
takes /16 to /28; the subnets need /20 or larger) and the owner tag (IAM's tag-value rules)."""

from __future__ import annotations

import pytest

from txn_infra.config import ConfigError, NetworkConfig, parse


def network(**values: str) -> NetworkConfig:
    return parse(NetworkConfig, {"owner": "platform", "vpcCidr": "10.40.0.0/16", **values}, "n")


@pytest.mark.parametrize(
    "cidr", ["10.40.0.0/16", "10.40.16.0/20", "172.16.0.0/16", "172.31.0.0/18", "192.168.0.0/16"]
)
def test_rfc1918_blocks_from_16_to_20_are_kept(cidr: str) -> None:
    assert network(vpcCidr=cidr).vpc_cidr == cidr


@pytest.mark.parametrize(
    "cidr",
    [
        "10.0.0.0/8",  # larger than CreateVpc's /16: the mocks built /10 subnets from it
        "172.16.0.0/12",
        "10.40.0.0/21",  # too small for three /22 subnets
        "127.0.0.0/16",  # private to Python's ipaddress, not a VPC block
        "169.254.0.0/16",
        "198.18.0.0/16",
        "100.64.0.0/16",
        "8.8.0.0/16",
        "fd00::/16",
    ],
)
def test_blocks_create_vpc_or_the_subnets_cannot_take_are_refused(cidr: str) -> None:
    with pytest.raises(ConfigError, match=r"n:vpcCidr .*RFC 1918 IPv4 block from /16 to /20"):
        network(vpcCidr=cidr)


@pytest.mark.parametrize("owner", ["platform", "Payments EMEA", "team:risk/ops", "a+b=c@d_e.f-g"])
def test_owner_tags_iam_accepts_are_kept(owner: str) -> None:
    assert network(owner=owner).owner == owner


@pytest.mark.parametrize("owner", ["Payments (EMEA)", "ops&risk", "a,b", "x" * 257])
def test_owner_tags_iam_would_refuse_at_create_role_are_refused(owner: str) -> None:
    with pytest.raises(ConfigError, match="n:owner"):
        network(owner=owner)

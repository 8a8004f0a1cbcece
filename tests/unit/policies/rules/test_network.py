"""Network, private only: no internet path, no public subnet."""

from __future__ import annotations

import pytest

from tests.unit.policies.rules.conftest import Case, case_id, fails_with_the_fix, passes, res
from txn_policies.rules.model import (
    DEFAULT_SECURITY_GROUP,
    INTERNET_GATEWAY,
    NAT_GATEWAY,
    ROUTE,
    ROUTE_TABLE,
    SECURITY_GROUP,
    SECURITY_GROUP_EGRESS,
    SECURITY_GROUP_INGRESS,
    SECURITY_GROUP_RULE,
    SUBNET,
)

HTTPS_TO_ENDPOINTS = {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443}

CASES = [
    Case(
        "no-internet-gateway-or-nat",
        [
            res(ROUTE_TABLE, routes=[]),
            res(ROUTE, destinationPrefixListId="pl-1", vpcEndpointId="v"),
        ],
        [res(INTERNET_GATEWAY), res(NAT_GATEWAY)],
        "VPC endpoint",
    ),
    Case(
        "no-internet-gateway-or-nat",
        [res(ROUTE_TABLE, routes=[{"cidrBlock": "10.1.0.0/16", "transitGatewayId": "tgw-1"}])],
        [res(ROUTE_TABLE, routes=[{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-123"}])],
        "internet gateway igw-123",
    ),
    Case(
        "no-public-subnet",
        [res(SUBNET, mapPublicIpOnLaunch=False)],
        [res(SUBNET, mapPublicIpOnLaunch=True)],
        "map_public_ip_on_launch=False",
    ),
    Case(
        "security-groups-https-only",
        [
            res(SECURITY_GROUP_EGRESS, referencedSecurityGroupId="sg-1", **HTTPS_TO_ENDPOINTS),
            res(SECURITY_GROUP_EGRESS, prefixListId="pl-1", **HTTPS_TO_ENDPOINTS),
            res(SECURITY_GROUP_INGRESS, cidrIpv4="10.0.0.0/16", **HTTPS_TO_ENDPOINTS),
            res(SECURITY_GROUP, description="rules as resources of their own"),
            res(DEFAULT_SECURITY_GROUP, ingress=[], egress=[]),
        ],
        [res(SECURITY_GROUP_EGRESS, cidrIpv4="0.0.0.0/0", **HTTPS_TO_ENDPOINTS)],
        "opens 0.0.0.0/0",
    ),
    Case(
        "security-groups-https-only",
        [res(SECURITY_GROUP_RULE, type="egress", protocol="tcp", fromPort=443, toPort=443)],
        [
            res(SECURITY_GROUP_EGRESS, ipProtocol="-1", referencedSecurityGroupId="sg-1"),
            res(SECURITY_GROUP_INGRESS, ipProtocol="tcp", fromPort=22, toPort=22),
            res(SECURITY_GROUP, egress=[{"protocol": "-1", "cidrBlocks": ["10.0.0.0/8"]}]),
        ],
        "not HTTPS only",
    ),
    Case(
        "security-groups-https-only",
        [],
        [
            res(
                DEFAULT_SECURITY_GROUP,
                egress=[
                    {"protocol": "tcp", "fromPort": 443, "toPort": 443, "ipv6CidrBlocks": ["::/0"]}
                ],
            )
        ],
        "opens ::/0",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)

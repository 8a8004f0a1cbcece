"""Network, private only: no internet path, no public subnet."""

from __future__ import annotations

import pytest

from tests.unit.policies.rules.conftest import Case, case_id, fails_with_the_fix, passes, res
from txn_policies.rules.model import INTERNET_GATEWAY, NAT_GATEWAY, ROUTE, ROUTE_TABLE, SUBNET

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
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)

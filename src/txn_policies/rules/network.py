"""Network, private only: no internet gateway, NAT, public address, default route, public subnet."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from txn_policies.rules.model import (
    EGRESS_ONLY_GATEWAY,
    ELASTIC_IP,
    INTERNET_GATEWAY,
    INTERNET_GATEWAY_ATTACHMENT,
    NAT_GATEWAY,
    PCI,
    ROUTE,
    ROUTE_TABLE,
    SUBNET,
    policy,
)
from txn_policies.view import ResourceView, as_list, get

_FORBIDDEN_NETWORK = {
    INTERNET_GATEWAY: "an internet gateway",
    INTERNET_GATEWAY_ATTACHMENT: "an internet gateway attachment",
    EGRESS_ONLY_GATEWAY: "an egress-only internet gateway",
    NAT_GATEWAY: "a NAT gateway",
    ELASTIC_IP: "an Elastic IP (public address)",
}


def _route_problem(route: object) -> str | None:
    if not hasattr(route, "get"):
        return None
    gateway = get(route, "gatewayId")
    if isinstance(gateway, str) and gateway.startswith("igw-"):
        return f"routes to internet gateway {gateway}"
    for key in ("natGatewayId", "egressOnlyGatewayId"):
        if get(route, key) not in (None, ""):
            return f"routes through {key} {get(route, key)}"
    for key in ("destinationCidrBlock", "cidrBlock", "destinationIpv6CidrBlock", "ipv6CidrBlock"):
        cidr = get(route, key)
        if isinstance(cidr, str) and ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
            return f"has a default route {cidr}"
    return None


@policy(
    name="no-internet-gateway-or-nat",
    description="No internet gateway, NAT gateway, public address or default route exists.",
    requirements=(f"{PCI} 1.3.1", f"{PCI} 1.3.2", f"{PCI} 1.4.1"),
    enforcement="mandatory",
    reason="mandatory: the CDE has no path to or from the internet; every AWS API is reached "
    "through VPC endpoints, so any internet path is an unreviewed data exit.",
    remediation="remove the gateway or route; reach AWS APIs through a VPC endpoint",
    types=(*_FORBIDDEN_NETWORK, ROUTE, ROUTE_TABLE),
)
def _no_internet(resource: ResourceView) -> Iterator[str]:
    if resource.type in _FORBIDDEN_NETWORK:
        yield (
            f"is {_FORBIDDEN_NETWORK[resource.type]} in the CDE; fix: remove it and use a VPC "
            "endpoint for the AWS API that needed it"
        )
        return
    routes = [resource.props] if resource.type == ROUTE else as_list(resource.props.get("routes"))
    for route in routes:
        problem = _route_problem(route)
        if problem:
            yield f"{problem}; fix: remove the route (private subnets keep only local routes)"


@policy(
    name="no-public-subnet",
    description="No subnet assigns public IPv4 or IPv6 addresses on launch.",
    requirements=(f"{PCI} 1.3.1", f"{PCI} 1.4.4"),
    enforcement="mandatory",
    reason="mandatory: components that process cardholder data must not be directly "
    "reachable from untrusted networks.",
    remediation="set map_public_ip_on_launch=False and assign_ipv6_address_on_creation=False",
    types=(SUBNET,),
)
def _no_public_subnet(subnet: ResourceView) -> Iterator[str]:
    if get(subnet.props, "mapPublicIpOnLaunch") is True:
        yield "maps public IPs on launch; fix: map_public_ip_on_launch=False"
    if get(subnet.props, "assignIpv6AddressOnCreation") is True:
        yield "assigns IPv6 addresses on creation; fix: assign_ipv6_address_on_creation=False"

"""Network, private only: no internet gateway, NAT, public address, default route, public subnet,
and security groups that allow HTTPS between known parties only."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from txn_policies.rules.model import (
    DEFAULT_SECURITY_GROUP,
    EGRESS_ONLY_GATEWAY,
    ELASTIC_IP,
    INTERNET_GATEWAY,
    INTERNET_GATEWAY_ATTACHMENT,
    NAT_GATEWAY,
    PCI,
    ROUTE,
    ROUTE_TABLE,
    SECURITY_GROUP,
    SECURITY_GROUP_EGRESS,
    SECURITY_GROUP_INGRESS,
    SECURITY_GROUP_RULE,
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
    cidr = _anywhere(
        route, ("destinationCidrBlock", "cidrBlock", "destinationIpv6CidrBlock", "ipv6CidrBlock")
    )
    return f"has a default route {cidr}" if cidr else None


def _anywhere(props: object, keys: tuple[str, ...]) -> str | None:
    """The first CIDR under ``keys`` (one value or a list) that is all addresses (/0), or None."""
    for key in keys:
        for cidr in as_list(get(props, key)):
            if isinstance(cidr, str) and ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
                return cidr
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


HTTPS = 443
_ANYWHERE = ("cidrIpv4", "cidrIpv6", "cidrBlocks", "ipv6CidrBlocks")


def _rule_problem(rule: object) -> str | None:
    """What a security group rule (a rule resource's or an inline rule's properties) allows
    beyond HTTPS between known parties, or None."""
    if not hasattr(rule, "get"):
        return None
    cidr = _anywhere(rule, _ANYWHERE)
    if cidr:
        return f"opens {cidr} (anywhere)"
    protocol = str(get(rule, "ipProtocol", get(rule, "protocol", "")))
    ports = (get(rule, "fromPort"), get(rule, "toPort"))
    if protocol.lower() not in ("tcp", "6") or ports != (HTTPS, HTTPS):
        return f"allows protocol {protocol or '?'} ports {ports[0]}-{ports[1]}, not HTTPS only"
    return None


@policy(
    name="security-groups-https-only",
    description="Security groups allow HTTPS only, and never from or to anywhere.",
    requirements=(f"{PCI} 1.2.5", f"{PCI} 1.3.1", f"{PCI} 1.3.2"),
    enforcement="mandatory",
    reason="mandatory: the functions speak HTTPS to AWS APIs through VPC endpoints and nothing "
    "else; any other port, or an open CIDR, is traffic nobody reviewed in and out of the CDE.",
    remediation="allow tcp 443 to or from a security group or a VPC endpoint's prefix list",
    types=(
        SECURITY_GROUP,
        DEFAULT_SECURITY_GROUP,
        SECURITY_GROUP_RULE,
        SECURITY_GROUP_INGRESS,
        SECURITY_GROUP_EGRESS,
    ),
)
def _security_groups_https_only(resource: ResourceView) -> Iterator[str]:
    if resource.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        rules = [
            *as_list(resource.props.get("ingress")),
            *as_list(resource.props.get("egress")),
        ]
    else:
        rules = [resource.props]
    for rule in rules:
        problem = _rule_problem(rule)
        if problem:
            yield f"{problem}; fix: tcp 443 to or from a security group or a prefix list"

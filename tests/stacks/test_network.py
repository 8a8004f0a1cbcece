"""network: private subnets only, the endpoint list, and security groups that allow only 443."""

from __future__ import annotations

import ipaddress

import pytest

from tests.stacks.conftest import as_list, policy, statements
from txn_infra.offline import LayerRun

pytestmark = pytest.mark.usefixtures("system")


@pytest.fixture(scope="module")
def network(system: dict[str, LayerRun]) -> LayerRun:
    return system["network"]


def test_three_private_subnets_in_three_azs(network: LayerRun) -> None:
    subnets = network.of_type("aws:ec2/subnet:Subnet")
    assert len(subnets) == 3
    assert len({s.inputs["availabilityZone"] for s in subnets}) == 3
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)


def test_subnets_skip_an_opted_in_local_zone(network: LayerRun) -> None:
    # The offline account lists a Local Zone first unless the call asks for AZs only.
    zones = sorted(s.inputs["availabilityZone"] for s in network.of_type("aws:ec2/subnet:Subnet"))
    assert zones == ["us-east-2a", "us-east-2b", "us-east-2c"]


def test_subnets_do_not_overlap_and_fit_the_vpc(network: LayerRun) -> None:
    vpc = ipaddress.ip_network(network.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"])
    blocks = [
        ipaddress.ip_network(s.inputs["cidrBlock"])
        for s in network.of_type("aws:ec2/subnet:Subnet")
    ]
    assert all(b.subnet_of(vpc) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_no_path_to_the_internet(network: LayerRun) -> None:
    forbidden = {
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/eip:Eip",
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
        "aws:ec2/route:Route",
    }
    assert forbidden.isdisjoint(network.by_type())
    assert all(not t.inputs.get("routes") for t in network.of_type("aws:ec2/routeTable:RouteTable"))


def test_every_subnet_has_its_own_route_table(network: LayerRun) -> None:
    associations = network.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert len({a.inputs["subnetId"] for a in associations}) == 3
    assert len({a.inputs["routeTableId"] for a in associations}) == 3


def test_endpoint_list(network: LayerRun) -> None:
    endpoints = {
        e.inputs["serviceName"].rsplit(".", 1)[1]: e
        for e in network.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    # tests/functional/functions/test_iam_census.py derives this set from the handlers' calls
    assert set(endpoints) == {"dynamodb", "sqs", "sns"}
    assert endpoints["dynamodb"].inputs["vpcEndpointType"] == "Gateway"
    assert len(endpoints["dynamodb"].inputs["routeTableIds"]) == 3
    for name, endpoint in endpoints.items():
        assert endpoint.inputs["serviceName"] == f"com.amazonaws.us-east-2.{name}"
        if name != "dynamodb":
            assert endpoint.inputs["vpcEndpointType"] == "Interface"
            assert endpoint.inputs["privateDnsEnabled"] is True
            assert len(endpoint.inputs["subnetIds"]) == 3


def test_endpoint_policies_restrict_use_to_this_account(network: LayerRun) -> None:
    for endpoint in network.of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        (statement,) = statements(policy(endpoint))
        service = endpoint.inputs["serviceName"].rsplit(".", 1)[1]
        # no wildcard: the actions the handlers call (the IAM census test holds the list)
        assert statement["Action"]
        assert all(a.startswith(f"{service}:") and "*" not in a for a in statement["Action"])
        assert statement["Condition"]["StringEquals"] == {
            "aws:PrincipalAccount": "123456789012",
            "aws:ResourceAccount": "123456789012",
        }


def test_security_groups_allow_only_https_between_functions_and_endpoints(
    network: LayerRun,
) -> None:
    groups = {g.name: g for g in network.of_type("aws:ec2/securityGroup:SecurityGroup")}
    functions_sg, endpoints_sg = groups["net-functions-sg"].id, groups["net-endpoints-sg"].id
    assert all(not g.inputs.get("ingress") and not g.inputs.get("egress") for g in groups.values())

    (ingress,) = network.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress.inputs["securityGroupId"] == endpoints_sg
    assert ingress.inputs["referencedSecurityGroupId"] == functions_sg
    egress = network.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert {e.inputs["securityGroupId"] for e in egress} == {functions_sg}
    targets = {
        e.inputs.get("referencedSecurityGroupId") or e.inputs.get("prefixListId") for e in egress
    }
    dynamodb = next(
        e for e in network.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.name == "net-dynamodb"
    )
    assert targets == {endpoints_sg, dynamodb.outputs["prefixListId"]}
    for rule in [ingress, *egress]:
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
            "tcp",
            443,
            443,
        )
        assert "cidrIpv4" not in rule.inputs


def test_default_security_group_is_emptied(network: LayerRun) -> None:
    default = network.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not as_list(default.inputs.get("ingress") or [])
    assert not as_list(default.inputs.get("egress") or [])

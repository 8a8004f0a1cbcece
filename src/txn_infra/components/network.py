"""The private network: a VPC with three private subnets and the endpoints the functions use.

There is no internet gateway, NAT gateway or public subnet: every AWS API the functions call is
reached through a VPC endpoint, and the functions' security group may talk to nothing else.
Lambda itself, outside this network, delivers the logs and X-Ray segments and decrypts the
environment, so no endpoint serves those (stacks/network/README.md; the IAM census test holds
this list to the services the handlers call).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# Interface endpoints (private DNS) for every AWS API a function calls from inside the VPC.
# DynamoDB is a gateway endpoint (free, route-table based).
INTERFACE_SERVICES = ("sqs", "sns")
GATEWAY_SERVICES = ("dynamodb",)
HTTPS = 443
# What the handlers call through each endpoint, as IAM actions: the IAM census test holds this to
# the calls the handlers make (both ways). PartiQL statements are authorised by verb, and
# sns:Publish covers PublishBatch. SQS's event source mappings poll from the Lambda service,
# outside the VPC, so the queue endpoint only sends.
ENDPOINT_ACTIONS: dict[str, tuple[str, ...]] = {
    "dynamodb": (
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLUpdate",
    ),
    "sqs": ("sqs:SendMessage",),
    "sns": ("sns:Publish",),
}


@dataclass(frozen=True)
class PrivateNetworkArgs:
    name_prefix: str  # physical name prefix, e.g. "txn-dev"
    cidr: str
    region: str
    account_id: pulumi.Input[str]
    az_count: int = 3


def subnet_cidrs(cidr: str, count: int) -> list[str]:
    """Carve ``count`` equal subnets out of ``cidr``, leaving room to grow to four."""
    network = ipaddress.ip_network(cidr)
    return [str(s) for s in network.subnets(prefixlen_diff=2)][:count]


def endpoint_policy(service: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """A data perimeter: only this account's principals, only this account's resources, and only
    what the handlers call (:data:`ENDPOINT_ACTIONS`).

    Least privilege per resource lives in the IAM roles; the endpoint policy stops the VPC from
    being used to reach other accounts' resources (exfiltration) or by foreign principals, and
    keeps a role granted more than the handlers need (a console user's, a mistake) from deleting,
    scanning or purging through it.
    """
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ThisAccountOnly",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": list(ENDPOINT_ACTIONS[service]),
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "aws:PrincipalAccount": account_id,
                            "aws:ResourceAccount": account_id,
                        }
                    },
                }
            ],
        }
    )


class PrivateNetwork(pulumi.ComponentResource):
    """VPC, private subnets in distinct AZs, route tables, endpoints and security groups."""

    def __init__(
        self, name: str, args: PrivateNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:network:PrivateNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        p = args.name_prefix

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_support=True,  # private DNS of interface endpoints needs both
            enable_dns_hostnames=True,
            tags={"Name": f"{p}-vpc"},
            opts=child,
        )
        # The default security group allows all traffic between its members: empty it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, tags={"Name": f"{p}-default"}, opts=child
        )

        # Availability Zones only: with Local or Wavelength Zones opted in, the call lists them
        # too, and endpoints and Lambda ENIs cannot be placed there.
        zones = aws.get_availability_zones_output(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOptions(parent=self),
        )
        self.subnets: list[aws.ec2.Subnet] = []
        self.route_tables: list[aws.ec2.RouteTable] = []
        for index, cidr in enumerate(subnet_cidrs(args.cidr, args.az_count)):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=self.vpc.id,
                cidr_block=cidr,
                availability_zone=zones.names[index],
                map_public_ip_on_launch=False,
                tags={"Name": f"{p}-private-{index}", "Tier": "private"},
                opts=child,
            )
            # No routes beyond the implicit local one (and the DynamoDB gateway prefix list).
            table = aws.ec2.RouteTable(
                f"{name}-private-{index}-rt",
                vpc_id=self.vpc.id,
                tags={"Name": f"{p}-private-{index}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}-rta",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=child,
            )
            self.subnets.append(subnet)
            self.route_tables.append(table)

        self.function_sg = aws.ec2.SecurityGroup(
            f"{name}-functions-sg",
            vpc_id=self.vpc.id,
            description="Lambda functions: HTTPS to the VPC endpoints only",
            tags={"Name": f"{p}-functions"},
            opts=child,
        )
        self.endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=self.vpc.id,
            description="Interface endpoints: HTTPS from the functions only",
            tags={"Name": f"{p}-endpoints"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-from-functions",
            security_group_id=self.endpoint_sg.id,
            referenced_security_group_id=self.function_sg.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="HTTPS from the functions",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-functions-to-endpoints",
            security_group_id=self.function_sg.id,
            referenced_security_group_id=self.endpoint_sg.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="HTTPS to the interface endpoints",
            opts=child,
        )

        self.endpoints: dict[str, aws.ec2.VpcEndpoint] = {}
        for service in GATEWAY_SERVICES:
            self.endpoints[service] = aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[t.id for t in self.route_tables],
                policy=endpoint_policy(service, args.account_id),
                tags={"Name": f"{p}-{service}"},
                opts=child,
            )
            # Gateway endpoint traffic goes to the service's public prefix list, not to an ENI.
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-functions-to-{service}",
                security_group_id=self.function_sg.id,
                prefix_list_id=self.endpoints[service].prefix_list_id,
                ip_protocol="tcp",
                from_port=HTTPS,
                to_port=HTTPS,
                description=f"HTTPS to {service} through its gateway endpoint",
                opts=child,
            )
        for service in INTERFACE_SERVICES:
            self.endpoints[service] = aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in self.subnets],
                security_group_ids=[self.endpoint_sg.id],
                policy=endpoint_policy(service, args.account_id),
                tags={"Name": f"{p}-{service}"},
                opts=child,
            )

        self.register_outputs(
            {
                "vpc_id": self.vpc.id,
                "private_subnet_ids": [s.id for s in self.subnets],
                "function_security_group_id": self.function_sg.id,
            }
        )

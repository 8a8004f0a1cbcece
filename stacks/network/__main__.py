"""network: the private VPC, its subnets, endpoints and security groups."""

from txn_infra.components.network import PrivateNetwork, PrivateNetworkArgs
from txn_infra.config import NetworkConfig
from txn_infra.layer import start
from txn_spec import contract

ctx = start(contract.NETWORK, NetworkConfig)

net = PrivateNetwork(
    "net",
    PrivateNetworkArgs(
        name_prefix=ctx.prefix,
        cidr=ctx.config.vpc_cidr,
        region=ctx.region,
        account_id=ctx.account_id(),
    ),
    opts=ctx.opts,
)

ctx.export(
    vpc_id=net.vpc.id,
    vpc_cidr=net.vpc.cidr_block,
    private_subnet_ids=[s.id for s in net.subnets],
    private_route_table_ids=[t.id for t in net.route_tables],
    function_security_group_id=net.function_sg.id,
    endpoint_security_group_id=net.endpoint_sg.id,
    vpc_endpoint_ids={service: endpoint.id for service, endpoint in net.endpoints.items()},
)

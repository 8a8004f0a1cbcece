"""The cross-stack contract: per layer, its Pulumi project, its upstream layers and the exact
output keys it exports.

Producers export only through :func:`txn_infra.layer.LayerContext.export`, which refuses a
missing or unknown key; consumers read only through :class:`txn_infra.layer.Upstream`, which
refuses a key the producer does not declare and a layer that is not upstream. The system test
runs all six programs and checks both sides against this module, so a renamed output fails a
test before anyone deploys. Pure Python: the deploy orchestration reads the DAG from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from graphlib import TopologicalSorter


@dataclass(frozen=True)
class Layer:
    """One micro-stack: its folder under ``stacks/``, Pulumi project and contract."""

    name: str
    upstream: tuple[str, ...]
    outputs: frozenset[str]
    secret_outputs: frozenset[str] = frozenset()

    @property
    def project(self) -> str:
        return f"txn-{self.name}"

    @property
    def folder(self) -> str:
        return f"stacks/{self.name}"

    def __post_init__(self) -> None:
        if not self.secret_outputs <= self.outputs:
            raise ValueError(f"{self.name}: secret outputs must be outputs")


NETWORK = Layer(
    name="network",
    upstream=(),
    outputs=frozenset(
        {
            "vpc_id",
            "vpc_cidr",
            "private_subnet_ids",
            "private_route_table_ids",
            "function_security_group_id",
            "endpoint_security_group_id",
            # service name (sqs, sns: interface; dynamodb: gateway) -> endpoint id
            "vpc_endpoint_ids",
        }
    ),
)

SECURITY = Layer(
    name="security",
    upstream=("network",),
    outputs=frozenset(
        {
            "data_key_arn",
            "logs_key_arn",
            "alarms_key_arn",
            "validator_role_arn",
            "fraud_detector_role_arn",
            "failed_transactions_role_arn",
            "flow_logs_role_arn",
        }
    ),
)

DATA = Layer(
    name="data",
    upstream=("security",),
    outputs=frozenset(
        {
            "transactions_table_name",
            "transactions_table_arn",
            "merchants_table_name",
            "merchants_table_arn",
            "idempotency_table_name",
            "idempotency_table_arn",
            "velocity_table_name",
            "velocity_table_arn",
            "transactions_queue_url",
            "transactions_queue_arn",
            "transactions_queue_name",
            "transactions_dlq_url",
            "transactions_dlq_arn",
            "transactions_dlq_name",
            "parking_queue_url",
            "parking_queue_arn",
            "parking_queue_name",
            "fraud_alerts_topic_arn",
        }
    ),
)

COMPUTE = Layer(
    name="compute",
    upstream=("network", "security", "data"),
    outputs=frozenset(
        {
            "validator_function_name",
            "validator_function_arn",
            "validator_invoke_arn",
            "fraud_detector_function_name",
            "failed_transactions_function_name",
            # function component (validator, ...) -> log group name
            "function_log_groups",
        }
    ),
)

EDGE = Layer(
    name="edge",
    upstream=("security", "compute"),
    outputs=frozenset(
        {
            "rest_api_id",
            "stage_name",
            "stage_arn",
            "transaction_endpoint_url",
            # API key name (a payment provider) -> its id, and -> its value
            "api_key_ids",
            "api_key_values",
            "web_acl_arn",
            "access_log_group_name",
        }
    ),
    secret_outputs=frozenset({"api_key_values"}),
)

OBSERVABILITY = Layer(
    name="observability",
    upstream=("network", "security", "data", "compute", "edge"),
    outputs=frozenset({"dashboard_url", "transaction_endpoint_url", "alarm_topic_arn"}),
)

LAYERS: dict[str, Layer] = {
    layer.name: layer for layer in (NETWORK, SECURITY, DATA, COMPUTE, EDGE, OBSERVABILITY)
}

# The account bootstrap (stacks/account, docs/decisions/0010-account-bootstrap.md): what exists
# once per AWS account and region, deployed by the platform administrators before any layer and
# with other credentials. It is a project with a contract like the layers, but OUTSIDE the DAG:
# not in LAYERS, so no layer may read it, deploy_order never includes it and txn_ops does not
# run it. Its outputs are for the administrators and for [tool.txn-ops] in pyproject.toml.
ACCOUNT = Layer(
    name="account",
    upstream=(),
    outputs=frozenset(
        {
            "state_bucket_name",
            "state_key_arn",
            "backend_url",  # what [tool.txn-ops] backend-url holds
            "secrets_key_arn",
            "secrets_provider",  # what [tool.txn-ops] secrets-provider holds
            "apigateway_cloudwatch_role_arn",
            "deploy_role_arns",  # by layer: what [tool.txn-ops.deploy-role-arn] templates
            "preview_role_arns",  # by layer: the read-only roles the preview jobs assume
            "role_boundary_arns",  # by environment: the boundary of security's roles
        }
    ),
)


class ContractError(KeyError):
    """A layer or output key that the contract does not declare."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def layer(name: str) -> Layer:
    try:
        return LAYERS[name]
    except KeyError:
        raise ContractError(f"unknown layer {name!r}; layers are {', '.join(LAYERS)}") from None


def deploy_order(names: list[str] | None = None) -> list[str]:
    """Layers in topological order (upstream first), restricted to ``names`` when given."""
    # Upstream first by depth; among layers of one depth the declared order, so plans read the
    # same every time (the DAG is checked acyclic at import).
    order = sorted(LAYERS, key=_depth)
    if names is None:
        return order
    for name in names:
        layer(name)
    return [n for n in order if n in set(names)]


def downstream(name: str) -> list[str]:
    """Every layer that reads ``name``, directly or through another layer, in deploy order."""
    layer(name)
    found: set[str] = set()
    frontier = {name}
    while frontier:
        frontier = {n for n, s in LAYERS.items() if set(s.upstream) & frontier} - found
        found |= frontier
    return [n for n in deploy_order() if n in found]


def _depth(name: str) -> int:
    upstream = LAYERS[name].upstream
    return 0 if not upstream else 1 + max(_depth(u) for u in upstream)


def _check_dag() -> None:
    for spec in LAYERS.values():
        for up in spec.upstream:
            if up not in LAYERS:
                raise ValueError(f"{spec.name} reads unknown layer {up!r}")
    TopologicalSorter({n: set(s.upstream) for n, s in LAYERS.items()}).prepare()


_check_dag()

"""Prod protects what a delete or a replacement would lose; dev protects nothing.

Pulumi fails any deployment that would delete a protected resource, a replacement or a refactor
that changes its URN included (its `protect` option). Each layer turns it on with its
`deletionProtection` key, which `./noxw -s destroy` also reads before it runs anything.
"""

from __future__ import annotations

from collections import Counter

from txn_infra.offline import LayerRun
from txn_infra.protected import PROTECTED_TYPES
from txn_ops import teardown
from txn_ops.settings import REPO_ROOT
from txn_spec import contract

# What each layer's prod stack must protect, by type, and how many.
EXPECTED = {
    "network": {"ec2/vpc": 1, "ec2/subnet": 3, "ec2/securityGroup": 2, "ec2/vpcEndpoint": 3},
    "security": {"kms/key": 3},
    "data": {"dynamodb/table": 4, "sqs/queue": 3, "sns/topic": 1},
    "compute": {},
    "edge": {
        "apigateway/restApi": 1,
        "apigateway/stage": 1,
        "apigateway/apiKey": 1,
        "cloudwatch/logGroup": 3,  # the audit logs: access, execution, WAF
    },
    "observability": {"cloudwatch/logGroup": 1, "sns/topic": 1},  # flow logs, alarm topic
}


def protected(run: LayerRun) -> Counter[str]:
    return Counter(r.type.split(":")[1] for r in run.resources if r.name in run.protected)


def test_prod_protects_every_resource_of_the_stateful_types_in_each_layer(
    prod_system: dict[str, LayerRun],
) -> None:
    for name, run in prod_system.items():
        assert protected(run) == Counter(EXPECTED[name]), name
        stateful = {r.name for r in run.resources if r.type in PROTECTED_TYPES}
        if name != contract.COMPUTE.name:  # no deletionProtection: functions' logs are 30 days
            assert run.protected == stateful, name


def test_dev_protects_nothing(system: dict[str, LayerRun]) -> None:
    assert {name: run.protected for name, run in system.items()} == {n: set() for n in system}


def test_the_destroy_refuses_exactly_the_layers_that_protect_something() -> None:
    layers = list(contract.LAYERS)
    assert teardown.protected_layers(REPO_ROOT, layers, "prod") == [
        name for name in layers if EXPECTED[name]
    ]
    assert teardown.protected_layers(REPO_ROOT, layers, "dev") == []

"""The layers together: exports match the contract, references are answered by real producers,
every resource is tagged, and the offline run itself fails loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest

from txn_infra.offline import (
    LayerRun,
    UnknownInvokeError,
    UnknownStackReferenceError,
    run_layer,
    run_system,
)
from txn_spec import contract

STANDARD_TAGS = {"Application", "Environment", "Layer", "Owner", "DataClassification", "ManagedBy"}


def test_every_layer_exports_exactly_its_contract(system: dict[str, LayerRun]) -> None:
    for name, run in system.items():
        assert set(run.exports) == contract.layer(name).outputs, name


def test_secret_outputs_are_exported_as_secrets(system: dict[str, LayerRun]) -> None:
    for name, run in system.items():
        assert contract.layer(name).secret_outputs <= run.secret_exports


def test_consumers_read_only_declared_keys_of_upstream_layers(
    system: dict[str, LayerRun],
) -> None:
    for name, run in system.items():
        for producer, keys in run.reads.items():
            assert producer in contract.layer(name).upstream
            assert keys <= contract.layer(producer).outputs
            assert keys <= set(system[producer].exports)


def test_every_aws_resource_uses_the_layer_provider_with_standard_tags(
    system: dict[str, LayerRun],
) -> None:
    for name, run in system.items():
        (provider,) = run.of_type("pulumi:providers:aws")
        tags = json.loads(provider.inputs["defaultTags"])["tags"]
        assert set(tags) == STANDARD_TAGS
        assert (tags["Layer"], tags["Environment"], tags["ManagedBy"]) == (name, "dev", "pulumi")
        custom = [r for r in run.resources if r.type.startswith("aws:")]
        assert custom
        for resource in custom:
            assert resource.provider is not None, resource.name
            assert resource.provider.endswith(f"::{provider.id}"), resource.name


def test_a_consumer_reading_a_key_its_producer_stopped_exporting_fails(
    system: dict[str, LayerRun],
) -> None:
    consumers = [(n, p, k) for n, r in system.items() for p, keys in r.reads.items() for k in keys]
    _consumer, producer, key = consumers[0]

    def drop_key(run: LayerRun) -> None:
        if run.layer.name == producer:
            run.exports.pop(key)

    with pytest.raises(Exception, match=key):
        run_system(doctor=drop_key)


def test_exports_outside_the_contract_are_refused(tmp_path: Path) -> None:
    program = tmp_path / "main.py"
    program.write_text(
        "from txn_spec import contract\n"
        "from txn_infra.config import NetworkConfig\n"
        "from txn_infra.layer import start\n"
        "ctx = start(contract.NETWORK, NetworkConfig)\n"
        "ctx.export(vpc_id='vpc-1', subnet='x')\n"
    )
    with pytest.raises(
        contract.ContractError, match=r"missing \[.*'vpc_cidr'.*undeclared \['subnet'\]"
    ):
        run_layer("network", program=program)


def test_reading_a_key_the_contract_does_not_declare_is_refused(tmp_path: Path) -> None:
    program = tmp_path / "main.py"
    program.write_text(
        "from txn_spec import contract\n"
        "from txn_infra.config import SecurityConfig\n"
        "from txn_infra.layer import Upstream, start\n"
        "ctx = start(contract.NETWORK, SecurityConfig.__base__)\n"
        "Upstream(contract.SECURITY, contract.NETWORK, 'organization', 'dev')['vpc']\n"
    )
    with pytest.raises(contract.ContractError, match=r"reads network\.vpc, which the contract"):
        run_layer("network", program=program, references={"organization/txn-network/dev": {}})


def test_reading_a_layer_that_is_not_upstream_is_refused(tmp_path: Path) -> None:
    program = tmp_path / "main.py"
    program.write_text(
        "from txn_spec import contract\n"
        "from txn_infra.config import NetworkConfig\n"
        "from txn_infra.layer import start\n"
        "ctx = start(contract.NETWORK, NetworkConfig)\n"
        "ctx.upstream(contract.DATA)\n"
    )
    with pytest.raises(contract.ContractError, match="'network' may not read 'data'"):
        run_layer("network", program=program)


def test_unknown_invokes_raise(tmp_path: Path) -> None:
    program = tmp_path / "main.py"
    program.write_text(
        "import pulumi, pulumi_aws as aws\n"
        "pulumi.export('x', aws.ec2.get_vpc_output(default=True).id)\n"
    )
    with pytest.raises(UnknownInvokeError, match="getVpc"):
        run_layer("network", program=program)


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_unknown_stack_references_raise(tmp_path: Path) -> None:
    program = tmp_path / "main.py"
    program.write_text(
        "import pulumi\n"
        "ref = pulumi.StackReference('x', stack_name='organization/txn-nowhere/dev')\n"
        "pulumi.export('x', ref.require_output('y'))\n"
    )
    with pytest.raises(UnknownStackReferenceError, match="txn-nowhere"):
        run_layer("network", program=program)


def test_bad_config_fails_with_one_clear_line() -> None:
    with pytest.raises(pulumi.RunError, match=r"txn-network:vpcCidr .*RFC 1918 IPv4 block"):
        run_layer("network", config={"txn-network:vpcCidr": "8.8.0.0/16"})

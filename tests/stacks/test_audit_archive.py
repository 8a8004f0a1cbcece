"""PCI DSS 10.3.3: with ``auditLogDestinationArn`` set, every audit log group is copied to the
log archive account's CloudWatch Logs destination; unset (the shipped stacks), nothing is."""

from __future__ import annotations

import pytest

from tests.stacks.conftest import upstream_exports
from txn_infra import deploy_permissions
from txn_infra.offline import LayerRun, reference_name, run_layer
from txn_spec import contract

FILTER = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"
GROUP = "aws:cloudwatch/logGroup:LogGroup"
ARCHIVE = "arn:aws:logs:us-east-2:210987654321:destination:pci-audit-archive"
AUDIT_GROUPS = {
    contract.EDGE: ("access-logs", "execution-logs", "waf-logs"),
    contract.OBSERVABILITY: ("flow-logs",),
}


def rerun(system: dict[str, LayerRun], layer: contract.Layer, destination: str) -> LayerRun:
    references = {
        reference_name(contract.layer(n), "dev"): exports
        for n, exports in upstream_exports(system, layer).items()
    }
    config = {f"{layer.project}:auditLogDestinationArn": destination}
    return run_layer(layer.name, references=references, config=config)


@pytest.mark.parametrize("layer", list(AUDIT_GROUPS), ids=lambda layer: layer.name)
def test_every_audit_log_group_is_copied_whole_to_the_archive(
    system: dict[str, LayerRun], layer: contract.Layer
) -> None:
    run = rerun(system, layer, ARCHIVE)
    filters = {f.inputs["logGroup"]: f for f in run.of_type(FILTER)}
    groups = [run.one(GROUP, part) for part in AUDIT_GROUPS[layer]]
    assert set(filters) == {g.outputs["name"] for g in groups}
    for f in filters.values():
        assert f.inputs["destinationArn"] == ARCHIVE
        assert f.inputs["filterPattern"] == ""  # every event
        assert "roleArn" not in f.inputs  # cross-account delivery: the destination admits us


@pytest.mark.parametrize("layer", list(AUDIT_GROUPS), ids=lambda layer: layer.name)
def test_the_shipped_stacks_copy_nothing(system: dict[str, LayerRun], layer) -> None:
    assert system[layer.name].of_type(FILTER) == []


def test_a_destination_in_another_region_is_refused_at_preview(system: dict[str, LayerRun]) -> None:
    elsewhere = ARCHIVE.replace("us-east-2", "eu-west-1")
    with pytest.raises(Exception, match="only to a destination in its group's region"):
        rerun(system, contract.EDGE, elsewhere)


def test_the_deploy_role_may_subscribe_its_groups_to_that_destination_only(
    system: dict[str, LayerRun],
) -> None:
    run = rerun(system, contract.EDGE, ARCHIVE)
    statements = deploy_permissions.derive({"dev": {**system, "edge": run}})["edge"]
    granted = {
        resource
        for s in statements
        if "logs:PutSubscriptionFilter" in s["Action"]
        for resource in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    }
    # the region is the account stack's to fill, and the destination's must be the same
    assert ARCHIVE.replace("us-east-2", "{region}") in granted
    assert "arn:aws:logs:{region}:{account}:log-group:/txn/dev/api-access" in granted
    assert "*" not in granted

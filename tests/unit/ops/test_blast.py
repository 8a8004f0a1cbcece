"""Blast radius: a preview names the layers that read an output it changes, and a deploy ends
with the drift preview of exactly those."""

from __future__ import annotations

from pulumi.automation import events

from tests.unit.ops.conftest import FakeWorkspace
from txn_ops import blast
from txn_ops.deploy import Orchestrator
from txn_ops.pulumi_workspace import STACK_TYPE, stack_output_changes
from txn_ops.report import Console
from txn_ops.workspace import Changes
from txn_spec import contract

# What the programs read (txn_ops.blast.program_reads, trimmed to what these tests touch).
READS = {
    "edge": {"compute": {"validator_function_arn", "validator_invoke_arn"}},
    "observability": {"compute": {"validator_function_name"}, "edge": {"stage_name"}},
}


def test_readers_are_the_layers_reading_a_changed_output() -> None:
    changed = {"compute": {"validator_invoke_arn"}}
    assert blast.readers(READS, changed) == {"edge": ["compute.validator_invoke_arn"]}
    assert blast.readers(READS, changed, outside=["observability"]) == {}
    assert blast.changed_outputs({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b", "c"}


def test_the_programs_reads_come_from_the_programs() -> None:
    reads = blast.program_reads("dev")
    assert reads["edge"]["compute"] == {"validator_function_arn", "validator_invoke_arn"}
    assert set(reads) == set(contract.LAYERS)


class OneOutputChanges(FakeWorkspace):
    """A fake whose compute update changes only ``validator_invoke_arn``."""

    def up(self, layer, stack, policy_packs):
        before = dict(self.stacks[(layer.name, stack)].outputs)
        changes = super().up(layer, stack, policy_packs)
        if layer.name == "compute":
            after = self.stacks[(layer.name, stack)].outputs
            for key in after:
                if key != "validator_invoke_arn":
                    after[key] = before[key]
        return changes


def test_a_deploy_previews_exactly_the_layers_that_read_what_changed(settings, emit, lines):
    fake = OneOutputChanges()
    fake.deploy_all()
    fake.program_changed.add("compute")

    report = Orchestrator(
        fake,
        settings,
        "dev",
        console=Console(emit),
        concurrency_check=lambda r, region: None,
        reads=lambda: READS,
    ).run("deploy", ["compute"])

    drift = [(r.layer, r.result) for r in report.rows if r.action == "drift"]
    assert [layer for layer, _ in drift] == ["edge"]  # observability reads nothing that changed
    assert any("read by: edge (compute.validator_invoke_arn)" in line for line in lines)


def test_without_the_programs_reads_every_downstream_layer_is_previewed(settings, emit):
    fake = OneOutputChanges()
    fake.deploy_all()
    fake.program_changed.add("compute")

    report = Orchestrator(
        fake, settings, "dev", console=Console(emit), concurrency_check=lambda r, region: None
    ).run("deploy", ["compute"])

    assert {r.layer for r in report.rows if r.action == "drift"} == {"edge", "observability"}


def test_a_preview_names_the_readers_of_the_outputs_that_may_change(settings, emit, lines):
    fake = FakeWorkspace()
    fake.deploy_all()
    fake.program_changed.add("compute")
    preview = fake.preview
    fake.preview = lambda layer, stack, packs: Changes(
        preview(layer, stack, packs).counts, frozenset({"validator_function_name"})
    )

    Orchestrator(fake, settings, "dev", console=Console(emit), reads=lambda: READS).run(
        "preview", ["compute"]
    )

    assert any(
        "outputs that change: validator_function_name; read by: observability "
        "(compute.validator_function_name)" in line
        for line in lines
    ), lines


def _outputs_event(type_: str, old: dict, new: dict) -> events.EngineEvent:
    def state(outputs: dict) -> events.StepEventStateMetadata:
        return events.StepEventStateMetadata(
            type=type_, urn="urn", id="", parent="", provider="", outputs=outputs
        )

    metadata = events.StepEventMetadata(
        op=events.OpType.SAME, urn="urn", type=type_, provider="", old=state(old), new=state(new)
    )
    return events.EngineEvent(
        sequence=1, timestamp=0, res_outputs_event=events.ResOutputsEvent(metadata=metadata)
    )


def test_the_stack_outputs_a_preview_changes_are_read_from_the_engine_events() -> None:
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's unknown value in a preview
    found = stack_output_changes(
        [
            _outputs_event("aws:lambda/function:Function", {"arn": "a"}, {"arn": "b"}),
            _outputs_event(
                STACK_TYPE,
                {"kept": "x", "renamed": "old", "computed": "v1"},
                {"kept": "x", "renamed": "new", "computed": unknown, "added": "y"},
            ),
        ]
    )
    assert found == {"renamed", "computed", "added"}
    assert stack_output_changes([]) is None

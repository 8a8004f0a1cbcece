"""The Automation API workspace, with the CLI-facing classes replaced by recorders.

The real CLI cannot run here; these tests pin what the class asks of the Automation API (folder,
backend, secrets provider, fully qualified stack name, policy packs) and how it reads answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from pulumi.automation import events
from pulumi.automation._cmd import CommandResult

from txn_ops import pulumi_workspace
from txn_ops.errors import OpsError
from txn_ops.pulumi_workspace import AutomationWorkspace, stateful_losses
from txn_ops.workspace import StepFailed
from txn_spec import contract

# What the DIY backend prints when S3 refuses a stack file (a 403 on HeadObject).
DENIED = (
    'error: failed to load checkpoint: blob (key ".pulumi/stacks/{key}.json") '
    "(code=PermissionDenied): operation error S3: HeadObject, StatusCode: 403, api error Forbidden"
)


class RecordedWorkspace:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    def list_stacks(self) -> list[auto.StackSummary]:
        raise AssertionError("`pulumi stack ls` lists every project's stacks in the bucket")


class RecordedStack:
    def __init__(self, name: str, workspace: RecordedWorkspace) -> None:
        self.name = name
        self.workspace = workspace
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def outputs(self) -> dict[str, auto.OutputValue]:
        return {
            "vpc_id": auto.OutputValue("vpc-123", False),
            "api_key_values": auto.OutputValue({"provider": "k"}, True),
        }

    def export_stack(self) -> auto.Deployment:
        resources = [{"urn": f"urn:pulumi:dev::p::t::r{i}", "type": "t"} for i in range(5)]
        resources += [
            # what a destroy stops at: Pulumi's protect, and AWS's deletion protection
            {"urn": "urn:pulumi:dev::p::aws:kms/key:Key::security-data", "type": "aws:kms/key:Key",
             "protect": True},
            {"urn": "urn:pulumi:dev::p::aws:dynamodb/table:Table::store-table",
             "type": "aws:dynamodb/table:Table", "outputs": {"deletionProtectionEnabled": True}},
        ]  # fmt: skip
        return auto.Deployment(version=3, deployment={"resources": resources})

    def preview(self, **kwargs: Any) -> Any:
        self.calls.append(("preview", kwargs))
        counts = {auto.OpType.CREATE: 2, auto.OpType.SAME: 3}
        return auto.PreviewResult(stdout="", stderr="", change_summary=counts)

    def up(self, **kwargs: Any) -> Any:
        self.calls.append(("up", kwargs))
        summary = auto.UpdateSummary(resource_changes={"update": 1}, kind="update", start_time=None,
                                     message=None, environment={}, config={}, result="succeeded",
                                     end_time=None, version=None, deployment=None)  # fmt: skip
        return auto.UpResult(stdout="", stderr="", summary=summary, outputs={})


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {"stacks": [], "missing": set(), "refused": set()}

    def select(name: str, workspace: RecordedWorkspace) -> RecordedStack:
        if name in seen["missing"]:
            raise auto.StackNotFoundError(CommandResult("", f"no stack named '{name}' found", 255))
        if name in seen["refused"]:
            raise auto.CommandError(
                CommandResult("", DENIED.format(key=name.split("/", 1)[1]), 255)
            )
        stack = RecordedStack(name, workspace)
        seen["stacks"].append(stack)
        return stack

    monkeypatch.setattr(pulumi_workspace.auto, "LocalWorkspace", RecordedWorkspace)
    monkeypatch.setattr(pulumi_workspace.auto.Stack, "select", staticmethod(select))
    return seen


def test_each_layer_runs_in_its_folder_on_the_one_backend_and_secrets_provider(
    recorded, settings
) -> None:
    AutomationWorkspace(settings, echo=lambda _: None).state(contract.DATA, "dev")

    stack = recorded["stacks"][0]
    assert stack.name == "organization/txn-data/dev"
    assert stack.workspace.kwargs["work_dir"] == str(settings.root / "stacks" / "data")
    assert stack.workspace.kwargs["env_vars"]["PULUMI_BACKEND_URL"] == settings.backend_url
    assert stack.workspace.kwargs["secrets_provider"] == settings.secrets_provider


def test_a_checkout_without_the_stack_files_secrets_lines_keeps_the_states_provider(
    recorded, settings
) -> None:
    # Pulumi falls back to the backend's default (passphrase) without it (pulumi/pulumi#17236)
    AutomationWorkspace(settings, echo=lambda _: None).preview(contract.DATA, "dev", [])

    env = recorded["stacks"][0].workspace.kwargs["env_vars"]
    assert env["PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER"] == "true"


def test_state_reads_outputs_with_their_secret_flag_and_the_resource_count(
    recorded, settings
) -> None:
    state = AutomationWorkspace(settings).state(contract.NETWORK, "dev")

    assert state is not None
    assert state.resource_count == 7
    assert state.outputs["vpc_id"] == "vpc-123"
    assert state.secret_outputs == {"api_key_values"}
    assert state.protected == {
        "aws:kms/key:Key security-data",
        "aws:dynamodb/table:Table store-table",
    }


def test_a_stack_that_does_not_exist_has_no_state(recorded, settings) -> None:
    recorded["missing"].add("organization/txn-edge/dev")

    assert AutomationWorkspace(settings).state(contract.EDGE, "dev") is None


def test_a_stack_the_backend_refuses_to_show_is_one_coded_line_not_a_traceback(
    recorded, settings
) -> None:
    recorded["refused"].add("organization/txn-network/dev")

    with pytest.raises(OpsError) as caught:
        AutomationWorkspace(settings).state(contract.NETWORK, "dev")

    assert caught.value.code == "state-unreadable"
    assert "organization/txn-network/dev" in caught.value.message
    assert "PermissionDenied" in caught.value.message
    assert "\n" not in str(caught.value)


def test_a_refused_stack_fails_its_step_with_pulumis_first_error_line(recorded, settings) -> None:
    recorded["refused"].add("organization/txn-edge/dev")

    with pytest.raises(StepFailed, match=r"^edge: failed to load checkpoint: .*PermissionDenied"):
        AutomationWorkspace(settings, echo=lambda _: None).preview(contract.EDGE, "dev", [])


def test_preview_attaches_the_policy_pack_and_counts_changes_by_plain_name(
    recorded, settings
) -> None:
    changes = AutomationWorkspace(settings, echo=lambda _: None).preview(
        contract.NETWORK, "dev", [Path("/repo/policies")]
    )

    _, kwargs = recorded["stacks"][0].calls[0]
    assert kwargs["policy_packs"] == ["/repo/policies"]
    assert changes.counts == {"create": 2, "same": 3}
    assert changes.changed == 2


def test_a_concurrent_update_is_a_failed_step_that_says_what_to_do(settings) -> None:
    def locked() -> None:
        raise auto.ConcurrentUpdateError(CommandResult("", "the stack is currently locked", 255))

    with pytest.raises(StepFailed, match="pulumi cancel"):
        AutomationWorkspace(settings)._call(contract.DATA, locked)


def test_a_credentials_failure_inside_pulumi_becomes_one_line(settings) -> None:
    def no_credentials() -> None:
        raise auto.CommandError(
            CommandResult("", "error: NoCredentialProviders: no valid providers in chain", 255)
        )

    with pytest.raises(OpsError) as caught:
        AutomationWorkspace(settings)._call(contract.DATA, no_credentials)

    assert caught.value.code == "aws-credentials"


def test_a_preview_saves_each_layers_update_plan_where_the_deploy_will_read_it(
    recorded, settings, tmp_path: Path
) -> None:
    # GIVEN a workspace told to keep plans in a folder that does not exist yet
    plans = tmp_path / "plans" / "prod"
    workspace = AutomationWorkspace(settings, echo=lambda _: None, plans_dir=plans)
    # WHEN the data layer is previewed
    workspace.preview(contract.DATA, "prod", [])
    # THEN Pulumi is asked to save the plan as <plans>/data.json, in a folder that now exists
    _, kwargs = recorded["stacks"][0].calls[0]
    assert kwargs["plan"] == str(plans / "data.json")
    assert plans.is_dir()


def test_a_deploy_applies_the_saved_plan(recorded, settings, tmp_path: Path) -> None:
    (tmp_path / "edge.json").write_text("{}")
    workspace = AutomationWorkspace(settings, echo=lambda _: None, plans_dir=tmp_path)

    workspace.up(contract.EDGE, "prod", [])

    name, kwargs = recorded["stacks"][0].calls[0]
    assert (name, kwargs["plan"]) == ("up", str(tmp_path / "edge.json"))


def test_a_deploy_without_the_saved_plan_it_was_told_to_follow_stops(
    recorded, settings, tmp_path: Path
) -> None:
    workspace = AutomationWorkspace(settings, echo=lambda _: None, plans_dir=tmp_path)

    with pytest.raises(StepFailed, match="edge: no saved plan"):
        workspace.up(contract.EDGE, "prod", [])
    assert recorded["stacks"][0].calls == []


def test_without_a_plans_folder_nothing_is_saved_or_followed(recorded, settings) -> None:
    AutomationWorkspace(settings, echo=lambda _: None).preview(contract.DATA, "dev", [])

    _, kwargs = recorded["stacks"][0].calls[0]
    assert kwargs["plan"] is None


def _pre(op: auto.OpType, type_: str, name: str) -> auto.EngineEvent:
    urn = f"urn:pulumi:dev::txn-data::txn:data:Table${type_}::{name}"
    metadata = events.StepEventMetadata(op=op, urn=urn, type=type_, provider="")
    return auto.EngineEvent(
        sequence=1, timestamp=0, resource_pre_event=events.ResourcePreEvent(metadata=metadata)
    )


def test_a_preview_names_the_stateful_resources_it_would_replace_or_delete() -> None:
    table, queue = "aws:dynamodb/table:Table", "aws:sqs/queue:Queue"
    found = stateful_losses(
        [
            # a replacement: its create-replacement, replace and delete-replaced steps
            _pre(auto.OpType.CREATE_REPLACEMENT, table, "store-table"),
            _pre(auto.OpType.REPLACE, table, "store-table"),
            _pre(auto.OpType.DELETE_REPLACED, table, "store-table"),
            _pre(auto.OpType.DELETE, queue, "queues-parking"),
            # changes that keep what the resource holds, and types that hold nothing
            _pre(auto.OpType.UPDATE, table, "other-table"),
            _pre(auto.OpType.REPLACE, "aws:apigateway/deployment:Deployment", "api-deployment"),
            _pre(auto.OpType.DELETE, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm"),
        ]
    )
    assert found == (f"{table} store-table (replace)", f"{queue} queues-parking (delete)")

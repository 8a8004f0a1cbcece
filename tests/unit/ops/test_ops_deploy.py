"""The deploy orchestration against an in-memory workspace: order, selection, refusals, drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from txn_ops import settings as cfg
from txn_ops.deploy import Orchestrator, drift_candidates, plan, select
from txn_ops.errors import OpsError
from txn_ops.report import Console
from txn_ops.trail import Finding
from txn_ops.workspace import Changes, Workspace
from txn_spec import contract, shapes

ALL = ["network", "security", "data", "compute", "edge", "observability"]
# What the execution roles (security) and the subnets and groups (network) hold: the wait for
# Lambda's interfaces comes after compute and before any of these.
BELOW_COMPUTE = ["data", "security", "network"]


def quota_ok(reservations, region) -> None:
    """A concurrency check that finds room: the account's limit is not what a test is about."""


def orchestrator(
    fake, settings, emit, eni_wait=None, concurrency_check=quota_ok, trail_check=None
) -> Orchestrator:
    return Orchestrator(
        fake,
        settings,
        "dev",
        console=Console(emit),
        eni_wait=eni_wait,
        concurrency_check=concurrency_check,
        trail_check=trail_check,
    )


# -- planning ---------------------------------------------------------------------------------


def test_deploy_plan_runs_every_layer_upstream_first_checking_right_before_data_and_compute():
    steps = plan("deploy", [])

    assert [(s.action, s.layer.name) for s in steps] == [
        ("up", "network"),
        ("up", "security"),
        ("check-trail", "data"),
        ("up", "data"),
        ("check-quota", "compute"),
        ("up", "compute"),
        ("up", "edge"),
        ("up", "observability"),
    ]


def test_a_deploy_without_compute_plans_no_quota_check() -> None:
    steps = plan("deploy", ["network", "security", "data", "edge"])

    assert "check-quota" not in [s.action for s in steps]


def test_a_deploy_without_data_plans_no_trail_check() -> None:
    steps = plan("deploy", ["network", "security", "compute", "edge"])

    assert "check-trail" not in [s.action for s in steps]


def test_selected_layers_run_in_dag_order_whatever_order_they_are_named_in() -> None:
    steps = plan("deploy", ["edge", "network", "data"])

    assert [s.layer.name for s in steps if s.runs_pulumi] == ["network", "data", "edge"]


def test_destroy_plan_waits_for_lambda_enis_right_after_compute_while_the_roles_stand() -> None:
    steps = [(s.action, s.layer.name) for s in plan("destroy", [])]

    assert steps == [
        ("destroy", "observability"),
        ("destroy", "edge"),
        ("destroy", "compute"),
        ("wait-enis", "compute"),
        ("destroy", "data"),
        ("destroy", "security"),
        ("destroy", "network"),
    ]


def test_destroying_compute_alone_leaves_the_release_to_aws_without_waiting() -> None:
    steps = plan("destroy", ["compute", "edge", "observability"])

    assert [s.action for s in steps] == ["destroy"] * 3


def test_destroying_the_lower_layers_after_compute_is_gone_waits_first() -> None:
    # compute was destroyed in an earlier run: its interfaces may still be there
    steps = [(s.action, s.layer.name) for s in plan("destroy", BELOW_COMPUTE)]

    assert steps == [("wait-enis", "compute")] + [("destroy", n) for n in BELOW_COMPUTE]


def test_an_unknown_layer_is_refused_with_the_known_ones_listed() -> None:
    with pytest.raises(OpsError) as caught:
        select(["databse"])

    assert caught.value.code == "layer-unknown"
    assert "network, security, data" in caught.value.message


def test_drift_candidates_are_downstream_layers_outside_the_selection() -> None:
    assert drift_candidates(["data"]) == ["compute", "edge", "observability"]
    assert drift_candidates(["data", "compute"]) == ["edge", "observability"]
    assert drift_candidates([]) == []  # everything selected: nothing is outside


# -- deploy -----------------------------------------------------------------------------------


def test_a_full_deploy_into_an_empty_backend_runs_every_layer_in_order(fake, settings, emit):
    report = orchestrator(fake, settings, emit).run("deploy", [])

    assert fake.calls == [("up", n) for n in ALL]
    assert [r.result for r in report.rows if r.action == "up"] == ["updated"] * 6
    assert report.result_of("compute", "check-quota") == "ok"
    assert not report.failed


def test_the_quota_check_runs_after_data_and_before_compute_with_the_shapes_reservations(
    fake, settings, emit
):
    checked: list[tuple[dict[str, int], str | None, list[tuple[str, str]]]] = []

    def check(reservations, region) -> None:
        checked.append((dict(reservations), region, list(fake.calls)))

    orchestrator(fake, settings, emit, concurrency_check=check).run("deploy", [])

    assert checked == [
        (
            {"txn-dev-fraud-detector": shapes.FRAUD_DETECTOR.reserved_concurrency},
            "us-east-2",
            [("up", "network"), ("up", "security"), ("up", "data")],
        )
    ]


def test_an_account_without_room_for_the_reservations_stops_the_deploy_before_compute(
    fake, settings, emit
):
    def check(reservations, region) -> None:
        raise OpsError("lambda-concurrency-quota", "raise the quota")

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit, concurrency_check=check).run("deploy", [])

    assert caught.value.code == "lambda-concurrency-quota"
    assert fake.calls == [("up", "network"), ("up", "security"), ("up", "data")]


def test_the_trail_check_runs_right_before_data_with_its_tables_and_region(fake, settings, emit):
    checked: list[tuple[list[str], str | None, list[tuple[str, str]]]] = []

    def check(tables, region) -> list[Finding]:
        checked.append((list(tables), region, list(fake.calls)))
        return []

    report = orchestrator(fake, settings, emit, trail_check=check).run("deploy", [])

    assert checked == [
        (
            ["txn-dev-transactions", "txn-dev-merchants"],
            "us-east-2",
            [("up", "network"), ("up", "security")],
        )
    ]
    assert report.result_of("data", "check-trail") == "ok"


def test_a_trail_warning_does_not_stop_the_deploy(fake, settings, emit, lines):
    def check(tables, region) -> list[Finding]:
        return [Finding("audit-trail-missing", "no CloudTrail trail is logging in us-east-2")]

    report = orchestrator(fake, settings, emit, trail_check=check).run("deploy", [])

    assert fake.calls == [("up", n) for n in ALL]
    assert not report.failed
    row = next(r for r in report.rows if r.action == "check-trail")
    assert (row.layer, row.result, row.changes) == ("data", "warning", "audit-trail-missing")
    assert "    warning: audit-trail-missing: no CloudTrail trail is logging in us-east-2" in lines


def test_a_deploy_without_compute_does_not_check_the_quota(fake, settings, emit):
    def check(reservations, region) -> None:
        raise AssertionError("the quota was checked for a deploy without compute")

    orchestrator(fake, settings, emit, concurrency_check=check).run("deploy", ["network"])

    assert fake.calls == [("up", "network")]


def test_one_layer_deploys_alone_when_its_upstream_is_deployed(fake, settings, emit):
    fake.deploy_all(names=["network", "security"])

    orchestrator(fake, settings, emit).run("deploy", ["data"])

    assert fake.calls == [("up", "data")]


def test_a_layer_whose_upstream_has_no_stack_is_refused_before_anything_runs(fake, settings, emit):
    fake.deploy_all(names=["network"])

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit).run("deploy", ["data"])

    assert caught.value.code == "upstream-missing"
    assert "layer data reads security, which has no stack in stack dev" in caught.value.message
    assert "./noxw -s deploy -- --stack dev security" in caught.value.message
    assert fake.calls == []


def test_an_upstream_deployed_from_an_older_contract_is_refused(fake, settings, emit):
    fake.deploy_all(names=["network", "security"])
    del fake.stacks[("security", "dev")].outputs["data_key_arn"]

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit).run("deploy", ["data"])

    assert caught.value.code == "upstream-missing"
    assert "lacks the contract outputs data_key_arn" in caught.value.message


def test_an_upstream_inside_the_selection_need_not_be_deployed_yet(fake, settings, emit):
    fake.deploy_all(names=["network"])

    orchestrator(fake, settings, emit).run("deploy", ["data", "security"])

    assert fake.calls == [("up", "security"), ("up", "data")]


def test_a_missing_program_is_refused(fake, settings, emit, repo: Path):
    (repo / "stacks" / "edge" / "__main__.py").unlink()

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit).run("deploy", ["edge"])

    assert caught.value.code == "program-missing"


def test_a_stack_encrypted_with_another_secrets_provider_is_refused(fake, settings, emit, repo):
    stack_file = repo / "stacks" / "data" / "Pulumi.dev.yaml"
    stack_file.write_text("secretsprovider: passphrase\n" + stack_file.read_text())

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit).run("deploy", ["data"])

    assert caught.value.code == "secrets-provider-mismatch"
    assert "pulumi stack change-secrets-provider awskms://alias/txn-pulumi-secrets" in (
        caught.value.message
    )
    assert fake.calls == []


def test_a_stack_created_with_the_configured_provider_deploys(fake, settings, emit, repo):
    fake.deploy_all(names=["network", "security"])
    stack_file = repo / "stacks" / "data" / "Pulumi.dev.yaml"
    provider = settings.secrets_provider
    stack_file.write_text(
        f"secretsprovider: {provider}\nencryptedkey: AQIC\n" + stack_file.read_text()
    )

    orchestrator(fake, settings, emit).run("deploy", ["data"])

    assert fake.calls == [("up", "data")]


def test_a_failed_layer_stops_the_run_and_skips_the_layers_after_it(fake, settings, emit):
    fake.failing.add("security")

    report = orchestrator(fake, settings, emit).run("deploy", [])

    assert fake.calls == [("up", "network"), ("up", "security")]
    assert [r.result for r in report.rows if r.action == "up"] == ["updated", "failed"] + [
        "skipped"
    ] * 4
    assert report.result_of("compute", "check-quota") == "skipped"
    assert report.failed


def test_after_a_change_the_downstream_layers_that_read_it_are_reported_as_needing_update(
    fake, settings, emit, lines
):
    # GIVEN everything deployed, and a change in data's program
    fake.deploy_all()
    fake.program_changed.add("data")

    # WHEN only data is deployed
    report = orchestrator(fake, settings, emit).run("deploy", ["data"])

    # THEN its downstream layers are previewed; those reading data directly need an update,
    # edge (which reads compute, not data) does not until compute is deployed
    assert fake.calls == [
        ("up", "data"),
        ("preview", "compute"),
        ("preview", "edge"),
        ("preview", "observability"),
    ]
    assert report.needs_update == ["compute", "observability"]
    assert report.result_of("edge", "drift") == "up to date"
    assert "  run: ./noxw -s deploy -- --stack dev compute observability" in "\n".join(lines)


def test_a_deploy_without_changes_previews_nothing_downstream(fake, settings, emit):
    fake.deploy_all()

    report = orchestrator(fake, settings, emit).run("deploy", ["data"])

    assert fake.calls == [("up", "data")]
    assert report.result_of("data", "up") == "unchanged"
    assert report.needs_update == []


def test_drift_preview_skips_downstream_layers_that_are_not_deployed(fake, settings, emit):
    fake.deploy_all(names=["network", "security", "data"])
    fake.program_changed.add("data")

    report = orchestrator(fake, settings, emit).run("deploy", ["data"])

    assert fake.calls == [("up", "data")]
    assert report.result_of("compute", "drift") == "not deployed"


def test_a_failed_drift_preview_fails_the_command(fake, settings, emit):
    fake.deploy_all()
    fake.program_changed.add("data")
    fake.failing.add("compute")

    report = orchestrator(fake, settings, emit).run("deploy", ["data"])

    assert report.result_of("compute", "drift") == "failed"
    assert report.failed


def test_the_policy_pack_is_attached_to_every_preview_and_update_when_present(fake, repo, emit):
    (repo / "policies").mkdir()
    (repo / "policies" / "PulumiPolicy.yaml").write_text("runtime: python\n")
    settings = cfg.load(repo, environ={})
    fake.deploy_all()
    fake.program_changed.add("data")

    orchestrator(fake, settings, emit).run("deploy", ["data"])

    assert fake.policy_packs == [[repo / "policies"]] * 4  # one up, three drift previews


def test_without_a_policy_pack_nothing_is_attached(fake, settings, emit):
    orchestrator(fake, settings, emit).run("deploy", ["network"])

    assert fake.policy_packs == [[]]


def test_progress_names_each_step_and_the_summary_lists_every_layer(fake, settings, emit, lines):
    orchestrator(fake, settings, emit).run("deploy", ["network", "security"])

    text = "\n".join(lines)
    assert "==> [1/2] deploy network (organization/txn-network/dev)" in text
    assert "==> [2/2] deploy security (organization/txn-security/dev)" in text
    table = lines[lines.index("Summary: deploy dev") + 1 :]
    assert table[0].split() == ["layer", "action", "result", "changes", "duration"]
    assert table[1].split()[:4] == ["network", "up", "updated", "+5"]
    assert table[2].split()[:4] == ["security", "up", "updated", "+5"]


# -- preview ----------------------------------------------------------------------------------


def test_preview_in_an_empty_backend_previews_network_and_says_what_the_rest_wait_for(
    fake, settings, emit
):
    report = orchestrator(fake, settings, emit).run("preview", [])

    assert fake.calls == [("preview", "network")]
    assert report.result_of("network", "preview") == "changes"
    assert report.result_of("security", "preview") == "waits for network"
    assert report.result_of("compute", "preview") == "waits for network,security,data"
    assert not report.failed


def test_preview_of_one_layer_refuses_a_missing_upstream(fake, settings, emit):
    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit).run("preview", ["compute"])

    assert caught.value.code == "upstream-missing"
    assert fake.calls == []


def test_preview_changes_nothing(fake, settings, emit):
    fake.deploy_all()
    fake.program_changed.add("edge")

    report = orchestrator(fake, settings, emit).run("preview", ["edge"])

    assert report.result_of("edge", "preview") == "changes"
    assert fake.program_changed == {"edge"}
    assert [op for op, _ in fake.calls] == ["preview"]


# -- destroy ----------------------------------------------------------------------------------


def test_destroy_waits_for_lambda_enis_after_compute_and_before_the_roles_and_subnets_go(
    fake, settings, emit
):
    # GIVEN everything deployed
    fake.deploy_all()
    vpc_id = fake.stacks[("network", "dev")].outputs["vpc_id"]
    waited: list[tuple[str, str, list[tuple[str, str]]]] = []

    def eni_wait(vpc: str, region: str) -> None:
        waited.append((vpc, region, list(fake.calls)))

    # WHEN it is all destroyed
    report = orchestrator(fake, settings, emit, eni_wait=eni_wait).run("destroy", [])

    # THEN the wait, in network's VPC, comes right after compute, before data, security, network
    assert fake.calls == [("destroy", n) for n in reversed(ALL)]
    assert waited == [
        (
            vpc_id,
            "us-east-2",
            [("destroy", "observability"), ("destroy", "edge"), ("destroy", "compute")],
        )
    ]
    assert [(r.layer, r.action) for r in report.rows][2:5] == [
        ("compute", "destroy"),
        ("compute", "wait-enis"),
        ("data", "destroy"),
    ]


def test_a_wait_that_times_out_leaves_the_roles_and_the_network_standing(fake, settings, emit):
    fake.deploy_all()

    def eni_wait(vpc: str, region: str) -> None:
        raise OpsError("enis-timeout", "interfaces still there")

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit, eni_wait=eni_wait).run("destroy", [])

    assert caught.value.code == "enis-timeout"
    assert fake.calls == [("destroy", "observability"), ("destroy", "edge"), ("destroy", "compute")]


def test_compute_destroyed_alone_then_the_rest_waits_before_anything_else_goes(
    fake, settings, emit
):
    fake.deploy_all()
    waited: list[list[tuple[str, str]]] = []

    def eni_wait(vpc: str, region: str) -> None:
        waited.append(list(fake.calls))

    orchestrator(fake, settings, emit, eni_wait=eni_wait).run(
        "destroy", ["compute", "edge", "observability"]
    )
    assert waited == []  # the roles stay: AWS releases the interfaces in its own time

    orchestrator(fake, settings, emit, eni_wait=eni_wait).run("destroy", BELOW_COMPUTE)

    assert waited == [[("destroy", "observability"), ("destroy", "edge"), ("destroy", "compute")]]
    assert fake.calls[3:] == [("destroy", n) for n in BELOW_COMPUTE]


def test_destroy_refuses_while_a_downstream_layer_is_still_deployed(fake, settings, emit):
    fake.deploy_all(names=["network", "security", "data"])

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit).run("destroy", ["security"])

    assert caught.value.code == "downstream-deployed"
    assert "layer data reads security and is still deployed" in caught.value.message
    assert fake.calls == []


def test_destroy_names_every_deployed_downstream_layer_and_one_command_for_all(
    fake, settings, emit
):
    fake.deploy_all(names=["network", "security", "data", "compute"])

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit).run("destroy", ["security"])

    message = caught.value.message
    assert "layers data (reads security), compute (reads security) are still deployed" in message
    assert message.endswith("./noxw -s destroy -- --stack dev --yes security data compute")
    assert fake.calls == []


def protect(repo, layer: str, value: str) -> None:
    path = repo / contract.layer(layer).folder / "Pulumi.dev.yaml"
    project = contract.layer(layer).project
    path.write_text(path.read_text() + f"  {project}:deletionProtection: {value}\n")


def declare_protection(repo, layer: str) -> None:
    """The key as the layers declare it: on unless the stack says otherwise."""
    path = repo / contract.layer(layer).folder / "Pulumi.yaml"
    declared = "  deletionProtection:\n    type: boolean\n    default: true\n"
    path.write_text(path.read_text() + declared)


def test_destroy_refuses_before_anything_runs_when_a_chosen_layer_keeps_deletion_protection(
    fake, settings, repo, emit
):
    # AWS would refuse data's tables only after observability, edge and compute were gone
    fake.deploy_all()
    protect(repo, "data", "true")
    declare_protection(repo, "edge")  # on by the project default, no stack value

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit, eni_wait=lambda *_: None).run("destroy", [])

    assert caught.value.code == "deletion-protected"
    message = caught.value.message
    assert message.startswith("data, edge keep deletion protection on in stack dev")
    assert "set txn-data:deletionProtection: false in stacks/data/Pulumi.dev.yaml" in message
    assert "set txn-edge:deletionProtection: false in stacks/edge/Pulumi.dev.yaml" in message
    assert "./noxw -s deploy -- --stack dev data edge" in message
    assert fake.calls == []


def test_a_protection_turned_off_in_config_but_not_yet_deployed_still_refuses(
    fake, settings, repo, emit
):
    # the state still protects: the destroy would meet it halfway
    fake.deploy_all()
    declare_protection(repo, "data")
    protect(repo, "data", '"false"')  # as `pulumi config set` writes it
    fake.stacks[("data", "dev")].protected = frozenset(
        {"aws:dynamodb/table:Table store-table", "aws:sqs/queue:Queue queues-transactions"}
    )

    with pytest.raises(OpsError) as caught:
        orchestrator(fake, settings, emit, eni_wait=lambda *_: None).run("destroy", [])

    assert caught.value.code == "deletion-protected"
    assert "[data still holds 2: aws:dynamodb/table:Table store-table" in caught.value.message
    assert "set txn-data" not in caught.value.message  # its config is already off
    assert "./noxw -s deploy -- --stack dev data;" in caught.value.message
    assert fake.calls == []


def test_deletion_protection_turned_off_and_deployed_lets_the_destroy_run(
    fake, settings, repo, emit
):
    fake.deploy_all()
    declare_protection(repo, "data")
    protect(repo, "data", '"false"')

    orchestrator(fake, settings, emit, eni_wait=lambda *_: None).run("destroy", [])

    assert ("destroy", "data") in fake.calls


def test_destroy_of_a_layer_and_everything_downstream_of_it_is_allowed(fake, settings, emit):
    fake.deploy_all()

    orchestrator(fake, settings, emit).run("destroy", ["compute", "edge", "observability"])

    assert fake.calls == [("destroy", "observability"), ("destroy", "edge"), ("destroy", "compute")]


def test_destroy_skips_layers_that_have_no_stack(fake, settings, emit):
    fake.deploy_all(names=["network"])

    report = orchestrator(fake, settings, emit, eni_wait=lambda *_: None).run("destroy", [])

    assert fake.calls == [("destroy", "network")]
    assert report.result_of("security", "destroy") == "absent"


# -- the protocol -----------------------------------------------------------------------------


def test_the_fake_and_the_automation_api_workspace_both_satisfy_the_protocol(fake, settings):
    from txn_ops.pulumi_workspace import AutomationWorkspace

    assert isinstance(fake, Workspace)
    assert isinstance(AutomationWorkspace(settings), Workspace)


def test_outputs_reads_each_chosen_layer_in_order(fake, settings, emit):
    fake.deploy_all(names=["network"])

    states = orchestrator(fake, settings, emit).outputs(["security", "network"])

    assert list(states) == ["network", "security"]
    assert states["security"] is None
    assert states["network"].outputs.keys() == contract.NETWORK.outputs


def test_unknown_stack_is_refused(fake, settings):
    with pytest.raises(OpsError) as caught:
        Orchestrator(fake, settings, "staging")

    assert caught.value.code == "stack-unknown"


def test_a_preview_that_would_replace_a_stateful_resource_says_so_in_the_row_and_a_warning(
    fake, settings, lines, emit
):
    fake.deploy_all()
    fake.program_changed.add("data")
    preview = fake.preview

    def losing(layer, stack, packs):
        changes = preview(layer, stack, packs)
        if layer.name != "data":
            return changes
        return Changes(changes.counts, changes.outputs, ("aws:sqs/queue:Queue queues-x (replace)",))

    fake.preview = losing

    report = orchestrator(fake, settings, emit).run("preview", ["data", "compute"])

    assert report.result_of("data", "preview") == "LOSES DATA"
    assert report.result_of("compute", "preview") != "LOSES DATA"
    assert any(
        "WARNING: replaces or deletes what it holds: aws:sqs/queue:Queue queues-x (replace)" in line
        for line in lines
    )
    assert not report.failed  # a warning: in prod, protect refuses it at the engine

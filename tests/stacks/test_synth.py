"""synth over the shipped stacks, and over doctored ones that must fail naming the resource.

A doctored layer is its real program run with a Pulumi stack transformation that changes one
resource's arguments before registration: the same code path a careless edit would take.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from txn_policies import synth
from txn_policies.rules.model import FUNCTION, KMS_KEY, QUEUE, REST_API, SUBNET, TABLE
from txn_spec import contract

LAYERS = contract.deploy_order()

# (layer, resource type, logical name contains, arguments to set, policy that must catch it).
# Cases for layers not in this checkout yet are not generated; they run once the layer lands.
DOCTORED = [
    ("network", SUBNET, "private-1", {"map_public_ip_on_launch": True}, "no-public-subnet"),
    (
        "data",
        TABLE,
        "transactions",
        {"point_in_time_recovery": {"enabled": False}},
        "dynamodb-point-in-time-recovery",
    ),
    ("data", QUEUE, "transactions", {"kms_master_key_id": None}, "sqs-cmk-encryption"),
    (
        "data",
        TABLE,
        "velocity",
        {"billing_mode": "PROVISIONED", "read_capacity": 5, "write_capacity": 5},
        "dynamodb-on-demand",
    ),
    ("compute", FUNCTION, "fraud", {"vpc_config": None}, "lambda-in-private-subnets"),
    (
        "edge",
        REST_API,
        "api-api",
        {"security_policy": None, "endpoint_access_mode": None},
        "api-tls-security-policy",
    ),
]

_DOCTOR = """
import json
import runpy

import pulumi

from txn_infra.offline import REPO_ROOT

TYPE, NAME, CHANGES = {type_!r}, {name!r}, json.loads({changes!r})
touched = []


def doctor(args):
    if args.type_ == TYPE and NAME in args.name and not touched:
        touched.append(args.name)
        args.props.update(CHANGES)
        return pulumi.ResourceTransformationResult(args.props, args.opts)
    return None


pulumi.runtime.register_stack_transformation(doctor)
runpy.run_path(str(REPO_ROOT / "stacks" / {layer!r} / "__main__.py"), run_name="__main__")
if not touched:
    raise AssertionError(f"no {{TYPE}} named *{{NAME}}* to doctor")
"""


def doctored_program(tmp_path: Path, layer: str, type_: str, name: str, changes: dict[str, Any]):
    program = tmp_path / f"{layer}_doctored.py"
    program.write_text(
        _DOCTOR.format(type_=type_, name=name, changes=json.dumps(changes), layer=layer)
    )
    return program


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, Any]]:
    evidence = tmp_path_factory.mktemp("evidence") / "synth.json"
    out = io.StringIO()
    code = synth.main(["--evidence", str(evidence)], out=out)
    return code, out.getvalue(), json.loads(evidence.read_text())


def test_shipped_stacks_pass_every_mandatory_policy(shipped) -> None:
    code, text, evidence = shipped
    failed = [p for p in evidence["policies"] if p["result"] == "fail"]
    assert failed == [], text
    assert code == 0
    assert evidence["summary"]["mandatory_violations"] == 0


def test_prod_passes_every_mandatory_policy_with_every_table_on_demand(tmp_path: Path) -> None:
    evidence = tmp_path / "synth.json"
    out = io.StringIO()

    code = synth.main(["--stack", "prod", "--evidence", str(evidence)], out=out)

    assert code == 0, out.getvalue()
    (entry,) = [
        p for p in json.loads(evidence.read_text())["policies"] if p["name"] == "dynamodb-on-demand"
    ]
    assert (entry["result"], entry["resources_checked"]) == ("pass", 4)  # the 4 tables


def test_synth_prints_resources_edges_and_the_compliance_table(shipped) -> None:
    _, text, evidence = shipped
    assert f"layers {', '.join(LAYERS)}" in text
    header = next(line for line in text.splitlines() if line.startswith("requirement"))
    assert header.split() == ["requirement", "policy", "enforcement", "checked", "result"]
    for layer in LAYERS:
        assert f"== {layer} (txn-{layer})" in text
        for producer, keys in evidence["layers"][layer]["reads"].items():
            assert f"reference {producer} -> {layer}: {', '.join(keys)}" in text
    assert "synth: " in text.splitlines()[-2]


def test_evidence_names_requirement_enforcement_and_count_per_policy(shipped) -> None:
    _, _, evidence = shipped
    assert set(evidence["layers"]) == set(LAYERS)
    for entry in evidence["policies"]:
        assert entry["requirements"]
        assert entry["enforcement"] in ("mandatory", "advisory")
        assert entry["result"] in ("pass", "fail", "warn", "n/a", "unknown")
        assert entry["resources_checked"] >= 0
    checked = {p["name"]: p["resources_checked"] for p in evidence["policies"]}
    assert checked["no-public-subnet"] == 3  # the three private subnets


def test_synth_evaluates_the_account_bootstrap_of_the_same_region(shipped) -> None:
    _, text, evidence = shipped
    assert evidence["account"]["project"] == "txn-account"
    assert evidence["account"]["stack"] == "us-east-2"  # the dev stack's aws:region
    assert evidence["account"]["resources_by_type"]["aws:apigateway/account:Account"] == 1
    assert "== account (txn-account, stack us-east-2, outside the DAG)" in text
    assert "6 layers and the account bootstrap" in text


def test_a_doctored_account_bootstrap_fails_synth_naming_it(tmp_path: Path) -> None:
    program = doctored_program(
        tmp_path, "account", KMS_KEY, "secrets-key", {"enable_key_rotation": False}
    )
    out = io.StringIO()

    code = synth.main(
        ["--evidence", str(tmp_path / "synth.json")], programs={"account": program}, out=out
    )

    assert code == 1
    line = next(ln for ln in out.getvalue().splitlines() if ln.startswith("MANDATORY kms-key"))
    assert "secrets-key" in line
    assert " in account " in line


@pytest.mark.parametrize(
    ("layer", "type_", "name", "changes", "policy"),
    [pytest.param(*case, id=f"{case[0]}-{case[4]}") for case in DOCTORED if case[0] in LAYERS],
)
def test_a_doctored_stack_fails_synth_naming_the_resource(
    tmp_path: Path, layer: str, type_: str, name: str, changes: dict[str, Any], policy: str
) -> None:
    program = doctored_program(tmp_path, layer, type_, name, changes)
    out = io.StringIO()
    evidence = tmp_path / "synth.json"

    code = synth.main(["--evidence", str(evidence)], programs={layer: program}, out=out)

    assert code == 1
    text = out.getvalue()
    line = next(line for line in text.splitlines() if line.startswith(f"MANDATORY {policy}:"))
    assert f"{type_} " in line
    assert name in line
    assert f" in {layer} " in line
    assert "fix:" in line
    assert "synth: FAILED" in text
    (entry,) = [p for p in json.loads(evidence.read_text())["policies"] if p["name"] == policy]
    assert entry["result"] == "fail"
    assert any(name in v["resource_name"] for v in entry["violations"])


def test_an_unknown_layer_is_refused_with_the_layers_named(capsys) -> None:
    # it ended in a ContractError traceback after the argument was taken
    with pytest.raises(SystemExit) as refused:
        synth.main(["--layers", "nope"])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err
    assert "network" in err

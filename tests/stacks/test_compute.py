"""compute: function size, placement, tracing, encryption, log groups first, and queue triggers."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from txn_infra.components.compute import ENV_FROM_DATA, QUEUE_ARN_FROM_DATA
from txn_infra.offline import LayerRun, Resource, run_system
from txn_spec import contract, shapes
from txn_spec.lambda_runtime import powertools_layer_arn

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
MASKING = "aws:cloudwatch/logDataProtectionPolicy:LogDataProtectionPolicy"


@pytest.fixture(scope="module")
def compute(system: dict[str, LayerRun]) -> LayerRun:
    return system["compute"]


@pytest.fixture(scope="module")
def upstream(system: dict[str, LayerRun], compute: LayerRun) -> dict[str, dict]:
    """What compute's references answered with, per producer."""
    from tests.stacks.conftest import upstream_exports

    return upstream_exports(system, contract.COMPUTE)


def functions(run: LayerRun) -> dict[str, Resource]:
    return {f.inputs["name"].removeprefix("txn-dev-"): f for f in run.of_type(FUNCTION)}


def test_three_functions_named_from_their_shapes(compute: LayerRun) -> None:
    assert set(functions(compute)) == {s.component for s in shapes.FUNCTIONS}
    for shape in shapes.FUNCTIONS:
        assert functions(compute)[shape.component].inputs["handler"] == shape.handler


@pytest.mark.parametrize("shape", shapes.FUNCTIONS, ids=lambda s: s.component)
def test_every_function_has_512_mb_a_timeout_and_xray_active(compute: LayerRun, shape) -> None:
    fn = functions(compute)[shape.component]
    assert fn.inputs["memorySize"] == 512
    # the validator answers API Gateway, which waits 29 s; the queue consumers have 50 s, a
    # sixth of their queues' 300 s visibility (AWS's advice for SQS event sources)
    assert fn.inputs["timeout"] == (28 if shape is shapes.VALIDATOR else 50)
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}


@pytest.mark.parametrize("shape", shapes.FUNCTIONS, ids=lambda s: s.component)
def test_every_function_runs_in_the_private_subnets_with_the_function_sg(
    compute: LayerRun, upstream: dict[str, dict], shape
) -> None:
    vpc = functions(compute)[shape.component].inputs["vpcConfig"]
    assert vpc["subnetIds"] == upstream["network"]["private_subnet_ids"]
    assert len(vpc["subnetIds"]) == 3
    assert vpc["securityGroupIds"] == [upstream["network"]["function_security_group_id"]]


@pytest.mark.parametrize("shape", shapes.FUNCTIONS, ids=lambda s: s.component)
def test_every_function_uses_its_own_role_and_the_data_key(
    compute: LayerRun, upstream: dict[str, dict], shape
) -> None:
    fn = functions(compute)[shape.component]
    assert fn.inputs["role"] == upstream["security"][f"{shape.package}_role_arn"]
    assert fn.inputs["kmsKeyArn"] == upstream["security"]["data_key_arn"]


def test_current_python_on_arm64_with_the_powertools_layer(compute: LayerRun) -> None:
    for fn in functions(compute).values():
        assert fn.inputs["runtime"] == "python3.13"
        assert fn.inputs["architectures"] == ["arm64"]
        assert fn.inputs["layers"] == [powertools_layer_arn("us-east-2", "arm64")]


def test_only_the_fraud_detector_reserves_100(compute: LayerRun) -> None:
    reserved = {
        c: f.inputs.get("reservedConcurrentExecutions") for c, f in functions(compute).items()
    }
    assert reserved == {"validator": None, "fraud-detector": 100, "failed-transactions": None}


def test_environment_comes_from_data_exports_per_shape(
    compute: LayerRun, upstream: dict[str, dict]
) -> None:
    assert set(ENV_FROM_DATA.values()) <= contract.DATA.outputs
    for shape in shapes.FUNCTIONS:
        variables = functions(compute)[shape.component].inputs["environment"]["variables"]
        for env in shape.environment:
            assert variables[env] == upstream["data"][ENV_FROM_DATA[env]]
        undeclared = set(ENV_FROM_DATA) - set(shape.environment)
        assert undeclared.isdisjoint(variables), f"{shape.component} gets more than it needs"
        assert variables["POWERTOOLS_SERVICE_NAME"] == f"txn-dev-{shape.component}"
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == shapes.METRICS_NAMESPACE


@pytest.mark.parametrize("shape", shapes.FUNCTIONS, ids=lambda s: s.component)
def test_every_function_has_a_30_day_cmk_log_group_created_first(
    compute: LayerRun, upstream: dict[str, dict], shape
) -> None:
    name = f"/aws/lambda/txn-dev-{shape.component}"
    (group,) = [g for g in compute.of_type(LOG_GROUP) if g.inputs["name"] == name]
    assert group.inputs["retentionInDays"] == 30
    assert group.inputs["kmsKeyId"] == upstream["security"]["logs_key_arn"]
    fn = functions(compute)[shape.component]
    assert fn.inputs["loggingConfig"]["logGroup"] == name
    assert group.name in compute.depends_on[fn.name]
    assert compute.exports["function_log_groups"][shape.component] == name


@pytest.mark.parametrize("shape", shapes.FUNCTIONS, ids=lambda s: s.component)
def test_every_function_drops_platform_lines_and_filters_at_the_configured_level(
    compute: LayerRun, shape
) -> None:
    fn = functions(compute)[shape.component]
    logging_config = fn.inputs["loggingConfig"]
    # WARN drops Lambda's START/END/REPORT lines (INFO platform events) before ingestion.
    assert logging_config["systemLogLevel"] == "WARN"
    assert logging_config["logFormat"] == "JSON"  # log-level filtering needs JSON
    # Lambda's filter and Powertools agree (dev: logLevel DEBUG): no line is logged and dropped.
    variables = fn.inputs["environment"]["variables"]
    assert logging_config["applicationLogLevel"] == variables["POWERTOOLS_LOG_LEVEL"] == "DEBUG"


@pytest.mark.parametrize("shape", shapes.FUNCTIONS, ids=lambda s: s.component)
def test_card_numbers_are_masked_in_every_function_log_group(compute: LayerRun, shape) -> None:
    name = f"/aws/lambda/txn-dev-{shape.component}"
    (masking,) = [m for m in compute.of_type(MASKING) if m.inputs["logGroupName"] == name]
    document = json.loads(masking.inputs["policyDocument"])
    operations = {next(iter(s["Operation"])): s["DataIdentifier"] for s in document["Statement"]}
    card = "arn:aws:dataprotection::aws:data-identifier/CreditCardNumber"
    assert card in operations["Deidentify"]
    assert card in operations["Audit"]
    assert masking.name in compute.depends_on[functions(compute)[shape.component].name]


def test_fraud_detector_is_fed_by_the_transactions_queue(
    compute: LayerRun, upstream: dict[str, dict]
) -> None:
    mapping = compute.one(MAPPING, "fraud-detector")
    assert mapping.inputs["eventSourceArn"] == upstream["data"]["transactions_queue_arn"]
    assert mapping.inputs["functionName"] == functions(compute)["fraud-detector"].outputs["arn"]
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.inputs["batchSize"] == 10
    assert mapping.inputs["maximumBatchingWindowInSeconds"] == 0


def test_failed_transactions_is_fed_by_the_dlq(
    compute: LayerRun, upstream: dict[str, dict]
) -> None:
    mapping = compute.one(MAPPING, "failed-transactions")
    assert mapping.inputs["eventSourceArn"] == upstream["data"]["transactions_dlq_arn"]
    assert (
        mapping.inputs["functionName"] == functions(compute)["failed-transactions"].outputs["arn"]
    )
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert set(QUEUE_ARN_FROM_DATA.values()) <= contract.DATA.outputs


def test_no_mapping_may_run_more_batches_than_the_function_may_run(compute: LayerRun) -> None:
    for mapping in compute.of_type(MAPPING):
        fn = next(
            f
            for f in compute.of_type(FUNCTION)
            if f.outputs["arn"] == mapping.inputs["functionName"]
        )
        reserved = fn.inputs.get("reservedConcurrentExecutions")
        concurrency = mapping.inputs["scalingConfig"]["maximumConcurrency"]
        assert concurrency >= 2
        if reserved is not None:
            assert concurrency <= reserved


def test_prod_runs_the_mapping_at_the_reserved_concurrency(
    prod_system: dict[str, LayerRun],
) -> None:
    mapping = prod_system["compute"].one(MAPPING, "fraud-detector")
    assert mapping.inputs["scalingConfig"]["maximumConcurrency"] == 100


def test_queue_visibility_covers_five_timeouts_plus_the_window(compute: LayerRun) -> None:
    for source in shapes.EVENT_SOURCES:
        mapping = compute.one(MAPPING, source.function.component)
        window = mapping.inputs["maximumBatchingWindowInSeconds"]
        assert (
            source.queue.visibility_timeout_seconds >= 5 * source.function.timeout_seconds + window
        )


def test_packages_hold_exactly_the_function_the_shared_code_and_the_spec(
    compute: LayerRun,
) -> None:
    spec = {f"txn_spec/{p.name}" for p in Path(shapes.__file__).parent.glob("*.py")}
    for shape in shapes.FUNCTIONS:
        fn = functions(compute)[shape.component]
        with zipfile.ZipFile(fn.inputs["code"].path) as archive:
            tops = {name.split("/")[0] for name in archive.namelist()}
            shipped = {n for n in archive.namelist() if n.startswith("txn_spec/")}
        assert tops == {shape.package, "txn_domain", "txn_adapters", "txn_spec"}
        assert shipped == spec
        assert fn.inputs["sourceCodeHash"]


def test_exports_match_the_contract(compute: LayerRun) -> None:
    assert set(compute.exports) == contract.COMPUTE.outputs
    assert (
        compute.exports["validator_invoke_arn"]
        == functions(compute)["validator"].outputs["invokeArn"]
    )


ALIAS = "aws:lambda/alias:Alias"


def test_dev_invokes_the_functions_themselves_without_snapstart(compute: LayerRun) -> None:
    assert compute.of_type(ALIAS) == []
    for fn in functions(compute).values():
        assert fn.inputs.get("snapStart") is None
        assert not fn.inputs.get("publish")


@pytest.fixture(scope="module")
def snapstart() -> dict[str, LayerRun]:
    """network to edge with compute's ``snapStart`` on."""
    config = {"compute": {"txn-compute:snapStart": "true"}}
    layers = ["network", "security", "data", "compute", "edge"]
    return run_system(stack="prod", layers=layers, config=config)


@pytest.fixture(scope="module")
def prod_compute(snapstart: dict[str, LayerRun]) -> LayerRun:
    return snapstart["compute"]


def test_snapstart_publishes_a_version_of_every_function_behind_the_live_alias(
    prod_compute: LayerRun,
) -> None:
    fns = {f.inputs["name"]: f for f in prod_compute.of_type(FUNCTION)}
    aliases = {a.inputs["functionName"]: a for a in prod_compute.of_type(ALIAS)}
    assert set(aliases) == set(fns)
    for name, fn in fns.items():
        assert fn.inputs["publish"] is True
        assert fn.inputs["snapStart"] == {"applyOn": "PublishedVersions"}
        assert aliases[name].inputs["name"] == "live"


def test_under_snapstart_the_queues_feed_the_alias_not_the_unpublished_function(
    prod_compute: LayerRun,
) -> None:
    alias_arns = {r.outputs["arn"] for r in prod_compute.of_type(ALIAS)}
    function_arns = {r.outputs.get("arn") for r in prod_compute.of_type(FUNCTION)}
    for mapping in prod_compute.of_type(MAPPING):
        assert mapping.inputs["functionName"] in alias_arns
        assert mapping.inputs["functionName"] not in function_arns


def test_under_snapstart_the_api_invokes_the_alias(prod_compute: LayerRun) -> None:
    (validator_alias,) = [
        a for a in prod_compute.of_type(ALIAS) if a.inputs["functionName"].endswith("validator")
    ]
    assert prod_compute.exports["validator_function_arn"] == validator_alias.outputs["arn"]
    assert prod_compute.exports["validator_invoke_arn"] == validator_alias.outputs["invokeArn"]


def test_under_snapstart_api_gateway_may_invoke_the_alias_it_calls(
    snapstart: dict[str, LayerRun],
) -> None:
    # POST /transaction and POST /fraud-reports (ADR 0013): both invoke the live alias
    permissions = snapstart["edge"].of_type("aws:lambda/permission:Permission")
    integrations = snapstart["edge"].of_type("aws:apigateway/integration:Integration")
    assert len(permissions) == len(integrations) == 2
    exports = snapstart["compute"].exports
    assert {p.inputs["function"] for p in permissions} == {exports["validator_function_arn"]}
    assert {i.inputs["uri"] for i in integrations} == {exports["validator_invoke_arn"]}
    assert exports["validator_function_arn"].endswith(":live")

"""Stack tests run each layer's real program under the harness's mocks (no CLI, no AWS).

Each layer runs once per session; upstream layers answer its stack references with their real
exports, exactly as in ``run_system``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from txn_infra import bundle, contract, shapes
from txn_infra.harness import (
    ACCOUNT_ID,
    REPO_ROOT,
    LayerRun,
    Resource,
    reference_name,
    run_layer,
    run_system,
)
from txn_infra.naming import physical_name


@pytest.fixture(scope="session")
def functions_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The function sources compute packages: the repository's, or stand-ins until they land."""
    real = REPO_ROOT / "functions"
    needed = [s.package for s in shapes.FUNCTIONS] + list(bundle.SHARED_PACKAGES)
    if all((real / package / "__init__.py").is_file() for package in needed):
        return real
    stand_in = tmp_path_factory.mktemp("repo") / "functions"
    for package in needed:
        (stand_in / package).mkdir(parents=True)
        (stand_in / package / "__init__.py").write_text(f'"""{package} (stand-in)."""\n')
        (stand_in / package / "app.py").write_text(
            "def lambda_handler(event, context):\n    return {}\n"
        )
    return stand_in


@pytest.fixture(scope="session")
def openapi_document() -> Path:
    """The API's OpenAPI document, or a small fixture with the same schema name until it lands."""
    real = REPO_ROOT / "api" / "openapi.yaml"
    return real if real.is_file() else REPO_ROOT / "tests" / "fixtures" / "openapi-minimal.yaml"


@pytest.fixture(scope="session")
def layer_config(functions_dir: Path, openapi_document: Path) -> dict[str, dict[str, str]]:
    return {
        "compute": {"txn-compute:functionsDir": str(functions_dir)},
        "edge": {"txn-edge:openapiDocument": str(openapi_document)},
    }


@pytest.fixture(scope="session")
def system(layer_config: dict[str, dict[str, str]]) -> dict[str, LayerRun]:
    """Every layer that can run, in DAG order for the dev stack, with real references only."""
    return run_system(stack="dev", layers=existing_layers(), config=layer_config)


@pytest.fixture(scope="session")
def prod_system(layer_config: dict[str, dict[str, str]]) -> dict[str, LayerRun]:
    return run_system(stack="prod", layers=existing_layers(), config=layer_config)


@pytest.fixture(scope="session")
def stacks(
    system: dict[str, LayerRun], layer_config: dict[str, dict[str, str]]
) -> dict[str, LayerRun]:
    """All six layers for dev: ``system`` once every layer exists; until then a producer that
    has no stack folder yet answers with contract-complete stand-in exports."""
    if set(system) == set(contract.LAYERS):
        return system
    return run_with_stand_ins("dev", layer_config)


@pytest.fixture(scope="session")
def prod_stacks(
    prod_system: dict[str, LayerRun], layer_config: dict[str, dict[str, str]]
) -> dict[str, LayerRun]:
    if set(prod_system) == set(contract.LAYERS):
        return prod_system
    return run_with_stand_ins("prod", layer_config)


def existing_layers() -> list[str]:
    """Layers whose stack folder exists and whose upstream layers all can run too."""
    runnable: list[str] = []
    for name in contract.deploy_order():
        spec = contract.layer(name)
        if has_program(spec) and set(spec.upstream) <= set(runnable):
            runnable.append(name)
    return runnable


def has_program(spec: contract.Layer) -> bool:
    folder = REPO_ROOT / spec.folder
    return (folder / "Pulumi.yaml").is_file() and (folder / "__main__.py").is_file()


def run_with_stand_ins(stack: str, config: dict[str, dict[str, str]]) -> dict[str, LayerRun]:
    """Run every layer with a folder; answer references to the others with stand-ins."""
    runs: dict[str, LayerRun] = {}
    references: dict[str, dict[str, Any]] = {}
    for name in contract.deploy_order():
        spec = contract.layer(name)
        if has_program(spec):
            run = run_layer(name, stack=stack, references=dict(references), config=config.get(name))
            runs[name] = run
            exports = dict(run.exports)
        elif contract.downstream(name):
            exports = stand_in_exports(spec, stack)
        else:
            continue
        references[reference_name(spec, stack)] = exports
    return runs


def upstream_exports(stacks: dict[str, LayerRun], spec: contract.Layer) -> dict[str, dict]:
    """What ``spec``'s references answered with in the dev run, per producer: its real exports
    where the producer ran, the stand-in otherwise."""
    return {
        name: stacks[name].exports
        if name in stacks
        else stand_in_exports(contract.layer(name), "dev")
        for name in spec.upstream
    }


def stand_in_exports(spec: contract.Layer, stack: str, region: str = "us-east-2") -> dict[str, Any]:
    """Exports shaped like the producer's real ones (names from the naming function)."""
    account = ACCOUNT_ID

    def name(component: str) -> str:
        return physical_name("txn", stack, component)

    def arn(service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:aws:{service}:{region if regional else ''}:{account}:{resource}"

    def queue(component: str) -> dict[str, str]:
        return {
            "url": f"https://sqs.{region}.amazonaws.com/{account}/{name(component)}",
            "arn": arn("sqs", name(component)),
            "name": name(component),
        }

    values: dict[str, Any] = {}
    if spec.name == "network":
        values = {
            "vpc_id": "vpc-0standin",
            "vpc_cidr": "10.40.0.0/16",
            "private_subnet_ids": ["subnet-0a", "subnet-0b", "subnet-0c"],
            "private_route_table_ids": ["rtb-0a", "rtb-0b", "rtb-0c"],
            "function_security_group_id": "sg-0functions",
            "endpoint_security_group_id": "sg-0endpoints",
            "vpc_endpoint_ids": {s: f"vpce-0{s}" for s in ("dynamodb", "sqs", "sns", "kms")},
        }
    elif spec.name == "security":
        values = {
            "data_key_arn": arn("kms", "key/00000000-0000-0000-0000-00000000da7a"),
            "logs_key_arn": arn("kms", "key/00000000-0000-0000-0000-0000000010c5"),
        }
        for role in ("validator", "fraud_detector", "failed_transactions", "apigateway_logs"):
            values[f"{role}_role_arn"] = arn(
                "iam", f"role/{name(role.replace('_', '-'))}", regional=False
            )
        values["flow_logs_role_arn"] = arn("iam", f"role/{name('flow-logs')}", regional=False)
    elif spec.name == "data":
        for table in shapes.TABLES:
            key = table.component.replace("-", "_")
            values[f"{key}_table_name"] = name(table.component)
            values[f"{key}_table_arn"] = arn("dynamodb", f"table/{name(table.component)}")
        for key, shape in (
            ("transactions_queue", shapes.TRANSACTIONS_QUEUE),
            ("transactions_dlq", shapes.TRANSACTIONS_DLQ),
            ("parking_queue", shapes.PARKING_QUEUE),
        ):
            for attribute, value in queue(shape.component).items():
                values[f"{key}_{attribute}"] = value
        values["fraud_alerts_topic_arn"] = arn("sns", name("fraud-alerts"))
    elif spec.name == "compute":
        validator = name("validator")
        function_arn = arn("lambda", f"function:{validator}")
        values = {
            "validator_function_name": validator,
            "validator_function_arn": function_arn,
            "validator_invoke_arn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/"
            f"functions/{function_arn}/invocations",
            "fraud_detector_function_name": name("fraud-detector"),
            "failed_transactions_function_name": name("failed-transactions"),
            "function_log_groups": {
                s.component: f"/aws/lambda/{name(s.component)}" for s in shapes.FUNCTIONS
            },
        }
    elif spec.name == "edge":
        values = {
            "rest_api_id": "a1b2c3d4e5",
            "stage_name": shapes.API_STAGE,
            "stage_arn": f"arn:aws:apigateway:{region}::/restapis/a1b2c3d4e5/stages/v1",
            "transaction_endpoint_url": f"https://a1b2c3d4e5.execute-api.{region}.amazonaws.com/v1/transaction",
            "api_key_id": "k1e2y3",
            "api_key_value": "stand-in-key-value",
            "web_acl_arn": arn("wafv2", f"regional/webacl/{name('waf')}/0000"),
            "access_log_group_name": f"/txn/{stack}/api-access",
        }
    if set(values) != spec.outputs:
        raise AssertionError(f"stand-in for {spec.name} does not match the contract")
    return values


def policy(resource: Resource, key: str = "policy") -> dict[str, Any]:
    """A JSON policy input of a resource, parsed."""
    return json.loads(resource.inputs[key])


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

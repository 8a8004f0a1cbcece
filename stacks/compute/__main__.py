"""compute: the three functions, their log groups and their SQS event sources."""

from pathlib import Path

from txn_infra.components.compute import (
    ENV_FROM_DATA,
    QUEUE_ARN_FROM_DATA,
    FunctionsArgs,
    ServiceFunctions,
    build_packages,
    role_output,
)
from txn_infra.config import ComputeConfig
from txn_infra.layer import start
from txn_spec import contract
from txn_spec.shapes import FUNCTIONS

ctx = start(contract.COMPUTE, ComputeConfig)
network = ctx.upstream(contract.NETWORK)
security = ctx.upstream(contract.SECURITY)
data = ctx.upstream(contract.DATA)

functions_dir = (Path(__file__).parent / ctx.config.functions_dir).resolve()
packages = build_packages(functions_dir, out_dir=functions_dir.parent / "build" / "lambda")

fns = ServiceFunctions(
    "fns",
    FunctionsArgs(
        app=ctx.config.app,
        environment=ctx.environment,
        region=ctx.region,
        architecture=ctx.config.architecture,
        log_level=ctx.config.log_level,
        log_sample_rate=ctx.config.log_sample_rate,
        log_retention_days=ctx.config.log_retention_days,
        role_arns={shape.component: security[role_output(shape)] for shape in FUNCTIONS},
        subnet_ids=network["private_subnet_ids"],
        security_group_id=network["function_security_group_id"],
        environment_key_arn=security["data_key_arn"],
        logs_key_arn=security["logs_key_arn"],
        environment_values={env: data[key] for env, key in ENV_FROM_DATA.items()},
        queue_arns={queue: data[key] for queue, key in QUEUE_ARN_FROM_DATA.items()},
        bundles=packages,
        fraud_batch_size=ctx.config.fraud_batch_size,
        fraud_batching_window_seconds=ctx.config.fraud_batching_window_seconds,
        fraud_max_concurrency=ctx.config.fraud_max_concurrency,
        snap_start=ctx.config.snap_start,
    ),
    opts=ctx.opts,
)

validator = fns.targets["validator"]  # the function, or its live alias under SnapStart
ctx.export(
    validator_function_name=fns.functions["validator"].name,
    validator_function_arn=validator.arn,
    validator_invoke_arn=validator.invoke_arn,
    fraud_detector_function_name=fns.functions["fraud-detector"].name,
    failed_transactions_function_name=fns.functions["failed-transactions"].name,
    function_log_groups={component: group.name for component, group in fns.log_groups.items()},
)

"""compute: the three functions, their log groups and their SQS event sources.

Every function runs the same way: a current Python runtime on the configured architecture, the
size in its shape (512 MB; 50 s for the queue consumers, 28 s for the validator), the role
``security`` made for it, the private subnets and the functions' security group, X-Ray tracing
active, environment variables encrypted with the data key, and the Powertools layer for
third-party code. Its log group ``/aws/lambda/<name>`` exists before the function (30 days, logs
key) with a data protection policy that masks card numbers, a second line of defence behind the
code's own masking.

With ``snap_start`` (docs/decisions/0008-snapstart.md) every deploy publishes a version, Lambda
snapshots its initialised environment, and the alias ``live`` points at it: the queues' event
sources and API Gateway call the alias, so a new environment resumes from the snapshot instead
of running the cold start. Without it they call the function itself ($LATEST). Lambda encrypts
the snapshots with the function's ``kms_key_arn``: the data key, as the environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from txn_infra import bundle
from txn_infra.components.masking import mask_card_data
from txn_spec import invariants, shapes
from txn_spec.lambda_runtime import PYTHON_RUNTIME, Architecture, powertools_layer_arn
from txn_spec.naming import function_log_group, physical_name
from txn_spec.shapes import Env

# Which ``data`` output answers each environment variable a function may read.
ENV_FROM_DATA: Mapping[str, str] = {
    Env.TRANSACTIONS_TABLE: "transactions_table_name",
    Env.MERCHANTS_TABLE: "merchants_table_name",
    Env.IDEMPOTENCY_TABLE: "idempotency_table_name",
    Env.VELOCITY_TABLE: "velocity_table_name",
    Env.TRANSACTIONS_QUEUE_URL: "transactions_queue_url",
    Env.FRAUD_ALERTS_TOPIC_ARN: "fraud_alerts_topic_arn",
}

# Which ``data`` output is the ARN of each queue that feeds a function.
QUEUE_ARN_FROM_DATA: Mapping[str, str] = {
    shapes.TRANSACTIONS_QUEUE.component: "transactions_queue_arn",
    shapes.TRANSACTIONS_DLQ.component: "transactions_dlq_arn",
}

# The alias that event sources and API Gateway invoke when SnapStart is on.
LIVE_ALIAS = "live"

# Powertools and Lambda name the WARNING level differently.
_LAMBDA_LOG_LEVEL = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERROR"}


def role_output(shape: shapes.FunctionShape) -> str:
    """The ``security`` output holding ``shape``'s execution role ARN."""
    return f"{shape.package}_role_arn"


@dataclass(frozen=True)
class FunctionsArgs:
    app: str
    environment: str
    region: str
    architecture: Architecture
    log_level: str  # Powertools level: DEBUG, INFO, WARNING, ERROR
    log_sample_rate: float
    log_retention_days: int
    # shape.component -> execution role ARN (security)
    role_arns: Mapping[str, pulumi.Input[str]]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    environment_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    # Env name -> value (table names, queue URL, topic ARN from data)
    environment_values: Mapping[str, pulumi.Input[str]]
    # queue component -> queue ARN (data)
    queue_arns: Mapping[str, pulumi.Input[str]]
    bundles: Mapping[str, bundle.Bundle]  # shape.package -> built deployment package
    fraud_batch_size: int
    fraud_batching_window_seconds: int
    fraud_max_concurrency: int
    snap_start: bool = False
    functions: Sequence[shapes.FunctionShape] = shapes.FUNCTIONS
    event_sources: Sequence[shapes.EventSourceShape] = shapes.EVENT_SOURCES


class ServiceFunctions(pulumi.ComponentResource):
    """The functions, their log groups and data protection policies, and their queue triggers."""

    def __init__(self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:compute:ServiceFunctions", name, None, opts)
        self.functions: dict[str, aws.lambda_.Function] = {}
        # What callers invoke: the function, or its ``live`` alias under SnapStart.
        self.targets: dict[str, aws.lambda_.Function | aws.lambda_.Alias] = {}
        self.log_groups: dict[str, aws.cloudwatch.LogGroup] = {}
        self.triggers: dict[str, aws.lambda_.EventSourceMapping] = {}
        layer = powertools_layer_arn(args.region, args.architecture)
        for shape in args.functions:
            self._function(name, shape, args, layer)
        for source in args.event_sources:
            self._trigger(name, source, args)
        self.register_outputs(
            {
                "function_names": {c: f.name for c, f in self.functions.items()},
                "log_group_names": {c: g.name for c, g in self.log_groups.items()},
            }
        )

    def _function(
        self, name: str, shape: shapes.FunctionShape, args: FunctionsArgs, layer: str
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        function_name = physical_name(args.app, args.environment, shape.component)
        group_name = function_log_group(function_name)
        missing = [e for e in shape.environment if e not in args.environment_values]
        if missing:
            raise ValueError(f"{shape.component}: no value for environment {missing}")
        if shape.package not in args.bundles:
            raise ValueError(f"{shape.component}: no deployment package for {shape.package!r}")
        package = args.bundles[shape.package]

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-{shape.component}-logs",
            name=group_name,
            retention_in_days=args.log_retention_days,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )
        masking = mask_card_data(f"{name}-{shape.component}-masking", log_group, child)
        variables: dict[str, pulumi.Input[str]] = {
            env: args.environment_values[env] for env in shape.environment
        }
        variables |= {
            Env.POWERTOOLS_SERVICE_NAME: function_name,
            Env.POWERTOOLS_METRICS_NAMESPACE: shapes.METRICS_NAMESPACE,
            Env.POWERTOOLS_LOG_LEVEL: args.log_level,
            Env.POWERTOOLS_LOGGER_SAMPLE_RATE: str(args.log_sample_rate),
        }
        self.log_groups[shape.component] = log_group
        self.functions[shape.component] = aws.lambda_.Function(
            f"{name}-{shape.component}",
            name=function_name,
            description=f"{shape.component} of the transaction platform",
            role=args.role_arns[shape.component],
            runtime=PYTHON_RUNTIME,
            architectures=[args.architecture],
            handler=shape.handler,
            code=pulumi.FileArchive(str(package.path)),
            source_code_hash=package.source_code_hash,
            layers=[layer],
            memory_size=shape.memory_mb,
            timeout=shape.timeout_seconds,
            reserved_concurrent_executions=shape.reserved_concurrency,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            kms_key_arn=args.environment_key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=variables),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.subnet_ids,
                security_group_ids=[args.security_group_id],
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON",
                log_group=log_group.name,
                application_log_level=_LAMBDA_LOG_LEVEL[args.log_level],
                system_log_level="WARN",
            ),
            publish=args.snap_start,
            snap_start=aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")
            if args.snap_start
            else None,
            # The log group (and its masking) must exist before the first invocation, or Lambda
            # creates an unencrypted group that never expires.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, masking]),
        )
        function = self.functions[shape.component]
        self.targets[shape.component] = (
            aws.lambda_.Alias(
                f"{name}-{shape.component}-{LIVE_ALIAS}",
                name=LIVE_ALIAS,
                function_name=function.name,
                function_version=function.version,
                description="the published version (SnapStart snapshot) callers invoke",
                opts=child,
            )
            if args.snap_start
            else function
        )

    def _trigger(self, name: str, source: shapes.EventSourceShape, args: FunctionsArgs) -> None:
        shape = source.function
        is_main = shape == shapes.FRAUD_DETECTOR
        batch_size = args.fraud_batch_size if is_main else source.batch_size
        window = (
            args.fraud_batching_window_seconds
            if is_main
            else source.maximum_batching_window_seconds
        )
        concurrency = args.fraud_max_concurrency if is_main else source.maximum_concurrency
        problem = invariants.concurrency_problem(
            concurrency, shape.reserved_concurrency
        ) or invariants.visibility_problem(
            source.queue.visibility_timeout_seconds, shape.timeout_seconds, window
        )
        if problem:
            raise ValueError(f"{shape.component} from {source.queue.component}: {problem}")
        queue = source.queue
        self.triggers[shape.component] = aws.lambda_.EventSourceMapping(
            f"{name}-{shape.component}-from-{queue.component}",
            event_source_arn=args.queue_arns[queue.component],
            function_name=self.targets[shape.component].arn,
            batch_size=batch_size,
            maximum_batching_window_in_seconds=window,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(
                maximum_concurrency=concurrency
            )
            if concurrency is not None
            else None,
            metrics_config=aws.lambda_.EventSourceMappingMetricsConfigArgs(metrics=["EventCount"]),
            opts=pulumi.ResourceOptions(parent=self),
        )


def build_packages(functions_dir: Path, out_dir: Path) -> dict[str, bundle.Bundle]:
    """Build every function's deployment package from ``functions_dir``."""
    spec_dir = Path(shapes.__file__).parent
    return bundle.build_all(
        [s.package for s in shapes.FUNCTIONS],
        functions_dir=functions_dir,
        spec_dir=spec_dir,
        out_dir=out_dir,
    )

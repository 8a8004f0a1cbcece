"""observability: where to look and who is told.

One dashboard for the whole path (API, functions, queue, DLQs, tables), alarms that each point
to a runbook section, the alarm topic with its email subscription (and the fraud team's on the
fraud-alerts topic), VPC flow logs, and service level objectives of ``POST /transaction``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_aws_native as aws_native

from txn_infra import shapes

RUNBOOK = "docs/runbooks.md"
PERIOD = 60


def runbook_link(anchor: str) -> str:
    return f"Runbook: {RUNBOOK}#{anchor}"


@dataclass(frozen=True)
class Watched:
    """What the alarms and the dashboard watch, by physical name."""

    region: str
    function_names: Mapping[str, pulumi.Input[str]]  # shape.component -> function name
    api_name: str
    stage_name: pulumi.Input[str]
    queue_name: pulumi.Input[str]
    dead_letter_queue_names: Mapping[str, pulumi.Input[str]]  # label -> queue name
    table_names: Mapping[str, pulumi.Input[str]]  # table component -> table name
    failed_transactions_service: pulumi.Input[str]  # Powertools ``service`` dimension
    # table component -> its global secondary indexes: their throttles are metrics of their own
    table_indexes: Mapping[str, Sequence[str]] = field(default_factory=dict)


# --- alarms -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmsArgs:
    name_prefix: str
    watched: Watched
    topic_arn: pulumi.Input[str]
    error_rate_threshold_percent: float
    queue_age_threshold_seconds: int


def _metric(
    id_: str, namespace: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]], stat: str
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=id_,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace,
            metric_name=metric,
            dimensions=dict(dimensions),
            period=PERIOD,
            stat=stat,
        ),
    )


class ServiceAlarms(pulumi.ComponentResource):
    """Every alarm of the platform; each one's description names its runbook section."""

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:observability:ServiceAlarms", name, None, opts)
        self._name = name
        self._args = args
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        w = args.watched
        for component, function_name in w.function_names.items():
            self._error_rate(component, function_name)
            self._alarm(
                f"{component}-throttles",
                f"{component} invocations are throttled (concurrency exhausted)",
                "function-throttles",
                namespace="AWS/Lambda",
                metric_name="Throttles",
                dimensions={"FunctionName": function_name},
                statistic="Sum",
                threshold=0,
                evaluation_periods=3,
                datapoints_to_alarm=2,
            )
        for label, queue in w.dead_letter_queue_names.items():
            self._alarm(
                f"{label}-messages",
                f"Messages are waiting in {label}: transactions that could not be processed",
                "messages-in-a-dead-letter-queue",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": queue},
                statistic="Maximum",
                threshold=0,
                evaluation_periods=1,
            )
        self._alarm(
            "queue-age",
            f"The oldest transaction waits more than {args.queue_age_threshold_seconds}s",
            "transactions-queue-age",
            namespace="AWS/SQS",
            metric_name="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": w.queue_name},
            statistic="Maximum",
            threshold=args.queue_age_threshold_seconds,
            evaluation_periods=3,
        )
        # 5XXError is 1 for a failed request and 0 otherwise: its Average is the 5XX rate.
        self._alarm(
            "api-5xx",
            f"More than {args.error_rate_threshold_percent}% of POST /transaction end in 5XX",
            "api-5xx-responses",
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions={"ApiName": w.api_name, "Stage": w.stage_name},
            statistic="Average",
            threshold=args.error_rate_threshold_percent / 100,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        )
        for component, table in w.table_names.items():
            # The TableName dimension alone leaves out the indexes' throttles, and an index short
            # of write capacity (a provisioned one) throttles its table's writes.
            sources = [("", {"TableName": table})] + [
                (f"index{n}_", {"TableName": table, "GlobalSecondaryIndexName": index})
                for n, index in enumerate(w.table_indexes.get(component, ()))
            ]
            queries = [
                _metric(f"{prefix}{kind}", "AWS/DynamoDB", metric, dims, "Sum")
                for prefix, dims in sources
                for kind, metric in (
                    ("reads", "ReadThrottleEvents"),
                    ("writes", "WriteThrottleEvents"),
                )
            ]
            self._alarm(
                f"{component}-table-throttles",
                f"DynamoDB throttles requests to the {component} table or its indexes",
                "dynamodb-throttles",
                metric_queries=[
                    *queries,
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="throttles",
                        expression=" + ".join(q.id for q in queries),
                        label="Throttle events",
                        return_data=True,
                    ),
                ],
                threshold=0,
                evaluation_periods=3,
                datapoints_to_alarm=2,
            )
        self._alarm(
            "failed-transactions",
            "Transactions were recorded as FAILED after exhausting their retries",
            "failed-transactions",
            namespace=shapes.METRICS_NAMESPACE,
            metric_name=shapes.FAILED_TRANSACTIONS_METRIC,
            dimensions={"service": w.failed_transactions_service},
            statistic="Sum",
            threshold=0,
            evaluation_periods=1,
        )
        self.register_outputs({"alarm_arns": [a.arn for a in self.alarms.values()]})

    def _error_rate(self, component: str, function_name: pulumi.Input[str]) -> None:
        dims = {"FunctionName": function_name}
        threshold = self._args.error_rate_threshold_percent
        self._alarm(
            f"{component}-error-rate",
            f"More than {threshold}% of {component} invocations fail",
            "function-error-rate",
            metric_queries=[
                _metric("errors", "AWS/Lambda", "Errors", dims, "Sum"),
                _metric("invocations", "AWS/Lambda", "Invocations", dims, "Sum"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="error_rate",
                    expression="IF(invocations > 0, 100 * errors / invocations, 0)",
                    label="Error rate (%)",
                    return_data=True,
                ),
            ],
            threshold=threshold,
            evaluation_periods=5,
            datapoints_to_alarm=3,
        )

    def _alarm(
        self,
        key: str,
        what: str,
        runbook: str,
        *,
        threshold: float,
        evaluation_periods: int,
        datapoints_to_alarm: int | None = None,
        **metric: Any,
    ) -> None:
        args = self._args
        if "metric_queries" not in metric:
            metric["period"] = PERIOD
        self.alarms[key] = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=f"{args.name_prefix}-{key}",
            alarm_description=f"{what}. {runbook_link(runbook)}",
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm or evaluation_periods,
            treat_missing_data="notBreaching",
            alarm_actions=[args.topic_arn],
            ok_actions=[args.topic_arn],
            opts=pulumi.ResourceOptions(parent=self),
            **metric,
        )


# --- dashboard ----------------------------------------------------------------------------------


def _graph(title: str, metrics: list[list[Any]], region: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": 8,
        "height": 6,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "region": region,
            "period": PERIOD,
            "metrics": metrics,
            **extra,
        },
    }


def _table_dimensions(w: Watched) -> list[tuple[str, list[pulumi.Input[str]]]]:
    """(label, CloudWatch dimensions) of every table and of each of its indexes."""
    found: list[tuple[str, list[pulumi.Input[str]]]] = []
    for component, table in w.table_names.items():
        found.append((component, ["TableName", table]))
        found += [
            (f"{component} {index}", ["TableName", table, "GlobalSecondaryIndexName", index])
            for index in w.table_indexes.get(component, ())
        ]
    return found


def dashboard_body(watched: Watched, alarm_arns: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
    """The dashboard as data: per function, the API, the queue, the DLQs, the tables, alarms."""
    w, r = watched, watched.region
    widgets: list[dict[str, Any]] = [
        {
            "type": "alarm",
            "width": 24,
            "height": 4,
            "properties": {"title": "Alarms", "alarms": list(alarm_arns)},
        }
    ]
    api = ["ApiName", w.api_name, "Stage", w.stage_name]
    widgets += [
        _graph(
            "API requests and errors",
            [
                ["AWS/ApiGateway", "Count", *api, {"stat": "Sum"}],
                ["AWS/ApiGateway", "4XXError", *api, {"stat": "Sum"}],
                ["AWS/ApiGateway", "5XXError", *api, {"stat": "Sum"}],
            ],
            r,
        ),
        _graph(
            "API latency (ms)",
            [
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}],
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p99"}],
                ["AWS/ApiGateway", "IntegrationLatency", *api, {"stat": "p99"}],
            ],
            r,
        ),
    ]
    widgets.append(
        _graph(
            "Transactions accepted (queued) and refused",
            [
                [
                    "AWS/SQS",
                    "NumberOfMessagesSent",
                    "QueueName",
                    w.queue_name,
                    {"stat": "Sum", "label": "accepted (queued; a replay counts again)"},
                ],
                [
                    shapes.METRICS_NAMESPACE,
                    shapes.REJECTED_TRANSACTIONS_METRIC,
                    "service",
                    w.function_names[shapes.VALIDATOR.component],
                    {"stat": "Sum", "label": "refused by the validator"},
                ],
            ],
            r,
        )
    )
    for component, fn in w.function_names.items():
        dims = ["FunctionName", fn]
        widgets += [
            _graph(
                f"{component}: invocations, errors, throttles",
                [
                    ["AWS/Lambda", "Invocations", *dims, {"stat": "Sum"}],
                    ["AWS/Lambda", "Errors", *dims, {"stat": "Sum"}],
                    ["AWS/Lambda", "Throttles", *dims, {"stat": "Sum"}],
                ],
                r,
            ),
            _graph(
                f"{component}: duration (ms)",
                [
                    ["AWS/Lambda", "Duration", *dims, {"stat": "p50"}],
                    ["AWS/Lambda", "Duration", *dims, {"stat": "p99"}],
                ],
                r,
            ),
            _graph(
                f"{component}: concurrent executions",
                [["AWS/Lambda", "ConcurrentExecutions", *dims, {"stat": "Maximum"}]],
                r,
            ),
        ]
    queue = ["QueueName", w.queue_name]
    widgets += [
        _graph(
            "Transactions queue",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", *queue, {"stat": "Maximum"}],
                [
                    "AWS/SQS",
                    "ApproximateAgeOfOldestMessage",
                    *queue,
                    {"stat": "Maximum", "yAxis": "right"},
                ],
            ],
            r,
        ),
        _graph(
            "Dead-letter queues: visible messages",
            [
                [
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    "QueueName",
                    q,
                    {"stat": "Maximum", "label": label},
                ]
                for label, q in w.dead_letter_queue_names.items()
            ],
            r,
        ),
        _graph(
            "DynamoDB throttle events",
            [
                [
                    "AWS/DynamoDB",
                    metric,
                    *dims,
                    {"stat": "Sum", "label": f"{label} {kind}"},
                ]
                for label, dims in _table_dimensions(w)
                for metric, kind in (
                    ("ReadThrottleEvents", "reads"),
                    ("WriteThrottleEvents", "writes"),
                )
            ],
            r,
        ),
        # Only provisioned tables report these: at the auto scaling maximum, throttles no
        # longer heal by scaling (the maximum is in stacks/data/Pulumi.<stack>.yaml).
        _graph(
            "DynamoDB provisioned capacity (auto scaling)",
            [
                ["AWS/DynamoDB", metric, *dims, {"stat": "Maximum", "label": f"{label} {kind}"}]
                for label, dims in _table_dimensions(w)
                for metric, kind in (
                    ("ProvisionedReadCapacityUnits", "RCU"),
                    ("ProvisionedWriteCapacityUnits", "WCU"),
                )
            ],
            r,
        ),
        _graph(
            "Transactions recorded as FAILED",
            [
                [
                    shapes.METRICS_NAMESPACE,
                    shapes.FAILED_TRANSACTIONS_METRIC,
                    "service",
                    w.failed_transactions_service,
                    {"stat": "Sum"},
                ]
            ],
            r,
        ),
    ]
    return {"widgets": widgets}


@dataclass(frozen=True)
class DashboardArgs:
    dashboard_name: str
    watched: Watched
    alarm_arns: Sequence[pulumi.Input[str]]


class OperationsDashboard(pulumi.ComponentResource):
    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:observability:OperationsDashboard", name, None, opts)
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.dashboard_name,
            dashboard_body=pulumi.Output.json_dumps(dashboard_body(args.watched, args.alarm_arns)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        region = args.watched.region
        self.url = pulumi.Output.concat(
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}",
            "#dashboards:name=",
            self.dashboard.dashboard_name,
        )
        self.register_outputs({"url": self.url})


# --- notifications ------------------------------------------------------------------------------

# What a person is emailed from the fraud-alerts topic: high-severity alerts only. Every alert
# stays on the topic for machine subscribers; at 1,000 TPS and a 2% flag rate one email per
# flagged transaction would be 20 a second, more than anyone reads (and $0.42 per million).
FRAUD_EMAIL_FILTER_POLICY = json.dumps(
    {shapes.ALERT_SEVERITY_ATTRIBUTE: [shapes.ALERT_SEVERITY_HIGH]}, sort_keys=True
)


@dataclass(frozen=True)
class NotificationsArgs:
    topic_name: str
    key_arn: pulumi.Input[str]
    alert_email: str
    fraud_alerts_topic_arn: pulumi.Input[str]
    fraud_alert_email: str


class Notifications(pulumi.ComponentResource):
    """The alarm topic (CMK) and the email subscriptions to it and to the fraud-alerts topic."""

    def __init__(
        self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:observability:Notifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            f"{name}-alarms",
            name=args.topic_name,
            kms_master_key_id=args.key_arn,
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-alarms-email",
            topic=self.topic.arn,
            protocol="email",
            endpoint=args.alert_email,
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-fraud-alerts-email",
            topic=args.fraud_alerts_topic_arn,
            protocol="email",
            endpoint=args.fraud_alert_email,
            filter_policy=FRAUD_EMAIL_FILTER_POLICY,
            filter_policy_scope="MessageAttributes",
            opts=child,
        )
        self.register_outputs({"alarm_topic_arn": self.topic.arn})


# --- flow logs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowLogsArgs:
    vpc_id: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    log_group_name: str
    key_arn: pulumi.Input[str]
    retention_days: int


class VpcFlowLogs(pulumi.ComponentResource):
    """Every accepted and rejected flow of the VPC, to a CMK-encrypted log group."""

    def __init__(self, name: str, args: FlowLogsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:observability:VpcFlowLogs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.retention_days,
            kms_key_id=args.key_arn,
            opts=child,
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-vpc",
            vpc_id=args.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.log_group.arn,
            iam_role_arn=args.role_arn,
            max_aggregation_interval=60,
            opts=child,
        )
        self.register_outputs({"log_group_name": self.log_group.name})


# --- trace sampling -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceSamplingArgs:
    rule_name: str  # at most 32 characters
    api_name: str
    stage_name: pulumi.Input[str]
    fixed_rate: float  # share of requests traced once the reservoir is used up
    reservoir_per_second: int = 1  # traced every second whatever the rate, across all hosts
    priority: int = 100  # before the account's Default rule (10000)


class TraceSampling(pulumi.ComponentResource):
    """The X-Ray sampling rule of ``POST /transaction``'s stage, where the hot path's traces start.

    X-Ray sampling is decided once, by the first traced service, and Lambda in Active mode
    follows the decision it receives. API Gateway applies sampling rules, so this rule sets how
    many validator invocations (and their SQS hop) are traced. Lambda itself does not apply
    custom rules: invocations that start a trace (the queue consumers) keep its fixed
    1 per second plus 5%.
    """

    def __init__(
        self, name: str, args: TraceSamplingArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:observability:TraceSampling", name, None, opts)
        if len(args.rule_name) > 32:
            raise ValueError(f"X-Ray rule name {args.rule_name!r} is longer than 32 characters")
        self.rule = aws.xray.SamplingRule(
            f"{name}-api",
            rule_name=args.rule_name,
            priority=args.priority,
            version=1,
            reservoir_size=args.reservoir_per_second,
            fixed_rate=args.fixed_rate,
            # API Gateway names its segments "<api name>/<stage>".
            service_name=pulumi.Output.concat(args.api_name, "/", args.stage_name),
            service_type="AWS::ApiGateway::Stage",
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"rule_arn": self.rule.arn})


# --- service level objectives (aws-native) ------------------------------------------------------


@dataclass(frozen=True)
class ObjectivesArgs:
    name_prefix: str
    api_name: str
    stage_name: pulumi.Input[str]
    availability_percent: float
    latency_ms: int
    # Burn rates over these windows (minutes) become metrics to alarm on.
    burn_rate_windows: Sequence[int] = field(default=(60, 360))


def _api_query(
    id_: str, metric: str, api_name: str, stage: pulumi.Input[str], stat: str
) -> aws_native.applicationsignals.ServiceLevelObjectiveMetricDataQueryArgs:
    sl = aws_native.applicationsignals
    return sl.ServiceLevelObjectiveMetricDataQueryArgs(
        id=id_,
        return_data=True,
        metric_stat=sl.ServiceLevelObjectiveMetricStatArgs(
            metric=sl.ServiceLevelObjectiveMetricArgs(
                namespace="AWS/ApiGateway",
                metric_name=metric,
                dimensions=[
                    sl.ServiceLevelObjectiveDimensionArgs(name="ApiName", value=api_name),
                    sl.ServiceLevelObjectiveDimensionArgs(name="Stage", value=stage),
                ],
            ),
            period=PERIOD,
            stat=stat,
        ),
    )


class ApiObjectives(pulumi.ComponentResource):
    """Availability and latency SLOs of ``POST /transaction`` (CloudWatch Application Signals).

    pulumi-aws has no Application Signals resources; aws-native (Cloud Control) does.
    """

    def __init__(self, name: str, args: ObjectivesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:observability:ApiObjectives", name, None, opts)
        sl = aws_native.applicationsignals
        child = pulumi.ResourceOptions(parent=self)
        rolling_28_days = sl.ServiceLevelObjectiveIntervalArgs(
            rolling_interval=sl.ServiceLevelObjectiveRollingIntervalArgs(
                duration=28, duration_unit=sl.ServiceLevelObjectiveDurationUnit.DAY
            )
        )
        burn_rates = [
            sl.ServiceLevelObjectiveBurnRateConfigurationArgs(look_back_window_minutes=m)
            for m in args.burn_rate_windows
        ]
        self.availability = sl.ServiceLevelObjective(
            f"{name}-availability",
            name=f"{args.name_prefix}-api-availability",
            description=(
                f"{args.availability_percent}% of POST /transaction requests end without a 5XX. "
                f"{runbook_link('api-availability-objective')}"
            ),
            request_based_sli=sl.ServiceLevelObjectiveRequestBasedSliArgs(
                request_based_sli_metric=sl.ServiceLevelObjectiveRequestBasedSliMetricArgs(
                    total_request_count_metric=[
                        _api_query("requests", "Count", args.api_name, args.stage_name, "Sum")
                    ],
                    monitored_request_count_metric=sl.ServiceLevelObjectiveMonitoredRequestCountMetricArgs(
                        bad_count_metric=[
                            _api_query(
                                "failures", "5XXError", args.api_name, args.stage_name, "Sum"
                            )
                        ]
                    ),
                )
            ),
            goal=sl.ServiceLevelObjectiveGoalArgs(
                attainment_goal=args.availability_percent,
                warning_threshold=30,
                interval=rolling_28_days,
            ),
            burn_rate_configurations=burn_rates,
            opts=child,
        )
        self.latency = sl.ServiceLevelObjective(
            f"{name}-latency",
            name=f"{args.name_prefix}-api-latency",
            description=(
                f"p99 latency of POST /transaction stays at or under {args.latency_ms} ms in 99% "
                f"of minutes. {runbook_link('api-latency-objective')}"
            ),
            sli=sl.ServiceLevelObjectiveSliArgs(
                sli_metric=sl.ServiceLevelObjectiveSliMetricArgs(
                    metric_data_queries=[
                        _api_query("latency", "Latency", args.api_name, args.stage_name, "p99")
                    ]
                ),
                metric_threshold=args.latency_ms,
                comparison_operator=sl.ServiceLevelObjectiveSliComparisonOperator.LESS_THAN_OR_EQUAL_TO,
            ),
            goal=sl.ServiceLevelObjectiveGoalArgs(
                attainment_goal=99.0, warning_threshold=30, interval=rolling_28_days
            ),
            burn_rate_configurations=burn_rates,
            opts=child,
        )
        self.register_outputs({"availability_slo": self.availability.arn})

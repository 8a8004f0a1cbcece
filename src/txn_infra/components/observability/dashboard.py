"""The operations dashboard: its body as data (widgets per API, function, queue, table) and
the component that publishes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from txn_infra.components.observability.watched import PERIOD, Watched
from txn_spec import shapes


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
        _graph(
            "Transactions recorded as FAILED",
            [
                [
                    shapes.METRICS_NAMESPACE,
                    shapes.FAILED_TRANSACTIONS_METRIC,
                    "service",
                    w.function_names[shapes.FAILED_TRANSACTIONS.component],
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

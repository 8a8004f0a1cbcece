"""The operations dashboard: its body, from the widgets :mod:`txn_spec.dashboard` declares
(the local runtime's page draws the same ones), and the component that publishes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from txn_infra.components.observability.watched import PERIOD, Watched
from txn_spec.dashboard import Target, expand

Dims = list[pulumi.Input[str]]


def _dimensions(w: Watched, target: Target, function: str | None) -> list[tuple[str | None, Dims]]:
    """(label, CloudWatch dimensions) of each instance of a widget line's target."""
    if target == "api":
        return [(None, ["ApiName", w.api_name, "Stage", w.stage_name])]
    if target == "waf":
        return [(None, [part for pair in w.web_acl_dimensions.items() for part in pair])]
    if target == "function":
        assert function is not None
        return [(None, ["FunctionName", w.function_names[function]])]
    if target == "queue":
        return [(None, ["QueueName", w.queue_name])]
    if target == "dead_letter_queues":
        return [(label, ["QueueName", q]) for label, q in w.dead_letter_queue_names.items()]
    if target == "tables":
        found: list[tuple[str | None, Dims]] = []
        for component, table in w.table_names.items():
            found.append((component, ["TableName", table]))
            found += [
                (f"{component} {index}", ["TableName", table, "GlobalSecondaryIndexName", index])
                for index in w.table_indexes.get(component, ())
            ]
        return found
    # a function's own metrics: Powertools' ``service`` dimension is its function name
    return [(None, ["service", w.function_names[target.removeprefix("service:")]])]


def dashboard_body(watched: Watched, alarm_arns: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
    """The alarms, then the metric widgets of :data:`txn_spec.dashboard.WIDGETS`."""
    widgets: list[dict[str, Any]] = [
        {
            "type": "alarm",
            "width": 24,
            "height": 4,
            "properties": {"title": "Alarms", "alarms": list(alarm_arns)},
        }
    ]
    for title, rows in expand(
        list(watched.function_names), lambda t, f: _dimensions(watched, t, f)
    ):
        metrics = [
            [line.namespace, line.metric, *dims, line.options(label)] for line, label, dims in rows
        ]
        properties = {"title": title, "view": "timeSeries", "region": watched.region}
        widgets.append(
            {
                "type": "metric",
                "width": 8,
                "height": 6,
                "properties": {**properties, "period": PERIOD, "metrics": metrics},
            }
        )
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

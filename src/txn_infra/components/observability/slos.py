"""Service level objectives of one route, ``POST /transaction`` (CloudWatch Application Signals).

They read the route's own metrics (dimensions ``ApiName``, ``Method``, ``Resource``, ``Stage``),
which API Gateway sends only with detailed metrics on: the stage's method settings turn them on
for every method (:mod:`txn_infra.components.edge.api`). The stage's totals would mix in
``POST /fraud-reports``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws_native as aws_native

from txn_infra.components.observability.watched import PERIOD, runbook_link

METHOD = "POST"


@dataclass(frozen=True)
class ObjectivesArgs:
    name_prefix: str
    api_name: str
    stage_name: pulumi.Input[str]
    resource: str  # the route's resource path, as API Gateway's Resource dimension names it
    availability_percent: float
    latency_ms: int
    # Burn rates over these windows (minutes) become metrics to alarm on.
    burn_rate_windows: Sequence[int] = field(default=(60, 360))


def _api_query(
    id_: str, metric: str, args: ObjectivesArgs, stat: str
) -> aws_native.applicationsignals.ServiceLevelObjectiveMetricDataQueryArgs:
    sl = aws_native.applicationsignals
    dimensions = {
        "ApiName": args.api_name,
        "Method": METHOD,
        "Resource": args.resource,
        "Stage": args.stage_name,
    }
    return sl.ServiceLevelObjectiveMetricDataQueryArgs(
        id=id_,
        return_data=True,
        metric_stat=sl.ServiceLevelObjectiveMetricStatArgs(
            metric=sl.ServiceLevelObjectiveMetricArgs(
                namespace="AWS/ApiGateway",
                metric_name=metric,
                dimensions=[
                    sl.ServiceLevelObjectiveDimensionArgs(name=name, value=value)
                    for name, value in dimensions.items()
                ],
            ),
            period=PERIOD,
            stat=stat,
        ),
    )


class ApiObjectives(pulumi.ComponentResource):
    """Availability and latency SLOs of one ``POST`` route (CloudWatch Application Signals).

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
                f"{args.availability_percent}% of {METHOD} {args.resource} requests end without "
                f"a 5XX. {runbook_link('api-availability-objective')}"
            ),
            request_based_sli=sl.ServiceLevelObjectiveRequestBasedSliArgs(
                request_based_sli_metric=sl.ServiceLevelObjectiveRequestBasedSliMetricArgs(
                    total_request_count_metric=[
                        # API Gateway documents SampleCount as Count's statistic
                        _api_query("requests", "Count", args, "SampleCount")
                    ],
                    monitored_request_count_metric=sl.ServiceLevelObjectiveMonitoredRequestCountMetricArgs(
                        bad_count_metric=[_api_query("failures", "5XXError", args, "Sum")]
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
                f"p99 latency of {METHOD} {args.resource} stays at or under {args.latency_ms} ms "
                f"in 99% of minutes. {runbook_link('api-latency-objective')}"
            ),
            sli=sl.ServiceLevelObjectiveSliArgs(
                sli_metric=sl.ServiceLevelObjectiveSliMetricArgs(
                    metric_data_queries=[_api_query("latency", "Latency", args, "p99")]
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

"""observability: where to look and who is told.

One dashboard for the whole path (API, functions, queue, DLQs, tables), alarms that each point
to a runbook section, an EventBridge rule on the CloudTrail calls that switch a security control
off, the alarm topic with its email subscription (and the fraud team's on the fraud-alerts
topic), VPC flow logs, and service level objectives of ``POST /transaction``.

One module per concept: ``watched`` (what is watched, the metric period, runbook links),
``alarms``, ``control_changes``, ``dashboard``, ``notifications``, ``flow_logs``, ``sampling``
and ``slos``.
"""

from txn_infra.components.observability.alarms import AlarmsArgs, ServiceAlarms
from txn_infra.components.observability.control_changes import (
    CONTROL_CALLS,
    ControlChangeAlerts,
    ControlChangesArgs,
    control_change_pattern,
)
from txn_infra.components.observability.dashboard import DashboardArgs, OperationsDashboard
from txn_infra.components.observability.flow_logs import FlowLogsArgs, VpcFlowLogs
from txn_infra.components.observability.notifications import (
    FRAUD_EMAIL_FILTER_POLICY,
    Notifications,
    NotificationsArgs,
)
from txn_infra.components.observability.sampling import TraceSampling, TraceSamplingArgs
from txn_infra.components.observability.slos import ApiObjectives, ObjectivesArgs
from txn_infra.components.observability.watched import Watched

__all__ = [
    "CONTROL_CALLS",
    "FRAUD_EMAIL_FILTER_POLICY",
    "AlarmsArgs",
    "ApiObjectives",
    "ControlChangeAlerts",
    "ControlChangesArgs",
    "DashboardArgs",
    "FlowLogsArgs",
    "Notifications",
    "NotificationsArgs",
    "ObjectivesArgs",
    "OperationsDashboard",
    "ServiceAlarms",
    "TraceSampling",
    "TraceSamplingArgs",
    "VpcFlowLogs",
    "Watched",
    "control_change_pattern",
]

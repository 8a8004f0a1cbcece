"""observability: dashboard, alarms with runbooks, alerts on switching a control off,
notifications, VPC flow logs and API SLOs."""

from txn_infra.components.audit_archive import archive, same_region
from txn_infra.components.observability import (
    AlarmsArgs,
    ApiObjectives,
    ControlChangeAlerts,
    ControlChangesArgs,
    DashboardArgs,
    FlowLogsArgs,
    Notifications,
    NotificationsArgs,
    ObjectivesArgs,
    OperationsDashboard,
    ServiceAlarms,
    TraceSampling,
    TraceSamplingArgs,
    VpcFlowLogs,
    Watched,
)
from txn_infra.config import ObservabilityConfig
from txn_infra.layer import start
from txn_spec import contract, shapes
from txn_spec.naming import log_group, physical_name_pattern

ctx = start(contract.OBSERVABILITY, ObservabilityConfig)
network = ctx.upstream(contract.NETWORK)
security = ctx.upstream(contract.SECURITY)
data = ctx.upstream(contract.DATA)
compute = ctx.upstream(contract.COMPUTE)
edge = ctx.upstream(contract.EDGE)
cfg = ctx.config
same_region(cfg.audit_log_destination_arn, ctx.region)
flow_log_group = log_group(cfg.app, ctx.environment, "vpc-flow-logs")

watched = Watched(
    region=ctx.region,
    function_names={
        shapes.VALIDATOR.component: compute["validator_function_name"],
        shapes.FRAUD_DETECTOR.component: compute["fraud_detector_function_name"],
        shapes.FAILED_TRANSACTIONS.component: compute["failed_transactions_function_name"],
    },
    # API Gateway metrics are keyed by the API's name, which the naming function gives.
    api_name=ctx.name(shapes.API_COMPONENT),
    web_acl_name=ctx.name(shapes.WAF_COMPONENT),
    stage_name=edge["stage_name"],
    access_log_group_name=edge["access_log_group_name"],
    throttled_metric_name=ctx.name(shapes.THROTTLED_REQUESTS_COMPONENT),
    flow_log_group_name=flow_log_group,
    queue_name=data["transactions_queue_name"],
    dead_letter_queue_names={
        shapes.TRANSACTIONS_DLQ.component: data["transactions_dlq_name"],
        shapes.PARKING_QUEUE.component: data["parking_queue_name"],
    },
    table_names={
        shapes.TRANSACTIONS_TABLE.component: data["transactions_table_name"],
        shapes.MERCHANTS_TABLE.component: data["merchants_table_name"],
        shapes.IDEMPOTENCY_TABLE.component: data["idempotency_table_name"],
        shapes.VELOCITY_TABLE.component: data["velocity_table_name"],
    },
    table_indexes={t.component: [i.name for i in t.indexes] for t in shapes.TABLES if t.indexes},
)

notifications = Notifications(
    "notify",
    NotificationsArgs(
        topic_name=ctx.name(shapes.ALARMS_TOPIC.component),
        key_arn=security["alarms_key_arn"],
        alert_email=cfg.alert_email,
        fraud_alerts_topic_arn=data["fraud_alerts_topic_arn"],
        fraud_alert_email=cfg.fraud_alert_email or cfg.alert_email,
        region=ctx.region,
        account_id=ctx.account_id(),
        alarm_names=physical_name_pattern(cfg.app, ctx.environment),
    ),
    opts=ctx.opts,
)

alarms = ServiceAlarms(
    "alarms",
    AlarmsArgs(
        name_prefix=ctx.prefix,
        watched=watched,
        topic_arn=notifications.topic.arn,
        error_rate_threshold_percent=cfg.error_rate_threshold_percent,
        queue_age_threshold_seconds=cfg.queue_age_threshold_seconds,
    ),
    opts=ctx.opts,
)

# PCI DSS 10.3.4, 10.7.2: the API call that switches a control off, told like an alarm.
ControlChangeAlerts(
    "controls",
    ControlChangesArgs(
        rule_name=ctx.name("control-changes"),
        topic_arn=notifications.topic.arn,
    ),
    opts=ctx.opts,
)

dashboard = OperationsDashboard(
    "ops",
    DashboardArgs(
        dashboard_name=ctx.name("operations"),
        watched=watched,
        alarm_arns=[alarm.arn for alarm in alarms.alarms.values()],
    ),
    opts=ctx.opts,
)

flow_logs = VpcFlowLogs(
    "flow",
    FlowLogsArgs(
        vpc_id=network["vpc_id"],
        role_arn=security["flow_logs_role_arn"],
        log_group_name=flow_log_group,
        key_arn=security["logs_key_arn"],
        retention_days=cfg.flow_log_retention_days,
        deletion_protection=cfg.deletion_protection,
    ),
    opts=ctx.opts,
)

if cfg.audit_log_destination_arn:  # PCI DSS 10.3.3: a copy in the log archive account
    archive("flow-logs-archive", flow_logs.log_group, cfg.audit_log_destination_arn, ctx.opts)

TraceSampling(
    "traces",
    TraceSamplingArgs(
        rule_name=ctx.name("api"),
        api_name=ctx.name(shapes.API_COMPONENT),
        stage_name=edge["stage_name"],
        fixed_rate=cfg.xray_sampling_rate,
    ),
    opts=ctx.opts,
)

ApiObjectives(
    "slo",
    ObjectivesArgs(
        name_prefix=ctx.prefix,
        api_name=ctx.name(shapes.API_COMPONENT),
        stage_name=edge["stage_name"],
        resource=shapes.API_RESOURCE,
        availability_percent=cfg.availability_objective_percent,
        latency_ms=cfg.latency_objective_ms,
    ),
    opts=ctx.native_opts,
)

ctx.export(
    dashboard_url=dashboard.url,
    transaction_endpoint_url=edge["transaction_endpoint_url"],
    alarm_topic_arn=notifications.topic.arn,
)

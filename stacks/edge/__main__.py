"""edge: the REST API with API keys and request validation, its stage, and the WAF in front."""

from pathlib import Path

from txn_infra.components.audit_archive import archive, same_region
from txn_infra.components.edge import (
    ApiFirewall,
    ApiFirewallArgs,
    ApiKeyPlan,
    ApiKeyPlanArgs,
    ProviderKey,
    TransactionApi,
    TransactionApiArgs,
)
from txn_infra.config import EdgeConfig
from txn_infra.layer import start
from txn_spec import api_schema, contract, shapes
from txn_spec.naming import log_group, waf_log_group

ctx = start(contract.EDGE, EdgeConfig)
security = ctx.upstream(contract.SECURITY)
compute = ctx.upstream(contract.COMPUTE)
cfg = ctx.config
same_region(cfg.audit_log_destination_arn, ctx.region)

api = TransactionApi(
    "api",
    TransactionApiArgs(
        api_name=ctx.name(shapes.API_COMPONENT),
        region=ctx.region,
        stage_name=shapes.API_STAGE,
        path=shapes.API_PATH,
        model_schema=api_schema.model_json(Path(__file__).parent / cfg.openapi_document),
        report_path=shapes.FRAUD_REPORTS_PATH,
        report_model_schema=api_schema.model_json(
            Path(__file__).parent / cfg.openapi_document, api_schema.REPORT_SCHEMA
        ),
        validator_function_arn=compute["validator_function_arn"],
        validator_invoke_arn=compute["validator_invoke_arn"],
        logs_key_arn=security["logs_key_arn"],
        access_log_group_name=log_group(cfg.app, ctx.environment, "api-access"),
        audit_log_retention_days=cfg.audit_log_retention_days,
        audit_log_deletion_protection=cfg.deletion_protection,
        throttle_rate_limit=cfg.throttle_rate_limit,
        throttle_burst_limit=cfg.throttle_burst_limit,
        throttled_metric_name=ctx.name(shapes.THROTTLED_REQUESTS_COMPONENT),
    ),
    opts=ctx.opts,
)


def provider(key: str) -> ProviderKey:
    limits = cfg.limits_of(key)
    return ProviderKey(
        key_name=ctx.name(shapes.api_key_component(key)),
        plan_name=ctx.name(shapes.usage_plan_component(key)),
        rate_limit=limits.rate_limit,
        burst_limit=limits.burst_limit,
        quota_per_day=limits.quota_per_day,
    )


keys = ApiKeyPlan(
    "keys",
    ApiKeyPlanArgs(
        providers={key: provider(key) for key in cfg.api_keys},
        rest_api_id=api.api.id,
        stage_name=api.stage.stage_name,
    ),
    opts=ctx.opts,
)

waf = ApiFirewall(
    "waf",
    ApiFirewallArgs(
        acl_name=ctx.name(shapes.WAF_COMPONENT),
        stage_arn=api.stage.arn,
        stage=api.stage,
        log_group_name=waf_log_group(cfg.app, ctx.environment),
        logs_key_arn=security["logs_key_arn"],
        log_retention_days=cfg.audit_log_retention_days,
        log_deletion_protection=cfg.deletion_protection,
        rate_limit_per_5min=cfg.waf_rate_limit_per_5min,
    ),
    opts=ctx.opts,
)

# PCI DSS 10.3.3: a copy of every audit log in the log archive account, when one is configured
if cfg.audit_log_destination_arn:
    for key, group in {
        "access-logs": api.access_logs,
        "execution-logs": api.execution_logs,
        "waf-logs": waf.log_group,
    }.items():
        archive(f"{key}-archive", group, cfg.audit_log_destination_arn, ctx.opts)

ctx.export(
    rest_api_id=api.api.id,
    stage_name=api.stage.stage_name,
    stage_arn=api.stage.arn,
    transaction_endpoint_url=api.endpoint_url,
    api_key_ids=keys.key_ids,
    api_key_values=keys.key_values,
    web_acl_arn=waf.acl.arn,
    access_log_group_name=api.access_logs.name,
)

"""security: the platform's KMS keys and the IAM roles of its functions and services."""

from txn_infra.components.security import (
    KeysArgs,
    NetworkIds,
    Platform,
    PlatformKeys,
    PlatformRoles,
    RolesArgs,
)
from txn_infra.config import SecurityConfig
from txn_infra.layer import start
from txn_spec import contract

ctx = start(contract.SECURITY, SecurityConfig)
network = ctx.upstream(contract.NETWORK)

platform = Platform(
    app=ctx.config.app,
    environment=ctx.environment,
    region=ctx.region,
    account_id=ctx.account_id(),
)
keys = PlatformKeys(
    "keys",
    KeysArgs(platform=platform, deletion_window_days=ctx.config.key_deletion_window_days),
    opts=ctx.opts,
)
endpoints = network["vpc_endpoint_ids"]
roles = PlatformRoles(
    "roles",
    RolesArgs(
        platform=platform,
        network=NetworkIds(
            private_subnet_ids=network["private_subnet_ids"],
            function_security_group_id=network["function_security_group_id"],
            endpoint_ids={s: endpoints[s] for s in ("dynamodb", "sqs", "sns")},
        ),
        data_key_arn=keys.data_key.arn,
        logs_key_arn=keys.logs_key.arn,
    ),
    opts=ctx.opts,
)

ctx.export(
    data_key_arn=keys.data_key.arn,
    logs_key_arn=keys.logs_key.arn,
    alarms_key_arn=keys.alarms_key.arn,
    validator_role_arn=roles.function_roles["validator"].arn,
    fraud_detector_role_arn=roles.function_roles["fraud-detector"].arn,
    failed_transactions_role_arn=roles.function_roles["failed-transactions"].arn,
    flow_logs_role_arn=roles.flow_logs_role.arn,
)

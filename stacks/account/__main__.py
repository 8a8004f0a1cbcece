"""account: once per AWS account and region, before any layer: the Pulumi state bucket, the
secrets key, API Gateway's account-wide CloudWatch role and setting, Application Signals, the
permissions boundary of each environment's platform roles, and one deploy role and one read-only
preview role per layer."""

from dataclasses import replace

import pulumi
import pulumi_aws_native as aws_native

from txn_infra import deploy_permissions
from txn_infra.components.account import (
    ApiGatewayLogging,
    ApiGatewayLoggingArgs,
    LayerDeployRoles,
    LayerPreviewRoles,
    LayerRolesArgs,
    RoleBoundaries,
    RoleBoundariesArgs,
    SecretsKey,
    SecretsKeyArgs,
    StateBackend,
    StateBackendArgs,
    check_stack_name,
)
from txn_infra.components.security import Platform
from txn_infra.config import AccountConfig
from txn_infra.layer import start
from txn_spec import contract

ctx = start(contract.ACCOUNT, AccountConfig)
check_stack_name(ctx.environment, ctx.region)
cfg = ctx.config

# The scope is the account and region: the region takes the environment's place in physical
# names (txn-us-east-2-apigateway-cloudwatch-role), never a stack name's account part.
platform = Platform(
    app=cfg.app, environment=ctx.environment, region=ctx.region, account_id=ctx.account_id()
)
state = StateBackend(
    "state",
    StateBackendArgs(platform=platform, key_deletion_window_days=cfg.key_deletion_window_days),
    opts=ctx.opts,
)
secrets = SecretsKey(
    "secrets",
    SecretsKeyArgs(platform=platform, key_deletion_window_days=cfg.key_deletion_window_days),
    opts=ctx.opts,
)
api_logging = ApiGatewayLogging(
    "apigateway-logging",
    ApiGatewayLoggingArgs(platform=platform, environments=cfg.environments),
    opts=ctx.opts,
)
# Application Signals' service-linked role, which observability's SLOs need: made here with the
# administrators' rights, so no layer's deploy role may create service-linked roles.
aws_native.applicationsignals.Discovery(
    "application-signals", opts=pulumi.ResourceOptions(provider=ctx.native_provider)
)

# The ceiling of the roles security creates: its deploy role may create them, and change their
# policies, only with this boundary (deploy_grants.yaml), so it cannot make one an admin.
boundaries = RoleBoundaries(
    "role-boundary",
    RoleBoundariesArgs(platform=platform, environments=cfg.environments),
    opts=ctx.opts,
)

# Per layer, a role that deploys it and one that previews it and writes nothing: the jobs that
# run before any review (pull requests, prod's preview before its approval) get the second.
role_args = LayerRolesArgs(
    platform=platform,
    permissions=deploy_permissions.load(),
    principals=cfg.deployers,
    github_repository=cfg.github_repository,
    github_subjects=cfg.oidc_subjects("deploy"),
    state_bucket_arn=state.bucket.arn,
    state_key_arn=state.key.arn,
    secrets_key_arn=secrets.key.arn,
)
deployers = LayerDeployRoles("deploy", role_args, opts=ctx.opts)
previewers = LayerPreviewRoles(
    "preview",
    replace(
        role_args,
        permissions=deploy_permissions.load_previews(),
        github_subjects=cfg.oidc_subjects("preview"),
    ),
    opts=ctx.opts,
)

ctx.export(
    state_bucket_name=state.bucket.bucket,
    state_key_arn=state.key.arn,
    backend_url=state.backend_url,
    secrets_key_arn=secrets.key.arn,
    secrets_provider=secrets.secrets_provider,
    apigateway_cloudwatch_role_arn=api_logging.role.arn,
    deploy_role_arns=deployers.role_arns,
    preview_role_arns=previewers.role_arns,
    role_boundary_arns=boundaries.arns,
)

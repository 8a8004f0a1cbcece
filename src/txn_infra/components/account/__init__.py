"""The account bootstrap (stacks/account): what exists once per AWS account and region.

Small components, one concept each: the state backend, the secrets key, API Gateway's logging
setting, the per-layer deploy and preview roles, the permissions boundary of the roles
``security`` creates.
The policy documents they deploy are plain data in ``documents``.
"""

from txn_infra.components.account.apigateway_logging import (
    ApiGatewayLogging,
    ApiGatewayLoggingArgs,
)
from txn_infra.components.account.deploy_roles import (
    LayerDeployRoles,
    LayerPreviewRoles,
    LayerRolesArgs,
)
from txn_infra.components.account.role_boundary import RoleBoundaries, RoleBoundariesArgs
from txn_infra.components.account.secrets import SecretsKey, SecretsKeyArgs
from txn_infra.components.account.stack_name import check_stack_name
from txn_infra.components.account.state import StateBackend, StateBackendArgs

__all__ = [
    "ApiGatewayLogging",
    "ApiGatewayLoggingArgs",
    "LayerDeployRoles",
    "LayerPreviewRoles",
    "LayerRolesArgs",
    "RoleBoundaries",
    "RoleBoundariesArgs",
    "SecretsKey",
    "SecretsKeyArgs",
    "StateBackend",
    "StateBackendArgs",
    "check_stack_name",
]

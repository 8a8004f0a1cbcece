"""The account bootstrap (stacks/account): what exists once per AWS account and region.

Small components, one concept each, so more can join without touching the others (the per-layer
deploy roles are next): the state backend, the secrets key, API Gateway's logging setting. The
policy documents they deploy are plain data in ``documents``.
"""

from txn_infra.components.account.apigateway_logging import (
    ApiGatewayLogging,
    ApiGatewayLoggingArgs,
)
from txn_infra.components.account.secrets import SecretsKey, SecretsKeyArgs
from txn_infra.components.account.stack_name import check_stack_name
from txn_infra.components.account.state import StateBackend, StateBackendArgs

__all__ = [
    "ApiGatewayLogging",
    "ApiGatewayLoggingArgs",
    "SecretsKey",
    "SecretsKeyArgs",
    "StateBackend",
    "StateBackendArgs",
    "check_stack_name",
]

"""Keys and roles: the three customer-managed KMS keys and the IAM role of every function and
AWS service that acts for the platform.

Every policy document is data: the ``*_key_policy`` functions in ``key_policies`` and the
``trust_policy`` / ``*_statements`` functions in ``iam_documents`` return plain dicts (with
``pulumi.Input`` values where an id is only known at deploy time), one function per document,
so a reviewer reads a role's whole permission set in one place and tests or an IAM linter can
check it. Passing plain strings gives plain JSON-ready dicts. The components that deploy them
are ``keys.PlatformKeys`` and ``roles.PlatformRoles``.

ARNs of resources that ``data`` and ``compute`` create later are built in ``platform`` from the
one naming function and the resource shapes, so ``security`` deploys before them and never
reads them.

Rules kept throughout:

- no wildcard action in an Allow; ``Resource: "*"`` in an identity policy only where the action
  has no resource-level permission, each case commented;
- trust policies name one service principal and pin ``aws:SourceAccount``;
- calls made from inside the VPC carry ``aws:SourceVpce`` (the endpoint the call must use);
  calls that the Lambda service makes with the role (the SQS event source mapping) do not.
"""

from txn_infra.components.security.iam_documents import FunctionKeys, function_statements
from txn_infra.components.security.key_policies import KEY_ADMIN_ACTIONS
from txn_infra.components.security.keys import KeysArgs, PlatformKeys
from txn_infra.components.security.platform import NetworkIds, Platform
from txn_infra.components.security.roles import PlatformRoles, RolesArgs

__all__ = [
    "KEY_ADMIN_ACTIONS",
    "FunctionKeys",
    "KeysArgs",
    "NetworkIds",
    "Platform",
    "PlatformKeys",
    "PlatformRoles",
    "RolesArgs",
    "function_statements",
]

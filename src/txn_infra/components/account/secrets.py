"""The KMS key behind every stack's secrets provider (``awskms://alias/<app>-pulumi-secrets``)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from txn_infra.components.account.documents import secrets_key_policy
from txn_infra.components.security import Platform
from txn_infra.components.security.keys import rotated_key
from txn_spec.naming import secrets_key_alias, secrets_provider


@dataclass(frozen=True)
class SecretsKeyArgs:
    platform: Platform
    key_deletion_window_days: int


class SecretsKey(pulumi.ComponentResource):
    """A rotated CMK and its alias. Protected: without it no stack's secrets can be read."""

    def __init__(self, name: str, args: SecretsKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:account:SecretsKey", name, None, opts)
        p = args.platform
        self.key = rotated_key(
            self,
            f"{name}-key",
            description=f"{p.app} Pulumi secrets of every stack ({p.region})",
            deletion_window_days=args.key_deletion_window_days,
            policy=secrets_key_policy(p),
            alias=secrets_key_alias(p.app),
            alias_resource=f"{name}-alias",
            protect=True,
        )
        # The value [tool.txn-ops] secrets-provider holds (pyproject.toml).
        self.secrets_provider = secrets_provider(p.app, p.region)
        self.register_outputs(
            {"secrets_key_arn": self.key.arn, "secrets_provider": self.secrets_provider}
        )

"""The platform's three customer-managed KMS keys, each with its alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from txn_infra.components.security.key_policies import (
    alarms_key_policy,
    data_key_policy,
    logs_key_policy,
)
from txn_infra.components.security.platform import Platform


@dataclass(frozen=True)
class KeysArgs:
    platform: Platform
    deletion_window_days: int


class PlatformKeys(pulumi.ComponentResource):
    """The data key, the logs key and the alarms key, rotated yearly, each with its alias."""

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:security:PlatformKeys", name, None, opts)
        p = args.platform
        self.data_key = self._key(
            name,
            "data",
            "Tables, queues, the fraud-alerts topic and Lambda environment variables",
            data_key_policy(p),
            args,
        )
        self.logs_key = self._key(
            name, "logs", "Every CloudWatch Logs group of the platform", logs_key_policy(p), args
        )
        self.alarms_key = self._key(
            name,
            "alarms",
            "The alarm topic, for this environment's alarms",
            alarms_key_policy(p),
            args,
        )
        self.register_outputs(
            {
                "data_key_arn": self.data_key.arn,
                "logs_key_arn": self.logs_key.arn,
                "alarms_key_arn": self.alarms_key.arn,
            }
        )

    def _key(
        self, name: str, purpose: str, description: str, policy: dict[str, Any], args: KeysArgs
    ) -> aws.kms.Key:
        p = args.platform
        return rotated_key(
            self,
            f"{name}-{purpose}",
            description=f"{p.prefix} {purpose} key: {description}",
            deletion_window_days=args.deletion_window_days,
            policy=policy,
            alias=f"alias/{p.name(purpose)}",
            alias_resource=f"{name}-{purpose}-alias",
            tags={"Name": p.name(purpose)},
        )


def rotated_key(
    parent: pulumi.Resource,
    resource_name: str,
    *,
    description: str,
    deletion_window_days: int,
    policy: dict[str, Any],
    alias: str,
    alias_resource: str,
    tags: dict[str, str] | None = None,
    protect: bool = False,
) -> aws.kms.Key:
    """A symmetric customer-managed key that rotates yearly, with its alias: every key of the
    platform and of the account bootstrap is one."""
    key = aws.kms.Key(
        resource_name,
        description=description,
        key_usage="ENCRYPT_DECRYPT",
        customer_master_key_spec="SYMMETRIC_DEFAULT",
        enable_key_rotation=True,
        deletion_window_in_days=deletion_window_days,
        policy=pulumi.Output.json_dumps(policy),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    aws.kms.Alias(
        alias_resource,
        name=alias,
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return key

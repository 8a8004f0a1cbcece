"""The permissions boundary of the roles ``security`` creates, one per environment.

Security's deploy role may create those roles and write their inline policies only with this
boundary set (``deploy_grants.yaml``, condition ``iam:PermissionsBoundary``), and it has no
action that changes or removes a boundary or this policy. So whatever it writes into a function
role's policy, the role can do no more than the data plane of its environment (IAM User Guide,
"Permissions boundaries for IAM entities"). The administrators own it, in this project.

One per environment rather than one for the account: when dev and prod share an account, a dev
function role stays capped to dev's tables, queues and topics. Its name is computed
(``naming.role_boundary``), so security names it without reading this stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pulumi
import pulumi_aws as aws

from txn_infra.components.account.documents import role_boundary_statements
from txn_infra.components.security import Platform
from txn_spec.naming import ROLE_BOUNDARY_TAG, role_boundary

BOUNDARY_TAG = dict([ROLE_BOUNDARY_TAG])  # how the policy pack tells it (txn_policies.iam)


@dataclass(frozen=True)
class RoleBoundariesArgs:
    platform: Platform  # the account's (its environment is the region)
    # The environments whose roles are created in this account and region.
    environments: Sequence[str]


class RoleBoundaries(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: RoleBoundariesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:account:RoleBoundaries", name, None, opts)
        self.policies: dict[str, aws.iam.Policy] = {}
        for environment in args.environments:
            p = replace(args.platform, environment=environment)
            self.policies[environment] = aws.iam.Policy(
                f"{name}-{environment}",
                name=role_boundary(p.app, environment),
                description=f"Permissions boundary of the {environment} roles security creates",
                policy=pulumi.Output.json_dumps(
                    {"Version": "2012-10-17", "Statement": role_boundary_statements(p)}
                ),
                tags=BOUNDARY_TAG,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.arns = pulumi.Output.all(**{e: b.arn for e, b in self.policies.items()})
        self.register_outputs({"role_boundary_arns": self.arns})

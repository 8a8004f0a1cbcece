"""One deploy role per layer: what that layer's team (and the repository's workflow) may do.

Each role may change only the resources its layer's program declares, with the actions their
types need (``stacks/account/deploy-permissions.json``, derived from the programs by
``txn_infra.deploy_permissions``), read and write only its own state objects and read its
upstream layers' stacks. ``network``'s role cannot touch a table, a function or another
layer's state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from txn_infra.components.account.documents import (
    deploy_role_trust,
    filled,
    state_statements,
)
from txn_infra.components.security import Platform
from txn_infra.components.security.platform import Statement
from txn_infra.components.security.roles import role_with_policy
from txn_spec import contract
from txn_spec.naming import deploy_role


@dataclass(frozen=True)
class LayerDeployRolesArgs:
    platform: Platform
    permissions: Mapping[str, Sequence[Statement]]  # by layer, with {account}/{region}
    principals: Mapping[str, Sequence[str]]  # by layer: the team's principals
    github_repository: str | None
    github_subjects: Sequence[str]
    state_bucket_arn: pulumi.Input[str]
    state_key_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]


class LayerDeployRoles(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: LayerDeployRolesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:account:LayerDeployRoles", name, None, opts)
        p = args.platform
        self.roles: dict[str, aws.iam.Role] = {}
        for layer_name, layer in contract.LAYERS.items():
            derived = pulumi.Output.from_input(p.account_id).apply(
                lambda account, n=layer_name: filled(args.permissions[n], account, p.region)
            )
            state = state_statements(
                layer.project,
                [contract.layer(u).project for u in layer.upstream],
                args.state_bucket_arn,
                args.state_key_arn,
                args.secrets_key_arn,
            )
            self.roles[layer_name], _ = role_with_policy(
                self,
                f"{name}-{layer_name}",
                deploy_role(p.app, p.region, layer_name),
                f"Deploys the {layer_name} layer of {p.app} in {p.region}",
                deploy_role_trust(
                    p,
                    args.principals.get(layer_name, ()),
                    args.github_repository,
                    args.github_subjects,
                ),
                pulumi.Output.all(derived, state).apply(lambda parts: [*parts[0], *parts[1]]),
                # made by the administrators; the boundary caps the roles these ones create
                permissions_boundary=None,
            )
        self.role_arns = pulumi.Output.all(**{n: r.arn for n, r in self.roles.items()})
        self.register_outputs({"deploy_role_arns": self.role_arns})

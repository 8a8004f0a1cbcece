"""Two roles per layer: one that deploys it, one that only previews it.

Each deploy role may change only the resources its layer's program declares, with the actions
their types need (``stacks/account/deploy-permissions.json``, derived from the programs by
``txn_infra.deploy_permissions``), read and write only its own state objects and read its
upstream layers' stacks. ``network``'s role cannot touch a table, a function or another
layer's state.

Each preview role holds what a ``pulumi preview`` of its layer asks of AWS, and nothing that
writes: its own and its upstream layers' stacks read (``documents.state_read_statements``, which
the deploy role has too), the state and secrets keys' decrypt, and the reads of the provider
functions its program calls (``previews`` in the same file). The jobs that run before any
review (a pull request's preview, prod's preview before the approval) assume it, so what they
run cannot change the account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from txn_infra.components.account.documents import (
    LayerState,
    deploy_role_trust,
    filled,
    state_read_statements,
    state_statements,
)
from txn_infra.components.security import Platform
from txn_infra.components.security.platform import Statement
from txn_infra.components.security.roles import role_with_policy
from txn_spec import contract
from txn_spec.naming import deploy_role, preview_role

StateDocument = Callable[[LayerState], list[Statement]]  # state_statements or ..._read_...


@dataclass(frozen=True)
class LayerRolesArgs:
    platform: Platform
    # by layer, with {account}/{region}: deploy-permissions.json's "layers" for the deploy
    # roles, its "previews" for the preview roles
    permissions: Mapping[str, Sequence[Statement]]
    principals: Mapping[str, Sequence[str]]  # by layer: the team's principals
    github_repository: str | None
    github_subjects: Sequence[str]  # the token subjects of the jobs that assume this kind
    state_bucket_arn: pulumi.Input[str]
    state_key_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]


class LayerDeployRoles(pulumi.ComponentResource):
    def __init__(self, name: str, args: LayerRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:account:LayerDeployRoles", name, None, opts)
        self.roles = _layer_roles(
            self, name, args, deploy_role, state_statements, "Deploys the {layer} layer"
        )
        self.role_arns = pulumi.Output.all(**{n: r.arn for n, r in self.roles.items()})
        self.register_outputs({"deploy_role_arns": self.role_arns})


class LayerPreviewRoles(pulumi.ComponentResource):
    def __init__(self, name: str, args: LayerRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("txn:account:LayerPreviewRoles", name, None, opts)
        self.roles = _layer_roles(
            self,
            name,
            args,
            preview_role,
            state_read_statements,
            "Previews the {layer} layer (reads only)",
        )
        self.role_arns = pulumi.Output.all(**{n: r.arn for n, r in self.roles.items()})
        self.register_outputs({"preview_role_arns": self.role_arns})


def _layer_roles(
    parent: pulumi.Resource,
    name: str,
    args: LayerRolesArgs,
    role_name: Callable[[str, str, str], str],
    state: StateDocument,
    purpose: str,
) -> dict[str, aws.iam.Role]:
    """One role per layer: the layer's derived statements and its ``state`` statements, trusted
    by its team and the repository's workflow for ``args.github_subjects``."""
    p = args.platform
    roles: dict[str, aws.iam.Role] = {}
    for layer_name, layer in contract.LAYERS.items():
        derived = pulumi.Output.from_input(p.account_id).apply(
            lambda account, n=layer_name: filled(args.permissions[n], account, p.region)
        )
        stacks = state(
            LayerState(
                layer.project,
                [contract.layer(u).project for u in layer.upstream],
                args.state_bucket_arn,
                args.state_key_arn,
                args.secrets_key_arn,
            )
        )
        roles[layer_name], _ = role_with_policy(
            parent,
            f"{name}-{layer_name}",
            role_name(p.app, p.region, layer_name),
            f"{purpose.format(layer=layer_name)} of {p.app} in {p.region}",
            deploy_role_trust(
                p,
                args.principals.get(layer_name, ()),
                args.github_repository,
                args.github_subjects,
            ),
            pulumi.Output.all(derived, stacks).apply(lambda parts: [*parts[0], *parts[1]]),
            # made by the administrators; the boundary caps the roles these ones create
            permissions_boundary=None,
        )
    return roles

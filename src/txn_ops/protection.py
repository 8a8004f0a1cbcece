"""Deletion protection, read before a destroy runs.

AWS refuses to delete prod's tables (``data``) and audit log groups (``edge``, ``observability``)
while their deletion protection is on, and says so only when the destroy reaches them, after
the layers above are gone. The destroy refuses up front instead, from the layer's config.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_spec import contract

# The config key, in each layer that has resources to protect.
DELETION_PROTECTION = "deletionProtection"


def protected_layers(root: Path, names: Sequence[str], stack: str) -> list[str]:
    """The chosen layers whose stack config (or project default) keeps deletion protection on,
    in deploy order."""
    return [
        name
        for name in contract.deploy_order(list(names) or None)
        if str(cfg.config_value(root, contract.layer(name), stack, DELETION_PROTECTION)).lower()
        == "true"
    ]


def refuse_protected(root: Path, names: Sequence[str], stack: str) -> None:
    """OpsError ``deletion-protected``, with the steps that lift it, if a chosen layer keeps
    deletion protection on."""
    protected = protected_layers(root, names, stack)
    if not protected:
        return
    unprotect = [
        f"set {contract.layer(n).project}:{DELETION_PROTECTION}: false in "
        f"stacks/{n}/Pulumi.{stack}.yaml"
        for n in protected
    ]
    raise OpsError(
        "deletion-protected",
        f"{', '.join(protected)} keep deletionProtection on in stack {stack}, and AWS refuses "
        f"to delete their resources: {'; '.join(unprotect)}; "
        f"./noxw -s deploy -- --stack {stack} {' '.join(protected)}; then destroy again "
        "(docs/deploy.md, section 8: export what must be kept first)",
    )

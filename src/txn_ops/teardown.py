"""Before a destroy runs: what it refuses, so that it never stops halfway.

A layer another deployed layer still reads is not destroyed before it. And a layer whose
``deletionProtection`` is on (prod) protects its stateful resources with Pulumi's ``protect``
(``txn_infra.layer``), and its tables and audit log groups with AWS's deletion protection.
Either stops a destroy when it reaches them, after the layers above are gone. The destroy
refuses up front instead: from the layer's config (what ``--plan`` can read) and from its
deployed state (what the destroy would meet: a config turned off but not yet deployed still
protects).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_ops.workspace import StackState
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


def refuse_protected(
    root: Path,
    names: Sequence[str],
    stack: str,
    state: Callable[[str], StackState | None],
) -> None:
    """OpsError ``deletion-protected``, with the steps that lift it, when a chosen layer's config
    keeps protection on or its deployed state still holds protected resources."""
    order = contract.deploy_order(list(names) or None)
    configured = protected_layers(root, order, stack)
    held: dict[str, list[str]] = {}
    for name in order:
        current = state(name)
        if current is not None and current.protected:
            held[name] = sorted(current.protected)
    if not configured and not held:
        return
    layers = [n for n in order if n in configured or n in held]
    steps = [
        f"set {contract.layer(n).project}:{DELETION_PROTECTION}: false in "
        f"{contract.layer(n).folder}/Pulumi.{stack}.yaml"
        for n in configured
    ]
    steps.append(f"./noxw -s deploy -- --stack {stack} {' '.join(layers)}")
    deployed = "; ".join(
        f"{n} still holds {len(held[n])}: {', '.join(held[n][:2])}{' ...' * (len(held[n]) > 2)}"
        for n in held
    )
    raise OpsError(
        "deletion-protected",
        f"{', '.join(layers)} keep deletion protection on in stack {stack} (Pulumi's protect, "
        "and AWS's on tables and audit log groups), which would stop the destroy halfway"
        + (f" [{deployed}]" if deployed else "")
        + f": {'; '.join(steps)}; then destroy again (docs/deploy.md, section 8: export what "
        "must be kept first)",
    )


def refuse_downstream(
    names: Sequence[str], stack: str, state: Callable[[str], StackState | None]
) -> None:
    """OpsError ``downstream-deployed`` while a layer reading a chosen one stays deployed,
    naming every such layer and the one command that takes them all; ``downstream-unknown``
    when this run's roles cannot read such a layer's stack to show it gone."""
    chosen = set(names)
    reads: dict[str, list[str]] = {}  # deployed downstream layer -> chosen layers it reads
    for name in names:
        for down in contract.downstream(name):
            if down not in chosen and _deployed(down, stack, state):
                reads.setdefault(down, []).append(name)
    if not reads:
        return
    if len(reads) == 1:
        ((down, ups),) = reads.items()
        which = f"layer {down} reads {', '.join(ups)} and is still deployed"
    else:
        listed = ", ".join(f"{down} (reads {', '.join(ups)})" for down, ups in reads.items())
        which = f"layers {listed} are still deployed"
    every = contract.deploy_order([*reads, *names])
    raise OpsError(
        "downstream-deployed",
        f"{which} in stack {stack}; destroy them first or add them: "
        f"./noxw -s destroy -- --stack {stack} --yes {' '.join(every)}",
    )


def _deployed(name: str, stack: str, state: Callable[[str], StackState | None]) -> bool:
    try:
        current = state(name)
    except OpsError as exc:
        if exc.code != "deploy-role-unreachable":
            raise
        raise OpsError(
            "downstream-unknown",
            f"cannot read layer {name}'s stack {stack} to confirm it is destroyed before what "
            f"it reads: {exc.message}. Ask its owners, or run with a role that may read it",
        ) from None
    return current is not None and current.resource_count > 0

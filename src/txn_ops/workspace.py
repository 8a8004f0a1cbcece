"""The seam between the orchestration and a backend: one layer's stack, read and changed.

:class:`Workspace` is all :mod:`txn_ops.deploy` needs of Pulumi: read a stack's state, preview,
update, destroy. :mod:`txn_ops.pulumi_workspace` implements it with the Automation API; the tests
with an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from txn_spec import contract

# Pulumi operation types that leave a resource as it is.
_UNCHANGED = frozenset({"same", "read"})
_SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "+-"}


@dataclass(frozen=True)
class Changes:
    """Resource operations of one preview, update or destroy, by Pulumi operation type."""

    counts: Mapping[str, int] = field(default_factory=dict)
    # The stack outputs the operation changes (a preview: may change), None when not known.
    outputs: frozenset[str] | None = None
    # "<type> <name> (<op>)" of each resource of txn_infra.protected's types that a preview
    # would replace or delete: what it holds is lost (refused in prod, where they are protected)
    losses: tuple[str, ...] = ()

    @property
    def changed(self) -> int:
        return sum(n for op, n in self.counts.items() if op not in _UNCHANGED)

    def describe(self) -> str:
        parts = [
            f"{_SYMBOLS.get(op, op + ' ')}{n}"
            for op, n in sorted(self.counts.items())
            if op not in _UNCHANGED and n
        ]
        return " ".join(parts) if parts else "none"


@dataclass(frozen=True)
class StackState:
    """A layer's stack as the backend has it."""

    resource_count: int
    outputs: Mapping[str, Any]
    secret_outputs: frozenset[str] = frozenset()
    # "<type> <name>" of each resource a destroy would stop at: Pulumi's protect in the state, or
    # AWS's deletion protection (a table's or log group's deletionProtectionEnabled)
    protected: frozenset[str] = frozenset()

    def missing_outputs(self, layer: contract.Layer) -> list[str]:
        return sorted(layer.outputs - self.outputs.keys())

    def deployed(self, layer: contract.Layer) -> bool:
        """Deployed and current with the contract: resources and every declared output."""
        return self.resource_count > 0 and not self.missing_outputs(layer)


def plan_file(plans_dir: Path, layer: contract.Layer) -> Path:
    """Where ``preview --plans`` saves a layer's update plan and ``deploy --plans`` reads it."""
    return plans_dir / f"{layer.name}.json"


@runtime_checkable
class Workspace(Protocol):
    """One backend's view of the layers' stacks for one stack name (``dev``, ``prod``)."""

    def state(self, layer: contract.Layer, stack: str) -> StackState | None:
        """The stack's state, or None when the stack does not exist."""
        ...

    def preview(
        self, layer: contract.Layer, stack: str, policy_packs: Sequence[Path]
    ) -> Changes: ...

    def up(self, layer: contract.Layer, stack: str, policy_packs: Sequence[Path]) -> Changes: ...

    def destroy(self, layer: contract.Layer, stack: str) -> Changes: ...


class StepFailed(Exception):
    """A Pulumi operation on one layer failed; its own output says why, this says where."""

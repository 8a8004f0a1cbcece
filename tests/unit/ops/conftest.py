"""An in-memory Pulumi backend for the orchestration tests, and a repository laid out like ours.

``FakeWorkspace`` behaves as Pulumi does where the orchestration relies on it: a stack exists
once created, ``up`` records the upstream outputs the program read, and a later preview shows
changes only when the program changed or an upstream layer's outputs moved since (stack
references do not cascade on their own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from txn_ops import settings as cfg
from txn_ops.workspace import Changes, StackState, StepFailed
from txn_spec import contract


@dataclass
class FakeStack:
    resources: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    version: int = 0
    read: dict[str, int] = field(default_factory=dict)  # upstream layer -> version read
    protected: frozenset[str] = frozenset()  # what a destroy would stop at


class FakeWorkspace:
    def __init__(self) -> None:
        self.stacks: dict[tuple[str, str], FakeStack] = {}
        self.program_changed: set[str] = set()
        self.failing: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.policy_packs: list[list[Path]] = []

    # -- test set-up ----------------------------------------------------------------------

    def deploy_all(self, stack: str = "dev", names: Sequence[str] | None = None) -> None:
        """Stacks already deployed and current, as after an earlier full deploy."""
        for name in names or contract.deploy_order():
            self._apply(contract.layer(name), stack)
        self.calls.clear()

    def _apply(self, layer: contract.Layer, stack: str) -> None:
        current = self.stacks.setdefault((layer.name, stack), FakeStack())
        current.version += 1
        current.resources = 5
        current.outputs = {key: f"{layer.name}.{key}.v{current.version}" for key in layer.outputs}
        current.read = {u: self.stacks[(u, stack)].version for u in layer.upstream}
        self.program_changed.discard(layer.name)

    def _pending(self, layer: contract.Layer, stack: str) -> bool:
        current = self.stacks.get((layer.name, stack))
        if current is None or current.resources == 0 or layer.name in self.program_changed:
            return True
        return any(self.stacks[(u, stack)].version != v for u, v in current.read.items())

    # -- the Workspace protocol -------------------------------------------------------------

    def state(self, layer: contract.Layer, stack: str) -> StackState | None:
        current = self.stacks.get((layer.name, stack))
        if current is None:
            return None
        secret = frozenset(layer.secret_outputs & current.outputs.keys())
        return StackState(current.resources, dict(current.outputs), secret, current.protected)

    def preview(self, layer: contract.Layer, stack: str, policy_packs: Sequence[Path]) -> Changes:
        self.calls.append(("preview", layer.name))
        self.policy_packs.append(list(policy_packs))
        if layer.name in self.failing:
            raise StepFailed(f"{layer.name}: preview failed")
        return Changes({"update": 2, "same": 3} if self._pending(layer, stack) else {"same": 5})

    def up(self, layer: contract.Layer, stack: str, policy_packs: Sequence[Path]) -> Changes:
        self.calls.append(("up", layer.name))
        self.policy_packs.append(list(policy_packs))
        if layer.name in self.failing:
            raise StepFailed(f"{layer.name}: resource creation failed")
        if not self._pending(layer, stack):
            return Changes({"same": 5})
        self._apply(layer, stack)
        return Changes({"create": 5})

    def destroy(self, layer: contract.Layer, stack: str) -> Changes:
        self.calls.append(("destroy", layer.name))
        current = self.stacks[(layer.name, stack)]
        deleted, current.resources, current.outputs = current.resources, 0, {}
        return Changes({"delete": deleted})


@pytest.fixture
def fake() -> FakeWorkspace:
    return FakeWorkspace()


def write_layer(root: Path, name: str, org: str | None = None) -> None:
    layer = contract.layer(name)
    folder = root / layer.folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Pulumi.yaml").write_text(
        f"name: {layer.project}\nruntime: python\nconfig:\n  org:\n    type: string\n"
        "    default: organization\n"
    )
    (folder / "__main__.py").write_text("from txn_infra import contract\n")
    stack_config = "config:\n  aws:region: us-east-2\n"
    if org:
        stack_config += f"  {layer.project}:org: {org}\n"
    (folder / "Pulumi.dev.yaml").write_text(stack_config)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with all six layer programs and the deploy settings, nothing else."""
    for name in contract.LAYERS:
        write_layer(tmp_path, name)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.txn-ops]\nbackend-url = "s3://state-bucket?region=us-east-2"\n'
        'secrets-provider = "awskms://alias/txn-pulumi-secrets?region=us-east-2"\n'
    )
    return tmp_path


@pytest.fixture
def settings(repo: Path) -> cfg.Settings:
    return cfg.load(repo, environ={})


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def emit(lines: list[str]) -> Callable[[str], None]:
    return lines.append

"""Which layers a change touches, from a git diff.

- a file under ``stacks/<layer>/`` selects that layer;
- a first-party Python module (``src/``, ``functions/``) selects every layer whose program loads
  it: the static import graph of ``stacks/<layer>/__main__.py``, followed transitively through
  the first-party packages with ``ast`` (a module also loads its packages' ``__init__``), so a
  change to ``components/data.py`` selects ``data`` while ``contract.py`` selects its importers;
- ``functions/`` selects ``compute`` (it bundles the Lambda code), ``api/`` selects ``compute``
  and ``edge`` (the request model and API Gateway's validator come from the OpenAPI document),
  ``pyproject.toml``, ``uv.lock``, ``policies/`` and the modules the policy pack imports select
  every layer (dependencies; the pack gates every preview); ``src/txn_spec/`` also selects
  ``compute``, since every Lambda bundle ships it whole;
- every selected layer brings its downstream layers for preview, since their stack references
  may now resolve to new values.
"""

from __future__ import annotations

import ast
import gc
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from txn_ops.errors import OpsError
from txn_spec import contract

SOURCE_ROOTS = ("src", "functions")
ALL_LAYERS_FILES = ("pyproject.toml", "uv.lock")
# Packages that every Lambda bundle ships whole: a change to any module of theirs changes the
# bundles, even when no stack program imports that module.
BUNDLED_PACKAGES = ("src/txn_spec/",)
POLICY_PACK = "policies"
ALL_LAYERS_DIRS = (POLICY_PACK,)
DIR_RULES: dict[str, tuple[str, ...]] = {
    "functions": ("compute",),
    "api": ("compute", "edge"),
}


@dataclass
class Selection:
    """The layers a set of changed files touches, with the reason for each."""

    changed: dict[str, list[str]] = field(default_factory=dict)  # layer -> why
    downstream: dict[str, list[str]] = field(default_factory=dict)  # layer -> read from
    ignored: list[str] = field(default_factory=list)  # files that touch no layer

    def add(self, layer: str, reason: str) -> None:
        reasons = self.changed.setdefault(layer, [])
        if reason not in reasons:
            reasons.append(reason)

    @property
    def changed_layers(self) -> list[str]:
        return contract.deploy_order(list(self.changed)) if self.changed else []

    @property
    def downstream_layers(self) -> list[str]:
        return contract.deploy_order(list(self.downstream)) if self.downstream else []

    @property
    def layers(self) -> list[str]:
        """Changed and downstream layers together, in deploy order."""
        both = set(self.changed) | set(self.downstream)
        return contract.deploy_order(list(both)) if both else []


class ImportGraph:
    """First-party modules each layer's program loads, found statically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._loads: dict[Path, set[Path]] = {}

    def module_file(self, dotted: str) -> Path | None:
        parts = dotted.split(".")
        for source in SOURCE_ROOTS:
            base = self.root / source / Path(*parts)
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    def _with_packages(self, dotted: str) -> set[Path]:
        """The module's file plus every enclosing package's ``__init__.py``."""
        files: set[Path] = set()
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            found = self.module_file(".".join(parts[:i]))
            if found is not None:
                files.add(found)
        return files

    def _module_name(self, path: Path) -> str | None:
        for source in SOURCE_ROOTS:
            try:
                rel = path.relative_to(self.root / source)
            except ValueError:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts and parts[-1] == "__init__":
                parts.pop()
            return ".".join(parts)
        return None

    def direct(self, path: Path) -> set[Path]:
        """First-party files that importing ``path`` loads directly."""
        if path in self._loads:
            return self._loads[path]
        self._loads[path] = set()  # guards import cycles
        tree = _parse(path)
        own = self._module_name(path)
        is_package = path.name == "__init__.py"
        package = (own or "") if is_package else (own or "").rpartition(".")[0]
        found: set[Path] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found |= self._with_packages(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = self._resolve_from(node, package)
                if base is None:
                    continue
                found |= self._with_packages(base)
                for alias in node.names:  # ``from pkg import module``
                    sub = self.module_file(f"{base}.{alias.name}")
                    if sub is not None:
                        found.add(sub)
        self._loads[path] = found
        return found

    @staticmethod
    def _resolve_from(node: ast.ImportFrom, package: str) -> str | None:
        if node.level == 0:
            return node.module
        parts = package.split(".") if package else []
        if node.level - 1 > len(parts):
            return None
        anchor = parts[: len(parts) - (node.level - 1)]
        return ".".join([*anchor, node.module] if node.module else anchor) or None

    def closure(self, entry: Path) -> set[Path]:
        seen: set[Path] = set()
        frontier = [entry]
        while frontier:
            current = frontier.pop()
            for dep in self.direct(current):
                if dep not in seen:
                    seen.add(dep)
                    frontier.append(dep)
        return seen

    def layer_modules(self) -> dict[str, set[str]]:
        """Per layer with a program: the repo-relative first-party files it loads."""
        result: dict[str, set[str]] = {}
        for name, layer in contract.LAYERS.items():
            program = self.root / layer.folder / "__main__.py"
            if program.is_file():
                result[name] = {p.relative_to(self.root).as_posix() for p in self.closure(program)}
        return result


def _parse(path: Path) -> ast.Module:
    """``ast.parse`` with the garbage collector paused.

    CPython 3.11 keeps one AST recursion counter per interpreter: a finalizer that runs during
    the conversion and parses too (an asyncio "exception was never retrieved" log formats a
    traceback, which parses source lines) fails the outer parse with "AST constructor recursion
    depth mismatch". Without a collection mid-parse no finalizer runs.
    """
    source = path.read_text()
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename=str(path))
    finally:
        if enabled:
            gc.enable()


def select(paths: Iterable[str], root: Path) -> Selection:
    """The layers that the changed ``paths`` (repo-relative, POSIX) touch."""
    selection = Selection()
    loads: dict[str, set[str]] | None = None
    every = list(contract.LAYERS)
    for raw in sorted(set(paths)):
        path = PurePosixPath(raw)
        top = path.parts[0] if path.parts else ""
        if top == "stacks" and len(path.parts) > 2 and path.parts[1] in contract.LAYERS:
            selection.add(path.parts[1], raw)
        elif raw in ALL_LAYERS_FILES or top in ALL_LAYERS_DIRS:
            for name in every:
                selection.add(name, raw)
        elif top in SOURCE_ROOTS and _package_file(path):
            if loads is None:
                loads = _entry_points(root)
            hit = _importers(raw, loads)
            if POLICY_PACK in hit:  # the pack gates every layer's preview
                hit = set(every)
            for name in DIR_RULES.get(top, ()):
                hit.add(name)
            if raw.startswith(BUNDLED_PACKAGES):
                hit.update(DIR_RULES["functions"])
            for name in hit:
                selection.add(name, raw)
            if not hit:
                selection.ignored.append(raw)
        elif top in DIR_RULES:
            for name in DIR_RULES[top]:
                selection.add(name, raw)
        else:
            selection.ignored.append(raw)
    for name in list(selection.changed):
        for down in contract.downstream(name):
            if down not in selection.changed:
                reads = selection.downstream.setdefault(down, [])
                reads.append(name)
    return selection


def _entry_points(root: Path) -> dict[str, set[str]]:
    """What each layer program loads, plus what the policy pack's program loads."""
    graph = ImportGraph(root)
    loads = graph.layer_modules()
    pack = root / POLICY_PACK / "__main__.py"
    if pack.is_file():
        loads[POLICY_PACK] = {p.relative_to(root).as_posix() for p in graph.closure(pack)}
    return loads


def _package_file(path: PurePosixPath) -> bool:
    """Inside a Python package of a source root (``src/txn_infra/...``), not a loose file."""
    return len(path.parts) > 2


def _importers(raw: str, loads: dict[str, set[str]]) -> set[str]:
    path = PurePosixPath(raw)
    if path.suffix == ".py":
        return {name for name, files in loads.items() if raw in files}
    # A data file in a package: whoever loads any module of that package folder.
    folder = path.parent.as_posix() + "/"
    return {name for name, files in loads.items() if any(f.startswith(folder) for f in files)}


def changed_files(base: str, head: str, root: Path) -> list[str]:
    """Files changed between the merge base of ``base`` and ``head``, and ``head``."""
    command = ["git", "-C", str(root), "diff", "--name-only", "--no-renames", f"{base}...{head}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise OpsError("git-missing", "git is not installed or not on PATH") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["git diff failed"])[0]
        raise OpsError(
            "git-ref-unknown",
            f"cannot diff {base}...{head} ({detail}); fetch the base first (in GitHub Actions: "
            "actions/checkout with fetch-depth: 0)",
        )
    return [line for line in done.stdout.splitlines() if line]


def describe(selection: Selection, header: str) -> list[str]:
    """A human-readable account of the selection, one line per layer."""
    lines = [header]
    if not selection.layers:
        lines.append("  no layer is touched")
    for name in selection.layers:
        if name in selection.changed:
            why = selection.changed[name]
            more = f" (+{len(why) - 3} more)" if len(why) > 3 else ""
            lines.append(f"  {name:<14} changed: {', '.join(why[:3])}{more}")
        else:
            reads = ", ".join(selection.downstream[name])
            lines.append(f"  {name:<14} downstream of {reads}: preview")
    if selection.ignored:
        lines.append(f"  files that touch no layer: {len(selection.ignored)}")
    return lines


def names(selection: Selection, changed_only: bool) -> Sequence[str]:
    return selection.changed_layers if changed_only else selection.layers

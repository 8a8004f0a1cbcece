"""Who must review a change: the repository's CODEOWNERS, matched as GitHub matches it.

The ``codeowners`` library applies GitHub's rules (gitignore-style patterns, the last matching
line wins), so what ``txn_ops affected`` prints is what a pull request will ask for.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from codeowners import CodeOwners

from txn_ops.errors import OpsError

CODEOWNERS = Path(".github") / "CODEOWNERS"


def load(root: Path) -> CodeOwners:
    path = root / CODEOWNERS
    if not path.is_file():
        raise OpsError("codeowners-missing", f"no {CODEOWNERS} under {root}: nobody owns anything")
    return CodeOwners(path.read_text())


def of(rules: CodeOwners, path: str) -> tuple[str, ...]:
    """The owners GitHub asks to review ``path`` (repo-relative, POSIX)."""
    return tuple(name for _, name in rules.of(path))


def to_ask(paths: Iterable[str], root: Path) -> dict[str, list[str]]:
    """Each owner of the changed ``paths`` with the files that need them, owners sorted."""
    rules = load(root)
    asked: dict[str, list[str]] = {}
    for path in sorted(set(paths)):
        for owner in of(rules, path):
            asked.setdefault(owner, []).append(path)
    return dict(sorted(asked.items()))

"""Every relative link in the repository's Markdown reaches a file that exists and, where it
names an anchor in a Markdown file, a heading of that file (as GitHub renders the anchors)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.md"],  # noqa: S607 - git from PATH, as the tests' other git calls
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [ROOT / name for name in listed]


def _lines_outside_code(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case; letters, digits, ``-`` and ``_`` kept, spaces
    as hyphens, every other character dropped (inline code and links by their text)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    return "".join(c for c in text if c.isalnum() or c in "-_ ").replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in _lines_outside_code(path.read_text()):
        if match := HEADING.match(line):
            base = slug(match.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links() -> list[str]:
    broken = []
    for source in markdown_files():
        text = "\n".join(_lines_outside_code(source.read_text()))
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            path = (source.parent / path_part).resolve() if path_part else source
            where = f"{source.relative_to(ROOT)}: {target}"
            if not path.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{where} (no such heading)")
    return broken


def test_the_slug_is_githubs() -> None:
    assert slug("Fraud from the first day (`rules_version` 2026-12-07.2, ADR 0020)") == (
        "fraud-from-the-first-day-rules_version-2026-12-072-adr-0020"
    )
    assert slug("Cold start (`./noxw -s bench`, section 4)") == "cold-start-noxw--s-bench-section-4"


def test_every_relative_link_reaches_a_file_and_heading() -> None:
    assert len(markdown_files()) > 20  # the walk found the docs
    assert broken_links() == []

"""docs/pci-dss.md names only tests and policy-pack rules that exist, and links only what exists.

The responsibility matrix is evidence for an assessor, so a renamed test or a dropped rule must
fail here rather than leave the document pointing at nothing. Its conventions (stated at the
top of the document):

- a test is backticked as ``tests/<path>.py::<test>`` (``::<Class>::<test>`` inside a class; a
  parametrised test by its function's name, ``[...]`` ignored);
- a policy-pack rule is backticked as ``pack:<id>``, ``<id>`` one of
  ``txn_policies.rules.POLICIES``, and followed by `` (advisory)`` exactly when the rule is
  advisory (does not block a deployment); a rule id backticked without ``pack:`` is refused, so
  every rule the document cites is checked;
- a ``<placeholder>`` (the conventions as the document states them) is no reference.

Its links are checked with every other Markdown file's (tests/unit/test_docs_links.py).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from txn_policies.rules import POLICIES

ROOT = Path(__file__).resolve().parents[2]
MATRIX = ROOT / "docs" / "pci-dss.md"

CODE = re.compile(r"`([^`\n]+)`")
TEST_REF = re.compile(r"^(tests/[\w/]+\.py)((?:::\w+)*)(?:\[[^\]]*\])?$")
PACK_REF = re.compile(r"`pack:([^`\s<]+)`( \(advisory\))?")


@cache
def _tests_in(path: Path) -> frozenset[str]:
    """``name`` of every module-level test function and ``Class::name`` of every test method."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            found.add(node.name)
        elif isinstance(node, ast.ClassDef):
            found.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                and item.name.startswith("test")
            )
    return frozenset(found)


def cited_tests(text: str) -> list[str]:
    """Every backticked ``tests/...``: a test, or a whole test file."""
    return [code for code in CODE.findall(text) if code.startswith("tests/") and "<" not in code]


def unknown_tests(text: str) -> list[str]:
    """Every ``tests/...py::name`` in ``text`` that names no test function of that file, and
    every ``tests/...py`` that names no file."""
    problems = []
    for ref in cited_tests(text):
        match = TEST_REF.match(ref)
        if not match:
            problems.append(f"{ref}: not tests/<path>.py or tests/<path>.py::<test>")
            continue
        path = ROOT / match.group(1)
        if not path.is_file():
            problems.append(f"{ref}: no such file")
        elif match.group(2) and match.group(2)[2:] not in _tests_in(path):
            problems.append(f"{ref}: no such test in {match.group(1)}")
    return problems


def cited_rules(text: str) -> list[tuple[str, bool]]:
    """(rule id, marked advisory) of every ``pack:<id>`` in ``text``."""
    return [(rule, bool(advisory)) for rule, advisory in PACK_REF.findall(text)]


def unknown_rules(text: str) -> list[str]:
    """Every ``pack:<id>`` that is no policy of the pack or whose advisory mark is wrong, and
    every policy id backticked without ``pack:`` (so the check cannot miss it)."""
    policies = {p.name: p for p in POLICIES}
    problems = []
    for rule, marked_advisory in cited_rules(text):
        policy = policies.get(rule)
        if policy is None:
            problems.append(f"pack:{rule}: no such policy in txn_policies.rules.POLICIES")
        elif marked_advisory != (policy.enforcement == "advisory"):
            problems.append(
                f"pack:{rule}: the pack makes it {policy.enforcement}; write "
                f"`pack:{rule}`{' (advisory)' if policy.enforcement == 'advisory' else ''}"
            )
    problems.extend(
        f"`{code}`: a pack rule is written `pack:{code}`"
        for code in CODE.findall(text)
        if code in policies
    )
    return problems


def test_every_test_the_matrix_cites_exists() -> None:
    text = MATRIX.read_text()
    assert len(cited_tests(text)) > 20  # the convention is still the one parsed here
    assert unknown_tests(text) == []


def test_every_pack_rule_the_matrix_cites_exists_with_its_enforcement() -> None:
    text = MATRIX.read_text()
    assert len(cited_rules(text)) > 15
    assert unknown_rules(text) == []


def test_a_made_up_test_or_rule_is_reported() -> None:
    real_file = "tests/stacks/test_edge.py"
    text = (
        f"`{real_file}::test_no_such_test` `tests/stacks/test_no_such_file.py::test_x` "
        "`tests/unit/no_such_file.py` `tests/unit/functions/test_validation.py::"
        "test_given_a_bin_of_6_to_8_digits_then_only_the_first_six_are_kept[8]` "
        "`pack:no-such-rule` `pack:lambda-env-cmk` `pack:api-stage-waf` (advisory) "
        "`api-stage-waf`"
    )
    assert unknown_tests(text) == [
        f"{real_file}::test_no_such_test: no such test in {real_file}",
        "tests/stacks/test_no_such_file.py::test_x: no such file",
        "tests/unit/no_such_file.py: no such file",
    ]  # the parametrised test is found by its function's name
    assert unknown_rules(text) == [
        "pack:no-such-rule: no such policy in txn_policies.rules.POLICIES",
        "pack:lambda-env-cmk: the pack makes it advisory; write `pack:lambda-env-cmk` (advisory)",
        "pack:api-stage-waf: the pack makes it mandatory; write `pack:api-stage-waf`",
        "`api-stage-waf`: a pack rule is written `pack:api-stage-waf`",
    ]

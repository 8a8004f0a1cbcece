"""The whole pack: each policy has a case, a requirement, a reason for its level, a unique name.

The cases live in one module per section; a new section's module joins ``SECTION_TESTS``.
"""

from __future__ import annotations

from tests.unit.policies.rules import (
    test_api,
    test_cross_resource,
    test_dynamodb,
    test_encryption,
    test_iam,
    test_lambda_functions,
    test_log_retention,
    test_network,
)
from txn_policies import rules
from txn_policies.rules.model import PCI

SECTION_TESTS = (
    test_encryption,
    test_dynamodb,
    test_network,
    test_lambda_functions,
    test_log_retention,
    test_iam,
    test_api,
    test_cross_resource,
)


def test_every_policy_has_a_case() -> None:
    cases = [case for module in SECTION_TESTS for case in module.CASES]
    assert {c.policy for c in cases} == {p.name for p in rules.POLICIES}


def test_every_policy_names_a_requirement_and_a_reason_for_its_level() -> None:
    for policy in rules.POLICIES:
        assert policy.requirements, policy.name
        assert all(r.startswith((PCI, "mission:")) for r in policy.requirements)
        assert policy.reason.startswith(f"{policy.enforcement}:"), policy.name
        assert policy.remediation


def test_policy_names_are_unique() -> None:
    names = [p.name for p in rules.POLICIES]
    assert len(names) == len(set(names))

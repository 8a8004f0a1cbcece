"""Evaluate the policies over a set of resources and summarise the outcome per policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from txn_policies.rules import POLICIES
from txn_policies.rules.model import Policy, Violation
from txn_policies.view import ResourceView, UnknownValueError

Outcome = Literal["pass", "fail", "warn", "n/a", "unknown"]


@dataclass(frozen=True)
class PolicyResult:
    policy: Policy
    checked: int
    violations: tuple[Violation, ...]
    unknown: str | None = None  # why the check could not run (a value unknown until update)

    @property
    def outcome(self) -> Outcome:
        if self.unknown is not None:
            return "unknown"
        if self.violations:
            return "fail" if self.policy.enforcement == "mandatory" else "warn"
        return "pass" if self.checked else "n/a"

    @property
    def blocking(self) -> bool:
        return self.outcome == "fail"


def evaluate(
    resources: Sequence[ResourceView], policies: Sequence[Policy] = POLICIES
) -> list[PolicyResult]:
    results = []
    for candidate in policies:
        checked = sum(1 for r in resources if candidate.applies_to(r))
        try:
            violations = tuple(candidate.evaluate(resources))
        except UnknownValueError as exc:
            results.append(PolicyResult(candidate, checked, (), unknown=str(exc)))
            continue
        results.append(PolicyResult(candidate, checked, violations))
    return results


def blocking(results: Sequence[PolicyResult]) -> list[Violation]:
    return [v for r in results if r.blocking for v in r.violations]

"""Every policy against a resource that satisfies it and one that violates it.

GIVEN small synthetic resources with the provider's camelCase property names (what both
CrossGuard and the offline run see) WHEN a policy evaluates them THEN the satisfying set yields
nothing and the violating set yields a message naming the problem and the fix.

Each section of ``txn_policies.rules`` has its module of cases here; this file holds the
resource factories and the two assertions they share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from txn_policies import rules
from txn_policies.rules.model import FUNCTION
from txn_policies.view import ResourceView, urn_of

ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:us-east-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
QUEUE_ARN = f"arn:aws:sqs:us-east-2:{ACCOUNT}:txn-dev-transactions"


def res(type_: str, logical: str = "r", deps: dict[str, set[str]] | None = None, **props: Any):
    return ResourceView(
        type_,
        logical,
        urn_of(type_, logical),
        props,
        {k: frozenset(v) for k, v in (deps or {}).items()},
    )


def function(name: str = "txn-dev-fraud-detector", **props: Any) -> ResourceView:
    defaults: dict[str, Any] = {
        "name": name,
        "arn": f"arn:aws:lambda:us-east-2:{ACCOUNT}:function:{name}",
        "timeout": 50,
        "vpcConfig": {
            "subnetIds": ["subnet-a", "subnet-b", "subnet-c"],
            "securityGroupIds": ["sg"],
        },
        "tracingConfig": {"mode": "Active"},
    }
    return res(FUNCTION, name, **{**defaults, **props})


@dataclass(frozen=True)
class Case:
    policy: str
    good: list[ResourceView]
    bad: list[ResourceView]
    says: str  # a phrase the violation message must contain


def case_id(case: Case) -> str:
    return f"{case.policy}:{case.says[:30]}"


def passes(case: Case) -> None:
    assert rules.by_name(case.policy).evaluate(case.good) == []


def fails_with_the_fix(case: Case) -> None:
    violations = rules.by_name(case.policy).evaluate(case.bad)
    assert violations, f"{case.policy} accepted {case.bad}"
    assert any(case.says in v.message for v in violations), [v.message for v in violations]
    assert all("fix" in v.message or case.policy == "iam-parliament-hygiene" for v in violations)

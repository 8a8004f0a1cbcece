"""Log retention: function logs 30 days, audit logs 365 days or more."""

from __future__ import annotations

import pytest

from tests.unit.policies.rules.conftest import Case, case_id, fails_with_the_fix, passes, res
from txn_policies.rules.model import LOG_GROUP

CASES = [
    Case(
        "function-log-retention",
        [res(LOG_GROUP, name="/aws/lambda/f", retentionInDays=30)],
        [res(LOG_GROUP, name="/aws/lambda/f", retentionInDays=14)],
        "retention_in_days=30",
    ),
    Case(
        "function-log-retention",
        [res(LOG_GROUP, name="/txn/dev/api-access", retentionInDays=400)],
        [res(LOG_GROUP, name="/aws/lambda/f")],
        "never expires",
    ),
    Case(
        "audit-log-retention",
        [res(LOG_GROUP, name="aws-waf-logs-txn-dev-waf", retentionInDays=365)],
        [res(LOG_GROUP, name="/txn/dev/api-access", retentionInDays=90)],
        ">= 365",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)

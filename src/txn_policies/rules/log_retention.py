"""Log retention: function logs exactly 30 days (mission), audit logs 365 days or more."""

from __future__ import annotations

from collections.abc import Iterator

from txn_policies.rules.model import LOG_GROUP, PCI, policy
from txn_policies.view import ResourceView, get, whole

FUNCTION_LOG_RETENTION_DAYS = 30
AUDIT_LOG_RETENTION_DAYS = 365


def _is_function_log_group(group: ResourceView) -> bool:
    name = group.props.get("name")
    return isinstance(name, str) and name.startswith("/aws/lambda/")


@policy(
    name="function-log-retention",
    description="Function log groups keep logs exactly 30 days.",
    requirements=("mission: function logs 30 d",),
    enforcement="mandatory",
    reason="mandatory: the mission fixes 30 days for operational function logs; audit trails "
    "(API access, WAF, flow logs) carry the 12-month requirement instead (audit-log-retention).",
    remediation="set retention_in_days=30 on /aws/lambda/* log groups",
    types=(LOG_GROUP,),
)
def _function_log_retention(group: ResourceView) -> Iterator[str]:
    if not _is_function_log_group(group):
        return
    days = get(group.props, "retentionInDays")
    if days != FUNCTION_LOG_RETENTION_DAYS:
        shown = "never expires" if days in (None, 0) else f"keeps {days} days"
        yield f"{shown}; fix: retention_in_days={FUNCTION_LOG_RETENTION_DAYS}"


@policy(
    name="audit-log-retention",
    description="Audit log groups (API access, WAF, flow logs: all but /aws/lambda/*) keep logs "
    "at least 365 days, set explicitly.",
    requirements=(f"{PCI} 10.5.1",),
    enforcement="mandatory",
    reason="mandatory: 10.5.1 requires audit log history for at least 12 months.",
    remediation="set retention_in_days >= 365 on audit log groups",
    types=(LOG_GROUP,),
)
def _audit_log_retention(group: ResourceView) -> Iterator[str]:
    if _is_function_log_group(group):
        return
    days = whole(get(group.props, "retentionInDays"))
    if days is None or days == 0:
        yield "has no explicit retention; fix: retention_in_days >= 365 (a recorded decision)"
    elif days < AUDIT_LOG_RETENTION_DAYS:
        yield f"keeps {days} days; fix: retention_in_days >= {AUDIT_LOG_RETENTION_DAYS}"

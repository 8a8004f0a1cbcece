"""Adapt the rules into CrossGuard policies (``pulumi_policy``) for a real preview.

Only ``policies/__main__.py`` builds the ``PolicyPack`` (constructing one starts the analyzer
server); everything here can be imported and tested. CrossGuard hands properties as proxies
that raise on values unknown during preview; :func:`view_of` copies them into plain data with
the ``UNKNOWN`` marker instead, and a check that needs such a value raises our
``UnknownValueError``, which becomes the SDK's own, so Pulumi reports "can't run during
preview" rather than a false result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import proxy as sdk_proxy

from txn_policies import rules
from txn_policies.rules.model import PCI, Policy
from txn_policies.view import UNKNOWN, ResourceView, UnknownValueError

_SENTINELS = frozenset(
    {
        sdk_proxy.UNKNOWN_BOOLEAN_VALUE,
        sdk_proxy.UNKNOWN_NUMBER_VALUE,
        sdk_proxy.UNKNOWN_STRING_VALUE,
        sdk_proxy.UNKNOWN_ARRAY_VALUE,
        sdk_proxy.UNKNOWN_ASSET_VALUE,
        sdk_proxy.UNKNOWN_ARCHIVE_VALUE,
        sdk_proxy.UNKNOWN_OBJECT_VALUE,
    }
)
PCI_FRAMEWORK = PolicyComplianceFramework(name="PCI DSS", version="4.0")
ENFORCEMENT = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


def unwrap(value: Any) -> Any:
    """Plain dicts and lists from CrossGuard's proxies, unknowns as ``UNKNOWN`` (never raises)."""
    if isinstance(value, Mapping):
        target = value["__target"] if isinstance(value, sdk_proxy._DictProxy) else value
        return {str(k): unwrap(v) for k, v in dict(target).items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        target = value["__target"] if isinstance(value, sdk_proxy._ListProxy) else value
        return [unwrap(v) for v in list(target)]
    if isinstance(value, str) and value in _SENTINELS:
        return UNKNOWN
    return value


def view_of(
    type_: str,
    name: str,
    urn: str,
    props: Mapping[str, Any],
    property_dependencies: Mapping[str, Sequence[Any]] | None = None,
) -> ResourceView:
    deps = {
        key: frozenset(getattr(r, "urn", r) for r in resources)
        for key, resources in (property_dependencies or {}).items()
    }
    return ResourceView(type_, name, urn, unwrap(props), deps)


def _report(policy: Policy, views: list[ResourceView], report_violation: ReportViolation) -> None:
    try:
        violations = policy.evaluate(views)
    except UnknownValueError as exc:
        raise sdk_proxy.UnknownValueError(
            sdk_proxy.UNKNOWN_STRING_VALUE, exc.path.split(".")
        ) from exc
    for violation in violations:
        urn = violation.resource.urn if violation.resource else None
        report_violation(f"{violation.message} [{policy.remediation}]", urn)


def _resource_validator(policy: Policy):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type in policy.resource_types:
            view = view_of(args.resource_type, args.name, args.urn, args.props)
            _report(policy, [view], report_violation)

    return validate


def _stack_validator(policy: Policy):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        views = [
            view_of(r.resource_type, r.name, r.urn, r.props, r.property_dependencies)
            for r in args.resources
        ]
        _report(policy, views, report_violation)

    return validate


def _common(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "description": (f"{policy.description} [{'; '.join(policy.requirements)}] {policy.reason}"),
        "enforcement_level": ENFORCEMENT[policy.enforcement],
        "framework": PCI_FRAMEWORK if any(r.startswith(PCI) for r in policy.requirements) else None,
        "tags": [*policy.requirements, policy.enforcement],
        "remediation_steps": policy.remediation,
    }


def crossguard_policies(
    policies: Sequence[Policy] = rules.POLICIES,
) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """One CrossGuard policy per rule, with its enforcement level and PCI framework tag."""
    return [
        ResourceValidationPolicy(validate=_resource_validator(policy), **_common(policy))
        if policy.scope == "resource"
        else StackValidationPolicy(validate=_stack_validator(policy), **_common(policy))
        for policy in policies
    ]

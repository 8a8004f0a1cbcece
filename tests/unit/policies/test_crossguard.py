"""The CrossGuard adapter: policy objects built without a server, fed the way the CLI feeds them.

No ``PolicyPack`` is constructed here (that starts the analyzer server); the validation
callbacks get ``ResourceValidationArgs`` / ``StackValidationArgs`` whose props are wrapped in the
SDK's unknown-checking proxy, exactly as ``pulumi preview --policy-pack`` delivers them.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from txn_policies.crossguard import crossguard_policies, unwrap
from txn_policies.rules import POLICIES, model
from txn_policies.view import UNKNOWN

OPTS = PolicyResourceOptions(
    protect=False,
    ignore_changes=[],
    delete_before_replace=None,
    aliases=[],
    additional_secret_outputs=[],
    custom_timeouts=None,
)
STAGE_ARN = "arn:aws:apigateway:us-east-2::/restapis/abc/stages/v1"


@pytest.fixture(scope="module")
def built() -> dict[str, ResourceValidationPolicy | StackValidationPolicy]:
    return {p.name: p for p in crossguard_policies()}


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::txn-data::{type_}::{name}"


def resource_args(type_: str, name: str, props: dict[str, Any]) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        type_, unknown_checking_proxy(props), urn(type_, name), name, OPTS, None
    )


def stack_resource(type_: str, name: str, props: dict[str, Any], deps=None) -> PolicyResource:
    return PolicyResource(
        type_,
        unknown_checking_proxy(props),
        urn(type_, name),
        name,
        OPTS,
        None,
        None,
        [],
        deps or {},
    )


def run(policy, args) -> list[tuple[str, str | None]]:
    reported: list[tuple[str, str | None]] = []
    policy.validate(args, lambda message, urn=None: reported.append((message, urn)))
    return reported


def test_one_crossguard_policy_per_rule_with_its_level(built) -> None:
    assert list(built) == [p.name for p in POLICIES]
    for rule in POLICIES:
        policy = built[rule.name]
        expected = ResourceValidationPolicy if rule.scope == "resource" else StackValidationPolicy
        assert isinstance(policy, expected)
        level = (
            EnforcementLevel.MANDATORY
            if rule.enforcement == "mandatory"
            else (EnforcementLevel.ADVISORY)
        )
        assert policy.enforcement_level is level
        assert all(r in policy.tags for r in rule.requirements)


def test_resource_policy_reports_a_violation_on_the_resource(built) -> None:
    args = resource_args(model.TABLE, "transactions", {"pointInTimeRecovery": {"enabled": False}})
    ((message, where),) = run(built["dynamodb-point-in-time-recovery"], args)
    assert where == urn(model.TABLE, "transactions")
    assert "point-in-time recovery off" in message
    assert "point_in_time_recovery" in message


def test_resource_policy_ignores_other_types(built) -> None:
    args = resource_args(model.QUEUE, "q", {})
    assert run(built["dynamodb-point-in-time-recovery"], args) == []


def test_resource_policy_passes_a_compliant_resource(built) -> None:
    args = resource_args(model.QUEUE, "q", {"kmsMasterKeyId": "arn:aws:kms:us-east-2:1:key/k"})
    assert run(built["sqs-cmk-encryption"], args) == []


def test_an_unknown_value_becomes_the_sdks_cannot_run_during_preview(built) -> None:
    mapping = stack_resource(
        model.EVENT_SOURCE_MAPPING, "esm", {"eventSourceArn": UNKNOWN_STRING_VALUE}
    )
    with pytest.raises(UnknownValueError) as raised:
        run(built["esm-concurrency-within-reserved"], StackValidationArgs([mapping]))
    assert raised.value.message == "string value at .eventSourceArn can't be known during preview"


def test_stack_policy_pairs_by_dependency_while_the_arn_is_unknown(built) -> None:
    stage = stack_resource(model.STAGE, "stage", {"arn": UNKNOWN_STRING_VALUE})
    association = stack_resource(
        model.WEB_ACL_ASSOCIATION,
        "waf",
        {"resourceArn": UNKNOWN_STRING_VALUE},
        deps={"resourceArn": [stage]},
    )
    assert run(built["api-stage-waf"], StackValidationArgs([stage, association])) == []
    ((message, where),) = run(built["api-stage-waf"], StackValidationArgs([stage]))
    assert where == urn(model.STAGE, "stage")
    assert "no WAF web ACL association" in message


def test_unwrap_turns_proxies_into_plain_data_with_unknown_markers() -> None:
    proxied = unknown_checking_proxy({"a": [{"b": UNKNOWN_STRING_VALUE}], "c": "x"})
    assert unwrap(proxied) == {"a": [{"b": UNKNOWN}], "c": "x"}


def test_numbers_arrive_as_floats_and_still_compare(built) -> None:
    fraud = "txn-dev-fraud-detector"
    function = stack_resource(
        model.FUNCTION,
        "fraud",
        {"name": fraud, "timeout": 50.0, "reservedConcurrentExecutions": 100.0},
    )
    mapping = stack_resource(
        model.EVENT_SOURCE_MAPPING,
        "esm",
        {
            "eventSourceArn": "arn:aws:sqs:us-east-2:123456789012:txn-dev-transactions",
            "functionName": fraud,
            "scalingConfig": {"maximumConcurrency": 100.0},
        },
    )
    stack = StackValidationArgs([function, mapping])
    assert run(built["esm-concurrency-within-reserved"], stack) == []
    assert run(built["sqs-visibility-covers-consumer"], stack) == []
    audit = resource_args(
        model.LOG_GROUP, "waf", {"name": "aws-waf-logs-x", "retentionInDays": 365.0}
    )
    assert run(built["audit-log-retention"], audit) == []

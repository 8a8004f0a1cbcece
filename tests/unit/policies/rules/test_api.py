"""API Gateway and WAF: tracing and access logs, no data trace, API keys, a web ACL."""

from __future__ import annotations

import json

import pytest

from tests.unit.policies.rules.conftest import (
    ACCOUNT,
    Case,
    case_id,
    fails_with_the_fix,
    passes,
    res,
)
from txn_policies.rules import METHOD, METHOD_SETTINGS, STAGE, WEB_ACL_ASSOCIATION
from txn_policies.rules.api import _ACCESS_LOG_FIELDS
from txn_policies.view import UNKNOWN, urn_of

STAGE_ARN = "arn:aws:apigateway:us-east-2::/restapis/abc123/stages/v1"


CASES = [
    Case(
        "api-stage-tracing-and-access-logs",
        [
            res(
                STAGE,
                xrayTracingEnabled=True,
                accessLogSettings={"destinationArn": "arn:log", "format": "{}"},
            )
        ],
        [res(STAGE, xrayTracingEnabled=False)],
        "xray_tracing_enabled=True",
    ),
    Case(
        "api-access-log-fields",
        [
            res(
                STAGE,
                accessLogSettings={
                    "format": json.dumps({f: f for f in _ACCESS_LOG_FIELDS}),
                },
            )
        ],
        [res(STAGE, accessLogSettings={"format": '{"id":"$context.requestId"}'})],
        "$context.identity.sourceIp",
    ),
    Case(
        "api-no-data-trace",
        [res(METHOD_SETTINGS, settings={"dataTraceEnabled": False, "loggingLevel": "INFO"})],
        [res(METHOD_SETTINGS, settings={"dataTraceEnabled": True})],
        "data_trace_enabled=False",
    ),
    Case(
        "api-methods-require-api-key",
        [res(METHOD, httpMethod="POST", apiKeyRequired=True), res(METHOD, httpMethod="OPTIONS")],
        [res(METHOD, httpMethod="POST", apiKeyRequired=False)],
        "api_key_required=True",
    ),
    Case(
        "api-stage-waf",
        [res(STAGE, "stage", arn=STAGE_ARN), res(WEB_ACL_ASSOCIATION, resourceArn=STAGE_ARN)],
        [res(STAGE, "stage", arn=STAGE_ARN)],
        "no WAF web ACL association",
    ),
    Case(
        "api-stage-waf",
        # During a first preview the stage ARN is unknown: pair through the dependency.
        [
            res(STAGE, "stage", arn=UNKNOWN),
            res(
                WEB_ACL_ASSOCIATION,
                resourceArn=UNKNOWN,
                deps={"resourceArn": {urn_of(STAGE, "stage")}},
            ),
        ],
        [
            res(STAGE, "stage", arn=STAGE_ARN),
            res(
                WEB_ACL_ASSOCIATION,
                resourceArn=f"arn:aws:execute-api:us-east-2:{ACCOUNT}:abc123/v1",
            ),
        ],
        "execution ARN",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_satisfying_resources_pass(case: Case) -> None:
    passes(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_violating_resources_fail_with_the_fix(case: Case) -> None:
    fails_with_the_fix(case)

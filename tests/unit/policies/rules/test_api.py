"""API Gateway and WAF: TLS 1.2+, tracing and access logs, no data trace, API keys, a web ACL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.policies.rules.conftest import (
    ACCOUNT,
    Case,
    case_id,
    fails_with_the_fix,
    passes,
    res,
)
from txn_policies.rules.api import _ACCESS_LOG_FIELDS
from txn_policies.rules.model import (
    GATEWAY_RESPONSE,
    METHOD,
    METHOD_SETTINGS,
    REST_API,
    STAGE,
    WEB_ACL_ASSOCIATION,
)
from txn_policies.view import UNKNOWN, ResourceView, urn_of

STAGE_ARN = "arn:aws:apigateway:us-east-2::/restapis/abc123/stages/v1"
TLS12_FIPS = "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09"


def rest_api(endpoint: str | None = "REGIONAL", **props: Any) -> ResourceView:
    """A REST API of the ``endpoint`` type (None: no endpoint configuration, so EDGE)."""
    configuration = {"endpointConfiguration": {"types": endpoint}} if endpoint else {}
    return res(REST_API, **configuration, **props)


ECHO = "$context.error.validationErrorString"
CASES = [
    Case(
        "api-no-validation-echo",
        [
            res(
                GATEWAY_RESPONSE,
                responseTemplates={
                    "application/json": '{"error": {"code": "invalid_request", "message": "no"}}'
                },
            ),
            res(STAGE, accessLogSettings={"format": '{"status": "$context.status"}'}),
        ],
        [
            res(
                GATEWAY_RESPONSE,
                responseTemplates={
                    "application/json": f'{{"code": "invalid_request", "message": "{ECHO}"}}'
                },
            ),
            res(STAGE, accessLogSettings={"format": f'{{"validationError": "{ECHO}"}}'}),
        ],
        "prints $context.error.validationErrorString",
    ),
    Case(
        "api-tls-security-policy",
        [
            rest_api(securityPolicy=TLS12_FIPS, endpointAccessMode="STRICT"),
            rest_api(securityPolicy="SecurityPolicy_TLS13_1_3_2025_09", endpointAccessMode="BASIC"),
            rest_api(securityPolicy="TLS_1_2"),
            rest_api("PRIVATE"),  # a private API's default policy is TLS_1_2
            rest_api(
                None,
                securityPolicy="SecurityPolicy_TLS12_PFS_2025_EDGE",
                endpointAccessMode="STRICT",
            ),
        ],
        # AWS's default for a regional API's execute-api endpoint: TLS 1.0 and 1.1 too
        [rest_api()],
        "accepts TLS 1.0",
    ),
    Case(
        "api-tls-security-policy",
        [rest_api(securityPolicy="TLS_1_2", endpointAccessMode="")],
        [rest_api(securityPolicy="TLS_1_0"), rest_api(securityPolicy="TLS_1_3")],
        "not a TLS 1.2+ one",
    ),
    Case(
        "api-tls-security-policy",
        [rest_api(securityPolicy=TLS12_FIPS, endpointAccessMode="STRICT")],
        [rest_api(securityPolicy=TLS12_FIPS)],
        "endpoint_access_mode='STRICT'",
    ),
    Case(
        "api-tls-security-policy",
        [
            rest_api(
                "EDGE", securityPolicy="SecurityPolicy_TLS13_2025_EDGE", endpointAccessMode="STRICT"
            )
        ],
        [
            rest_api(securityPolicy="SecurityPolicy_TLS12_2018_EDGE", endpointAccessMode="STRICT"),
            rest_api("EDGE", securityPolicy="TLS_1_2"),
        ],
        "which API Gateway offers",
    ),
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

"""Gateway contract: the answers API Gateway gives itself are the local gateway's, in the API's
error shape.

Every ``aws.apigateway.Response`` the edge program registers (under mocks) is rendered as API
Gateway renders it for a sample request: its ``application/json`` template with the
``$context`` variables substituted. The body must validate against ``Error`` in
``api/openapi.yaml``, hold no card number from the request, and, with its status, equal what
the local gateway (``txn_local.gateway.Gateway.handle``) answers in the same case. The local
gateway has no throttling, usage quota or WAF in front of it: for those cases it is held to the
answer it would render (:data:`NOT_LOCAL`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import fastjsonschema
import pytest

from tests.factories import OPENAPI, SAMPLE_BODY, local_gateway
from txn_infra.offline import LayerRun, Resource
from txn_local.gateway import Request, Response
from txn_spec import api_responses, api_schema

RESPONSE = "aws:apigateway/response:Response"
SPEC_STATUS = {r.response_type: r.status for r in api_responses.GATEWAY_RESPONSES}
PAN = "4111111111111111"
API_KEY = "contract-key"

# What API Gateway substitutes for ``$context.<name>`` in a response template, for one request
# that sent a card number in a field the model refuses.
SAMPLE_CONTEXT = {
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "extendedRequestId": "Ab1Cd2Ef3Gh=",
    "requestTime": "06/Dec/2026:09:00:00 +0000",
    "resourcePath": "/transaction",
    "httpMethod": "POST",
    "stage": "v1",
    "identity.sourceIp": "203.0.113.7",
    "error.message": "Invalid request body",
    "error.messageString": '"Invalid request body"',
    "error.responseType": "BAD_REQUEST_BODY",
    "error.validationErrorString": f'[instance value ("{PAN}") not found in enum]',
}

# Answers the local gateway cannot be driven to: nothing throttles, meters or filters it.
NOT_LOCAL = {"THROTTLED", "QUOTA_EXCEEDED", "WAF_FILTERED", "DEFAULT_4XX"}


def render(template: str, context: Mapping[str, str] = SAMPLE_CONTEXT) -> str:
    """The template with each ``$context.<name>`` (or ``${context.<name>}``) substituted."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in context:
            raise KeyError(f"no sample value for $context.{name}")
        return context[name]

    return re.sub(r"\$\{context\.([\w.]+)\}|\$context\.([\w.]+)", value, template)


class _FailingValidator:
    physical_name = "txn-dev-validator"

    def invoke(self, event: dict[str, Any]) -> Any:
        raise RuntimeError("the function failed")  # API Gateway answers DEFAULT_5XX


def _request(path: str = "/transaction", body: bytes = b"{}", **headers: str) -> Request:
    return Request("POST", path, "", list(headers.items()), body, "203.0.113.7")


def local_answers() -> dict[str, Response]:
    """The local gateway's answer per response type: driven through ``Gateway.handle`` for
    every case it has, rendered (``Response.gateway``) for :data:`NOT_LOCAL`."""
    gateway = local_gateway(_FailingValidator(), {API_KEY: "contract-key-id"})
    key = {"x-api-key": API_KEY}
    valid = json.dumps(SAMPLE_BODY).encode()
    cases = {
        "MISSING_AUTHENTICATION_TOKEN": _request("/refunds", **key),
        "REQUEST_TOO_LARGE": _request(body=b" " * (api_responses.MAX_BODY_BYTES + 1), **key),
        "INVALID_API_KEY": _request(body=valid),
        "BAD_REQUEST_BODY": _request(body=json.dumps({"pan": PAN}).encode(), **key),
        "DEFAULT_5XX": _request(body=valid, **key),
    }
    answers = {kind: gateway.handle(request) for kind, request in cases.items()}
    spec = {r.response_type: r for r in api_responses.GATEWAY_RESPONSES}
    return answers | {kind: Response.gateway(spec[kind]) for kind in NOT_LOCAL}


def gateway_problems(
    declared: Iterable[Resource],
    local: Mapping[str, Response],
    error_check: Callable[[Any], Any],
) -> list[str]:
    """What breaks the contract, one line per response type (empty when it holds)."""
    problems = []
    seen = set()
    for resource in declared:
        kind = resource.inputs["responseType"]
        seen.add(kind)
        rendered = render(resource.inputs["responseTemplates"]["application/json"])
        if PAN in rendered:  # and not quoted here: the message must not repeat it either
            problems.append(f"{kind}: echoes the request's card number to the caller")
            continue
        try:
            body = json.loads(rendered)
            error_check(body)
        except (ValueError, fastjsonschema.JsonSchemaException) as error:
            problems.append(f"{kind}: renders {rendered!r}, not the OpenAPI Error ({error})")
            continue
        answer = local.get(kind)
        if answer is None:
            problems.append(f"{kind}: declared by the edge, never answered by the local gateway")
            continue
        local_type = dict(answer.headers).get("x-amzn-ErrorType")
        # no status declared: API Gateway's own, which the spec gives for the local case
        status = resource.inputs.get("statusCode") or SPEC_STATUS[kind]
        edge = (int(status), body, kind)
        if edge != (answer.status, json.loads(answer.body), local_type):
            problems.append(
                f"{kind}: the edge answers {edge[0]} {body}, the local gateway "
                f"{answer.status} {answer.body.decode()} ({local_type})"
            )
    problems += [
        f"{kind}: answered by the local gateway, not declared by the edge"
        for kind in sorted(set(local) - seen)
    ]
    return problems


@pytest.fixture(scope="module")
def declared(system: dict[str, LayerRun]) -> list[Resource]:
    return system["edge"].of_type(RESPONSE)


@pytest.fixture(scope="module")
def local() -> dict[str, Response]:
    return local_answers()


@pytest.fixture(scope="module")
def error_check() -> Callable[[Any], Any]:
    document = api_schema.load_document(OPENAPI)
    return fastjsonschema.compile(api_schema.model_schema(document, "Error"))


def test_every_declared_gateway_answer_is_the_local_gateways_in_the_error_shape(
    declared: list[Resource], local: dict[str, Response], error_check: Callable[[Any], Any]
) -> None:
    assert declared, "the edge declares no gateway response"
    problems = gateway_problems(declared, local, error_check)
    assert not problems, "\n".join(problems)


def _doctored(declared: list[Resource], kind: str, template: str) -> list[Resource]:
    return [
        replace(r, inputs={**r.inputs, "responseTemplates": {"application/json": template}})
        if r.inputs["responseType"] == kind
        else r
        for r in declared
    ]


def test_a_response_that_drifts_fails_naming_it(
    declared: list[Resource], local: dict[str, Response], error_check: Callable[[Any], Any]
) -> None:
    drifted = json.dumps(
        {"error": {"code": "slow_down", "message": "Too many requests", "field": None}}
    )

    problems = gateway_problems(_doctored(declared, "THROTTLED", drifted), local, error_check)

    assert [p.split(":")[0] for p in problems] == ["THROTTLED"]
    assert "slow_down" in problems[0]


def test_a_response_outside_the_error_shape_or_echoing_the_validator_fails_naming_it(
    declared: list[Resource], local: dict[str, Response], error_check: Callable[[Any], Any]
) -> None:
    flat = '{"code": "invalid_request", "message": $context.error.messageString}'
    echo = json.dumps(
        {
            "error": {
                "code": "invalid_request",
                "message": "$context.error.validationErrorString",
                "field": None,
            }
        }
    )

    for template in (flat, echo):
        problems = gateway_problems(
            _doctored(declared, "BAD_REQUEST_BODY", template), local, error_check
        )
        assert [p.split(":")[0] for p in problems] == ["BAD_REQUEST_BODY"]
    assert "card number" in problems[0]
    assert PAN not in problems[0]


def test_a_local_answer_the_edge_does_not_declare_fails_naming_it(
    declared: list[Resource], local: dict[str, Response], error_check: Callable[[Any], Any]
) -> None:
    without = [r for r in declared if r.inputs["responseType"] != "DEFAULT_5XX"]

    problems = gateway_problems(without, local, error_check)

    assert problems == ["DEFAULT_5XX: answered by the local gateway, not declared by the edge"]


def test_the_5xx_fallback_keeps_each_5xx_status_api_gateway_gives(declared: list[Resource]) -> None:
    # Setting DEFAULT_5XX's status sets every 5XX gateway response's: a timeout (504) and a
    # failed invocation (500) would both read 502.
    statuses = {r.inputs["responseType"]: r.inputs.get("statusCode") for r in declared}
    assert statuses["DEFAULT_5XX"] is None
    assert statuses["THROTTLED"] == "429"

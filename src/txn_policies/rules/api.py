"""API Gateway and WAF: every request comes over TLS 1.2+, is logged and traced, needs a key and
passes a web ACL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from txn_policies.rules.model import (
    GATEWAY_RESPONSE,
    METHOD,
    METHOD_SETTINGS,
    PCI,
    REST_API,
    STAGE,
    WEB_ACL_ASSOCIATION,
    policy,
)
from txn_policies.view import UNKNOWN, ResourceView, as_list, get, known

_ENHANCED = "SecurityPolicy_"  # AWS's enhanced policies, all TLS 1.2 or 1.3 at least
_LEGACY_TLS_1_2 = "TLS_1_2"  # the legacy TLS 1.2 policy: regional and private APIs only
_TLS_FIX = (
    "security_policy=<a TLS 1.2+ policy: SecurityPolicy_TLS13_1_2_* or SecurityPolicy_TLS13_1_3_* "
    "for a regional or private API, SecurityPolicy_*_EDGE for an edge-optimized one> with "
    "endpoint_access_mode='STRICT'"
)


def _endpoint_type(api: ResourceView) -> str:
    """REGIONAL, EDGE or PRIVATE; a REST API without an endpoint configuration is EDGE."""
    types = as_list(known(api.props, "endpointConfiguration.types"))
    return str(types[0]) if types else "EDGE"


@policy(
    name="api-tls-security-policy",
    description="Every REST API's default endpoint refuses TLS below 1.2 (a TLS 1.2+ security "
    "policy valid for its endpoint type).",
    requirements=(f"{PCI} 4.2.1",),
    enforcement="mandatory",
    reason="mandatory: without a security policy the default execute-api endpoint of a regional "
    "or edge-optimized API accepts TLS 1.0 and 1.1; 4.2.1 requires strong cryptography for "
    "cardholder data, and the API keys, crossing public networks.",
    remediation=_TLS_FIX,
    types=(REST_API,),
)
def _rest_api_tls(api: ResourceView) -> Iterator[str]:
    endpoint = _endpoint_type(api)
    tls = known(api.props, "securityPolicy")
    mode = known(api.props, "endpointAccessMode")
    if tls is None:
        if endpoint != "PRIVATE":  # a private API's default is TLS_1_2
            yield (
                f"has no security policy: the default endpoint of a {endpoint} API accepts "
                f"TLS 1.0; fix: {_TLS_FIX}"
            )
        return
    enhanced = str(tls).startswith(_ENHANCED)
    if not enhanced and tls != _LEGACY_TLS_1_2:
        yield (
            f"has security policy {tls!r}, not a TLS 1.2+ one (TLS_1_0 accepts TLS 1.0 and 1.1); "
            f"fix: {_TLS_FIX}"
        )
        return
    if (endpoint == "EDGE") != str(tls).endswith("_EDGE"):
        where = "only edge-optimized APIs" if endpoint != "EDGE" else "no edge-optimized API"
        yield f"has security policy {tls!r}, which API Gateway offers {where}; fix: {_TLS_FIX}"
    if enhanced and mode not in ("BASIC", "STRICT"):
        yield (
            f"has the enhanced policy {tls!r} without an endpoint access mode, which API "
            "Gateway refuses; fix: endpoint_access_mode='STRICT' ('BASIC' only while migrating)"
        )
    if not enhanced and mode:
        yield (
            f"sets endpoint access mode {mode!r} with the legacy policy {tls!r}, which API "
            f"Gateway refuses; fix: {_TLS_FIX}"
        )


@policy(
    name="api-stage-tracing-and-access-logs",
    description="Every API stage has X-Ray tracing and access logging to a log group.",
    requirements=(f"{PCI} 10.2.1", f"{PCI} 10.2.2"),
    enforcement="mandatory",
    reason="mandatory: the API is the CDE's only entry point; every request must leave an "
    "audit record.",
    remediation="set xray_tracing_enabled=True and access_log_settings(destination_arn, format)",
    types=(STAGE,),
)
def _stage_logged(stage: ResourceView) -> Iterator[str]:
    if get(stage.props, "xrayTracingEnabled") is not True:
        yield "has X-Ray tracing off; fix: xray_tracing_enabled=True"
    settings = get(stage.props, "accessLogSettings", {})
    if not get(settings, "destinationArn") or not get(settings, "format"):
        yield "has no access log; fix: access_log_settings destination_arn + format"


_ACCESS_LOG_FIELDS = (
    "$context.requestId",
    "$context.identity.sourceIp",
    "$context.requestTime",
    "$context.httpMethod",
    "$context.resourcePath",
    "$context.status",
)


@policy(
    name="api-access-log-fields",
    description="API access logs record who, what, when, where and the outcome.",
    requirements=(f"{PCI} 10.2.2",),
    enforcement="advisory",
    reason="advisory: the field list is this team's reading of 10.2.2; an equivalent set of "
    "context variables is acceptable.",
    remediation=f"include {', '.join(_ACCESS_LOG_FIELDS)} in the access log format",
    types=(STAGE,),
)
def _access_log_fields(stage: ResourceView) -> Iterator[str]:
    fmt = get(stage.props, "accessLogSettings.format")
    if isinstance(fmt, str):
        missing = [f for f in _ACCESS_LOG_FIELDS if f not in fmt]
        if missing:
            yield f"access log format lacks {missing}; fix: add them"


@policy(
    name="api-no-data-trace",
    description="No API stage logs full request and response bodies (data trace).",
    requirements=(f"{PCI} 3.3.1", f"{PCI} 3.5.1"),
    enforcement="mandatory",
    reason="mandatory: data trace writes request bodies to CloudWatch; a client that sends a "
    "PAN by mistake would have it stored in clear in the execution log.",
    remediation="set settings.data_trace_enabled=False on aws.apigateway.MethodSettings",
    types=(METHOD_SETTINGS,),
)
def _no_data_trace(settings: ResourceView) -> Iterator[str]:
    if get(settings.props, "settings.dataTraceEnabled") is True:
        yield "enables data trace (full bodies in logs); fix: data_trace_enabled=False"


# API Gateway's request-validation message: it quotes the value the model rejected.
_VALIDATION_ECHO = "$context.error.validationErrorString"


@policy(
    name="api-no-validation-echo",
    description="No gateway response and no access log prints the request validator's message, "
    "which quotes the rejected value.",
    requirements=(f"{PCI} 3.3.1",),
    enforcement="mandatory",
    reason="mandatory: a card number sent in a field the request model refuses would be "
    "echoed to the caller and written to the access log.",
    remediation=f"leave {_VALIDATION_ECHO} out of response templates and access log formats",
    types=(GATEWAY_RESPONSE, STAGE),
)
def _no_validation_echo(resource: ResourceView) -> Iterator[str]:
    if resource.type == STAGE:
        where = {"access log format": get(resource.props, "accessLogSettings.format")}
    else:
        templates = get(resource.props, "responseTemplates") or {}
        where = {f"{kind} template": text for kind, text in dict(templates).items()}
    for name, text in where.items():
        if isinstance(text, str) and _VALIDATION_ECHO in text:
            yield f"{name} prints {_VALIDATION_ECHO}; fix: a constant message instead"


@policy(
    name="api-methods-require-api-key",
    description="Every API method requires an API key (usage plan).",
    requirements=(f"{PCI} 7.2.1",),
    enforcement="mandatory",
    reason="mandatory: only registered payment providers may submit transactions, each under "
    "its own key and usage plan. A key identifies a caller, it does not authenticate one: the "
    "upgrade path is a Lambda authorizer or mTLS (see policies/README.md).",
    remediation="set api_key_required=True on the method",
    types=(METHOD,),
)
def _method_api_key(method: ResourceView) -> Iterator[str]:
    if get(method.props, "httpMethod") == "OPTIONS":
        return
    if get(method.props, "apiKeyRequired") is not True:
        yield "does not require an API key; fix: api_key_required=True"


def _paired(
    source: ResourceView, prop: str, target: ResourceView, target_values: Iterable[object]
) -> bool:
    """Does ``source.prop`` point at ``target`` (by value, or by dependency while unknown)?"""
    value = source.props.get(prop)
    if value is UNKNOWN or value is None:
        return target.urn in source.deps.get(prop, frozenset())
    return value in {v for v in target_values if v not in (None, UNKNOWN)}


@policy(
    name="api-stage-waf",
    description="Every API stage is associated with a WAF web ACL, by its stage ARN.",
    requirements=(f"{PCI} 6.4.2",),
    enforcement="mandatory",
    reason="mandatory: 6.4.2 requires an automated solution that detects and prevents "
    "web-based attacks in front of public-facing web applications.",
    remediation="aws.wafv2.WebAclAssociation(resource_arn=stage.arn, depends_on=[stage])",
    types=(STAGE, WEB_ACL_ASSOCIATION),
    stack=True,
)
def _stage_waf(resources: Sequence[ResourceView]) -> Iterator[tuple[ResourceView | None, str]]:
    associations = [r for r in resources if r.type == WEB_ACL_ASSOCIATION]
    for association in associations:
        arn = association.props.get("resourceArn")
        if isinstance(arn, str) and ":execute-api:" in arn:
            message = (
                f"targets the execution ARN {arn}; fix: resource_arn = the stage ARN "
                "(arn:aws:apigateway:<region>::/restapis/<id>/stages/<name>)"
            )
            yield association, message
    for stage in (r for r in resources if r.type == STAGE):
        if not any(
            _paired(a, "resourceArn", stage, [stage.props.get("arn")]) for a in associations
        ):
            message = (
                "has no WAF web ACL association; fix: aws.wafv2.WebAclAssociation("
                "resource_arn=stage.arn, web_acl_arn=<web ACL ARN>)"
            )
            yield stage, message

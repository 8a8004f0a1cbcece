"""edge: API key required, body validated against the OpenAPI schema, proxy to the validator,
stage logging without card data, usage plan, and WAF associated with the stage ARN."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.stacks.conftest import upstream_exports
from tests.stacks.test_synth import doctored_program
from txn_infra.components.edge import ACCESS_LOG_FORMAT, MANAGED_RULE_GROUPS
from txn_infra.offline import LayerRun, reference_name, run_layer
from txn_spec import api_responses, api_schema, contract, shapes

METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"

OPENAPI_DOCUMENT = Path(__file__).resolve().parents[2] / api_schema.OPENAPI_PATH
DEPLOYMENT = "aws:apigateway/deployment:Deployment"
MASKING = "aws:cloudwatch/logDataProtectionPolicy:LogDataProtectionPolicy"


@pytest.fixture(scope="module")
def edge(system: dict[str, LayerRun]) -> LayerRun:
    return system["edge"]


@pytest.fixture(scope="module")
def upstream(system: dict[str, LayerRun]) -> dict[str, dict]:
    return upstream_exports(system, contract.EDGE)


@pytest.fixture(scope="module")
def references(system: dict[str, LayerRun]) -> dict[str, dict]:
    """What edge's stack references answer with in a rerun: the dev system's real exports."""
    return {
        reference_name(contract.layer(n), "dev"): exports
        for n, exports in upstream_exports(system, contract.EDGE).items()
    }


def test_regional_rest_api_with_post_transaction(edge: LayerRun) -> None:
    api = edge.one("aws:apigateway/restApi:RestApi")
    assert api.inputs["endpointConfiguration"]["types"] == "REGIONAL"
    assert api.inputs["name"] == "txn-dev-transactions-api"
    resource = edge.one("aws:apigateway/resource:Resource", "api-resource")
    assert resource.inputs["pathPart"] == shapes.API_PATH
    assert resource.inputs["parentId"] == api.outputs["rootResourceId"]


def test_default_endpoint_refuses_tls_below_1_2(edge: LayerRun) -> None:
    # The execute-api endpoint of a regional API accepts TLS 1.0 unless a policy says otherwise.
    api = edge.one("aws:apigateway/restApi:RestApi")
    # TLS 1.3, or TLS 1.2 with ECDHE and AES-GCM only (PCI DSS 4.2.1; stacks/edge/README.md)
    assert api.inputs["securityPolicy"] == "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09"
    # an enhanced policy needs an access mode; STRICT also refuses a Host that is not the SNI's
    assert api.inputs["endpointAccessMode"] == "STRICT"


def test_post_requires_an_api_key(edge: LayerRun) -> None:
    method = edge.one("aws:apigateway/method:Method", "api-post")
    assert method.inputs["httpMethod"] == "POST"
    assert method.inputs["apiKeyRequired"] is True
    assert edge.one("aws:apigateway/restApi:RestApi").inputs["apiKeySource"] == "HEADER"


def test_body_is_validated_against_the_openapi_schema(edge: LayerRun) -> None:
    method = edge.one("aws:apigateway/method:Method", "api-post")
    validator = edge.one("aws:apigateway/requestValidator:RequestValidator")
    model = edge.one("aws:apigateway/model:Model", "api-request-model")
    assert method.inputs["requestValidatorId"] == validator.id
    assert validator.inputs["validateRequestBody"] is True
    # every Content-Type: a text/plain body would otherwise reach the validator unchecked
    assert method.inputs["requestModels"] == {
        "application/json": model.inputs["name"],
        "$default": model.inputs["name"],
    }
    assert model.inputs["contentType"] == "application/json"
    schema = json.loads(model.inputs["schema"])
    assert schema == api_schema.model_schema(api_schema.load_document(OPENAPI_DOCUMENT))
    assert schema["$schema"] == api_schema.DRAFT_04
    assert "$ref" not in model.inputs["schema"]


def test_lambda_proxy_to_the_validator(edge: LayerRun, upstream: dict[str, dict]) -> None:
    integration = edge.one("aws:apigateway/integration:Integration", "api-integration")
    assert integration.inputs["type"] == "AWS_PROXY"
    assert integration.inputs["integrationHttpMethod"] == "POST"
    assert integration.inputs["uri"] == upstream["compute"]["validator_invoke_arn"]


def test_permission_is_scoped_to_this_api_stage_and_post_transaction(
    edge: LayerRun, upstream: dict[str, dict]
) -> None:
    api = edge.one("aws:apigateway/restApi:RestApi")
    permissions = edge.of_type("aws:lambda/permission:Permission")
    assert {p.inputs["function"] for p in permissions} == {
        upstream["compute"]["validator_function_arn"]
    }
    assert {p.inputs["principal"] for p in permissions} == {"apigateway.amazonaws.com"}
    # one exact route each: no wildcard over the API's methods or paths
    assert sorted(p.inputs["sourceArn"] for p in permissions) == [
        f"{api.outputs['executionArn']}/v1/POST/{shapes.FRAUD_REPORTS_PATH}",
        f"{api.outputs['executionArn']}/v1/POST/transaction",
    ]


def test_the_method_declares_the_idempotency_headers_the_validator_reads_and_answers(
    edge: LayerRun,
) -> None:
    # The same names the validator and api/openapi.yaml use (txn_spec.api_responses).
    document = api_schema.load_document(OPENAPI_DOCUMENT)
    operation = document["paths"][f"/{shapes.API_PATH}"]["post"]
    method = edge.one("aws:apigateway/method:Method", "api-post")
    response = edge.one("aws:apigateway/methodResponse:MethodResponse", "api-post-202")
    assert [p["name"] for p in operation["parameters"] if p["in"] == "header"] == [
        api_responses.IDEMPOTENCY_KEY_HEADER
    ]
    assert method.inputs["requestParameters"] == {
        f"method.request.header.{api_responses.IDEMPOTENCY_KEY_HEADER}": False
    }
    assert list(operation["responses"]["202"]["headers"]) == [api_responses.REPLAYED_HEADER]
    assert response.inputs["statusCode"] == "202"
    assert response.inputs["httpMethod"] == method.inputs["httpMethod"]
    assert response.inputs["resourceId"] == method.inputs["resourceId"]
    assert response.inputs["responseParameters"] == {
        f"method.response.header.{api_responses.REPLAYED_HEADER}": False
    }


def test_fraud_reports_route_takes_the_same_key_validator_and_function(
    edge: LayerRun, upstream: dict[str, dict]
) -> None:
    # POST /fraud-reports (ADR 0013): an API key, the FraudReport model of api/openapi.yaml,
    # the same request validator and the same validator function; the stage (and so WAF and
    # the usage plan) is the API's one.
    api = edge.one("aws:apigateway/restApi:RestApi")
    resource = edge.one("aws:apigateway/resource:Resource", "reports-resource")
    method = edge.one("aws:apigateway/method:Method", "reports-post")
    model = edge.one("aws:apigateway/model:Model", "report-model")
    integration = edge.one("aws:apigateway/integration:Integration", "reports-integration")
    validator = edge.one("aws:apigateway/requestValidator:RequestValidator")
    assert resource.inputs["pathPart"] == shapes.FRAUD_REPORTS_PATH
    assert resource.inputs["parentId"] == api.outputs["rootResourceId"]
    assert method.inputs["resourceId"] == resource.id
    assert method.inputs["httpMethod"] == "POST"
    assert method.inputs["apiKeyRequired"] is True
    assert method.inputs["requestValidatorId"] == validator.id
    assert method.inputs["requestModels"] == {
        "application/json": model.inputs["name"],
        "$default": model.inputs["name"],
    }
    assert json.loads(model.inputs["schema"]) == api_schema.model_schema(
        api_schema.load_document(OPENAPI_DOCUMENT), api_schema.REPORT_SCHEMA
    )
    assert integration.inputs["type"] == "AWS_PROXY"
    assert integration.inputs["uri"] == upstream["compute"]["validator_invoke_arn"]
    deployment = edge.one(DEPLOYMENT)
    assert {"api-reports-post", "api-reports-integration", "api-report-model"} <= (
        edge.depends_on[deployment.name]
    )


def test_deployment_is_redone_when_the_definition_changes(edge: LayerRun) -> None:
    deployment = edge.one("aws:apigateway/deployment:Deployment")
    assert len(deployment.inputs["triggers"]["definition"]) == 64
    assert {"api-post", "api-post-202", "api-integration", "api-request-model"} <= edge.depends_on[
        deployment.name
    ]
    stage = edge.one("aws:apigateway/stage:Stage")
    assert stage.inputs["deployment"] == deployment.id


def test_a_changed_schema_gives_a_new_deployment_trigger(
    tmp_path: Path, system: dict[str, LayerRun], references: dict[str, dict]
) -> None:
    changed = api_schema.load_document(OPENAPI_DOCUMENT)
    changed["components"]["schemas"]["TransactionRequest"]["properties"]["amount"]["maximum"] = 7
    document = tmp_path / "openapi.yaml"
    document.write_text(json.dumps(changed))
    rerun = run_layer(
        "edge", references=references, config={"txn-edge:openapiDocument": str(document)}
    )
    before = system["edge"].one(DEPLOYMENT).inputs["triggers"]
    after = rerun.one(DEPLOYMENT).inputs["triggers"]
    assert before != after


def test_an_unchanged_program_keeps_its_deployment_trigger(
    system: dict[str, LayerRun], references: dict[str, dict]
) -> None:
    # What makes the tests below able to fail: the trigger is a function of the definition only.
    rerun = run_layer("edge", references=references)
    before = system["edge"].one(DEPLOYMENT).inputs["triggers"]
    assert rerun.one(DEPLOYMENT).inputs["triggers"] == before


# One argument of one resource changed before registration, as a careless edit would change it:
# each is in the deployment's snapshot, so each must give a new deployment.
SNAPSHOT_CHANGES = [
    pytest.param(
        "aws:apigateway/method:Method",
        "api-post",
        {"request_parameters": {"method.request.header.Idempotency-Key": True}},
        id="method-request-parameters",
    ),
    pytest.param(
        "aws:apigateway/methodResponse:MethodResponse",
        "api-post-202",
        {"response_parameters": {"method.response.header.Other": False}},
        id="method-response",
    ),
    pytest.param(
        "aws:apigateway/requestValidator:RequestValidator",
        "api-validator",
        {"validate_request_parameters": False},
        id="request-validator",
    ),
    pytest.param(
        "aws:apigateway/response:Response",
        "api-response-bad-request-body",
        {"status_code": "422"},
        id="gateway-response",
    ),
    pytest.param(
        "aws:apigateway/integration:Integration",
        "api-integration",
        {"integration_http_method": "PUT"},
        id="integration",
    ),
    pytest.param(
        "aws:apigateway/restApi:RestApi",
        "api-api",
        {"security_policy": "TLS_1_2", "endpoint_access_mode": None},
        id="api-security-policy",
    ),
]


@pytest.mark.parametrize(("type_", "name", "changes"), SNAPSHOT_CHANGES)
def test_a_change_in_the_deployment_snapshot_gives_a_new_deployment_trigger(
    tmp_path: Path,
    system: dict[str, LayerRun],
    references: dict[str, dict],
    type_: str,
    name: str,
    changes: dict[str, object],
) -> None:
    program = doctored_program(tmp_path, "edge", type_, name, changes)

    rerun = run_layer("edge", references=references, program=program)

    before = system["edge"].one(DEPLOYMENT).inputs["triggers"]
    assert rerun.one(DEPLOYMENT).inputs["triggers"] != before


def test_stage_traces_and_writes_json_access_logs_to_an_audit_log_group(
    edge: LayerRun, upstream: dict[str, dict]
) -> None:
    stage = edge.one("aws:apigateway/stage:Stage")
    assert stage.inputs["stageName"] == shapes.API_STAGE
    assert stage.inputs["xrayTracingEnabled"] is True
    group = edge.one("aws:cloudwatch/logGroup:LogGroup", "access-logs")
    assert stage.inputs["accessLogSettings"]["destinationArn"] == group.outputs["arn"]
    assert group.inputs["retentionInDays"] >= 365
    assert group.inputs["kmsKeyId"] == upstream["security"]["logs_key_arn"]
    fields = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert {"requestId", "sourceIp", "status", "apiKeyId", "xrayTraceId"} <= set(fields)
    # the TLS each client negotiated: evidence that the security policy holds (PCI DSS 4.2.1)
    assert fields["tlsVersion"] == "$context.tlsVersion"
    assert fields["cipherSuite"] == "$context.cipherSuite"
    assert not any("body" in v.lower() or "header" in v.lower() for v in fields.values())


def test_execution_log_group_is_precreated_encrypted(
    edge: LayerRun, upstream: dict[str, dict]
) -> None:
    group = edge.one("aws:cloudwatch/logGroup:LogGroup", "execution-logs")
    api = edge.one("aws:apigateway/restApi:RestApi")
    assert group.inputs["name"] == f"API-Gateway-Execution-Logs_{api.id}/v1"
    assert group.inputs["kmsKeyId"] == upstream["security"]["logs_key_arn"]
    assert group.name in edge.depends_on[edge.one("aws:apigateway/stage:Stage").name]


def test_method_settings_enable_metrics_and_throttling_but_never_data_trace(edge: LayerRun) -> None:
    settings = edge.one("aws:apigateway/methodSettings:MethodSettings")
    assert settings.inputs["methodPath"] == "*/*"
    values = settings.inputs["settings"]
    assert values["metricsEnabled"] is True
    assert values["dataTraceEnabled"] is False
    assert values["loggingLevel"] in {"ERROR", "OFF"}
    assert (values["throttlingRateLimit"], values["throttlingBurstLimit"]) == (100, 200)


def test_usage_plan_throttles_and_quotas_the_bound_api_key(edge: LayerRun) -> None:
    plan = edge.one("aws:apigateway/usagePlan:UsagePlan")
    key = edge.one("aws:apigateway/apiKey:ApiKey")
    binding = edge.one("aws:apigateway/usagePlanKey:UsagePlanKey")
    api = edge.one("aws:apigateway/restApi:RestApi")
    assert plan.inputs["name"] == "txn-dev-transactions-api-plan-provider"
    assert key.inputs["name"] == "txn-dev-transactions-api-key-provider"
    assert plan.inputs["apiStages"] == [{"apiId": api.id, "stage": "v1"}]
    # no apiKeyLimits: the key may use the whole stage
    assert plan.inputs["throttleSettings"] == {"rateLimit": 100, "burstLimit": 200}
    assert plan.inputs["quotaSettings"] == {"limit": 1_000_000, "period": "DAY"}
    assert (binding.inputs["keyId"], binding.inputs["keyType"]) == (key.id, "API_KEY")
    assert binding.inputs["usagePlanId"] == plan.id
    assert "value" not in key.inputs  # generated by API Gateway, never in code or config


def test_no_answer_and_no_access_log_quotes_the_rejected_value(edge: LayerRun) -> None:
    # API Gateway's validation message quotes the value the model refused: a card number sent
    # in the wrong field would reach the caller and the access log (PCI DSS 3.3).
    echo = "$context.error.validationErrorString"
    for response in edge.of_type("aws:apigateway/response:Response"):
        assert echo not in json.dumps(response.inputs["responseTemplates"])
    assert echo not in edge.one("aws:apigateway/stage:Stage").inputs["accessLogSettings"]["format"]


def test_waf_has_the_managed_rule_groups_and_a_rate_rule_per_ip(edge: LayerRun) -> None:
    acl = edge.one("aws:wafv2/webAcl:WebAcl")
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    # its name is its metric name: the observability layer's WAF widget derives both alike
    assert acl.inputs["name"] == acl.inputs["visibilityConfig"]["metricName"] == "txn-dev-waf"
    rules = {r["name"]: r for r in acl.inputs["rules"]}
    managed = {
        r["statement"]["managedRuleGroupStatement"]["name"]
        for r in rules.values()
        if "managedRuleGroupStatement" in r["statement"]
    }
    assert (
        managed
        == {
            "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesSQLiRuleSet",
            "AWSManagedRulesAmazonIpReputationList",
        }
        == set(MANAGED_RULE_GROUPS)
    )
    for name in managed:
        assert rules[name]["overrideAction"] == {"none": {}}  # enforce, not count
    rate = rules["rate-limit-per-ip"]
    assert rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP"
    assert rate["statement"]["rateBasedStatement"]["limit"] == 10_000
    assert rate["action"] == {"block": {}}
    assert len({r["priority"] for r in rules.values()}) == len(rules)


def test_waf_is_associated_with_the_stage_arn_after_the_stage(edge: LayerRun) -> None:
    association = edge.one("aws:wafv2/webAclAssociation:WebAclAssociation")
    stage = edge.one("aws:apigateway/stage:Stage")
    api = edge.one("aws:apigateway/restApi:RestApi")
    assert association.inputs["resourceArn"] == stage.outputs["arn"]
    assert association.inputs["resourceArn"] == (
        f"arn:aws:apigateway:us-east-2::/restapis/{api.id}/stages/v1"
    )
    assert association.inputs["webAclArn"] == edge.one("aws:wafv2/webAcl:WebAcl").outputs["arn"]
    assert stage.name in edge.depends_on[association.name]


def test_waf_logs_go_to_an_encrypted_aws_waf_logs_group_without_the_api_key(
    edge: LayerRun, upstream: dict[str, dict]
) -> None:
    logging = edge.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    group = edge.one("aws:cloudwatch/logGroup:LogGroup", "waf-logs")
    assert group.inputs["name"].startswith("aws-waf-logs-")
    assert group.inputs["kmsKeyId"] == upstream["security"]["logs_key_arn"]
    assert group.inputs["retentionInDays"] >= 365
    assert logging.inputs["logDestinationConfigs"] == [group.outputs["arn"]]
    assert {"singleHeader": {"name": "x-api-key"}} in logging.inputs["redactedFields"]
    assert {"queryString": {}} in logging.inputs["redactedFields"]


def test_waf_logs_keep_only_requests_waf_acted_on(edge: LayerRun) -> None:
    logging = edge.one("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    log_filter = logging.inputs["loggingFilter"]
    assert log_filter["defaultBehavior"] == "DROP"
    (keep,) = log_filter["filters"]
    assert keep["behavior"] == "KEEP"
    assert keep["requirement"] == "MEETS_ANY"
    actions = {c["actionCondition"]["action"] for c in keep["conditions"]}
    assert {"BLOCK", "COUNT"} <= actions
    assert "ALLOW" not in actions


def test_access_log_records_waf_verdict_of_every_request(edge: LayerRun) -> None:
    # The WAF log drops allowed requests: the access log is where every request, and what WAF
    # decided for it, stays on record (PCI DSS 10.2).
    stage = edge.one("aws:apigateway/stage:Stage")
    fields = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert fields["wafStatus"] == "$context.waf.status"
    assert fields["wafResponse"] == "$context.wafResponseCode"
    group = edge.one("aws:cloudwatch/logGroup:LogGroup", "access-logs")
    assert group.inputs["retentionInDays"] >= 365
    assert group.inputs["kmsKeyId"]


@pytest.mark.parametrize("group_part", ["access-logs", "execution-logs", "waf-logs"])
def test_every_edge_log_group_masks_card_data_before_its_first_record(
    edge: LayerRun, system: dict[str, LayerRun], group_part: str
) -> None:
    # PCI DSS 3.5.1 applies to audit logs: what WAF logs (URI, headers) and an execution log's
    # error line quote comes from the client
    group = edge.one("aws:cloudwatch/logGroup:LogGroup", group_part)
    assert group.inputs.get("logGroupClass", "STANDARD") == "STANDARD"
    masking = edge.one(MASKING, f"{group_part}-masking")
    assert masking.inputs["logGroupName"] == group.outputs["name"]
    (function_masking, *_) = system["compute"].of_type(MASKING)
    statements = json.loads(function_masking.inputs["policyDocument"])["Statement"]
    assert json.loads(masking.inputs["policyDocument"])["Statement"] == statements
    writer = (
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
        if group_part == "waf-logs"
        else "aws:apigateway/stage:Stage"
    )
    assert masking.name in edge.depends_on[edge.one(writer).name]


def test_exports_the_endpoint_url_and_the_key_value_only_as_a_secret(edge: LayerRun) -> None:
    stage = edge.one("aws:apigateway/stage:Stage")
    assert edge.exports["transaction_endpoint_url"] == f"{stage.outputs['invokeUrl']}/transaction"
    assert edge.exports["transaction_endpoint_url"].startswith("https://")
    assert edge.exports["api_key_ids"] == {"provider": edge.one("aws:apigateway/apiKey:ApiKey").id}
    assert edge.secret_exports == {"api_key_values"}
    assert set(edge.exports) == contract.EDGE.outputs


def test_each_listed_provider_gets_its_own_key_and_plan_and_the_first_key_keeps_its_state(
    references: dict[str, dict],
) -> None:
    # ADR 0024: rotation lists the new key beside the old one
    edge = run_layer(
        "edge", config={"txn-edge:apiKeys": '["provider", "acme-pay"]'}, references=references
    )
    keys = {k.inputs["name"]: k for k in edge.of_type("aws:apigateway/apiKey:ApiKey")}
    assert set(keys) == {
        "txn-dev-transactions-api-key-provider",
        "txn-dev-transactions-api-key-acme-pay",
    }
    # each key on a usage plan of its own (ADR 0025), named for its provider
    plans = {p.id: p.inputs["name"] for p in edge.of_type("aws:apigateway/usagePlan:UsagePlan")}
    bindings = edge.of_type("aws:apigateway/usagePlanKey:UsagePlanKey")
    assert {(b.inputs["keyId"], plans[b.inputs["usagePlanId"]]) for b in bindings} == {
        (
            keys["txn-dev-transactions-api-key-provider"].id,
            "txn-dev-transactions-api-plan-provider",
        ),
        (
            keys["txn-dev-transactions-api-key-acme-pay"].id,
            "txn-dev-transactions-api-plan-acme-pay",
        ),
    }
    # a key may be on one plan per stage: a binding that moves is deleted before it is remade
    assert {b.name for b in bindings} <= edge.deleted_before_replaced
    assert edge.exports["api_key_ids"] == {
        "provider": keys["txn-dev-transactions-api-key-provider"].id,
        "acme-pay": keys["txn-dev-transactions-api-key-acme-pay"].id,
    }
    assert set(edge.exports["api_key_values"]) == {"provider", "acme-pay"}
    # the one key of a stack deployed before keys were listed ("keys-key") keeps its state, so
    # its value, under its provider's name; a replacement would cut that provider off
    assert edge.aliases == {
        "keys-provider-key": {"keys-key"},
        "keys-provider-plan": {"keys-plan"},
        "keys-provider-plan-key": {"keys-plan-key"},
    }


def test_the_requests_refused_429_are_counted_by_type_and_per_key_from_the_access_log(
    edge: LayerRun,
) -> None:
    # ADR 0025: the stage has no metric for its 429s; observability's api-key-throttled alarm
    # reads the count per error type, an operator the one per key and error type
    group = edge.one("aws:cloudwatch/logGroup:LogGroup", "access-logs")
    filters = {f.inputs["name"]: f.inputs for f in edge.of_type(METRIC_FILTER)}
    assert set(filters) == {
        "txn-dev-api-requests-throttled-by-type",
        "txn-dev-api-requests-throttled-by-key",
    }
    logged = json.loads(ACCESS_LOG_FORMAT)
    for name, dimensions in (
        ("by-type", {"error_type": "$.errorType"}),
        ("by-key", {"api_key_id": "$.apiKeyId", "error_type": "$.errorType"}),
    ):
        spec = filters[f"txn-dev-api-requests-throttled-{name}"]
        assert spec["logGroupName"] == group.outputs["name"]
        assert spec["pattern"] == (
            '{ ($.errorType = "THROTTLED") || ($.errorType = "QUOTA_EXCEEDED") }'
        )
        transformation = spec["metricTransformation"]
        assert (transformation["namespace"], transformation["name"]) == (
            "TxnPlatform",
            "txn-dev-api-requests-throttled",
        )
        assert transformation.get("dimensions") == dimensions
        assert "defaultValue" not in transformation  # no refusal, no datapoint: the alarm fills
        # every field the filter reads is one the stage writes, from the context it names
        for field in ("errorType", *(v.removeprefix("$.") for v in dimensions.values())):
            assert field in logged
    assert logged["errorType"] == "$context.error.responseType"
    assert logged["apiKeyId"] == "$context.identity.apiKeyId"


def test_a_provider_with_its_own_limits_spends_them_and_leaves_the_others_the_stage(
    references: dict[str, dict],
) -> None:
    # ADR 0025: one provider's rate or a leaked key cannot take the whole stage from the others
    edge = run_layer(
        "edge",
        config={
            "txn-edge:apiKeys": '["provider", "acme-pay"]',
            "txn-edge:apiKeyLimits": '{"acme-pay": {"rateLimit": 40, "quotaPerDay": 5000}}',
        },
        references=references,
    )
    plans = {p.inputs["name"]: p.inputs for p in edge.of_type("aws:apigateway/usagePlan:UsagePlan")}
    acme = plans["txn-dev-transactions-api-plan-acme-pay"]
    assert acme["throttleSettings"] == {"rateLimit": 40, "burstLimit": 200}  # burst: the stage's
    assert acme["quotaSettings"] == {"limit": 5000, "period": "DAY"}
    other = plans["txn-dev-transactions-api-plan-provider"]
    assert other["throttleSettings"] == {"rateLimit": 100, "burstLimit": 200}
    assert other["quotaSettings"] == {"limit": 1_000_000, "period": "DAY"}


def test_prod_keeps_audit_logs_past_twelve_months(prod_system: dict[str, LayerRun]) -> None:
    for group in prod_system["edge"].of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["retentionInDays"] >= 365


def test_prod_refuses_to_delete_its_audit_log_groups_and_dev_does_not(
    edge: LayerRun, prod_system: dict[str, LayerRun]
) -> None:
    # PCI DSS 10.5.1's 12 months outlive a destroy of the layer: CloudWatch Logs refuses
    # DeleteLogGroup while deletion protection is on (docs/deploy.md, section 8)
    groups = prod_system["edge"].of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 3  # access, execution, WAF
    assert all(g.inputs["deletionProtectionEnabled"] is True for g in groups)
    dev_groups = edge.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert all(g.inputs.get("deletionProtectionEnabled") is False for g in dev_groups)

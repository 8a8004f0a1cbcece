"""The REST API in front of the validator: routes, request models, gateway responses, the
stage with its access log and the deployment that follows the API's definition."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from txn_infra.components.masking import mask_card_data
from txn_spec import api_responses, shapes
from txn_spec.api_responses import IDEMPOTENCY_KEY_HEADER, REPLAYED_HEADER
from txn_spec.api_schema import REPORT_SCHEMA, REQUEST_SCHEMA

# PCI DSS 4.2.1 (strong cryptography in transit): the default execute-api endpoint of a regional
# REST API accepts TLS 1.0 unless the API sets a security policy. This one accepts TLS 1.3, and
# TLS 1.2 only with ECDHE key exchange and AES-GCM (no CBC, no RSA key transport), in AWS-LC's
# FIPS-validated module: the strictest policy AWS documents for a regional API that still lets
# a TLS 1.2 client in. Why not TLS 1.3 alone: stacks/edge/README.md.
TLS_SECURITY_POLICY = "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09"
# An enhanced (SecurityPolicy_*) policy requires an access mode. STRICT, which AWS recommends,
# also refuses a request whose Host is not the name its TLS handshake asked for (SNI) or that
# arrives through another endpoint type; a client calling the execute-api URL passes both.
ENDPOINT_ACCESS_MODE = "STRICT"

# One line of JSON per request: who, what, how it ended, how long it took. No body; of the
# headers, only the user agent (and the API key's id); and not
# $context.error.validationErrorString, which quotes the value the request model rejected (a
# card number in the wrong field, PCI DSS 3.3): no card data can reach the access log.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTime",
        "sourceIp": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "apiKeyId": "$context.identity.apiKeyId",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "protocol": "$context.protocol",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationLatency": "$context.integration.latency",
        "errorType": "$context.error.responseType",
        "errorMessage": "$context.error.message",
        "wafStatus": "$context.waf.status",
        "wafResponse": "$context.wafResponseCode",
        "xrayTraceId": "$context.xrayTraceId",
        # what each client negotiated: evidence for PCI DSS 4.2.1 that the security policy holds
        # (API Gateway documents both for monitoring a policy change)
        "tlsVersion": "$context.tlsVersion",
        "cipherSuite": "$context.cipherSuite",
    },
    separators=(",", ":"),
)


def definition_hash(definition: dict[str, object]) -> str:
    """A stable digest of the API's definition: a new value means a new deployment."""
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()


def read_back(
    resource: pulumi.CustomResource, arguments: Mapping[str, object]
) -> dict[str, pulumi.Output[Any]]:
    """The values ``resource`` holds for the ``arguments`` it was created with.

    Read from the resource, not from ``arguments``: whatever the resource ends up with (this
    code's values, or a transformation's) is what the deployment's trigger sees.
    """
    return {key: getattr(resource, key) for key in arguments}


@dataclass(frozen=True)
class TransactionApiArgs:
    api_name: str
    region: str
    stage_name: str
    path: str
    model_schema: str  # API Gateway model (draft-04 JSON text)
    report_path: str  # POST /fraud-reports (ADR 0013): same key, validator, stage and WAF
    report_model_schema: str
    # The function, or its live alias under SnapStart: what API Gateway invokes.
    validator_function_arn: pulumi.Input[str]
    validator_invoke_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    access_log_group_name: str
    audit_log_retention_days: int
    # Refuse to delete the access and execution log groups (prod): PCI DSS 10.5.1's 12 months
    # outlive any destroy of this layer (docs/deploy.md, section 8).
    audit_log_deletion_protection: bool
    throttle_rate_limit: float
    throttle_burst_limit: int
    throttled_metric_name: str  # the requests refused 429, from the access log (ADR 0025)


class TransactionApi(pulumi.ComponentResource):
    """REST API, ``POST /transaction`` and ``POST /fraud-reports`` with validation and Lambda
    proxy, deployment and stage."""

    def __init__(
        self, name: str, args: TransactionApiArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("txn:edge:TransactionApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # A deployment is a snapshot of the API: the REST API's settings, resources, methods and
        # their responses, validators, models, integrations and gateway responses (AWS: "Updates
        # to REST APIs that require redeployment"). Each of those resources is created from one
        # dict of arguments, and the same arguments, read back from the resource, make the
        # deployment's trigger. Only the ids that place a resource in this API are passed beside
        # the dict.
        snapshot: dict[str, Any] = {}

        def part(kind: Any, suffix: str, arguments: dict[str, Any], **placement: Any) -> Any:
            """One resource of the API: ``arguments`` go in the snapshot, ``placement`` not."""
            created = kind(f"{name}-{suffix}", **placement, **arguments, opts=child)
            snapshot[suffix] = read_back(created, arguments)
            return created

        self.api = part(
            aws.apigateway.RestApi,
            "api",
            {
                "name": args.api_name,
                "description": "Card transactions: POST /transaction, POST /fraud-reports",
                "endpoint_configuration": aws.apigateway.RestApiEndpointConfigurationArgs(
                    types="REGIONAL"
                ),
                "api_key_source": "HEADER",
                "security_policy": TLS_SECURITY_POLICY,
                "endpoint_access_mode": ENDPOINT_ACCESS_MODE,
            },
        )
        in_api = {"rest_api": self.api.id}

        def post_route(
            prefix: str,
            model_suffix: str,
            model: dict[str, Any],
            path: str,
            request_parameters: dict[str, bool],
            response_parameters: dict[str, bool],
        ) -> list[Any]:
            """``POST /<path>`` to the validator: its model, resource, method and 202, the
            proxy integration and the permission to invoke the function from exactly that
            path; returns what the deployment snapshots."""
            request_model = part(aws.apigateway.Model, model_suffix, model, **in_api)
            resource = part(
                aws.apigateway.Resource,
                f"{prefix}resource",
                {"path_part": path},
                parent_id=self.api.root_resource_id,
                **in_api,
            )
            on_resource = {**in_api, "resource_id": resource.id}
            method = part(
                aws.apigateway.Method,
                f"{prefix}post",
                {
                    "http_method": "POST",
                    "authorization": "NONE",
                    "api_key_required": True,
                    # "$default" too: API Gateway validates a body only against the model of its
                    # Content-Type and passes any other straight to the function ("Request
                    # validation": the $default content type applies one model to every type).
                    "request_models": {
                        "application/json": request_model.name,
                        "$default": request_model.name,
                    },
                    **({"request_parameters": request_parameters} if request_parameters else {}),
                },
                request_validator_id=validator.id,
                **on_resource,
            )
            method_response = part(
                aws.apigateway.MethodResponse,
                f"{prefix}post-202",
                {
                    "http_method": method.http_method,
                    "status_code": "202",
                    **({"response_parameters": response_parameters} if response_parameters else {}),
                },
                **on_resource,
            )
            integration = part(
                aws.apigateway.Integration,
                f"{prefix}integration",
                {
                    "http_method": method.http_method,
                    "type": "AWS_PROXY",
                    "integration_http_method": "POST",
                    "uri": args.validator_invoke_arn,
                },
                **on_resource,
            )
            aws.lambda_.Permission(
                f"{name}-invoke-validator" + (f"-{prefix.rstrip('-')}" if prefix else ""),
                action="lambda:InvokeFunction",
                # the ARN API Gateway invokes: a permission on the function does not cover an
                # alias
                function=args.validator_function_arn,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(
                    self.api.execution_arn, "/", args.stage_name, "/POST/", path
                ),
                opts=child,
            )
            return [method, method_response, integration, request_model]

        validator = part(
            aws.apigateway.RequestValidator,
            "validator",
            {
                "name": "body-and-parameters",
                "validate_request_body": True,
                "validate_request_parameters": True,
            },
            **in_api,
        )
        routes = post_route(
            "",
            "request-model",
            {
                "name": REQUEST_SCHEMA,
                "description": "TransactionRequest from api/openapi.yaml",
                "content_type": "application/json",
                "schema": args.model_schema,
            },
            args.path,
            {f"method.request.header.{IDEMPOTENCY_KEY_HEADER}": False},
            # The proxy passes the validator's headers through; the method declares the one a
            # replay carries, so the API's exported definition and its clients know it.
            {f"method.response.header.{REPLAYED_HEADER}": False},
        )
        # POST /fraud-reports: confirmed fraud and chargebacks (ADR 0013), the same key,
        # validator function, request validator, stage and WAF as POST /transaction.
        routes += post_route(
            "reports-",
            "report-model",
            {
                "name": REPORT_SCHEMA,
                "description": "FraudReport from api/openapi.yaml",
                "content_type": "application/json",
                "schema": args.report_model_schema,
            },
            args.report_path,
            {},
            {},
        )
        # The API's own error shape for every answer API Gateway makes itself, from the one
        # definition the local gateway answers with too (txn_spec.api_responses).
        responses = [
            part(
                aws.apigateway.Response,
                f"response-{response.response_type.lower().replace('_', '-')}",
                {
                    "response_type": response.response_type,
                    "response_templates": {"application/json": api_responses.template(response)},
                    **({"status_code": str(response.status)} if response.sets_status else {}),
                },
                rest_api_id=self.api.id,
            )
            for response in api_responses.GATEWAY_RESPONSES
        ]

        # Redeploy whenever what the API does changes: a deployment is a snapshot. The stage's
        # method settings (throttling, logging, metrics) are stage configuration, applied without
        # a redeployment, and depend on the stage, which depends on this deployment: not in it.
        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=self.api.id,
            description="POST /transaction, POST /fraud-reports",
            triggers={"definition": pulumi.Output.from_input(snapshot).apply(definition_hash)},
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*routes, validator, *responses],
            ),
        )

        # One line per request, read by Logs Insights in an investigation or an audit. Standard
        # class, as the function logs: only it masks card data (components/masking.py).
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=args.access_log_group_name,
            retention_in_days=args.audit_log_retention_days,
            deletion_protection_enabled=args.audit_log_deletion_protection,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )
        masking = [mask_card_data(f"{name}-access-logs-masking", self.access_logs, child)]
        self._count_throttled(name, args.throttled_metric_name)
        # API Gateway would create this group itself, unencrypted and kept forever.
        self.execution_logs = execution_logs = aws.cloudwatch.LogGroup(
            f"{name}-execution-logs",
            name=pulumi.Output.concat(
                "API-Gateway-Execution-Logs_", self.api.id, "/", args.stage_name
            ),
            retention_in_days=args.audit_log_retention_days,
            deletion_protection_enabled=args.audit_log_deletion_protection,
            kms_key_id=args.logs_key_arn,
            opts=child,
        )
        # An error's line may quote what the client sent (PCI DSS 3.5.1 applies to logs too).
        masking.append(mask_card_data(f"{name}-execution-logs-masking", execution_logs, child))
        # API Gateway writes both groups with the account's CloudWatch role, one setting per
        # account and region that the account bootstrap makes (stacks/account), not this layer.
        self.stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=self.api.id,
            deployment=self.deployment.id,
            stage_name=args.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[execution_logs, *masking]),
        )
        aws.apigateway.MethodSettings(
            f"{name}-method-settings",
            rest_api=self.api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                metrics_enabled=True,
                # ERROR keeps integration and gateway failures; INFO would log every request
                # at 1,000+ TPS for little more insight. Data tracing logs bodies: never.
                logging_level="ERROR",
                data_trace_enabled=False,
                throttling_rate_limit=args.throttle_rate_limit,
                throttling_burst_limit=args.throttle_burst_limit,
            ),
            opts=child,
        )
        self.endpoint_url = pulumi.Output.concat(self.stage.invoke_url, "/", args.path)
        self.register_outputs(
            {"rest_api_id": self.api.id, "stage_arn": self.stage.arn, "url": self.endpoint_url}
        )

    def _count_throttled(self, name: str, metric_name: str) -> None:
        """Count the requests API Gateway refused 429 (a key's usage plan, the stage's or the
        account's throttle, a daily quota) from the access log's fields, by error type (what
        the alarm reads: the types are known) and by API key and error type (who): the stage
        has no metric of its own for them, and its 4XXError mixes them with other refusals. No
        default value: a minute without one has no datapoint (the alarm fills it with 0)."""
        refused = " || ".join(
            f'($.errorType = "{response.response_type}")'
            for response in api_responses.THROTTLE_RESPONSES
        )
        fields = dict(zip(shapes.THROTTLE_DIMENSIONS, ("$.apiKeyId", "$.errorType"), strict=True))
        by_type = {shapes.ERROR_TYPE_DIMENSION: fields[shapes.ERROR_TYPE_DIMENSION]}
        for suffix, dimensions in (("by-type", by_type), ("by-key", fields)):
            aws.cloudwatch.LogMetricFilter(
                f"{name}-throttled-{suffix}",
                name=f"{metric_name}-{suffix}",
                log_group_name=self.access_logs.name,
                pattern=f"{{ {refused} }}",
                metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                    name=metric_name,
                    namespace=shapes.METRICS_NAMESPACE,
                    value="1",
                    unit="Count",
                    dimensions=dimensions,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

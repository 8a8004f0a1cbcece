"""The IAM census: every AWS call each function makes, as the deployed role would be asked for it.

Two sources, both read from the real code and the real stack programs (under Pulumi's mocks):

- **the handlers' calls**, recorded while the real handlers run against moto
  (:class:`Recorder`): the operation and its parameters, translated to the IAM action(s), the
  resource ARN the deployed names give (the local table, queue or topic name is mapped through
  the environment variable that holds it to the value ``compute`` sets), the VPC endpoint the call
  goes through (``aws:SourceVpce``), and the KMS calls the service makes with the caller's
  credentials for the resource's key (``kms:ViaService``);
- **what Lambda does with the function's role** outside the function's network, from the
  function's registered configuration: it delivers the logs (CloudWatch Logs, "Sending Lambda
  function logs to CloudWatch Logs"), which CloudWatch Logs encrypts with the group's key using
  the role's credentials (``kms:ViaService``), and the X-Ray segments
  (AWSXRayDaemonWriteAccess: the daemon relays segments and reads sampling data), manages the
  ENIs of a VPC function (AWSLambdaVPCAccessExecutionRole), polls the SQS event sources
  (ReceiveMessage, DeleteMessage, GetQueueAttributes, and kms:Decrypt for an SSE-KMS queue:
  "Configuring an Amazon SQS queue to trigger an AWS Lambda function") and decrypts the
  environment variables ("Securing Lambda environment variables"). These calls carry no
  ``aws:SourceVpce``.

:func:`problems` then holds the census against each role's policy: every call allowed, every
granted action used by some call the same statement allows.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client
import pytest

from tests.iam_eval import Request, Statement, action_matches, decide, matches
from txn_infra.offline import LayerRun, Resource


@dataclass(frozen=True)
class Call:
    """One request the deployed role would be asked for, and why it is made."""

    function: str  # the function's component: validator, fraud-detector, ...
    request: Request
    origin: str  # what made it: "handler PutItem", "event source mapping", ...

    def __str__(self) -> str:
        context = "".join(f" {k}={v}" for k, v in sorted(self.request.context.items()))
        return (
            f"{self.function}: {self.request.action} on {self.request.resource}{context} "
            f"({self.origin})"
        )


@dataclass(frozen=True)
class Recorded:
    """One API call a handler made through boto3, as the local run saw it."""

    function: str
    service: str  # the IAM prefix, which is botocore's signing name for these services
    operation: str
    params: Mapping[str, Any]
    environment: Mapping[str, str]  # the handler's environment when it made the call


class Recorder:
    """Records the boto3 calls made while a handler runs (``with recorder.running(...)``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.calls: list[Recorded] = []
        self._function: str | None = None
        original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

        def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if self._function is not None:
                service = client.meta.service_model.signing_name
                self.calls.append(
                    Recorded(self._function, service, operation, dict(params), dict(os.environ))
                )
            return original(client, operation, params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        self._function = function
        try:
            yield
        finally:
            self._function = None


@dataclass
class Deployment:
    """What the census needs of the dev system: names, ARNs, keys, endpoints and policies."""

    region: str
    account: str
    functions: dict[str, Resource]  # component -> aws:lambda Function
    policies: dict[str, list[Statement]]  # component -> its role's statements
    arns: dict[str, str] = field(default_factory=dict)  # table name, queue URL, topic ARN -> ARN
    keys: dict[str, str] = field(default_factory=dict)  # resource ARN -> its KMS key ARN
    endpoints: dict[str, str] = field(default_factory=dict)  # service -> VPC endpoint id
    sources: dict[str, list[str]] = field(default_factory=dict)  # component -> queue ARNs

    @classmethod
    def of(cls, runs: Mapping[str, LayerRun]) -> Deployment:
        roles = {
            arn.rpartition("/")[2]: key.removesuffix("_role_arn").replace("_", "-")
            for key, arn in runs["security"].exports.items()
            if key.endswith("_role_arn")
        }
        policies = {
            roles[str(p.inputs["role"])]: list(json.loads(p.inputs["policy"])["Statement"])
            for p in runs["security"].of_type("aws:iam/rolePolicy:RolePolicy")
        }
        functions = {
            roles[str(f.inputs["role"]).rpartition("/")[2]]: f
            for f in runs["compute"].of_type("aws:lambda/function:Function")
        }
        arn = next(iter(functions.values())).outputs["arn"]
        _, _, _, region, account, _ = arn.split(":", 5)
        d = cls(region, account, functions, {c: policies[c] for c in functions})
        data = runs["data"]
        for table in data.of_type("aws:dynamodb/table:Table"):
            d.arns[table.physical_name] = table.outputs["arn"]
            d.keys[table.outputs["arn"]] = table.inputs["serverSideEncryption"]["kmsKeyArn"]
        for queue in data.of_type("aws:sqs/queue:Queue"):
            d.arns[queue.outputs["url"]] = queue.outputs["arn"]
            d.keys[queue.outputs["arn"]] = queue.inputs["kmsMasterKeyId"]
        for topic in data.of_type("aws:sns/topic:Topic"):
            d.arns[topic.outputs["arn"]] = topic.outputs["arn"]
            d.keys[topic.outputs["arn"]] = topic.inputs["kmsMasterKeyId"]
        for endpoint in runs["network"].of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
            d.endpoints[endpoint.inputs["serviceName"].rpartition(".")[2]] = endpoint.id
        by_arn = {f.outputs["arn"]: c for c, f in functions.items()}
        for group in runs["compute"].of_type("aws:cloudwatch/logGroup:LogGroup"):
            d.keys[d.arn("logs", f"log-group:{group.inputs['name']}")] = group.inputs["kmsKeyId"]
        for mapping in runs["compute"].of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
            component = by_arn[mapping.inputs["functionName"].removesuffix(":live")]
            d.sources.setdefault(component, []).append(mapping.inputs["eventSourceArn"])
        return d

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def via(self, service: str) -> dict[str, str]:
        return {"kms:ViaService": f"{service}.{self.region}.amazonaws.com"}


# PartiQL statements are authorised per statement, by verb (DynamoDB's "IAM policies with PartiQL").
_PARTIQL = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM|SELECT .+? FROM)\s+"([^"]+)"', re.I)
_PARTIQL_ACTION = {"INSERT": "PartiQLInsert", "UPDATE": "PartiQLUpdate", "DELETE": "PartiQLDelete"}
# Batch operations authorised as their single-item action.
_SAME_AS = {"PublishBatch": "Publish", "SendMessageBatch": "SendMessage"}
# Who encrypts with the resource's key on the caller's behalf, and with which KMS actions: SQS
# and SNS producers need GenerateDataKey and Decrypt, a DynamoDB reader or writer Decrypt (the
# table key). Each call through the service is made with the caller's credentials.
_KEY_USE = {
    "sqs": ("kms:GenerateDataKey", "kms:Decrypt"),
    "sns": ("kms:GenerateDataKey", "kms:Decrypt"),
    "dynamodb": ("kms:Decrypt",),
}


def _targets(call: Recorded, resolve: Callable[[str], str]) -> list[tuple[str, str]]:
    """(action, resource ARN) pairs IAM authorises for one recorded call."""
    p, op = call.params, _SAME_AS.get(call.operation, call.operation)
    if call.service == "dynamodb":
        if "TableName" in p:
            return [(f"dynamodb:{op}", resolve(p["TableName"]))]
        if "RequestItems" in p:
            return [(f"dynamodb:{op}", resolve(t)) for t in p["RequestItems"]]
        if "Statements" in p:
            out = []
            for s in p["Statements"]:
                m = _PARTIQL.match(s["Statement"])
                if m is None:
                    raise AssertionError(f"census: cannot read PartiQL {s['Statement']!r}")
                verb = m.group(1).split()[0].upper()
                action = _PARTIQL_ACTION.get(verb, "PartiQLSelect")
                out.append((f"dynamodb:{action}", resolve(m.group(2))))
            return out
    if call.service == "sqs" and "QueueUrl" in p:
        return [(f"sqs:{op}", resolve(p["QueueUrl"]))]
    if call.service == "sns" and "TopicArn" in p:
        return [(f"sns:{op}", resolve(p["TopicArn"]))]
    raise AssertionError(f"census: no IAM mapping for {call.service} {call.operation}; add one")


def _resolver(d: Deployment, call: Recorded) -> Callable[[str], str]:
    """Local name -> deployed ARN, through the environment variable that holds the name."""
    deployed = d.functions[call.function].inputs["environment"]["variables"]
    local = {call.environment.get(k): v for k, v in deployed.items()}

    def resolve(name: str) -> str:
        if name not in local or local[name] not in d.arns:
            raise AssertionError(
                f"census: {call.function} called {call.operation} on {name!r}, which no "
                "environment variable compute sets names"
            )
        return d.arns[local[name]]

    return resolve


def handler_calls(d: Deployment, recorded: Sequence[Recorded]) -> list[Call]:
    """The recorded calls as the deployed role would be asked for them, key use included."""
    out: list[Call] = []
    for call in recorded:
        endpoint = d.endpoints.get(call.service)
        context = {"aws:SourceVpce": endpoint} if endpoint else {}
        for action, resource in _targets(call, _resolver(d, call)):
            out.append(
                Call(call.function, Request(action, resource, context), f"handler {call.operation}")
            )
            for kms in _KEY_USE.get(call.service, ()):
                key = Request(kms, d.keys[resource], d.via(call.service))
                out.append(
                    Call(call.function, key, f"{call.service} {call.operation} uses its key")
                )
    return out


SQS_EVENT_SOURCE = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
XRAY_DAEMON = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)
ENI_MANAGEMENT = (
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def platform_calls(d: Deployment) -> list[Call]:
    """What Lambda does with each function's role, from the function's registered config."""
    return [
        Call(component, Request(action, resource, context), origin)
        for component, fn in d.functions.items()
        for action, resource, origin, context in _lambda_uses(d, component, fn.inputs)
    ]


def _lambda_uses(
    d: Deployment, component: str, i: Mapping[str, Any]
) -> Iterator[tuple[str, str, str, dict[str, str]]]:
    group = i["loggingConfig"]["logGroup"]
    stream = d.arn("logs", f"log-group:{group}:log-stream:2026/01/01/[$LATEST]0")
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        yield action, stream, "Lambda delivers the function's logs", {}
    # CloudWatch Logs encrypts them with the group's key using the writer's credentials
    # (kms:ViaService; what AWS's CloudWatchLogsAPIKeyAccess grants a PutLogEvents caller).
    group_arn = d.arn("logs", f"log-group:{group}")
    encrypting = {**d.via("logs"), "kms:EncryptionContext:aws:logs:arn": group_arn}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield action, d.keys[group_arn], "CloudWatch Logs encrypts the logs", encrypting
    yield "kms:DescribeKey", d.keys[group_arn], "CloudWatch Logs reads the key", d.via("logs")
    if (i.get("tracingConfig") or {}).get("mode") == "Active":
        for action in XRAY_DAEMON:
            yield action, "*", "Lambda's X-Ray daemon", {}
    if i.get("vpcConfig"):
        vpc = i["vpcConfig"]
        for resource in (
            d.arn("ec2", "network-interface/*"),
            *(d.arn("ec2", f"subnet/{s}") for s in vpc["subnetIds"]),
            *(d.arn("ec2", f"security-group/{g}") for g in vpc["securityGroupIds"]),
        ):
            yield "ec2:CreateNetworkInterface", resource, "Lambda creates the function's ENI", {}
        for action in ENI_MANAGEMENT:
            yield action, d.arn("ec2", "network-interface/eni-0"), "Lambda manages the ENI", {}
        for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"):
            yield action, "*", "Lambda checks the VPC configuration", {}
    for queue in d.sources.get(component, []):
        for action in SQS_EVENT_SOURCE:
            yield action, queue, "event source mapping polls", {}
        yield "kms:Decrypt", d.keys[queue], "event source mapping reads", d.via("sqs")
    if i.get("kmsKeyArn"):
        yield "kms:Decrypt", i["kmsKeyArn"], "Lambda decrypts the environment", d.via("lambda")


def problems(policies: Mapping[str, Sequence[Statement]], calls: Sequence[Call]) -> list[str]:
    """Every call the role does not allow, and every granted action no allowed call uses."""
    found: list[str] = []
    for call in calls:
        decision = decide(policies[call.function], call.request)
        if not decision.allowed:
            found.append(f"not allowed ({decision.effect}): {call}")
    for function, statements in policies.items():
        own = [c.request for c in calls if c.function == function]
        for s in statements:
            if s["Effect"] != "Allow":
                continue
            for action in s["Action"] if isinstance(s["Action"], list) else [s["Action"]]:
                grant = {**s, "Action": action}
                if not any(action_matches(grant, r.action) and matches(grant, r) for r in own):
                    found.append(
                        f"unused grant: {function}: {s.get('Sid')} {action} on {s['Resource']}"
                    )
    return found


def endpoint_problems(calls: Sequence[Call], endpoints: Mapping[str, str]) -> list[str]:
    """An interface endpoint (``endpoints``: service -> Interface or Gateway) no handler call goes
    through, and a service the handlers call from the VPC with no endpoint (no NAT, no IGW)."""
    from_the_vpc = {c.request.action.split(":")[0] for c in calls if c.origin.startswith("handler")}
    unused = [
        f"interface endpoint {s}: no handler calls {s} from inside the VPC"
        for s, kind in sorted(endpoints.items())
        if kind == "Interface" and s not in from_the_vpc
    ]
    missing = [
        f"no endpoint for {s}, which the handlers call from inside the VPC"
        for s in sorted(from_the_vpc - set(endpoints))
    ]
    return unused + missing

"""The embedded AWS: every service on one port of 127.0.0.1, and the resources the stacks declare.

Two moto processes share the work across both cores behind that one endpoint
(:mod:`txn_local.motoserver`): the front answers SQS, the busiest service, and SNS, which
delivers to SQS in-process; it forwards DynamoDB, KMS, API Gateway and any other service to the
second. boto3 and the AWS CLI need only ``AWS_ENDPOINT_URL`` (or ``--endpoint-url``), so the
handlers run unchanged; the runtime's own functions also get DynamoDB's server directly
(:meth:`EmbeddedAws.internal_endpoints`), a hop less per call.

Every resource is created from the shapes in :mod:`txn_spec.shapes` and named by
:func:`txn_spec.naming.physical_name`, exactly as the ``security``, ``data`` and ``edge``
stacks declare them: same keys, indexes, TTL attributes, queue timings and redrive.
"""

from __future__ import annotations

import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer
from botocore.config import Config

from txn_local.callcount import OBSERVER_AGENT, Calls
from txn_local.errors import LocalError
from txn_local.motoserver import Forward, MotoServer
from txn_local.traffic import UNBOUND_KEY_VALUE
from txn_spec import shapes
from txn_spec.naming import physical_name

APP = "txn"
ENVIRONMENT = "local"
REGION = "us-east-2"
# moto's fixed account; fake credentials are all it needs.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
KMS_KEY_COMPONENT = "data"
DEFAULT_AWS_PORT = 4566
# The local API key, named as the one key of edge's default config (``apiKeys``), and another
# provider's, which no merchant names (the demo's ``unbound_key`` requests)
LOCAL_KEY = "provider"
OTHER_KEY = "other-provider"

_CLIENT_CONFIG = Config(
    max_pool_connections=64,
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=30,
)


def name(component: str) -> str:
    """The physical name of ``component`` in the local environment."""
    return physical_name(APP, ENVIRONMENT, component)


def make_client(service: str, url: str, *, observer: bool = False) -> Any:
    """A boto3 client for ``service`` at ``url`` with the runtime's own settings (not the
    functions'): a large connection pool, fake credentials, calls counted apart when
    ``observer``."""
    config = _CLIENT_CONFIG
    if observer:
        config = config.merge(Config(user_agent_extra=OBSERVER_AGENT))
    return boto3.session.Session().client(
        service, endpoint_url=url, region_name=REGION, config=config, **CREDENTIALS
    )


@dataclass(frozen=True)
class Resources:
    """What :meth:`EmbeddedAws.provision` created: the names and URLs handlers need."""

    tables: dict[str, str]  # shape component -> table name
    queue_urls: dict[str, str]  # shape component -> queue URL
    queue_arns: dict[str, str]
    topic_arn: str
    kms_key_id: str
    rest_api_id: str
    api_key: str
    merchants: tuple[dict[str, Any], ...] = field(default=())

    def table(self, shape: shapes.TableShape) -> str:
        return self.tables[shape.component]

    def queue_url(self, shape: shapes.QueueShape) -> str:
        return self.queue_urls[shape.component]

    def function_environment(self) -> dict[str, str]:
        """The ``Env.*`` variables ``compute`` sets on the functions, with local values."""
        return {
            shapes.Env.TRANSACTIONS_TABLE: self.table(shapes.TRANSACTIONS_TABLE),
            shapes.Env.MERCHANTS_TABLE: self.table(shapes.MERCHANTS_TABLE),
            shapes.Env.IDEMPOTENCY_TABLE: self.table(shapes.IDEMPOTENCY_TABLE),
            shapes.Env.VELOCITY_TABLE: self.table(shapes.VELOCITY_TABLE),
            shapes.Env.TRANSACTIONS_QUEUE_URL: self.queue_url(shapes.TRANSACTIONS_QUEUE),
            shapes.Env.FRAUD_ALERTS_TOPIC_ARN: self.topic_arn,
        }


class EmbeddedAws:
    """Starts and stops the moto servers and creates the resources on them."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_AWS_PORT):
        self.host = host
        self._front = MotoServer(host, port, "sqs")  # port 0 (tests): a free port
        self._back = MotoServer(host, 0, "aws")
        self.url: str | None = None  # the one endpoint, once started
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def start(self) -> str:
        """Start both servers (they import moto at once); returns the endpoint."""
        try:
            self._back.launch()
            self._front.launch()
            self._back.wait_ready()
            self._front.wait_ready(forward_to=self._back.url)
        except BaseException:
            self.stop()
            raise
        self.url = self._front.url
        return self.url

    def stop(self) -> None:
        self._front.stop()
        self._back.stop()
        self._clients.clear()

    def client(self, service: str, *, observer: bool = False) -> Any:
        """A boto3 client for ``service`` on the embedded AWS (one per service: they are
        thread-safe and take a tenth of a second to build).

        ``observer=True``: a client for watching the pipeline (queue depths, reading results
        back), whose calls the servers count apart from the pipeline's (:meth:`calls`).
        """
        if self.url is None:
            raise RuntimeError("the embedded AWS is not started")
        key = f"{service}/observer" if observer else service
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = make_client(service, self.url, observer=observer)
            return self._clients[key]

    def server_pids(self) -> dict[str, int]:
        """The moto server processes by label (``sqs``: the front, ``aws``), for their CPU."""
        return {s.label: s.pid for s in (self._front, self._back) if s.pid}

    def internal_endpoints(self) -> dict[str, str]:
        """The runtime's own functions reach DynamoDB's server directly (botocore's per-service
        ``AWS_ENDPOINT_URL_DYNAMODB``), a hop less than through the front; every other client
        uses the one endpoint."""
        return {"AWS_ENDPOINT_URL_DYNAMODB": self._back.url}

    def calls(self) -> dict[str, Calls]:
        """AWS API calls the embedded AWS answered so far, by service and operation: each
        service's from the server that answers it (the front forwards, and counts, the others'
        calls it receives; the second server counts them all, direct ones included):
        ``{"calls": {service: {operation: n}}, "observer": {...}}``."""
        front, back = self._front.calls(), self._back.calls()
        return {
            kind: {
                **{s: ops for s, ops in back[kind].items() if s not in Forward.LOCAL},
                **{s: ops for s, ops in front[kind].items() if s in Forward.LOCAL},
            }
            for kind in front
        }

    def provision(self, *, api_key: str | None = None, merchants_file: Path | None) -> Resources:
        """Create every resource and seed the merchants; returns their names."""
        kms_key_id = self._create_kms_key()
        # moto loads each service on first use (up to a second): create in parallel.
        with ThreadPoolExecutor(max_workers=8) as pool:
            table_futures = {
                shape.component: pool.submit(self._create_table, shape, kms_key_id)
                for shape in shapes.TABLES
            }
            queues = pool.submit(self._create_queues, kms_key_id)
            topic = pool.submit(
                lambda: self.client("sns").create_topic(
                    Name=name(shapes.FRAUD_ALERTS_TOPIC.component),
                    Attributes={"KmsMasterKeyId": kms_key_id},
                )["TopicArn"]
            )
            api = pool.submit(self._create_api, api_key or secrets.token_urlsafe(30))
            tables = {component: future.result() for component, future in table_futures.items()}
            queue_urls, queue_arns = queues.result()
            topic_arn = topic.result()
            rest_api_id, key_value, key_id = api.result()
        # The local key may post for every merchant that names no keys of its own (ADR 0024)
        merchants = tuple(
            {"api_key_ids": {key_id}, **merchant}
            for merchant in (load_merchants(merchants_file) if merchants_file else ())
        )
        self._seed(tables[shapes.MERCHANTS_TABLE.component], merchants)
        return Resources(
            tables=tables,
            queue_urls=queue_urls,
            queue_arns=queue_arns,
            topic_arn=topic_arn,
            kms_key_id=kms_key_id,
            rest_api_id=rest_api_id,
            api_key=key_value,
            merchants=merchants,
        )

    # --- resources ------------------------------------------------------------------------------

    def _create_kms_key(self) -> str:
        kms = self.client("kms")
        key_id = kms.create_key(
            Description="txn local: tables, queues and topic", KeyUsage="ENCRYPT_DECRYPT"
        )["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=key_id)
        kms.create_alias(AliasName=f"alias/{name(KMS_KEY_COMPONENT)}", TargetKeyId=key_id)
        return key_id

    def _create_table(self, shape: shapes.TableShape, kms_key_id: str) -> str:
        dynamodb = self.client("dynamodb")
        table_name = name(shape.component)
        key_schema = [{"AttributeName": shape.hash_key, "KeyType": "HASH"}]
        if shape.range_key:
            key_schema.append({"AttributeName": shape.range_key, "KeyType": "RANGE"})
        arguments: dict[str, Any] = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": key_schema,
            "AttributeDefinitions": [
                {"AttributeName": attribute, "AttributeType": kind}
                for attribute, kind in shape.attributes.items()
            ],
            "SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key_id},
        }
        if shape.indexes:
            arguments["GlobalSecondaryIndexes"] = [_index(index) for index in shape.indexes]
        dynamodb.create_table(**arguments)
        if shape.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": shape.ttl_attribute},
            )
        return table_name

    def _create_queues(self, kms_key_id: str) -> tuple[dict[str, str], dict[str, str]]:
        sqs = self.client("sqs")
        urls: dict[str, str] = {}
        arns: dict[str, str] = {}
        # A queue's DLQ must exist first: the end of the redrive chain comes first.
        for shape in sorted(shapes.QUEUES, key=_redrive_depth):
            attributes = {
                "VisibilityTimeout": str(shape.visibility_timeout_seconds),
                "MessageRetentionPeriod": str(shape.message_retention_seconds),
                "ReceiveMessageWaitTimeSeconds": str(shape.receive_wait_time_seconds),
                "KmsMasterKeyId": kms_key_id,
            }
            if shape.dead_letter is not None:
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": arns[shape.dead_letter.component],
                        "maxReceiveCount": shape.max_receive_count,
                    }
                )
            url = sqs.create_queue(QueueName=name(shape.component), Attributes=attributes)[
                "QueueUrl"
            ]
            urls[shape.component] = url
            arns[shape.component] = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        return urls, arns

    def _create_api(self, key_value: str) -> tuple[str, str, str]:
        """The REST API, ``POST /transaction`` (API key required), stage, two API keys each on
        a usage plan of its own: the API's id, the runtime's key's value and id."""
        apigateway = self.client("apigateway")
        api_id = apigateway.create_rest_api(
            name=name(shapes.API_COMPONENT), endpointConfiguration={"types": ["REGIONAL"]}
        )["id"]
        root = next(
            item["id"]
            for item in apigateway.get_resources(restApiId=api_id)["items"]
            if item["path"] == "/"
        )
        resource_id = apigateway.create_resource(
            restApiId=api_id, parentId=root, pathPart=shapes.API_PATH
        )["id"]
        apigateway.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="POST",
            authorizationType="NONE",
            apiKeyRequired=True,
        )
        function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{name('validator')}"
        apigateway.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="POST",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        )
        apigateway.create_deployment(restApiId=api_id, stageName=shapes.API_STAGE)
        keys = {
            provider: apigateway.create_api_key(
                name=name(shapes.api_key_component(provider)), enabled=True, value=value
            )
            for provider, value in ((LOCAL_KEY, key_value), (OTHER_KEY, UNBOUND_KEY_VALUE))
        }
        for provider, key in keys.items():  # each on a plan of its own, as edge makes them
            plan_id = apigateway.create_usage_plan(
                name=name(shapes.usage_plan_component(provider)),
                apiStages=[{"apiId": api_id, "stage": shapes.API_STAGE}],
            )["id"]
            apigateway.create_usage_plan_key(
                usagePlanId=plan_id, keyId=key["id"], keyType="API_KEY"
            )
        return api_id, keys[LOCAL_KEY]["value"], keys[LOCAL_KEY]["id"]

    def _seed(self, table_name: str, merchants: tuple[dict[str, Any], ...]) -> None:
        dynamodb = self.client("dynamodb")
        serializer = TypeSerializer()
        items = [
            {"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in merchant.items()}}}
            for merchant in merchants
        ]
        for start in range(0, len(items), 25):
            pending: dict[str, Any] = {table_name: items[start : start + 25]}
            while pending:
                pending = dynamodb.batch_write_item(RequestItems=pending)["UnprocessedItems"]


def load_merchants(path: Path) -> tuple[dict[str, Any], ...]:
    """The demo merchants: a JSON list of merchant items (numbers kept exact as Decimal)."""
    try:
        data = json.loads(path.read_text(), parse_float=Decimal)
    except FileNotFoundError:
        raise LocalError("fixture_missing", f"no merchants fixture at {path}") from None
    except json.JSONDecodeError as error:
        raise LocalError("fixture_invalid", f"{path} is not JSON: {error}") from None
    if isinstance(data, dict) and "merchants" in data:
        data = data["merchants"]
    if not isinstance(data, list) or not all(
        isinstance(m, dict) and isinstance(m.get("merchant_id"), str) for m in data
    ):
        raise LocalError(
            "fixture_invalid", f"{path} must be a list of objects, each with a merchant_id"
        )
    return tuple(data)


def _index(index: shapes.Index) -> dict[str, Any]:
    key_schema = [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
    if index.range_key:
        key_schema.append({"AttributeName": index.range_key, "KeyType": "RANGE"})
    projection: dict[str, Any] = {"ProjectionType": index.projection}
    if index.non_key_attributes:
        projection["NonKeyAttributes"] = list(index.non_key_attributes)
    return {"IndexName": index.name, "KeySchema": key_schema, "Projection": projection}


def _redrive_depth(shape: shapes.QueueShape) -> int:
    """How many queues sit behind ``shape`` in its redrive chain (parking 0, DLQ 1, main 2)."""
    depth = 0
    while shape.dead_letter is not None:
        shape = shape.dead_letter
        depth += 1
    return depth

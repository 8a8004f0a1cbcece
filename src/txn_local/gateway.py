"""The local API Gateway: ``POST /transaction`` and ``POST /fraud-reports`` on 127.0.0.1, in
front of the validator.

It does what the REST API in the ``edge`` stack does before and after the Lambda proxy
integration, in the same order: route (anything but those two gets API Gateway's
``MISSING_AUTHENTICATION_TOKEN``, 404 in the API's shape), size limit, API key (checked against
the key the embedded API Gateway holds through its usage plan), request validation against the
route's OpenAPI schema (``TransactionRequest``, ``FraudReport``), then a REST proxy event
(payload v1) for the validator, whose answer goes back to the client. A handler error or a
malformed answer is a 502, as in AWS.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import fastjsonschema
from botocore.endpoint import MAX_POOL_CONNECTIONS

from txn_local.errors import LocalError
from txn_local.invoke import LocalFunction
from txn_local.motoserver import http_server, reason_phrase
from txn_spec import api_responses, api_schema, shapes
from txn_spec.api_responses import GatewayResponse

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080
KEY_REFRESH_SECONDS = 2.0
# Worker threads: requests wait for one in cheroot's queue, never in the kernel's backlog.
THREADS = 32
# A Lambda instance serves one request at a time with its own clients; here one loaded validator
# serves them all, with one connection pool per client (botocore keeps 10 connections). At most
# that many invocations run at once, so each SendMessage reuses a kept-alive connection: with
# more, urllib3 opened and dropped a connection per extra call (CPU on both sides).
VALIDATOR_SLOTS = MAX_POOL_CONNECTIONS


# --- request schema ------------------------------------------------------------------------------


def load_request_schema(openapi_path: Path, model: str = api_responses.REQUEST_MODEL) -> dict:
    """The draft-04 JSON schema of ``model``: the very one API Gateway's request model holds
    (:func:`txn_spec.api_schema.model_schema`), so both refuse the same bodies."""
    try:
        return api_schema.model_schema(api_schema.load_document(openapi_path), model)
    except api_schema.SchemaError as error:
        code = "openapi_missing" if not openapi_path.is_file() else "openapi_invalid"
        raise LocalError(code, str(error)) from None


BodyCheck = Callable[[Any], Any]


def compile_body_check(schema: dict) -> BodyCheck:
    """Compiled once; raises ``fastjsonschema.JsonSchemaException`` for a bad body."""
    return fastjsonschema.compile(schema)


# --- API keys ------------------------------------------------------------------------------------


class ApiKeys:
    """The enabled keys of the usage plans bound to the API's stage, read from API Gateway.

    Cached; an unknown key triggers a refresh at most every ``KEY_REFRESH_SECONDS``, so a key
    created or disabled through the embedded API Gateway takes effect within seconds.
    """

    def __init__(self, apigateway: Any, rest_api_id: str, stage: str = shapes.API_STAGE):
        self._apigateway = apigateway
        self._api_id = rest_api_id
        self._stage = stage
        self._keys: dict[str, str] = {}  # value -> key id
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def key_id(self, value: str | None) -> str | None:
        if not value:
            return None
        key_id = self._keys.get(value)
        if key_id is None and time.monotonic() - self._loaded_at > KEY_REFRESH_SECONDS:
            self.refresh()
            key_id = self._keys.get(value)
        return key_id

    def refresh(self) -> None:
        with self._lock:
            keys: dict[str, str] = {}
            for plan in self._apigateway.get_usage_plans()["items"]:
                stages = {(s.get("apiId"), s.get("stage")) for s in plan.get("apiStages", [])}
                if (self._api_id, self._stage) not in stages:
                    continue
                for plan_key in self._apigateway.get_usage_plan_keys(usagePlanId=plan["id"])[
                    "items"
                ]:
                    key = self._apigateway.get_api_key(apiKey=plan_key["id"], includeValue=True)
                    if key.get("enabled"):
                        keys[key["value"]] = key["id"]
            self._keys = keys
            self._loaded_at = time.monotonic()


# --- proxy event ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


def proxy_event(
    request: Request,
    *,
    rest_api_id: str,
    account_id: str,
    api_key: str,
    api_key_id: str,
    host: str,
    port: int,
    resource: str = shapes.API_RESOURCE,
) -> dict[str, Any]:
    """An API Gateway REST proxy event (payload format 1.0) for ``request`` on ``resource``."""
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for header, value in request.headers:
        headers[header] = value
        multi_headers.setdefault(header, []).append(value)
    added = {
        "X-Forwarded-For": request.source_ip,
        "X-Forwarded-Port": str(port),
        "X-Forwarded-Proto": "http",
        "X-Amzn-Trace-Id": f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}",
    }
    for header, value in added.items():
        headers.setdefault(header, value)
        multi_headers.setdefault(header, [value])
    pairs = parse_qsl(request.query, keep_blank_values=True)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for key, value in pairs:
        query[key] = value
        multi_query.setdefault(key, []).append(value)
    try:
        body: str | None = request.body.decode() if request.body else None
        is_base64 = False
    except UnicodeDecodeError:  # a REST API without binary media types would mangle it
        body, is_base64 = base64.b64encode(request.body).decode(), True
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{shapes.API_STAGE}{request.path}",
            "accountId": account_id,
            "protocol": "HTTP/1.1",
            "stage": shapes.API_STAGE,
            "domainPrefix": rest_api_id,
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": headers.get("User-Agent") or headers.get("user-agent"),
                "user": None,
                "apiKey": api_key,
                "apiKeyId": api_key_id,
            },
            "domainName": f"{host}:{port}",
            "apiId": rest_api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


# --- responses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def gateway(cls, response: GatewayResponse) -> Response:
        body = json.dumps(api_responses.body(response)).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", response.response_type),
        ]
        return cls(response.status, headers, body)


def from_proxy_result(result: Any) -> Response:
    """The client's answer from the handler's proxy result; 502 when it is malformed."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return Response.gateway(api_responses.DEFAULT_5XX)
    headers: list[tuple[str, str]] = []
    for header, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(header, str(value)) for value in values]
    single = result.get("headers") or {}
    named = {header.lower() for header, _ in headers}
    headers += [(h, str(v)) for h, v in single.items() if h.lower() not in named]
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        return Response.gateway(api_responses.DEFAULT_5XX)
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(body)
    else:
        payload = body.encode()
    if not any(header.lower() == "content-type" for header, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return Response(result["statusCode"], headers, payload)


# --- the server ----------------------------------------------------------------------------------


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The request's body (one byte past the limit at most), or ``None`` when the client's
    framing is broken (a chunk size that is not hex): a 400 in the API's error shape, not the
    server's bare 500."""
    try:
        body: bytes = environ["wsgi.input"].read(api_responses.MAX_BODY_BYTES + 1)
    except ValueError:
        return None
    return body


class Gateway:
    """The HTTP front door, a WSGI app served by cheroot (a thread pool with HTTP/1.1
    keep-alive and a deep listen backlog); ``start()`` listens, ``stop()`` stops accepting,
    cuts the idle keep-alive connections and lets the requests in flight finish."""

    def __init__(
        self,
        *,
        validator: LocalFunction,
        body_check: BodyCheck,
        api_keys: ApiKeys,
        report_check: BodyCheck | None = None,
        rest_api_id: str,
        account_id: str,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
    ):
        self.validator = validator
        self.body_check = body_check
        self.api_keys = api_keys
        # resource -> its request model's check; POST /fraud-reports when given its model
        self.routes = {shapes.API_RESOURCE: body_check}
        if report_check is not None:
            self.routes[shapes.FRAUD_REPORTS_RESOURCE] = report_check  # ADR 0013
        self.rest_api_id = rest_api_id
        self.account_id = account_id
        self.dashboard: Any = None  # the runtime attaches its txn_local.dashboard.Dashboard
        self.host = host
        self.requested_port = port
        self._server: Any = None
        self._listening_port = 0  # kept after stop(): requests in flight still finish
        self._validator_slots = threading.BoundedSemaphore(VALIDATOR_SLOTS)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the gateway is not started")
        return self._listening_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._server = http_server(
            self.host, self.requested_port, self, threads=THREADS, what="the local API gateway"
        )
        self._listening_port = self._server.bind_addr[1]
        threading.Thread(target=self._server.serve, name="gateway", daemon=True).start()

    def stop(self) -> None:
        """Stop accepting and close the idle keep-alive connections, as a process that goes
        away does."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """WSGI: the request as API Gateway receives it, then :meth:`handle`."""
        if int(environ.get("CONTENT_LENGTH") or 0) > api_responses.MAX_BODY_BYTES:
            response = Response.gateway(api_responses.REQUEST_TOO_LARGE)  # 413: cheroot closes
        elif (body := _read_body(environ)) is None:
            response = Response.gateway(api_responses.BAD_REQUEST_BODY)
        else:
            headers = [
                (key.removeprefix("HTTP_").replace("_", "-").title(), value)
                for key, value in environ.items()
                if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
            ]
            request = Request(
                method=environ["REQUEST_METHOD"],
                path=environ.get("PATH_INFO") or "/",
                query=environ.get("QUERY_STRING", ""),
                headers=headers,
                body=body,
                source_ip=environ.get("REMOTE_ADDR", ""),
            )
            response = self.handle(request)
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {reason_phrase(response.status)}", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [response.body]

    def handle(self, request: Request) -> Response:
        """One request: the dashboard's, or API Gateway's steps (:meth:`answer`), metered."""
        if self.dashboard is not None:
            return self.dashboard.handle(request, self.answer)
        return self.answer(request)

    def answer(self, request: Request) -> Response:
        """API Gateway's steps for one request, in API Gateway's order."""
        body_check = self.routes.get(request.path)
        if body_check is None or request.method != "POST":
            return Response.gateway(api_responses.MISSING_AUTHENTICATION_TOKEN)
        if len(request.body) > api_responses.MAX_BODY_BYTES:
            return Response.gateway(api_responses.REQUEST_TOO_LARGE)
        api_key = next((v for h, v in request.headers if h.lower() == "x-api-key"), None)
        key_id = self.api_keys.key_id(api_key)
        if key_id is None or api_key is None:
            return Response.gateway(api_responses.INVALID_API_KEY)
        try:
            body_check(json.loads(request.body))
        # RecursionError: a body nested thousands deep (API Gateway refuses it as a bad body)
        except (ValueError, RecursionError, fastjsonschema.JsonSchemaException):
            return Response.gateway(api_responses.BAD_REQUEST_BODY)
        event = proxy_event(
            request,
            rest_api_id=self.rest_api_id,
            account_id=self.account_id,
            api_key=api_key,
            api_key_id=key_id,
            host=self.host,
            port=self._listening_port,
            resource=request.path,
        )
        try:
            with self._validator_slots:
                result = self.validator.invoke(event)
        except Exception:
            # The Lambda failed: API Gateway answers 502; the error is in the function's log.
            log.exception("the %s handler raised", self.validator.physical_name)
            return Response.gateway(api_responses.DEFAULT_5XX)
        return from_proxy_result(result)

"""The whole pipeline on this machine: embedded AWS, gateway, functions and pollers.

``with LocalRuntime(RuntimeConfig()) as runtime:`` starts moto, creates the resources, sets
the functions' environment, imports the handlers (or takes injected ones), opens the gateway
and starts the pollers; leaving the block stops accepting requests, lets the pollers finish the
batches they hold, and stops moto.

Four processes share the work: two moto servers behind one endpoint
(:mod:`txn_local.embedded`), this one (the gateway and the validator) and the consumer process
(:mod:`txn_local.consumer`: the pollers, the fraud detector and the failed-transaction
function), so the two halves of the pipeline do not
queue for one GIL. With injected handlers (callables of this process: tests, fault scenarios
that hook the functions' clients) the pollers run here instead, as they do with
``consumer_process=False``.

The validator lives in this process, so there is one runtime per process: handlers read their
settings and create their boto3 clients when first imported.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from txn_local import dashboard, embedded
from txn_local.consumer import ConsumerProcess, ConsumerSpec, SourceSpec
from txn_local.embedded import EmbeddedAws, Resources
from txn_local.gateway import ApiKeys, Gateway, compile_body_check, load_request_schema
from txn_local.invoke import (
    Handler,
    LocalFunction,
    check_handlers,
    import_handlers,
    unload_function_modules,
)
from txn_local.motoserver import ensure_port_free
from txn_local.output import DropEmf
from txn_local.pollers import DEFAULT_RETRY_DELAY_SECONDS, SqsPoller
from txn_spec import api_responses, shapes

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
MERCHANTS_FIXTURE = REPO_ROOT / "fixtures" / "merchants.json"
OPENAPI_DOCUMENT = REPO_ROOT / "api" / "openapi.yaml"
ACCOUNT_ID = "123456789012"  # moto's account
API_KEY_ENV = "TXN_LOCAL_API_KEY"
METRICS_NAMESPACE = "txn"


@dataclass(frozen=True)
class RuntimeConfig:
    host: str = "127.0.0.1"
    port: int = 8080  # the gateway; 0 picks a free port
    aws_port: int = embedded.DEFAULT_AWS_PORT  # every AWS service; 0 picks a free port
    api_key: str | None = None  # None: generated
    merchants_file: Path | None = MERCHANTS_FIXTURE
    openapi_document: Path = OPENAPI_DOCUMENT
    # Concurrent pollers per event source (capped by the mapping's maximum concurrency).
    fraud_workers: int = 4
    failed_workers: int = 1
    retry_delay: int | None = DEFAULT_RETRY_DELAY_SECONDS
    log_level: str = "WARNING"  # the functions' Powertools log level
    show_metrics: bool = False  # print the functions' CloudWatch EMF lines
    # Where the functions' output goes, from both processes; None: this process's streams.
    log_file: Path | None = None
    handlers: Mapping[str, Handler] | None = None  # None: import the real handlers
    extra_environment: Mapping[str, str] = field(default_factory=dict)
    # botocore checks every request against the service model before sending it; the moto
    # servers check what matters again. Off here only (a profile in AWS_CONFIG_FILE, which the
    # handlers' clients read), it saves CPU per call; the tests run the adapters with it on.
    client_parameter_validation: bool = False
    # The pollers and the functions they feed in a process of their own (see the module doc).
    # None: yes, unless ``handlers`` are injected (they are callables of this process).
    consumer_process: bool | None = None

    @property
    def separate_consumer(self) -> bool:
        if self.consumer_process is None:
            return self.handlers is None
        if self.consumer_process and self.handlers is not None:
            raise ValueError("injected handlers run in this process: consumer_process=False")
        return self.consumer_process


class LocalRuntime:
    def __init__(self, config: RuntimeConfig | None = None):
        self.config = config or RuntimeConfig()
        self.aws = EmbeddedAws(self.config.host, self.config.aws_port)
        self.aws_url: str | None = None  # the embedded AWS's one endpoint, once started
        self.resources: Resources | None = None
        self.functions: dict[str, LocalFunction] = {}
        self.gateway: Gateway | None = None
        self.pollers: dict[str, SqsPoller] = {}  # in-process layout only
        self.consumer: ConsumerProcess | None = None
        self.started_at = 0.0
        self._saved_environment: dict[str, str | None] = {}
        self._stdout: Any = None
        self._log: Any = None  # the open log_file
        self._aws_config = tempfile.TemporaryDirectory(prefix="txn-local-aws-")

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        config = self.config
        # Check the ports first: a taken port fails in milliseconds, not after moto started.
        ensure_port_free(config.host, config.port, "the local API gateway")
        ensure_port_free(config.host, config.aws_port, "the embedded AWS")
        body_check = compile_body_check(load_request_schema(config.openapi_document))
        report_check = compile_body_check(
            load_request_schema(config.openapi_document, api_responses.REPORT_MODEL)
        )
        try:
            self.aws_url = self.aws.start()
            self.resources = self.aws.provision(
                api_key=config.api_key, merchants_file=config.merchants_file
            )
            self._set_environment(self.function_environment())
            self._log = config.log_file.open("a", buffering=1) if config.log_file else None
            output = self._log or sys.stdout
            self._stdout = sys.stdout
            sys.stdout = output if config.show_metrics else DropEmf(output)
            separate = config.separate_consumer
            if separate:  # it imports its functions while this process imports the validator
                self.consumer = ConsumerProcess(self._consumer_spec, os.environ)
                self.consumer.output = self._log
                self.consumer.launch()
            wanted = (shapes.VALIDATOR,) if separate else shapes.FUNCTIONS
            handlers = (
                dict(config.handlers) if config.handlers is not None else import_handlers(wanted)
            )
            check_handlers(handlers, wanted)
            self.functions = {
                shape.component: LocalFunction(
                    shape=shape,
                    physical_name=embedded.name(shape.component),
                    handler=handlers[shape.component],
                    region=embedded.REGION,
                    account_id=ACCOUNT_ID,
                )
                for shape in wanted
            }
            if not separate:
                self.pollers = {
                    source.function.component: self._poller(source)
                    for source in shapes.EVENT_SOURCES
                }
            self.gateway = Gateway(
                validator=self.functions[shapes.VALIDATOR.component],
                body_check=body_check,
                report_check=report_check,
                api_keys=ApiKeys(self.aws.client("apigateway"), self.resources.rest_api_id),
                rest_api_id=self.resources.rest_api_id,
                account_id=ACCOUNT_ID,
                host=config.host,
                port=config.port,
            )
            self.gateway.api_keys.refresh()
            self.dashboard = dashboard.Dashboard(self)  # /_dashboard on the gateway
            if self.consumer is not None:
                self.consumer.wait_ready()
            for poller in self.pollers.values():
                poller.start()
            self.gateway.start()
        except BaseException:
            self.stop()
            raise
        self.started_at = time.monotonic()

    def stop(self) -> None:
        """Stop taking requests, drain the batches in hand, stop the embedded AWS."""
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        for poller in self.pollers.values():
            poller.stop()
        if self.consumer is not None:
            self.consumer.close()
            self.consumer = None
        self.aws.stop()
        self._restore_environment()
        if self._stdout is not None:
            sys.stdout, self._stdout = self._stdout, None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.config.handlers is None and self.functions:
            unload_function_modules()  # their clients point at the moto servers just stopped

    def restart_compute(self, downtime: float = 0.0) -> None:
        """Stop the gateway and the pollers (batches in hand finish), wait ``downtime`` seconds,
        start them again on the same port and the same embedded AWS: what clients and queues
        see when the functions' processes are replaced. Open connections are cut (a request
        in flight gets no answer) and new ones refused until the gateway is back; messages
        wait on their queues."""
        gateway = self.gateway
        if gateway is None:
            raise RuntimeError("the runtime is not started")
        gateway.requested_port = gateway.port  # come back where clients look
        gateway.stop()
        for poller in self.pollers.values():
            poller.stop()
        if self.consumer is not None:
            self.consumer.stop()
        time.sleep(downtime)
        if self.consumer is not None:
            self.consumer.start()
        for poller in self.pollers.values():
            poller.start()
        gateway.start()

    def _workers(self, source: shapes.EventSourceShape) -> int:
        if source.function == shapes.FRAUD_DETECTOR:
            return self.config.fraud_workers
        return self.config.failed_workers

    def _consumer_spec(self, counters_path: str) -> ConsumerSpec:
        assert self.resources is not None
        assert self.aws_url is not None
        return ConsumerSpec(
            aws_url=self.aws_url,
            sources=tuple(
                SourceSpec(
                    component=source.function.component,
                    queue_url=self.resources.queue_url(source.queue),
                    queue_arn=self.resources.queue_arns[source.queue.component],
                    workers=self._workers(source),
                )
                for source in shapes.EVENT_SOURCES
            ),
            counters_path=counters_path,
            region=embedded.REGION,
            account_id=ACCOUNT_ID,
            retry_delay=self.config.retry_delay,
            show_metrics=self.config.show_metrics,
        )

    def _poller(self, source: shapes.EventSourceShape) -> SqsPoller:
        assert self.resources is not None
        return SqsPoller(
            sqs=self.aws.client("sqs"),
            queue_url=self.resources.queue_url(source.queue),
            queue_arn=self.resources.queue_arns[source.queue.component],
            function=self.functions[source.function.component],
            source=source,
            workers=self._workers(source),
            retry_delay=self.config.retry_delay,
            region=embedded.REGION,
        )

    # --- environment ----------------------------------------------------------------------------

    def function_environment(self) -> dict[str, str]:
        """What Lambda and ``compute`` would give the functions, pointed at the embedded AWS."""
        assert self.aws_url is not None
        assert self.resources is not None
        return {
            "AWS_ENDPOINT_URL": self.aws_url,
            **self.aws.internal_endpoints(),
            "AWS_ACCESS_KEY_ID": embedded.CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": embedded.CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": embedded.REGION,
            "AWS_REGION": embedded.REGION,
            **self.resources.function_environment(),
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_METRICS_DISABLED": "true",  # EMF would print a JSON blob per call
            "POWERTOOLS_LOG_LEVEL": self.config.log_level,
            "AWS_CONFIG_FILE": str(self._aws_config_file()),
            **self.config.extra_environment,
        }

    def _aws_config_file(self) -> Path:
        """The functions' AWS config file: this runtime's own, never a profile on this machine."""
        path = Path(self._aws_config.name) / "config"
        validation = "true" if self.config.client_parameter_validation else "false"
        path.write_text(f"[default]\nparameter_validation = {validation}\n")
        return path

    def _set_environment(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            self._saved_environment.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        # The session's credentials must not come from a profile on this machine.
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            self._saved_environment.setdefault(key, os.environ.pop(key, None))

    def _restore_environment(self) -> None:
        for key, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_environment = {}

    # --- observation ----------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self.gateway is not None
        return f"{self.gateway.url}/{shapes.API_PATH}"

    @property
    def api_key(self) -> str:
        assert self.resources is not None
        return self.resources.api_key

    def queue_depth(self, shape: shapes.QueueShape) -> int:
        """Messages visible, in flight or delayed on a queue."""
        assert self.resources is not None
        attributes = self.aws.client("sqs", observer=True).get_queue_attributes(
            QueueUrl=self.resources.queue_url(shape),
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def idle(self) -> bool:
        """Nothing left to do: both event-source queues empty and no batch in a handler.

        Raises ``LocalError`` when the consumer process failed for good: nothing would drain.
        """
        busy = any(counts["in_flight"] for counts in self.stats().values())
        return not busy and all(
            self.queue_depth(source.queue) == 0 for source in shapes.EVENT_SOURCES
        )

    def wait_idle(self, timeout: float, poll: float = 0.2) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(poll)
        return self.idle()

    def stats(self) -> dict[str, dict[str, int]]:
        """The pollers' counters by function (:data:`txn_local.pollers.COUNTS`); cheap."""
        if self.consumer is not None:
            if self.consumer.failure is not None:
                raise self.consumer.failure
            return self.consumer.stats()
        return {name: poller.stats.snapshot() for name, poller in self.pollers.items()}

    def latencies(self, component: str) -> list[float]:
        """Per record the ``component`` function handled: milliseconds from its SendMessage to
        its deletion (kept bounded)."""
        if self.consumer is not None:
            return self.consumer.latencies(component)
        stats = self.pollers[component].stats
        with stats.lock:
            return list(stats.latencies_ms)

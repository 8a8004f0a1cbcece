"""Invoking a Lambda handler in-process, the way the Lambda runtime would.

moto cannot run Lambda code here (no Docker), so the runtime imports the handlers and calls
them with real event shapes and a context object that has what Powertools reads.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from txn_local import embedded
from txn_local.errors import LocalError
from txn_spec import shapes
from txn_spec.naming import function_log_group

SERVICE_ENV = "POWERTOOLS_SERVICE_NAME"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes and method of the Lambda Python context object that handlers use."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    function_version: str = "$LATEST"
    deadline: float = field(default=0.0)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class LocalFunction:
    """A handler with the shape (name, memory, timeout) that ``compute`` gives its function."""

    shape: shapes.FunctionShape
    physical_name: str
    handler: Handler
    region: str
    account_id: str

    def context(self) -> LambdaContext:
        return LambdaContext(
            function_name=self.physical_name,
            memory_limit_in_mb=self.shape.memory_mb,
            invoked_function_arn=(
                f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.physical_name}"
            ),
            aws_request_id=str(uuid.uuid4()),
            log_group_name=function_log_group(self.physical_name),
            log_stream_name=time.strftime("%Y/%m/%d/[$LATEST]local"),
            deadline=time.monotonic() + self.shape.timeout_seconds,
        )

    def invoke(self, event: dict[str, Any]) -> Any:
        return self.handler(event, self.context())


FUNCTIONS_ROOT = Path(__file__).resolve().parents[2] / "functions"


def unload_function_modules(root: Path = FUNCTIONS_ROOT) -> None:
    """Forget every module loaded from ``functions/``.

    The handler modules create their boto3 clients and read their settings once, at import,
    as in a Lambda container. Importing afresh gives a new runtime (or a test with moto's
    in-process mock) clients for its own endpoints instead of a previous one's.
    """
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().is_relative_to(root):
            _forget_loggers(module)
            del sys.modules[name]


def _forget_loggers(module: Any) -> None:
    """Drop the Python loggers behind a module's Powertools loggers: Powertools configures a
    logger (level, handler) only the first time, so a re-import would inherit the old one."""
    from aws_lambda_powertools import Logger

    for value in vars(module).values():
        if isinstance(value, Logger):
            logging.Logger.manager.loggerDict.pop(value.name, None)


def import_handlers(
    functions: tuple[shapes.FunctionShape, ...] = shapes.FUNCTIONS,
) -> dict[str, Handler]:
    """The real handlers, ``<package>.app.lambda_handler``, keyed by function component.

    Import only after the environment (``Env.*``, endpoints, credentials) is set: the handler
    modules create their boto3 clients and read their settings at import, as in Lambda.
    """
    unload_function_modules()  # a "cold start": fresh clients for this environment
    handlers: dict[str, Handler] = {}
    before = os.environ.get(SERVICE_ENV)
    for shape in functions:
        module_name, _, attribute = shape.handler.rpartition(".")
        # As compute sets it per function: Powertools reads the service name at import.
        os.environ[SERVICE_ENV] = embedded.name(shape.component)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            raise LocalError(
                "functions_missing",
                f"cannot import {shape.handler} ({error}); is the project installed "
                "(./noxw creates .venv) and functions/ complete?",
            ) from None
        handlers[shape.component] = getattr(module, attribute)
    if before is None:
        os.environ.pop(SERVICE_ENV, None)
    else:
        os.environ[SERVICE_ENV] = before
    return handlers


def check_handlers(
    handlers: Mapping[str, Handler],
    functions: tuple[shapes.FunctionShape, ...] = shapes.FUNCTIONS,
) -> None:
    missing = {shape.component for shape in functions} - set(handlers)
    if missing:
        raise ValueError(f"no handler for {sorted(missing)}")

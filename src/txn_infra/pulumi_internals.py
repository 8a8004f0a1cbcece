"""The Pulumi SDK internals the offline run depends on, and the one place that touches them.

:mod:`txn_infra.offline` runs a stack program the way ``pulumi.runtime.test`` does, which needs
parts of ``pulumi.runtime`` that are not public API: the runtime's pending work and root stack,
the language host's program runner and its synchronous await. Each is wrapped here once, so a
Pulumi upgrade that moves one fails ``tests/unit/infra/test_pulumi_internals.py`` by name
instead of somewhere inside a stack test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi.runtime import settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await


def reset_runtime() -> None:
    """Forget what an earlier program left behind (pending RPCs and outputs, the root stack)."""
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    settings.ROOT.set(None)


def event_loop() -> asyncio.AbstractEventLoop:
    """The event loop Pulumi runs programs and outputs on (created if the thread has none)."""
    return _ensure_event_loop()


def run_program(program: Callable[[], None]) -> None:
    """Run ``program`` as the language host does: until every RPC and output it started is
    done. Raises what the program raised."""
    _sync_await(run_pulumi_func(program))


def resolve(output: pulumi.Output[Any]) -> Any:
    """The value of ``output``, waited for from inside a running program."""
    return _sync_await(output.future())


def is_secret(output: pulumi.Output[Any]) -> bool:
    return _sync_await(output.is_secret())


def stack_exports() -> dict[str, Any]:
    """What the program passed to ``pulumi.export``, as the root stack resource holds it."""
    root = pulumi.runtime.get_root_resource()
    if root is None:
        raise RuntimeError("no root stack: pulumi.runtime.set_mocks was not called")
    return dict(root.outputs)

"""The Pulumi internals the offline run relies on still behave as it assumes: a Pulumi upgrade
that moves or changes one fails here, by name."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest

from txn_infra import pulumi_internals


class Recording(pulumi.runtime.Mocks):
    """Mocks that give every resource the id ``<name>-id`` and remember what was registered."""

    def __init__(self) -> None:
        self.registered: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args.name)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list]:
        raise AssertionError(f"unexpected invoke {args.token}")


@pytest.fixture
def mocks() -> Iterator[Recording]:
    """GIVEN a clean runtime under mocks (left clean for whatever runs next)."""
    pulumi_internals.reset_runtime()
    recording = Recording()
    pulumi.runtime.set_mocks(recording, project="seam", stack="test", preview=False)
    yield recording
    pulumi_internals.reset_runtime()


def program(seen: dict[str, Any]) -> Callable[[], None]:
    """A program that registers one resource, exports its id and a secret, then reads both
    back the way the offline run does."""

    def run() -> None:
        thing = pulumi.CustomResource("test:index:Thing", "thing", {"size": 3})
        pulumi.export("thing_id", thing.id)
        pulumi.export("token", pulumi.Output.secret("s3cr3t"))
        exports = pulumi_internals.stack_exports()
        seen["keys"] = set(exports)
        outputs = {k: pulumi.Output.from_input(v) for k, v in exports.items()}
        seen["values"] = {k: pulumi_internals.resolve(o) for k, o in outputs.items()}
        seen["secret"] = {k: pulumi_internals.is_secret(o) for k, o in outputs.items()}
        seen["loop"] = asyncio.get_running_loop()

    return run


def test_run_program_returns_once_the_programs_resources_are_registered(
    mocks: Recording,
) -> None:
    pulumi_internals.run_program(program({}))

    assert mocks.registered == ["thing"]


def test_stack_exports_are_what_the_program_exported(mocks: Recording) -> None:
    seen: dict[str, Any] = {}

    pulumi_internals.run_program(program(seen))

    assert seen["keys"] == {"thing_id", "token"}


def test_resolve_waits_for_the_value_an_output_gets_from_the_mocks(mocks: Recording) -> None:
    seen: dict[str, Any] = {}

    pulumi_internals.run_program(program(seen))

    assert seen["values"] == {"thing_id": "thing-id", "token": "s3cr3t"}


def test_is_secret_tells_a_secret_export_from_a_plain_one(mocks: Recording) -> None:
    seen: dict[str, Any] = {}

    pulumi_internals.run_program(program(seen))

    assert seen["secret"] == {"thing_id": False, "token": True}


def test_programs_run_on_the_event_loop_it_names(mocks: Recording) -> None:
    seen: dict[str, Any] = {}

    pulumi_internals.run_program(program(seen))

    assert seen["loop"] is pulumi_internals.event_loop()


def test_run_program_raises_what_the_program_raised(mocks: Recording) -> None:
    def failing() -> None:
        raise ValueError("bad config")

    with pytest.raises(ValueError, match="bad config"):
        pulumi_internals.run_program(failing)


def test_reset_runtime_drops_the_root_stack(mocks: Recording) -> None:
    assert pulumi.runtime.get_root_resource() is not None

    pulumi_internals.reset_runtime()

    assert pulumi.runtime.get_root_resource() is None


def test_a_program_runs_cleanly_after_a_failed_one_once_the_runtime_is_reset(
    mocks: Recording,
) -> None:
    def failing() -> None:
        pulumi.export("stale", pulumi.CustomResource("test:index:Thing", "broken", {}).id)
        raise ValueError("bad config")

    with pytest.raises(ValueError, match="bad config"):
        pulumi_internals.run_program(failing)
    pulumi_internals.reset_runtime()
    pulumi.runtime.set_mocks(Recording(), project="seam", stack="test", preview=False)
    seen: dict[str, Any] = {}

    pulumi_internals.run_program(program(seen))

    assert seen["values"] == {"thing_id": "thing-id", "token": "s3cr3t"}

"""The consumer process: the pollers and the functions they feed, in a child of the runtime.

One runtime for the module (free ports, the real handlers); the start-failure test starts no
runtime of its own beyond the moto servers it needs.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.factories import transaction_body
from txn_local.consumer import MAX_RESTARTS
from txn_local.errors import LocalError
from txn_local.pollers import LOCAL_WAIT_SECONDS
from txn_local.runtime import LocalRuntime, RuntimeConfig
from txn_spec import shapes
from txn_spec.shapes import Env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    config = RuntimeConfig(port=0, aws_port=0, api_key="consumer-test-key-0123456789abcdef")
    with LocalRuntime(config) as started:
        yield started


def send(runtime: LocalRuntime) -> str:
    assert runtime.gateway is not None
    connection = http.client.HTTPConnection("127.0.0.1", runtime.gateway.port, timeout=15)
    try:
        connection.request(
            "POST",
            "/transaction",
            body=json.dumps(
                transaction_body(
                    timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    card_token=f"tok_{uuid.uuid4().hex[:8]}x",
                    external_id=f"pi_{uuid.uuid4().hex[:12]}",
                )
            ),
            headers={"Content-Type": "application/json", "x-api-key": runtime.api_key},
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 202, answer
    return answer["transaction_id"]


def processed(runtime: LocalRuntime) -> int:
    return runtime.stats()[shapes.FRAUD_DETECTOR.component]["succeeded"]


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_fraud_detector_runs_in_a_child_process_and_reports_its_counts(runtime):
    # GIVEN the default layout (real handlers)
    assert runtime.consumer is not None
    assert runtime.consumer.pid not in (None, os.getpid())
    before = processed(runtime)
    # WHEN a transaction is accepted
    send(runtime)
    # THEN the child processes it and this process reads its counters and latencies
    assert wait_for(lambda: processed(runtime) == before + 1)
    assert runtime.wait_idle(30)
    assert len(runtime.latencies(shapes.FRAUD_DETECTOR.component)) >= 1


def test_a_killed_consumer_is_reported_and_replaced(runtime, caplog):
    assert runtime.consumer is not None
    victim = runtime.consumer.pid
    assert victim is not None
    restarts = runtime.consumer.restarts
    # WHEN the child dies (as an out-of-memory kill would end it)
    with caplog.at_level(logging.ERROR, logger="txn_local.consumer"):
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: runtime.consumer.restarts == restarts + 1)
        assert wait_for(lambda: runtime.consumer.running)
    # THEN the runtime says so, with the exit code, and a new child takes over
    assert runtime.consumer.pid != victim
    assert f"exited with code -{signal.SIGKILL}" in caplog.text
    assert f"restarting it ({restarts + 1} of {MAX_RESTARTS})" in caplog.text
    # (A receive the dead child had asked for still waits in moto for up to a long poll; a
    # message it takes stays invisible for the visibility timeout, as in AWS: send after it.)
    time.sleep(LOCAL_WAIT_SECONDS + 0.5)
    before = processed(runtime)
    send(runtime)
    assert wait_for(lambda: processed(runtime) == before + 1)


def test_stopping_the_runtime_stops_the_consumer():
    # A runtime of its own, stopped here (one runtime at a time per process: the module's is
    # idle meanwhile, and its handlers are the modules this one re-imports).
    config = RuntimeConfig(port=0, aws_port=0)
    with LocalRuntime(config) as other:
        assert other.consumer is not None
        pid = other.consumer.pid
        assert pid is not None
        assert alive(pid)
    assert wait_for(lambda: not alive(pid), timeout=10)


def test_a_function_that_cannot_start_is_a_clear_error():
    # GIVEN the fraud detector's velocity table setting missing
    config = RuntimeConfig(port=0, aws_port=0, extra_environment={Env.VELOCITY_TABLE: ""})
    runtime = LocalRuntime(config)
    # WHEN the runtime starts
    with pytest.raises(LocalError) as error:
        runtime.start()
    # THEN it refuses with a code and a message that names the setting, and leaves nothing
    assert error.value.code == "function_start_failed"
    assert Env.VELOCITY_TABLE in error.value.message
    assert runtime.consumer is None
    assert runtime.aws.server_pids() == {}

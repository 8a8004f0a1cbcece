"""Fault injection on real boto3 clients (moto behind them): the adapters see AWS's errors."""

from __future__ import annotations

import time
import types
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from txn_resilience.faults import RUNNING, AwsFaults, Fault, FunctionCrash
from txn_resilience.handlers import Wrapped
from txn_spec import shapes

CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"})


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    # botocore's retries back off for real; the schedule, not the waiting, is under test
    no_wait = types.SimpleNamespace(**{**vars(time), "sleep": lambda _seconds: None})
    monkeypatch.setattr(botocore.endpoint, "time", no_wait)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield {
            s: boto3.client(s, region_name="us-east-2", config=CONFIG)
            for s in ("dynamodb", "sqs", "sns")
        }


def test_a_throttle_on_every_attempt_reaches_the_caller_as_the_throttling_code(clients) -> None:
    faults = AwsFaults((Fault("dynamodb", "ListTables", "throttle"),))
    faults.install(clients.__getitem__)
    with pytest.raises(ClientError) as caught:
        clients["dynamodb"].list_tables()
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert faults.injected["dynamodb.ListTables:throttle"] > 1  # botocore retried it


def test_a_partial_throttle_is_absorbed_by_botocore_retries(clients) -> None:
    faults = AwsFaults((Fault("dynamodb", "ListTables", "throttle", 0.3),), seed=5)
    faults.install(clients.__getitem__)
    outcomes = []
    for _ in range(30):
        try:
            clients["dynamodb"].list_tables()
            outcomes.append("ok")
        except ClientError:
            outcomes.append("failed")
    assert faults.total() > 0
    assert outcomes.count("ok") > outcomes.count("failed")


def test_the_schedule_is_the_same_for_the_same_seed(clients) -> None:
    def run(seed: int) -> list[bool]:
        faults = AwsFaults((Fault("sqs", "ListQueues", "error", 0.5),), seed=seed)
        faults.install(clients.__getitem__)
        decided = [faults._decide("sqs", "ListQueues", {"error"}) is not None for _ in range(40)]
        return decided

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_sns_unavailable_is_a_connection_error(clients) -> None:
    AwsFaults((Fault("sns", "*", "unavailable"),)).install(clients.__getitem__)
    with pytest.raises(EndpointConnectionError):
        clients["sns"].list_topics()


def test_a_crash_happens_after_the_call_took_effect(clients) -> None:
    AwsFaults((Fault("sqs", "CreateQueue", "crash"),)).install(clients.__getitem__)
    with pytest.raises(FunctionCrash):
        clients["sqs"].create_queue(QueueName="q")
    assert clients["sqs"].list_queues()["QueueUrls"]  # the queue exists: it crashed after


def test_a_fault_outside_its_window_does_not_fire(clients) -> None:
    faults = AwsFaults((Fault("sqs", "ListQueues", "error", 1.0, (100, 200)),))
    faults.install(clients.__getitem__)
    clients["sqs"].list_queues()
    assert faults.total() == 0


def test_a_fault_scoped_to_a_function_fails_only_the_calls_that_function_makes(clients) -> None:
    detector, dlq = shapes.FRAUD_DETECTOR.component, shapes.FAILED_TRANSACTIONS.component
    faults = AwsFaults((Fault("sns", "ListTopics", "unavailable", function=detector),))
    faults.install(clients.__getitem__)

    def list_topics_as(function: str | None) -> None:
        running = RUNNING.set(function)
        try:
            clients["sns"].list_topics()
        finally:
            RUNNING.reset(running)

    list_topics_as(None)  # outside any handler
    list_topics_as(dlq)
    assert faults.total() == 0
    with pytest.raises(EndpointConnectionError):
        list_topics_as(detector)
    assert faults.injected["sns.ListTopics:unavailable"] > 0


def test_the_handler_wrapper_names_its_function_while_the_handler_runs() -> None:
    wrapped = Wrapped(
        shapes.FAILED_TRANSACTIONS,
        duplicate_rate=0.0,
        seed=1,
        stats=Counter(),
        on_delivery=lambda _component, _event: None,
    )
    wrapped._handler = lambda _event, _context: RUNNING.get()
    assert wrapped({}, None) == shapes.FAILED_TRANSACTIONS.component
    assert RUNNING.get() is None  # and no longer once it returned

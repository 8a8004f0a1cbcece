"""The runtime's commands to the consumer child and their answers (``txn_local.consumer``)."""

from __future__ import annotations

import io
import itertools
import json
import queue
import threading
from types import SimpleNamespace

import pytest

from txn_local.consumer import ConsumerProcess
from txn_local.errors import LocalError


def stand_in(answers: list[dict]) -> tuple[ConsumerProcess, io.BytesIO]:
    """A ConsumerProcess whose child has already written ``answers`` (no child is started)."""
    consumer = ConsumerProcess.__new__(ConsumerProcess)
    sent = io.BytesIO()
    consumer._process = SimpleNamespace(stdin=sent)
    consumer._running = True
    consumer._lock = threading.Lock()
    consumer._requests = itertools.count(2)  # command 1 was asked before and timed out
    consumer._answers = queue.Queue()
    for answer in answers:
        consumer._answers.put(answer)
    return consumer, sent


def test_an_answer_that_came_after_its_caller_gave_up_is_not_taken_for_the_next_ones():
    late = {"latencies": [1.0], "id": 1}  # fraud-detector's, to the command that timed out
    consumer, sent = stand_in([late, {"latencies": [7.0, 8.0], "id": 2}])

    assert consumer.latencies("failed-transactions") == [7.0, 8.0]
    assert json.loads(sent.getvalue()) == {
        "op": "latencies",
        "component": "failed-transactions",
        "id": 2,
    }


def test_a_command_with_no_answer_in_time_is_an_error_not_an_earlier_answer():
    consumer, _ = stand_in([{"latencies": [1.0], "id": 1}])
    with pytest.raises(LocalError) as failed:
        consumer.request({"op": "latencies", "component": "x"}, timeout=0.05)
    assert failed.value.code == "consumer_failed"
    assert "no answer" in failed.value.message

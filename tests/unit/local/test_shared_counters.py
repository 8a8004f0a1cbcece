"""The poller counters the consumer process shares with the runtime's process."""

from __future__ import annotations

import pytest

from txn_local.consumer import SharedCounters
from txn_local.pollers import COUNTS, PollerStats

COMPONENTS = ("fraud-detector", "failed-transactions")


@pytest.fixture
def counters():
    made = SharedCounters.create(COMPONENTS)
    yield made
    made.close(remove=True)


def counts(**values: int) -> dict[str, int]:
    return {name: values.get(name, 0) for name in COUNTS}


def test_a_new_file_reads_zero(counters):
    assert counters.read("fraud-detector") == counts()


def test_a_second_mapping_of_the_file_reads_what_the_first_wrote(counters):
    # GIVEN the child's mapping of the same file (as the consumer process opens it)
    child = SharedCounters(counters.path, COMPONENTS)
    # WHEN the child writes one slot
    child.write("failed-transactions", counts(batches=2, records=7, succeeded=6, in_flight=1))
    # THEN the runtime reads it there, and the other slot is untouched
    assert counters.read("failed-transactions") == counts(
        batches=2, records=7, succeeded=6, in_flight=1
    )
    assert counters.read("fraud-detector") == counts()
    child.close()


def test_clearing_in_flight_keeps_the_other_counts(counters):
    counters.write("fraud-detector", counts(records=10, succeeded=8, in_flight=2))
    counters.clear_in_flight()
    assert counters.read("fraud-detector") == counts(records=10, succeeded=8)


def test_poller_stats_publish_every_change(counters):
    stats = PollerStats(publish=lambda c: counters.write("fraud-detector", c))
    with stats.lock:
        stats.records += 3
        stats.in_flight += 3
        stats.changed()
    assert counters.read("fraud-detector") == counts(records=3, in_flight=3)

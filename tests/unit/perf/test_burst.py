"""The burst model: what throttles, where requests wait, how long until steady, the DLQ."""

from __future__ import annotations

import pytest

from tests.unit.perf.factories import deployment, workload
from txn_perf import model
from txn_perf.burst import burst


def stages(b):
    return {s.component: s for s in b.stages}


def test_a_warm_deployment_takes_the_burst_without_throttling_or_dlq() -> None:
    w = workload(
        tables={"velocity": model.TableLoad(wru=1.6, rru=1.0, warm_wru=16_000)},
        requests_per_accepted=1.05,
    )
    b = burst(deployment(api_rate_limit=10_000, api_key_rate_limits=(10_000,)), w, 100, 5_000, 60)
    assert not [s for s in b.stages if s.throttles]
    assert b.dlq.startswith("nothing")
    assert b.steady_after_s < 5


def test_a_table_without_warm_throughput_throttles_past_twice_its_peak_and_the_default() -> None:
    w = workload(tables={"velocity": model.TableLoad(wru=1.6)})
    s = stages(burst(deployment(), w, 100, 5_000, 60))
    assert s["DynamoDB velocity writes"].throttles  # 8,000 > max(4,000, 2 x 160)
    warm_by_peak = stages(burst(deployment(), w, 3_000, 5_000, 60))  # 2 x 4,800 >= 8,000
    assert not warm_by_peak["DynamoDB velocity writes"].throttles


def test_the_api_throttles_above_its_limit() -> None:
    s = stages(burst(deployment(api_rate_limit=2_000), workload(), 100, 5_000, 60))
    assert s["API Gateway"].throttles
    assert "429" in s["API Gateway"].finding


def test_an_event_source_short_of_concurrency_never_drains_its_queue() -> None:
    b = burst(deployment(fraud_max_concurrency=5), workload(fraud_batch_ms=100.0), 100, 5_000, 60)
    # 5 batches of 10 in 100 ms drain 500 TPS: the queue grows without end
    assert stages(b)["fraud event source"].throttles
    assert b.steady_after_s == float("inf")
    assert b.queue_peak > 100_000


def test_the_queue_waits_while_pollers_are_added_then_drains() -> None:
    # 5 batches of 10 in 40 ms drain 1,250 TPS; the event source adds 5 a second after that
    b = burst(deployment(), workload(fraud_batch_ms=40.0), 100, 5_000, 10)
    assert 0 < b.queue_peak < 5_000
    assert b.steady_after_s == pytest.approx(0, abs=10)


def test_the_stages_behind_a_throttled_api_see_only_what_it_lets_through() -> None:
    w = workload(tables={"velocity": model.TableLoad(wru=1.6)})
    b = burst(deployment(api_rate_limit=100, api_key_rate_limits=(100,)), w, 100, 5_000, 60)
    assert (b.start_tps, b.end_tps) == (pytest.approx(100), pytest.approx(100))
    assert [s.component for s in b.stages if s.throttles] == ["API Gateway"]


def test_a_burst_comes_from_one_provider_whose_own_plan_is_the_limit() -> None:
    # ADR 0025: each key on its own plan; a burst from the busiest provider passes its plan
    two = deployment(api_rate_limit=10_000, api_key_rate_limits=(3000, 500))
    b = burst(two, workload(), 100, 5_000, 60)
    assert (b.start_tps, b.end_tps) == (pytest.approx(100), pytest.approx(3000))

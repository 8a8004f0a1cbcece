"""The demo's traffic and its verdict, without running anything."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest

from txn_local.demo import Answer, Outcome, Poison, check, percentile
from txn_local.traffic import SampleRequest, build

MERCHANTS = [
    {
        "merchant_id": "m_1",
        "active": True,
        "allowed_currencies": ["USD"],
        "per_transaction_limit": 500,
    },
    {
        "merchant_id": "m_2",
        "active": True,
        "allowed_currencies": ["EUR"],
        "per_transaction_limit": 300,
    },
    {
        "merchant_id": "m_3",
        "active": False,
        "allowed_currencies": ["GBP"],
        "per_transaction_limit": 100,
    },
]


def test_the_burst_has_every_case_and_the_requested_size():
    requests = build(MERCHANTS, 200)
    kinds = Counter(r.kind for r in requests)
    assert len(requests) == 200
    for kind in (
        "valid",
        "invalid_body",
        "missing_key",
        "wrong_key",
        "unbound_key",
        "unknown_merchant",
        "pan",
        "card_testing",
        "velocity",
        "idempotent_first",
        "idempotent_replay",
    ):
        assert kinds[kind] >= 1, kind


def test_valid_traffic_only_uses_active_merchants():
    import json

    merchants = {
        json.loads(r.body)["merchant_id"] for r in build(MERCHANTS, 100) if r.kind == "valid"
    }
    assert merchants == {"m_1", "m_2"}


def answer(kind: str, status: int, transaction_id: str | None = None, expect: int = 202) -> Answer:
    body = {"transaction_id": transaction_id} if transaction_id else {}
    return Answer(SampleRequest(kind, b"{}", expect), status, body, 1.0)


def outcome(answers, stored) -> Outcome:
    return Outcome(answers, stored, Poison("M", "P"), 1.0, drained=True)


POISON_ROW = {"transaction_id": "unparsed-M", "message_id": "M", "status": "FAILED"}


def test_a_clean_run_has_no_problems():
    result = outcome(
        [answer("valid", 202, "T1")], [{"transaction_id": "T1", "status": "APPROVED"}, POISON_ROW]
    )
    assert check(result) == []


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ([POISON_ROW], "never reached the table"),
        ([{"transaction_id": "T1", "status": "APPROVED"}] * 2 + [POISON_ROW], "more than once"),
        ([{"transaction_id": "T1", "status": "PENDING"}, POISON_ROW], "without a final status"),
        ([{"transaction_id": "T1", "status": "APPROVED"}], "poison"),
        ([{"transaction_id": "T1", "status": "FAILED"}, POISON_ROW], "ended FAILED"),
    ],
    ids=["lost", "duplicated", "unfinished", "poison-missing", "valid-failed"],
)
def test_the_verdict_names_what_went_wrong(stored, problem):
    problems = check(outcome([answer("valid", 202, "T1")], stored))
    assert any(problem in p for p in problems), problems


def test_an_unexpected_answer_is_a_problem():
    problems = check(
        outcome(
            [answer("missing_key", 202, "T1", expect=403)],
            [{"transaction_id": "T1", "status": "APPROVED"}, POISON_ROW],
        )
    )
    assert problems == ["1 x missing_key: expected 403, got 202"]


def test_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99)) == (50.0, 99.0)


class _DeadConsumerRuntime:
    """A runtime whose consumer process has failed for good: every stats() call says so."""

    api_key = "k"

    def __init__(self) -> None:
        from types import SimpleNamespace

        self.resources = SimpleNamespace(merchants=MERCHANTS, queue_url=lambda shape: "q")
        self.gateway = SimpleNamespace(host="127.0.0.1", port=9)  # never reached
        sqs = SimpleNamespace(send_message=lambda **_: {"MessageId": "m"})
        self.aws = SimpleNamespace(client=lambda *_, **__: sqs)
        self.idle_waited = False

    def stats(self):
        from txn_local.errors import LocalError

        raise LocalError("consumer_failed", "the consumer process exited 3 times")

    def wait_idle(self, timeout: float) -> bool:
        self.idle_waited = True
        return True


def test_given_the_consumer_fails_for_good_then_the_demo_stops_with_its_error_not_a_traceback(
    monkeypatch,
):
    import io
    import threading

    from txn_local.demo import Demo
    from txn_local.errors import LocalError

    thread_errors: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args.exc_value))
    runtime = _DeadConsumerRuntime()
    demo = Demo(runtime, count=50, clients=3, timeout=5, out=io.StringIO())  # type: ignore[arg-type]

    with pytest.raises(LocalError) as raised:
        demo.run()

    assert raised.value.code == "consumer_failed"
    assert thread_errors == []  # the client and progress threads stopped quietly
    assert not runtime.idle_waited  # no waiting for a consumer that is gone


def test_with_keys_every_request_expected_accepted_carries_its_own_idempotency_key():
    plain, keyed = build(MERCHANTS, 200), build(MERCHANTS, 200, keys=True)

    def data(requests):  # the seed's sample data, but for the time each body is made
        import json

        bodies = [json.loads(r.body) if r.body.endswith(b"}") else r.body for r in requests]
        return [b if isinstance(b, bytes) else {**b, "timestamp": None} for b in bodies]

    assert data(plain) == data(keyed)
    accepted = [r for r in keyed if r.expect == 202]
    keys = [r.headers["Idempotency-Key"] for r in accepted]
    replayed = [r.headers["Idempotency-Key"] for r in keyed if r.kind.startswith("idempotent")]
    assert len(set(replayed)) == 1  # the replay pair keeps its one key
    assert len(set(keys)) == len(accepted) - 1
    assert all("Idempotency-Key" not in r.headers for r in keyed if r.expect != 202)
    assert all("Idempotency-Key" not in r.headers for r in plain if r.kind == "valid")


class _Busy:
    """A gateway connection that answers 503 ``busy`` times, then 202."""

    def __init__(self, busy: int):
        self.busy = busy
        self.sent = 0

    def answer(self, request: SampleRequest) -> Answer:
        self.sent += 1
        status = 503 if self.sent <= self.busy else 202
        return Answer(request, status, {"transaction_id": "t"} if status == 202 else {}, 1.0)


@pytest.mark.parametrize(
    ("busy", "keyed", "status", "sent"),
    [
        (2, True, 202, 3),  # resent with its key until accepted
        (9, True, 503, 4),  # three resends at most
        (2, False, 503, 1),  # without a key a resend could store it twice: never resent
    ],
)
def test_a_503_is_sent_again_only_with_an_idempotency_key(monkeypatch, busy, keyed, status, sent):
    import io

    from txn_local import demo as demo_module
    from txn_local.demo import Demo

    monkeypatch.setattr(demo_module.time, "sleep", lambda _: None)
    gateway = _Busy(busy)
    request = SampleRequest("valid", b"{}", 202, {"Idempotency-Key": "k"} if keyed else {})
    demo = Demo(_DeadConsumerRuntime(), clients=1, out=io.StringIO())  # type: ignore[arg-type]
    monkeypatch.setattr(demo, "_connect", lambda: SimpleNamespace(close=lambda: None))
    monkeypatch.setattr(demo, "_send", lambda connection, r: gateway.answer(r))
    monkeypatch.setattr(demo, "_hold_back", lambda deadline: None)

    demo._send_all([request])

    (answer,) = demo._answers
    assert (answer.status, gateway.sent, answer.retries) == (status, sent, sent - 1)

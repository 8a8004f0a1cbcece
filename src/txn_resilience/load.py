"""Client load: valid transactions over HTTP, each with its own ``Idempotency-Key``, retried
on a 5xx or a broken connection as a payment provider's client would, until answered.

What the clients were told (one transaction id per key) is the "submitted" side of the ledger.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from txn_spec import shapes

# Demo merchants that take USD (fixtures/merchants.json); amounts stay under their limits.
MERCHANTS = (("m_1001", 4_000_00), ("m_1002", 10_000_00), ("m_2001", 1_500_00))
FLAGGED_BIN = "510510"  # on the rules' BIN blocklist: these transactions are FLAGGED
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def transaction(rng: random.Random, number: int) -> tuple[str, dict]:
    """The ``number``-th transaction of a run: its idempotency key and body."""
    merchant, cap = MERCHANTS[number % len(MERCHANTS)]
    flagged = rng.random() < 0.1
    body = {
        "merchant_id": merchant,
        # $5 to $60: above card-testing's "small" amounts, and a merchant's daily limit is
        # reached late in a large run rather than in its first minute.
        "amount": rng.randrange(500, min(cap, 6_000)),
        "currency": "USD",
        "card_token": "tok_" + "".join(rng.choice(_ALPHABET) for _ in range(20)),
        "card_bin": FLAGGED_BIN if flagged else rng.choice(("411111", "400551", "542523")),
        "card_last4": f"{rng.randrange(10_000):04d}",
        "card_country": "US",
        "channel": "ecommerce",
        "ip_address": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "ip_country": "US",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }
    # Letters between the digit groups: an idempotency key never reads as a long number.
    return f"res-n{number}-k{rng.randrange(16**8):08x}", body


@dataclass
class LoadResult:
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key -> transaction id
    statuses: Counter[int] = field(default_factory=Counter)  # every answer, retries included
    connection_errors: int = 0
    retries: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # key -> final 4xx status
    unanswered: list[str] = field(default_factory=list)  # gave up (deadline) without a 202
    tokens: set[str] = field(default_factory=set)
    conflicting_ids: int = 0  # one key answered with two different transaction ids
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass
class Load:
    host: str
    port: int
    api_key: str
    count: int
    seed: int = 7
    clients: int = 8
    deadline_seconds: float = 240.0
    on_progress: Callable[[int], None] | None = None
    # Back-pressure: how many messages the transactions queue holds, and the most it should.
    # moto's SQS scans the whole queue on every receive, so a backlog slows the consumers
    # down; holding new submissions while it is deep keeps the pipeline at its best rate.
    backlog: Callable[[], int] | None = None
    max_backlog: int = 300

    def run(self) -> LoadResult:
        result = LoadResult()
        numbers = iter(range(self.count))
        numbers_lock = threading.Lock()
        deadline = time.monotonic() + self.deadline_seconds
        gate = _Backpressure(self.backlog, self.max_backlog)

        def worker() -> None:
            connection = None
            while True:
                with numbers_lock:
                    number = next(numbers, None)
                if number is None:
                    break
                gate.wait()
                key, body = transaction(random.Random(f"{self.seed}:{number}"), number)  # noqa: S311
                with result.lock:
                    result.tokens.add(body["card_token"])
                connection = self._submit(connection, key, json.dumps(body), result, deadline)
                if self.on_progress is not None:
                    self.on_progress(number)
            if connection is not None:
                connection.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return result

    def _submit(self, connection, key: str, body: str, result: LoadResult, deadline: float):
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "txn-resilience-load/1",  # as the deployed API's WAF requires
            "x-api-key": self.api_key,
            "Idempotency-Key": key,
        }
        backoff = 0.05
        while True:
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
                connection.request("POST", f"/{shapes.API_PATH}", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                if connection is not None:
                    connection.close()
                connection = None
                status, payload = 0, b""
            with result.lock:
                if status:
                    result.statuses[status] += 1
                else:
                    result.connection_errors += 1
            if status == 202:
                txn_id = json.loads(payload)["transaction_id"]
                with result.lock:
                    previous = result.accepted.setdefault(key, txn_id)
                    result.conflicting_ids += previous != txn_id
                return connection
            if 400 <= status < 500 and status != 429:
                with result.lock:
                    result.refused[key] = status
                return connection
            if time.monotonic() > deadline:
                with result.lock:
                    result.unanswered.append(key)
                return connection
            with result.lock:
                result.retries += 1
            time.sleep(backoff)
            backoff = min(backoff * 2, 1.0)


class _Backpressure:
    """Holds the clients while the queue is deeper than ``limit`` (checked twice a second)."""

    def __init__(self, depth: Callable[[], int] | None, limit: int):
        self._depth = depth
        self._limit = limit
        self._lock = threading.Lock()
        self._checked = 0.0
        self._deep = False

    def wait(self) -> None:
        if self._depth is None:
            return
        while True:
            with self._lock:
                if time.monotonic() - self._checked > 0.5:
                    self._checked = time.monotonic()
                    self._deep = self._depth() > self._limit
                deep = self._deep
            if not deep:
                return
            time.sleep(0.2)

"""Sample traffic for the demo: what payment providers send, good and bad.

Pure data: :func:`build` returns the list of requests (in sending order) built from the demo
merchants; :mod:`txn_local.demo` sends them and checks what became of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Currencies the demo prefers (two-decimal ones, so minor units are cents).
_DEMO_CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD")
_COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "NL", "ES")
_BINS = ("411111", "400551", "542523", "601100", "455673")
# Currencies without minor units: the amount is in major units already.
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK"})


@dataclass(frozen=True)
class SampleRequest:
    """One request of the burst and what the demo expects of it."""

    kind: str  # valid, invalid_body, missing_key, wrong_key, unbound_key, unknown_merchant, ...
    body: bytes
    expect: int  # the HTTP status the demo expects
    headers: dict[str, str] = field(default_factory=dict)
    use_api_key: bool = True
    api_key: str | None = None  # overrides the runtime's key (wrong-key case)


# The local API key of another payment provider: valid at the gateway, bound to no merchant, so
# the validator refuses it (ADR 0024). A local value, like moto's "testing" credentials.
UNBOUND_KEY_VALUE = "local-key-of-another-provider-0000"


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _token(rng: random.Random, prefix: str, length: int) -> str:
    """A random id; letters and digits mixed, so it never looks like a card number."""
    return prefix + "".join(rng.choice(_ID_ALPHABET) for _ in range(length))


def _card(rng: random.Random) -> dict[str, str]:
    last4 = f"{rng.randrange(10_000):04d}"
    return {
        "card_token": _token(rng, "tok_", 20),
        "card_bin": rng.choice(_BINS),
        "card_last4": last4,
    }


def _amount(rng: random.Random, merchant: dict[str, Any], currency: str) -> int:
    """An everyday amount in minor units: 5 to 150 major units, under half the merchant's
    per-transaction limit (which is in major units)."""
    limit = int(merchant.get("per_transaction_limit") or 300)
    major = rng.uniform(5, max(5.0, min(150.0, limit / 2)))
    # The rules compare major units without FX, so a yen amount stays in the same range.
    return round(major) if currency in _ZERO_DECIMAL else round(major * 100)


def transaction(rng: random.Random, merchant: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A valid request body for ``merchant`` (overrides win)."""
    allowed = list(merchant.get("allowed_currencies") or ["USD"])
    currency = rng.choice([c for c in allowed if c in _DEMO_CURRENCIES] or allowed)
    country = merchant.get("country") or rng.choice(_COUNTRIES)
    body: dict[str, Any] = {
        "merchant_id": merchant["merchant_id"],
        "amount": _amount(rng, merchant, currency),
        "currency": currency,
        **_card(rng),
        "card_country": country,
        "channel": rng.choice(("ecommerce", "card_present")),
        "ip_address": f"203.0.113.{rng.randrange(1, 255)}",
        "ip_country": country,
        "billing_country": country,
        "timestamp": _timestamp(),
        "external_id": _token(rng, "pi_", 16),
    }
    body.update(overrides)
    return body


def _encode(body: Any) -> bytes:
    return json.dumps(body).encode()


def build(
    merchants: Sequence[dict[str, Any]], count: int, seed: int = 7, *, keys: bool = False
) -> list[SampleRequest]:
    """``count`` requests: mostly valid traffic for several merchants, with every bad case and
    fraud pattern mixed in at fixed positions. ``keys``: every request expected to be accepted
    carries an Idempotency-Key (:func:`with_idempotency_key`), as a client that retries does."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    active = [m for m in merchants if m.get("active", True)]
    if not active:
        raise ValueError("the demo needs at least one active merchant in the fixture")
    specials: list[SampleRequest] = []
    add = specials.append

    # Bad input refused by the gateway before any function runs.
    good = transaction(rng, active[0])
    add(SampleRequest("invalid_body", _encode({**good, "amount": "12.50"}), 400))
    add(
        SampleRequest(
            "invalid_body", _encode({k: v for k, v in good.items() if k != "currency"}), 400
        )
    )
    add(SampleRequest("invalid_body", _encode({**good, "surprise": True}), 400))
    add(SampleRequest("invalid_body", b'{"merchant_id": "m_1001", "amount": ', 400))
    add(SampleRequest("missing_key", _encode(good), 403, use_api_key=False))
    add(SampleRequest("wrong_key", _encode(good), 403, api_key="not-the-key-" + "x" * 20))
    # Refused by the validator.
    add(SampleRequest("unbound_key", _encode(good), 403, api_key=UNBOUND_KEY_VALUE))
    add(
        SampleRequest("unknown_merchant", _encode({**good, "merchant_id": "m_does_not_exist"}), 422)
    )
    add(SampleRequest("pan", _encode({**good, "card_token": "4111111111111111"}), 400))
    add(SampleRequest("pan", _encode({**good, "external_id": "card-5555555555554444"}), 400))
    # A replayed Idempotency-Key gets the first answer.
    replay = _encode(transaction(rng, active[0]))
    key = {"Idempotency-Key": f"demo-{uuid.UUID(int=rng.getrandbits(128))}"}
    add(SampleRequest("idempotent_first", replay, 202, headers=key))
    add(SampleRequest("idempotent_replay", replay, 202, headers=key))
    # Card testing: a burst of tiny amounts on one card.
    probe = _card(rng)
    for _ in range(8):
        add(
            SampleRequest(
                "card_testing",
                _encode(transaction(rng, active[0], amount=rng.randrange(1, 100), **probe)),
                202,
            )
        )
    # Velocity: one card, many purchases in a minute, across merchants.
    busy = _card(rng)
    for i in range(12):
        merchant = active[i % len(active)]
        add(SampleRequest("velocity", _encode(transaction(rng, merchant, **busy)), 202))
    # Country mismatch: card, IP and billing all disagree.
    for _ in range(3):
        body = transaction(
            rng, active[-1], card_country="BR", ip_country="RU", billing_country="NG"
        )
        add(SampleRequest("country_mismatch", _encode(body), 202))

    valid_count = max(0, count - len(specials))
    # High-risk merchants (a casino) see less of the everyday traffic.
    weights = [1 if (m.get("risk_overrides") or {}).get("high_risk") else 5 for m in active]
    requests = [
        SampleRequest("valid", _encode(transaction(rng, merchant)), 202)
        for merchant in rng.choices(active, weights=weights, k=valid_count)
    ]
    # Spread the special cases through the burst, keeping each pattern's order.
    step = max(1, len(requests) // (len(specials) + 1))
    for position, special in enumerate(specials):
        requests.insert(min(len(requests), (position + 1) * step + position), special)
    return [with_idempotency_key(r) for r in requests] if keys else requests


def with_idempotency_key(request: SampleRequest) -> SampleRequest:
    """``request`` with an Idempotency-Key of its own if it is expected to be accepted and has
    none: made from its body (every body is distinct), so the sample data stays the seed's."""
    if request.expect != 202 or "Idempotency-Key" in request.headers:
        return request
    key = "demo-" + hashlib.sha256(request.body).hexdigest()[:32]
    return dataclasses.replace(request, headers={**request.headers, "Idempotency-Key": key})


def poison_message(rng: random.Random | None = None) -> dict[str, Any]:
    """A queued transaction no fraud detector can process: a well-formed envelope (ids the
    failed-transaction function can record) around a body that breaks the queue contract."""
    rng = rng or random.Random()  # noqa: S311
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    transaction_id = "".join(rng.choice(alphabet) for _ in range(26))
    return {
        "transaction_id": transaction_id,
        "timestamp": _timestamp(),
        "received_at": _timestamp(),
        "merchant_id": "m_poison",
        "amount": "not-a-number",
        "schema_version": "1",
    }

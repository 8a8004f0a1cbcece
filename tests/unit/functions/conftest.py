from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from txn_domain.models import AcceptedTransaction, MerchantConfig
from txn_domain.rules import load_default_rules


def _body(**overrides: Any) -> dict[str, Any]:
    body = {
        "merchant_id": "m_1001",
        "amount": 1999,
        "currency": "USD",
        "card_token": "tok_9f8e7d",
        "card_bin": "411111",
        "card_last4": "1111",
        "card_country": "US",
        "channel": "ecommerce",
        "ip_address": "203.0.113.7",
        "ip_country": "US",
        "billing_country": "US",
        "shipping_country": "US",
        "terminal_id": None,
        "geo": {"lat": 40.71, "lon": -74.0},
        "external_id": "pi_3Nabc",
        "timestamp": "2026-11-30T12:00:00Z",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.fixture
def make_body() -> Callable[..., dict[str, Any]]:
    """A valid request body; pass ``field=...`` (Ellipsis) to drop a field."""
    return _body


@pytest.fixture
def make_json(make_body) -> Callable[..., str]:
    return lambda **kw: json.dumps(make_body(**kw))


@pytest.fixture
def make_txn(make_body) -> Callable[..., AcceptedTransaction]:
    counter = iter(range(10**6))

    def make(received_at: str = "2026-11-30T12:00:00.000Z", **kw: Any) -> AcceptedTransaction:
        n = next(counter)
        return AcceptedTransaction.model_validate(
            {
                **make_body(**kw),
                "transaction_id": f"01JDZZZZZZZZZZZZZZZZZZ{n:04d}",
                "received_at": received_at,
            }
        )

    return make


@pytest.fixture
def make_merchant() -> Callable[..., MerchantConfig]:
    def make(**kw: Any) -> MerchantConfig:
        data = {
            "merchant_id": "m_1001",
            "active": True,
            "allowed_currencies": ["USD", "EUR"],
            "per_transaction_limit": 5000,
            "daily_limit": 200000,
            "mcc": "5942",
            "country": "US",
        }
        data.update(kw)
        return MerchantConfig.model_validate(data)

    return make


@pytest.fixture(scope="session")
def rules():
    return load_default_rules()

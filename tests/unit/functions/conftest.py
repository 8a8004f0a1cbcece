from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import transaction_body
from txn_domain.models import AcceptedTransaction, MerchantConfig
from txn_domain.rules import load_default_rules


@pytest.fixture
def make_body() -> Callable[..., dict[str, Any]]:
    """A valid request body; pass ``field=...`` (Ellipsis) to drop a field."""
    return transaction_body


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

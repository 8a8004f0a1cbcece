from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from txn_resilience import strategies


@pytest.fixture
def make_body() -> Callable[..., dict[str, Any]]:
    """A valid request body with fields overridden."""

    def make(**overrides: Any) -> dict[str, Any]:
        body = {
            "merchant_id": "m_1001",
            "amount": 1999,
            "currency": "USD",
            "card_token": "tok_9f8e7dabc",
            "card_bin": "411111",
            "card_last4": "1111",
            "card_country": "US",
            "channel": "ecommerce",
            "ip_address": "203.0.113.7",
            "ip_country": "US",
            "billing_country": "US",
            "timestamp": strategies.now_rfc3339(),
            "external_id": "pi_3Nabc",
        }
        body.update(overrides)
        return body

    return make

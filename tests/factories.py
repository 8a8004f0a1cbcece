"""The one sample transaction body the tests build on (DESIGN.md section 5's example)."""

from __future__ import annotations

from typing import Any

SAMPLE_BODY: dict[str, Any] = {
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


def transaction_body(**overrides: Any) -> dict[str, Any]:
    """A valid request body with fields overridden; ``field=...`` (Ellipsis) drops a field."""
    body = {**SAMPLE_BODY, **overrides}
    return {k: v for k, v in body.items() if v is not ...}

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import transaction_body
from txn_resilience import strategies


@pytest.fixture
def make_body() -> Callable[..., dict[str, Any]]:
    """A valid request body with fields overridden."""

    def make(**overrides: Any) -> dict[str, Any]:
        defaults = {
            "card_token": "tok_9f8e7dabc",
            "timestamp": strategies.now_rfc3339(),
            "shipping_country": ...,
            "terminal_id": ...,
            "geo": ...,
        }
        return transaction_body(**{**defaults, **overrides})

    return make

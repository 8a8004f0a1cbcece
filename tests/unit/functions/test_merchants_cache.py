from __future__ import annotations

import pytest

from txn_adapters.merchants import MerchantsRepository
from txn_domain.errors import ServiceUnavailableError

ITEM = {
    "merchant_id": {"S": "m_1"},
    "active": {"BOOL": True},
    "allowed_currencies": {"L": [{"S": "USD"}]},
    "per_transaction_limit": {"N": "100"},
    "daily_limit": {"N": "1000"},
    "mcc": {"S": "5942"},
    "country": {"S": "US"},
}


class CountingDynamo:
    def __init__(self, item):
        self.item = item
        self.gets = 0

    def get_item(self, TableName, Key):
        self.gets += 1
        return {"Item": self.item} if self.item else {}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_given_a_cached_merchant_within_ttl_then_no_second_read():
    ddb, clock = CountingDynamo(ITEM), Clock()
    repo = MerchantsRepository(ddb, "merchants", ttl_seconds=60, clock=clock)
    repo.get("m_1")
    clock.now = 59
    assert repo.get("m_1").active
    assert ddb.gets == 1


def test_given_the_ttl_passed_then_read_again():
    ddb, clock = CountingDynamo(ITEM), Clock()
    repo = MerchantsRepository(ddb, "merchants", ttl_seconds=60, clock=clock)
    repo.get("m_1")
    clock.now = 61
    repo.get("m_1")
    assert ddb.gets == 2


def test_given_an_unknown_merchant_then_cached_for_the_shorter_negative_ttl():
    ddb, clock = CountingDynamo(None), Clock()
    repo = MerchantsRepository(ddb, "merchants", negative_ttl_seconds=10, clock=clock)
    assert repo.get("m_x") is None
    clock.now = 5
    repo.get("m_x")
    clock.now = 11
    repo.get("m_x")
    assert ddb.gets == 2


def test_given_a_broken_merchant_item_then_service_error_not_bad_input():
    repo = MerchantsRepository(CountingDynamo({**ITEM, "mcc": {"S": "x"}}), "merchants")
    with pytest.raises(ServiceUnavailableError):
        repo.get("m_1")

import re

from txn_domain.ids import new_transaction_id


def test_ids_are_26_crockford_characters():
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", new_transaction_id())


def test_ids_sort_by_time():
    assert new_transaction_id(1_000) < new_transaction_id(2_000)


def test_ids_in_the_same_millisecond_differ():
    assert len({new_transaction_id(5) for _ in range(1000)}) == 1000

import re

from txn_domain.ids import new_transaction_id


def test_ids_are_26_crockford_characters():
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", new_transaction_id())


def test_ids_sort_by_time():
    assert new_transaction_id(1_000) < new_transaction_id(2_000)


def test_ids_in_the_same_millisecond_differ():
    assert len({new_transaction_id(5) for _ in range(1000)}) == 1000


def test_ids_encode_the_time_and_random_bits_in_crockford_base32(monkeypatch):
    # GIVEN the reference encoding, five bits at a time from the least significant end
    def reference(value: int) -> str:
        chars = []
        for _ in range(26):
            chars.append("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[value & 31])
            value >>= 5
        return "".join(reversed(chars))

    for noise in (bytes(10), bytes(range(1, 11)), b"\xff" * 10):
        monkeypatch.setattr("txn_domain.ids.os.urandom", lambda n, noise=noise: noise)
        for ms in (0, 1, 1_764_504_000_000, 2**48 - 1):
            # WHEN an id is made THEN it is the reference encoding of the time and the noise
            random_bits = int.from_bytes(noise, "big")
            assert new_transaction_id(ms) == reference(ms << 80 | random_bits)

"""Sortable unique ids (ULID layout): 48-bit milliseconds then 80 random bits, Crockford base32.

26 characters, lexicographic order = creation order to the millisecond.
"""

from __future__ import annotations

import base64
import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# RFC 4648 base32 (in C) then its letters renamed to Crockford's: the same 5-bit groups.
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


def new_transaction_id(now_ms: int | None = None) -> str:
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    # 26 characters are 130 bits: shifted left by 6, the value fills 17 bytes, and the first 26
    # base32 characters of those are the value's, most significant first.
    encoded = base64.b32encode((value << 6).to_bytes(17, "big")).decode("ascii")
    return encoded[:26].translate(_TO_CROCKFORD)

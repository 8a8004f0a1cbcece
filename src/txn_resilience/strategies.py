"""Hypothesis strategies: valid ``POST /transaction`` bodies and hostile variations of them.

Used by the property tests; the fixed catalogue in :mod:`txn_resilience.badinput` draws on the
same hostile values so the gateway run and the property tests speak of the same inputs.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from txn_domain.countries import ALPHA2
from txn_domain.currencies import EXPONENTS
from txn_domain.pan import contains_pan
from txn_resilience import cards

ID_CHARS = string.ascii_letters + string.digits + "_-"
# Merchants in fixtures/merchants.json that take USD and a small amount.
OPEN_MERCHANTS = ("m_1001", "m_1002", "m_2001")

REQUIRED = (
    "merchant_id",
    "amount",
    "currency",
    "card_token",
    "card_bin",
    "card_last4",
    "channel",
    "timestamp",
)
# The string fields: the required ones (all but the amount), then the optional ones.
STRING_FIELDS = (
    *(name for name in REQUIRED if name != "amount"),
    "card_country",
    "ip_address",
    "ip_country",
    "billing_country",
    "shipping_country",
    "terminal_id",
    "external_id",
)

# Values that look plausible and are not: the field they go in must be refused by name.
NOT_A_CURRENCY = ("XXX", "ABC", "usd", "US", "USDD", "XAU", "BTC", "   ", "")
NOT_A_COUNTRY = ("XX", "ZZ", "UK", "us", "USA", "EU", "AA", "")
INJECTIONS = (
    "' OR '1'='1",
    "1; DROP TABLE transactions--",
    '{"$gt": ""}',
    "<script>alert(1)</script>",
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}}",
    "../../etc/passwd",
    "$(reboot)",
    "`id`",
    "attribute_not_exists(transaction_id)",
    "%00",
    "\u0000",
    "\r\nX-Injected: 1",
)
UNICODE_TRICKS = (
    "m_1001\u200b",  # zero-width space
    "m\u200d_1001",  # zero-width joiner
    "\u202em_1001",  # right-to-left override
    "m_1\u0030\u0300001",  # combining accent
    "\uff4d_\uff11\uff10\uff10\uff11",  # fullwidth forms
    "\u043c_1001",  # Cyrillic em
    "USD\ufeff",  # byte order mark
    "\ud800",  # lone surrogate (only reachable through a JSON escape)
    "\U0001d7d2\U0001d7cf\U0001d7cf\U0001d7cf",  # mathematical bold digits
    "\u0664\u0661\u0661\u0661",  # Arabic-Indic digits
)
BAD_AMOUNTS = (
    0,
    -1,
    -1999,
    1.5,
    19.99,
    1e3,
    float("inf"),
    10**11,
    10**19,
    -(10**30),
    "1999",
    True,
    None,
    [1999],
    {"value": 1999},
)


def now_rfc3339(offset_seconds: int = 0) -> str:
    when = datetime.now(UTC) + timedelta(seconds=offset_seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def any_rfc3339() -> st.SearchStrategy[str]:
    """Any string the contract's timestamp pattern admits: impossible dates and offsets, and the
    edges of the years a datetime can hold (an offset can carry year 0001 or 9999 past them)."""
    two = st.from_regex(r"[0-9]{2}", fullmatch=True)
    year = st.one_of(
        st.sampled_from(["0001", "0002", "1970", "9998", "9999"]),
        st.from_regex(r"[0-9]{4}", fullmatch=True),
    )
    zone = st.one_of(st.just("Z"), st.from_regex(r"[+-][0-9]{2}:[0-9]{2}", fullmatch=True))
    fraction = st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,9}", fullmatch=True))
    any_digits = st.builds(
        lambda y, mo, d, h, mi, s, f, z: f"{y}-{mo}-{d}T{h}:{mi}:{s}{f}{z}",
        year, two, two, two, two, two, fraction, zone,
    )  # fmt: skip
    # real dates and offsets, which hypothesis draws from the edges of their ranges too
    hours_minutes = st.tuples(st.integers(0, 23), st.integers(0, 59))
    offset = st.tuples(st.sampled_from("+-"), hours_minutes).map(
        lambda o: f"{o[0]}{o[1][0]:02d}:{o[1][1]:02d}"
    )
    day = timedelta(days=1)
    when = st.one_of(
        st.datetimes(),
        st.datetimes(max_value=datetime.min + day),  # the first and last day a datetime holds
        st.datetimes(min_value=datetime.max - day),
    )
    real = st.builds(
        lambda at, z: at.isoformat(timespec="seconds") + z, when, st.one_of(st.just("Z"), offset)
    )
    return st.one_of(real, any_digits)


def _no_card_number(text: str) -> bool:
    # The API refuses a card-number-like run in any field (txn_domain.pan), on purpose: a valid
    # body holds none. Thirteen zeros pass the Luhn check, and an id may be all digits.
    return not contains_pan(text)


def ids(min_size: int = 1, max_size: int = 64) -> st.SearchStrategy[str]:
    return st.text(ID_CHARS, min_size=min_size, max_size=max_size).filter(_no_card_number)


def tokens() -> st.SearchStrategy[str]:
    """Card tokens as a vault issues them: a prefix and letters, never a digits-only string."""
    return (
        st.text(string.ascii_letters + string.digits, min_size=8, max_size=24)
        .map(lambda s: f"tok_{s}")
        .filter(_no_card_number)
    )


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(string.digits, min_size=n, max_size=n)


def valid_bodies(merchants: tuple[str, ...] = OPEN_MERCHANTS) -> st.SearchStrategy[dict]:
    """Bodies the validator must accept (202) for the fixture merchants, in USD, small amounts."""
    countries = st.sampled_from(sorted(ALPHA2))
    optional = {
        "card_country": countries,
        "ip_address": st.ip_addresses().map(str),
        "ip_country": countries,
        "billing_country": countries,
        "shipping_country": countries,
        "terminal_id": ids(max_size=32),
        "geo": st.fixed_dictionaries(
            {
                "lat": st.floats(-90, 90, allow_nan=False),
                "lon": st.floats(-180, 180, allow_nan=False),
            }
        ),
        "external_id": st.text(ID_CHARS + ".:", min_size=1, max_size=64),
    }
    return st.fixed_dictionaries(
        {
            "merchant_id": st.sampled_from(merchants),
            "amount": st.integers(1, 200_000),
            "currency": st.just("USD"),
            "card_token": tokens(),
            "card_bin": digits(6),
            "card_last4": digits(4),
            "channel": st.sampled_from(["card_present", "ecommerce"]),
            "timestamp": st.integers(-86_400, 60).map(now_rfc3339),
        },
        optional=optional,
    )


def domain_bodies() -> st.SearchStrategy[dict]:
    """Schema-valid bodies over every currency and merchant id (the domain check, not merchant)."""
    return valid_bodies().flatmap(
        lambda body: st.fixed_dictionaries(
            {
                "merchant_id": ids(),
                "currency": st.sampled_from(sorted(EXPONENTS)),
                "amount": st.integers(1, 99_999_999_999),
            }
        ).map(lambda over: {**body, **over})
    )


def pans() -> st.SearchStrategy[str]:
    """Luhn-valid card numbers, 13 to 19 digits, some written in groups."""
    raw = st.builds(
        lambda length, first, rest: cards.luhn_complete(first + rest[: length - 2]),
        st.integers(cards.MIN_PAN, cards.MAX_PAN),
        st.sampled_from("3456"),
        st.text(string.digits, min_size=17, max_size=17),
    )
    return st.one_of(
        raw,
        raw.map(cards.spaced),
        raw.map(lambda p: cards.spaced(p, "-")),
    )


def with_pan(body: dict, pan: str, where: str, how: str) -> str:
    """``body`` as JSON text with ``pan`` planted in ``where`` (a field, a new key, a key name).

    ``how`` is ``plain`` or ``escaped`` (every character of the PAN a ``\\uXXXX`` escape, which
    a raw-text scan cannot see).
    """
    marker = "__PAN__"
    body = dict(body)
    if where == "key":
        body[marker] = "x"
    elif where in body or where in STRING_FIELDS:
        body[where] = marker
    else:
        body[where] = {"note": f"card {marker} here"}
    text = json.dumps(body)
    return text.replace(marker, pan if how == "plain" else cards.json_escaped(pan))


def hostile_values() -> st.SearchStrategy[Any]:
    """Any JSON value a hostile or broken client could put in a field."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=80),
        st.sampled_from(INJECTIONS + UNICODE_TRICKS + NOT_A_CURRENCY + NOT_A_COUNTRY),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=12,
    )


def mutated_bodies() -> st.SearchStrategy[tuple[str, Any, dict]]:
    """A valid body with one field replaced by a hostile value: ``(field, value, body)``."""
    return st.tuples(
        st.sampled_from(
            (*REQUIRED, "card_country", "ip_address", "geo", "external_id", "terminal_id")
        ),
        st.one_of(hostile_values(), st.sampled_from(BAD_AMOUNTS)),
        valid_bodies(),
    ).map(lambda t: (t[0], t[1], {**t[2], t[0]: t[1]}))


def raw_bodies() -> st.SearchStrategy[str | bytes]:
    """Bodies that need not be JSON at all: bytes, text, truncated and deeply nested JSON."""
    nested = st.integers(1, 5000).flatmap(
        lambda depth: st.sampled_from(["[", '{"a":']).map(
            lambda opener: opener * depth + "1" + ("]" if opener == "[" else "}") * depth
        )
    )
    truncated = valid_bodies().flatmap(
        lambda body: st.integers(0, len(json.dumps(body))).map(lambda n: json.dumps(body)[:n])
    )
    return st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        nested,
        truncated,
        st.builds(json.dumps, hostile_values()),
    )

"""Card numbers for tests, and the card-data policy that the leak scan enforces.

The policy (what may exist outside the card vault, PCI DSS 3.3/3.4):

- a **PAN** (13 to 19 digits, single spaces or hyphens allowed between them, passing Luhn,
  starting as an issued card does: see :func:`issuer_like`) may appear nowhere: no log line,
  table item, queue message or alert; the velocity table's numeric attributes are packed
  counters (``count * 10**15 + sum``, ADR 0003), not scanned as PANs;
- the **card token** (the vault's opaque surrogate, ``card_token``) may be stored in the
  transactions, idempotency and velocity tables and carried in queue messages, because the
  pipeline keys on it; it must never appear in a log line or an alert (it is "unmasked" there);
- the **BIN** only under the key ``card_bin``, and only its first six digits (the API takes 6
  to 8; PCI DSS 3.5.1 allows no more than the first six with the last four);
- the **last four** digits only under the key ``card_last4``;
- the **masked card** ``<BIN>******<last4>`` is the only card form an alert or a log may show;
- any other key that names card data (``pan``, ``card_number``, ``cvv``, ``expiry``, ...) is a
  leak whatever its value.

This module is written apart from ``txn_domain.pan`` on purpose: the scan checks the domain's
redaction, so it must not share its code.
"""

from __future__ import annotations

import random
import re
import unicodedata

MIN_PAN, MAX_PAN = 13, 19

# A maximal run of digits (any script), single spaces or hyphens allowed between two digits.
DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*")
MASKED_CARD = re.compile(r"^[0-9]{6}\*{6}[0-9]{4}$")
BIN = re.compile(r"^[0-9]{6}$")
LAST4 = re.compile(r"^[0-9]{4}$")
# Key names that only card data would have; matched on the key, lower-cased, without separators.
FORBIDDEN_KEYS = re.compile(
    r"^(pan|cardnumber|cardno|ccnumber|ccnum|primaryaccountnumber|accountnumber|cvv|cvc|cvv2|"
    r"cvc2|securitycode|expiry|expirydate|expdate|cardexpiry|cardexpiration|track1|track2|"
    r"trackdata|pin|pinblock)$"
)
ALLOWED_CARD_KEYS = frozenset({"card_token", "card_bin", "card_last4", "card_country", "card"})


def digits_of(run: str) -> str:
    """The ASCII digits of a run (separators dropped, any script's digits read as their value)."""
    return "".join(str(unicodedata.digit(ch)) for ch in run if ch not in " -")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, ch in enumerate(reversed(digits)):
        d = int(ch)
        if position % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the check digit that makes it pass Luhn."""
    for check in "0123456789":
        if luhn_valid(prefix + check):
            return prefix + check
    raise AssertionError("unreachable: one check digit always fits")


def issuer_like(digits: str) -> bool:
    """Whether a Luhn-valid run could be an issued card: its major industry identifier (first
    digit) is 2 to 6 (the card networks: Mastercard 2/5, Amex/JCB/Diners 3, Visa 4, Discover
    and UnionPay 6), or 1 for a 15-digit UATP card. A 13-digit run starting with 1 is an epoch
    in milliseconds (every log line has one), not a card."""
    return digits[0] in "23456" or (digits[0] == "1" and len(digits) == 15)


def find_pans(text: str) -> list[str]:
    """Every PAN-like run in ``text`` (as found, separators kept).

    A run longer than 19 digits is checked window by window, as the validator does: a PAN
    hidden inside a longer number is still a PAN.
    """
    found: list[str] = []
    for match in DIGIT_RUN.finditer(text):
        digits = digits_of(match.group())
        if len(digits) < MIN_PAN:
            continue
        if len(digits) <= MAX_PAN:
            if luhn_valid(digits) and issuer_like(digits):
                found.append(match.group())
            continue
        if any(
            luhn_valid(digits[start : start + length])
            and issuer_like(digits[start : start + length])
            for length in range(MIN_PAN, MAX_PAN + 1)
            for start in range(len(digits) - length + 1)
        ):
            found.append(match.group())
    return found


def mask(text: str) -> str:
    """``text`` safe to print in a report: every digit but the last four of a run hidden."""

    def _hide(match: re.Match[str]) -> str:
        run = match.group()
        return "#" * max(0, len(run) - 4) + run[-4:]

    return DIGIT_RUN.sub(_hide, text)


def make_pan(rng: random.Random, length: int | None = None, prefix: str = "4") -> str:
    """A Luhn-valid card number of ``length`` digits (13-19) starting with ``prefix``."""
    length = length or rng.choice((13, 15, 16, 16, 16, 19))
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def spaced(pan: str, separator: str = " ", group: int = 4) -> str:
    """``pan`` written in groups: ``4111 1111 1111 1111``."""
    return separator.join(pan[i : i + group] for i in range(0, len(pan), group))


def json_escaped(text: str) -> str:
    """``text`` as a JSON string body with every character as a ``\\uXXXX`` escape."""
    return "".join(f"\\u{ord(ch):04x}" for ch in text)

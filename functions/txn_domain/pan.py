"""Detect and mask primary account numbers (PANs).

A PAN is 13 to 19 digits that pass the Luhn check; people also write them in groups separated by
spaces or hyphens. :func:`find_pan` scans any text for such a run. A run longer than 19 digits is
checked window by window: refusing a long numeric id now and then is a far smaller harm than
accepting a card number hidden in one.
"""

from __future__ import annotations

import re

# A run of at least 13 digits, single spaces or hyphens allowed between digits.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")
_SEPARATORS = re.compile(r"[ -]")
# Cheap pre-filter: text with no 13-digit run (separators allowed) never reaches the full scan.
_HAS_LONG_RUN = re.compile(r"(?:\d[ -]?){13}")

MIN_PAN, MAX_PAN = 13, 19
REDACTED = "[PAN-REDACTED]"


def luhn_ok(digits: str) -> bool:
    """True if the digit string passes the Luhn (mod 10) check."""
    total = 0
    double = False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if double:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        double = not double
    return total % 10 == 0


def _run_has_pan(digits: str) -> bool:
    n = len(digits)
    if n <= MAX_PAN:
        return luhn_ok(digits)
    for length in range(MIN_PAN, MAX_PAN + 1):
        for start in range(n - length + 1):
            if luhn_ok(digits[start : start + length]):
                return True
    return False


def contains_pan(text: str) -> bool:
    """True if ``text`` holds something that looks like a card number."""
    if not _HAS_LONG_RUN.search(text):
        return False
    for match in _DIGIT_RUN.finditer(text):
        if _run_has_pan(_SEPARATORS.sub("", match.group())):
            return True
    return False


def redact_pans(text: str) -> str:
    """``text`` with every PAN-like run replaced by :data:`REDACTED` (used on log lines)."""
    if not _HAS_LONG_RUN.search(text):
        return text

    def _sub(match: re.Match[str]) -> str:
        return REDACTED if _run_has_pan(_SEPARATORS.sub("", match.group())) else match.group()

    return _DIGIT_RUN.sub(_sub, text)


def mask_card(bin_: str | None, last4: str | None) -> str:
    """Display form of a card from its BIN and last four digits: ``411111******1111``."""
    return f"{bin_ or '??????'}******{last4 or '????'}"

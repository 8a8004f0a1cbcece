"""Detect and mask primary account numbers (PANs).

A PAN is 13 to 19 digits that pass the Luhn check; people also write them in groups separated by
spaces or hyphens. :func:`contains_pan` scans any text for such a run. A run longer than 19
digits is checked window by window: refusing a long numeric id now and then is a far smaller
harm than accepting a card number hidden in one.

A canonical UUID (``8-4-4-4-12`` hex digits) is an identifier, not a card number written in
groups: when its last three groups happen to be all digits they make a run the Luhn check passes
one time in ten, so 0.27% of random UUIDs used to read as PANs (an order id refused, an SQS
message id redacted). UUIDs are skipped whole; a PAN next to one is still found.
"""

from __future__ import annotations

import re

# A run of at least 13 digits, single spaces or hyphens allowed between digits.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")
_SEPARATORS = re.compile(r"[ -]")
# Cheap pre-filter: text with no digit followed by 12 more digits, spaces or hyphens (so no
# 13-digit run, separators allowed) never reaches the full scan. It lets a little more through
# than the run itself (``1 - - - ...``), which the scan then refuses; the repeated group
# ``(?:\d[ -]?){13}`` says the same more exactly at three times the cost on every request.
_HAS_LONG_RUN = re.compile(r"\d[\d -]{12}")

_UUID = re.compile(
    r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"(?![0-9A-Za-z])"
)

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


def _outside_uuids(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_uuid) pieces, in order."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for match in _UUID.finditer(text):
        pieces += [(text[at : match.start()], False), (match.group(), True)]
        at = match.end()
    pieces.append((text[at:], False))
    return pieces


def _has_pan(text: str) -> bool:
    return any(
        _run_has_pan(_SEPARATORS.sub("", match.group())) for match in _DIGIT_RUN.finditer(text)
    )


def _redact(text: str) -> str:
    def _sub(match: re.Match[str]) -> str:
        return REDACTED if _run_has_pan(_SEPARATORS.sub("", match.group())) else match.group()

    return _DIGIT_RUN.sub(_sub, text)


def contains_pan(text: str) -> bool:
    """True if ``text`` holds something that looks like a card number."""
    if not _HAS_LONG_RUN.search(text):
        return False
    return any(_has_pan(piece) for piece, uuid in _outside_uuids(text) if not uuid)


def redact_pans(text: str) -> str:
    """``text`` with every PAN-like run replaced by :data:`REDACTED` (used on log lines)."""
    if not _HAS_LONG_RUN.search(text):
        return text
    return "".join(piece if uuid else _redact(piece) for piece, uuid in _outside_uuids(text))


def mask_card(bin_: str | None, last4: str | None) -> str:
    """Display form of a card from its BIN and last four digits: ``411111******1111``."""
    return f"{bin_ or '??????'}******{last4 or '????'}"

"""Scan everything a run produced for card data, against the policy in :mod:`cards`.

Sources are named (``log``, ``table:<name>``, ``queue:<name>``, ``alert``) and scanned as text
(every log line, message body and item serialised as JSON) and, where structured, key by key.
A finding carries its source, the rule it broke and a masked excerpt: the report itself must
not leak what it found.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from txn_resilience.cards import (
    ALLOWED_CARD_KEYS,
    BIN,
    FORBIDDEN_KEYS,
    LAST4,
    MASKED_CARD,
    find_pans,
    mask,
)

# A SHA-256 hex digest (idempotency body hashes, poison bodies): one-way, not card data, but
# its digit runs pass Luhn as often as any.
DIGEST = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{64}(?![0-9A-Za-z])")
# A canonical UUID (SQS message ids, request ids; a FAILED record's key): an identifier whose
# all-digit last groups pass Luhn as often as any run (0.27% of random UUIDs read as a PAN).
UUID = re.compile(
    r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"(?![0-9A-Za-z])"
)
_WORD = re.compile(r"[A-Za-z0-9_-]{4,64}")
# Where a card token may legitimately be: the tables that key on it and the queued messages.
TOKEN_ALLOWED_SOURCES = ("table:", "queue:")


@dataclass(frozen=True)
class Finding:
    source: str
    rule: str  # pan | token_exposed | card_key | bad_bin | bad_last4 | unmasked_card
    where: str  # key path or line number
    excerpt: str  # masked

    def __str__(self) -> str:
        return f"{self.source} {self.where}: {self.rule} ({self.excerpt})"


@dataclass
class LeakScan:
    """Accumulates what was scanned and what was found."""

    tokens: frozenset[str] = frozenset()  # the card tokens submitted during the run
    findings: list[Finding] = field(default_factory=list)
    scanned: Counter[str] = field(default_factory=Counter)  # kind -> count

    # --- sources --------------------------------------------------------------------------------

    def log_lines(self, lines: Iterable[str], source: str = "log") -> None:
        for number, line in enumerate(lines, 1):
            self.scanned["log lines"] += 1
            self._text(source, f"line {number}", line, token_allowed=False)

    def items(
        self, table: str, items: Iterable[Mapping[str, Any]], *, packed_numbers: bool = False
    ) -> None:
        """Table items; ``packed_numbers``: numeric attributes are packed counters, not text."""
        for item in items:
            self.scanned["table items"] += 1
            where = str(item.get("transaction_id") or item.get("pk") or item.get("id") or "?")
            if packed_numbers:
                item = {k: v for k, v in item.items() if not isinstance(v, int | float | Decimal)}
            self._structured(f"table:{table}", mask(where), item)

    def messages(self, queue: str, bodies: Iterable[str]) -> None:
        for body in bodies:
            self.scanned["queue messages"] += 1
            self._document(f"queue:{queue}", body)

    def alerts(self, bodies: Iterable[str]) -> None:
        for body in bodies:
            self.scanned["alerts"] += 1
            self._document("alert", body)

    # --- checks ---------------------------------------------------------------------------------

    @property
    def clean(self) -> bool:
        return not self.findings

    def _add(self, source: str, rule: str, where: str, value: str) -> None:
        self.findings.append(Finding(source, rule, where, mask(value)[:80]))

    def _document(self, source: str, body: str) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            self._text(source, "body", body, token_allowed=source.startswith(TOKEN_ALLOWED_SOURCES))
            return
        where = str(data.get("transaction_id", "?")) if isinstance(data, dict) else "body"
        self._structured(source, where, data)

    def _text(self, source: str, where: str, text: str, *, token_allowed: bool) -> None:
        for pan in find_pans(UUID.sub("<uuid>", DIGEST.sub("<sha256>", text))):
            self._add(source, "pan", where, pan)
        if not token_allowed:
            for token in self._tokens_in(text):
                self._add(source, "token_exposed", where, token)

    def _tokens_in(self, text: str) -> list[str]:
        if not self.tokens:
            return []
        return [word for word in _WORD.findall(text) if word in self.tokens]

    def _structured(self, source: str, where: str, data: Any) -> None:
        # The whole document as text first: a PAN in a key, a nested value or an escaped
        # string is found however it is stored.
        self._text(
            source,
            where,
            json.dumps(data, default=_plain, ensure_ascii=False),
            token_allowed=source.startswith(TOKEN_ALLOWED_SOURCES),
        )
        for path, key, value in _walk(data):
            self._key(source, f"{where}:{path}", key, value)

    def _key(self, source: str, where: str, key: str, value: Any) -> None:
        plain = key.lower().replace("_", "").replace("-", "")
        if FORBIDDEN_KEYS.match(plain) or (
            "card" in plain and key.lower() not in ALLOWED_CARD_KEYS
        ):
            self._add(source, "card_key", where, key)
            return
        if not isinstance(value, str):
            return
        if key == "card_bin" and not BIN.match(value):
            self._add(source, "bad_bin", where, value)
        elif key == "card_last4" and not LAST4.match(value):
            self._add(source, "bad_last4", where, value)
        elif key == "card" and not MASKED_CARD.match(value):
            self._add(source, "unmasked_card", where, value)

    def summary(self) -> dict[str, Any]:
        return {
            "scanned": dict(self.scanned),
            "findings": len(self.findings),
            "by_rule": dict(Counter(f.rule for f in self.findings)),
        }


def _walk(data: Any, path: str = "") -> Iterable[tuple[str, str, Any]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            sub = f"{path}.{key}" if path else str(key)
            yield sub, str(key), value
            yield from _walk(value, sub)
    elif isinstance(data, list | tuple | set | frozenset):
        for i, value in enumerate(data):
            yield from _walk(value, f"{path}[{i}]")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(type(value).__name__)

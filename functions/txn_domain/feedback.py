"""What a confirmed-fraud report changes (ADR 0013). Pure.

A report names a stored transaction. It raises the risk (:mod:`txn_domain.risk`) of the
transaction's card (the card's counter item) and of its merchant and, for a card-present sale
at a terminal, of that terminal (both on the merchant's risk item ``risk#<merchant_id>``).

Counted once. Each item remembers the digests of the reports counted into it, and a write holds
only if the item's risk is still the one read (a concurrent report is not overwritten: the write
is rebuilt from the item as it now is). The card item is the durable memory (it lives 90 days
after the card's last use and keeps the card's last :data:`~txn_domain.risk.CARD_KEEP` reports):
a report its card already counted is a duplicate whole, however late it comes again. The risk
item keeps the last :data:`~txn_domain.risk.MERCHANT_KEEP`, enough for a redelivery minutes
later after a write that reached one item and not the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from txn_domain.fraud import epoch_seconds
from txn_domain.risk import CARD_KEEP, MERCHANT_KEEP, OWN, Risk
from txn_domain.velocity import Counter, card_key, guard_digest, risk_key

# not_permitted: no API key that reported the sale posted it or may act for its merchant now
# (ADR 0024)
Outcome = Literal["counted", "duplicate", "transaction_unknown", "not_permitted"]


@dataclass(frozen=True, slots=True)
class ReportedSale:
    """What a report needs of the stored transaction: who sold, on which card, when."""

    transaction_id: str
    card_token: str
    merchant_id: str
    terminal_id: str | None  # card present at a terminal only
    at: int  # received_at, epoch seconds: when the fraud happened
    posted_by: str | None = None  # the API key that posted it, if the record says (ADR 0024)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ReportedSale:
        terminal = record.get("terminal_id") if record.get("channel") == "card_present" else None
        return cls(
            transaction_id=record["transaction_id"],
            card_token=record["card_token"],
            merchant_id=record["merchant_id"],
            terminal_id=terminal,
            at=epoch_seconds(record["received_at"]),
            posted_by=record.get("api_key_id"),
        )

    @property
    def digest(self) -> str:
        return guard_digest(self.transaction_id)

    def item_keys(self) -> tuple[str, str]:
        return card_key(self.card_token), risk_key(self.merchant_id)


def plan_item(sale: ReportedSale, counter: Counter, now: int) -> Risk | None:
    """The risk ``counter``'s item must hold once the report is counted into it; ``None`` when
    it holds the report already, or for a card without a live counter item (a card unused for
    90 days: a report does not revive its windows)."""
    digest = sale.digest
    if counter.risk.counted(digest):
        return None
    if counter.key.startswith("card#"):
        if not counter.exists or counter.reset:
            return None
        return counter.risk.add((OWN,), sale.at, now, digest, CARD_KEEP)
    names = (OWN,) if sale.terminal_id is None else (OWN, sale.terminal_id)
    return counter.risk.add(names, sale.at, now, digest, MERCHANT_KEEP)


def plan(sale: ReportedSale, card: Counter, risk: Counter, now: int) -> dict[str, Risk]:
    """The risk each item must hold once the report is counted (item key -> risk); empty when
    the report is a duplicate: its card counted it already, however long ago."""
    if card.risk.counted(sale.digest):
        return {}
    out: dict[str, Risk] = {}
    for counter in (card, risk):
        planned = plan_item(sale, counter, now)
        if planned is not None:
            out[counter.key] = planned
    return out

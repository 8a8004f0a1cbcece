"""The accounting ledger of a run: every accepted transaction ends exactly once somewhere.

``submitted = APPROVED + FLAGGED + FAILED + still queued`` and ``duplicates = 0``, where
*submitted* is what the clients were told was accepted (distinct transaction ids from 202
answers), the statuses come from a full scan of the transactions table, and *still queued* are
accepted ids found on the transactions queue, its DLQ or the parking queue and not in the
table. Ids in the table that no client was told about (*orphans*) and accepted ids found
nowhere (*lost*) unbalance it.
Poison messages (bodies that are not transactions) are accounted apart.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("APPROVED", "FLAGGED", "FAILED")


@dataclass
class Ledger:
    submitted: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    still_queued: int = 0
    duplicates: int = 0
    lost: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    poison_sent: int = 0
    poison_recorded: int = 0
    poison_queued: int = 0

    @property
    def accounted(self) -> int:
        return sum(self.statuses[s] for s in STATUSES) + self.still_queued

    @property
    def balanced(self) -> bool:
        return (
            self.submitted == self.accounted
            and self.duplicates == 0
            and not self.lost
            and not self.orphans
            and self.poison_sent == self.poison_recorded + self.poison_queued
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "submitted": self.submitted,
            **{s: self.statuses[s] for s in STATUSES},
            "still_queued": self.still_queued,
            "duplicates": self.duplicates,
            "lost": len(self.lost),
            "orphans": len(self.orphans),
            "poison_sent": self.poison_sent,
            "poison_recorded": self.poison_recorded,
            "poison_queued": self.poison_queued,
            "balanced": self.balanced,
        }

    def line(self) -> str:
        d = self.as_dict()
        return (
            f"submitted {d['submitted']} = APPROVED {d['APPROVED']} + FLAGGED {d['FLAGGED']} "
            f"+ FAILED {d['FAILED']} + still queued {d['still_queued']} "
            f"({'balanced' if self.balanced else 'NOT BALANCED'}); duplicates {d['duplicates']}, "
            f"lost {d['lost']}, orphans {d['orphans']}; poison {d['poison_sent']} sent = "
            f"{d['poison_recorded']} recorded FAILED + {d['poison_queued']} queued"
        )


def queued_transaction_ids(bodies: Iterable[str]) -> tuple[set[str], int]:
    """Transaction ids among queued message bodies, and the count of bodies that have none."""
    ids: set[str] = set()
    other = 0
    for body in bodies:
        try:
            data = json.loads(body)
            ids.add(str(data["transaction_id"]))
        except (ValueError, KeyError, TypeError):
            other += 1
    return ids, other


def balance(
    accepted: Iterable[str],
    items: Iterable[Mapping[str, Any]],
    queued_bodies: Iterable[str],
    poison_sent: int = 0,
) -> Ledger:
    """The ledger from the accepted ids, the transactions table's items and the queued bodies."""
    accepted = set(accepted)
    ledger = Ledger(submitted=len(accepted), poison_sent=poison_sent)
    seen: Counter[str] = Counter()
    status_of: dict[str, str] = {}
    for item in items:
        txn_id = str(item["transaction_id"])
        if txn_id.startswith("unparsed-"):
            ledger.poison_recorded += 1
            continue
        seen[txn_id] += 1
        status_of[txn_id] = str(item["status"])
    ledger.duplicates = sum(n - 1 for n in seen.values() if n > 1)
    queued, ledger.poison_queued = queued_transaction_ids(queued_bodies)
    for txn_id in accepted:
        if txn_id in status_of:
            ledger.statuses[status_of[txn_id]] += 1
        elif txn_id in queued:
            ledger.still_queued += 1
        else:
            ledger.lost.append(txn_id)
    ledger.orphans = sorted(set(status_of) - accepted)
    return ledger

"""Confirmed-fraud risk of a card, its merchant and the merchant's terminals (ADR 0013). Pure.

Confirmed fraud and chargebacks (``POST /fraud-reports``) arrive days after the sale. Each one
raises a decaying score: on the card's counter item (the card's own score) and on the merchant's
risk item ``risk#<merchant_id>`` (the merchant's score, and the terminal's when the sale was card
present at a terminal). One string attribute, :data:`ATTRIBUTE` (``rk``), holds an item's risk:

``<at>|<digest> <digest> ...|<name>:<score>,<name>:<score>``

- ``at``: the time the scores are stated at (epoch seconds); a score at a later time ``t`` is
  ``score * 0.5 ** ((t - at) / HALF_LIFE_S)``;
- the digests of the reports counted into the item, newest last (at most ``keep``): a report
  whose digest is there is not counted again (a redelivery, or the same report sent twice);
- ``*`` (:data:`OWN`) is the card's or the merchant's own score, any other name a terminal id.

**Late arrival.** A fraud confirmed ``d`` days after the sale adds ``0.5 ** (d / half-life)``:
the score decays from when the fraud *happened*, not from when it was confirmed, so a terminal
whose fraud is confirmed a week late is not treated as compromised today with full weight, and
two reports of frauds a day apart weigh the same whatever order they arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ATTRIBUTE = "rk"
OWN = "*"
HALF_LIFE_S = 7 * 86400
FLOOR = 0.02  # a terminal's score below this is forgotten (about 5 half-lives of one report)
MAX_TERMINALS = 16  # per merchant item: the highest scores are kept
CARD_KEEP = 16  # reports remembered on a card item: the durable "already counted" (ADR 0013)
MERCHANT_KEEP = 32  # ... on a merchant's risk item: redeliveries within minutes


def decay(seconds: float) -> float:
    factor: float = 0.5 ** (max(seconds, 0.0) / HALF_LIFE_S)
    return factor


@dataclass(frozen=True, slots=True)
class Risk:
    at: int = 0
    scores: tuple[tuple[str, float], ...] = ()
    reported: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Risk:
        at, reported, scores = text.split("|")
        pairs = tuple(
            (name, float(value))
            for name, value in (part.split(":") for part in scores.split(",") if part)
        )
        return cls(at=int(at), scores=pairs, reported=tuple(reported.split()))

    def text(self) -> str:
        scores = ",".join(f"{name}:{value:.4f}" for name, value in self.scores)
        return f"{self.at}|{' '.join(self.reported)}|{scores}"

    def score(self, name: str, now: int) -> float:
        """The score of ``name`` (:data:`OWN` or a terminal id) at ``now``; 0 when none."""
        for held, value in self.scores:
            if held == name:
                return value * decay(now - self.at)
        return 0.0

    def counted(self, digest: str) -> bool:
        return digest in self.reported

    def add(self, names: Iterable[str], fraud_at: int, now: int, digest: str, keep: int) -> Risk:
        """With one more confirmed fraud (the sale at ``fraud_at``, counted at ``now``) added to
        each of ``names``; scores restated at ``max(at, now)``."""
        ref = max(self.at, now)
        factor = decay(ref - self.at) if self.at else 1.0
        scores = {name: value * factor for name, value in self.scores}
        weight = decay(ref - fraud_at)
        for name in names:
            scores[name] = scores.get(name, 0.0) + weight
        own = scores.pop(OWN, None)
        terminals = sorted(
            ((n, v) for n, v in scores.items() if v >= FLOOR), key=lambda p: (-p[1], p[0])
        )[:MAX_TERMINALS]
        kept = ([(OWN, own)] if own is not None else []) + terminals
        reported = (*(d for d in self.reported if d != digest), digest)[-keep:]
        return Risk(at=ref, scores=tuple(kept), reported=reported)


NO_RISK = Risk()  # an item without confirmed fraud (shared: a Risk is immutable)

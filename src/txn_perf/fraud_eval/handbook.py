"""Traffic shaped like the public reference simulator, to see whether the rules generalise.

Le Borgne et al., *Reproducible Machine Learning for Credit Card Fraud Detection - Practical
Handbook* (2022), ch. 3, describe a simulator that much of the public fraud-detection work is
measured on. This is that simulator's shape, written here from its description:

- customers and terminals at uniform places on a 100 x 100 grid (here 100 units are about
  55 km around Brussels); a customer buys at any terminal within ``radius`` of home, at random
  (the book's 5 with its 10,000 terminals: about 78 in reach; a run with fewer terminals widens
  the radius to keep that reach);
- each customer a mean amount uniform in 5-100 (here EUR) with a spread of half of it, normal
  amounts (a negative draw is redrawn uniform below twice the mean), and a rate of purchases
  uniform in 0-4 a day, Poisson each day, at times normal around noon (sd 20,000 s);
- fraud, in three scenarios applied in order: (1) every sale over 220 (``large_amount``; the
  book's own words: not inspired by real-world fraud, an obvious pattern any baseline detector
  should catch); (2) each day a few terminals are compromised for 28 days and **every** sale at
  them is fraud (``compromised_terminal``); (3) each day a few customers' data leaks and a
  third of their sales over the next 14 days are fraud at five times the amount
  (``compromised_card``: the book calls it card-not-present fraud, but its sales carry no
  channel and stay at the customer's terminals, so here too);
- every fraud is known ``feedback_delay_days`` (7, the book's delay period) after the sale.

Every sale is card present at its terminal, with the terminal's coordinates, in one currency,
one merchant per terminal. The shape differs from the project's own generator on purpose: its
fraud is told by amount and terminal alone, where the project's cardholders make genuine big
purchases and keep shopping where a criminal once used a terminal (docs/fraud-eval.md).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from txn_domain.models import MerchantConfig, utc_millis
from txn_perf.fraud_eval.generator import Traffic, poisson, ulid
from txn_perf.fraud_eval.world import DAY, Event

START = datetime(2026, 4, 1, tzinfo=UTC)
ORIGIN = (50.60, 4.00)  # the grid's corner (lat, lon)
DEG_PER_UNIT = 0.005  # of latitude: 100 units are 0.5 degrees, about 55 km
BOOK_TERMINALS = 10_000  # the book's run: the radius is its, for this many terminals
LARGE = 220.0  # scenario 1: every amount above it is fraud
MCCS = ("5411", "5812", "5814", "5541", "5912", "5311", "5999", "5691")


@dataclass(frozen=True)
class HandbookParams:
    """The simulator's knobs; rates of compromise are the book's (2 of 10,000 terminals and 3
    of 5,000 customers a day), as shares so that a smaller run keeps them: each day's count is
    the share times the population, rounded up or down at random to keep its mean."""

    customers: int = 2000
    terminals: int = 4000
    days: int = 60
    radius: float = 5.0
    terminals_compromised_per_day: float = 2 / 10_000
    customers_compromised_per_day: float = 3 / 5_000
    terminal_days: int = 28
    card_days: int = 14
    card_share: float = 1 / 3
    card_factor: float = 5.0
    feedback_delay_days: float = 7.0


@dataclass
class _Sale:
    customer: int
    terminal: int
    day: int
    second: int
    amount: float
    label: str = "legit"


def _count(rng: random.Random, expected: float) -> int:
    """``expected`` rounded up or down at random, keeping its mean."""
    whole = int(expected)
    return whole + (rng.random() < expected - whole)


def _sales(p: HandbookParams, rng: random.Random) -> tuple[list[_Sale], list[tuple[float, float]]]:
    customers = [
        (rng.uniform(0, 100), rng.uniform(0, 100), rng.uniform(5, 100), rng.uniform(0, 4))
        for _ in range(p.customers)
    ]
    terminals = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(p.terminals)]
    reach = p.radius * math.sqrt(BOOK_TERMINALS / p.terminals)
    sales: list[_Sale] = []
    for number, (x, y, mean, rate) in enumerate(customers):
        near = [i for i, (tx, ty) in enumerate(terminals) if math.dist((x, y), (tx, ty)) < reach]
        if not near:
            continue
        for day in range(p.days):
            for _ in range(poisson(rng, rate)):
                second = int(rng.gauss(DAY / 2, 20_000))
                if not 0 <= second < DAY:
                    continue
                amount = rng.gauss(mean, mean / 2)
                if amount < 0:
                    amount = rng.uniform(0, 2 * mean)
                sales.append(
                    _Sale(number, rng.choice(near), day, second, max(round(amount, 2), 0.01))
                )
    return sales, terminals


def _label(p: HandbookParams, rng: random.Random, sales: list[_Sale]) -> None:
    """The three scenarios, in the book's order (a later one relabels an earlier one's sale)."""
    for sale in sales:
        if sale.amount > LARGE:
            sale.label = "large_amount"
    by_terminal: dict[int, list[_Sale]] = {}
    by_customer: dict[int, list[_Sale]] = {}
    for sale in sales:
        by_terminal.setdefault(sale.terminal, []).append(sale)
        by_customer.setdefault(sale.customer, []).append(sale)
    for day in range(p.days):
        hit = _count(rng, p.terminals * p.terminals_compromised_per_day)
        for terminal in rng.sample(range(p.terminals), hit):
            for sale in by_terminal.get(terminal, []):
                if day <= sale.day < day + p.terminal_days:
                    sale.label = "compromised_terminal"
    for day in range(p.days):
        hit = _count(rng, p.customers * p.customers_compromised_per_day)
        # the day's leaked cards' sales of the next days, pooled; a third of the pool is fraud
        # (a sale in two windows may be picked twice, and multiplied twice, as in the book)
        pool = [
            s
            for customer in rng.sample(range(p.customers), hit)
            for s in by_customer.get(customer, [])
            if day <= s.day < day + p.card_days
        ]
        for sale in rng.sample(pool, int(len(pool) * p.card_share)):
            sale.amount = round(sale.amount * p.card_factor, 2)
            sale.label = "compromised_card"


def generate(p: HandbookParams = HandbookParams(), seed: int = 1) -> Traffic:
    """The simulator's traffic for ``seed``, time ordered, with its feedback."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation
    sales, terminals = _sales(p, rng)
    _label(p, rng, sales)
    sales.sort(key=lambda s: (s.day, s.second, s.customer))
    lon_per_unit = DEG_PER_UNIT / math.cos(math.radians(ORIGIN[0] + 50 * DEG_PER_UNIT))
    cards = {
        c: (f"tok_hb{c:06d}", f"4{rng.randrange(10**5):05d}", f"{rng.randrange(10**4):04d}")
        for c in sorted({s.customer for s in sales})
    }
    events: list[Event] = []
    feedback: list[tuple[float, str, str]] = []
    for sale in sales:
        when = START + timedelta(days=sale.day, seconds=sale.second)
        at = when.timestamp()
        token, bin_, last4 = cards[sale.customer]
        tx, ty = terminals[sale.terminal]
        body = {
            "merchant_id": f"m_hb{sale.terminal:05d}",
            "amount": max(round(sale.amount * 100), 1),
            "currency": "EUR",
            "card_token": token,
            "card_bin": bin_,
            "card_last4": last4,
            "card_country": "BE",
            "channel": "card_present",
            "terminal_id": f"t{sale.terminal:05d}",
            "geo": {
                "lat": round(ORIGIN[0] + ty * DEG_PER_UNIT, 6),
                "lon": round(ORIGIN[1] + tx * lon_per_unit, 6),
            },
            "timestamp": utc_millis(when),
        }
        event = Event(at, body, sale.label, ulid(rng, at))
        events.append(event)
        if sale.label != "legit":
            feedback.append((at + p.feedback_delay_days * DAY, event.transaction_id, sale.label))
    feedback.sort()
    merchants = [
        MerchantConfig(
            merchant_id=f"m_hb{t:05d}",
            active=True,
            allowed_currencies=frozenset({"EUR"}),
            per_transaction_limit=100_000,
            daily_limit=10_000_000,
            mcc=MCCS[t % len(MCCS)],
            country="BE",
        ).model_dump(mode="json")
        for t in range(p.terminals)
    ]
    return Traffic(
        params=None,
        seed=seed,
        merchants=merchants,
        events=events,
        feedback=feedback,
        rates={},
        source=f"handbook seed {seed}",
        start=START.timestamp(),
    )

"""Labelled consumer-card traffic: legitimate cardholders plus fraud patterns, seeded.

The legitimate side: cardholders live in cities on several continents, each with a rate of
purchases per day, a spend level, a few favourite local shops (card present, at one of the
shop's terminals, with the shop's coordinates) and online shops (e-commerce, from the home IP),
amounts drawn per merchant category (lognormal, as card amounts are), a day/night rhythm, an
occasional big purchase, a trip to another city now and then, and gifts shipped abroad.

The fraud side follows the patterns of the public literature (Le Borgne et al., *Reproducible
Machine Learning for Credit Card Fraud Detection - Practical Handbook*, 2022, ch. 3 "transaction
data simulator" scenarios; the card-testing, account-takeover and skimming typologies of the
Visa/Mastercard and EPC fraud reports):

- ``large_amount``: card data used online for a few big purchases (electronics, jewellery,
  travel), often shipped elsewhere;
- ``card_testing``: bursts of tiny amounts on many cards (some never seen before) at one web
  shop from a few IPs, checking which cards work;
- ``stolen_card_spree``: a stolen physical card used in the home area at shops it never visited,
  several times within a few hours;
- ``compromised_far``: a cloned card or leaked card data used far from home (another country),
  with inflated amounts, over a day or two;
- ``compromised_terminal``: a terminal used criminally for two weeks (the handbook's scenario 2):
  cards that never shopped there are run through it; each case is confirmed by a chargeback
  days later (the ``feedback`` list).

Nothing here knows the rules: amounts and places follow the patterns, not any threshold.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from txn_domain.models import utc_millis
from txn_perf.fraud_eval import patterns
from txn_perf.fraud_eval.world import (
    CATEGORIES,
    CITIES,
    DAY,
    EXPONENT,
    LOCAL,
    LOCAL_WEIGHT,
    ONLINE,
    ONLINE_WEIGHT,
    START,
    USD_PER_UNIT,
    Card,
    Event,
    Merchant,
)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Params:
    """Everything that shapes the traffic; :data:`ALT` is a differently-shaped population."""

    cards: int = 3000
    days: int = 35
    merchants_per_city: int = 40
    online_merchants: int = 24
    rate_median: float = 1.1  # purchases per card per day
    rate_sigma: float = 0.6
    spend_sigma: float = 0.45  # how much cardholders differ in spend level
    online_share: tuple[float, float] = (0.15, 0.5)
    big_purchase: float = 0.012  # share of legitimate purchases 4-10x the usual
    traveller_share: float = 0.08
    gift_share: float = 0.03  # online orders shipped to another country
    fraud_share: float = 0.08  # of all transactions
    # share of the fraud transactions per pattern
    mix: dict[str, float] = field(
        default_factory=lambda: {
            "large_amount": 0.17,
            "card_testing": 0.2,
            "stolen_card_spree": 0.25,
            "compromised_far": 0.25,
            "compromised_terminal": 0.13,
        }
    )
    inflation: tuple[float, float] = (2.0, 6.0)  # compromised_far amount multiplier
    large: tuple[float, float] = (4.0, 20.0)  # large_amount multiplier of the card's usual
    feedback_delay_days: tuple[float, float] = (2.0, 9.0)
    rate_noise: float = 0.03  # the rates drift from the shipped table by this much
    # Stolen and copied cards (large amounts, sprees, far from home) are used from this day on;
    # card testing and compromised terminals may start earlier.
    fraud_from_day: float = 7.0
    # Optional fields the traffic leaves out (the same population otherwise): "geo", the
    # card-present coordinates; "ip", the customer IP and its country online.
    without: frozenset[str] = frozenset()


ALT = Params(
    merchants_per_city=25,
    online_merchants=30,
    rate_median=2.0,
    rate_sigma=0.8,
    spend_sigma=0.7,
    online_share=(0.3, 0.7),
    big_purchase=0.02,
    traveller_share=0.12,
    gift_share=0.05,
    fraud_share=0.05,
    inflation=(1.6, 4.0),
    large=(3.0, 12.0),
    feedback_delay_days=(4.0, 14.0),
    rate_noise=0.06,
    mix={
        "large_amount": 0.25,
        "card_testing": 0.1,
        "stolen_card_spree": 0.3,
        "compromised_far": 0.2,
        "compromised_terminal": 0.15,
    },
)


@dataclass
class Traffic:
    params: Params | None  # None: traffic read from a file (txn_perf.fraud_eval.traffic_file)
    seed: int | None
    merchants: list[dict[str, Any]]
    events: list[Event]
    # (epoch seconds the confirmation arrives, transaction id, pattern): chargebacks
    feedback: list[tuple[float, str, str]]
    rates: dict[str, float]
    source: str = ""  # what the report names it by: "seed 3", or the file's name
    start: float = START.timestamp()  # the platform's first day (the report's launch week)


class Gen:
    def __init__(self, params: Params, seed: int):
        self.p = params
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible simulation
        rng = self.rng
        self.rates = {
            c: v * (1 + rng.uniform(-params.rate_noise, params.rate_noise))
            for c, v in USD_PER_UNIT.items()
        }
        self.rates["USD"] = 1.0
        self.t0 = START.timestamp()
        self.end = self.t0 + params.days * DAY
        self.merchants: list[Merchant] = []
        self.by_city: dict[int, list[Merchant]] = {}
        for ci, (_name, _, cur, lat, lon, _) in enumerate(CITIES):
            shops = []
            for k in range(params.merchants_per_city):
                cat = LOCAL[k % len(LOCAL)] if k else "hotel"
                m = Merchant(
                    f"m_{ci:02d}{k:02d}",
                    cat,
                    ci,
                    cur,
                    lat + rng.gauss(0, 0.05),
                    lon + rng.gauss(0, 0.05),
                    tuple(f"t_{ci:02d}{k:02d}_{j}" for j in range(rng.randint(1, 4))),
                )
                shops.append(m)
            self.by_city[ci] = shops
            self.merchants += shops
        self.online = [
            Merchant(f"m_w{k:02d}", ONLINE[k % len(ONLINE)], None, None)
            for k in range(params.online_merchants)
        ]
        self.merchants += self.online
        self.events: list[Event] = []
        self.feedback: list[tuple[float, str, str]] = []

    # -- helpers -------------------------------------------------------------------------------
    def token(self, prefix: str = "tok_c") -> str:
        return prefix + "".join(
            self.rng.choice("0123456789abcdefghjkmnpqrstvwxyz") for _ in range(12)
        )

    def ip(self) -> str:
        r = self.rng
        first = r.choice([23, 45, 62, 81, 98, 104, 151, 176, 185, 203])
        return f"{first}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def card_number_parts(self) -> tuple[str, str]:
        r = self.rng
        return r.choice(["4", "5"]) + "".join(r.choice("123456789") for _ in range(5)), "".join(
            r.choice("0123456789") for _ in range(4)
        )

    def amount(self, category: str, spend: float, mult: float = 1.0) -> float:
        _, median, sigma, _, _ = CATEGORIES[category]
        return math.exp(self.rng.gauss(math.log(median * spend), sigma)) * mult

    def local_time(self, day_start: float, offset_h: float) -> float:
        # purchases cluster from late morning to evening (local time)
        hour = min(max(self.rng.gauss(14.5, 3.8), 6.5), 23.9)
        return day_start + (hour - offset_h) * 3600

    def emit(
        self,
        at: float,
        card: Card,
        merchant: Merchant,
        usd: float,
        pattern: str,
        city: int | None = None,
        ip: str | None = None,
        ip_country: str | None = None,
        shipping: str | None = None,
    ) -> Event | None:
        if not self.t0 <= at < self.end:
            return None
        home = CITIES[card.city]
        currency = merchant.currency or home[2]
        major = usd / self.rates[currency]
        if major > merchant.limit:
            return None  # the validator refuses it (422 amount over limit): never queued
        exp = EXPONENT.get(currency, 2)
        minor = max(1, round(major * 10**exp))
        body: dict[str, Any] = {
            "merchant_id": merchant.merchant_id,
            "amount": minor,
            "currency": currency,
            "card_token": card.token,
            "card_bin": card.bin,
            "card_last4": card.last4,
            "card_country": home[1],
            "channel": CATEGORIES[merchant.category][3],
        }
        if merchant.city is not None:
            body["terminal_id"] = self.rng.choice(merchant.terminals)
            body["geo"] = {
                "lat": round(merchant.lat + self.rng.gauss(0, 0.01), 4),
                "lon": round(merchant.lon + self.rng.gauss(0, 0.01), 4),
            }
        else:
            body["ip_address"] = ip or card.ip
            body["ip_country"] = ip_country or CITIES[card.city if city is None else city][1]
            body["billing_country"] = home[1]
            body["shipping_country"] = shipping or home[1]
        if "geo" in self.p.without:
            body.pop("geo", None)
        if "ip" in self.p.without:
            body.pop("ip_address", None)
            body.pop("ip_country", None)
        event = Event(at, body, pattern)
        self.events.append(event)
        return event

    def pick(self, weighted: list[tuple[Merchant, float]]) -> Merchant:
        total = sum(w for _, w in weighted)
        x = self.rng.uniform(0, total)
        for m, w in weighted:
            x -= w
            if x <= 0:
                return m
        return weighted[-1][0]

    # -- legitimate ----------------------------------------------------------------------------
    def cards(self) -> list[Card]:
        p, r = self.p, self.rng
        weights = [6, 3, 3, 2, 4, 3, 3, 2, 1, 1, 3, 2, 1, 1, 1, 1]
        out = []
        for _ in range(p.cards):
            city = r.choices(range(len(CITIES)), weights)[0]
            shops = self.by_city[city]
            favs = r.sample(shops[1:], k=min(len(shops) - 1, r.randint(4, 9)))
            onl = r.sample(self.online, k=r.randint(2, 5))
            bin_, last4 = self.card_number_parts()
            out.append(
                Card(
                    token=self.token(),
                    bin=bin_,
                    last4=last4,
                    city=city,
                    rate=min(8.0, math.exp(r.gauss(math.log(p.rate_median), p.rate_sigma))),
                    spend=math.exp(r.gauss(0, p.spend_sigma)),
                    online_share=r.uniform(*p.online_share),
                    ip=self.ip(),
                    locals_=[
                        (m, LOCAL_WEIGHT.get(m.category, 1) * r.uniform(0.3, 1.5)) for m in favs
                    ],
                    onlines=[
                        (m, ONLINE_WEIGHT.get(m.category, 1) * r.uniform(0.3, 1.5)) for m in onl
                    ],
                )
            )
        return out

    def legit(self, card: Card) -> None:
        p, r = self.p, self.rng
        trip: tuple[float, float, int] | None = None
        if r.random() < p.traveller_share:
            start = self.t0 + r.uniform(3, p.days - 2) * DAY
            dest = r.choice([c for c in range(len(CITIES)) if c != card.city])
            trip = (start, start + r.uniform(2, 9) * DAY, dest)
        for d in range(p.days):
            day = self.t0 + d * DAY
            weekend = 1.25 if (START.weekday() + d) % 7 >= 5 else 1.0
            away = trip is not None and trip[0] <= day + DAY / 2 < trip[1]
            n = poisson(r, card.rate * weekend * (1.3 if away else 1.0))
            for _ in range(n):
                city = trip[2] if away and trip is not None else card.city
                at = self.local_time(day, CITIES[city][5])
                mult = r.uniform(4, 10) if r.random() < p.big_purchase else 1.0
                if r.random() < card.online_share:
                    m = self.pick(card.onlines)
                    if r.random() < 0.15:
                        m = r.choice(self.online)
                    shipping = None
                    if r.random() < p.gift_share:
                        shipping = r.choice(CITIES)[1]
                    mobile = self.ip() if r.random() < 0.1 else None
                    self.emit(
                        at,
                        card,
                        m,
                        self.amount(m.category, card.spend, mult),
                        "legit",
                        city,
                        mobile,
                        shipping=shipping,
                    )
                else:
                    if away and trip is not None:
                        shops = self.by_city[trip[2]]
                        m = shops[0] if r.random() < 0.25 else r.choice(shops)
                    elif r.random() < 0.08:
                        m = r.choice(self.by_city[card.city])  # somewhere new in town
                    else:
                        m = self.pick(card.locals_)
                    self.emit(at, card, m, self.amount(m.category, card.spend, mult), "legit")


def poisson(r: random.Random, lam: float) -> int:
    """A Poisson draw of mean ``lam`` by inversion (the means here are small)."""
    n, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= r.random()
        if p <= limit:
            return n
        n += 1


def ulid(r: random.Random, at: float) -> str:
    """A transaction id (ULID layout) for ``at``, its random part drawn from ``r``."""
    ms = int(at * 1000)
    head = ""
    for _ in range(10):
        ms, k = divmod(ms, 32)
        head = _CROCKFORD[k] + head
    return head + "".join(r.choice(_CROCKFORD) for _ in range(16))


MAX_IDLE_TRIES = 200  # tries of a pattern in a row that make nothing: it does not fit the run


def generate(params: Params = Params(), seed: int = 1) -> Traffic:
    """The traffic of ``params.cards`` cardholders over ``params.days`` days, time ordered."""
    g = Gen(params, seed)
    cards = g.cards()
    for card in cards:
        g.legit(card)
    legit = len(g.events)
    target = legit * params.fraud_share / (1 - params.fraud_share)
    for pattern, share in params.mix.items():
        want = target * share
        made = idle = 0
        # A run too short or too small for a pattern (stolen cards are used from fraud_from_day,
        # a terminal is abused from day 3) gets fewer of it, never an endless loop.
        while made < want and idle < MAX_IDLE_TRIES:
            if pattern == "compromised_terminal":
                step = patterns.compromised_terminal(g, cards, int(want - made) + 1)
            else:
                step = getattr(patterns, pattern)(g, cards)
            made += step
            idle = 0 if step else idle + 1
    g.events.sort(key=lambda e: e.at)
    for e in g.events:
        e.transaction_id = ulid(g.rng, e.at)
        e.body["timestamp"] = utc_millis(datetime.fromtimestamp(e.at, UTC))
        if e.pattern != "legit":
            delay = g.rng.uniform(*params.feedback_delay_days) * DAY
            g.feedback.append((e.at + delay, e.transaction_id, e.pattern))
    g.feedback.sort()
    return Traffic(
        params=params,
        seed=seed,
        merchants=[m.config() for m in g.merchants],
        events=g.events,
        feedback=g.feedback,
        rates=g.rates,
        source=f"seed {seed}",
        start=g.t0,
    )


def sized(params: Params, cards: int | None = None, days: int | None = None) -> Params:
    return replace(
        params, cards=cards if cards is not None else params.cards, days=days or params.days
    )

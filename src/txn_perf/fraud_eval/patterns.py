"""The fraud patterns, each adding one case (a few transactions) to the traffic.

See :mod:`txn_perf.fraud_eval.generator` for where they come from. Each takes the generator
(its random source, merchants and ``emit``) and the cardholders, and returns how many
transactions it added.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from txn_perf.fraud_eval.world import CITIES, DAY, Card

if TYPE_CHECKING:
    from txn_perf.fraud_eval.generator import Gen


def victim(g: Gen, cards: list[Card]) -> tuple[Card, float]:
    # from Params.fraud_from_day (by default the second week, so most victims have a history)
    return g.rng.choice(cards), g.t0 + g.rng.uniform(g.p.fraud_from_day, g.p.days - 0.5) * DAY


def large_amount(g: Gen, cards: list[Card]) -> int:
    r = g.rng
    card, at = victim(g, cards)
    targets = [m for m in g.online if m.category in ("online-electronics", "airline")]
    fraud_ip, country = g.ip(), r.choice([CITIES[card.city][1], r.choice(CITIES)[1]])
    n = r.randint(1, 3)
    for _ in range(n):
        m = r.choice(targets)
        usd = g.amount("online-retail", card.spend) * r.uniform(*g.p.large)
        ship = r.choice(CITIES)[1] if r.random() < 0.5 else None
        g.emit(
            at,
            card,
            m,
            max(usd, r.uniform(300, 1500)),
            "large_amount",
            None,
            fraud_ip,
            country,
            ship,
        )
        at += r.uniform(300, 4 * 3600)
    return n


def card_testing(g: Gen, cards: list[Card]) -> int:
    r = g.rng
    shop = r.choice([m for m in g.online if m.category in ("digital", "online-retail")])
    at = g.t0 + r.uniform(1, g.p.days - 0.5) * DAY
    ips = [g.ip() for _ in range(r.randint(1, 4))]
    country = r.choice(CITIES)[1]
    n = 0
    for _ in range(r.randint(8, 30)):
        if r.random() < 0.5:
            card = r.choice(cards)
        else:  # card data bought in bulk: never seen here before
            bin_, last4 = g.card_number_parts()
            card = Card(g.token(), bin_, last4, r.randrange(len(CITIES)), 1, 1, 1, g.ip(), [], [])
        for _ in range(r.randint(1, 3)):
            g.emit(
                at,
                card,
                shop,
                r.uniform(0.3, 2.5),
                "card_testing",
                None,
                r.choice(ips),
                country,
            )
            at += r.expovariate(1 / 20)
            n += 1
    return n


def stolen_card_spree(g: Gen, cards: list[Card]) -> int:
    r = g.rng
    card, at = victim(g, cards)
    known = {m.merchant_id for m, _ in card.locals_}
    shops = [
        m for m in g.by_city[card.city] if m.merchant_id not in known and m.category != "hotel"
    ]
    prefer = [m for m in shops if m.category in ("electronics", "jewellery", "department")]
    n = r.randint(3, 10)
    for _ in range(n):
        # a thief moves on to the next shop (back to one only when the town runs out)
        pool = prefer if prefer and r.random() < 0.6 else shops
        m = r.choice(pool)
        for group in (prefer, shops):
            if m in group and len(group) > 1:
                group.remove(m)
        g.emit(
            at,
            card,
            m,
            g.amount(m.category, card.spend, r.uniform(1.0, 3.0)),
            "stolen_card_spree",
        )
        at += r.uniform(300, 2400)
    return n


def compromised_far(g: Gen, cards: list[Card]) -> int:
    r = g.rng
    card, at = victim(g, cards)
    home = CITIES[card.city]
    far = [c for c, city in enumerate(CITIES) if city[1] != home[1]]
    city = r.choice(far)
    online = r.random() < 0.35
    fraud_ip = g.ip()
    n = r.randint(2, 8)
    for _ in range(n):
        mult = r.uniform(*g.p.inflation)
        if online:
            m = r.choice(g.online)
            g.emit(
                at,
                card,
                m,
                g.amount(m.category, card.spend, mult),
                "compromised_far",
                None,
                fraud_ip,
                CITIES[city][1],
            )
        else:
            m = r.choice(g.by_city[city])  # the city's hotel too: lodging is not exempt
            g.emit(at, card, m, g.amount(m.category, card.spend, mult), "compromised_far")
        at += r.uniform(600, 8 * 3600)
    return n


def compromised_terminal(g: Gen, cards: list[Card], budget: int) -> int:
    r = g.rng
    shop = r.choice([m for m in g.merchants if m.city is not None and m.category != "hotel"])
    terminal = r.choice(shop.terminals)
    at = g.t0 + r.uniform(3, max(3.5, g.p.days - 14)) * DAY
    stop = at + 14 * DAY
    strangers = [c for c in cards if c.city != shop.city] or cards
    n = 0
    while at < stop and n < budget:
        card = r.choice(strangers)
        usd = g.amount(shop.category, card.spend, r.uniform(1, 2.5))
        event = g.emit(at, card, shop, usd, "compromised_terminal")
        if event is not None:
            event.body["terminal_id"] = terminal
            n += 1
        at += r.expovariate(1 / (3 * 3600))
    return n

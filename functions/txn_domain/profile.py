"""A card's behavioural profile: what "usual" means for this card. Pure.

The profile lives in the card's counter item (one item per card, ADR 0012) next to the windows,
as one string attribute (:data:`ATTRIBUTE`, ``pr``: one parameter to write, one to read) holding:

- ``mean``/``var``/``weight``: exponentially weighted mean and variance of the log of the amount (in
  the reference currency) and the weight behind them, decaying with a half-life of
  :data:`HALF_LIFE_S` (a card's spending drifts; a stolen card's first purchases must not become
  its "usual" for long);
- ``updated``: when the profile was last updated; ``first``: when the card was first seen;
- ``places``: up to :data:`MAX_PLACES` places (card-present coordinates merged within
  :data:`PLACE_KM`, each with a weight and the day it was first seen), ``"lat,lon,w,day;..."``;
  a place is *usual* once used twice over at least :data:`SETTLE_DAYS` days, so a cloned card
  used for two days in a far city does not make that city home (a traveller's first days
  there look the same, which is the price);
- ``known``: the last :data:`MAX_KNOWN` merchants, terminals and card-not-present IPs used
  (16-bit digests, space separated): first use of a merchant, terminal or IP. A card's first
  IP is usual at once; one it meets beside it is *pending* (``mark~hh``, ``hh`` the hour of its
  first use), usual only :data:`PENDING_HOURS` later (ADR 0022), so a sale that slipped through
  does not make a card thief's IP usual for the rest of the burst;
- ``countries``: the last :data:`MAX_COUNTRIES` countries the card was used in, of two kinds
  kept apart: ``CC``, a customer IP's country online (:data:`UNKNOWN_IP_COUNTRY` for an IP sent
  without its country: the card was used online); and the shop's country of a card-present
  sale without coordinates, which stands in for a distance from the usual places. A shop's
  country is usual, like a place, once used on days :data:`SETTLE_DAYS` apart (``CC+``); until
  then it is held as ``CC~day``, the day first used;
- ``novelty``: recent first uses of shops, card present, with coordinates or without (decaying
  with a half-life of :data:`NOVELTY_HALF_LIFE_S`): a spree at shops the card never visited;
- ``explore`` (its own attribute, :data:`EXPLORE_ATTRIBUTE`): the share of the card's recent
  visits to shops (card present, learned sales) that were first ones, each visit weighing
  :data:`EXPLORE_RATE`: a card that often tries a new shop is not on a spree when it tries two
  (ADR 0026);
- ``flagged``: where and when the card was last flagged in a sale with coordinates (the rules'
  own decision, not a confirmed fraud): a cloned card's next purchases where it was caught are
  :meth:`Profile.near_flagged` for :data:`FLAGGED_PLACE_S`; the genuine cardholder's, at home,
  are not. Written only once such a sale is flagged, and dropped by the card's first sale after
  it expired, so most items never carry it. Readers ignore sections they do not know (an
  older build cannot: ADR 0015, "Rolling back").

A profile is folded forward one transaction at a time (:func:`fold`) from the profile as read,
so the write can be rebuilt from whatever the item holds when a concurrent writer got there first
(the statement is conditioned on the count it read, ``hn``).
"""

from __future__ import annotations

import base64
import hashlib
import math
from functools import lru_cache
from typing import NamedTuple

ATTRIBUTE = "pr"
# The share of first visits lives in an attribute of its own, so a build that reads ``pr`` as
# exactly its sections still reads a profile written by this one (ADR 0026).
EXPLORE_ATTRIBUTE = "px"
EXPLORE_RATE = 0.1  # each visit's weight in the share: about the last ten visits count
HALF_LIFE_S = 30 * 86400
NOVELTY_HALF_LIFE_S = 2 * 3600
MAX_PLACES = 4
PLACE_KM = 50.0
MAX_KNOWN = 40
MAX_COUNTRIES = 5
UNKNOWN_IP_COUNTRY = "??"  # an online sale's IP came without its country
PENDING = "~"  # an IP mark's suffix, with the hour it was first used (ADR 0022)
PENDING_HOURS = 12  # how long an IP met beside the card's own stays pending
_STAMP_HOURS = 36 * 36  # the hour of first use is kept as two base-36 digits (54 days)
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
# Prior for a young card's spread of log amounts (a consumer card's purchases typically span a
# factor of 2-3 either way): weight PRIOR_WEIGHT at variance PRIOR_VAR, so a card with three
# similar purchases does not call a fourth at twice the amount extreme.
PRIOR_VAR = 0.6
PRIOR_WEIGHT = 3.0
EARTH_RADIUS_KM = 6371.0

SETTLE_DAYS = 2
FLAGGED_PLACE_S = 12 * 3600  # how long a flag makes its place suspect (ADR 0015)
Place = tuple[float, float, float, int]  # lat, lon, weight, day first seen


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


@lru_cache(maxsize=8192)
def mark(kind: str, value: str) -> str:
    """3 characters (16 bits) standing for a merchant (``m``), terminal (``t``) or customer IP
    (``i``) in ``known``: among 40 marks, a stranger passes for a known one 0.06% of the time."""
    digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=2).digest()
    return base64.b64encode(digest).decode()[:3]


class Profile(NamedTuple):
    """A card's profile as read or folded (a named tuple, not a frozen dataclass: one is built
    for every sale, and four times cheaper)."""

    updated: int = 0
    first: int = 0
    mean: float = 0.0
    var: float = 0.0
    weight: float = 0.0
    places: tuple[Place, ...] = ()
    known: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    novelty: float = 0.0
    flagged: tuple[float, float, int] | None = None  # lat, lon, when
    explore: float = 0.0  # the share of its visits to shops that are first ones (EXPLORE_ATTRIBUTE)

    @classmethod
    def parse(cls, text: str, explore: str | None = None) -> Profile:
        """From the item's profile attribute (:data:`ATTRIBUTE`, see :meth:`text`) and its share
        of first visits (:data:`EXPLORE_ATTRIBUTE`, a number; absent on an older item: 0)."""
        # four sections before ``flagged`` existed or while it is unset; later ones are ignored
        numbers, places_text, known, countries, *rest = text.split("|")
        updated, first, mean, var, weight, novelty = numbers.split(",")
        places: tuple[Place, ...] = ()
        if places_text:
            places = tuple(
                (float(a), float(b), float(c), int(d))
                for a, b, c, d in (p.split(",") for p in places_text.split(";"))
            )
        return cls(  # positional, in the fields' order: a keyword call costs a third more
            int(updated),
            int(first),
            float(mean),
            float(var),
            float(weight),
            places,
            tuple(known.split()),
            tuple(countries.split(",")) if countries else (),
            float(novelty),
            _flagged(rest[0]) if rest else None,
            float(explore) if explore is not None else 0.0,
        )

    def text(self) -> str:
        """The profile as one short string attribute (numbers rounded: the item stays small):
        ``updated,first,mean,var,weight,novelty|lat,lon,w,day;...|marks|countries[|lat,lon,at]``
        (the last section only once a sale with coordinates was flagged)."""
        places = ";".join(f"{a:.3f},{b:.3f},{c:.2f},{d}" for a, b, c, d in self.places)
        flagged = ""
        if self.flagged is not None:
            lat, lon, when = self.flagged
            flagged = f"|{lat:.3f},{lon:.3f},{when}"
        return (
            f"{self.updated},{self.first},{self.mean:.4f},{self.var:.4f},{self.weight:.3f},"
            f"{self.novelty:.3f}|{places}|{' '.join(self.known)}|{','.join(self.countries)}"
            f"{flagged}"
        )

    # -- what the rules read -----------------------------------------------------------------

    def used_online(self) -> bool:
        """Whether the profile learned from a sale online: a customer IP's country (``CC``, or
        :data:`UNKNOWN_IP_COUNTRY`) among its countries."""
        return any(len(c) == 2 for c in self.countries)

    def ip_standing(self, ip_mark: str, now: int) -> bool | None:
        """An IP's standing with the card at ``now``: ``True``, usual (the card's first IP, or
        one first used :data:`PENDING_HOURS` or more before); ``False``, met beside the card's
        own IP within those hours, so not usual yet (pending, ADR 0022); ``None``, never used
        (or only in flagged sales)."""
        if ip_mark in self.known:
            return True
        stamp = _pending_stamp(self.known, ip_mark)
        return None if stamp is None else not _within_pending_hours(stamp, now)

    def amount_z(self, log_amount: float) -> float | None:
        """How many spreads ``log_amount`` is above the card's usual (``None``: no history)."""
        if self.weight <= 0:
            return None
        w = self.weight
        spread = math.sqrt((w * self.var + PRIOR_WEIGHT * PRIOR_VAR) / (w + PRIOR_WEIGHT))
        return (log_amount - self.mean) / spread

    def recent_novelty(self, now: int) -> float:
        decay: float = 0.5 ** (max(now - self.updated, 0) / NOVELTY_HALF_LIFE_S)
        return self.novelty * decay

    def home_km(self, lat: float, lon: float, now: int) -> float | None:
        """Distance to the nearest usual place; ``None`` without one."""
        today = now // 86400
        usual = [p for p in self.places if p[2] >= 2 and today - p[3] >= SETTLE_DAYS]
        if not usual:
            return None
        return min(distance_km(a, b, lat, lon) for a, b, _, _ in usual)

    def near_flagged(self, lat: float, lon: float, now: int) -> bool:
        """Within :data:`PLACE_KM` of where the card was last flagged in a sale with coordinates,
        and within :data:`FLAGGED_PLACE_S` of it (either side: deliveries arrive out of order)."""
        if self.flagged is None:
            return False
        a, b, when = self.flagged
        return abs(now - when) <= FLAGGED_PLACE_S and distance_km(a, b, lat, lon) <= PLACE_KM


def _used_in(countries: tuple[str, ...], country: str, day: int | None) -> tuple[str, ...]:
    """``countries`` with ``country``'s entry last. ``day is None``: an IP's country (``CC``),
    usual at once. Otherwise a shop's on that day: ``CC~day`` (the day first used) until used
    again :data:`SETTLE_DAYS` later, then ``CC+``. The two kinds are kept apart, so an IP (a
    VPN's, say) never makes a shop's country usual, nor a shop an IP's."""
    if day is None:
        entry = country
    else:
        pending = country + "~"
        first = next((int(c[len(pending) :]) for c in countries if c.startswith(pending)), None)
        settled = country + "+" in countries or (first is not None and day - first >= SETTLE_DAYS)
        entry = country + "+" if settled else f"{pending}{day if first is None else first}"
    shop = day is not None
    kept = (c for c in countries if not (c[:2] == country and (len(c) > 2) == shop))
    return (*kept, entry)[-MAX_COUNTRIES:]


def _ip_entry(p: Profile, ip: str, at: int) -> str:
    """``ip``'s entry in ``known`` after a sale from it ``at`` (``ip`` not usual yet): usual (the
    bare mark) if it is the first IP the card is used online from, or if it was first used
    :data:`PENDING_HOURS` or more before; otherwise pending (``mark~hh``, the hour it was first
    used)."""
    stamp = _pending_stamp(p.known, ip)
    if stamp is None:
        hour = at // 3600 % _STAMP_HOURS
        stamp = _BASE36[hour // 36] + _BASE36[hour % 36]
        return f"{ip}{PENDING}{stamp}" if p.used_online() else ip
    return f"{ip}{PENDING}{stamp}" if _within_pending_hours(stamp, at) else ip


def _pending_stamp(known: tuple[str, ...], ip: str) -> str | None:
    """The hour of first use of ``ip``'s pending entry in ``known`` (``None``: none)."""
    prefix = ip + PENDING
    return next((k[len(prefix) :] for k in known if k.startswith(prefix)), None)


def _within_pending_hours(stamp: str, now: int) -> bool:
    """Whether the hour ``stamp`` is within :data:`PENDING_HOURS` of ``now``, either side (sales
    can be processed out of order); in whole hours, so 11 to 12 hours after the first use. Kept
    modulo 54 days: an entry still pending (never used since) reads as pending again for those
    hours every 54 days, until it leaves the list."""
    d = (now // 3600 - int(stamp, 36)) % _STAMP_HOURS
    return min(d, _STAMP_HOURS - d) < PENDING_HOURS


def shop_home(countries: tuple[str, ...]) -> frozenset[str]:
    """The countries the card is usually used in at shops without coordinates (``CC+``)."""
    return frozenset(c[:2] for c in countries if c.endswith("+"))


def _flagged(text: str) -> tuple[float, float, int]:
    lat, lon, when = text.split(",")
    return float(lat), float(lon), int(when)


NEW_CARD = Profile()  # a card never seen (immutable: every new counter shares it)


def fold(
    p: Profile,
    at: int,
    amount_ref_minor: int,
    geo: tuple[float, float] | None,
    marks: tuple[str, ...],
    country: str | None,
    learn: bool = True,
    present: bool = False,
    ip: str | None = None,
) -> Profile:
    """The profile after one more transaction (received ``at``, amount in reference minor
    units, card-present coordinates, merchant and terminal marks, the country it was in: see
    ``countries`` above; ``present``: card present, a visit to a shop; ``ip``: the customer IP's
    mark, also in ``marks``, online only).

    ``learn=False`` (a flagged sale): only the recent first uses count it, and one with
    coordinates becomes ``flagged``; what is usual for the card (amounts, places, merchants,
    countries) does not learn from a suspected fraud. An expired ``flagged`` is dropped."""
    dt = max(at - p.updated, 0) if p.updated else 0
    decay: float = 0.5 ** (dt / HALF_LIFE_S)
    x = math.log(max(amount_ref_minor, 1) / 100)
    w0 = p.weight * decay
    w1 = w0 + 1.0
    d = x - p.mean if w0 > 0 else 0.0
    mean = p.mean + d / w1 if w0 > 0 else x
    var = (w0 * p.var + d * (x - mean)) / w1 if w0 > 0 else 0.0

    novelty_decay: float = 0.5 ** (dt / NOVELTY_HALF_LIFE_S)
    novelty = p.novelty * novelty_decay
    visit = p.weight > 0 and present and bool(marks)
    first_visit = visit and marks[0] not in p.known
    if first_visit:
        novelty += 1.0  # a shop (card present) the card never used, with coordinates or not
    flagged = p.flagged
    if flagged is not None and at - flagged[2] > FLAGGED_PLACE_S:
        flagged = None  # expired: the item sheds it
    if not learn:
        if geo is not None and (flagged is None or at >= flagged[2]):
            flagged = (geo[0], geo[1], at)
        return p._replace(updated=max(at, p.updated), novelty=novelty, flagged=flagged)
    known = p.known
    if ip is not None and ip not in known:
        entry = _ip_entry(p, ip, at)
        known = tuple(k for k in known if not k.startswith(ip + PENDING))
        marks = tuple(entry if m == ip else m for m in marks)
    known = tuple(k for k in known if k not in marks) + marks
    places = p.places
    if geo is not None:
        near = [(distance_km(a, b, geo[0], geo[1]), i) for i, (a, b, _, _) in enumerate(p.places)]
        hit = min(near) if near else None
        if hit is not None and hit[0] <= PLACE_KM:
            a, b, c, d = p.places[hit[1]]
            merged = (a + (geo[0] - a) / (c + 1), b + (geo[1] - b) / (c + 1), min(c + 1, 50.0), d)
            places = (*p.places[: hit[1]], merged, *p.places[hit[1] + 1 :])
        else:
            places = (*p.places, (geo[0], geo[1], 1.0, at // 86400))
            if len(places) > MAX_PLACES:  # forget the least used place, never the new one
                drop = min(range(len(places) - 1), key=lambda i: places[i][2])
                places = places[:drop] + places[drop + 1 :]
    countries = p.countries
    if country is not None:
        shop = present and geo is None
        countries = _used_in(p.countries, country, at // 86400 if shop else None)
    return Profile(
        updated=max(at, p.updated),
        first=p.first or at,
        mean=mean,
        var=max(var, 0.0),
        weight=w1,
        places=places,
        known=known[-MAX_KNOWN:],
        countries=countries,
        novelty=novelty,
        flagged=flagged,
        explore=p.explore + EXPLORE_RATE * (first_visit - p.explore) if visit else p.explore,
    )

"""Velocity counters: bucket arithmetic and the in-memory view of one counter item. Pure.

One DynamoDB item per dimension value (a card token, an IP, a merchant shard) holds every window
as numbered bucket attributes, so one transaction touches one item per dimension. Of these kinds
of bucket an item keeps only those something reads (:func:`kept_buckets`: the rules' windows on
that dimension, and the features' own 24-hour reads):

- ``a<n>``: 60 s bucket ``n`` (kept 11 buckets), packed count and amount sum
- ``k<n>``: 60 s bucket ``n``, count of small amounts (card testing)
- ``b<n>``: 300 s bucket ``n`` (kept 13 buckets), packed count and sum
- ``d<n>``: 3600 s bucket ``n`` (kept 25 buckets), packed count and sum
- ``hn``/``hs``: lifetime count and sum (the card's history; on merchant shards, the typical
  sale of a quiet shop, ADR 0016; IP items hold windows only), ``lat``/``lon``/``lts``: last
  place; on card items ``pr``/``px``: the profile and its share of first visits
  (:mod:`txn_domain.profile`)

``n`` is the bucket number (epoch seconds // width) in base 36. Packing count and sum as
``count * 10**15 + sum`` in one number halves the attributes, keeping a busy merchant's item
under 1 KB (one write unit). A window is the set of buckets overlapping ``[now - window, now]``,
so it can over-count by at most one bucket width, never under-count. Buckets older than their
retention are ignored on read (DynamoDB TTL deletes lazily) and removed on the next write.

Card and IP items also hold their own exactly-once guard (ADR 0003): ``g<h>``, a string set of
the digests (:func:`guard_digest`) of the transactions counted into the item whose
``received_at`` falls in hour ``h``, kept :data:`GUARD_HOURS` hours. A write adds its
transactions' digests and is conditioned on none of them being there yet, so a redelivered
message cannot be counted twice; a transaction older than the guard's horizon is not counted
(it could no longer be told apart from one already counted). Merchant shard items have no guard:
they are counted with the record (see ``fraud_detector.pipeline``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from txn_domain.profile import ATTRIBUTE as PROFILE
from txn_domain.profile import EXPLORE_ATTRIBUTE as EXPLORE
from txn_domain.profile import NEW_CARD, Profile, fold
from txn_domain.risk import ATTRIBUTE as RISK
from txn_domain.risk import NO_RISK, Risk

PACK = 10**15

# prefix -> (bucket width in seconds, buckets kept)
GRANULARITIES: dict[str, tuple[int, int]] = {
    "a": (60, 11),
    "k": (60, 11),
    "b": (300, 13),
    "d": (3600, 25),
}
# The buckets holding packed counts and sums, with their widths: a transaction adds to one of
# each its item keeps.
_PACKED = tuple((prefix, GRANULARITIES[prefix][0]) for prefix in ("a", "b", "d"))
EVERY_BUCKET = frozenset(GRANULARITIES)
WINDOWS: dict[str, int] = {"1m": 60, "10m": 600, "1h": 3600, "24h": 86400}
# Windows read whatever the rules say (txn_domain.fraud): a card's sales of the last 24 hours
# against its usual rate, and a merchant's (its typical sale).
ALWAYS_READ: dict[str, frozenset[str]] = {"card": frozenset("d"), "merchant": frozenset("d")}
CARD_TTL = 90 * 86400  # the card's history lives this long after its last use
SHORT_TTL = 26 * 3600  # IP items only hold windows
# A merchant shard lives eight days past its last write: its lifetime count and sum (hn/hs) are
# the merchant's typical sale when its last day is too few sales to say (ADR 0016).
MERCHANT_TTL = 8 * 86400
RISK_TTL = 60 * 86400  # a merchant's risk item (ADR 0013) lives this long after its last report
MERCHANT_SHARDS = 4
GUARD = "g"
GUARD_WIDTH = 3600
# Guard sets kept: the current hour and the two before. A message is redelivered within minutes
# (visibility timeout 300 s, 5 receives); one counted but not recorded and redelivered later
# than this is left uncounted rather than risk counting it twice.
GUARD_HOURS = 3

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=4096)  # bucket numbers repeat: one encoding per bucket per container
def b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
        if not n:
            return out


@lru_cache(maxsize=16)  # one ``now`` per batch, asked for by every item read and written
def _last_expired(now: int) -> dict[str, int]:
    """Per bucket prefix, the newest bucket number already past its retention at ``now``
    (shared between callers: read it, never change it)."""
    return {prefix: now // width - kept for prefix, (width, kept) in GRANULARITIES.items()}


@lru_cache(maxsize=4096)  # bucket and guard names repeat across items for a minute to a day
def _numbered(name: str) -> tuple[str, int] | None:
    """``(prefix, number)`` of a bucket or guard attribute (``a1x9`` -> ``("a", 48429)``);
    ``None`` for any other attribute."""
    prefix, number = name[0], name[1:]
    if (prefix in GRANULARITIES or prefix == GUARD) and number.isalnum():
        return prefix, int(number, 36)
    return None


@lru_cache(maxsize=256)  # a batch's sales fall in a minute or two
def _packed_buckets(minute: int) -> tuple[tuple[str, int, str], ...]:
    """The packed buckets a sale in ``minute`` (epoch seconds // 60) joins, one per width:
    ``(prefix, number, attribute name)`` (every width is a whole number of minutes)."""
    return tuple(
        (prefix, minute * 60 // width, prefix + b36(minute * 60 // width))
        for prefix, width in _PACKED
    )


def _window_prefix(window_s: int, metric: str) -> str:
    if metric == "small":
        return "k"
    if window_s <= 600:
        return "a"
    return "b" if window_s <= 3600 else "d"


@lru_cache(maxsize=64)  # a handful of (window, metric) pairs, asked for per transaction
def window_buckets(window_s: int, metric: str) -> tuple[str, int]:
    """The bucket prefix a window of ``metric`` is summed from, and that bucket's width."""
    prefix = _window_prefix(window_s, metric)
    return prefix, GRANULARITIES[prefix][0]


def kept_buckets(specs: Iterable[tuple[str, str, str, int]]) -> dict[str, frozenset[str]]:
    """Per dimension (``card``, ``ip``, ``merchant``), the kinds of bucket its items keep:
    those the windows in ``specs`` (``(feature, dimension, metric, seconds)``, as
    ``RuleSet.velocity_specs``) are summed from, and :data:`ALWAYS_READ`.

    A kind nothing reads is neither counted nor written: with the default rules a card keeps no
    5-minute buckets, an IP no minute or small-amount ones, a merchant no 5-minute ones. Rules
    that come to read one start counting it when they are deployed (its windows fill within
    their length); buckets of a kind no longer kept are left to expire and removed then."""
    kept = {dimension: set(always) for dimension, always in ALWAYS_READ.items()}
    for _, dimension, metric, seconds in specs:
        kept.setdefault(dimension, set()).add(window_buckets(seconds, metric)[0])
    return {dim: frozenset(kept.get(dim, ())) for dim in ("card", "ip", "merchant")}


@lru_cache(maxsize=1024)  # asked for by the rules pass and the write of the same batch
def guard_digest(transaction_id: str) -> str:
    """8 characters (48 bits) standing for a transaction id in a guard set."""
    digest = hashlib.blake2b(transaction_id.encode(), digest_size=6).digest()
    return base64.b64encode(digest).decode()


def guarded(key: str) -> bool:
    """Card and IP items carry a guard set; merchant shards are guarded by the record."""
    return not key.startswith("merchant#")


def counter_ttl(key: str) -> int:
    """How long an item lives past its last write, by what it counts."""
    if key.startswith("card#"):
        return CARD_TTL
    if key.startswith("merchant#"):
        return MERCHANT_TTL
    return RISK_TTL if key.startswith("risk#") else SHORT_TTL


def card_key(token: str) -> str:
    return f"card#{token}"


def ip_key(ip: str) -> str:
    return f"ip#{ip}"


def risk_key(merchant_id: str) -> str:
    """The merchant's confirmed-fraud risk item: its own score and its terminals' (ADR 0013)."""
    return f"risk#{merchant_id}"


@lru_cache(maxsize=1024)  # per transaction and per batch, for a few busy merchants
def merchant_keys(merchant_id: str) -> tuple[str, ...]:
    return tuple(f"merchant#{merchant_id}#{shard}" for shard in range(MERCHANT_SHARDS))


class Contribution(NamedTuple):
    """One transaction counted into one item: what the write adds for it. (A named tuple, not a
    frozen dataclass: built for every item a sale is counted into, and four times cheaper.)"""

    digest: str
    at: int  # received_at, epoch seconds
    amount: int
    small: bool
    geo: tuple[float, float] | None
    # the kinds of bucket it was counted into (kept_buckets): a correction or a retry writes
    # exactly these, so no default
    kept: frozenset[str]
    marks: tuple[str, ...] = ()  # merchant and terminal marks (card profile)
    country: str | None = None  # the customer IP's country, or a shop's (card profile)
    learn: bool = True  # folded into the card's profile (a flagged sale is not)
    present: bool = False  # card present: a visit to a shop (card profile)
    ip: str | None = None  # the customer IP's mark, also in marks (card profile)


@dataclass(slots=True)
class Counter:
    """One counter item: its buckets as read, plus the transactions this batch counts into it."""

    key: str
    ttl: int = field(init=False)  # seconds the item lives past its write: the key's (counter_ttl)
    buckets: dict[str, dict[int, int]] = field(
        default_factory=lambda: {"a": {}, "k": {}, "b": {}, "d": {}}
    )
    history_count: int = 0
    read_count: int = 0  # hn as read: a card write holds only if it is unchanged ...
    unversioned: bool = False  # ... unless the last round gives up on that (ADR 0012)
    history_sum: int = 0
    last: tuple[float, float, int] | None = None  # lat, lon, epoch seconds
    guards: dict[int, set[str]] = field(default_factory=dict)  # hour -> digests counted
    names: frozenset[str] = frozenset()  # live attributes of the stored item
    exists: bool = False  # an item is stored under the key (maybe expired)
    expires_at: int = 0  # as read (the condition of a reset)
    stale: set[str] = field(default_factory=set)
    reset: bool = False  # the stored item expired: overwrite its values instead of adding
    added: list[Contribution] = field(default_factory=list)  # this batch, arrival order
    read_profile: Profile = NEW_CARD  # card items: the profile as read
    profile: Profile = NEW_CARD  # ... and with this batch's folded in
    risk: Risk = NO_RISK  # confirmed fraud (card and risk items, ADR 0013)
    risk_text: str | None = None  # ``rk`` exactly as read: the condition of its next write

    def __post_init__(self) -> None:
        self.ttl = counter_ttl(self.key)

    @classmethod
    def from_item(cls, key: str, item: Mapping[str, Any] | None, now: int) -> Counter:
        """Build from a low-level DynamoDB item (``{"a1x": {"N": "..."}}``); ``None`` = empty."""
        counter = cls(key=key)
        if not item:
            return counter
        counter.exists = True
        counter.expires_at = int(item.get("expires_at", {}).get("N", "0"))
        if counter.expires_at < now:
            # Expired but not yet deleted by TTL: ignore every value, clear them on write.
            counter.stale = set(item) - {"pk", "sk", "expires_at"}
            counter.reset = True
            return counter
        buckets = counter.buckets
        expired = _last_expired(now)
        oldest_guard = now // GUARD_WIDTH - GUARD_HOURS
        for name, value in item.items():
            numbered = _numbered(name)
            if numbered is None:
                continue
            prefix, n = numbered
            if prefix != GUARD:
                if n <= expired[prefix]:
                    counter.stale.add(name)
                    continue
                buckets[prefix][n] = int(value["N"])
            elif "SS" in value:
                if n <= oldest_guard:
                    counter.stale.add(name)
                    continue
                counter.guards[n] = set(value["SS"])
        counter.names = frozenset(item) - counter.stale
        if "hn" in item:
            counter.history_count = counter.read_count = int(item["hn"]["N"])
            counter.history_sum = int(item["hs"]["N"])
        if "lts" in item:
            counter.last = (float(item["lat"]["N"]), float(item["lon"]["N"]), int(item["lts"]["N"]))
        if PROFILE in item:
            explore = item[EXPLORE]["N"] if EXPLORE in item else None
            counter.read_profile = counter.profile = Profile.parse(item[PROFILE]["S"], explore)
        if RISK in item:
            counter.risk_text = item[RISK]["S"]
            counter.risk = Risk.parse(counter.risk_text)
        return counter

    def counted(self, digest: str, at: int) -> bool:
        """Whether an earlier attempt already counted this transaction into the item."""
        hour_set = self.guards.get(at // GUARD_WIDTH)
        return hour_set is not None and digest in hour_set

    def add(
        self,
        now: int,
        amount: int,
        small: bool,
        geo: tuple[float, float] | None,
        digest: str = "",
        marks: tuple[str, ...] = (),
        country: str | None = None,
        present: bool = False,
        ip: str | None = None,
        kept: frozenset[str] = EVERY_BUCKET,
    ) -> None:
        """Count one transaction received at ``now`` (in memory, and pending for the write)
        into the ``kept`` kinds of bucket; ``marks`` and ``country`` feed a card's profile."""
        packed = PACK + amount
        buckets = self.buckets
        for prefix, n, _ in _packed_buckets(now // 60):
            if prefix in kept:
                bucket = buckets[prefix]
                bucket[n] = bucket.get(n, 0) + packed
        if small and "k" in kept:
            n = now // 60
            self.buckets["k"][n] = self.buckets["k"].get(n, 0) + 1
        self.history_count += 1
        self.history_sum += amount
        if geo is not None:
            self.last = (geo[0], geo[1], now)
        self.added.append(
            Contribution(
                digest, now, amount, small, geo, kept, marks, country, present=present, ip=ip
            )
        )

    def learn(self, flagged: bool) -> None:
        """Fold the transaction just added into the card's profile, unless it was flagged: a
        suspected fraud must not become what is usual for the card (its count still counts)."""
        last = self.added[-1]
        if flagged:
            self.added[-1] = last = last._replace(learn=False)
        self.profile = fold(
            self.profile,
            last.at,
            last.amount,
            last.geo,
            last.marks,
            last.country,
            last.learn,
            last.present,
            last.ip,
        )

    def profile_after(self, added: list[Contribution]) -> Profile:
        """The profile as read with ``added`` folded in: what a write stores."""
        if added == self.added:
            return self.profile  # folded already, in the same order, as they were added
        profile = self.read_profile
        for c in sorted(added, key=lambda c: c.at):
            profile = fold(
                profile, c.at, c.amount, c.geo, c.marks, c.country, c.learn, c.present, c.ip
            )
        return profile

    def delta(
        self, added: list[Contribution] | None = None, sign: int = 1, now: int | None = None
    ) -> dict[str, int]:
        """Attribute name -> increment for ``added`` (default: everything this batch added), in
        the kinds of bucket each was counted into; ``sign=-1`` gives the decrement that takes
        them out again.

        With ``now`` (the processing time), buckets already past their retention are left out:
        a sale processed late (a redelivery, a queue drained after an outage) still counts in
        the item's history and newer windows, and no write touches a bucket that reads ignore
        and the item may still hold until the write removes it (``stale``)."""
        out: dict[str, int] = {}
        expired = _last_expired(now) if now is not None else None
        lifetime = not self.key.startswith("ip#")  # nothing reads an IP's lifetime count
        for c in self.added if added is None else added:
            packed = (PACK + c.amount) * sign
            minute = c.at // 60
            kept = c.kept
            for prefix, n, name in _packed_buckets(minute):
                if prefix in kept and (expired is None or n > expired[prefix]):
                    out[name] = out.get(name, 0) + packed
            if c.small and "k" in kept and (expired is None or minute > expired["k"]):
                name = "k" + b36(minute)
                out[name] = out.get(name, 0) + sign
            if lifetime:
                out["hn"] = out.get("hn", 0) + sign
                out["hs"] = out.get("hs", 0) + c.amount * sign
        return out

    def since(self, prefix: str, first: int) -> int:
        """The sum of the ``prefix`` buckets numbered ``first`` or later."""
        return bucket_sum(self.buckets[prefix], first)

    def window(self, metric: str, window_s: int, now: int) -> int:
        """``count``, ``sum`` (minor units), ``small`` (count) or ``packed`` (count and sum as
        stored) over the window ending now."""
        prefix, width = window_buckets(window_s, metric)
        total = self.since(prefix, (now - window_s) // width)
        if metric == "count":
            return total // PACK
        if metric == "sum":
            return total % PACK
        return total


def bucket_sum(buckets: dict[int, int], first: int) -> int:
    """The sum of ``buckets`` numbered ``first`` or later. Many windows hold every bucket an item
    keeps (a day's 25 hourly buckets, an hour's 13 of five minutes, ten minutes of small
    amounts), so that case is summed without a Python loop."""
    if not buckets:
        return 0
    if min(buckets) >= first:
        return sum(buckets.values())
    total = 0
    for n, value in buckets.items():
        if n >= first:
            total += value
    return total


def window_total(counters: tuple[Counter, ...], metric: str, window_s: int, now: int) -> int:
    """A window summed over several items (the shards of one merchant)."""
    if len(counters) == 1:
        return counters[0].window(metric, window_s, now)
    total = 0
    for counter in counters:
        total += counter.window(metric, window_s, now)
    return total

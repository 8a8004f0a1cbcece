"""When a customer IP's current buckets are past every threshold the rules read, a sale is not
counted into its item.

One item per IP holds its counts and the digests that keep a redelivered sale from being
counted twice (ADR 0003). An IP that many cardholders share (a carrier's NAT, a corporate
proxy, or a merchant's integration sending its own server's address as the customer's) can
send several sales a second; each one grows the item by its digest and rewrites it, until the
item reaches DynamoDB's 400 KB limit and every write to it fails, and long before that one hot
item costs a write unit per KB.

A window's count is the sum of its buckets, and a sale counted into the current bucket stays in
the window exactly as long as that bucket does. So when the current bucket of every window a
rule reads already holds more than the rule's threshold, the sale would change no decision, now
or later: every count it would have added to is over its threshold for as long as it would have
been counted. Such a sale is judged, and counted into its card's and merchant's items, but not
its IP's. Each bucket is filled to :data:`FACTOR` times the threshold before counting stops, so
a rules change that raises an IP threshold up to that factor reads the same decisions at once;
one that raises it further reads a busy IP's counts low until its buckets have turned over (a
day for a 24-hour window). With the shipped rules (5-minute buckets filled to 41 for the hour's
rule, hourly ones to 201 for the day's) an IP at any rate past that counts about 650 sales an
hour: its item keeps under 20 KB of digests, where 2 sales a second uncapped keep about 190 KB
and 5 a second would pass the 400 KB limit.

The caps come from the rules document: every condition that reads an IP velocity feature must be
a ``count`` compared with ``>`` or ``>=`` to a finite number (inside ``all``/``any``, which the
engine has no negation for), so a larger count can only keep it true. Any other use of an IP
feature (a sum, an upper bound, a ratio) leaves IP counting uncapped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from txn_domain.velocity import PACK, WINDOWS, Counter, window_buckets

# How far past a threshold a bucket is filled before counting stops: headroom for a rules change
# that raises a threshold (the module docstring).
FACTOR = 2
_PREFIX = "v.ip."

# (window seconds, cap) for each IP count window a rule reads
Caps = tuple[tuple[int, int], ...]


def ip_caps(conditions: Sequence[Mapping[str, Any]]) -> Caps | None:
    """The caps the rules' ``conditions`` allow, or ``None`` when IP counting must stay
    uncapped (an IP feature read other than as ``count >= / > value``). No IP feature read at
    all: ``()``, nothing to cap by, and counting stays as it is."""
    thresholds: dict[int, float] = {}
    for cond in conditions:
        for kind, cond_ in _leaves(cond):
            names = _features(kind, cond_)
            if names is None:  # a kind this module does not know (a negation?): no cap is safe
                return None
            ip_names = [n for n in names if isinstance(n, str) and n.startswith(_PREFIX)]
            if not ip_names:
                continue
            if kind != "compare" or cond_.get("op") not in (">", ">="):
                return None
            _, _, metric, window = ip_names[0].split(".")
            value = cond_.get("value")
            if (
                metric != "count"
                or not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
            ):
                return None
            seconds = WINDOWS[window]
            thresholds[seconds] = max(thresholds.get(seconds, 0), float(value))
    # more than the threshold, for ">" and ">=" alike
    return tuple(
        (seconds, math.floor(FACTOR * max(threshold, 0.0)) + 1)
        for seconds, threshold in sorted(thresholds.items())
    )


def saturated(ip: Counter, caps: Caps | None, now: int) -> bool:
    """Whether the bucket a sale at ``now`` would join (and any later one) holds at least its
    cap for every window the rules read: the sale need not be counted into ``ip``."""
    if not caps:
        return False
    for seconds, cap in caps:
        prefix, width = window_buckets(seconds, "count")
        if ip.since(prefix, now // width) // PACK < cap:
            return False
    return True


def _leaves(cond: Mapping[str, Any]) -> Iterator[tuple[Any, Mapping[str, Any]]]:
    kind = cond.get("kind")
    if kind in ("all", "any"):
        for inner in cond.get("conditions") or ():
            yield from _leaves(inner)
    else:
        yield kind, cond


def _features(kind: Any, cond: Mapping[str, Any]) -> list[Any] | None:
    """The features a leaf condition reads (the engine's condition kinds), ``None`` for a kind
    not listed here."""
    if kind in ("compare", "truthy", "in_set"):
        return [cond.get("feature")]
    if kind == "ratio":
        return [cond.get("numerator"), cond.get("denominator")]
    if kind == "differ":
        return list(cond.get("features") or ())
    return None

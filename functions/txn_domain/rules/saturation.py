"""When a customer IP is counted far past every threshold the rules read, it stops being counted.

One item per IP holds its counts and the digests that keep a redelivered sale from being
counted twice (ADR 0003). An IP that many cardholders share (a carrier's NAT, a corporate
proxy, or a merchant's integration sending its own server's address as the customer's) can
send several sales a second; each one grows the item by its digest and rewrites it, until the
item reaches DynamoDB's 400 KB limit and every write to it fails, and long before that one hot
item costs a write unit per KB. Past :data:`FACTOR` times every threshold, counting another sale
cannot change what the rules decide: the IP stays over each threshold while its counts are that
high. So such a sale is not counted into the IP's item (it is still judged, and counted into
its card's and merchant's); once a window falls below its cap, counting resumes. The item stays
a few KB: in a steady stream, about ``FACTOR`` times the hourly threshold of digests an hour.

The caps come from the rules document: every condition that reads an IP velocity feature must be
a ``count`` compared with ``>`` or ``>=`` (inside ``all``/``any``, which the engine has no
negation for), so more sales can only keep it true. Any other use of an IP feature (a sum, an
upper bound, a ratio) leaves IP counting uncapped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from txn_domain.velocity import WINDOWS, Counter

# How far past a threshold counting stops: far enough that a window's buckets leaving it never
# bring the count under its threshold before counting has resumed.
FACTOR = 10
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
            ip_names = [n for n in names if isinstance(n, str) and n.startswith(_PREFIX)]
            if not ip_names:
                continue
            if kind != "compare" or cond_.get("op") not in (">", ">="):
                return None
            _, _, metric, window = ip_names[0].split(".")
            value = cond_.get("value")
            if metric != "count" or not isinstance(value, int | float) or isinstance(value, bool):
                return None
            seconds = WINDOWS[window]
            thresholds[seconds] = max(thresholds.get(seconds, 0), float(value))
    return tuple(
        (seconds, max(1, math.ceil(FACTOR * threshold)))
        for seconds, threshold in sorted(thresholds.items())
    )


def saturated(ip: Counter, caps: Caps | None, now: int) -> bool:
    """Whether ``ip`` is at or past every cap: another sale need not be counted into it."""
    if not caps or not ip.exists:  # an IP first seen in this batch has its first few sales
        return False
    return all(ip.window("count", seconds, now) >= cap for seconds, cap in caps)


def _leaves(cond: Mapping[str, Any]) -> Iterator[tuple[Any, Mapping[str, Any]]]:
    kind = cond.get("kind")
    if kind in ("all", "any"):
        for inner in cond.get("conditions") or ():
            yield from _leaves(inner)
    else:
        yield kind, cond


def _features(kind: Any, cond: Mapping[str, Any]) -> list[Any]:
    if kind in ("compare", "truthy", "in_set"):
        return [cond.get("feature")]
    if kind == "ratio":
        return [cond.get("numerator"), cond.get("denominator")]
    if kind == "differ":
        return list(cond.get("features") or ())
    return []

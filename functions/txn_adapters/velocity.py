"""Velocity counter items: one BatchGetItem per batch to read, one PartiQL statement per item to
write (sent in batches by :func:`txn_adapters.partiql.execute`).

A statement adds the batch's transactions to one item. For card and IP items it also adds their
digests to the item's guard set and holds only if none of them is there yet, so a redelivered
message is never counted twice there. Attributes the item had when read are incremented
(``"x" = "x" + ?``); new ones are set on the condition that they are still missing, so two
writers racing to create a bucket cannot overwrite each other: the loser's statement fails,
changes nothing, and is rebuilt from the item the failure returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import backoff, translate
from txn_adapters.partiql import Outcome, Statement, execute, insert_text, quote
from txn_domain.errors import ThrottledError
from txn_domain.profile import ATTRIBUTE as PROFILE
from txn_domain.profile import EXPLORE_ATTRIBUTE as EXPLORE
from txn_domain.risk import ATTRIBUTE as RISK
from txn_domain.risk import Risk
from txn_domain.velocity import (
    GUARD,
    GUARD_WIDTH,
    RISK_TTL,
    Contribution,
    Counter,
    b36,
    guarded,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

_MAX_KEYS = 100


def _n(value: int | float) -> AttributeValueTypeDef:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


class Clauses(NamedTuple):
    """The PartiQL pieces naming one attribute, built once per name (bucket names repeat for a
    minute to a day, and every statement of a batch writes the same few)."""

    assign: str
    increment: str
    missing: str
    set_add: str
    lacks: str
    remove: str
    equals: str


@lru_cache(maxsize=2048)
def _clauses(name: str) -> Clauses:
    q = quote(name)
    return Clauses(
        assign=f"SET {q} = ?",
        increment=f"SET {q} = {q} + ?",
        missing=f"{q} IS MISSING",
        set_add=f"SET {q} = set_add({q}, ?)",
        lacks=f"NOT contains({q}, ?)",
        remove=f"REMOVE {q}",
        equals=f"{q} = ?",
    )


@lru_cache(maxsize=64)  # a guard set per hour: the same few names all batch long
def _guard_name(hour: int) -> str:
    return GUARD + b36(hour)


_V: AttributeValueTypeDef = {"S": "v"}  # every counter item's sort key (never changed: shared)
_KEY_MATCHES = f"{quote('pk')} = ? AND {quote('sk')} = ?"
_KEY_MATCHES_AND = _KEY_MATCHES + " AND "


class VelocityStore:
    def __init__(self, dynamodb: DynamoDBClient, table: str):
        self._ddb = dynamodb
        self.table = table

    def load(
        self,
        keys: Iterable[str],
        now: int,
        also: tuple[str, Sequence[dict[str, Any]]] | None = None,
        *,
        consistent: bool = False,
    ) -> tuple[dict[str, Counter], list[dict[str, Any]]]:
        """The counters for ``keys`` (missing or expired items as empty counters), plus the
        items found for ``also`` (another table's keys, read in the same calls).

        ``consistent``: strongly consistent reads of the counters, for a write rebuilt after
        losing a race (an eventually consistent read may not hold the winner's write yet, and
        the rebuilt write would lose again)."""
        keys = list(keys)
        wanted: list[tuple[str, dict[str, Any]]] = [
            (self.table, {"pk": {"S": k}, "sk": {"S": "v"}}) for k in keys
        ]
        if also is not None:
            wanted += [(also[0], key) for key in also[1]]
        items: dict[str, dict[str, Any]] = {}
        others: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _MAX_KEYS):
            request: dict[str, Any] = {}
            for table, key in wanted[start : start + _MAX_KEYS]:
                request.setdefault(table, {"Keys": []})["Keys"].append(key)
            if consistent and self.table in request:
                request[self.table]["ConsistentRead"] = True
            for attempt in range(5):
                if attempt:
                    backoff(attempt - 1)
                try:
                    response = self._ddb.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise translate(exc, "reading velocity counters") from exc
                for table, found in response.get("Responses", {}).items():
                    if table == self.table:
                        for item in found:
                            items[item["pk"]["S"]] = item
                    else:
                        others += found
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise ThrottledError("reading velocity counters: keys left unprocessed")
        counters = {k: Counter.from_item(k, items.get(k), now) for k in keys}
        return counters, others

    def execute(self, statements: Sequence[Statement]) -> list[Outcome]:
        return execute(self._ddb, statements, "counting velocity")

    def statement(
        self, counter: Counter, added: Sequence[Contribution], now: int, sign: int = 1
    ) -> Statement:
        """The write adding ``added`` to ``counter``'s item (``sign=-1``: taking them out)."""
        added = list(added)
        delta = counter.delta(added, sign, now)
        guards: dict[str, list[str]] = {}
        if sign > 0 and guarded(counter.key):
            for c in added:
                guards.setdefault(_guard_name(c.at // GUARD_WIDTH), []).append(c.digest)
        plain: dict[str, AttributeValueTypeDef] = {"expires_at": {"N": str(now + counter.ttl)}}
        # A card's profile is folded from the profile as read: the write holds only if the
        # item's count is still the one read (another writer's profile is not overwritten; a
        # lost race is rebuilt from the item as it now is, see fraud_detector.pipeline).
        versioned = False
        if counter.key.startswith("card#"):
            located = [(c.at, c.geo) for c in added if c.geo is not None]
            if located:
                at, (lat, lon) = max(located, key=lambda fix: fix[0])
                plain.update(lat=_n(lat), lon=_n(lon), lts=_n(at))
            if sign > 0:
                profile = counter.profile_after(added)
                plain[PROFILE] = {"S": profile.text()}
                plain[EXPLORE] = {"N": f"{profile.explore:.3f}"}
                versioned = True

        if not counter.exists:
            item: dict[str, AttributeValueTypeDef] = {"pk": {"S": counter.key}, "sk": {"S": "v"}}
            item.update(plain)
            item.update({name: {"N": str(value)} for name, value in delta.items()})
            item.update({name: {"SS": digests} for name, digests in guards.items()})
            return Statement(insert_text(self.table, tuple(item)), list(item.values()))

        sets: list[str] = []
        params: list[AttributeValueTypeDef] = []
        conditions: list[str] = []
        condition_params: list[AttributeValueTypeDef] = []
        live = frozenset() if counter.reset else counter.names
        for name, attr in plain.items():
            sets.append(_clauses(name).assign)
            params.append(attr)
        # A reset overwrites every value; its expires_at condition already excludes a race.
        fresh = [] if counter.reset else conditions
        for name, increment in delta.items():
            clauses = _clauses(name)
            if name in live:
                sets.append(clauses.increment)
            else:
                sets.append(clauses.assign)
                fresh.append(clauses.missing)
            params.append({"N": str(increment)})  # increments are whole numbers
        for name, digests in guards.items():
            clauses = _clauses(name)
            if name in live:
                sets.append(clauses.set_add)
                for digest in digests:
                    conditions.append(clauses.lacks)
                    condition_params.append({"S": digest})
            else:
                sets.append(clauses.assign)
                fresh.append(clauses.missing)
            params.append({"SS": digests})
        if counter.stale:  # what the write does not set again (all of an expired item's)
            sets += [
                _clauses(name).remove
                for name in sorted(counter.stale)
                if name not in plain and name not in delta and name not in guards
            ]
        params += [{"S": counter.key}, _V]
        where = _KEY_MATCHES
        if counter.reset:
            # Another writer may have reset the expired item first: only one reset wins.
            where = _KEY_MATCHES_AND + _clauses("expires_at").equals
            params.append(_n(counter.expires_at))
        elif versioned and "hn" in live and not counter.unversioned:
            where = _KEY_MATCHES_AND + _clauses("hn").equals
            params.append({"N": str(counter.read_count)})
        if conditions:
            where += " AND " + " AND ".join(conditions)
        text = f"UPDATE {quote(self.table)} {' '.join(sets)} WHERE {where}"
        return Statement(text, params + condition_params)

    def risk_statement(self, counter: Counter, risk: Risk, now: int) -> Statement:
        """The write of a confirmed-fraud report (ADR 0013): ``risk`` replaces the item's ``rk``
        on the condition that it is still the one read (or still missing), so a concurrent
        report is never overwritten. A card item's other attributes and its expiry are left
        alone (a report does not keep a card's windows alive); a merchant's risk item lives
        :data:`RISK_TTL` after its last report, and one missing or expired is created afresh."""
        text: AttributeValueTypeDef = {"S": risk.text()}
        key: list[AttributeValueTypeDef] = [{"S": counter.key}, _V]
        merchant_item = counter.key.startswith("risk#")
        if merchant_item and not counter.exists:
            item: dict[str, AttributeValueTypeDef] = {
                "pk": key[0],
                "sk": key[1],
                RISK: text,
                "expires_at": _n(now + RISK_TTL),
            }
            return Statement(insert_text(self.table, tuple(item)), list(item.values()))
        risk_clauses, expiry = _clauses(RISK), _clauses("expires_at")
        sets = [risk_clauses.assign]
        params: list[AttributeValueTypeDef] = [text]
        if merchant_item:
            sets.append(expiry.assign)
            params.append(_n(max(now + RISK_TTL, counter.expires_at)))
        params += key
        if merchant_item and counter.reset:  # expired: only one writer restarts it
            where = _KEY_MATCHES_AND + expiry.equals
            params.append(_n(counter.expires_at))
        elif counter.risk_text is None:
            where = _KEY_MATCHES_AND + risk_clauses.missing
        else:
            where = _KEY_MATCHES_AND + risk_clauses.equals
            params.append({"S": counter.risk_text})
        return Statement(f"UPDATE {quote(self.table)} {' '.join(sets)} WHERE {where}", params)

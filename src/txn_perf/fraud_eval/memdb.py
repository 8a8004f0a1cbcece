"""An in-memory DynamoDB and SNS for the calls the fraud detector makes, so the replay runs the
real adapters (``VelocityStore``, ``TransactionsStore``, ``MerchantsRepository``,
``AlertsPublisher``) and the real pipeline on weeks of traffic in seconds.

``BatchExecuteStatement`` runs the PartiQL write statements with DynamoDB's per-statement
semantics, parsed by :mod:`txn_moto.partiql` (the same parser the moto emulation uses): an
``INSERT`` whose key exists fails with ``DuplicateItem``; an ``UPDATE`` needs the item and its
``WHERE`` conditions, else ``ConditionalCheckFailed`` with the item. Calls are counted by
operation.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from txn_moto.partiql import StatementError, Update, parse_insert, parse_update

KEYS = {"transactions": ("transaction_id", "timestamp"), "velocity": ("pk", "sk")}


def _num(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


@lru_cache(maxsize=4096)
def _insert_shape(text: str, n: int) -> tuple[str, tuple[tuple[str, int], ...]]:
    """An INSERT's table and (attribute, parameter index), parsed once per statement text."""
    table, item = parse_insert(text, [{"i": i} for i in range(n)])
    return table, tuple((name, v["i"]) for name, v in item.items())


_CLAUSE = re.compile(
    r'(SET|REMOVE) "([^"]+)"(?: = (?:(\?)|"[^"]+" ([+-]) \?|set_add\("[^"]+", \?\)))?'
)
_CHECK = re.compile(r'(?:"([^"]+)" (?:(=) \?|(IS MISSING))|NOT contains\("([^"]+)", \?\))$')


def _update_shape(text: str, n: int) -> Update:
    """An UPDATE with its values standing for parameter indexes: the adapter's statements by a
    quick reading of their fixed shape, anything else by :func:`parse_update`."""
    head, _, where = text.partition(" WHERE ")
    table = head.split('"', 2)[1]
    u = Update(table)
    i = 0
    clauses = head.split('" ', 1)[1] if " SET " in head or " REMOVE " in head else ""
    found = _CLAUSE.findall(clauses)
    if not found or sum(len(m[0]) for m in found) == 0:
        return parse_update(text, [{"i": k} for k in range(n)])
    for verb, name, plain, arith in found:
        if verb == "REMOVE":
            u.actions.append(("remove", name, None))
        elif plain:
            u.actions.append(("=", name, {"i": i}))
            i += 1
        elif arith:
            u.actions.append((arith, name, {"i": i}))
            i += 1
        else:
            u.actions.append(("set_add", name, {"i": i}))
            i += 1
    for part in where.split(" AND "):
        m = _CHECK.match(part)
        if m is None:
            return parse_update(text, [{"i": k} for k in range(n)])
        name, eq, missing, contains = m.groups()
        if eq:
            u.key_values.append((name, {"i": i}))
            i += 1
        elif missing:
            u.checks.append(("missing", name, None))
        else:
            u.checks.append(("not_contains", contains, {"i": i}))
            i += 1
    if i != n:
        return parse_update(text, [{"i": k} for k in range(n)])
    return u


def _fmt(value: int | float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


class MemoryAws:
    def __init__(self, merchants: list[dict[str, Any]] | None = None):
        self.tables: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {name: {} for name in KEYS}
        self.merchants = {m["merchant_id"]["S"]: m for m in merchants or []}
        self.calls: Counter[str] = Counter()
        self.published = 0
        self._first: dict[tuple[str, str], tuple[str, ...]] = {}  # (table, partition) -> key

    def _key(self, table: str, item: dict[str, Any]) -> tuple[str, ...]:
        return tuple(item[k]["S"] for k in KEYS[table])

    # DynamoDB ------------------------------------------------------------------------------
    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls["dynamodb.BatchGetItem"] += 1
        out: dict[str, list[dict[str, Any]]] = {}
        for table, spec in RequestItems.items():
            found = out.setdefault(table, [])
            for key in spec["Keys"]:
                if table == "merchants":
                    item = self.merchants.get(key["merchant_id"]["S"])
                else:
                    item = self.tables[table].get(self._key(table, key))
                if item is not None:
                    found.append(item)
        return {"Responses": out}

    def get_item(self, TableName: str, Key: dict[str, Any]) -> dict[str, Any]:
        self.calls["dynamodb.GetItem"] += 1
        item = self.merchants.get(Key["merchant_id"]["S"])
        return {"Item": item} if item else {}

    def query(self, TableName: str, ExpressionAttributeValues: dict[str, Any], **_: Any) -> Any:
        """The fraud report's read: the records under one partition key (``transaction_id``)."""
        self.calls["dynamodb.Query"] += 1
        wanted = next(iter(ExpressionAttributeValues.values()))["S"]
        key = self._first.get((TableName, wanted))
        return {"Items": [self.tables[TableName][key]] if key is not None else []}

    def batch_execute_statement(self, Statements: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls["dynamodb.BatchExecuteStatement"] += 1
        return {"Responses": [self._run(s) for s in Statements]}

    def _run(self, statement: dict[str, Any]) -> dict[str, Any]:
        text, params = statement["Statement"], statement.get("Parameters", [])
        try:
            if text.startswith("INSERT"):
                table, shape = _insert_shape(text, len(params))
                item = {name: params[i] for name, i in shape}
                rows = self.tables[table]
                key = self._key(table, item)
                if key in rows:
                    return {"Error": {"Code": "DuplicateItem"}}
                rows[key] = dict(item)
                self._first.setdefault((table, key[0]), key)
                return {}
            u = _update_shape(text, len(params))
        except StatementError as exc:
            return {"Error": {"Code": "ValidationError", "Message": str(exc)}}

        def value_of(v: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if v is None else params[v["i"]]

        rows = self.tables[u.table]
        given = {name: params[v["i"]] for name, v in u.key_values}
        key = tuple(given.pop(k)["S"] for k in KEYS[u.table])
        item = rows.get(key)
        failed = item is None
        if item is not None:
            for name, value in given.items():
                failed = failed or item.get(name) != value
            for check, name, ref in u.checks:
                value = value_of(ref)
                if check == "missing":
                    failed = failed or name in item
                else:
                    held = item.get(name, {}).get("SS", ())
                    failed = failed or (value is not None and value["S"] in held)
        if failed:
            error: dict[str, Any] = {"Code": "ConditionalCheckFailed"}
            if item is not None:
                error["Item"] = dict(item)
            return {"Error": error}
        assert item is not None
        for op, name, ref in u.actions:
            value = value_of(ref)
            if op == "remove":
                item.pop(name, None)
            elif op == "=":
                assert value is not None
                item[name] = value
            elif op in "+-":
                assert value is not None
                current, delta = _num(item[name]["N"]), _num(value["N"])
                item[name] = {"N": _fmt(current + delta if op == "+" else current - delta)}
            else:
                assert value is not None
                merged = list(item.get(name, {}).get("SS", []))
                merged += [v for v in value["SS"] if v not in merged]
                item[name] = {"SS": merged}
        return {}

    # SNS -----------------------------------------------------------------------------------
    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[Any]) -> dict[str, Any]:
        self.calls["sns.PublishBatch"] += 1
        self.published += len(PublishBatchRequestEntries)
        return {"Successful": [], "Failed": []}

    def item_sizes(self, table: str = "velocity") -> list[int]:
        """Each item's size as DynamoDB counts it (its developer guide, "Item sizes and formats"):
        every attribute name's UTF-8 bytes, plus a string's UTF-8 bytes, a string set's members',
        and for a number one byte per two significant digits plus one."""
        return [
            sum(attribute_size(n, v) for n, v in item.items())
            for item in self.tables[table].values()
        ]


def attribute_size(name: str, value: dict[str, Any]) -> int:
    """One attribute's bytes by DynamoDB's rule (numbers: leading and trailing zeros trimmed)."""
    ((kind, inner),) = value.items()
    size = len(name.encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").strip("0")
        return size + (len(digits) + 1) // 2 + 1
    if kind == "SS":
        return size + sum(len(v.encode()) for v in inner)
    return size + len(str(inner).encode())

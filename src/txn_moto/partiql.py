"""PartiQL write statements for moto's DynamoDB, with DynamoDB's per-statement semantics.

moto 5.2 runs PartiQL through ``py-partiql-parser``, which handles ``UPDATE ... SET a = ?`` with
equality ``WHERE`` only: no arithmetic, ``set_add``, ``contains`` or ``IS MISSING``; a failed
``WHERE`` is silently a no-op instead of ``ConditionalCheckFailed``; ``INSERT`` overwrites an
existing item instead of failing with ``DuplicateItem``; and each statement serialises every
table. The fraud detector's write path (ADR 0003) relies on exactly those semantics, so
:func:`apply` makes ``BatchExecuteStatement`` write statements run through moto's own
``UpdateItem`` / ``PutItem`` expression engine instead:

- ``INSERT INTO "t" VALUE {'a': ?, ...}`` -> ``PutItem`` with ``attribute_not_exists`` on the
  hash key; an existing key is the statement error ``DuplicateItem``.
- ``UPDATE "t" SET "x" = ? | SET "x" = "x" + ? | SET "x" = "x" - ? | SET "s" = set_add("s", ?)
  | REMOVE "x" ... WHERE "pk" = ? [AND "sk" = ?] [AND "x" IS MISSING | AND "x" = ? |
  AND NOT contains("s", ?)]...`` -> ``UpdateItem`` whose condition also requires the item to
  exist (a PartiQL ``UPDATE`` never creates one); a failed condition is the statement error
  ``ConditionalCheckFailed``, with the item when ``ReturnValuesOnConditionCheckFailure`` is
  ``ALL_OLD``.

The statements the fraud detector sends take a fast path (:func:`_fast_update`,
:func:`_fast_insert`): the same checks and changes applied straight to moto's stored item, with
no expression parsing or AST validation (which cost most of the DynamoDB process's CPU). Whatever
it does not handle, and every input moto rejects, takes the ``UpdateItem``/``PutItem`` path above,
so errors are moto's own; ``tests/unit/moto/test_partiql_fast_path.py`` runs the same statements
through both paths and compares answers and items.

Anything else in the grammar (``SELECT`` statements are left to moto) is a ``ValidationError``
for that statement, so unsupported syntax fails loudly rather than half-working. Apply it in the
process that runs moto: ``mock_aws`` tests call :func:`apply` themselves; the embedded runtime
calls it in its moto server process.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from txn_moto.dynamodb import WRITE_LOCK

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ident>"[^"]+")
      | (?P<string>'[^']*')
      | (?P<param>\?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[=+\-(),{}:])
    )""",
    re.VERBOSE,
)


class StatementError(Exception):
    """A statement this emulation does not accept (reported as ``ValidationError``)."""


@functools.lru_cache(maxsize=1024)  # statement texts repeat: one per shape of item
def _tokens(text: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise StatementError(f"unexpected input at {pos}: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "word":
            value = value.upper()
        elif kind in ("ident", "string"):
            value = value[1:-1]
        out.append((kind, value))
        pos = match.end()
    return tuple(out)


class _Reader:
    def __init__(self, text: str, params: list[dict[str, Any]]):
        self.tokens = _tokens(text)
        self.i = 0
        self.params = list(params)

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise StatementError(f"expected {value or kind}, found {token}")
        self.i += 1
        return token[1]

    def at(self, kind: str, value: str | None = None) -> bool:
        token = self.peek()
        return token is not None and token[0] == kind and (value is None or token[1] == value)

    def param(self) -> dict[str, Any]:
        self.take("param")
        if not self.params:
            raise StatementError("fewer parameters than ?")
        return self.params.pop(0)

    def done(self) -> None:
        if self.peek() is not None:
            raise StatementError(f"unexpected {self.peek()}")
        if self.params:
            raise StatementError("more parameters than ?")


def parse_insert(text: str, params: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """``(table, item)`` of an ``INSERT INTO "t" VALUE {'a': ?, ...}``."""
    r = _Reader(text, params)
    r.take("word", "INSERT")
    r.take("word", "INTO")
    table = r.take("ident")
    r.take("word", "VALUE")
    r.take("punct", "{")
    item: dict[str, Any] = {}
    while True:
        name = r.take("string")
        r.take("punct", ":")
        item[name] = r.param()
        if r.at("punct", ","):
            r.take("punct", ",")
            continue
        r.take("punct", "}")
        break
    r.done()
    return table, item


class Update:
    """An ``UPDATE`` as ``UpdateItem`` arguments."""

    def __init__(self, table: str):
        self.table = table
        self.key_values: list[tuple[str, dict[str, Any]]] = []
        self.sets: list[str] = []
        self.adds: list[str] = []
        self.removes: list[str] = []
        self.conditions: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        # The same statement as data, for the fast path: (op, attribute, value) with op one of
        # "=", "+", "-", "set_add", "remove"; checks as ("missing", attribute, None) or
        # ("not_contains", attribute, value).
        self.actions: list[tuple[str, str, dict[str, Any] | None]] = []
        self.checks: list[tuple[str, str, dict[str, Any] | None]] = []

    def name(self, attr: str) -> str:
        for alias, existing in self.names.items():
            if existing == attr:
                return alias
        alias = f"#n{len(self.names)}"
        self.names[alias] = attr
        return alias

    def value(self, value: dict[str, Any]) -> str:
        alias = f":v{len(self.values)}"
        self.values[alias] = value
        return alias

    def expression(self) -> str:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.adds:
            parts.append("ADD " + ", ".join(self.adds))
        if self.removes:
            parts.append("REMOVE " + ", ".join(self.removes))
        if not parts:
            raise StatementError("UPDATE changes nothing")
        return " ".join(parts)


def parse_update(text: str, params: list[dict[str, Any]]) -> Update:
    r = _Reader(text, params)
    r.take("word", "UPDATE")
    u = Update(r.take("ident"))
    while r.at("word", "SET") or r.at("word", "REMOVE"):
        if r.take("word") == "REMOVE":
            attr = r.take("ident")
            u.removes.append(u.name(attr))
            u.actions.append(("remove", attr, None))
            continue
        target = r.take("ident")
        r.take("punct", "=")
        if r.at("param"):
            value = r.param()
            u.sets.append(f"{u.name(target)} = {u.value(value)}")
            u.actions.append(("=", target, value))
        elif r.at("ident"):
            if r.take("ident") != target:
                raise StatementError("arithmetic must read the attribute it sets")
            op = r.take("punct")
            if op not in "+-":
                raise StatementError(f"unsupported operator {op}")
            alias = u.name(target)
            value = r.param()
            u.sets.append(f"{alias} = {alias} {op} {u.value(value)}")
            u.actions.append((op, target, value))
        else:
            if r.take("word") != "SET_ADD":
                raise StatementError("only set_add is supported as a SET function")
            r.take("punct", "(")
            if r.take("ident") != target:
                raise StatementError("set_add must add to the attribute it sets")
            r.take("punct", ",")
            value = r.param()
            u.adds.append(f"{u.name(target)} {u.value(value)}")
            u.actions.append(("set_add", target, value))
            r.take("punct", ")")
    r.take("word", "WHERE")
    while True:
        if r.at("word", "NOT"):
            r.take("word", "NOT")
            if r.take("word") != "CONTAINS":
                raise StatementError("only NOT contains(...) is supported")
            r.take("punct", "(")
            attr = r.take("ident")
            r.take("punct", ",")
            value = r.param()
            u.conditions.append(f"NOT contains({u.name(attr)}, {u.value(value)})")
            u.checks.append(("not_contains", attr, value))
            r.take("punct", ")")
        else:
            attr = r.take("ident")
            if r.at("word", "IS"):
                r.take("word", "IS")
                r.take("word", "MISSING")
                u.conditions.append(f"attribute_not_exists({u.name(attr)})")
                u.checks.append(("missing", attr, None))
            else:
                r.take("punct", "=")
                value = r.param()
                u.key_values.append((attr, value))
        if not r.at("word", "AND"):
            break
        r.take("word", "AND")
    r.done()
    return u


def _execute_update(backend: Any, u: Update) -> None:
    table = backend.get_table(u.table)
    key_names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    given = dict(u.key_values)
    missing = [k for k in key_names if k not in given]
    if missing:
        raise StatementError(f"WHERE must name the whole primary key (missing {missing})")
    key = {k: given.pop(k) for k in key_names}
    # Equality on non-key attributes is a condition, like any other.
    conditions = [f"{u.name(a)} = {u.value(v)}" for a, v in given.items()]
    # A PartiQL UPDATE never creates an item: no item, no match.
    conditions.insert(0, f"attribute_exists({u.name(table.hash_key_attr)})")
    backend.update_item(
        u.table,
        key,
        u.expression(),
        u.names,
        u.values,
        condition_expression=" AND ".join(conditions + u.conditions),
    )


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_PLAIN_TYPES = frozenset({"S", "N", "SS", "NS", "BOOL", "NULL"})
_ITEM_LIMIT = 405000  # moto's LimitedSizeDict bound


def _plain(value: Any) -> bool:
    """A parameter whose handling needs no validation: one plain type, sets not empty."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind not in _PLAIN_TYPES:
        return False
    if kind in ("SS", "NS"):
        return isinstance(inner, list) and bool(inner) and all(isinstance(v, str) for v in inner)
    if kind in ("S", "N"):
        return isinstance(inner, str)
    return True


def _key_attributes(table: Any) -> frozenset[str]:
    names = {a["AttributeName"] for a in table.attr or []}
    names.add(table.hash_key_attr)
    if table.range_key_attr:
        names.add(table.range_key_attr)
    return frozenset(names)


def _fast_update(backend: Any, u: Update) -> bool:
    """Apply ``u`` straight to moto's stored item, as moto's ``UpdateItem`` would; ``False``
    (nothing done) for anything it does not handle, which then takes the slow path.

    Raises moto's ``ConditionalCheckFailed`` exactly where ``UpdateItem``
    would: moto checks the condition before it validates the update, so does this. After the
    condition holds, every case moto would reject, and every update that could come near
    moto's item size limit, is left to the slow path before anything is written."""
    from moto.dynamodb.comparisons import AttributePath, AttributeValue, FuncContains
    from moto.dynamodb.exceptions import ConditionalCheckFailed
    from moto.dynamodb.models.dynamo_type import DynamoType, bytesize

    table = backend.tables.get(u.table)
    if table is None or table.stream_shard is not None:
        return False
    given = dict(u.key_values)
    hash_name, range_name = table.hash_key_attr, table.range_key_attr
    if hash_name not in given or (range_name and range_name not in given):
        return False
    values = [v for _, v in u.key_values] + [v for _, _, v in u.actions + u.checks if v]
    if not all(_plain(v) for v in values):
        return False
    item = table.get_item(
        DynamoType(given.pop(hash_name)),
        DynamoType(given.pop(range_name)) if range_name else None,
    )
    if item is None:
        raise ConditionalCheckFailed  # the slow path's attribute_exists(<hash key>)
    attrs = item.attrs
    for name, value in given.items():  # equality on other attributes
        current = attrs.get(name)
        if (None if current is None else current.cast_value) != AttributeValue(value).expr(item):
            raise ConditionalCheckFailed  # the caller reads the item
    for check, name, value in u.checks:
        if check == "missing":
            held = name in attrs
        else:
            held = FuncContains(AttributePath([name]), AttributeValue(value)).expr(item)
        if held:
            raise ConditionalCheckFailed  # the caller reads the item

    keys = _key_attributes(table)
    targets = [name for _, name, _ in u.actions]
    if len(set(targets)) != len(targets) or keys.intersection(targets):
        return False  # moto's overlapping-path and key-update errors
    changes: list[tuple[str, Any]] = []
    for op, name, value in u.actions:
        current = attrs.get(name)
        if op == "remove":
            changes.append((name, None))
        elif op == "=":
            changes.append((name, DynamoType(value)))
        elif op in "+-":
            if (
                current is None
                or current.type != "N"
                or "N" not in value
                or not _NUMBER.fullmatch(current.value)
                or not _NUMBER.fullmatch(value["N"])
            ):
                return False
            operand = DynamoType(value)
            changes.append((name, current + operand if op == "+" else current - operand))
        else:  # set_add
            ((kind, new),) = value.items()
            if kind not in ("SS", "NS") or (current is not None and current.type != kind):
                return False
            merged = list(current.value) if current is not None else []
            for v in new:
                if v not in merged:
                    merged.append(v)
            changes.append((name, DynamoType({kind: merged})))
    # moto checks the size on every assignment, counting the item as it is then plus the new
    # value: never more than the item now plus every new value, so under that, it never fires.
    size = sum(bytesize(k) + v.size() for k, v in attrs.items())
    size += sum(bytesize(k) + v.size() for k, v in changes if v is not None)
    if size > _ITEM_LIMIT:
        return False
    for name, new_value in changes:
        if new_value is None:
            attrs.pop(name, None)
        else:
            dict.__setitem__(attrs, name, new_value)
    return True


def _fast_insert(backend: Any, table_name: str, item: dict[str, Any]) -> bool:
    """Store ``item`` if its key is free (``False``, nothing done, otherwise: the slow path
    reports the duplicate, or whatever moto finds wrong with the item first)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = backend.tables.get(table_name)
    if table is None or table.stream_shard is not None:
        return False
    hash_name, range_name = table.hash_key_attr, table.range_key_attr
    if hash_name not in item or (range_name and range_name not in item):
        return False
    try:
        hash_value = DynamoType(item[hash_name])
        range_value = DynamoType(item[range_name]) if range_name else None
    except Exception:  # a malformed key: moto's own error, on the slow path
        return False
    if table.get_item(hash_value, range_value) is not None:
        return False
    table.put_item(item)
    return True


def _run_one(backend: Any, statement: dict[str, Any], fast: bool = True) -> dict[str, Any]:
    from moto.dynamodb.exceptions import ConditionalCheckFailed, DynamodbException

    text = statement.get("Statement", "")
    params = statement.get("Parameters", [])
    return_old = statement.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
    head = text.lstrip()[:6].upper()
    try:
        if head == "INSERT":
            table, item = parse_insert(text, params)
            if fast and _fast_insert(backend, table, item):
                return {"TableName": table}
            hash_key = backend.get_table(table).hash_key_attr
            try:
                backend.put_item(
                    table,
                    item,
                    condition_expression="attribute_not_exists(#k)",
                    expression_attribute_names={"#k": hash_key},
                )
            except ConditionalCheckFailed:
                return {"TableName": table, "Error": _error("DuplicateItem", "Duplicate item")}
            return {"TableName": table}
        if head == "UPDATE":
            u = parse_update(text, params)
            try:
                if not (fast and _fast_update(backend, u)):
                    _execute_update(backend, u)
            except ConditionalCheckFailed:
                error = _error("ConditionalCheckFailed", "The conditional request failed")
                if return_old:
                    table = backend.get_table(u.table)
                    key = {
                        k: v
                        for k, v in u.key_values
                        if k in (table.hash_key_attr, table.range_key_attr)
                    }
                    current = backend.get_item(u.table, key)
                    if current is not None:
                        error["Item"] = current.to_json()["Attributes"]
                return {"TableName": u.table, "Error": error}
            return {"TableName": u.table}
    except StatementError as exc:
        return {"Error": _error("ValidationError", str(exc))}
    except DynamodbException as exc:
        code = exc.error_type.rsplit("#", 1)[-1].removesuffix("Exception")
        return {"Error": _error("ValidationError" if code == "Validation" else code, exc.message)}
    return {"Error": _error("ValidationError", "only INSERT and UPDATE are emulated")}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"Code": code, "Message": message}


@functools.cache  # once per process
def apply() -> None:
    """Route ``BatchExecuteStatement`` writes through the emulation above (idempotent)."""
    from moto.dynamodb import models

    original = models.DynamoDBBackend.batch_execute_statement

    @functools.wraps(original)
    def batch_execute_statement(self: Any, statements: list[dict[str, Any]]) -> list[dict]:
        heads = {s.get("Statement", "").lstrip()[:6].upper() for s in statements}
        if heads <= {"SELECT"}:
            return original(self, statements)
        if "SELECT" in heads:
            raise _validation("a batch mixes read and write statements")
        if len(statements) > 25:
            raise _validation("Member must have length less than or equal to 25")
        # each statement is atomic on DynamoDB: no other write between its read and its store
        results = []
        for s in statements:
            with WRITE_LOCK:
                results.append(_run_one(self, s))
        return results

    models.DynamoDBBackend.batch_execute_statement = batch_execute_statement


def _validation(message: str) -> Exception:
    from moto.dynamodb.exceptions import MockValidationException

    return MockValidationException(message)

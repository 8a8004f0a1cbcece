"""``txn_moto.partiql``'s fast path against its slow path (moto's own ``UpdateItem``/``PutItem``):
the same statements, in the same order, on two identical tables must give the same per-statement
results and leave the same items, on success, on every kind of failed condition and on every
input moto rejects."""

# ruff: noqa: S608 - PartiQL statement texts built from constants, not SQL injection
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from txn_moto import partiql

REGION = "us-east-1"
FAST, SLOW = "fast", "slow"


def _s(v: str) -> dict[str, str]:
    return {"S": v}


def _n(v: str) -> dict[str, str]:
    return {"N": v}


SEED = {
    "pk": _s("c#1"),
    "sk": _s("v"),
    "n": _n("10"),
    "f": _n("1.5"),
    "txt": _s("hello"),
    "g": {"SS": ["a", "b"]},
    "nums": {"NS": ["1", "2"]},
    "expires_at": _n("100"),
    "old": _s("stale"),
}


def _update(text: str, *params: dict[str, Any]) -> dict[str, Any]:
    return {
        "Statement": text,
        "Parameters": list(params),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


KEY = (_s("c#1"), _s("v"))
W = 'WHERE "pk" = ? AND "sk" = ?'

# Each entry runs after the ones before it, on both tables.
STATEMENTS = [
    # INSERT: new, duplicate, missing key, wrong key type
    _update("INSERT INTO \"t\" VALUE {'pk': ?, 'sk': ?, 'n': ?}", _s("c#2"), _s("v"), _n("1")),
    _update("INSERT INTO \"t\" VALUE {'pk': ?, 'sk': ?, 'n': ?}", _s("c#2"), _s("v"), _n("2")),
    _update("INSERT INTO \"t\" VALUE {'pk': ?, 'n': ?}", _s("c#3"), _n("1")),
    _update("INSERT INTO \"t\" VALUE {'pk': ?, 'sk': ?}", _n("3"), _s("v")),
    # UPDATE that holds: plain set, arithmetic (int, decimal, negative), set_add, remove
    _update(f'UPDATE "t" SET "n" = "n" + ? SET "x" = ? {W}', _n("5"), _s("new"), *KEY),
    _update(f'UPDATE "t" SET "f" = "f" + ? SET "n" = "n" - ? {W}', _n("0.25"), _n("-3"), *KEY),
    _update(f'UPDATE "t" SET "g" = set_add("g", ?) {W}', {"SS": ["b", "c", "c"]}, *KEY),
    _update(f'UPDATE "t" SET "h" = set_add("h", ?) {W}', {"SS": ["z"]}, *KEY),
    _update(f'UPDATE "t" SET "nums" = set_add("nums", ?) {W}', {"NS": ["2", "3"]}, *KEY),
    _update(f'UPDATE "t" REMOVE "old" REMOVE "never" {W}', *KEY),
    # conditions: IS MISSING, NOT contains, equality on a non-key attribute
    _update(f'UPDATE "t" SET "m" = ? {W} AND "m" IS MISSING', _n("1"), *KEY),
    _update(f'UPDATE "t" SET "m" = ? {W} AND "m" IS MISSING', _n("2"), *KEY),
    _update(f'UPDATE "t" SET "n" = "n" + ? {W} AND NOT contains("g", ?)', _n("1"), *KEY, _s("a")),
    _update(f'UPDATE "t" SET "n" = "n" + ? {W} AND NOT contains("g", ?)', _n("1"), *KEY, _s("q")),
    _update(
        f'UPDATE "t" SET "n" = "n" + ? {W} AND NOT contains("txt", ?)', _n("1"), *KEY, _s("ell")
    ),
    _update(f'UPDATE "t" SET "e" = ? {W} AND "expires_at" = ?', _n("1"), *KEY, _n("100")),
    _update(f'UPDATE "t" SET "e" = ? {W} AND "expires_at" = ?', _n("2"), *KEY, _n("99")),
    _update(f'UPDATE "t" SET "e" = ? {W} AND "expires_at" = ?', _n("3"), *KEY, _s("100")),
    # no such item: a failed condition, never a new item
    _update(f'UPDATE "t" SET "n" = ? {W}', _n("1"), _s("c#none"), _s("v")),
    _update(f'UPDATE "t" SET "n" = "n" + ? {W}', _n("1"), _s("c#none"), _s("v")),
    # failed condition and an invalid update together: moto reports the condition
    _update(f'UPDATE "t" SET "zz" = "zz" + ? {W} AND "m" IS MISSING', _n("1"), *KEY),
    # what moto rejects once the condition holds
    _update(f'UPDATE "t" SET "zz" = "zz" + ? {W}', _n("1"), *KEY),
    _update(f'UPDATE "t" SET "txt" = "txt" + ? {W}', _n("1"), *KEY),
    _update(f'UPDATE "t" SET "n" = "n" + ? {W}', _s("1"), *KEY),
    _update(f'UPDATE "t" SET "g" = set_add("g", ?) {W}', {"NS": ["1"]}, *KEY),
    _update(f'UPDATE "t" SET "txt" = set_add("txt", ?) {W}', {"SS": ["1"]}, *KEY),
    _update(f'UPDATE "t" SET "sk" = ? {W}', _s("w"), *KEY),
    _update(f'UPDATE "t" SET "gk" = ? {W}', _n("1"), *KEY),  # an index key, wrong type
    _update(f'UPDATE "t" SET "a" = ? SET "a" = ? {W}', _n("1"), _n("2"), *KEY),
    _update(f'UPDATE "t" SET "a" = ? REMOVE "a" {W}', _n("1"), *KEY),
    _update(f'UPDATE "t" SET "g" = set_add("g", ?) {W}', {"SS": []}, *KEY),
    _update(f'UPDATE "t" SET "big" = ? {W}', _s("x" * 410_000), *KEY),
    _update(f'UPDATE "t" SET "n" = ? {W}', _n("1")),  # too few parameters
    _update('UPDATE "t" SET "n" = ? WHERE "pk" = ?', _n("1"), _s("c#1")),  # half a key
    _update(f'UPDATE "nope" SET "n" = ? {W}', _n("1"), *KEY),
    # after all that, the item still takes ordinary writes
    _update(f'UPDATE "t" SET "n" = "n" + ? SET "gk" = ? {W}', _n("100"), _s("idx"), *KEY),
]


@pytest.fixture
def backends() -> Iterator[dict[str, Any]]:
    with mock_aws():
        out = {}
        for label, region in ((FAST, "us-east-1"), (SLOW, "us-west-2")):
            ddb = boto3.client("dynamodb", region_name=region)
            ddb.create_table(
                TableName="t",
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                    {"AttributeName": "gk", "AttributeType": "S"},
                ],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": "by-gk",
                        "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            ddb.put_item(TableName="t", Item=SEED)
            out[label] = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
        yield out


def _items(backend: Any) -> list[dict[str, Any]]:
    table = backend.get_table("t")
    out = []
    for item in table.all_items():
        attrs = item.to_json()["Attributes"]
        # sets compare as sets: moto keeps them as lists
        out.append(
            {
                k: {t: sorted(v) if t in ("SS", "NS") else v for t, v in value.items()}
                for k, value in attrs.items()
            }
        )
    return sorted(out, key=lambda a: (a["pk"]["S"], a["sk"]["S"]))


def _normalised(result: dict[str, Any]) -> dict[str, Any]:
    if "Item" not in result.get("Error", {}):
        return result
    item = {
        k: {t: sorted(v) if t in ("SS", "NS") else v for t, v in value.items()}
        for k, value in result["Error"]["Item"].items()
    }
    return {**result, "Error": {**result["Error"], "Item": item}}


def _outcome(backend: Any, statement: dict[str, Any], fast: bool) -> Any:
    try:
        return _normalised(partiql._run_one(backend, statement, fast=fast))
    except Exception as exc:  # what fails the whole batch must fail it on both paths
        return (type(exc).__name__, str(exc))


def test_given_the_same_statements_then_the_fast_path_answers_and_stores_as_the_slow_one(
    backends,
):
    for i, statement in enumerate(STATEMENTS):
        fast = _outcome(backends[FAST], statement, fast=True)
        slow = _outcome(backends[SLOW], statement, fast=False)

        assert fast == slow, f"statement {i}: {statement['Statement'][:60]}"
        assert _items(backends[FAST]) == _items(backends[SLOW]), f"items after statement {i}"


def test_the_battery_exercises_successes_failed_conditions_and_rejections(backends, monkeypatch):
    slow_calls = []
    slow = partiql._execute_update
    monkeypatch.setattr(partiql, "_execute_update", lambda *a: slow_calls.append(1) or slow(*a))
    answers = [_outcome(backends[FAST], s, fast=True) for s in STATEMENTS]
    codes = {a.get("Error", {}).get("Code", "ok") for a in answers if isinstance(a, dict)}
    succeeded = sum(1 for a in answers if a == {"TableName": "t"})

    assert {"ok", "ConditionalCheckFailed", "DuplicateItem", "ValidationError"} <= codes
    assert succeeded >= 10
    # the slow path only for what moto rejects once the condition holds, and index keys (14)
    assert len(slow_calls) <= 14


def test_given_a_stored_item_then_the_fast_path_writes_it_without_moto_update_item(
    backends, monkeypatch
):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("slow path taken")

    monkeypatch.setattr(type(backends[FAST]), "update_item", refuse)
    answer = partiql._run_one(
        backends[FAST], _update(f'UPDATE "t" SET "n" = "n" + ? {W}', _n("5"), *KEY)
    )

    assert answer == {"TableName": "t"}
    stored = backends[FAST].get_table("t").get_item(partiql_key("c#1"), partiql_key("v"))
    assert stored.attrs["n"].value == "15"


def partiql_key(value: str) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    return DynamoType({"S": value})

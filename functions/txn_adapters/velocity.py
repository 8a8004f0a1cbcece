"""Velocity counter items: one BatchGetItem per batch to read, Update actions to write.

The writes are not sent from here: :meth:`VelocityStore.update_action` builds the
``TransactWriteItems`` action that :class:`txn_adapters.transactions.TransactionsStore` commits
together with the transaction records, so a transaction is counted exactly when it is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from txn_adapters.aws import translate
from txn_domain.errors import ThrottledError
from txn_domain.fraud import counter_ttl
from txn_domain.velocity import Counter

_MAX_KEYS = 100


class VelocityStore:
    def __init__(self, dynamodb: Any, table: str):
        self._ddb = dynamodb
        self.table = table

    def load(self, keys: Iterable[str], now: int) -> dict[str, Counter]:
        """The counters for ``keys`` (missing or expired items as empty counters)."""
        keys = list(keys)
        items: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), _MAX_KEYS):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [
                        {"pk": {"S": k}, "sk": {"S": "v"}} for k in keys[start : start + _MAX_KEYS]
                    ]
                }
            }
            for _ in range(5):
                try:
                    response = self._ddb.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise translate(exc, "reading velocity counters") from exc
                for item in response.get("Responses", {}).get(self.table, []):
                    items[item["pk"]["S"]] = item
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise ThrottledError("reading velocity counters: keys left unprocessed")
        return {k: Counter.from_item(k, items.get(k), now, counter_ttl(k)) for k in keys}

    def update_action(self, counter: Counter, now: int) -> dict[str, Any]:
        """An ``Update`` action adding the counter's pending deltas and dropping stale buckets."""
        names: dict[str, str] = {"#x": "expires_at"}
        values: dict[str, Any] = {":x": {"N": str(now + counter.ttl)}}
        adds: list[str] = []
        for i, (attr, delta) in enumerate(counter.delta.items()):
            names[f"#a{i}"] = attr
            values[f":a{i}"] = {"N": str(delta)}
            adds.append(f"#a{i} :a{i}")
        sets = ["#x = :x"]
        if counter.reset:  # old values are garbage: SET the deltas rather than ADD to them
            sets += [a.replace(" ", " = ") for a in adds]
            adds = []
        if counter.last is not None and counter.key.startswith("card#"):
            lat, lon, ts = counter.last
            names.update({"#lat": "lat", "#lon": "lon", "#lts": "lts"})
            values.update(
                {":lat": {"N": repr(lat)}, ":lon": {"N": repr(lon)}, ":lts": {"N": str(ts)}}
            )
            sets += ["#lat = :lat", "#lon = :lon", "#lts = :lts"]
        expression = "SET " + ", ".join(sets)
        if adds:
            expression += " ADD " + ", ".join(adds)
        stale = sorted(counter.stale - set(counter.delta))
        if stale:
            for i, attr in enumerate(stale):
                names[f"#r{i}"] = attr
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(stale)))
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": counter.key}, "sk": {"S": "v"}},
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

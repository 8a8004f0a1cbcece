"""``merchants``: write a stack's merchant items and bind them to API keys (ADR 0024).

    python -m txn_ops merchants load fixtures/merchants.json --stack dev --key provider
    python -m txn_ops merchants bind --stack prod --key provider-2027 --merchant m_1001 m_1002
    python -m txn_ops merchants bind --stack prod --key provider --all      # an upgrade
    python -m txn_ops merchants unbind --stack prod --key provider --all    # a key retired
    python -m txn_ops merchants review --stack prod                         # who may act for whom

No deploy role may write data (ADR 0011): these run with the caller's own credentials, which
need ``dynamodb:PutItem``, ``UpdateItem`` and (for ``--all``) ``Scan`` on the merchants table,
the data key through DynamoDB, and ``apigateway:GET`` on ``/apikeys`` to find a key by name.

``load`` checks every item as the functions will read it (``MerchantConfig``) before writing
any, so an item that would fail its merchant's sales never reaches the table; it writes each
item whole, bound to the keys its file names plus ``--key``. ``bind`` and ``unbind`` add or
remove key ids on existing items and change nothing else of them. ``review`` reads only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from txn_domain.models import MerchantConfig
from txn_ops import settings as cfg
from txn_ops.errors import OpsError
from txn_spec import contract, shapes
from txn_spec.naming import physical_name

ClientFactory = Callable[[str, str | None], Any]  # (service, region) -> a boto3 client


def _client(service: str, region: str | None) -> Any:
    return boto3.client(service, region_name=region)  # type: ignore[call-overload]


def read_items(path: Path) -> list[dict[str, Any]]:
    """The merchant items of a JSON file (a list, or ``{"merchants": [...]}``), each checked
    as the functions read it; every bad item is named, and none is returned then."""
    try:
        data = json.loads(path.read_text(), parse_float=Decimal)
    except FileNotFoundError:
        raise OpsError("merchants-file-missing", f"no file {path}") from None
    except json.JSONDecodeError as exc:
        raise OpsError("merchants-file-invalid", f"{path} is not JSON: {exc}") from None
    items = data.get("merchants") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise OpsError("merchants-file-invalid", f"{path} must hold a non-empty list of merchants")
    problems = []
    for number, item in enumerate(items, 1):
        try:
            MerchantConfig.model_validate(item)
        except ValidationError as exc:
            name = item.get("merchant_id", "?") if isinstance(item, dict) else "?"
            for err in exc.errors(include_input=False, include_url=False):
                where = ".".join(str(part) for part in err["loc"]) or "item"
                problems.append(f"item {number} ({name}): {where}: {err['msg']}")
    ids = [item.get("merchant_id") for item in items if isinstance(item, dict)]
    problems += [f"merchant {m} is listed more than once" for m in sorted(_twice(ids))]
    if problems:
        raise OpsError("merchants-file-invalid", f"{path}: nothing written; " + "; ".join(problems))
    return items


def _twice(values: Sequence[object]) -> set[str]:
    return {v for v in values if isinstance(v, str) and values.count(v) > 1}


class Merchants:
    """One stack's merchants table and API keys, as the caller's own credentials see them."""

    def __init__(
        self,
        root: Path,
        stack: str,
        emit: Callable[[str], None] = print,
        clients: ClientFactory | None = None,
    ):
        clients = clients or _client
        self.app = cfg.app(root, contract.DATA, stack)
        self.stack, self.emit = stack, emit
        self.region = cfg.region(root, contract.DATA, stack)
        self.table = physical_name(self.app, stack, shapes.MERCHANTS_TABLE.component)
        self._dynamodb = clients("dynamodb", self.region)
        self._apigateway = clients("apigateway", self.region)

    def key_ids(self, names: Sequence[str]) -> list[str]:
        """The ids of the stack's API keys named ``names`` in edge's ``apiKeys``."""
        ids = []
        for key in dict.fromkeys(names):
            wanted = physical_name(self.app, self.stack, shapes.api_key_component(key))
            exact = [k["id"] for k in self._keys_named(wanted) if k.get("name") == wanted]
            if not exact:
                raise OpsError(
                    "api-key-unknown",
                    f"stack {self.stack} has no API key {wanted}: is {key!r} in "
                    "txn-edge:apiKeys, and edge deployed?",
                )
            if len(exact) > 1:
                raise OpsError(
                    "api-key-ambiguous",
                    f"stack {self.stack} has {len(exact)} API keys named {wanted} "
                    f"({', '.join(exact)}): delete the one edge does not manage",
                )
            ids.append(exact[0])
        return ids

    def _keys_named(self, prefix: str) -> Iterator[dict[str, Any]]:
        """The API keys whose name starts with ``prefix`` (GetApiKeys' nameQuery), every page."""
        arguments: dict[str, Any] = {"nameQuery": prefix, "limit": 500}
        while True:
            try:
                page = self._apigateway.get_api_keys(**arguments)
            except (ClientError, BotoCoreError) as exc:
                raise OpsError("aws-error", f"finding API key {prefix}: {exc}") from None
            yield from page.get("items", [])
            if not page.get("position"):
                return
            arguments["position"] = page["position"]

    def load(self, path: Path, keys: Sequence[str]) -> int:
        items = read_items(path)
        ids = set(self.key_ids(keys))
        for number, item in enumerate(items, 1):
            bound = set(item.get("api_key_ids") or ()) | ids
            if not bound:
                self.emit(f"  warning: {item['merchant_id']} names no API key: every sale refused")
            try:
                self._call(
                    "put_item",
                    TableName=self.table,
                    Item=_typed({**item, "api_key_ids": bound} if bound else item),
                )
            except OpsError as exc:
                raise OpsError(
                    exc.code, f"{item['merchant_id']} ({number - 1} written before it): {exc}"
                ) from None
            self.emit(f"  {number}/{len(items)} {item['merchant_id']}")
        self.emit(f"loaded {len(items)} merchants into {self.table} ({self.region})")
        return len(items)

    def bind(self, keys: Sequence[str], merchants: Sequence[str], *, remove: bool = False) -> int:
        ids = self.key_ids(keys)
        chosen = list(merchants) or list(self._every_merchant())
        verb = "DELETE" if remove else "ADD"
        done, broken = 0, []
        for merchant_id in chosen:
            try:
                updated = self._call(
                    "update_item",
                    TableName=self.table,
                    Key={"merchant_id": {"S": merchant_id}},
                    UpdateExpression=f"{verb} api_key_ids :ids",
                    ConditionExpression="attribute_exists(merchant_id)",
                    ExpressionAttributeValues={":ids": {"SS": ids}},
                    ReturnValues="UPDATED_NEW",
                )
            except OpsError as exc:
                if exc.code == "merchant-unknown":
                    self.emit(f"  {merchant_id}: no such merchant, skipped")
                elif exc.code == "merchant-item-invalid":  # api_key_ids not a string set
                    broken.append(merchant_id)
                    self.emit(f"  {merchant_id}: its api_key_ids is not a string set, skipped")
                else:
                    raise
                continue
            done += 1
            self.emit(f"  {done}/{len(chosen)} {merchant_id}")
            if "api_key_ids" not in updated.get("Attributes", {}):  # an empty set is removed
                self.emit(f"  warning: {merchant_id} names no API key now: every sale refused")
        what = "unbound from" if remove else "bound to"
        named = ", ".join(dict.fromkeys(keys))
        self.emit(f"{done} of {len(chosen)} merchants {what} {named} in {self.table}")
        if broken:
            raise OpsError(
                "merchant-item-invalid",
                f"{', '.join(broken)}: api_key_ids is not a string set; rewrite each item whole "
                "with `merchants load`",
            )
        return done

    def review(self) -> dict[str, Any]:
        """Which merchants each of the stack's API keys may act for, the merchants no key may,
        and bindings to ids no key of the stack has: the access review of PCI DSS 7.2.4 for
        the providers' keys, and a rotation's check that the old key is unbound."""
        prefix = physical_name(self.app, self.stack, shapes.API_KEY_COMPONENT) + "-"
        keys = {k["id"]: k for k in self._keys_named(prefix)}
        named = {i: k["name"].removeprefix(prefix) for i, k in keys.items()}
        bound: dict[str, list[str]] = {i: [] for i in keys}
        unbound, stale = [], {}
        for item in self._scan("merchant_id, api_key_ids"):
            merchant_id = item["merchant_id"]["S"]
            ids = item.get("api_key_ids", {}).get("SS", [])
            if not ids:
                unbound.append(merchant_id)
            for key_id in ids:
                (bound if key_id in keys else stale).setdefault(key_id, []).append(merchant_id)
        report = {
            "keys": {
                named[i]: {"id": i, "enabled": keys[i].get("enabled"), "merchants": sorted(m)}
                for i, m in bound.items()
            },
            "merchants_without_key": sorted(unbound),
            "unknown_key_ids": {i: sorted(m) for i, m in stale.items()},
        }
        self.emit(f"API keys of stack {self.stack} and the merchants each may act for:")
        for name, key in sorted(report["keys"].items()):
            state = "enabled" if key["enabled"] else "disabled"
            listed = ", ".join(key["merchants"]) or "none"
            self.emit(f"  {name} ({key['id']}, {state}): {len(key['merchants'])}: {listed}")
        self.emit(f"Merchants no key may act for: {', '.join(unbound) or 'none'}")
        for key_id, merchants in report["unknown_key_ids"].items():
            self.emit(f"  warning: {key_id}, no API key of this stack, is bound to {merchants}")
        return report

    def _every_merchant(self) -> Iterator[str]:
        yield from (item["merchant_id"]["S"] for item in self._scan("merchant_id"))

    def _scan(self, projection: str) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {"TableName": self.table, "ProjectionExpression": projection}
        while True:
            page = self._call("scan", **arguments)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _call(self, operation: str, **arguments: Any) -> Any:
        try:
            return getattr(self._dynamodb, operation)(**arguments)
        except ClientError as exc:
            error = exc.response["Error"]
            code, message = error.get("Code", "?"), error.get("Message", "")
            if code == "ConditionalCheckFailedException":
                raise OpsError("merchant-unknown", "no such merchant") from None
            if code == "ValidationException" and "incorrect data type" in message:
                raise OpsError("merchant-item-invalid", message) from None
            raise OpsError("aws-error", f"{operation} on {self.table}: {code}: {message}") from None
        except BotoCoreError as exc:
            raise OpsError("aws-error", f"{operation} on {self.table}: {exc}") from None


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in item.items()}

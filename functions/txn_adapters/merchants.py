"""Merchant configurations from the merchants table, cached per container with a short TTL.

A hit costs nothing; a miss is one GetItem (or one BatchGetItem for a batch). Unknown merchants
are cached too, for less time, so a flood of requests for a bogus merchant id costs one read per
container per ``negative_ttl``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from txn_adapters.aws import backoff, from_item, translate
from txn_domain.errors import DomainError, ServiceUnavailableError
from txn_domain.models import MerchantConfig

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import KeysAndAttributesUnionTypeDef

_MAX_BATCH = 100


class MerchantsRepository:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        ttl_seconds: float = 60.0,
        negative_ttl_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._ddb = dynamodb
        self._table = table
        self._ttl = ttl_seconds
        self._negative_ttl = negative_ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, MerchantConfig | None]] = {}

    def _cached(self, merchant_id: str) -> tuple[bool, MerchantConfig | None]:
        entry = self._cache.get(merchant_id)
        if entry is not None and entry[0] > self._clock():
            return True, entry[1]
        return False, None

    def _store(self, merchant_id: str, item: dict[str, Any] | None) -> MerchantConfig | None:
        config = None
        if item is not None:
            try:
                config = MerchantConfig.model_validate(from_item(item))
            except ValidationError:
                raise ServiceUnavailableError(
                    "merchant configuration is invalid", code="merchant_config_invalid"
                ) from None
        ttl = self._ttl if config is not None else self._negative_ttl
        self._cache[merchant_id] = (self._clock() + ttl, config)
        return config

    def get(self, merchant_id: str) -> MerchantConfig | None:
        hit, config = self._cached(merchant_id)
        if hit:
            return config
        try:
            response = self._ddb.get_item(
                TableName=self._table, Key={"merchant_id": {"S": merchant_id}}
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "reading the merchant") from exc
        return self._store(merchant_id, response.get("Item"))

    def get_many(
        self, merchant_ids: Iterable[str], invalid: dict[str, Exception] | None = None
    ) -> dict[str, MerchantConfig | None]:
        """The merchants' configurations (None: unknown). A merchant whose item does not
        validate raises, unless ``invalid`` is given: then it is left out of the answer and its
        error put there, so one bad item fails its own merchant's records, not the batch's."""
        out: dict[str, MerchantConfig | None] = {}
        missing: list[str] = []
        for merchant_id in dict.fromkeys(merchant_ids):
            hit, config = self._cached(merchant_id)
            if hit:
                out[merchant_id] = config
            else:
                missing.append(merchant_id)
        for start in range(0, len(missing), _MAX_BATCH):
            chunk = missing[start : start + _MAX_BATCH]
            found = self._batch_get(chunk)
            for merchant_id in chunk:
                try:
                    out[merchant_id] = self._store(merchant_id, found.get(merchant_id))
                except DomainError as exc:
                    if invalid is None:
                        raise
                    invalid[merchant_id] = exc
        return out

    def _batch_get(self, merchant_ids: list[str]) -> dict[str, dict[str, Any]]:
        request: Mapping[str, KeysAndAttributesUnionTypeDef] = {
            self._table: {"Keys": [{"merchant_id": {"S": m}} for m in merchant_ids]}
        }
        found: dict[str, dict[str, Any]] = {}
        for attempt in range(5):
            if attempt:
                backoff(attempt - 1)
            try:
                response = self._ddb.batch_get_item(RequestItems=request)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, "reading merchants") from exc
            for item in response.get("Responses", {}).get(self._table, []):
                found[item["merchant_id"]["S"]] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise ServiceUnavailableError("reading merchants: keys left unprocessed", code="throttled")

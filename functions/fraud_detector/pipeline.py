"""One SQS batch through the fraud rules, with its AWS dependencies passed in.

AWS calls per batch: one BatchGetItem (counters), one TransactWriteItems (records + counters),
one PublishBatch when something is flagged, and a BatchGetItem for merchants only on a cache
miss. A record that is already in the table (a redelivery) cancels the transaction; the retry
leaves it out, so it is neither written nor counted twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from txn_adapters.aws import from_item
from txn_domain.errors import BadRequestError, TransactionCancelledError
from txn_domain.fraud import (
    Assessment,
    alert_from_record,
    assess,
    counter_keys,
    fraud_alert,
    transaction_record,
)
from txn_domain.models import AcceptedTransaction, MerchantConfig, Status
from txn_domain.rules.engine import RuleSet
from txn_domain.velocity import MERCHANT_SHARDS, Counter


class Merchants(Protocol):
    def get_many(self, ids: Sequence[str]) -> Mapping[str, MerchantConfig | None]: ...


class Velocity(Protocol):
    def load(self, keys: Sequence[str], now: int) -> dict[str, Counter]: ...
    def update_action(self, counter: Counter, now: int) -> dict[str, Any]: ...


class Store(Protocol):
    def put_action(self, record: dict[str, Any]) -> dict[str, Any]: ...
    def commit(self, actions: Sequence[dict[str, Any]]) -> None: ...


class Alerts(Protocol):
    def publish(self, alerts: Sequence[dict[str, Any]]) -> list[str]: ...


@dataclass
class BatchResult:
    """Per SQS message id: ``None`` when done (or a duplicate), else the error to report."""

    failures: dict[str, Exception] = field(default_factory=dict)
    decided: list[Assessment] = field(default_factory=list)
    duplicates: int = 0


def _parse(body: str) -> AcceptedTransaction:
    try:
        return AcceptedTransaction.model_validate_json(body)
    except ValidationError as exc:
        loc = ".".join(str(p) for p in exc.errors(include_input=False)[0]["loc"])
        raise BadRequestError("queued message is not a transaction", field=loc or None) from None


class FraudPipeline:
    def __init__(
        self,
        rules: RuleSet,
        merchants: Merchants,
        velocity: Velocity,
        store: Store,
        alerts: Alerts,
        clock: Callable[[], float] = time.time,
        shard: int | None = None,
    ):
        self.rules = rules
        self._merchants = merchants
        self._velocity = velocity
        self._store = store
        self._alerts = alerts
        self._clock = clock
        # Each container writes one shard of a merchant's counters: concurrent containers
        # rarely touch the same item, so their transactions rarely conflict.
        self._shard = shard if shard is not None else os.getpid() % MERCHANT_SHARDS

    def process(self, records: Sequence[Mapping[str, Any]]) -> BatchResult:
        result = BatchResult()
        primaries: dict[str, AcceptedTransaction] = {}
        message_of: dict[str, list[str]] = {}
        for record in records:
            try:
                txn = _parse(record["body"])
            except BadRequestError as exc:
                result.failures[record["messageId"]] = exc
                continue
            # The same transaction twice in one batch: decide it once, acknowledge both.
            primaries.setdefault(txn.transaction_id, txn)
            message_of.setdefault(txn.transaction_id, []).append(record["messageId"])
        if not primaries:
            return result

        now = int(self._clock())
        txns = list(primaries.values())
        try:
            merchants = self._merchants.get_many([t.merchant_id for t in txns])
            loaded = self._velocity.load(counter_keys(txns), now)
        except Exception as exc:  # nothing written: every message retries
            for ids in message_of.values():
                for message_id in ids:
                    result.failures[message_id] = exc
            return result

        errors: dict[str, Exception] = {}
        duplicates: list[dict[str, Any]] = []
        decided = self._commit(txns, merchants, loaded, now, errors, duplicates)
        result.decided = decided
        result.duplicates = len(duplicates)

        # Flagged records, and duplicates whose stored verdict is FLAGGED (their alert may not
        # have gone out before the redelivery): alerts are at least once, keyed by transaction id.
        alerts = [
            fraud_alert(a.txn, a.decision) for a in decided if a.decision.status is Status.FLAGGED
        ]
        alerts += [alert_from_record(d) for d in duplicates if d.get("status") == "FLAGGED"]
        if alerts:
            try:
                for txn_id in self._alerts.publish(alerts):
                    errors[txn_id] = RuntimeError("fraud alert not published")
            except Exception as exc:
                for alert in alerts:
                    errors[alert["transaction_id"]] = exc
        for txn_id, exc in errors.items():
            for message_id in message_of.get(txn_id, []):
                result.failures[message_id] = exc
        return result

    def _actions(self, txns: Sequence[AcceptedTransaction], merchants, loaded, now):
        counters = {k: _fresh(c) for k, c in loaded.items()}
        assessments = assess(txns, merchants, counters, self.rules, self._shard)
        processed_at = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        actions = [
            self._store.put_action(transaction_record(a.txn, a.decision, processed_at))
            for a in assessments
        ]
        actions += [self._velocity.update_action(c, now) for c in counters.values() if c.touched]
        return assessments, actions

    def _commit(self, txns, merchants, loaded, now, errors, duplicates) -> list[Assessment]:
        pending = list(txns)
        for _ in range(3):
            if not pending:
                return []
            assessments, actions = self._actions(pending, merchants, loaded, now)
            try:
                self._store.commit(actions)
                return assessments
            except TransactionCancelledError as exc:
                dup_ids = set()
                for (code, item), a in zip(exc.reasons, assessments, strict=False):
                    if code == "ConditionalCheckFailed":
                        dup_ids.add(a.txn.transaction_id)
                        duplicates.append(from_item(item) if item else {})
                if not dup_ids:
                    break  # conflict or throttling: go record by record
                pending = [t for t in pending if t.transaction_id not in dup_ids]
            except Exception as exc:
                for t in pending:
                    errors[t.transaction_id] = exc
                return []
        return self._one_by_one(pending, merchants, loaded, now, errors, duplicates)

    def _one_by_one(self, pending, merchants, loaded, now, errors, duplicates) -> list[Assessment]:
        decided = []
        for txn in pending:
            assessments, actions = self._actions([txn], merchants, loaded, now)
            try:
                self._store.commit(actions)
                decided += assessments
            except TransactionCancelledError as exc:
                code, item = exc.reasons[0] if exc.reasons else ("None", None)
                if code == "ConditionalCheckFailed":
                    duplicates.append(from_item(item) if item else {})
                else:
                    errors[txn.transaction_id] = exc
            except Exception as exc:
                errors[txn.transaction_id] = exc
        return decided


def _fresh(counter: Counter) -> Counter:
    """A copy of a loaded counter without this attempt's deltas."""
    return Counter(
        key=counter.key,
        ttl=counter.ttl,
        buckets={p: dict(b) for p, b in counter.buckets.items()},
        history_count=counter.history_count,
        history_sum=counter.history_sum,
        last=counter.last,
        stale=set(counter.stale),
        reset=counter.reset,
    )

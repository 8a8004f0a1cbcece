"""One SQS batch through the fraud rules, with its AWS dependencies passed in.

DynamoDB work per batch (ADR 0003), three calls when nothing races:

1. ``BatchGetItem``: every counter item the batch touches, and the batch's own records. A record
   already stored means a redelivery: it is skipped whole (its alert re-sent if it was flagged).
2. ``BatchExecuteStatement``: one statement per card and IP item, each adding the transactions'
   digests to the item's guard set and holding only if none is there yet.
3. ``BatchExecuteStatement``: each record's ``INSERT`` (refused if the key exists) and one
   statement per merchant shard adding exactly those records.

Confirmed-fraud reports (ADR 0013) share the queue, marked by their ``kind`` message attribute,
and are taken apart from the transactions (:mod:`fraud_detector.reports`).

A failure between 2 and 3 is recovered by the redelivery: the guards skip what 2 counted, and 3
stores the record and counts the merchant. A statement that loses a race (a concurrent delivery,
two writers creating one bucket) is rebuilt from the item as it now is and sent again, up to
:data:`~txn_adapters.partiql.ROUNDS` times. A merchant statement whose records were not all
stored (or the reverse) is corrected the same way; what cannot be settled is reported as
``merchant_drift``, and so is what DynamoDB answered with an internal error, which "may have
succeeded or failed": an unguarded increment is then neither sent again nor taken back.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from fraud_detector.messages import by_transaction, parse
from fraud_detector.reports import Merchants, is_report, take_reports
from txn_adapters.aws import backoff, from_item
from txn_adapters.partiql import ROUNDS, Outcome, Statement
from txn_adapters.queue import message_attribute
from txn_domain.errors import WriteFailedError
from txn_domain.feedback import Outcome as ReportOutcome
from txn_domain.fraud import (
    Assessment,
    FraudAlert,
    alert_from_record,
    assess,
    counter_keys,
    fraud_alert,
    transaction_record,
)
from txn_domain.models import AcceptedTransaction, MerchantConfig, Status
from txn_domain.risk import Risk
from txn_domain.rules.engine import RuleSet
from txn_domain.velocity import MERCHANT_SHARDS, Contribution, Counter, guard_digest, guarded
from txn_spec.shapes import POSTED_BY_ATTRIBUTE


class Velocity(Protocol):
    def load(
        self,
        keys: Sequence[str],
        now: int,
        also: tuple[str, Sequence[dict[str, Any]]] | None = None,
        *,
        consistent: bool = False,
    ) -> tuple[dict[str, Counter], list[dict[str, Any]]]: ...
    def statement(
        self, counter: Counter, added: Sequence[Contribution], now: int, sign: int = 1
    ) -> Statement: ...
    def execute(self, statements: Sequence[Statement]) -> list[Outcome]: ...
    def risk_statement(self, counter: Counter, risk: Risk, now: int) -> Statement: ...


class Store(Protocol):
    def keys(self, txns: Sequence[AcceptedTransaction]) -> tuple[str, list[dict[str, Any]]]: ...
    def find(self, transaction_id: str) -> dict[str, Any] | None: ...
    def insert(self, record: dict[str, Any]) -> Statement: ...
    def execute(self, statements: Sequence[Statement]) -> list[Outcome]: ...


class Alerts(Protocol):
    def publish(self, alerts: Sequence[FraudAlert]) -> list[str]: ...


# One pending counter write: the item as last seen, what to add to it, +1 or -1.
Write = tuple[Counter, list[Contribution], int]
# A write given up on, with the last error of its statement.
Unsettled = tuple[Counter, list[Contribution], int, str]


@dataclass
class BatchResult:
    """Per SQS message id: ``None`` when done (or a duplicate), else the error to report."""

    failures: dict[str, Exception] = field(default_factory=dict)
    decided: list[Assessment] = field(default_factory=list)
    duplicates: int = 0
    merchant_drift: int = 0  # transactions whose merchant count could not be settled
    reports: dict[ReportOutcome, int] = field(default_factory=dict)  # fraud reports by outcome
    # fraud reports not counted for their key (ADR 0024): transaction, merchant, key ids
    refused_reports: list[dict[str, str]] = field(default_factory=list)


def _parse(body: str) -> AcceptedTransaction:
    return parse(AcceptedTransaction, body, "a transaction")


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
        # Each batch writes one shard of a merchant's counters, drawn at random unless fixed
        # here (not the pid: every Lambda environment may run its runtime under the same one),
        # so a busy merchant's writes spread evenly over the shards' partitions. Increments
        # commute: concurrent writers only conflict creating a new bucket (one retry round).
        self._shard = shard

    def process(self, records: Sequence[Mapping[str, Any]]) -> BatchResult:
        reports: list[Mapping[str, Any]] = []
        transactions: list[Mapping[str, Any]] = []
        for record in records:
            (reports if is_report(record) else transactions).append(record)
        result = self._transactions(transactions)
        if reports:
            taken = take_reports(
                reports, self._store, self._merchants, self._velocity, int(self._clock())
            )
            result.failures.update(taken.failures)
            result.reports = taken.outcomes
            result.refused_reports = taken.refused
        return result

    def _transactions(self, records: Sequence[Mapping[str, Any]]) -> BatchResult:
        result = BatchResult()
        # The same transaction twice in one batch: decide it once, acknowledge both.
        primaries, message_of = by_transaction(records, _parse, result.failures)
        if not primaries:
            return result

        now = int(self._clock())
        txns = list(primaries.values())
        invalid: dict[str, Exception] = {}  # a merchant whose item does not validate
        try:
            merchants = self._merchants.get_many([t.merchant_id for t in txns], invalid)
            if invalid:  # its records retry until the item is mended; the others go on
                for txn in txns:
                    if txn.merchant_id in invalid:
                        for message_id in message_of[txn.transaction_id]:
                            result.failures[message_id] = invalid[txn.merchant_id]
                txns = [t for t in txns if t.merchant_id not in invalid]
                if not txns:
                    return result
            counters, found = self._velocity.load(
                counter_keys(txns), now, also=self._store.keys(txns)
            )
        except Exception as exc:  # nothing written: every message retries
            for ids in message_of.values():
                for message_id in ids:
                    result.failures[message_id] = exc
            return result

        stored = {r["transaction_id"]: r for r in (from_item(i) for i in found)}
        duplicates: list[dict[str, Any]] = [stored[t] for t in primaries if t in stored]
        fresh = [t for t in txns if t.transaction_id not in stored]
        errors: dict[str, Exception] = {}
        if fresh:
            by_id = {record["messageId"]: record for record in records}
            posted_by = {  # the API key that posted each (a message attribute, ADR 0024)
                txn_id: message_attribute(by_id[ids[0]], POSTED_BY_ATTRIBUTE)
                for txn_id, ids in message_of.items()
            }
            result.decided = self._write(
                fresh, merchants, counters, now, errors, duplicates, result, posted_by
            )
        result.duplicates = len(duplicates)

        # Flagged records, and duplicates whose stored verdict is FLAGGED (their alert may not
        # have gone out before the redelivery): alerts are at least once, keyed by transaction id.
        alerts = [
            fraud_alert(a.txn, a.decision)
            for a in result.decided
            if a.decision.status is Status.FLAGGED
        ]
        alerts += [alert_from_record(d) for d in duplicates if d.get("status") == "FLAGGED"]
        if alerts:
            try:
                for txn_id in self._alerts.publish(alerts):
                    errors[txn_id] = RuntimeError("fraud alert not published")
            except Exception as exc:
                for alert in alerts:
                    errors[alert["transaction_id"]] = exc
        for txn_id, error in errors.items():
            for message_id in message_of.get(txn_id, []):
                result.failures[message_id] = error
        return result

    def _write(
        self,
        fresh: list[AcceptedTransaction],
        merchants: Mapping[str, MerchantConfig | None],
        counters: dict[str, Counter],
        now: int,
        errors: dict[str, Exception],
        duplicates: list[dict[str, Any]],
        result: BatchResult,
        posted_by: Mapping[str, str | None],
    ) -> list[Assessment]:
        """Count, record and decide ``fresh`` (none of them stored when read)."""
        shard = secrets.randbelow(MERCHANT_SHARDS) if self._shard is None else self._shard
        assessments = assess(fresh, merchants, counters, self.rules, shard, now)
        owner = {guard_digest(t.transaction_id): t.transaction_id for t in fresh}

        # 2. card and IP counters, each guarded by the item's own set of counted digests
        writes = [(c, list(c.added), 1) for k, c in counters.items() if c.added and guarded(k)]
        try:
            unsettled = self._settle(writes, now, reread=False, send=self._velocity.execute)
        except Exception as exc:
            for t in fresh:
                errors[t.transaction_id] = exc
            return []
        for _, added, _, reason in unsettled:
            for c in added:
                errors[owner[c.digest]] = WriteFailedError("counting velocity", reason)

        # 3. the records, and the merchant shards counted for exactly those records
        ready = [a for a in assessments if a.txn.transaction_id not in errors]
        if not ready:
            return []
        processed_at = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        statements = [
            self._store.insert(
                transaction_record(
                    a.txn, a.decision, processed_at, posted_by.get(a.txn.transaction_id)
                )
            )
            for a in ready
        ]
        ready_ids = {a.txn.transaction_id for a in ready}
        shards: list[tuple[Counter, list[Contribution]]] = []
        for key, counter in counters.items():
            if counter.added and not guarded(key):
                parts = [c for c in counter.added if owner[c.digest] in ready_ids]
                if parts:
                    shards.append((counter, parts))
        statements += [self._velocity.statement(c, parts, now) for c, parts in shards]
        try:
            outcomes = self._store.execute(statements)
        except Exception as exc:  # nothing known to be written: SQS retries, guards hold
            for a in ready:
                errors[a.txn.transaction_id] = exc
            return []

        decided: list[Assessment] = []
        uncertain: set[str] = set()  # records that may be stored although their INSERT failed
        for a, outcome in zip(ready, outcomes, strict=False):
            if outcome.ok:
                decided.append(a)
            elif outcome.error == "DuplicateItem":
                duplicates.append({})  # a concurrent delivery stored it (and alerts for it)
            else:
                if outcome.ambiguous:  # SQS redelivers it; its probe will find it if stored
                    uncertain.add(a.txn.transaction_id)
                errors[a.txn.transaction_id] = WriteFailedError(
                    "recording transactions", outcome.error or "unknown"
                )
        recorded = {a.txn.transaction_id for a in decided}
        maybe_stored = recorded | uncertain
        corrections: list[Write] = []
        drift = 0  # sales whose merchant count can be neither confirmed nor corrected
        for (counter, parts), outcome in zip(shards, outcomes[len(ready) :], strict=True):
            if outcome.ambiguous:  # counted or not, nobody knows: no correction could be right
                drift += len(parts)  # a recorded sale may be missing, any other counted
                continue
            drift += sum(owner[c.digest] in uncertain for c in parts)
            if outcome.ok:  # counted: take out what was not recorded after all
                over = [c for c in parts if owner[c.digest] not in maybe_stored]
                if over:
                    corrections.append((counter, over, -1))
            else:  # not counted: add what was recorded
                under = [c for c in parts if owner[c.digest] in recorded]
                if under:
                    corrections.append((counter, under, 1))
        if corrections:
            try:
                # unguarded increments, like step 3's: sent as its records are (Store.execute)
                left = self._settle(corrections, now, reread=True, send=self._store.execute)
            except Exception:
                left = [(c, added, sign, "error") for c, added, sign in corrections]
            drift += sum(len(added) for _, added, _, _ in left)
        result.merchant_drift = drift
        return decided

    def _settle(
        self,
        writes: list[Write],
        now: int,
        reread: bool,
        send: Callable[[Sequence[Statement]], list[Outcome]],
    ) -> list[Unsettled]:
        """Apply ``writes``, rebuilding each that loses a race from the item as it now is.

        Returns the writes still not applied after :data:`~txn_adapters.partiql.ROUNDS`
        attempts, with the last per-statement error. An exception from a whole call propagates
        (nothing to settle)."""
        reasons: dict[str, str] = {}
        given_up: list[Unsettled] = []  # unguarded writes that may have been applied
        for attempt in range(ROUNDS):
            if reread:
                keys = [c.key for c, _, _ in writes]
                loaded, _ = self._velocity.load(keys, now, consistent=True)
                writes = [(loaded[c.key], added, sign) for c, added, sign in writes]
                writes = [(c, _uncounted(c, added), sign) for c, added, sign in writes]
                writes = [w for w in writes if w[1]]
            if not writes:
                return given_up
            if attempt == ROUNDS - 1:
                # A card written by others all the while: its profile is written from the item
                # as last read without the count condition, rather than failing the sales (the
                # guard still counts each sale once; a sale racing this write may be missing
                # from the profile, never from the counts). ADR 0012.
                for counter, _, _ in writes:
                    counter.unversioned = True
            outcomes = send(
                [self._velocity.statement(c, added, now, sign) for c, added, sign in writes]
            )
            retry: list[Write] = []
            reread = False
            for (counter, added, sign), outcome in zip(writes, outcomes, strict=True):
                if outcome.ok:
                    continue
                reasons[counter.key] = outcome.error or "unknown"
                if outcome.ambiguous and not guarded(counter.key):  # never applied twice
                    given_up.append((counter, added, sign, outcome.error or "unknown"))
                elif outcome.error == "ConditionalCheckFailed" and outcome.item is not None:
                    seen = Counter.from_item(counter.key, outcome.item, now)
                    left = _uncounted(seen, added)
                    if left:
                        retry.append((seen, left, sign))
                elif outcome.error == "ConditionalCheckFailed":  # the item is gone: create it
                    retry.append((Counter(key=counter.key), added, sign))
                else:  # created meanwhile (DuplicateItem), throttled, ...: read it again
                    retry.append((counter, added, sign))
                    reread = True
            if retry and attempt < ROUNDS - 1 and any(o.throttled for o in outcomes):
                backoff(attempt)
            writes = retry
        return given_up + [
            (c, added, sign, reasons.get(c.key, "unknown")) for c, added, sign in writes
        ]


def _uncounted(counter: Counter, added: list[Contribution]) -> list[Contribution]:
    """What an item does not hold yet (all of it for an item without a guard set)."""
    if not guarded(counter.key):
        return added
    return [c for c in added if not counter.counted(c.digest, c.at)]

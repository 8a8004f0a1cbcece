"""Confirmed-fraud reports on the transactions queue (ADR 0013), with their AWS dependencies
passed in.

Per batch of reports, three DynamoDB calls when nothing races: a ``Query`` per report for the
stored transaction (the report names it by id; the table's key also holds its timestamp), one
``BatchGetItem`` for the cards' counter items and the merchants' risk items (the merchants'
configurations, which say whether the reporting API key may act for the merchant (ADR 0024),
come from the container's cache, else one more ``BatchGetItem``), one
``BatchExecuteStatement`` replacing each item's risk on the condition that it is still the one
read. A statement that loses to a concurrent report is rebuilt from the item as it now is, up to
:data:`~txn_adapters.partiql.ROUNDS` attempts; a report still not counted fails its message
and SQS retries it (the items' report digests make the retry count it once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fraud_detector.messages import by_transaction, parse
from txn_adapters.aws import backoff
from txn_adapters.partiql import ROUNDS, Outcome, Statement
from txn_adapters.queue import message_attribute
from txn_domain.errors import WriteFailedError
from txn_domain.feedback import Outcome as ReportOutcome
from txn_domain.feedback import ReportedSale, plan, plan_item
from txn_domain.models import MerchantConfig, QueuedReport
from txn_domain.risk import Risk
from txn_domain.velocity import Counter
from txn_spec.shapes import FRAUD_REPORT_KIND, MESSAGE_KIND_ATTRIBUTE


class Records(Protocol):
    def find(self, transaction_id: str) -> dict[str, Any] | None: ...


class Merchants(Protocol):
    def get_many(
        self, ids: Sequence[str], invalid: dict[str, Exception] | None = None
    ) -> Mapping[str, MerchantConfig | None]: ...


class RiskItems(Protocol):
    def load(
        self, keys: Sequence[str], now: int, *, consistent: bool = False
    ) -> tuple[dict[str, Counter], Any]: ...
    def risk_statement(self, counter: Counter, risk: Risk, now: int) -> Statement: ...
    def execute(self, statements: Sequence[Statement]) -> list[Outcome]: ...


def is_report(record: Mapping[str, Any]) -> bool:
    """Whether an SQS record is a fraud report (its ``kind`` message attribute says so)."""
    return message_attribute(record, MESSAGE_KIND_ATTRIBUTE) == FRAUD_REPORT_KIND


def parse_report(body: str) -> QueuedReport:
    return parse(QueuedReport, body, "a fraud report")


@dataclass
class ReportsResult:
    """Per SQS message id the error to report; per outcome the reports seen; the reports not
    counted for their key."""

    failures: dict[str, Exception] = field(default_factory=dict)
    outcomes: dict[ReportOutcome, int] = field(default_factory=dict)
    # per report not counted for its key: the transaction, its merchant and the key's id
    refused: list[dict[str, str]] = field(default_factory=list)


def _refused(
    keys: set[str | None], sale: ReportedSale, merchant: MerchantConfig | None
) -> list[str]:
    """The API keys among those that reported ``sale`` that neither posted it nor may act for its
    merchant now (ADR 0024). No key (None) is not refused: the validator queues none without one
    (it refuses a key-less report), so such a message was queued by a validator from before keys
    were bound to merchants, which had admitted it."""

    def may_report(key: str) -> bool:
        return key == sale.posted_by or (merchant is not None and merchant.admits(key))

    return sorted(k for k in keys if k is not None and not may_report(k))


def _permitted(
    sales: list[ReportedSale],
    senders: Mapping[str, set[str | None]],
    merchants: Merchants,
    result: ReportsResult,
    fail: Callable[[str, Exception], None],
    seen: Callable[[ReportOutcome], None],
) -> list[ReportedSale]:
    """The sales one of whose reporting keys posted the sale or may act for its merchant now
    (ADR 0024). Every other key is counted ``not_permitted`` and said; a sale whose merchant's
    item does not validate fails (retried until the item is mended)."""
    invalid: dict[str, Exception] = {}
    configs = merchants.get_many([sale.merchant_id for sale in sales], invalid)
    permitted = []
    for sale in sales:
        if sale.merchant_id in invalid:
            fail(sale.transaction_id, invalid[sale.merchant_id])
            continue
        reporters = senders[sale.transaction_id]
        refused = _refused(reporters, sale, configs.get(sale.merchant_id))
        for key in refused:
            seen("not_permitted")
            said = {"transaction_id": sale.transaction_id, "merchant_id": sale.merchant_id}
            result.refused.append({**said, "api_key_id": key})
        if len(refused) < len(reporters):
            permitted.append(sale)
    return permitted


def take_reports(
    records: Sequence[Mapping[str, Any]],
    store: Records,
    merchants: Merchants,
    velocity: RiskItems,
    now: int,
) -> ReportsResult:
    """Count each report of ``records`` into its card's and merchant's risk, once, if an API
    key that sent it posted the sale or may act for the sale's merchant now."""
    result = ReportsResult()
    senders: dict[str, set[str | None]] = {}  # transaction id -> the keys that reported it

    def read(body: str) -> QueuedReport:
        report = parse_report(body)
        senders.setdefault(report.transaction_id, set()).add(report.api_key_id)
        return report

    _, messages = by_transaction(records, read, result.failures)

    def fail(transaction_id: str, exc: Exception) -> None:
        for message_id in messages[transaction_id]:
            result.failures[message_id] = exc

    def seen(outcome: ReportOutcome) -> None:
        result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1

    sales: list[ReportedSale] = []
    for transaction_id in messages:
        try:
            found = store.find(transaction_id)
        except Exception as exc:
            fail(transaction_id, exc)
            continue
        if found is None:  # never accepted, or not stored yet: nothing to raise, acknowledged
            seen("transaction_unknown")
        else:
            sales.append(ReportedSale.from_record(found))
    if sales:
        try:
            sales = _permitted(sales, senders, merchants, result, fail, seen)
        except Exception as exc:
            for sale in sales:
                fail(sale.transaction_id, exc)
            return result
    if not sales:
        return result
    keys = list(dict.fromkeys(k for sale in sales for k in sale.item_keys()))
    try:
        counters, _ = velocity.load(keys, now)
    except Exception as exc:
        for sale in sales:
            fail(sale.transaction_id, exc)
        return result

    # Plan every report on the items as read (reports on one item in one batch accumulate).
    touching: dict[str, list[ReportedSale]] = {}
    for sale in sales:
        card, risk = (counters[k] for k in sale.item_keys())
        planned = plan(sale, card, risk, now)
        seen("counted" if planned else "duplicate")
        for key, new in planned.items():
            counters[key].risk = new
            touching.setdefault(key, []).append(sale)

    pending = list(touching)
    reasons: dict[str, str] = {}
    for attempt in range(ROUNDS):
        if not pending:
            break
        if attempt:  # rebuilt from the items as they now are
            try:
                fresh, _ = velocity.load(pending, now, consistent=True)
            except Exception as exc:
                pending_sales = {s.transaction_id for k in pending for s in touching[k]}
                for transaction_id in pending_sales:
                    fail(transaction_id, exc)
                return result
            changed = []
            for key in pending:
                counter = counters[key] = fresh[key]
                for sale in touching[key]:
                    again = plan_item(sale, counter, now)
                    if again is not None:
                        counter.risk = again
                        if key not in changed:
                            changed.append(key)
            pending = changed  # an item that holds every report now: counted by another
            if not pending:
                break
        statements = [velocity.risk_statement(counters[k], counters[k].risk, now) for k in pending]
        try:
            outcomes = velocity.execute(statements)
        except Exception as exc:
            for transaction_id in {s.transaction_id for k in pending for s in touching[k]}:
                fail(transaction_id, exc)
            return result
        left = []
        for key, outcome in zip(pending, outcomes, strict=True):
            if not outcome.ok:
                reasons[key] = outcome.error or "unknown"
                left.append(key)
        if left and attempt < ROUNDS - 1 and any(o.throttled for o in outcomes):
            backoff(attempt)
        pending = left
    for key in pending:
        for sale in touching[key]:
            fail(sale.transaction_id, WriteFailedError("counting a fraud report", reasons[key]))
    return result

"""Labelled traffic as a file: a risk team's own history replayed like the generator's.

JSON Lines, UTF-8, one object a line (docs/fraud-eval.md#your-own-labelled-traffic)::

    {"format": "fraud-eval-traffic/1"}
    {"merchant": {...an item of the merchants table...}}
    {"id": "t-1", "received_at": "2026-11-02T10:00:00Z", "label": "legit",
     "transaction": {...a POST /transaction body...}}
    {"fraud_report": {"id": "t-1", "received_at": "2026-11-20T08:00:00Z"}}

The format line comes first; merchants, transactions and reports in any order after it. A label
is ``legit`` or the name of a fraud pattern in lower case (the generator's, or any other: the
report gives recall for each). A report is confirmed fraud or a chargeback on a transaction of
the file, at most one each, received after it and delivered to the fraud detector then
(``POST /fraud-reports``, ADR 0013); one on a sale labelled legit is delivered too, as the
platform would take it.

Everything is checked as the platform checks it: merchants as the merchants table's items,
each transaction body by the API's own validation (a card number is refused, anywhere in a
line) and, as the validator does before queueing, its timestamp against ``received_at`` and
its merchant. The first fault stops the load with its line, a code and a message
(:class:`TrafficFileError`). An ``id`` that is not a transaction id (a ULID) gets one, made
from its time and the ``id``, so a replay of the file is reproducible.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from txn_domain.errors import DomainError
from txn_domain.models import (
    ID_PATTERN,
    TRANSACTION_ID_PATTERN,
    MerchantConfig,
    Timestamp,
)
from txn_domain.validation import check_merchant, check_timestamp, holds_pan, parse_request
from txn_perf.fraud_eval.generator import Traffic, ulid
from txn_perf.fraud_eval.replay import stamp
from txn_perf.fraud_eval.report import AFTER_FEEDBACK, IN_FLAGGED
from txn_perf.fraud_eval.world import DAY, Event

FORMAT = "fraud-eval-traffic/1"
MAX_LINE_BYTES = 64 * 1024
# received_at: from 1971 to 9998 (an id's time is milliseconds since 1970; the replay's windows
# and stamps run a year past the last sale)
EARLIEST, LATEST = datetime(1971, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)
RANGE = "1971-9998"
# a label: legit, or a fraud pattern (lower case); the report's own figures are not labels
LABEL_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
RESERVED_LABELS = frozenset({AFTER_FEEDBACK, IN_FLAGGED})


class TrafficFileError(ValueError):
    """A fault in a traffic file: where, a machine-readable code and what is wrong."""

    def __init__(self, line: int, code: str, message: str):
        super().__init__(f"line {line}: {code}: {message}")
        self.line, self.code, self.message = line, code, message


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _Transaction(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    received_at: Timestamp
    label: str = Field(pattern=LABEL_PATTERN)
    transaction: dict[str, Any]


class _Merchant(_Strict):
    merchant: dict[str, Any]


class _ReportOf(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    received_at: Timestamp


class _Report(_Strict):
    fraud_report: _ReportOf


def _when(number: int, stamp: str) -> datetime:
    """A file's time, in the range the platform's clock and ids take."""
    when = datetime.fromisoformat(stamp)
    if not EARLIEST <= when < LATEST:
        raise TrafficFileError(number, "out_of_range", f"received_at {stamp} is not in {RANGE}")
    return when


def write(traffic: Traffic, path: Path) -> Path:
    """Write ``traffic`` (generated, or loaded) as a traffic file."""
    labels = {e.transaction_id: e.pattern for e in traffic.events}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"format": FORMAT}) + "\n")
        for merchant in traffic.merchants:
            out.write(json.dumps({"merchant": merchant}) + "\n")
        for e in traffic.events:
            line = {"id": e.transaction_id, "received_at": stamp(e.at), "label": e.pattern}
            out.write(json.dumps({**line, "transaction": e.body}) + "\n")
        for at, txn_id, _ in traffic.feedback:
            if txn_id in labels:
                report = {"id": txn_id, "received_at": stamp(at)}
                out.write(json.dumps({"fraud_report": report}) + "\n")
    return path


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as source:
        for number, raw in enumerate(source, 1):
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                raise TrafficFileError(
                    number, "line_too_long", f"a line is at most {MAX_LINE_BYTES} bytes"
                )
            try:
                value = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise TrafficFileError(number, "malformed_json", str(exc)) from None
            except RecursionError:
                raise TrafficFileError(number, "malformed_json", "nested too deep") from None
            if not isinstance(value, dict):
                raise TrafficFileError(number, "malformed_line", "a line is one JSON object")
            try:
                pan = holds_pan(value)  # anywhere in the line, as the API refuses it in a body
            except RecursionError:
                raise TrafficFileError(number, "malformed_json", "nested too deep") from None
            if pan:
                raise TrafficFileError(
                    number, "pan_not_allowed", "raw card numbers are not accepted"
                )
            yield number, value


def _invalid(number: int, exc: ValidationError, prefix: str = "") -> TrafficFileError:
    first = exc.errors()[0]
    where = prefix + ".".join(str(part) for part in first["loc"]) or "line"
    return TrafficFileError(number, "invalid_line", f"{where}: {first['msg']}")


def read(path: Path) -> Traffic:
    """The traffic of a file, checked; :class:`TrafficFileError` at its first fault."""
    lines = _lines(path)
    first = next(lines, None)
    if first is None or first[1] != {"format": FORMAT}:
        raise TrafficFileError(
            first[0] if first else 1,
            "unknown_format",
            f'the first line must be {{"format": "{FORMAT}"}}',
        )
    merchants: dict[str, MerchantConfig] = {}
    stored: list[dict[str, Any]] = []
    rows: list[tuple[int, _Transaction]] = []
    reports: list[tuple[int, _ReportOf]] = []
    last = first[0]
    for number, value in lines:
        last = number
        try:
            if "merchant" in value:
                item = _Merchant.model_validate(value).merchant
                try:
                    merchant = MerchantConfig.model_validate(item)
                except ValidationError as exc:
                    raise _invalid(number, exc, "merchant.") from None
                if merchant.merchant_id in merchants:
                    raise TrafficFileError(
                        number, "duplicate_merchant", f"{merchant.merchant_id} is given twice"
                    )
                merchants[merchant.merchant_id] = merchant
                stored.append(merchant.model_dump(mode="json"))
            elif "fraud_report" in value:
                reports.append((number, _Report.model_validate(value).fraud_report))
            elif "transaction" in value:
                rows.append((number, _Transaction.model_validate(value)))
            else:
                raise TrafficFileError(
                    number,
                    "unknown_line",
                    'a line holds "merchant", "transaction" or "fraud_report"',
                )
        except ValidationError as exc:
            raise _invalid(number, exc) from None
    if not rows:
        raise TrafficFileError(last, "no_transactions", "the file holds no transaction")

    events: list[Event] = []
    ids: dict[str, Event] = {}
    for number, row in rows:
        if row.id in ids:
            raise TrafficFileError(number, "duplicate_id", f"transaction {row.id} is given twice")
        if row.label in RESERVED_LABELS:
            raise TrafficFileError(number, "reserved_label", f"{row.label} is the report's own")
        received = _when(number, row.received_at)
        at = received.timestamp()
        try:
            request = parse_request(json.dumps(row.transaction))
            check_timestamp(request, received)
            check_merchant(request, merchants.get(request.merchant_id))
        except DomainError as exc:
            raise TrafficFileError(number, exc.code, exc.message) from None
        event = Event(at, row.transaction, row.label, _transaction_id(row.id, at))
        ids[row.id] = event
        events.append(event)
    feedback = []
    reported: set[str] = set()
    for number, report in reports:
        sale = ids.get(report.id)
        if sale is None:
            raise TrafficFileError(
                number, "transaction_unknown", f"no transaction {report.id} in the file"
            )
        if report.id in reported:
            raise TrafficFileError(number, "duplicate_report", f"{report.id} is reported twice")
        at = _when(number, report.received_at).timestamp()
        if at < sale.at:
            raise TrafficFileError(
                number, "report_before_transaction", f"{report.id} is reported before it was made"
            )
        reported.add(report.id)
        feedback.append((at, sale.transaction_id, sale.pattern))
    events.sort(key=lambda e: e.at)
    return Traffic(
        params=None,
        seed=None,
        merchants=stored,
        events=events,
        feedback=sorted(feedback),
        rates={},
        source=path.name,
        start=events[0].at // DAY * DAY,  # the first sale's day, from midnight UTC
    )


def _transaction_id(given: str, at: float) -> str:
    """The file's id if it is a transaction id, else one made from its time and that id."""
    if re.fullmatch(TRANSACTION_ID_PATTERN, given):
        return given
    return ulid(random.Random(given), at)  # noqa: S311 - an id, not a secret

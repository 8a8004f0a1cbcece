"""Pydantic models of the API contract (``api/openapi.yaml``), the queued transaction, the
merchant configuration and the fraud decision.

The request model agrees with ``api/openapi.yaml`` (``components/schemas/TransactionRequest``);
``tests/unit/functions/test_openapi_agreement.py`` runs the same bodies through both. The model
is strict (no string-to-int coercion, no unknown fields) so that what API Gateway's validator
lets through and what the Lambda accepts are the same set; the model is only stricter where
JSON Schema draft-04 cannot speak (calendar-valid timestamps, IP address syntax).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from txn_domain.countries import ALPHA2
from txn_domain.currencies import EXPONENTS

SCHEMA_VERSION = "1"

# Bounds shared with the OpenAPI schema (the agreement test reads them from there).
MAX_AMOUNT = 99_999_999_999  # 11 digits: an amount can never look like a card number
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{4,64}$"  # noqa: S105 - a pattern, not a secret
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
TRANSACTION_ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"  # a ULID (txn_domain.ids)
TERMINAL_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
BIN_PATTERN = r"^[0-9]{6,8}$"
# What is kept of a BIN: with the last four, the first six and last four are the most PCI DSS
# allows to keep of a card of any length (3.5.1; the PCI SSC's truncation FAQ: an 8-digit BIN
# with the last four leaves three digits of a 15-digit card unknown).
KEPT_BIN_DIGITS = 6
LAST4_PATTERN = r"^[0-9]{4}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
IP_PATTERN = r"^[0-9A-Fa-f:.]{2,45}$"
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)


def _currency(value: str) -> str:
    if value not in EXPONENTS:
        raise ValueError("must be an ISO 4217 currency code in circulation")
    return value


def _country(value: str) -> str:
    if value not in ALPHA2:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code")
    return value


# An IPv4 address as ``ipaddress`` writes it (no leading zeros, each part 0-255): exactly the
# addresses it parses back to themselves, so one match spares the parse on most requests.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _ip(value: str) -> str:
    if _CANONICAL_IPV4.fullmatch(value):
        return value
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


def utc_millis(when: datetime) -> str:
    """``when`` as the contract writes every time: UTC with milliseconds,
    ``2026-11-30T12:00:00.000Z``."""
    # isoformat, not strftime: glibc's %Y writes year 999 as "999", not "0999"
    return when.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def normalise_timestamp(value: str) -> str:
    """An RFC 3339 timestamp as UTC with milliseconds, ``2026-11-30T12:00:00.000Z``.

    One fixed width keeps the transactions table's sort key ordered as time is.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time such as 2026-11-30T12:00:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError("must carry a UTC offset or Z")
    if len(value) == 24 and value[10] == "T" and value[19] == "." and value[23] == "Z":
        return value  # already the form returned (what the validator queues): a parse saved
    try:
        return utc_millis(parsed)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC: no datetime holds it
        raise ValueError("must fall between years 0001 and 9999 in UTC") from None


def _first_six(value: str) -> str:
    return value[:KEPT_BIN_DIGITS]


Currency = Annotated[str, Field(pattern=CURRENCY_PATTERN), AfterValidator(_currency)]
Country = Annotated[str, Field(pattern=COUNTRY_PATTERN), AfterValidator(_country)]
IpAddress = Annotated[str, Field(pattern=IP_PATTERN), AfterValidator(_ip)]
# 6 to 8 digits taken; the first six queued, stored, alerted and read by the rules
Bin = Annotated[str, Field(pattern=BIN_PATTERN), AfterValidator(_first_six)]
Timestamp = Annotated[str, Field(pattern=TIMESTAMP_PATTERN), AfterValidator(normalise_timestamp)]


GEO_DECIMALS = 6  # about 0.1 m: more is noise, and a long fraction must not look like a PAN


def _coordinate(value: float) -> float:
    return round(value, GEO_DECIMALS)


class Geo(BaseModel):
    """Coordinates, rounded to :data:`GEO_DECIMALS` places so what is stored stays short."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    lat: Annotated[float, Field(ge=-90, le=90), AfterValidator(_coordinate)]
    lon: Annotated[float, Field(ge=-180, le=180), AfterValidator(_coordinate)]


class TransactionRequest(BaseModel):
    """The body of ``POST /transaction``."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    merchant_id: str = Field(pattern=ID_PATTERN)
    amount: int = Field(ge=1, le=MAX_AMOUNT)
    currency: Currency
    card_token: str = Field(pattern=TOKEN_PATTERN)
    card_bin: Bin
    card_last4: str = Field(pattern=LAST4_PATTERN)
    channel: Literal["card_present", "ecommerce"]
    timestamp: Timestamp
    card_country: Country | None = None
    ip_address: IpAddress | None = None
    ip_country: Country | None = None
    billing_country: Country | None = None
    shipping_country: Country | None = None
    terminal_id: str | None = Field(default=None, pattern=TERMINAL_PATTERN)
    geo: Geo | None = None
    external_id: str | None = Field(default=None, pattern=EXTERNAL_ID_PATTERN)


class AcceptedTransaction(TransactionRequest):
    """What the validator puts on the queue: the validated request plus the ids it assigned."""

    model_config = ConfigDict(strict=False, extra="forbid", frozen=True)

    transaction_id: str = Field(pattern=TRANSACTION_ID_PATTERN)
    received_at: str
    schema_version: str = SCHEMA_VERSION


class FraudReport(BaseModel):
    """The body of ``POST /fraud-reports`` (ADR 0013): confirmed fraud or a chargeback on one
    transaction, named by its id only (no card data)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    transaction_id: str = Field(pattern=TRANSACTION_ID_PATTERN)
    kind: Literal["confirmed_fraud", "chargeback"]
    reported_at: Timestamp


class QueuedReport(FraudReport):
    """What the validator queues for a report: the report plus when it was received."""

    model_config = ConfigDict(strict=False, extra="forbid", frozen=True)

    received_at: str
    # The id of the API key that sent it: the report counts only if that key may act for the
    # reported sale's merchant (ADR 0024). None: queued before keys were bound to merchants.
    api_key_id: str | None = None
    schema_version: str = SCHEMA_VERSION


class RiskOverrides(BaseModel):
    """Per-merchant adjustments of the fraud rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    disabled_rules: frozenset[str] = frozenset()
    flag_score: int | None = Field(default=None, ge=1)
    high_risk: bool = False


class MerchantConfig(BaseModel):
    """A merchant's configuration as stored in the merchants table.

    Limits are in major units of the transaction's currency (no FX conversion is applied).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    merchant_id: str = Field(pattern=ID_PATTERN)
    name: str = ""
    active: bool
    allowed_currencies: frozenset[Currency]
    per_transaction_limit: int = Field(ge=1)
    daily_limit: int = Field(ge=1)
    mcc: str = Field(pattern=r"^[0-9]{4}$")
    country: Country
    risk_overrides: RiskOverrides = RiskOverrides()
    # The API keys (API Gateway key ids) that may post for this merchant (ADR 0024); none: no
    # key may, so a merchant written without any is refused, never open to every caller.
    api_key_ids: frozenset[str] = frozenset()

    def admits(self, api_key_id: str | None) -> bool:
        """Whether the API key ``api_key_id`` may act for this merchant."""
        return api_key_id is not None and api_key_id in self.api_key_ids


class Status(StrEnum):
    APPROVED = "APPROVED"
    FLAGGED = "FLAGGED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Decision:
    """The fraud verdict stored with the transaction (a dataclass: built once per record)."""

    status: Status
    score: int
    matched_rules: tuple[str, ...]
    rules_version: str

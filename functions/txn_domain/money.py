"""Money in one unit: amounts in a reference currency, through a rates table. Pure.

The fraud rules compare amounts with thresholds and sum them over windows and profiles; both
only mean something in one unit (10,000 JPY is about 66 USD; a card's sum must never add yen to
cents). Every amount the rules see, and every amount a counter or profile holds, is converted
here first: ``rates.json`` (shipped with the code: units of the reference currency per unit of
each currency) overridden entry by entry by the rules document's ``rates``.

Rates are approximate and change slowly compared with what a fraud threshold resolves (a factor
of two matters, a few percent does not), so a table refreshed with the rules is enough; the
amount stored with the transaction stays in its own currency.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from txn_domain.currencies import EXPONENTS

RATES_FILE = Path(__file__).with_name("rates.json")


class RatesError(ValueError):
    """A rates table or override that cannot be used; raised at cold start."""


@dataclass(frozen=True, slots=True)
class Rates:
    reference: str
    # currency -> reference minor units per minor unit of that currency
    per_minor: Mapping[str, float]

    def to_reference_minor(self, amount: int, currency: str) -> int:
        """``amount`` (minor units of ``currency``) in minor units of the reference currency,
        rounded, at least 1 for any positive amount. ``KeyError`` for an unknown currency."""
        return max(1, round(amount * self.per_minor[currency])) if amount > 0 else 0

    @property
    def scale(self) -> int:
        """Minor units per major unit of the reference currency."""
        exponent: int = EXPONENTS[self.reference]
        return int(10**exponent)


def build_rates(table: Mapping[str, object], reference: str) -> Rates:
    if reference not in EXPONENTS:
        raise RatesError(f"unknown reference currency {reference!r}")
    ref_exp = EXPONENTS[reference]
    per_minor: dict[str, float] = {}
    for code, rate in table.items():
        if code not in EXPONENTS:
            raise RatesError(f"unknown currency {code!r} in the rates")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise RatesError(f"rate of {code} must be a positive number, got {rate!r}")
        per_minor[code] = float(rate) * 10 ** (ref_exp - EXPONENTS[code])
    if table.get(reference) != 1:
        raise RatesError(f"the reference currency {reference} must have rate 1")
    missing = sorted(set(EXPONENTS) - set(per_minor))
    if missing:
        raise RatesError(f"no rate for {', '.join(missing[:5])}")
    return Rates(reference, MappingProxyType(per_minor))


def load_rates(overrides: Mapping[str, float] | None = None) -> Rates:
    """The shipped table with ``overrides`` (currency -> reference units per unit) applied."""
    document = json.loads(RATES_FILE.read_text(encoding="utf-8"))
    table = dict(document["rates"])
    table.update(overrides or {})
    return build_rates(table, document["reference"])

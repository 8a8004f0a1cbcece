"""The world the traffic lives in: cities, currencies, merchant categories, and the records
(merchant, card, event) the generator and the fraud patterns share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

START = datetime(2026, 10, 5, tzinfo=UTC)
DAY = 86_400

# name, country, currency, lat, lon, utc offset (h)
CITIES: tuple[tuple[str, str, str, float, float, float], ...] = (
    ("new-york", "US", "USD", 40.71, -74.0, -5),
    ("chicago", "US", "USD", 41.88, -87.63, -6),
    ("san-francisco", "US", "USD", 37.77, -122.42, -8),
    ("toronto", "CA", "CAD", 43.65, -79.38, -5),
    ("london", "GB", "GBP", 51.51, -0.13, 0),
    ("berlin", "DE", "EUR", 52.52, 13.40, 1),
    ("paris", "FR", "EUR", 48.86, 2.35, 1),
    ("madrid", "ES", "EUR", 40.42, -3.70, 1),
    ("stockholm", "SE", "SEK", 59.33, 18.07, 1),
    ("zurich", "CH", "CHF", 47.37, 8.54, 1),
    ("tokyo", "JP", "JPY", 35.68, 139.69, 9),
    ("osaka", "JP", "JPY", 34.69, 135.50, 9),
    ("sydney", "AU", "AUD", -33.87, 151.21, 11),
    ("mexico-city", "MX", "MXN", 19.43, -99.13, -6),
    ("sao-paulo", "BR", "BRL", -23.55, -46.63, -3),
    ("mumbai", "IN", "INR", 19.08, 72.88, 5.5),
)
# US dollars per unit (mid-market, late 2026 order of magnitude; the generator's own table)
USD_PER_UNIT = {
    "USD": 1.0,
    "CAD": 0.72,
    "GBP": 1.27,
    "EUR": 1.08,
    "SEK": 0.094,
    "CHF": 1.12,
    "JPY": 0.0066,
    "AUD": 0.65,
    "MXN": 0.054,
    "BRL": 0.18,
    "INR": 0.012,
}
EXPONENT = {"JPY": 0}

# category: mcc, median amount (USD), log-sigma, channel, high risk
CATEGORIES: dict[str, tuple[str, float, float, str, bool]] = {
    "grocery": ("5411", 45, 0.6, "card_present", False),
    "restaurant": ("5812", 30, 0.5, "card_present", False),
    "fast-food": ("5814", 11, 0.4, "card_present", False),
    "fuel": ("5541", 42, 0.35, "card_present", False),
    "pharmacy": ("5912", 22, 0.6, "card_present", False),
    "clothing": ("5651", 65, 0.6, "card_present", False),
    "department": ("5311", 70, 0.7, "card_present", False),
    "electronics": ("5732", 180, 0.8, "card_present", False),
    "jewellery": ("5944", 300, 0.8, "card_present", False),
    "hotel": ("7011", 160, 0.5, "card_present", False),
    "online-retail": ("5999", 40, 0.8, "ecommerce", False),
    "digital": ("5815", 12, 0.4, "ecommerce", False),
    "online-electronics": ("5732", 250, 0.8, "ecommerce", False),
    "airline": ("4511", 350, 0.6, "ecommerce", False),
    "delivery": ("5814", 25, 0.4, "ecommerce", False),
    "casino": ("7995", 60, 0.9, "ecommerce", True),
    "crypto": ("6051", 150, 1.0, "ecommerce", True),
    "money-transfer": ("4829", 200, 0.8, "ecommerce", True),
}
LOCAL = [c for c, v in CATEGORIES.items() if v[3] == "card_present" and c != "hotel"]
ONLINE = [c for c, v in CATEGORIES.items() if v[3] == "ecommerce"]
# how often a cardholder picks a category among their favourites (the rest weight 1)
LOCAL_WEIGHT = {"grocery": 5, "restaurant": 3, "fast-food": 3, "fuel": 2, "pharmacy": 1.5}
ONLINE_WEIGHT = {"online-retail": 4, "digital": 3, "delivery": 3, "casino": 0.6}


@dataclass
class Merchant:
    merchant_id: str
    category: str
    city: int | None  # None: online
    currency: str | None  # None: charges in the card's currency
    lat: float = 0.0
    lon: float = 0.0
    terminals: tuple[str, ...] = ()

    @property
    def limit(self) -> int:
        return int(self.config()["per_transaction_limit"])

    def config(self) -> dict[str, Any]:
        mcc, median, _, _, high_risk = CATEGORIES[self.category]
        currencies = sorted(USD_PER_UNIT) if self.currency is None else [self.currency]
        # A limit is in major units of whichever allowed currency a sale is in (MerchantConfig),
        # so a multi-currency shop sets it for its weakest currency.
        weakest = min(USD_PER_UNIT[c] for c in currencies)
        limit = max(1, round(median * 60 / weakest))
        return {
            "merchant_id": self.merchant_id,
            "name": f"{self.category} {self.merchant_id}",
            "active": True,
            "allowed_currencies": currencies,
            "per_transaction_limit": limit,
            "daily_limit": limit * 400,
            "mcc": mcc,
            "country": CITIES[self.city][1] if self.city is not None else "US",
            "risk_overrides": (
                # issue 17's targets hold at the default flag score, high-risk merchants too
                {"disabled_rules": [], "flag_score": None, "high_risk": True}
                if high_risk
                else {"disabled_rules": [], "flag_score": None, "high_risk": False}
            ),
        }


@dataclass
class Card:
    token: str
    bin: str
    last4: str
    city: int
    rate: float
    spend: float
    online_share: float
    ip: str
    locals_: list[tuple[Merchant, float]]
    onlines: list[tuple[Merchant, float]]


@dataclass
class Event:
    """One transaction: the queued body (without ids) and its label."""

    at: float  # epoch seconds
    body: dict[str, Any]
    pattern: str  # "legit" or a fraud pattern
    transaction_id: str = ""

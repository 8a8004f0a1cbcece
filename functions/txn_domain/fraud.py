"""Assess a batch of accepted transactions against the compiled rules. Pure.

The caller loads the counter items once per batch; :func:`assess` counts each transaction into
them in arrival order (so a burst inside one batch is seen by its later records) and evaluates
the rules on the resulting features. What was counted stays on the counters (``Counter.added``)
for the caller to write. A transaction whose digest is already in a card or IP item's guard set
(an earlier attempt counted it there) is not counted into that item again.

Velocity time is the validator's ``received_at``, not the client's ``timestamp``: a client cannot
move its transactions out of a window by back-dating them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, TypedDict

from txn_domain.currencies import EXPONENTS
from txn_domain.models import AcceptedTransaction, Decision, MerchantConfig, Status
from txn_domain.pan import mask_card
from txn_domain.profile import PLACE_KM, UNKNOWN_IP_COUNTRY, distance_km, mark, shop_home
from txn_domain.risk import OWN
from txn_domain.rules.engine import RuleSet
from txn_domain.rules.saturation import saturated
from txn_domain.velocity import (
    GUARD_HOURS,
    GUARD_WIDTH,
    PACK,
    Counter,
    bucket_sum,
    card_key,
    guard_digest,
    ip_key,
    merchant_keys,
    risk_key,
    window_buckets,
    window_total,
)

MIN_HISTORY = 3  # sales before a card's own behaviour is a baseline
MIN_MERCHANT_SALES = 5  # sales before a merchant's typical sale is known (ADR 0016)
MIN_AGE_DAYS = 7.0  # a young card's usual rate is taken over at least this long
# sales, none online, after which a card's first sale online makes its IP new (ADR 0021)
ONLINE_HABITS_SALES = 20


class FraudAlert(TypedDict):
    """The message published on the fraud-alerts topic for a flagged transaction."""

    type: Literal["fraud_alert"]
    transaction_id: str
    merchant_id: str
    amount: int
    currency: str
    card: str  # masked: BIN and last four only
    score: int
    matched_rules: list[str]
    rules_version: str | None  # None only for a stored record that lacks it
    timestamp: str


def epoch_seconds(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339).timestamp())


def customer_ip(txn: AcceptedTransaction) -> str | None:
    """The IP whose velocity is counted: the cardholder's, so e-commerce only.

    A card-present transaction's IP is the terminal's or the merchant's gateway: a busy shop
    would reach the IP limits by itself, and its transactions are counted per merchant already.
    The IP is still matched against the blocklist on every channel.
    """
    return txn.ip_address if txn.channel == "ecommerce" else None


def counter_keys(txns: Sequence[AcceptedTransaction]) -> list[str]:
    """Every counter item a batch reads, without repeats, in a stable order."""
    keys: dict[str, None] = {}
    for txn in txns:
        keys[card_key(txn.card_token)] = None
        if ip := customer_ip(txn):
            keys[ip_key(ip)] = None
        for key in merchant_keys(txn.merchant_id):
            keys[key] = None
        keys[risk_key(txn.merchant_id)] = None  # read only: written by fraud reports
    return list(keys)


@dataclass(frozen=True, slots=True)
class Assessment:
    txn: AcceptedTransaction
    decision: Decision


# What the rules' velocity features need, worked out once per rule set: each distinct window
# (dimension, "packed" or "small", seconds) with the buckets it sums, and each feature with the
# window it reads.
Window = tuple[str, str, int]
VelocityPlan = tuple[tuple[tuple[Window, str, int], ...], tuple[tuple[str, Window, str], ...]]


@lru_cache(maxsize=8)
def _velocity_plan(specs: tuple[tuple[str, str, str, int], ...]) -> VelocityPlan:
    windows: dict[Window, tuple[str, int]] = {}
    reads: list[tuple[str, Window, str]] = []
    for name, dim, metric, window_s in specs:
        kind = "small" if metric == "small" else "packed"
        window = (dim, kind, window_s)
        windows[window] = window_buckets(window_s, kind)
        reads.append((name, window, metric))
    return tuple((w, prefix, width) for w, (prefix, width) in windows.items()), tuple(reads)


def _velocity_features(
    rules: RuleSet,
    counters: Mapping[str, tuple[Counter, ...]],
    now: int,
    scale: int,
    raw: dict[tuple[str, str, int], int],
) -> dict[str, Any]:
    """The velocity features; ``raw`` gets each (dimension, metric kind, window) total, so a
    count and a sum over the same buckets are read once."""
    windows, reads = _velocity_plan(rules.velocity_specs)
    for window, prefix, width in windows:
        group = counters.get(window[0])
        if group is not None:
            first = (now - window[2]) // width
            total = 0
            for counter in group:  # 17 windows and shards a sale
                total += bucket_sum(counter.buckets[prefix], first)
            raw[window] = total
    out: dict[str, Any] = {}
    for name, window, metric in reads:
        value = raw.get(window)
        if value is None:
            continue
        if metric == "sum":
            out[name] = value % PACK / scale
        elif metric == "count":
            out[name] = value // PACK
        else:
            out[name] = value
    return out


def features(
    txn: AcceptedTransaction,
    merchant: MerchantConfig | None,
    card: Counter,
    ip: Counter | None,
    merchant_counters: tuple[Counter, ...],
    merchant_shard: Counter,
    rules: RuleSet,
    clock: int | None = None,
    risk: Counter | None = None,
) -> dict[str, Any]:
    """Count ``txn`` into its counters and return the features the rules read.

    ``risk`` is the merchant's confirmed-fraud item (ADR 0013): its own and its terminals' scores.

    ``clock`` (epoch seconds, default: the transaction's ``received_at``) is the processing
    time: a transaction received before the guard horizon is not counted into card or IP items.
    """
    now = epoch_seconds(txn.received_at)
    exponent = EXPONENTS[txn.currency]
    amount_major = txn.amount / 10**exponent
    # Counters, profiles and thresholds are in the reference currency (txn_domain.money).
    rates = rules.rates
    scale = rates.scale
    amount_ref = rates.to_reference_minor(txn.amount, txn.currency)
    amount_reference = amount_ref / scale
    small = amount_reference <= rules.small_amount
    # Where the card was: card-present coordinates only. An IP's location (the contract allows
    # it on a sale online) is too coarse for distances and travel speed; the country rules
    # read the IP's country instead.
    present = txn.channel == "card_present"
    geo = (txn.geo.lat, txn.geo.lon) if txn.geo and present else None

    travel_km = travel_kmh = None
    if geo and card.last:
        lat, lon, then = card.last
        travel_km = distance_km(lat, lon, geo[0], geo[1])
        hours = max(now - then, 1) / 3600
        travel_kmh = travel_km / hours
    history_count = card.history_count
    history_avg = card.history_sum / history_count / scale if history_count else None

    # The card's own behaviour (txn_domain.profile), read before this transaction joins it.
    profile = card.profile
    marks: tuple[str, ...] = (mark("m", txn.merchant_id),)
    if txn.terminal_id is not None:
        marks += (mark("t", f"{txn.merchant_id}/{txn.terminal_id}"),)
    cnp_country = txn.ip_country if txn.channel == "ecommerce" else None
    # A card-present sale without coordinates is placed by its shop's country instead (coarser:
    # a country, not 500 km; such sales never feed the places).
    shop_country = merchant.country if present and geo is None and merchant is not None else None
    ip_mark = None
    if txn.channel == "ecommerce" and txn.ip_address is not None:
        ip_mark = mark("i", txn.ip_address)
        marks += (ip_mark,)
    seasoned = history_count >= MIN_HISTORY
    # each looked up once in the card's known marks (a tuple of up to 40)
    merchant_known = seasoned and marks[0] in profile.known
    # usual (True), met within hours beside the card's own IP (False: ADR 0022), or never used
    ip_standing = profile.ip_standing(ip_mark, now) if seasoned and ip_mark is not None else None
    ip_known = ip_standing is True
    ip_pending = ip_standing is False
    # An IP is new to a card that has used others: a card's first sale online has no usual IP to
    # differ from, unless the card made ONLINE_HABITS_SALES sales before it, none online (going
    # online is then a change in itself; ADR 0021). "Online" is what the profile learned from: a
    # flagged sale online does not count.
    new_ip = (
        seasoned
        and ip_standing is None
        and ip_mark is not None
        and (history_count >= ONLINE_HABITS_SALES or profile.used_online())
    )
    home_km = profile.home_km(geo[0], geo[1], now) if geo and seasoned else None
    age_days = (now - profile.first) / 86400 if profile.first else 0.0
    usual_per_day = history_count / max(age_days, MIN_AGE_DAYS) if seasoned else None

    digest = guard_digest(txn.transaction_id)
    kept = rules.buckets  # the buckets something reads, per kind of item
    if now // GUARD_WIDTH > (now if clock is None else clock) // GUARD_WIDTH - GUARD_HOURS:
        if not card.counted(digest, now):
            country = cnp_country or shop_country
            if country is None and ip_mark is not None:
                country = UNKNOWN_IP_COUNTRY  # used online all the same (Profile.used_online)
            card.add(
                now, amount_ref, small, geo, digest, marks, country, present, ip_mark, kept["card"]
            )
        # not into an IP whose current buckets are past every threshold (rules.saturation)
        if ip is not None and not ip.counted(digest, now) and not saturated(ip, rules.ip_caps, now):
            ip.add(now, amount_ref, small, None, digest, kept=kept["ip"])
    merchant_shard.add(now, amount_ref, small, None, digest, kept=kept["merchant"])

    f: dict[str, Any] = {
        "amount": txn.amount,
        "amount_major": amount_major,
        "amount_reference": amount_reference,
        "currency": txn.currency,
        "is_small": small,
        "card_bin": txn.card_bin,
        "card_token": txn.card_token,
        "card_country": txn.card_country,
        "ip_address": txn.ip_address,
        "ip_country": txn.ip_country,
        "billing_country": txn.billing_country,
        "shipping_country": txn.shipping_country,
        "channel": txn.channel,
        "card_history_count": history_count,
        # days since the card's first sale the profile learned from (not a flagged one; again
        # from 0 after 90 idle days): where a card shops and how often take days to learn
        "card_age_days": age_days,
        "card_history_avg": history_avg,
        "travel_km": travel_km,
        "travel_kmh": travel_kmh,
        # behaviour against the card's own history (None until it has MIN_HISTORY sales)
        "amount_z": profile.amount_z(math.log(amount_ref / scale)) if seasoned else None,
        "amount_vs_usual": amount_reference / math.exp(profile.mean) if seasoned else None,
        "new_merchant": seasoned and not merchant_known,
        "known_merchant": seasoned and merchant_known,
        "new_terminal": seasoned and txn.terminal_id is not None and marks[1] not in profile.known,
        "new_ip": new_ip,
        "known_ip": ip_known,
        # online, not from the card's usual IPs: a new one, a pending one (ADR 0022), or none (a
        # sale that hides its IP is not excused)
        "unfamiliar_ip": new_ip
        or ip_pending
        or (seasoned and txn.channel == "ecommerce" and ip_mark is None),
        "recent_new_places": profile.recent_novelty(now) if seasoned else None,
        # the share of the card's recent visits to shops that were first ones: a card that
        # often tries a new shop is not on a spree when it tries two (ADR 0026)
        "new_place_share": profile.explore if seasoned else None,
        "home_km": home_km,
        # moving fast away from every usual place (not back home after a fraudulent sale)
        "away_kmh": travel_kmh if home_km is not None and home_km >= PLACE_KM else None,
        # near where the card was last flagged in a sale with coordinates, within hours (a cloned
        # card's next sales there)
        "near_flagged_place": seasoned
        and geo is not None
        and profile.near_flagged(geo[0], geo[1], now),
        "new_cnp_country": seasoned
        and cnp_country is not None
        and cnp_country not in profile.countries
        and cnp_country != txn.card_country,
        # card present without coordinates, away from the countries where the card is usually
        # used at such shops (once it has one: like a usual place) and from its issuing
        # country: the far rules' stand-in
        "new_shop_country": seasoned
        and shop_country is not None
        and shop_country != txn.card_country
        and bool(home := shop_home(profile.countries))
        and shop_country not in home,
        # confirmed fraud, decayed (ADR 0013): on this card, this terminal, this merchant
        "card_confirmed_fraud": card.risk.score(OWN, now) if card.risk_text else 0.0,
        "terminal_confirmed_fraud": risk.risk.score(txn.terminal_id, now)
        if risk is not None and risk.risk_text and txn.terminal_id is not None
        else 0.0,
        "merchant_confirmed_fraud": risk.risk.score(OWN, now)
        if risk is not None and risk.risk_text
        else 0.0,
        # where a cardholder is expected to be away from home (the far and spree rules skip it)
        "lodging": merchant is not None and merchant.mcc in rules.lodging_mccs,
    }
    if merchant is not None:
        f["merchant_country"] = merchant.country
        f["mcc"] = merchant.mcc
        f["merchant_high_risk"] = merchant.risk_overrides.high_risk
        f["merchant_txn_limit"] = merchant.per_transaction_limit
        f["merchant_daily_limit"] = merchant.daily_limit
        # the limit is in major units of the transaction's currency (MerchantConfig)
        f["merchant_daily_limit_reference"] = (
            rates.to_reference_minor(merchant.daily_limit * 10**exponent, txn.currency) / scale
        )
    # Above what this merchant usually sells, when it sold enough to say: a big sale at a shop
    # whose every sale is big is not unusual for the card's sake alone. Its last 24 hours, or,
    # at a quiet shop, every sale its shards hold (each lives eight days past its last write,
    # ADR 0016).
    groups: dict[str, tuple[Counter, ...]] = {"card": (card,), "merchant": merchant_counters}
    if ip is not None:
        groups["ip"] = (ip,)
    raw: dict[tuple[str, str, int], int] = {}
    f.update(_velocity_features(rules, groups, now, scale, raw))
    packed = raw.get(("merchant", "packed", 86400))
    if packed is None:
        packed = window_total(merchant_counters, "packed", 86400, now)
    sold, takings = packed // PACK, packed % PACK
    if sold < MIN_MERCHANT_SALES:
        sold = takings = 0
        for shard in merchant_counters:
            sold += shard.history_count
            takings += shard.history_sum
    if sold >= MIN_MERCHANT_SALES:
        f["amount_vs_merchant"] = amount_reference * sold * scale / takings
    else:  # not known: no rule is held back by it
        f["amount_vs_merchant"] = math.inf
    if usual_per_day is not None:
        today = f.get("v.card.count.24h")
        if today is None:
            today = card.window("count", 86400, now)
        f["card_count_24h_vs_usual"] = today / max(usual_per_day, 0.5)
    return f


def assess(
    txns: Sequence[AcceptedTransaction],
    merchants: Mapping[str, MerchantConfig | None],
    counters: dict[str, Counter],
    rules: RuleSet,
    shard: int,
    clock: int | None = None,
) -> list[Assessment]:
    """Decide each transaction; ``counters`` (key -> Counter) gain the batch's contributions.

    ``shard`` picks which of a merchant's counter items this batch writes (spreading a busy
    merchant's writes so concurrent batches rarely conflict); reads cover every shard.
    """
    out: list[Assessment] = []

    def get(key: str) -> Counter:
        counter = counters.get(key)
        if counter is None:
            counter = counters[key] = Counter(key=key)
        return counter

    for txn in sorted(txns, key=lambda t: (t.received_at, t.transaction_id)):
        card = get(card_key(txn.card_token))
        ip_address = customer_ip(txn)
        ip = get(ip_key(ip_address)) if ip_address else None
        shards = tuple(get(k) for k in merchant_keys(txn.merchant_id))
        merchant = merchants.get(txn.merchant_id)
        counted = len(card.added)
        risk = counters.get(risk_key(txn.merchant_id))
        f = features(
            txn, merchant, card, ip, shards, shards[shard % len(shards)], rules, clock, risk
        )
        overrides = merchant.risk_overrides if merchant else None
        decision = rules.evaluate(
            f,
            disabled=overrides.disabled_rules if overrides else frozenset(),
            flag_score=overrides.flag_score if overrides else None,
            scale=rules.merchant_scale(merchant, f["merchant_confirmed_fraud"]),
        )
        if len(card.added) > counted:  # counted into the card now: its profile learns it
            card.learn(decision.status is Status.FLAGGED)
        out.append(Assessment(txn, decision))
    return out


def transaction_record(
    txn: AcceptedTransaction, decision: Decision, processed_at: str, posted_by: str | None = None
) -> dict[str, Any]:
    """The transactions-table item (plain values) for a decided transaction. Card data: token,
    BIN and last four only. ``posted_by``: the id of the API key that posted it (ADR 0024)."""
    record: dict[str, Any] = {
        "transaction_id": txn.transaction_id,
        "timestamp": txn.timestamp,
        "merchant_id": txn.merchant_id,
        "status": decision.status.value,
        "score": decision.score,
        "matched_rules": list(decision.matched_rules),
        "rules_version": decision.rules_version,
        "amount": txn.amount,
        "currency": txn.currency,
        "card_token": txn.card_token,
        "card_bin": txn.card_bin,
        "card_last4": txn.card_last4,
        "channel": txn.channel,
        "received_at": txn.received_at,
        "processed_at": processed_at,
    }
    for name in ("card_country", "ip_address", "ip_country", "external_id", "terminal_id"):
        value = getattr(txn, name)
        if value is not None:
            record[name] = value
    if posted_by is not None:
        record["api_key_id"] = posted_by
    return record


def fraud_alert(txn: AcceptedTransaction, decision: Decision) -> FraudAlert:
    """The SNS alert for a flagged transaction: masked card, no token."""
    return {
        "type": "fraud_alert",
        "transaction_id": txn.transaction_id,
        "merchant_id": txn.merchant_id,
        "amount": txn.amount,
        "currency": txn.currency,
        "card": mask_card(txn.card_bin, txn.card_last4),
        "score": decision.score,
        "matched_rules": list(decision.matched_rules),
        "rules_version": decision.rules_version,
        "timestamp": txn.timestamp,
    }


def alert_from_record(record: Mapping[str, Any]) -> FraudAlert:
    """The alert for a stored FLAGGED record (re-sent when its message is redelivered)."""
    return {
        "type": "fraud_alert",
        "transaction_id": record["transaction_id"],
        "merchant_id": record["merchant_id"],
        "amount": record["amount"],
        "currency": record["currency"],
        "card": mask_card(record.get("card_bin"), record.get("card_last4")),
        "score": record["score"],
        "matched_rules": list(record.get("matched_rules", [])),
        "rules_version": record.get("rules_version"),
        "timestamp": record["timestamp"],
    }

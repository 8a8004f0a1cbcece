"""Compile the rules document into Python, once per container.

A rule's ``condition`` is one of a few kinds, each turned into a Python expression over a
features dict:

- ``compare``: ``{"feature", "op", "value"}``
- ``ratio``: ``{"numerator", "denominator", "op", "value"}`` (``numerator / denominator``)
- ``in_set``: ``{"feature", "values"}`` (blocklists)
- ``differ``: ``{"features": [a, b]}`` (both present and not equal)
- ``truthy``: ``{"feature"}``
- ``all`` / ``any``: ``{"conditions": [...]}``

A feature that is missing or ``None`` makes its condition false: rules that need absent data do
not fire. Velocity features are named ``v.<dimension>.<metric>.<window>`` (``v.card.count.1h``);
the compiled rule set lists the ones it needs so the caller computes only those.

The expressions become one generated function that runs every rule in order (a call per rule
and per condition cost three times as much), plus one predicate per rule. Nothing the document
holds is written into that source: features, values, rule ids and weights are constants bound
by generated names (``RuleSet.source`` shows it); the source has only those names, the six
comparison operators, ``and``/``or``/``in`` and ``is not None``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from txn_domain.models import Decision, MerchantConfig, Status
from txn_domain.money import Rates, RatesError, load_rates
from txn_domain.rules.saturation import Caps, ip_caps
from txn_domain.velocity import WINDOWS, kept_buckets

Features = Mapping[str, Any]
Predicate = Callable[[Features], bool]
# every rule in order: (ids matched, their summed weight, whether a ``flag`` rule matched)
Matcher = Callable[[Features], tuple[list[str], int, bool]]

# The comparisons a condition may use; the source is written with these strings, never with the
# document's (a str subclass equal to ">" could print as anything).
_OPS = {op: op for op in (">", ">=", "<", "<=", "==", "!=")}
ACTIONS = ("flag", "review")
DIMENSIONS = ("card", "merchant", "ip")
METRICS = ("count", "sum", "small")


class RulesDocumentError(ValueError):
    """The rules document is not valid; raised at cold start, never per transaction."""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    description: str
    action: str
    weight: int
    priority: int
    predicate: Predicate

    @property
    def flags(self) -> bool:
        """A ``flag`` rule flags on its own; a ``review`` rule only adds its weight."""
        return self.action == "flag"


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    flag_score: int
    small_amount: float  # in major units of the reference currency
    rules: tuple[CompiledRule, ...]
    match: Matcher  # the generated function evaluating every rule (module docstring)
    # (feature name, dimension, metric, window seconds), parsed once at compile time
    velocity_specs: tuple[tuple[str, str, str, int], ...] = ()
    rates: Rates = field(default_factory=load_rates)
    # Merchant risk scales a sale's score; it never adds to it (a risky merchant's sale is
    # flagged only for what the sale itself shows).
    risk_mccs: frozenset[str] = frozenset()
    risk_scale: float = 1.0
    # Lodging (MCCs from the document's ``lodging_mccs``, ranges allowed): where a cardholder
    # is expected to be away from home; the ``lodging`` feature lets the far and spree rules
    # leave those sales alone.
    lodging_mccs: frozenset[str] = frozenset()
    # Confirmed fraud at the merchant (ADR 0013) scales too: by ``confirmed_step`` per unit of
    # its decayed score, to at most ``confirmed_max``; like the MCC it never flags on its own.
    # The two are one merchant's risk read two ways: the larger applies, they never compound.
    confirmed_step: float = 0.0
    confirmed_max: float = 1.0
    # Past these counts a customer IP is not counted further (txn_domain.rules.saturation);
    # None: the rules read an IP's counts in a way that leaves them uncapped.
    ip_caps: Caps | None = None
    source: str = field(default="", repr=False)  # what ``match`` and the predicates run
    # Per dimension, the kinds of bucket its items count and keep: what the rules' windows and
    # the features read (txn_domain.velocity.kept_buckets), worked out from velocity_specs.
    buckets: Mapping[str, frozenset[str]] = field(init=False, repr=False)
    # (id, weight, flags, predicate) of each rule in order: for a merchant that disables some
    _plan: tuple[tuple[str, int, bool, Predicate], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        plan = tuple((r.id, r.weight, r.flags, r.predicate) for r in self.rules)
        object.__setattr__(self, "_plan", plan)
        object.__setattr__(self, "buckets", kept_buckets(self.velocity_specs))

    def merchant_scale(self, merchant: MerchantConfig | None, confirmed: float = 0.0) -> float:
        """What a sale's score is multiplied by at this merchant: the larger of its configured
        risk (a high-risk MCC, or ``high_risk``) and its recent confirmed fraud, never both."""
        scale = 1.0
        if confirmed > 0.0 and self.confirmed_step:
            scale = min(1.0 + confirmed * self.confirmed_step, self.confirmed_max)
        if merchant is not None and (
            merchant.mcc in self.risk_mccs or merchant.risk_overrides.high_risk
        ):
            scale = max(scale, self.risk_scale)
        return scale

    def evaluate(
        self,
        features: Features,
        disabled: frozenset[str] = frozenset(),
        flag_score: int | None = None,
        scale: float = 1.0,
    ) -> Decision:
        if not disabled:
            matched, score, flag = self.match(features)
        else:  # a merchant's overrides; most merchants disable nothing
            matched, score, flag = [], 0, False
            for rule_id, weight, flags, predicate in self._plan:
                if rule_id not in disabled and predicate(features):
                    matched.append(rule_id)
                    score += weight
                    flag = flag or flags
        if scale != 1.0:
            score = round(score * scale)
        threshold = flag_score or self.flag_score
        status = Status.FLAGGED if flag or score >= threshold else Status.APPROVED
        return Decision(status, score, tuple(matched), self.version)


def _check_feature(name: Any, used: set[str]) -> str:
    if not isinstance(name, str) or not name:
        raise RulesDocumentError(f"feature name must be a non-empty string, got {name!r}")
    if name.startswith("v."):
        parts = name.split(".")
        if (
            len(parts) != 4
            or parts[1] not in DIMENSIONS
            or parts[2] not in METRICS
            or parts[3] not in WINDOWS
        ):
            raise RulesDocumentError(f"bad velocity feature {name!r}")
        used.add(name)
    return name


def _op(cond: Mapping[str, Any]) -> str:
    """The condition's comparison, one of :data:`_OPS` (only then is it written into source)."""
    given = cond.get("op")
    op = _OPS.get(given) if isinstance(given, str) else None
    if op is None:
        raise RulesDocumentError(f"unknown or missing op in {cond!r}")
    return op


class _Source:
    """The constants the generated source names (``_k0``, ``_k1``, ...), then the source."""

    def __init__(self) -> None:
        self.constants: dict[str, Any] = {}

    def name(self, value: Any) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def build(
        self, rules: list[tuple[str, int, bool, str]]
    ) -> tuple[list[Predicate], Matcher, str]:
        """The predicate of each ``(id, weight, flags, expression)`` and the matcher of all."""
        lines = []
        for i, (_, _, _, expression) in enumerate(rules):
            lines += [f"def _p{i}(f):", "    get = f.get", f"    return bool({expression})"]
        lines += ["def _match(f):", "    get = f.get", "    matched = []", "    score = 0"]
        lines.append("    flag = False")
        for rule_id, weight, flags, expression in rules:
            lines += [f"    if {expression}:", f"        matched.append({self.name(rule_id)})"]
            lines.append(f"        score += {self.name(weight)}")
            if flags:
                lines.append("        flag = True")
        lines.append("    return matched, score, flag")
        source = "\n".join(lines) + "\n"
        namespace = dict(self.constants)
        exec(compile(source, "<rules>", "exec"), namespace)  # noqa: S102 (module docstring)
        return [namespace[f"_p{i}"] for i in range(len(rules))], namespace["_match"], source


def _compile(cond: Mapping[str, Any], used: set[str], source: _Source) -> str:
    """``cond`` as one Python expression over ``get`` (the features' ``get``)."""
    kind = cond.get("kind")
    if kind == "compare":
        feature = source.name(_check_feature(cond["feature"], used))
        op, value = _op(cond), source.name(cond["value"])
        return f"((x := get({feature})) is not None and x {op} {value})"
    if kind == "ratio":
        num = source.name(_check_feature(cond["numerator"], used))
        den = source.name(_check_feature(cond["denominator"], used))
        op, value = _op(cond), source.name(cond["value"])
        return f"((x := get({num})) is not None and (y := get({den})) and x / y {op} {value})"
    if kind == "in_set":
        feature = source.name(_check_feature(cond["feature"], used))
        return f"(get({feature}) in {source.name(frozenset(cond['values']))})"
    if kind == "differ":
        a, b = (source.name(_check_feature(name, used)) for name in cond["features"])
        return f"((x := get({a})) is not None and (y := get({b})) is not None and x != y)"
    if kind == "truthy":
        return f"get({source.name(_check_feature(cond['feature'], used))})"
    if kind in ("all", "any"):
        parts = [_compile(c, used, source) for c in cond["conditions"]]
        if not parts:
            raise RulesDocumentError(f"{kind} needs conditions")
        return "(" + (" and " if kind == "all" else " or ").join(parts) + ")"
    raise RulesDocumentError(f"unknown condition kind {kind!r}")


def _mccs(codes: Any) -> frozenset[str]:
    """Four-digit MCCs, each either a code (``"7011"``) or an inclusive range (``"3501-3999"``)."""
    out: set[str] = set()
    for code in codes:
        first, dash, last = str(code).partition("-")
        last = last if dash else first
        if not all(len(x) == 4 and x.isdigit() for x in (first, last)) or first > last:
            raise RulesDocumentError(f"bad MCC or MCC range {code!r}")
        out.update(f"{n:04d}" for n in range(int(first), int(last) + 1))
    return frozenset(out)


def compile_rules(document: Mapping[str, Any]) -> RuleSet:
    """Check and compile a rules document; errors name the offending rule. Whatever is not a
    rules document (a missing section, a value of the wrong type) is a RulesDocumentError too."""
    try:
        return _compile_document(document)
    except RulesDocumentError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as exc:
        raise RulesDocumentError(f"not a rules document ({type(exc).__name__}: {exc})") from exc


def _compile_document(document: Mapping[str, Any]) -> RuleSet:
    used: set[str] = set()
    source = _Source()
    # (priority, id, the rule as given, weight, its condition as an expression)
    parsed: list[tuple[int, str, dict[str, Any], int, str]] = []
    seen: set[str] = set()
    for raw in document["rules"]:
        rule_id = raw.get("id")
        if not rule_id or rule_id in seen:
            raise RulesDocumentError(f"missing or duplicate rule id {rule_id!r}")
        seen.add(rule_id)
        if raw.get("action") not in ACTIONS:
            raise RulesDocumentError(f"{rule_id}: action must be one of {ACTIONS}")
        try:
            expression = _compile(raw["condition"], used, source)
        except (KeyError, TypeError, AttributeError) as exc:
            raise RulesDocumentError(f"{rule_id}: incomplete condition ({exc})") from None
        except RecursionError:
            raise RulesDocumentError(f"{rule_id}: conditions nested too deeply") from None
        except RulesDocumentError as exc:
            raise RulesDocumentError(f"{rule_id}: {exc}") from None
        weight = int(raw.get("weight", 0))
        parsed.append((int(raw.get("priority", 100)), rule_id, raw, weight, expression))
    parsed.sort(key=lambda p: (p[0], p[1]))
    try:
        predicates, match, text = source.build(
            [(i, w, r["action"] == "flag", e) for _, i, r, w, e in parsed]
        )
    except (SyntaxError, RecursionError, MemoryError) as exc:  # Python's parser has limits
        raise RulesDocumentError(f"conditions nested too deeply to compile ({exc})") from None
    compiled = [
        CompiledRule(
            id=rule_id,
            description=raw.get("description", ""),
            action=raw["action"],
            weight=weight,
            priority=priority,
            predicate=predicate,
        )
        for (priority, rule_id, raw, weight, _), predicate in zip(parsed, predicates, strict=True)
    ]
    try:
        rates = load_rates(document.get("rates"))
    except RatesError as exc:
        raise RulesDocumentError(f"rates: {exc}") from None
    risk = document.get("merchant_risk", {})
    if document.get("reference_currency", rates.reference) != rates.reference:
        raise RulesDocumentError(f"reference_currency must be {rates.reference}")
    # merchant risk only ever raises a score, so the larger reading is the riskier one
    for key in ("scale", "confirmed_fraud_max_scale"):
        if not 1.0 <= float(risk.get(key, 1.0)) < math.inf:
            raise RulesDocumentError(f"merchant_risk.{key} must be 1 or more, and finite")
    if not 0.0 <= float(risk.get("confirmed_fraud_step", 0.0)) < math.inf:
        raise RulesDocumentError("merchant_risk.confirmed_fraud_step must be 0 or more, and finite")
    if not math.isfinite(float(document["small_amount"])):
        raise RulesDocumentError("small_amount must be finite")
    return RuleSet(
        version=str(document["version"]),
        flag_score=int(document["flag_score"]),
        small_amount=float(document["small_amount"]),
        rules=tuple(compiled),
        match=match,
        source=text,
        velocity_specs=tuple(
            (name, name.split(".")[1], name.split(".")[2], WINDOWS[name.split(".")[3]])
            for name in sorted(used)
        ),
        rates=rates,
        risk_mccs=frozenset(risk.get("mccs", ())),
        lodging_mccs=_mccs(document.get("lodging_mccs", ())),
        risk_scale=float(risk.get("scale", 1.0)),
        confirmed_step=float(risk.get("confirmed_fraud_step", 0.0)),
        confirmed_max=float(risk.get("confirmed_fraud_max_scale", 1.0)),
        ip_caps=ip_caps([raw["condition"] for raw in document["rules"]]),
    )


DEFAULT_DOCUMENT = Path(__file__).with_name("document.json")


def load_default_rules() -> RuleSet:
    return compile_rules(json.loads(DEFAULT_DOCUMENT.read_text(encoding="utf-8")))

"""Two reports of the same traffic side by side: what a rules change gains and costs.

``./noxw -s fraud-eval -- --compare BEFORE.json AFTER.json`` after two replays of one traffic
(the same seed and shape, or the same file) with two rules documents (``--rules``). Recall per
label and the false-positive figures with their change, then the merchants whose false
positives moved most and the rules whose matches on legitimate sales or on fraud changed.
Reports of different traffic are refused: their figures do not compare.
"""

from __future__ import annotations

from typing import Any

from txn_perf.fraud_eval.report import AFTER_FEEDBACK, IN_FLAGGED

MOVED_MERCHANTS = 10  # the merchants listed whose false positives changed most


class CompareError(ValueError):
    """The two reports cannot be compared."""


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _points(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None or a == b else f"{100 * (b - a):+.2f} pt"


def _count(a: int, b: int) -> str:
    return "" if a == b else f"{b - a:+d}"


def _row(name: str, before: str, after: str, change: str) -> str:
    return f"{name:<36}{before:>22}{after:>22}{change:>14}"


def _hits(counts: dict[str, int]) -> tuple[int, int]:
    """A rule's matches on legitimate sales and on fraud (any label)."""
    fraud = sum(n for k, n in counts.items() if k not in ("legit", IN_FLAGGED))
    return counts.get("legit", 0), fraud


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The printable comparison; :class:`CompareError` for reports of different traffic."""
    same = ("source", "seed", "params", "transactions", "fraud_transactions")
    for key in same:
        if key not in before or key not in after:
            raise CompareError(f"a report without {key!r}: made before --compare existed?")
    differ = [k for k in same if before[k] != after[k]]
    if differ:
        raise CompareError(f"the reports are of different traffic (their {', '.join(differ)})")
    lines = [
        f"{before['source']}: {before['transactions']} transactions, "
        f"{before['fraud_transactions']} fraud",
        "",
        _row(
            "",
            f"rules {before.get('rules_version', '?')}",
            f"rules {after.get('rules_version', '?')}",
            "change",
        ),
    ]
    labels = [*before["recall"], *(k for k in after["recall"] if k not in before["recall"])]
    for label in labels:
        a = before["recall"].get(label, {}).get("recall")
        b = after["recall"].get(label, {}).get("recall")
        name = "recall, terminal after feedback" if label == AFTER_FEEDBACK else f"recall, {label}"
        lines.append(_row(name, _pct(a), _pct(b), _points(a, b)))
    for name, key in (
        ("recall, all fraud", "recall_all_fraud"),
        ("precision", "precision"),
        ("false-positive rate", "fpr"),
    ):
        a, b = before[key], after[key]
        lines.append(_row(name, _pct(a), _pct(b), _points(a, b)))
    over = (before["merchants_over_target"], after["merchants_over_target"])
    lines.append(_row("merchants over 3%", str(over[0]), str(over[1]), _count(*over)))
    bc_a = len(before["merchants_over_target_beyond_chance"])
    bc_b = len(after["merchants_over_target_beyond_chance"])
    lines.append(_row("  of them beyond chance", str(bc_a), str(bc_b), _count(bc_a, bc_b)))
    # a report from before the figure existed shows "-"
    chance = [r.get("merchants_over_target_by_chance") for r in (before, after)]
    lines.append(
        _row("  as many by chance alone", *("-" if c is None else f"{c:.1f}" for c in chance), "")
    )
    worst = [r["fpr_worst_merchant"] for r in (before, after)]
    lines.append(
        _row(
            "worst merchant",
            *(f"{_pct(w.get('fpr'))} {w['merchant']}" if w.get("merchant") else "-" for w in worst),
            _points(worst[0].get("fpr"), worst[1].get("fpr")),
        )
    )
    risky = (before["fpr_high_risk_merchants_max"], after["fpr_high_risk_merchants_max"])
    lines.append(_row("worst high-risk merchant", _pct(risky[0]), _pct(risky[1]), _points(*risky)))

    fp_a, fp_b = (
        {m: v["false_positives"] for m, v in r["per_merchant"].items()} for r in (before, after)
    )
    moved = sorted(
        (m for m in fp_a.keys() | fp_b.keys() if fp_a.get(m, 0) != fp_b.get(m, 0)),
        key=lambda m: (-abs(fp_b.get(m, 0) - fp_a.get(m, 0)), m),
    )
    if moved:
        lines += ["", "false positives by merchant (most moved)"]
        for m in moved[:MOVED_MERCHANTS]:
            legit = (after["per_merchant"].get(m) or before["per_merchant"][m])["legit"]
            a, b = fp_a.get(m, 0), fp_b.get(m, 0)
            lines.append(_row(f"  {m} ({legit} legit)", str(a), str(b), _count(a, b)))
        if len(moved) > MOVED_MERCHANTS:
            lines.append(f"  ... and {len(moved) - MOVED_MERCHANTS} more merchants")

    rules = sorted(before["rules"].keys() | after["rules"].keys())
    changed = []
    for rule in rules:
        a = _hits(before["rules"].get(rule, {}))
        b = _hits(after["rules"].get(rule, {}))
        if a != b:
            change = f"{b[0] - a[0]:+d} / {b[1] - a[1]:+d}"
            changed.append(_row(f"  {rule}", f"{a[0]} / {a[1]}", f"{b[0]} / {b[1]}", change))
    if changed:
        lines += ["", "rule matches that changed, legitimate / fraud", *changed]
    return "\n".join(lines)

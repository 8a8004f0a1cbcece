"""``./noxw -s fraud-eval``: labelled traffic through the real fraud detector, and what it caught.

    python -m txn_perf.fraud_eval [--seed 1] [--cards 3000] [--days 35] [--alt]
                                  [--without geo|ip ...] [--fraud-from DAY]
                                  [--rate-median N] [--online-share LOW HIGH] [--out DIR]
                                  [--save-traffic]
    python -m txn_perf.fraud_eval --handbook [--seed 1] [--cards 2000] [--days 60] [--out DIR]
    python -m txn_perf.fraud_eval --traffic FILE [--out DIR]
    ... [--rules FILE]: either, judged by that rules document instead of the shipped one
    python -m txn_perf.fraud_eval --compare BEFORE.json AFTER.json

Shows on stderr how far each replay is (every tenth), then prints recall per pattern, false
positives and precision overall and per merchant, the rules that fired and issue 17's targets;
writes ``report-<seed>.json`` and ``scores-<seed>.png`` in ``--out`` (default
``bench-results/fraud_eval``). ``--alt`` uses the differently-shaped population
(:data:`txn_perf.fraud_eval.generator.ALT`); ``--without geo`` (or ``ip``) leaves that optional
field out of every transaction, to see how the rules do on traffic that does not carry it;
``--fraud-from`` moves the day stolen and copied cards are first used (default 7);
``--rate-median`` (purchases a day, default 1.1) and ``--online-share`` (each cardholder's share
of purchases online is drawn between LOW and HIGH, default 0.15 0.5) reshape the cardholders, as
docs/fraud-eval.md and ADR 0021 measured cards used less often and cardholders who shop in person.
``--handbook`` generates the public reference simulator's shape instead
(:mod:`txn_perf.fraud_eval.handbook`: ``--cards`` customers, twice as many terminals).
``--save-traffic`` also writes each run's traffic as a file (``traffic-<seed>.jsonl``);
``--traffic FILE`` replays such a file, or a risk team's own labelled history in that format
(:mod:`txn_perf.fraud_eval.traffic_file`), instead of generating: its faults are refused with
the line, a code and a message (exit status 2). ``--compare`` prints two reports of the same
traffic side by side (:mod:`txn_perf.fraud_eval.compare`): what a rules change gains and costs.
Exit 0 whatever the figures: this is a measurement; the tests hold the targets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from txn_domain.rules import RuleSet, compile_rules
from txn_perf.bench import RESULTS
from txn_perf.fraud_eval import compare, evaluate, evaluate_traffic, handbook, traffic_file
from txn_perf.fraud_eval.generator import ALT, Params, sized


def _printer() -> Callable[[int, int], None]:
    """Prints on stderr how far the replay is, with the seconds since it was made."""
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(
            f"  replayed {done:,} of {total:,} transactions "
            f"({100 * done / total:.0f}%, {time.monotonic() - started:.0f} s)",
            file=sys.stderr,
        )

    return progress


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m txn_perf.fraud_eval", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--seed", type=int, action="append", help="repeatable (default 1)")
    parser.add_argument("--cards", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--alt", action="store_true", help="the differently-shaped population")
    parser.add_argument(
        "--handbook",
        action="store_true",
        help="the public reference simulator's shape (Le Borgne et al.; docs/fraud-eval.md)",
    )
    parser.add_argument(
        "--without",
        choices=("geo", "ip"),
        action="append",
        default=[],
        help="leave this optional field out of the traffic (repeatable)",
    )
    parser.add_argument(
        "--fraud-from", type=float, default=None, help="day stolen cards are first used (7)"
    )
    parser.add_argument(
        "--rate-median", type=float, default=None, help="purchases per card per day (1.1)"
    )
    parser.add_argument(
        "--online-share",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=None,
        help="range of each cardholder's share of purchases online (0.15 0.5)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "fraud_eval")
    parser.add_argument(
        "--traffic",
        type=Path,
        default=None,
        metavar="FILE",
        help="replay this labelled traffic file instead of generating (docs/fraud-eval.md)",
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=None,
        metavar="FILE",
        help="judge by this rules document instead of the shipped one (to compare two)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        nargs=2,
        default=None,
        metavar=("BEFORE", "AFTER"),
        help="print two reports of the same traffic side by side, and replay nothing",
    )
    parser.add_argument(
        "--save-traffic",
        action="store_true",
        help="also write each generated run as a traffic file in --out",
    )
    args = parser.parse_args(argv)
    if args.compare is not None:
        given = _given(args, (*SHAPING, "traffic", "rules"))
        if given:
            parser.error(f"--compare replays nothing; these do not apply: {', '.join(given)}")
        return _compare(parser, *args.compare)
    rules = None if args.rules is None else _rules(parser, args.rules)
    if args.traffic is not None:
        return _replay_file(parser, args, rules)
    if args.cards is not None and args.cards < 1:
        parser.error("--cards needs at least 1 card")
    if args.days is not None and args.days < 1:
        parser.error("--days needs at least 1 day")
    if args.handbook:
        return _handbook(parser, args, rules)
    if args.fraud_from is not None and args.fraud_from < 0:
        parser.error("--fraud-from needs a day from 0 on")
    params = replace(
        sized(ALT if args.alt else Params(), args.cards, args.days), without=frozenset(args.without)
    )
    if args.fraud_from is not None:
        params = replace(params, fraud_from_day=args.fraud_from)
    if args.rate_median is not None:
        if not args.rate_median > 0:
            parser.error("--rate-median needs a number of purchases a day above 0")
        params = replace(params, rate_median=args.rate_median)
    if args.online_share is not None:
        low, high = args.online_share
        if not 0 <= low <= high <= 1:
            parser.error("--online-share needs 0 <= LOW <= HIGH <= 1")
        params = replace(params, online_share=(low, high))
    parts = ["alt"] if args.alt else []
    parts += [f"without-{w}" for w in sorted(set(args.without))]
    if args.fraud_from is not None:
        parts.append(f"fraud-from-{args.fraud_from:g}")
    if args.rate_median is not None:
        parts.append(f"rate-{args.rate_median:g}")
    if args.online_share is not None:
        parts.append("online-{:g}-{:g}".format(*args.online_share))
    name = "-".join(parts)
    for seed in args.seed or [1]:
        print(f"generating and replaying seed {seed} ...", file=sys.stderr)
        report, text, png = evaluate(
            params,
            seed,
            args.out,
            name=name,
            progress=_printer(),
            save_traffic=args.save_traffic,
            rules=rules,
        )
        _show(report, text, png, saved=args.save_traffic)
    return 0


# the options that shape generated traffic (argparse's names)
SHAPING = (
    "seed",
    "cards",
    "days",
    "alt",
    "handbook",
    "without",
    "fraud_from",
    "rate_median",
    "online_share",
    "save_traffic",
)


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    """The options among ``names`` given on the command line (set, and not empty or false)."""
    return [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) not in (None, False, [])]


def _show(report: dict[str, Any], text: str, png: Path | None, saved: bool = False) -> None:
    """The table, the files written (``saved``: the traffic file too) and which targets met."""
    print(text)
    if png is not None:
        stem = png.name.removeprefix("scores-").removesuffix(".png")
        written = [png, png.with_name(f"report-{stem}.json")]
        if saved:
            written.append(png.with_name(f"traffic-{stem}.jsonl"))
        print(f"\nwrote {', '.join(str(p) for p in written)}")
    print(json.dumps({k: v["met"] for k, v in report["targets"].items()}))


def _compare(parser: argparse.ArgumentParser, before: Path, after: Path) -> int:
    """``--compare BEFORE AFTER``: two reports side by side."""
    reports = []
    for path in (before, after):
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except OSError as exc:
            parser.error(f"--compare: {exc.strerror}: {path}")
        except (ValueError, RecursionError) as exc:
            parser.error(f"--compare {path}: not a report ({exc})")
    try:
        print(compare.compare(*reports))
    except compare.CompareError as exc:
        parser.error(f"--compare: {exc}")
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        parser.error(f"--compare: not a report of this version ({type(exc).__name__}: {exc})")
    return 0


def _handbook(
    parser: argparse.ArgumentParser, args: argparse.Namespace, rules: RuleSet | None
) -> int:
    """``--handbook``: the reference simulator's traffic (its own shape: the project's shaping
    options other than the size do not apply)."""
    given = _given(args, ("alt", "without", "fraud_from", "rate_median", "online_share"))
    if given:
        parser.error(f"--handbook has its own shape; these do not apply: {', '.join(given)}")
    sizes = {}
    if args.cards is not None:
        sizes = {"customers": args.cards, "terminals": 2 * args.cards}
    params = replace(handbook.HandbookParams(), **sizes, days=args.days or 60)
    for seed in args.seed or [1]:
        print(f"generating and replaying handbook seed {seed} ...", file=sys.stderr)
        traffic = handbook.generate(params, seed)
        report, text, png = evaluate_traffic(
            traffic, args.out, f"handbook-{seed}", _printer(), rules, args.save_traffic
        )
        _show(report, text, png, saved=args.save_traffic)
    return 0


def _rules(parser: argparse.ArgumentParser, path: Path) -> RuleSet:
    """``--rules FILE``: the document compiled as the fraud detector compiles it at cold start."""
    try:
        return compile_rules(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        parser.error(f"--rules: {exc.strerror}: {path}")
    except (ValueError, RecursionError) as exc:  # not JSON, or RulesDocumentError
        parser.error(f"--rules {path}: {exc}")


def _replay_file(
    parser: argparse.ArgumentParser, args: argparse.Namespace, rules: RuleSet | None
) -> int:
    """``--traffic FILE``: the file's traffic instead of a generated one."""
    given = _given(args, SHAPING)
    if given:
        parser.error(f"--traffic replays a file; for generated traffic only: {', '.join(given)}")
    path: Path = args.traffic
    print(f"reading {path} ...", file=sys.stderr)
    try:
        traffic = traffic_file.read(path)
    except OSError as exc:
        parser.error(f"--traffic: {exc.strerror}: {path}")
    except traffic_file.TrafficFileError as exc:
        print(f"{path}:{exc.line}: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    print(f"replaying {len(traffic.events):,} transactions ...", file=sys.stderr)
    report, text, png = evaluate_traffic(traffic, args.out, path.stem, _printer(), rules)
    _show(report, text, png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The fraud evaluation (issue 17) at a small size: the generator is seeded and labelled, the
in-memory AWS keeps DynamoDB's statement semantics, and the report has every figure, holding the
targets the default rules meet at this size (the full run is ``./noxw -s fraud-eval``)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from txn_domain.pan import contains_pan
from txn_domain.rules import load_default_rules
from txn_domain.velocity import GRANULARITIES, MERCHANT_TTL, PACK, b36
from txn_perf.fraud_eval import evaluate, generator, replay, report
from txn_perf.fraud_eval.memdb import MemoryAws, attribute_size

SMALL = generator.sized(generator.Params(), cards=250, days=21)
SMALL_ALT = generator.sized(generator.ALT, cards=250, days=21)  # the differently-shaped one
# The targets the default rules meet on the small runs (none before issue 17's rules; the
# compromised terminal since confirmed-fraud feedback, ADR 0013; ALT's far from home since
# ADR 0015; the worst merchant's false positives are not met: docs/fraud-eval.md).
MET = frozenset(
    {
        "large_amount",
        "stolen_card_spree",
        "compromised_far",
        "compromised_terminal_after_feedback",
        "fpr_overall",
    }
)


# The same population with no card-present coordinates (the contract's geo is optional): the
# spree and terminal rules count shop visits, and the far rules read the shop's country
# (ADR 0019). Far from home is not met without coordinates: docs/fraud-eval.md.
MET_WITHOUT_GEO = MET - {"compromised_far"}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("fraud_eval")
    built, text, png = evaluate(SMALL, seed=7, out=out)
    return built, text, png


def test_given_a_seed_then_the_traffic_is_the_same_and_labelled():
    a = generator.generate(generator.sized(SMALL, cards=60, days=10), seed=3)
    b = generator.generate(generator.sized(SMALL, cards=60, days=10), seed=3)
    assert [(e.at, e.body, e.pattern) for e in a.events] == [
        (e.at, e.body, e.pattern) for e in b.events
    ]
    assert {e.pattern for e in a.events} == {"legit", *report.PATTERNS}
    assert all(a.events[i].at <= a.events[i + 1].at for i in range(len(a.events) - 1))
    # feedback: one confirmation per fraud transaction, days after it
    fraud = {e.transaction_id: e.at for e in a.events if e.pattern != "legit"}
    assert len(a.feedback) == len(fraud)
    assert all(at - fraud[txn] >= 86_400 for at, txn, _ in a.feedback)


def test_the_traffic_holds_tokens_never_card_numbers():
    traffic = generator.generate(generator.sized(SMALL, cards=60, days=10), seed=4)
    assert not any(contains_pan(json.dumps(e.body)) for e in traffic.events)


def test_memory_aws_has_dynamodb_statement_semantics():
    aws = MemoryAws()
    insert = {
        "Statement": "INSERT INTO \"velocity\" VALUE {'pk': ?, 'sk': ?, 'n': ?}",
        "Parameters": [{"S": "card#t"}, {"S": "v"}, {"N": "1"}],
    }
    assert aws.batch_execute_statement([insert]) == {"Responses": [{}]}
    again = aws.batch_execute_statement([insert])["Responses"][0]
    assert again["Error"]["Code"] == "DuplicateItem"
    update = {
        "Statement": 'UPDATE "velocity" SET "n" = "n" + ? SET "g" = set_add("g", ?) '
        'WHERE "pk" = ? AND "sk" = ? AND "m" IS MISSING',
        "Parameters": [{"N": "2"}, {"SS": ["x"]}, {"S": "card#t"}, {"S": "v"}],
    }
    assert aws.batch_execute_statement([update]) == {"Responses": [{}]}
    item = aws.tables["velocity"][("card#t", "v")]
    assert item["n"] == {"N": "3"}
    assert item["g"] == {"SS": ["x"]}
    missing = {**update, "Parameters": [{"N": "2"}, {"SS": ["x"]}, {"S": "card#u"}, {"S": "v"}]}
    failed = aws.batch_execute_statement([missing])["Responses"][0]
    assert failed["Error"] == {"Code": "ConditionalCheckFailed"}


def test_memory_aws_sizes_items_as_dynamodb_does():
    aws = MemoryAws()
    aws.tables["velocity"][("card#t", "v")] = {
        "pk": {"S": "card#t"},  # 2 + 6
        "sk": {"S": "v"},  # 2 + 1
        "a1x": {"N": "1000000000000000250"},  # 3 + 18 significant digits: 9 + 1
        "lat": {"N": "-40.7100"},  # 3 + "4071": 2 + 1
        "g1": {"SS": ["abcdefgh", "ijklmnop"]},  # 2 + 16
    }
    assert aws.item_sizes() == [8 + 3 + 13 + 6 + 18]


@pytest.mark.parametrize(
    ("number", "size"),
    [("0", 1), ("0.05", 2), ("-0.5", 2), ("1000", 2), ("123", 3), ("12345678901234567890123", 13)],
)
def test_a_number_is_a_byte_per_two_significant_digits_plus_one(number, size):
    assert attribute_size("", {"N": number}) == size


@pytest.mark.parametrize(("merchant_id", "low"), [("m_1001", 700), ("m" * 64, 760)])
def test_a_busy_merchant_shard_is_one_write_unit(merchant_id, low):
    """A 1,000 TPS merchant's shard (250 TPS) with every bucket the default rules keep full, 5%
    small sales and non-round sums, sized by DynamoDB's rule: under 1 KB, for the fixtures'
    merchant ids and for the longest the contract allows (docs/capacity.md)."""
    now, tps = 1_796_040_000, 250
    item = {
        "pk": {"S": f"merchant#{merchant_id}#0"},
        "sk": {"S": "v"},
        "expires_at": {"N": str(now + MERCHANT_TTL)},
        "hn": {"N": str(tps * 8 * 86400)},
        "hs": {"N": str(tps * 8 * 86400 * 5123 + 7)},
    }
    kept = load_default_rules().buckets["merchant"]
    for prefix, (width, count) in GRANULARITIES.items():
        for age in range(count if prefix in kept else 0):
            n = tps * width
            value = n // 20 if prefix == "k" else n * PACK + n * 5123 + 7
            item[prefix + b36(now // width - age)] = {"N": str(value)}
    size = sum(attribute_size(name, value) for name, value in item.items())
    assert low < size < 1024


def test_the_report_has_every_figure(small):
    built, text, png = small
    assert built["transactions"] > 3000
    assert 0.04 < built["fraud_share"] < 0.12
    for pattern in (*report.PATTERNS, "compromised_terminal_after_feedback"):
        r = built["recall"][pattern]
        assert r["transactions"] > 0, pattern
        assert 0 <= r["recall"] <= 1
    assert 0 <= built["fpr"] <= 1
    assert built["precision"] is None or 0 <= built["precision"] <= 1
    assert built["fpr_worst_merchant"]["merchant"] in built["per_merchant"]
    for m in built["per_merchant"].values():  # the count --compare reads, and the rate
        assert m["false_positives"] == round((m["fpr"] or 0.0) * m["legit"])
    assert sum(m["false_positives"] for m in built["per_merchant"].values()) > 0
    over = built["merchants_over_target_beyond_chance"]
    assert len(over) <= built["merchants_over_target"] <= built["merchants_measured"]
    assert all(built["per_merchant"][m]["fpr"] > report.FPR_TARGET for m in over)
    assert 0 <= built["merchants_over_target_by_chance"] <= built["merchants_measured"]
    assert "by chance at the overall rate" in text
    assert built["rules"], "some rule fired"
    assert set(built["targets"]) == {*report.RECALL_TARGETS, "fpr_overall", "fpr_worst_merchant"}
    assert built["replay"]["dynamodb_calls_per_transaction"] > 0
    # every confirmation reached the fraud detector's report path (ADR 0013)
    assert built["replay"]["feedback_delivered"] > 0
    assert "terminal-confirmed-fraud" in built["rules"]
    after = built["after_launch_week"]
    assert len(after["beyond_chance"]) <= after["over"] <= after["measured"]
    assert after["measured"] <= built["merchants_measured"]  # fewer sales a merchant
    assert 0 <= after["fpr"] <= 1
    assert "recall" in text
    assert "false-positive rate" in text
    assert "after the launch week" in text
    assert png is not None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_after_the_launch_week_counts_only_sales_from_the_day_fraud_starts():
    # 60 honest sales at one shop a day apart, days 0-59; those before day 7 are all flagged
    start = generator.START.timestamp()
    scored = [
        replay.Scored(f"t{d}", start + d * report.DAY, "legit", "m1", None, d < 7, 0, ())
        for d in range(60)
    ]
    shop = {"merchant_id": "m1", "mcc": "5411", "risk_overrides": {"high_risk": False}}
    traffic = generator.Traffic(generator.Params(), 0, [shop], [], [], {})
    built = report.build(traffic, replay.Replay(scored, 0.0, {}, 0, 0))
    assert built["fpr"] == 7 / 60
    after = built["after_launch_week"]
    assert (after["fpr"], after["measured"], after["over"]) == (0.0, 1, 0)
    assert built["merchants_over_target"] == 1


def test_the_default_rules_meet_the_targets_they_met(small):
    built, _, _ = small
    met = {name for name, t in built["targets"].items() if t["met"]}
    assert met >= MET, {n: built["targets"][n] for n in MET - met}


def test_the_default_rules_meet_the_same_targets_on_the_differently_shaped_traffic(tmp_path):
    # far from home was 76.6% here before a flag stuck to its place (ADR 0015); large amounts
    # are exactly at the target since rules .13 (160 of 200: no margin left, ADR 0018)
    built, _, _ = evaluate(SMALL_ALT, seed=7, out=tmp_path)
    met = {name for name, t in built["targets"].items() if t["met"]}
    assert met >= MET, {n: built["targets"][n] for n in MET - met}


def test_without_coordinates_the_traffic_is_the_same_and_the_rules_still_meet_their_targets(
    tmp_path,
):
    # GIVEN the small population with every card-present sale's coordinates left out
    without = replace(SMALL, without=frozenset({"geo"}))
    plain = generator.generate(generator.sized(SMALL, cards=60, days=10), seed=3)
    stripped = generator.generate(generator.sized(without, cards=60, days=10), seed=3)
    assert [e.body for e in plain.events if "geo" in e.body]  # the default traffic has them
    assert [{k: v for k, v in e.body.items() if k != "geo"} for e in plain.events] == [
        e.body for e in stripped.events
    ]
    # WHEN it is replayed; THEN the spree and terminal targets still hold (they counted shop
    # visits only when coordinates came: 4% and 10% at full size before ADR 0019)
    built, _, _ = evaluate(without, seed=7, out=tmp_path, name="without-geo")
    met = {name for name, t in built["targets"].items() if t["met"]}
    assert met >= MET_WITHOUT_GEO, {n: built["targets"][n] for n in MET_WITHOUT_GEO - met}
    assert built["params"]["without"] == ["geo"]


def test_the_command_names_each_runs_files_after_its_options(tmp_path, capsys):
    from txn_perf.fraud_eval.__main__ import main

    tiny = ["--cards", "40", "--days", "8", "--out", str(tmp_path)]
    assert main(["--seed", "3", *tiny]) == 0
    assert main(["--seed", "3", "--alt", "--without", "geo", "--fraud-from", "1", *tiny]) == 0
    assert sorted(p.name for p in tmp_path.glob("report-*.json")) == [
        "report-3.json",
        "report-alt-without-geo-fraud-from-1-3.json",
    ]
    shaped = json.loads((tmp_path / "report-alt-without-geo-fraud-from-1-3.json").read_text())
    assert (shaped["params"]["without"], shaped["params"]["fraud_from_day"]) == (["geo"], 1.0)
    assert "recall" in capsys.readouterr().out


def test_the_command_reshapes_the_cardholders_and_refuses_shapes_out_of_range(tmp_path, capsys):
    from txn_perf.fraud_eval.__main__ import main

    tiny = ["--cards", "40", "--days", "8", "--out", str(tmp_path)]
    assert main(["--seed", "3", "--rate-median", "0.4", "--online-share", "0", "0.05", *tiny]) == 0
    (report,) = tmp_path.glob("report-*.json")
    assert report.name == "report-rate-0.4-online-0-0.05-3.json"
    shaped = json.loads(report.read_text())
    assert (shaped["params"]["rate_median"], shaped["params"]["online_share"]) == (0.4, [0, 0.05])
    with pytest.raises(SystemExit) as refused:
        main(["--online-share", "0.5", "0.1", *tiny])
    assert refused.value.code == 2
    assert "--online-share needs 0 <= LOW <= HIGH <= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main(["--rate-median", "0", *tiny])
    assert refused.value.code == 2
    assert "--rate-median needs a number of purchases a day above 0" in capsys.readouterr().err


def test_a_run_too_short_for_a_pattern_gets_none_of_it_instead_of_never_ending():
    # one card for one day: no stolen card is used before day 7, no terminal abused before day 3
    # (this generation looped forever before it gave up on a pattern that made nothing)
    done: list[generator.Traffic] = []
    tiny = generator.sized(generator.Params(), cards=1, days=1)
    worker = threading.Thread(target=lambda: done.append(generator.generate(tiny, 1)), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert done, "generating one card's day did not end within a minute"
    made = {e.pattern for e in done[0].events}
    assert "card_testing" in made
    assert not made & {"large_amount", "stolen_card_spree", "compromised_far"}


def test_the_command_refuses_an_empty_run(tmp_path, capsys):
    from txn_perf.fraud_eval.__main__ import main

    for option, message in [
        (["--cards", "0"], "--cards needs at least 1 card"),
        (["--days", "0"], "--days needs at least 1 day"),
        (["--fraud-from", "-1"], "--fraud-from needs a day from 0 on"),
    ]:
        with pytest.raises(SystemExit) as refused:
            main([*option, "--out", str(tmp_path)])
        assert refused.value.code == 2
        assert message in capsys.readouterr().err


def test_the_binomial_tail_is_exact_at_its_edges():
    # 2 or more in 60 at 1.5%: 1 - 0.985^60 - 60 * 0.015 * 0.985^59
    assert abs(report.binomial_tail(2, 60, 0.015) - 0.22724) < 1e-4
    assert abs(report.binomial_tail(1, 1, 0.5) - 0.5) < 1e-12
    assert report.binomial_tail(0, 50, 0.03) == 1.0
    assert report.binomial_tail(5, 3, 0.5) == 0.0  # more than n: impossible
    assert report.binomial_tail(1, 0, 0.5) == 0.0
    # thousands of sales (a busy web shop): no overflow, and 7% of 3,000 is far beyond 3%
    assert report.binomial_tail(210, 3000, 0.03) < 1e-12


def test_a_merchant_is_over_the_target_beyond_chance_only_when_its_count_is_unlikely():
    counts = {
        "noise": (2, 50),  # 4%: 45% likely at a true 3%
        "hotel": (12, 60),  # 20%: not chance
        "busy": (140, 2000),  # 7% of 2,000: not chance
        "fine": (1, 300),
    }
    counts |= {f"quiet{i}": (0, 80) for i in range(40)}
    assert report.beyond_chance(counts) == ["busy", "hotel"]
    # alone, a borderline merchant is not swept in by the correction's ranks either
    assert report.beyond_chance({"noise": (2, 50), "fine": (1, 300)}) == []


def test_the_merchants_over_the_target_by_chance_alone_are_counted_at_the_overall_rate():
    # ten shops of 50 honest sales at a true 3%: over (2 or more, 4%) with P = 1 - P(0) - P(1)
    tail = 1 - 0.97**50 - 50 * 0.03 * 0.97**49
    shops = {f"s{i}": (0, 50) for i in range(10)}  # what they were flagged does not matter
    assert report.over_by_chance(shops, 0.03) == pytest.approx(10 * tail)
    # exactly 3% is not over: 100 sales need 4 false positives, so a rate near 0 puts none there
    assert report.over_by_chance({"s": (3, 100)}, 1e-9) == pytest.approx(0.0, abs=1e-20)
    assert report.over_by_chance({"s": (3, 100)}, 0.03) == pytest.approx(
        report.binomial_tail(4, 100, 0.03)
    )
    assert report.over_by_chance(shops, 0.0) == 0.0
    assert report.over_by_chance(shops, None) == 0.0


def test_a_replay_tells_how_far_it_is_and_ends_at_every_transaction():
    from txn_perf.fraud_eval import replay

    traffic = generator.generate(generator.sized(generator.Params(), cards=40, days=8), seed=3)
    heard: list[tuple[int, int]] = []
    replay.replay(traffic, progress=lambda done, total: heard.append((done, total)))
    assert 5 <= len(heard) <= 11  # about every tenth of the way
    assert [d for d, _ in heard] == sorted({d for d, _ in heard})  # only forward
    assert heard[-1] == (len(traffic.events), len(traffic.events))


def test_a_replay_stops_at_a_batch_the_pipeline_did_not_take_whole():
    from fraud_detector.pipeline import BatchResult
    from txn_perf.fraud_eval import replay

    replay._all_taken(BatchResult(), "records")  # nothing failed: the replay goes on
    refused = BatchResult(failures={"m1": ValueError("bad body")})
    with pytest.raises(RuntimeError, match="failed 1 reports: bad body"):
        replay._all_taken(refused, "reports")

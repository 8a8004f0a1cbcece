"""Each fault scenario, small, on its own local runtime (a child process: the handlers are
imported once per process). Every one must end with a balanced ledger and no card data."""

from __future__ import annotations

import pytest

from txn_resilience.__main__ import problems, run_child

pytestmark = pytest.mark.e2e

SMALL = {
    "crash": 30,
    "dynamodb": 30,
    "sns_down": 30,
    "duplicates": 30,
    "poison": 15,
    "restart": 40,
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_the_ledger_balances_and_nothing_leaks_under(name: str) -> None:
    report = run_child(name, "--transactions", str(SMALL[name]), timeout=120)
    assert problems(report) == [], report
    assert report["ledger"]["submitted"] == SMALL[name]
    assert report["faults_total"] > 0  # the scenario did inject what it names


def test_an_sns_outage_longer_than_the_redrive_still_alerts_every_flagged_transaction() -> None:
    report = run_child("sns_down_past_redrive", "--transactions", "20", timeout=120)
    assert problems(report) == [], report
    assert report["ledger"]["FLAGGED"] > 0
    assert report["flagged_without_alert"] == 0
    # the alerts went out from the DLQ: its function handled the flagged transactions
    assert report["pollers"]["failed-transactions"]["succeeded"] >= report["ledger"]["FLAGGED"]
    assert report["ledger"]["FAILED"] == 0  # their verdicts stayed FLAGGED


def test_bad_input_through_the_gateway_gets_no_5xx_and_coded_4xx() -> None:
    report = run_child(
        "bad_input", "--fuzz-examples", "15", "--fuzz-phases", "examples,fuzzing", timeout=120
    )
    bad = report["bad_input"]
    assert bad["tried"] >= 200
    assert (bad["5xx"], bad["no_answer"], bad["uncoded_4xx"]) == (0, 0, 0), bad["failures"]
    assert report["schemathesis"]["requests"] > 0
    assert report["schemathesis"]["5xx"] == 0
    assert problems(report) == []

"""The live dashboard in a real browser: ``/_dashboard`` on the local gateway, opened in headless
Chromium while the demo's traffic runs, refreshes as it runs, ends on the demo summary's numbers
and logs no console error."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.e2e.browser import Browser
from txn_local.demo import Demo, Outcome, summary
from txn_local.runtime import LocalRuntime, RuntimeConfig
from txn_spec.dashboard import WIDGETS

pytestmark = pytest.mark.e2e

VALUES = """JSON.stringify(Object.fromEntries([...document.querySelectorAll("td.v")].map(
    (td) => [td.dataset.widget + " / " + td.dataset.line, td.textContent])))"""
POLLS = 'Number(document.getElementById("status").dataset.polls)'


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    config = RuntimeConfig(port=0, aws_port=0, api_key="dashboard-test-key-0123456789")
    with LocalRuntime(config) as started:
        yield started


def page_values(browser: Browser) -> dict[str, str]:
    return json.loads(browser.evaluate(VALUES))


def summary_figure(text: str, name: str) -> str:
    match = re.search(rf"^  {name}\s+(\d+)", text, re.MULTILINE)
    assert match, f"no {name} in the summary:\n{text}"
    return match.group(1)


def test_the_page_shows_the_cloudwatch_widgets_live_and_ends_on_the_demo_summary(runtime):
    assert runtime.gateway is not None
    base = f"http://127.0.0.1:{runtime.gateway.port}"
    done: list[Outcome] = []
    demo = threading.Thread(
        target=lambda: done.append(Demo(runtime, count=400, seed=5, timeout=120).run())
    )
    with Browser() as browser:
        browser.open(f"{base}/_dashboard")
        browser.wait_for(f"{POLLS} >= 1")
        # The traffic starts once the page shows: started earlier, a fast run had sent all 400
        # requests before the browser's first poll, and the page could not be seen refreshing.
        demo.start()
        # every widget of the shared definition, per function where its title says so
        titles = set(
            browser.evaluate('[...document.querySelectorAll("h2")].map(h => h.textContent)')
        )
        assert {"API requests and errors", "fraud-detector: duration (ms)"} <= titles
        assert len(titles) == sum(3 if "{function}" in w.title else 1 for w in WIDGETS)

        # refreshing as the traffic runs: the figure shown before the first request grows
        count = "API requests and errors / Count (SampleCount)"
        first = int(page_values(browser)[count])
        assert first < 400, "the page showed the whole run before it could watch it"
        polls = browser.evaluate(POLLS)
        browser.wait_for(f"{POLLS} >= {polls + 2}")
        assert int(page_values(browser)[count]) > first

        demo.join(180)
        (outcome,) = done
        text = summary(outcome)
        assert outcome.ok, text
        # the page catches up with the finished run within a few refreshes
        requests = summary_figure(text, "requests")
        browser.wait_for(f"JSON.parse({VALUES})[{json.dumps(count)}] === '{requests}'")
        polls = browser.evaluate(POLLS)
        browser.wait_for(f"{POLLS} >= {polls + 1}")
        values = page_values(browser)
        errors = browser.errors()

    accepted_answers = sum(a.status == 202 for a in outcome.answers)
    # the gateway's own refusals carry invalid_request (400) and forbidden (403)
    validator_refusals = sum(
        a.status in (400, 403, 422) and a.code not in ("invalid_request", "forbidden", None)
        for a in outcome.answers
    )
    expected = {
        count: requests,
        "API requests and errors / 4XXError (Sum)": summary_figure(text, "rejected"),
        "API requests and errors / 5XXError (Sum)": "0",
        "Transactions flagged as fraud / TransactionsFlagged (Sum)": summary_figure(
            text, "flagged"
        ),
        "Transactions recorded as FAILED / FailedTransactions (Sum)": summary_figure(
            text, "failed"
        ),
        "Requests accepted (queued) and refused / accepted: transactions and fraud reports "
        "(a replay counts again)": str(accepted_answers),
        "Requests accepted (queued) and refused / transactions refused": str(validator_refusals),
        # the demo sends transactions only
        "Requests accepted (queued) and refused / fraud reports refused": "0",
        # no WAF in front of the local gateway
        "WAF: requests allowed and blocked / AllowedRequests (Sum)": "n/a",
        "validator: invocations, errors, throttles / Invocations (Sum)": str(
            accepted_answers + validator_refusals
        ),
        "validator: invocations, errors, throttles / Errors (Sum)": "0",
        "validator: invocations, errors, throttles / Throttles (Sum)": "n/a",
        "Transactions queue / ApproximateNumberOfMessagesVisible (Maximum)": "0",
        "Dead-letter queues: visible messages / transactions-dlq": "0",
        "Dead-letter queues: visible messages / transactions-parking": "0",
    }
    assert {key: values.get(key) for key in expected} == expected
    assert int(values["fraud-detector: invocations, errors, throttles / Invocations (Sum)"]) > 0
    assert float(values["fraud-detector: duration (ms) / Duration (p99)"]) > 0
    assert errors == []
    # the JSON the page reads is the same data
    data = json.load(urllib.request.urlopen(f"{base}/_dashboard/data", timeout=10))  # noqa: S310
    assert [w["title"] for w in data["widgets"]] == browser_titles(values)


def browser_titles(values: dict[str, str]) -> list[str]:
    return list(dict.fromkeys(key.split(" / ")[0] for key in values))


def test_a_refused_fraud_report_counts_as_a_report_not_as_a_transaction(runtime):
    assert runtime.gateway is not None
    base = f"http://127.0.0.1:{runtime.gateway.port}"

    def refused() -> dict[str, float]:
        data = json.load(urllib.request.urlopen(f"{base}/_dashboard/data", timeout=10))  # noqa: S310
        (widget,) = [w for w in data["widgets"] if w["title"].startswith("Requests accepted")]
        return {
            line["label"]: line["value"] for line in widget["lines"] if "refused" in line["label"]
        }

    before = refused()
    # GIVEN a fraud report that passes the gateway's schema and that the validator refuses:
    # confirmed in the future
    report = {
        "transaction_id": "01M8N1NNYJS2B5AFV296R7EKB8",
        "kind": "confirmed_fraud",
        "reported_at": "2999-01-01T00:00:00Z",
    }
    request = urllib.request.Request(  # noqa: S310 - the local gateway
        f"{base}/fraud-reports",
        data=json.dumps(report).encode(),
        headers={"x-api-key": runtime.api_key, "Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refusal:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert 400 <= refusal.value.code < 500
    # THEN the dashboard counts it on the reports' line, as CloudWatch would (its own metric)
    after = refused()
    assert after["fraud reports refused"] == before["fraud reports refused"] + 1
    assert after["transactions refused"] == before["transactions refused"]


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT"])
def test_the_dashboard_paths_are_read_only(runtime, method):
    assert runtime.gateway is not None
    request = urllib.request.Request(
        f"http://127.0.0.1:{runtime.gateway.port}/_dashboard/data", data=b"{}", method=method
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert refused.value.code == 405
    assert refused.value.headers["Allow"] == "GET, HEAD"
    assert json.loads(refused.value.read())["error"]["code"] == "method_not_allowed"

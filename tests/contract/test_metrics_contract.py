"""Metrics contract: the metrics the code emits are the ones ``observability`` watches.

Each handler is imported and run with exactly the environment ``compute`` gives its function
(the variables of the compute program's registered ``Function`` resources under mocks, plus
the region and credentials Lambda's runtime adds), on moto resources with the names those
variables hold, through the paths that count something: accepted, replayed and refused
requests, approved and flagged transactions, a record that fails, dead-lettered messages. The
EMF lines they print, and the metrics edge's log metric filters publish, are compared with every
metric the observability program alarms on, graphs or sets an objective on (its registered
alarms, dashboard body and SLOs):

- every watched ``TxnPlatform`` metric (namespace, name and dimensions) is emitted by a path;
- every emitted metric is watched, or listed in :data:`NOT_WATCHED` with the reason.
"""

from __future__ import annotations

import importlib
import io
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.functional.functions.conftest import (
    REGION,
    LambdaContext,
    body_now,
    make_api_event,
    make_report_event,
    make_sqs_record,
    provisioned,
    report_body,
    report_record,
)
from txn_infra.offline import REPO_ROOT, LayerRun, Resource
from txn_local.invoke import FUNCTIONS_ROOT, unload_function_modules
from txn_spec import api_responses, shapes

NS = shapes.METRICS_NAMESPACE
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
FUNCTION = "aws:lambda/function:Function"
# What Lambda's runtime adds to a function's own variables (the ones the code reads).
RUNTIME = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

# Emitted, and deliberately neither alarmed nor graphed: read in Metrics Explorer or Logs
# Insights during an investigation, not watched all the time.
NOT_WATCHED = {
    "IdempotentReplays": "a client retry answered from the store: normal, not a fault",
    "TransactionsApproved": "a business volume; the accepted count is the queue's",
    "FlaggedByRule": "the breakdown of TransactionsFlagged, for tuning the rules",
    "DuplicateDeliveries": "SQS at-least-once delivery, absorbed by design (ADR 0003)",
    "MerchantCountDrift": "a drifted merchant counter; its WARNING log line names it",
    "FailedAlreadyRecorded": "a redelivered DLQ message that changed nothing",
    "FraudAlertsRepublished": "an alert sent from the DLQ; the DLQ alarm already fired",
    "FraudReportsFailed": "a dead-lettered fraud report; the DLQ alarm already fired",
}

# Another payment provider's API key, which no merchant names
OTHER_KEY = "key-of-another-provider"

# (namespace, metric name, sorted (dimension, value) pairs): what identifies a CloudWatch metric
Metric = tuple[str, str, tuple[tuple[str, str], ...]]


def emitted_metrics(stdout: str) -> set[Metric]:
    """Every metric of the EMF lines (``{"_aws": ...}``) in ``stdout``."""
    found: set[Metric] = set()
    for line in stdout.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        emf = json.loads(line)
        for directive in emf["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple(sorted((d, emf[d]) for d in dimension_set))
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dimensions))
    return found


def _metric_dicts(node: Any) -> set[Metric]:
    """Metrics held as ``namespace``/``metricName``/``dimensions`` anywhere in ``node``: an
    alarm's own inputs, its metric math queries, an SLO's queries (dimensions as name/value)."""
    found: set[Metric] = set()
    if isinstance(node, dict):
        if "namespace" in node and "metricName" in node:
            dimensions = node.get("dimensions") or {}
            if isinstance(dimensions, list):
                dimensions = {d["name"]: d["value"] for d in dimensions}
            found.add((node["namespace"], node["metricName"], tuple(sorted(dimensions.items()))))
        node = list(node.values())
    if isinstance(node, list):
        for value in node:
            found |= _metric_dicts(value)
    return found


def watched_metrics(observability: LayerRun) -> set[Metric]:
    """Every metric an alarm, the dashboard or an objective of ``observability`` reads."""
    found: set[Metric] = set()
    for resource in observability.resources:
        if resource.type != DASHBOARD:
            found |= _metric_dicts(resource.inputs)
            continue
        for widget in json.loads(resource.inputs["dashboardBody"])["widgets"]:
            for line in widget["properties"].get("metrics", []):
                namespace, name, *pairs = [x for x in line if not isinstance(x, dict)]
                found.add(
                    (namespace, name, tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True))))
                )
    return found


def contract_problems(
    emitted: set[Metric], watched: set[Metric], not_watched: Mapping[str, str] = NOT_WATCHED
) -> list[str]:
    """What breaks the contract, one line per metric (empty when it holds)."""
    ours = {m for m in watched if m[0] == NS}  # AWS/* metrics are the services' own
    problems = []
    for namespace, name, dimensions in sorted(ours - emitted):
        seen = [dict(d) for n, m, d in emitted if (n, m) == (namespace, name)]
        problems.append(
            f"{namespace}/{name} {dict(dimensions)} is alarmed or graphed, but no code path "
            f"emits it" + (f" (emitted with {seen})" if seen else "")
        )
    watched_names = {name for _, name, _ in ours}
    for namespace, name, dimensions in sorted(emitted):
        if namespace != NS:
            problems.append(f"{namespace}/{name} is emitted outside the {NS} namespace")
        elif name not in watched_names and name not in not_watched:
            problems.append(
                f"{namespace}/{name} {dict(dimensions)} is emitted, but neither alarmed, graphed "
                "nor listed in NOT_WATCHED"
            )
    return problems


# --- the handlers as deployed --------------------------------------------------------------------


def deployed_functions(compute: LayerRun) -> dict[str, dict[str, str]]:
    """Handler (``validator.app.lambda_handler``) -> the variables compute gives its function."""
    return {
        f.inputs["handler"]: f.inputs["environment"]["variables"] for f in compute.of_type(FUNCTION)
    }


@contextmanager
def environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Exactly ``variables`` and the runtime's, nothing of this process's own."""
    with mock.patch.dict(os.environ, {**RUNTIME, **variables}, clear=True):
        yield


@contextmanager
def handlers_as_deployed(
    functions: Mapping[str, Mapping[str, str]],
) -> Iterator[dict[str, Callable[[dict[str, Any]], Any]]]:
    """Each handler imported afresh under its function's environment (a container's cold
    start) and invoked under it; the modules loaded before are put back afterwards."""
    before = {
        name: module
        for name, module in sys.modules.items()
        if Path(getattr(module, "__file__", None) or "/").resolve().is_relative_to(FUNCTIONS_ROOT)
    }
    for name in before:
        del sys.modules[name]
    try:
        handlers = {}
        for handler, variables in functions.items():
            module, _, attribute = handler.rpartition(".")
            with environment(variables):
                function = getattr(importlib.import_module(module), attribute)

            def invoke(event: dict[str, Any], function=function, variables=variables) -> Any:
                with environment(variables):
                    return function(event, LambdaContext())

            handlers[module.split(".")[0]] = invoke
        yield handlers
    finally:
        unload_function_modules()
        sys.modules.update(before)


def run_every_path(handlers: Mapping[str, Callable[[dict[str, Any]], Any]], aws: Any) -> None:
    validate = handlers["validator"]
    replayed = {"Idempotency-Key": "contract-replay-1"}
    body = body_now()
    assert validate(make_api_event(body, headers=replayed))["statusCode"] == 202
    assert validate(make_api_event(body, headers=replayed))["statusCode"] == 202  # replay
    flagged = body_now(card_bin="400000", card_token="tok_contract")  # blocklisted BIN
    assert validate(make_api_event(flagged))["statusCode"] == 202
    for refused in ('{"amount": 1}', "{not json", body_now(merchant_id="m_nope")):
        assert validate(make_api_event(refused))["statusCode"] >= 400
    # a key the merchant does not name (ADR 0024): a sale refused, a report not counted
    assert validate(make_api_event(body_now(), api_key_id=OTHER_KEY))["statusCode"] == 403
    sale = json.loads(validate(make_api_event(body_now(card_token="tok_reported")))["body"])
    other = report_body(sale["transaction_id"])
    assert validate(make_report_event(other, api_key_id=OTHER_KEY))["statusCode"] == 202
    # a fraud report (ADR 0013) on a transaction never stored, and a malformed one
    report = report_body("01JDZZZZZZZZZZZZZZZZZZ0001")
    assert validate(make_report_event(report))["statusCode"] == 202
    assert validate(make_report_event({**report, "kind": "refund"}))["statusCode"] == 400
    queued = aws.messages()
    poison = "not a transaction"

    def record(message: dict[str, Any], **kw: Any) -> dict[str, Any]:
        if "kind" in message.get("MessageAttributes", {}):
            return report_record(make_sqs_record, message["Body"], **kw)
        return make_sqs_record(message["Body"], **kw)

    response = handlers["fraud_detector"](
        {"Records": [*(record(m) for m in queued), make_sqs_record(poison)]}
    )
    assert len(response["batchItemFailures"]) == 1  # the poison record

    # dead-lettered: the poison message (recorded FAILED), the decided ones (kept; the flagged
    # one's alert sent again), the report (logged and counted)
    records = [make_sqs_record(poison, receive_count=6)]
    records += [record(m, receive_count=6) for m in queued]
    assert handlers["failed_transactions"]({"Records": records})["batchItemFailures"] == []


@pytest.fixture(scope="module")
def emitted(system: dict[str, LayerRun]) -> set[Metric]:
    functions = deployed_functions(system["compute"])
    names = {k: v for variables in functions.values() for k, v in variables.items()}
    stdout = io.StringIO()
    with (
        provisioned(names) as aws,
        handlers_as_deployed(functions) as handlers,
        redirect_stdout(stdout),
    ):
        run_every_path(handlers, aws)
    return emitted_metrics(stdout.getvalue()) | filtered_metrics(system["edge"])


def filtered_metrics(edge: LayerRun) -> set[Metric]:
    """The metrics edge's log metric filters publish (ADR 0025). A dimension's value is read from
    each log line: the error type is one of the response types the pattern admits (each must be
    in the pattern); any other field stands as itself (``$.apiKeyId``)."""
    found: set[Metric] = set()
    for metric_filter in edge.of_type(METRIC_FILTER):
        transformation = metric_filter.inputs["metricTransformation"]
        choices = []
        for dimension, field in sorted((transformation.get("dimensions") or {}).items()):
            values = [field]
            if field == "$.errorType":
                values = [r.response_type for r in api_responses.THROTTLE_RESPONSES]
                assert all(f'"{v}"' in metric_filter.inputs["pattern"] for v in values)
            choices.append([(dimension, value) for value in values])
        for dimensions in itertools.product(*choices):
            found.add((transformation["namespace"], transformation["name"], dimensions))
    return found


@pytest.fixture(scope="module")
def watched(system: dict[str, LayerRun]) -> set[Metric]:
    return watched_metrics(system["observability"])


# --- the contract --------------------------------------------------------------------------------


def test_every_watched_metric_is_emitted_and_every_emitted_one_watched_or_listed(
    emitted: set[Metric], watched: set[Metric]
) -> None:
    assert {m for m in watched if m[0] == NS}, "observability watches no metric of ours"
    problems = contract_problems(emitted, watched)
    assert not problems, "\n".join(problems)


def test_the_queue_consumers_error_rate_reads_their_record_counts(
    emitted: set[Metric], watched: set[Metric], system: dict[str, LayerRun]
) -> None:
    for source in shapes.EVENT_SOURCES:
        service = system["compute"].exports[f"{source.function.package}_function_name"]
        for name in (shapes.RECORDS_PROCESSED_METRIC, shapes.RECORDS_FAILED_METRIC):
            metric = (NS, name, (("service", service),))
            assert metric in watched
            assert metric in emitted


def test_not_watched_lists_only_metrics_the_code_has_and_nothing_watched(
    watched: set[Metric],
) -> None:
    source = "\n".join(p.read_text() for p in (REPO_ROOT / "functions").rglob("*.py"))
    watched_names = {name for _, name, _ in watched}
    for name in NOT_WATCHED:
        assert f'"{name}"' in source, f"{name} is listed in NOT_WATCHED but no code emits it"
        assert name not in watched_names, f"{name} is watched: take it off NOT_WATCHED"


# --- a doctored copy fails, naming the metric ----------------------------------------------------


def test_an_alarm_on_a_metric_nobody_emits_fails_naming_it(
    emitted: set[Metric], system: dict[str, LayerRun]
) -> None:
    observability = system["observability"]
    doctored_alarm = Resource(
        ALARM,
        "alarms-reversals",
        {"namespace": NS, "metricName": "TransactionsReversed", "dimensions": {"service": "x"}},
        {},
        None,
        "alarms-reversals",
    )
    doctored = LayerRun(
        observability.layer, observability.stack, [*observability.resources, doctored_alarm]
    )

    problems = contract_problems(emitted, watched_metrics(doctored))

    assert problems == [
        "TxnPlatform/TransactionsReversed {'service': 'x'} is alarmed or graphed, but no code "
        "path emits it"
    ]


def test_a_metric_emitted_under_another_service_fails_naming_it(
    emitted: set[Metric], watched: set[Metric]
) -> None:
    # the bug of issue 16: a service name in the code instead of the function's
    in_code = {
        (n, m, tuple((k, "failed-transactions" if k == "service" else v) for k, v in d))
        for n, m, d in emitted
    }

    problems = contract_problems(in_code, watched)

    assert any(
        p.startswith(f"{NS}/{shapes.FAILED_TRANSACTIONS_METRIC} ") and "no code path" in p
        for p in problems
    ), problems


def test_an_emitted_metric_nobody_watches_or_lists_fails_naming_it(
    emitted: set[Metric], watched: set[Metric]
) -> None:
    unlisted = {k: v for k, v in NOT_WATCHED.items() if k != "IdempotentReplays"}

    problems = contract_problems(emitted, watched, unlisted)

    assert [p.split(" ")[0] for p in problems] == [f"{NS}/IdempotentReplays"]

"""Configuration names the service: every metric and log line of a handler carries the
``POWERTOOLS_SERVICE_NAME`` its function is given (compute sets the function's physical name,
which the alarms and the dashboard query), never a name written in the code."""

from __future__ import annotations

import json

from tests.functional.functions.conftest import SERVICE_PREFIX


def emf_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_every_metric_and_log_line_carries_the_configured_service(
    validator_app, fraud_app, failed_app, api_event, sqs_record, context, capsys, log_stream
) -> None:
    runs = {
        "validator": (validator_app, api_event({"amount": "not a number"})),  # refused
        "fraud_detector": (fraud_app, {"Records": [sqs_record("not a transaction")]}),
        "failed_transactions": (failed_app, {"Records": [sqs_record("not a transaction")]}),
    }
    for package, (app, event) in runs.items():
        logs = log_stream(app)
        capsys.readouterr()

        app.lambda_handler(event, context)

        service = f"{SERVICE_PREFIX}{package}"
        metrics = emf_lines(capsys.readouterr().out)
        assert metrics, package
        assert {line["service"] for line in metrics} == {service}
        for line in metrics:  # a dimension of every metric, not only a property
            assert ["service"] in [
                d[:1] for d in line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
            ]
        records = [json.loads(line) for line in logs.getvalue().splitlines()]
        assert records, package
        assert {record["service"] for record in records} == {service}

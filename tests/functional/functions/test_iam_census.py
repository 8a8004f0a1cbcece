"""IAM census (issue 16): the real handlers run through their paths on moto while every boto3
call is recorded; the calls, as the deployed roles would be asked for them, are held against the
policies the ``security`` stack registers (``tests/census.py``, ``tests/iam_eval.py``).

Also the endpoints check: an interface VPC endpoint exists exactly for each service the handlers
call from inside the VPC (``stacks/network/README.md`` has the reasoning).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.census import (
    Call,
    Deployment,
    Recorded,
    Recorder,
    endpoint_problems,
    handler_calls,
    platform_calls,
    problems,
)
from tests.functional.functions.conftest import (
    make_report_event,
    report_body,
    report_record,
    reported,
)
from txn_infra.offline import LayerRun


@pytest.fixture(scope="module")
def runs(system: dict[str, LayerRun]) -> dict[str, LayerRun]:
    return system  # the dev system under mocks, shared with the stack tests (tests/conftest.py)


@pytest.fixture(scope="module")
def deployment(runs: dict[str, LayerRun]) -> Deployment:
    return Deployment.of(runs)


def _sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


@pytest.fixture(scope="module")
def recorded() -> dict[str, list[Call]]:
    return {}  # the census of the first test that asks, for the module's other tests


@pytest.fixture
def census(deployment, recorded, request) -> list[Call]:
    if "calls" not in recorded:
        recorded["calls"] = _drive(deployment, request.getfixturevalue)
    return recorded["calls"]


def _drive(deployment: Deployment, fixture: Any) -> list[Call]:
    """Drive each handler through its paths with every boto3 call recorded."""
    monkeypatch, aws, context = (fixture(f) for f in ("monkeypatch", "aws", "context"))
    validator_app, fraud_app, failed_app = (
        fixture(f) for f in ("validator_app", "fraud_app", "failed_app")
    )
    api_event, make_body, sqs_record, accepted = (
        fixture(f) for f in ("api_event", "make_body", "sqs_record", "accepted")
    )
    recorder = Recorder(monkeypatch)
    with recorder.running("validator"):
        body = make_body()
        keyed = api_event(body, headers={"Idempotency-Key": "census-1"})
        assert validator_app.lambda_handler(keyed, context)["statusCode"] == 202
        assert validator_app.lambda_handler(keyed, context)["statusCode"] == 202  # a replay
        # A failed condition that returns no stored item: the adapter reads the record.
        with monkeypatch.context() as no_item:
            no_item.setattr("txn_adapters.idempotency.condition_item", lambda exc: None)
            assert validator_app.lambda_handler(keyed, context)["statusCode"] == 202
        unknown = api_event(make_body(merchant_id="m_0000"))
        assert validator_app.lambda_handler(unknown, context)["statusCode"] == 422
        report = make_report_event(report_body("01JDZZZZZZZZZZZZZZZZZZ0001"))
        assert validator_app.lambda_handler(report, context)["statusCode"] == 202
    aws.messages()  # take the validator's messages off the queue (receiving hides them)
    approved, flagged, again, failed = (accepted(card_bin=b) for b in ("411111", "400000") * 2)
    queued_report = reported(json.loads(approved)["transaction_id"])
    with recorder.running("fraud-detector"):
        # Twice, so the second batch finds the velocity counters and updates them; the
        # flagged record is redelivered (a duplicate whose alert is sent again).
        for bodies in ((approved, flagged), (again, flagged)):
            event = _sqs_event(*(sqs_record(b) for b in bodies))
            assert fraud_app.lambda_handler(event, context) == {"batchItemFailures": []}
        # a confirmed-fraud report on the approved one (ADR 0013): Query, read, risk writes
        event = _sqs_event(report_record(sqs_record, queued_report))
        assert fraud_app.lambda_handler(event, context) == {"batchItemFailures": []}
    with recorder.running("failed-transactions"):
        for body in (failed, flagged):  # a new record; a FLAGGED one re-sends its alert
            event = _sqs_event(sqs_record(body, receive_count=6, queue="transactions-dlq"))
            assert failed_app.lambda_handler(event, context) == {"batchItemFailures": []}
        # a dead-lettered report: logged and counted, no call at all
        event = _sqs_event(report_record(sqs_record, queued_report, receive_count=6))
        assert failed_app.lambda_handler(event, context) == {"batchItemFailures": []}
    assert {c.function for c in recorder.calls} == set(deployment.functions)
    return handler_calls(deployment, recorder.calls) + platform_calls(deployment)


def test_every_call_is_allowed_and_every_granted_action_is_used(deployment, census) -> None:
    found = problems(deployment.policies, census)
    assert found == [], "\n".join(found)


def _statement(policies: dict[str, list[dict]], function: str, sid: str) -> dict:
    return next(s for s in policies[function] if s.get("Sid") == sid)


def test_a_call_the_policy_does_not_allow_is_named(deployment, census) -> None:
    doctored = copy.deepcopy(deployment.policies)
    enqueue = _statement(doctored, "validator", "Enqueue")
    enqueue["Condition"]["StringEquals"]["aws:SourceVpce"] = "vpce-0another"

    found = problems(doctored, census)

    variables = deployment.functions["validator"].inputs["environment"]["variables"]
    queue = deployment.arns[variables["TRANSACTIONS_QUEUE_URL"]]
    assert {p for p in found if p.startswith("not allowed")} == {
        f"not allowed (ImplicitDeny): validator: sqs:SendMessage on {queue} "
        f"aws:SourceVpce={deployment.endpoints['sqs']} (handler SendMessage)"
    }
    assert any("unused grant: validator: Enqueue sqs:SendMessage" in p for p in found)


def test_a_grant_nothing_uses_is_named(deployment, census) -> None:
    doctored = copy.deepcopy(deployment.policies)
    _statement(doctored, "validator", "IdempotencyRecords")["Action"].append("dynamodb:DeleteItem")

    (found,) = problems(doctored, census)

    assert found.startswith("unused grant: validator: IdempotencyRecords dynamodb:DeleteItem on ")
    assert found.endswith(":table/txn-dev-idempotency")


def test_a_call_to_a_resource_compute_does_not_name_fails(deployment) -> None:
    stray = Recorded("validator", "dynamodb", "GetItem", {"TableName": "velocity"}, {})
    with pytest.raises(AssertionError, match="validator called GetItem on 'velocity'"):
        handler_calls(deployment, [stray])


def _endpoint_types(runs: dict[str, LayerRun]) -> dict[str, str]:
    return {
        e.inputs["serviceName"].rpartition(".")[2]: e.inputs["vpcEndpointType"]
        for e in runs["network"].of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }


def test_interface_endpoints_are_the_services_called_from_inside_the_vpc(runs, census) -> None:
    """Keep an interface endpoint only for a service a handler calls from the VPC: Lambda sends
    logs and segments and decrypts the environment itself, outside the function's network."""
    assert endpoint_problems(census, _endpoint_types(runs)) == []


def test_an_endpoint_nothing_calls_through_and_a_call_without_one_are_named(runs, census) -> None:
    doctored = {**_endpoint_types(runs), "kms": "Interface"}
    del doctored["sqs"]

    assert endpoint_problems(census, doctored) == [
        "interface endpoint kms: no handler calls kms from inside the VPC",
        "no endpoint for sqs, which the handlers call from inside the VPC",
    ]


def _endpoint_actions(runs: dict[str, LayerRun]) -> dict[str, set[str]]:
    """service -> the actions its endpoint's policy allows (as the network stack declares it)."""
    found = {}
    for endpoint in runs["network"].of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        (statement,) = json.loads(endpoint.inputs["policy"])["Statement"]
        assert statement["Condition"]["StringEquals"].keys() == {
            "aws:PrincipalAccount",
            "aws:ResourceAccount",
        }
        found[endpoint.inputs["serviceName"].rpartition(".")[2]] = set(statement["Action"])
    return found


def test_each_endpoint_allows_exactly_what_the_handlers_call_through_it(runs, census) -> None:
    # every call a handler makes from inside the VPC, as the IAM action that authorises it
    called: dict[str, set[str]] = {}
    for call in census:
        if call.origin.startswith("handler"):
            service = call.request.action.split(":")[0]
            called.setdefault(service, set()).add(call.request.action)
    # THEN each endpoint's policy names those actions and no other (no "<service>:*")
    assert _endpoint_actions(runs) == called

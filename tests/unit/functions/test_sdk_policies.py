"""How the functions' SDK clients time and resend calls (``txn_adapters.aws.POLICIES``), shown
on botocore itself: each attempt is answered by a ``before-send`` hook, no network."""

from __future__ import annotations

import os
import subprocess
import sys

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from txn_adapters.aws import POLICIES, Policy
from txn_adapters.partiql import Statement
from txn_adapters.transactions import TransactionsStore
from txn_domain.errors import ServiceUnavailableError
from txn_perf.bench.coldstart import lambda_environment
from txn_spec.shapes import FRAUD_DETECTOR, VALIDATOR

# The validator's longest chain of calls: the merchant's GetItem (cache miss), the idempotency
# PutItem and, when its failed condition returns no item, a GetItem, then SendMessage.
VALIDATOR_CALLS_IN_A_ROW = 4
ZONES = 3  # the network layer's availability zones: an interface endpoint has an address in each


class _ServerError:
    """The raw body of a DynamoDB 500."""

    def stream(self, **_: object):
        yield b'{"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"}'


def _attempts(policy: Policy, lost_answer: bool = False) -> int:
    """How many times the SDK sends one GetItem that every attempt answers with a 500, or
    (``lost_answer``) whose every answer is lost to a read timeout."""
    sent: list[str] = []

    def answer(request, **_: object) -> AWSResponse:
        sent.append(request.url)
        if lost_answer:
            raise ReadTimeoutError(endpoint_url=request.url)
        return AWSResponse(request.url, 500, {}, _ServerError())

    client = boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",  # no AWS is called
        config=POLICIES[policy],
    )
    client.meta.events.register("before-send.dynamodb.GetItem", answer)
    with pytest.raises((ClientError, ReadTimeoutError)):
        client.get_item(TableName="t", Key={"k": {"S": "v"}})
    return len(sent)


@pytest.mark.parametrize(("policy", "attempts"), [("queue", 3), ("api", 1), ("once", 1)])
@pytest.mark.parametrize("lost_answer", [False, True])
def test_each_policy_sends_a_failing_call_as_often_as_it_says(
    policy: Policy, attempts: int, lost_answer: bool
):
    # a 500 or a lost answer may follow a call DynamoDB applied: "once" never sends it again
    assert _attempts(policy, lost_answer) == attempts


class _Refusing:
    """BatchExecuteStatement failing with ``errors`` in turn, then answering every statement."""

    def __init__(self, *errors: Exception):
        self.errors = list(errors)
        self.calls = 0

    def batch_execute_statement(self, Statements):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"Responses": [{} for _ in Statements]}


def _throttled() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException"}}, "BatchExecuteStatement")


def _store(writes: _Refusing) -> TransactionsStore:
    return TransactionsStore(None, "transactions", writes=writes)  # reads: none here


def test_the_records_call_is_sent_again_when_surely_not_applied(monkeypatch):
    monkeypatch.setattr("txn_adapters.partiql.backoff", lambda attempt: None)
    unapplied = _Refusing(_throttled(), EndpointConnectionError(endpoint_url="https://ddb"))

    outcomes = _store(unapplied).execute([Statement("INSERT ...")])

    assert ([o.ok for o in outcomes], unapplied.calls) == ([True], 3)


@pytest.mark.parametrize(
    "ambiguous",
    [
        ReadTimeoutError(endpoint_url="https://ddb"),
        ClientError({"Error": {"Code": "InternalServerError"}}, "BatchExecuteStatement"),
    ],
)
def test_the_records_call_is_not_sent_again_when_it_may_have_been_applied(
    ambiguous: Exception, monkeypatch
):
    monkeypatch.setattr("txn_adapters.partiql.backoff", lambda attempt: None)
    maybe_applied = _Refusing(ambiguous)

    with pytest.raises(ServiceUnavailableError):
        _store(maybe_applied).execute([Statement("INSERT ...")])
    assert maybe_applied.calls == 1  # SQS redelivers; the redelivery finds what was stored


def test_the_validators_calls_at_their_worst_leave_it_time_to_answer_503_itself():
    config = POLICIES["api"]
    # One attempt: no backoff, no retry-after wait. urllib3 gives each address the endpoint's
    # name resolves to the whole connect timeout (an interface endpoint: one per zone).
    assert config.retries["total_max_attempts"] == 1
    per_call = ZONES * config.connect_timeout + config.read_timeout
    assert VALIDATOR_CALLS_IN_A_ROW * per_call <= VALIDATOR.timeout_seconds - 2


PROBE = (
    "from fraud_detector import app; p = app.pipeline; "
    "print(*(c.meta.config.retries['total_max_attempts'] "
    "for c in (p._store._writes, p._store._ddb, p._velocity._ddb)))"
)


def test_the_fraud_detector_wires_its_record_writes_to_the_client_never_resent():
    environment = {**os.environ, **lambda_environment(FRAUD_DETECTOR)}
    done = subprocess.run(  # noqa: S603 - our interpreter, a fixed probe
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
    )
    # records and merchant counts once; the reports' Query and the guarded counters keep the
    # SDK's retries
    assert done.stdout.split() == ["1", "3", "3"]

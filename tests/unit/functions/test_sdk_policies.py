"""How the functions' SDK clients time and resend calls (``txn_adapters.aws.POLICIES``), shown
on botocore itself: each attempt is answered by a ``before-send`` hook, no network."""

from __future__ import annotations

import os
import subprocess
import sys

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from txn_adapters.aws import POLICIES, Policy
from txn_perf.bench.coldstart import lambda_environment
from txn_spec.shapes import FRAUD_DETECTOR, VALIDATOR

# The validator's longest chain of calls: the merchant's GetItem (cache miss), the idempotency
# PutItem and, when its failed condition returns no item, a GetItem, then SendMessage.
VALIDATOR_CALLS_IN_A_ROW = 4


class _ServerError:
    """The raw body of a DynamoDB 500."""

    def stream(self, **_: object):
        yield b'{"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"}'


def _attempts(policy: Policy) -> int:
    """How many times the SDK sends one GetItem that every attempt answers with a 500."""
    sent: list[str] = []

    def answer(request, **_: object) -> AWSResponse:
        sent.append(request.url)
        return AWSResponse(request.url, 500, {}, _ServerError())

    client = boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",  # no AWS is called
        config=POLICIES[policy],
    )
    client.meta.events.register("before-send.dynamodb.GetItem", answer)
    with pytest.raises(client.exceptions.ClientError):
        client.get_item(TableName="t", Key={"k": {"S": "v"}})
    return len(sent)


@pytest.mark.parametrize(("policy", "attempts"), [("queue", 3), ("api", 2), ("once", 1)])
def test_each_policy_sends_a_failing_call_as_often_as_it_says(policy: Policy, attempts: int):
    assert _attempts(policy) == attempts


def test_the_validators_calls_at_their_worst_leave_it_time_to_answer_503_itself():
    config = POLICIES["api"]
    attempts = config.retries["total_max_attempts"]
    # every attempt connects and reads to its timeouts; standard mode's backoff before each
    # retry is at most 1 s doubling (for throttling errors)
    per_call = attempts * (config.connect_timeout + config.read_timeout) + sum(
        2.0**i for i in range(attempts - 1)
    )
    assert VALIDATOR_CALLS_IN_A_ROW * per_call <= VALIDATOR.timeout_seconds - 2


PROBE = (
    "from fraud_detector import app; "
    "print(app.pipeline._store._ddb.meta.config.retries['total_max_attempts'], "
    "app.pipeline._velocity._ddb.meta.config.retries['total_max_attempts'])"
)


def test_the_fraud_detectors_record_and_merchant_writes_are_never_resent_by_the_sdk():
    environment = {**os.environ, **lambda_environment(FRAUD_DETECTOR)}
    done = subprocess.run(  # noqa: S603 - our interpreter, a fixed probe
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
    )
    # the records' BatchExecuteStatement once; the guarded counters keep the SDK's retries
    assert done.stdout.split() == ["1", "3"]

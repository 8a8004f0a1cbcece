"""The moto patches change how much work moto does, never what it answers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from txn_moto import patches


@pytest.fixture
def patched_moto(monkeypatch):
    """Fake credentials and our moto patches; the tests then run moto in-process."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    patches.apply()


@pytest.fixture
def dynamodb(patched_moto):
    with mock_aws():
        import boto3

        client = boto3.client("dynamodb")
        client.create_table(
            TableName="records",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="records", Item={"pk": {"S": "taken"}})
        yield client


def test_an_item_built_with_one_size_count_equals_moto_s_and_fails_at_the_same_size(dynamodb):
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    class MotoItem(Item):  # moto's own constructor: every assignment through LimitedSizeDict
        def __init__(self, hash_key, range_key, attrs):
            self.hash_key, self.range_key = hash_key, range_key
            self.attrs = LimitedSizeDict()
            for key, value in attrs.items():
                self.attrs[key] = DynamoType(value)

    attrs = {
        "pk": {"S": "k"},
        "n": {"N": "12.5"},
        "g": {"SS": ["a", "b"]},
        "m": {"M": {"x": {"L": [{"N": "1"}, {"BOOL": True}]}}},
    }
    key = DynamoType({"S": "k"})
    assert Item(key, None, attrs).to_json() == MotoItem(key, None, attrs).to_json()
    assert isinstance(Item(key, None, attrs).attrs, LimitedSizeDict)

    seen = set()
    # pk (2 + 1) + n (1 + 1) + big (3 + filler) bytes: 404_992 is exactly at moto's bound
    for filler in (404_991, 404_992, 404_993):
        big = {"pk": {"S": "k"}, "n": {"N": "1"}, "big": {"S": "x" * filler}}
        outcomes = []
        for cls in (Item, MotoItem):
            try:
                cls(key, None, big)
                outcomes.append("ok")
            except ItemSizeTooLarge:
                outcomes.append("too large")
        assert outcomes[0] == outcomes[1], filler
        seen.add(outcomes[0])
    assert seen == {"ok", "too large"}


def test_batch_reads_and_partiql_answers_written_as_plain_json_equal_moto_s_walk(
    dynamodb, monkeypatch
):
    from moto.dynamodb.responses import DynamoResult

    from txn_moto import partiql

    partiql.apply()
    items = [
        {"pk": {"S": "plain"}, "n": {"N": "1.50"}, "g": {"SS": ["a", "b"]}, "ns": {"NS": ["1"]}},
        {
            "pk": {"S": "nested"},
            "m": {"M": {"x": {"L": [{"N": "1"}, {"BOOL": False}, {"S": "null"}]}}},
            "nul": {"NULL": True},
        },
        {"pk": {"S": "binary"}, "b": {"B": b"\x00\x01"}, "bs": {"BS": [b"\x02"]}},
    ]
    for item in items:
        dynamodb.put_item(TableName="records", Item=item)
    keys = [{"pk": item["pk"]} for item in items] + [{"pk": {"S": "absent"}}]
    statements = [
        {
            "Statement": 'UPDATE "records" SET "n" = "n" + ? WHERE "pk" = ? AND "n" = ?',
            "Parameters": [{"N": "1"}, {"S": "plain"}, {"N": "9"}],
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
        {"Statement": "INSERT INTO \"records\" VALUE {'pk': ?}", "Parameters": [{"S": "taken"}]},
    ]

    def answers() -> list:
        out = [
            dynamodb.batch_get_item(RequestItems={"records": {"Keys": keys}}),
            dynamodb.batch_get_item(RequestItems={"records": {"Keys": keys[:1]}}),
            dynamodb.batch_execute_statement(Statements=statements),
        ]
        for answer in out:
            answer.pop("ResponseMetadata")
        return out

    plain = answers()
    monkeypatch.setattr(DynamoResult, "execute_result", DynamoResult.execute_result.__wrapped__)
    walked = answers()

    assert plain == walked
    assert len(plain[0]["Responses"]["records"]) == 3
    assert plain[2]["Responses"][0]["Error"]["Item"]["g"] == {"SS": ["a", "b"]}


def test_handler_method_names_are_listed_once_per_class_and_stay_moto_s(dynamodb):
    import inspect

    from moto.core import responses
    from moto.sqs.responses import SQSResponse

    listed = responses.method_names_from_class(SQSResponse)

    assert listed == [n for n, _ in inspect.getmembers(SQSResponse, inspect.isfunction)]
    assert "send_message" in listed
    assert responses.method_names_from_class(SQSResponse) is listed  # computed once


@pytest.fixture
def sqs(patched_moto):
    with mock_aws():
        import boto3

        client = boto3.client("sqs")
        url = client.create_queue(QueueName="q")["QueueUrl"]
        for n in range(3):
            client.send_message(QueueUrl=url, MessageBody=f"m{n}")
        yield client, url


def test_a_message_is_deleted_by_its_current_or_an_earlier_receipt_handle(sqs):
    client, url = sqs
    first = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    client.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for i, m in enumerate(first)
        ],
    )
    again = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert {m["MessageId"] for m in again} == {m["MessageId"] for m in first}

    client.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])  # earlier
    client.delete_message(QueueUrl=url, ReceiptHandle=again[1]["ReceiptHandle"])  # current
    client.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])  # again: no-op

    left = client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert left == {"ApproximateNumberOfMessagesNotVisible": "1"}


def test_an_unknown_receipt_handle_is_refused_as_moto_refuses_it(sqs):
    client, url = sqs
    with pytest.raises(ClientError) as error:
        client.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert error.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_receipt_handles_and_request_ids_keep_moto_s_alphabets_and_lengths(sqs):
    import string

    client, url = sqs
    received = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    handles = [m["ReceiptHandle"] for m in received["Messages"]]
    request_id = received["ResponseMetadata"]["RequestId"]

    assert all(len(h) == 185 and set(h) <= set(string.ascii_lowercase) for h in handles)
    assert len(set(handles)) == len(handles)
    assert len(request_id) == 52
    assert set(request_id) <= set(string.ascii_letters + string.digits)


def test_queue_attribute_names_are_converted_as_moto_converts_them():
    from moto.core.utils import camelcase_to_underscores
    from moto.sqs import models

    patches.apply()
    names = ["ApproximateNumberOfMessagesNotVisible", "KmsMasterKeyId", "RedrivePolicy"]
    assert [models.camelcase_to_underscores(n) for n in names] == [
        camelcase_to_underscores(n) for n in names
    ]


def test_send_and_batch_delete_answers_written_as_plain_json_equal_moto_s_walk(sqs, monkeypatch):
    from moto.core.responses import ActionResult

    client, url = sqs

    def answers() -> list:
        sent = client.send_message(
            QueueUrl=url,
            MessageBody="body",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "txn"}},
        )
        plain = client.send_message(QueueUrl=url, MessageBody="plain")
        handle = client.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0][
            "ReceiptHandle"
        ]
        deleted = client.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": "ok", "ReceiptHandle": handle}, {"Id": "bad", "ReceiptHandle": "x"}],
        )
        out = [sent, plain, deleted]
        for answer in out:
            answer.pop("ResponseMetadata")
            answer.pop("MessageId", None)  # new per call
        return out

    plain = answers()
    monkeypatch.setattr(ActionResult, "execute_result", ActionResult.execute_result.__wrapped__)
    walked = answers()

    assert plain == walked
    assert plain[2]["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    assert "MD5OfMessageAttributes" in plain[0]


def test_the_patches_refuse_a_moto_release_they_were_not_written_for() -> None:
    with pytest.raises(patches.MotoVersionError, match=r"moto 5\.0\.1 is installed"):
        patches.check_version("5.0.1")

"""The moto patches change how much work moto does, never what it answers."""

from __future__ import annotations

import contextlib

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from txn_moto import patches
from txn_moto import sqs as moto_sqs


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


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        (
            "BatchExecuteStatement",
            {
                "Statements": [
                    {
                        "Statement": 'UPDATE "t" SET "n" = "n" + ? WHERE "pk" = ?',
                        "Parameters": [
                            {"N": "1.50"},
                            {"M": {"x": {"L": [{"BOOL": False}, {"NULL": True}, {"SS": ["a"]}]}}},
                        ],
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    },
                    {"Statement": 'SELECT * FROM "t"', "ConsistentRead": True},
                ],
                "ReturnConsumedCapacity": "TOTAL",
            },
        ),
        (
            "BatchGetItem",
            {
                "RequestItems": {
                    "t": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "2"}}], "ConsistentRead": True}
                }
            },
        ),
    ],
)
def test_batch_requests_read_as_plain_json_equal_moto_s_parser(patched_moto, operation, params):
    """What boto3 sends for the batch operations, parsed by moto's walk and by ``json.loads``."""
    import json

    import botocore.session
    from botocore.serialize import create_serializer
    from moto.core.parse import JSONParser

    model = botocore.session.get_session().get_service_model("dynamodb")
    operation_model = model.operation_model(operation)
    body = create_serializer("json").serialize_to_request(params, operation_model)["body"]
    walked = JSONParser(operation_model, map_type=dict).parse(
        {"method": "POST", "values": {}, "headers": {}, "body": body, "url_path": "/"}
    )

    assert json.loads(body) == walked == params


def test_batch_requests_with_binary_values_still_take_moto_s_parser(dynamodb):
    from moto.core.parse import JSONParser

    walked = []
    original = JSONParser._parse_json_body

    def spy(self, raw_body, shape):
        walked.append(self.operation_model.name)
        return original(self, raw_body, shape)

    JSONParser._parse_json_body = spy
    try:
        dynamodb.batch_get_item(RequestItems={"records": {"Keys": [{"pk": {"S": "taken"}}]}})
        dynamodb.put_item(TableName="records", Item={"pk": {"S": "b"}, "b": {"B": b"\x00"}})
        found = dynamodb.batch_get_item(RequestItems={"records": {"Keys": [{"pk": {"B": b"1"}}]}})
    finally:
        JSONParser._parse_json_body = original

    assert walked == ["PutItem", "BatchGetItem"]  # the first batch read was plain JSON
    assert found["Responses"]["records"] == []


@pytest.mark.parametrize(
    "value",
    [
        {"S": "a"},
        {"N": "1.5"},
        {"NULL": True},
        {"SS": ["a", "b"]},
        {"L": [{"N": "1"}, {"M": {"x": {"L": [{"BOOL": False}]}}}]},
        {"M": {"a": {"S": "b"}, "c": {"M": {}}}},
    ],
)
def test_attribute_values_are_built_as_moto_builds_them(patched_moto, value):
    from moto.dynamodb.models.dynamo_type import DynamoType

    def tree(typed: DynamoType) -> object:
        if isinstance(typed.value, list) and typed.type == "L":
            return (typed.type, [tree(v) for v in typed.value])
        if isinstance(typed.value, dict):
            return (typed.type, {k: tree(v) for k, v in typed.value.items()})
        return (typed.type, typed.value)

    patched = DynamoType(value)
    moto_s = DynamoType.__new__(DynamoType)
    DynamoType.__init__.__wrapped__(moto_s, value)

    assert tree(patched) == tree(moto_s)
    assert tree(DynamoType(patched)) == tree(moto_s)  # a copy of a built one


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


def test_receive_answers_written_as_plain_json_equal_moto_s_walk(sqs, monkeypatch):
    from moto.core.responses import ActionResult
    from moto.core.serialize import ResponseSerializer

    client, _ = sqs
    strings = client.create_queue(QueueName="strings")["QueueUrl"]
    client.send_message(
        QueueUrl=strings,
        MessageBody='{"amount": 1, "note": null}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "txn"},
            "count": {"DataType": "Number", "StringValue": "3"},
        },
    )
    binary = client.create_queue(QueueName="binary")["QueueUrl"]
    client.send_message(
        QueueUrl=binary,
        MessageBody="b",
        MessageAttributes={"blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}},
    )

    def receive(queue: str) -> dict:
        (message,) = client.receive_message(
            QueueUrl=queue,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        )["Messages"]
        for moving in ("ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"):
            message["Attributes"].pop(moving)
        message.pop("ReceiptHandle")  # new per receive
        return message

    def no_walk(*args, **kwargs):
        raise AssertionError("walked")

    with monkeypatch.context() as plain_only:
        plain_only.setattr(ResponseSerializer, "serialize", no_walk)
        plain = receive(strings)
    binary_plain = receive(binary)  # bytes: takes the walk
    monkeypatch.setattr(ActionResult, "execute_result", ActionResult.execute_result.__wrapped__)

    assert plain == receive(strings)
    assert plain["MessageAttributes"]["count"] == {"DataType": "Number", "StringValue": "3"}
    assert binary_plain == receive(binary)
    assert binary_plain["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\xff"


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        {"KmsMasterKeyId": "alias/q", "DelaySeconds": "2"},
        {"Policy": '{"Version": "2012-10-17", "Statement": []}'},
    ],
    ids=["standard", "fifo", "kms", "policy"],
)
def test_queue_attributes_on_demand_equal_moto_s_built_dict(patched_moto, attributes):
    from moto.sqs import models

    with mock_aws():
        import boto3

        client = boto3.client("sqs")
        fifo = attributes.get("FifoQueue") == "true"
        dlq = client.create_queue(
            QueueName="dlq.fifo" if fifo else "dlq",
            Attributes={"FifoQueue": "true"} if fifo else {},
        )
        dlq_arn = client.get_queue_attributes(
            QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        redrive = {"RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": 3}}'}
        name = "q.fifo" if fifo else "q"
        url = client.create_queue(QueueName=name, Attributes={**attributes, **redrive})["QueueUrl"]
        client.send_message(
            QueueUrl=url,
            MessageBody="m",
            **({"MessageGroupId": "g"} if fifo else {}),
        )
        queue = models.sqs_backends["123456789012"]["us-east-2"].get_queue(name)
        built = type(queue).attributes.fget.__wrapped__(queue)  # moto's own property

        on_demand = queue.attributes
        assert isinstance(on_demand, moto_sqs.QueueAttributes)
        assert list(on_demand.items()) == list(built.items())
        assert on_demand.get("RedrivePolicy") == built["RedrivePolicy"] != ""
        assert on_demand.get("NoSuchAttribute") is None


def test_the_action_is_matched_once_per_request(sqs, monkeypatch):
    from moto.core.responses import BaseResponse

    client, url = sqs
    matched = []
    original = BaseResponse._get_action_from_request

    def counting(self, request):
        matched.append(1)
        return original(self, request)

    monkeypatch.setattr(BaseResponse, "_get_action_from_request", counting)
    client.send_message(QueueUrl=url, MessageBody="once")

    assert len(matched) == 1


def test_sqs_reads_the_clock_as_moto_does_without_building_datetimes(sqs):
    from moto.core import utils
    from moto.sqs import models

    assert models.unix_time is moto_sqs.unix_time
    assert models.unix_time_millis is moto_sqs.unix_time_millis
    assert abs(moto_sqs.unix_time() - utils.unix_time()) < 1.0
    assert abs(moto_sqs.unix_time_millis() - utils.unix_time_millis()) < 1000.0
    client, url = sqs
    sent = client.receive_message(QueueUrl=url, MessageSystemAttributeNames=["SentTimestamp"])
    assert (
        abs(int(sent["Messages"][0]["Attributes"]["SentTimestamp"]) - utils.unix_time_millis())
        < 60_000
    )


def test_the_patches_refuse_a_moto_release_they_were_not_written_for() -> None:
    with pytest.raises(patches.MotoVersionError, match=r"moto 5\.0\.1 is installed"):
        patches.check_version("5.0.1")


def test_two_conditional_puts_on_one_key_never_both_win(dynamodb, monkeypatch):
    # GIVEN moto's read of the current item held until a second writer has read it too (the
    # interleaving a loaded server thread pool can produce), waiting at most half a second
    import threading

    from moto.dynamodb.models.table import Table

    both_read = threading.Barrier(2, timeout=0.5)
    read = Table.get_item

    def get_item(self, *args, **kwargs):
        current = read(self, *args, **kwargs)
        if self.name == "records":
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait()
        return current

    monkeypatch.setattr(Table, "get_item", get_item)
    winners: list[int] = []
    refused: list[str] = []

    def claim(i: int) -> None:
        try:
            dynamodb.put_item(
                TableName="records",
                Item={"pk": {"S": "idempotency-key"}, "v": {"N": str(i)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            winners.append(i)
        except ClientError as exc:
            refused.append(exc.response["Error"]["Code"])

    # WHEN two writers claim the same key at once
    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN one wins and the other's condition fails, as on DynamoDB
    assert len(winners) == 1
    assert refused == ["ConditionalCheckFailedException"]

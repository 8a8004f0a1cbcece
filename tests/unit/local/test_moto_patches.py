"""The patched TransactWriteItems keeps moto's semantics: all or nothing."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from txn_local import moto_patches


@pytest.fixture
def dynamodb(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    moto_patches.apply()
    with mock_aws():
        import boto3

        client = boto3.client("dynamodb")
        for name in ("records", "counters"):
            client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        client.put_item(TableName="counters", Item={"pk": {"S": "c"}, "n": {"N": "1"}})
        client.put_item(TableName="records", Item={"pk": {"S": "taken"}})
        yield client


def actions(record: str) -> list[dict]:
    return [
        {
            "Update": {
                "TableName": "counters",
                "Key": {"pk": {"S": "c"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {
            "Put": {
                "TableName": "records",
                "Item": {"pk": {"S": record}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]


def counter(dynamodb) -> str:
    return dynamodb.get_item(TableName="counters", Key={"pk": {"S": "c"}})["Item"]["n"]["N"]


def test_a_committed_transaction_applies_every_action(dynamodb):
    dynamodb.transact_write_items(TransactItems=actions("new"))
    assert counter(dynamodb) == "2"
    assert "Item" in dynamodb.get_item(TableName="records", Key={"pk": {"S": "new"}})


def test_a_cancelled_transaction_undoes_the_actions_before_the_failed_one(dynamodb):
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(TransactItems=actions("taken"))
    assert error.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert counter(dynamodb) == "1"  # the update ran first and was rolled back


def test_a_cancelled_transaction_removes_items_it_created(dynamodb):
    failing = [
        {"Put": {"TableName": "records", "Item": {"pk": {"S": "fresh"}}}},
        {
            "ConditionCheck": {
                "TableName": "counters",
                "Key": {"pk": {"S": "c"}},
                "ConditionExpression": "n > :big",
                "ExpressionAttributeValues": {":big": {"N": "100"}},
            }
        },
    ]
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=failing)
    assert "Item" not in dynamodb.get_item(TableName="records", Key={"pk": {"S": "fresh"}})

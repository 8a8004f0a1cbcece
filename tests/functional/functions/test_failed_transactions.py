from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from tests.functional.functions.conftest import API_KEY_ID
from txn_domain.pan import redact_pans

PAN = "4111111111111111"


def sqs_event(*records):
    return {"Records": list(records)}


def test_given_a_dead_lettered_transaction_then_recorded_failed_with_reason_and_counts(
    failed_app, posted, sqs_record, aws, context, capsys, log_stream
):
    logs = log_stream(failed_app)
    queued = posted()
    body = queued["body"]
    record = sqs_record(
        body,
        receive_count=6,
        queue="transactions-dlq",
        attributes={k: v["stringValue"] for k, v in queued["messageAttributes"].items()},
    )
    capsys.readouterr()

    response = failed_app.lambda_handler(sqs_event(record), context)

    assert response == {"batchItemFailures": []}
    (item,) = aws.items("transactions")
    txn = json.loads(body)
    assert (item["transaction_id"], item["timestamp"], item["status"]) == (
        txn["transaction_id"],
        txn["timestamp"],
        "FAILED",
    )
    assert item["receive_count"] == 6
    assert item["api_key_id"] == API_KEY_ID  # who posted it, from the message's attribute
    assert item["enqueued_at"].endswith("Z")
    assert "6 receives" in item["reason"]
    assert '"FailedTransactions"' in capsys.readouterr().out
    assert '"level":"ERROR"' in logs.getvalue()


def test_given_an_unparseable_body_with_a_pan_then_recorded_by_hash_never_the_body(
    failed_app, sqs_record, aws, context, log_stream
):
    logs = log_stream(failed_app)
    record = sqs_record(json.dumps({"pan": PAN}))

    failed_app.lambda_handler(sqs_event(record), context)

    (item,) = aws.items("transactions")
    assert item["transaction_id"] == f"unparsed-{record['messageId']}"
    assert len(item["body_sha256"]) == 64
    # no hash of the PAN either: the body is hashed with card numbers redacted, so trying
    # every card number in the body cannot find the one it held
    assert item["body_sha256"] != hashlib.sha256(json.dumps({"pan": PAN}).encode()).hexdigest()
    assert item["body_sha256"] == hashlib.sha256(redact_pans(record["body"]).encode()).hexdigest()
    assert PAN not in json.dumps(item, default=str)
    assert PAN not in logs.getvalue()


def test_given_a_transaction_already_decided_then_its_verdict_is_kept(
    failed_app, fraud_app, accepted, sqs_record, aws, context
):
    body = accepted()
    fraud_app.lambda_handler(sqs_event(sqs_record(body)), context)

    failed_app.lambda_handler(sqs_event(sqs_record(body, receive_count=6)), context)

    (item,) = aws.items("transactions")
    assert item["status"] == "APPROVED"


def test_given_a_redelivered_dlq_message_then_one_record_and_one_alert(
    failed_app, accepted, sqs_record, aws, context, capsys
):
    record = sqs_record(accepted(), receive_count=6)
    failed_app.lambda_handler(sqs_event(record), context)
    capsys.readouterr()

    failed_app.lambda_handler(sqs_event(record), replace(context, aws_request_id="req-2"))

    assert len(aws.items("transactions")) == 1
    assert '"FailedTransactions"' not in capsys.readouterr().out


def test_given_the_sdk_resends_an_applied_put_then_the_failure_still_counts_and_alerts(
    failed_app, accepted, sqs_record, aws, context, capsys, log_stream, monkeypatch
):
    # A read timeout after DynamoDB applied the PutItem: botocore sends it again, and the
    # condition now finds the item this very invocation wrote.
    ddb = failed_app.store._ddb
    put_item = ddb.put_item

    def applied_then_resent(**request):
        put_item(**request)
        return put_item(**request)

    monkeypatch.setattr(ddb, "put_item", applied_then_resent)
    logs = log_stream(failed_app)
    capsys.readouterr()

    response = failed_app.lambda_handler(sqs_event(sqs_record(accepted())), context)

    assert response == {"batchItemFailures": []}
    (item,) = aws.items("transactions")
    assert (item["status"], item["recorded_by"]) == ("FAILED", context.aws_request_id)
    assert '"FailedTransactions"' in capsys.readouterr().out
    assert "recorded as FAILED" in logs.getvalue()


def test_given_the_table_is_gone_then_the_record_is_reported_failed(
    failed_app, accepted, sqs_record, aws, context
):
    record = sqs_record(accepted())
    aws.dynamodb.delete_table(TableName="transactions")

    response = failed_app.lambda_handler(sqs_event(record), context)

    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}


def test_given_a_flagged_transaction_dead_lettered_by_an_sns_outage_then_its_alert_is_published(
    fraud_app, failed_app, accepted, sqs_record, aws, context, capsys, monkeypatch
):
    body = accepted(card_bin="400000")  # blocklisted BIN: flagged
    with monkeypatch.context() as outage:
        outage.setattr(fraud_app.pipeline._alerts._sns, "publish_batch", _refuse)
        failed = fraud_app.lambda_handler(sqs_event(sqs_record(body)), context)
    assert failed["batchItemFailures"]  # stored FLAGGED, alert not out: the message will retry
    assert not aws.messages(aws.alerts_queue_url)
    capsys.readouterr()

    response = failed_app.lambda_handler(sqs_event(sqs_record(body, receive_count=6)), context)

    assert response == {"batchItemFailures": []}
    (item,) = aws.items("transactions")
    assert item["status"] == "FLAGGED"  # the verdict stays
    (message,) = aws.messages(aws.alerts_queue_url)
    alert = json.loads(message["Body"])
    assert alert["transaction_id"] == json.loads(body)["transaction_id"]
    assert alert["card"] == "400000******1111"
    assert '"FraudAlertsRepublished"' in capsys.readouterr().out


def test_given_sns_still_down_then_the_dead_lettered_flagged_message_fails_again(
    fraud_app, failed_app, accepted, sqs_record, aws, context, monkeypatch
):
    body = accepted(card_bin="400000")
    monkeypatch.setattr(fraud_app.pipeline._alerts._sns, "publish_batch", _refuse)
    fraud_app.lambda_handler(sqs_event(sqs_record(body)), context)
    monkeypatch.setattr(failed_app.alerts._sns, "publish_batch", _refuse)
    record = sqs_record(body, receive_count=6)

    response = failed_app.lambda_handler(sqs_event(record), context)

    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert aws.items("transactions")[0]["status"] == "FLAGGED"


def _refuse(**_: object) -> None:
    from botocore.exceptions import ClientError

    raise ClientError(
        {"Error": {"Code": "InternalError", "Message": "SNS is down"}}, "PublishBatch"
    )


def test_given_two_copies_of_one_transaction_in_one_batch_then_one_failure_counts(
    failed_app, accepted, sqs_record, aws, context, capsys
):
    # The validator queues a transaction again on an idempotent replay: both copies may reach
    # the DLQ and one batch. The second finds the first's item, written by this invocation for
    # another message: already recorded, not its own resent write.
    body = accepted()
    first, second = sqs_record(body, receive_count=6), sqs_record(body, receive_count=6)
    capsys.readouterr()

    response = failed_app.lambda_handler(sqs_event(first, second), context)

    assert response == {"batchItemFailures": []}
    assert len(aws.items("transactions")) == 1
    metrics = capsys.readouterr().out
    assert '"FailedTransactions":[1.0]' in metrics
    assert '"FailedAlreadyRecorded":[1.0]' in metrics

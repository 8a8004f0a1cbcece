from __future__ import annotations

import copy
import json
import time

import boto3
import pytest

from tests.functional.functions.conftest import API_KEY_ID, REGION
from txn_domain.velocity import PACK

PAN = "4111111111111111"


def sqs_event(*records):
    return {"Records": list(records)}


def test_given_good_bad_and_duplicate_records_then_only_the_bad_one_fails(
    fraud_app, accepted, sqs_record, aws, context
):
    good = accepted()
    other = accepted(card_token="tok_other", amount=2500)
    dup_a, dup_b = sqs_record(good), sqs_record(good)  # same message delivered twice
    bad = sqs_record('{"not": "a transaction"}')

    response = fraud_app.lambda_handler(sqs_event(dup_a, bad, dup_b, sqs_record(other)), context)

    assert response == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    items = aws.items("transactions")
    assert sorted(i["transaction_id"] for i in items) == sorted(
        {json.loads(good)["transaction_id"], json.loads(other)["transaction_id"]}
    )
    assert {i["status"] for i in items} == {"APPROVED"}


def test_given_a_merchant_item_that_does_not_validate_then_only_its_records_wait_for_the_mend(
    fraud_app, accepted, sqs_record, aws, context
):
    # GIVEN a sale of each of two merchants, and one merchant's item then written wrong by hand
    # (api_key_ids as a string, not a string set)
    good, hurt = accepted(), accepted(merchant_id="m_1002", card_token="tok_2")
    merchants = boto3.resource("dynamodb", region_name=REGION).Table("merchants")
    merchants.update_item(
        Key={"merchant_id": "m_1002"},
        UpdateExpression="SET api_key_ids = :one",
        ExpressionAttributeValues={":one": API_KEY_ID},
    )
    records = [sqs_record(good), sqs_record(hurt)]

    # WHEN the fraud detector takes them in one batch
    response = fraud_app.lambda_handler(sqs_event(*records), context)

    # THEN only the broken merchant's record fails (SQS retries it); the other is stored
    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
    assert [i["transaction_id"] for i in aws.items("transactions")] == [
        json.loads(good)["transaction_id"]
    ]
    # and once the item is mended, the retry is stored
    merchants.update_item(
        Key={"merchant_id": "m_1002"},
        UpdateExpression="SET api_key_ids = :set",
        ExpressionAttributeValues={":set": {API_KEY_ID}},
    )
    assert fraud_app.lambda_handler(sqs_event(records[1]), context) == {"batchItemFailures": []}
    assert len(aws.items("transactions")) == 2


def test_given_a_decided_record_then_item_has_the_stored_shape(
    fraud_app, accepted, sqs_record, aws, context
):
    body = json.loads(accepted())
    fraud_app.lambda_handler(sqs_event(sqs_record(json.dumps(body))), context)

    (item,) = aws.items("transactions")
    assert item["timestamp"] == body["timestamp"]
    assert item["merchant_id"] == "m_1001"
    assert (item["card_bin"], item["card_last4"], item["card_token"]) == (
        "411111",
        "1111",
        "tok_9f8e7d",
    )
    assert item["score"] == 0
    assert item["matched_rules"] == []
    assert item["rules_version"]


def test_given_a_redelivered_batch_then_nothing_is_written_or_counted_twice(
    fraud_app, accepted, sqs_record, aws, context
):
    batch = sqs_event(sqs_record(accepted()), sqs_record(accepted(card_token="tok_b")))
    fraud_app.lambda_handler(batch, context)
    records_before, counters_before = aws.items("transactions"), aws.items("velocity")

    response = fraud_app.lambda_handler(batch, context)

    assert response == {"batchItemFailures": []}
    assert aws.items("transactions") == records_before
    assert aws.items("velocity") == counters_before
    assert {i["pk"].split("#")[0] for i in counters_before} == {"card", "ip", "merchant"}


def test_given_a_crash_after_counting_then_the_redelivery_records_once_and_counts_once(
    fraud_app, accepted, sqs_record, aws, context, monkeypatch
):
    body = accepted(amount=1234)
    batch = sqs_event(sqs_record(body))
    store = fraud_app.pipeline._store
    real_execute = store.execute

    def crash(statements):  # the invocation dies after the counters, before the records
        raise RuntimeError("injected crash before the records step")

    monkeypatch.setattr(store, "execute", crash)
    first = fraud_app.lambda_handler(batch, context)
    counters_after_crash = {i["pk"]: i for i in aws.items("velocity")}
    monkeypatch.setattr(store, "execute", real_execute)

    second = fraud_app.lambda_handler(batch, context)
    third = fraud_app.lambda_handler(batch, context)

    assert len(first["batchItemFailures"]) == 1
    assert (second, third) == ({"batchItemFailures": []}, {"batchItemFailures": []})
    assert aws.items("transactions")[0]["transaction_id"] == json.loads(body)["transaction_id"]
    assert len(aws.items("transactions")) == 1
    counters = {i["pk"]: i for i in aws.items("velocity")}
    assert counters_after_crash["card#tok_9f8e7d"]["hn"] == 1
    assert (counters["card#tok_9f8e7d"]["hn"], counters["card#tok_9f8e7d"]["hs"]) == (1, 1234)
    ip = counters["ip#203.0.113.7"]  # windows only: its hour bucket holds one sale of 1234
    assert [v for k, v in ip.items() if k.startswith("d")] == [PACK + 1234]
    assert "hn" not in ip
    shards = [v for k, v in counters.items() if k.startswith("merchant#m_1001#")]
    assert not [k for k in counters_after_crash if k.startswith("merchant#")]
    assert (sum(s["hn"] for s in shards), sum(s["hs"] for s in shards)) == (1, 1234)


def test_given_three_transactions_on_one_card_then_card_counter_holds_three_with_ttl(
    fraud_app, accepted, sqs_record, aws, context
):
    batch = sqs_event(*(sqs_record(accepted(amount=1000 + i)) for i in range(3)))
    fraud_app.lambda_handler(batch, context)

    counters = {i["pk"]: i for i in aws.items("velocity")}
    card = counters["card#tok_9f8e7d"]
    assert (card["hn"], card["hs"]) == (3, 3003)
    assert card["expires_at"] > 0
    merchant_shards = [k for k in counters if k.startswith("merchant#m_1001#")]
    assert sum(counters[k]["hn"] for k in merchant_shards) == 3


def test_given_a_redelivery_mixed_with_a_new_record_then_only_the_new_one_counts(
    fraud_app, accepted, sqs_record, aws, context
):
    first = accepted()
    fraud_app.lambda_handler(sqs_event(sqs_record(first)), context)

    fraud_app.lambda_handler(sqs_event(sqs_record(first), sqs_record(accepted())), context)

    card = {i["pk"]: i for i in aws.items("velocity")}["card#tok_9f8e7d"]
    assert card["hn"] == 2
    assert len(aws.items("transactions")) == 2


def test_given_a_flagged_transaction_then_a_masked_alert_is_published(
    fraud_app, accepted, sqs_record, aws, context
):
    body = accepted(card_bin="400000")  # blocklisted BIN
    fraud_app.lambda_handler(sqs_event(sqs_record(body)), context)

    (item,) = aws.items("transactions")
    assert item["status"] == "FLAGGED"
    assert "blocklist-bin" in item["matched_rules"]
    (message,) = aws.messages(aws.alerts_queue_url)
    alert = json.loads(message["Body"])
    assert alert["card"] == "400000******1111"
    assert "card_token" not in alert
    assert alert["transaction_id"] == json.loads(body)["transaction_id"]


def test_given_an_eight_digit_bin_then_six_are_stored_and_alerted_and_the_blocklist_matches(
    fraud_app, accepted, sqs_record, aws, context
):
    body = json.loads(accepted(card_bin="40000012"))
    assert body["card_bin"] == "400000"  # the validator queues six
    # a message queued by a validator that kept eight (a rollout's old version) is cut too
    body["card_bin"] = "40000012"
    fraud_app.lambda_handler(sqs_event(sqs_record(json.dumps(body))), context)

    (item,) = aws.items("transactions")
    assert item["card_bin"] == "400000"
    assert "blocklist-bin" in item["matched_rules"]
    (message,) = aws.messages(aws.alerts_queue_url)
    assert json.loads(message["Body"])["card"] == "400000******1111"


def test_given_a_flagged_record_redelivered_then_alert_is_sent_again_but_record_unchanged(
    fraud_app, accepted, sqs_record, aws, context
):
    body = accepted(card_bin="400000")
    fraud_app.lambda_handler(sqs_event(sqs_record(body)), context)
    before = aws.items("transactions")

    fraud_app.lambda_handler(sqs_event(sqs_record(body)), context)

    assert aws.items("transactions") == before
    assert len(aws.messages(aws.alerts_queue_url)) == 2  # alerts are at least once


def test_given_a_batch_then_metrics_count_approved_and_flagged_by_rule(
    fraud_app, accepted, sqs_record, context, capsys
):
    batch = sqs_event(
        sqs_record(accepted()), sqs_record(accepted(card_bin="400000", card_token="tok_x"))
    )
    capsys.readouterr()
    fraud_app.lambda_handler(batch, context)

    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    totals = next(x for x in lines if "TransactionsApproved" in x)
    assert (totals["TransactionsApproved"], totals["TransactionsFlagged"]) == ([1.0], [1.0])
    assert any(x.get("rule_id") == "blocklist-bin" for x in lines)


def test_given_the_table_is_unavailable_then_every_record_fails_and_nothing_is_counted(
    fraud_app, accepted, sqs_record, aws, context
):
    records = [sqs_record(accepted()), sqs_record(accepted(card_token="tok_b"))]
    aws.dynamodb.delete_table(TableName="transactions")

    response = fraud_app.lambda_handler(sqs_event(*records), context)

    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {
        r["messageId"] for r in records
    }
    assert aws.items("velocity") == []


def test_given_records_then_no_log_line_holds_a_card_number(
    fraud_app, accepted, sqs_record, context, log_stream
):
    logs = log_stream(fraud_app)
    fraud_app.lambda_handler(
        sqs_event(sqs_record(json.dumps({"external_id": PAN})), sqs_record(accepted())), context
    )
    fraud_app.logger.warning("diagnostic", extra={"leak": f"card {PAN}"})

    text = logs.getvalue()
    assert "record not processed" in text
    assert PAN not in text


def test_given_a_redelivered_batch_then_the_card_profile_learns_each_sale_once(
    fraud_app, accepted, sqs_record, aws, context
):
    batch = sqs_event(*(sqs_record(accepted(amount=1000 + i)) for i in range(3)))
    fraud_app.lambda_handler(batch, context)
    card = {i["pk"]: i for i in aws.items("velocity")}["card#tok_9f8e7d"]
    weight = float(card["pr"].split(",")[4])
    assert 2.9 < weight <= 3  # three sales' weight (decayed by the seconds between)

    fraud_app.lambda_handler(batch, context)  # redelivered whole
    again = {i["pk"]: i for i in aws.items("velocity")}["card#tok_9f8e7d"]
    assert again == card


def test_given_visits_to_new_shops_then_the_card_item_keeps_their_share_beside_the_profile(
    fraud_app, accepted, sqs_record, aws, context
):
    # ADR 0026: in an attribute of its own (px), so a build that reads pr as exactly its
    # sections still reads the card; an item written before it (no px) reads a share of 0
    def visit(merchant_id):
        body = accepted(merchant_id=merchant_id, channel="card_present", currency="USD")
        fraud_app.lambda_handler(sqs_event(sqs_record(body)), context)
        return {i["pk"]: i for i in aws.items("velocity")}["card#tok_9f8e7d"]

    assert visit("m_1001")["px"] == 0  # a card's first sale: nothing to be new to yet
    card = visit("m_1002")  # a first visit
    assert float(card["px"]) == pytest.approx(0.1)
    assert card["pr"].count("|") == 3

    table = boto3.resource("dynamodb", region_name=REGION).Table("velocity")
    table.update_item(Key={"pk": "card#tok_9f8e7d", "sk": "v"}, UpdateExpression="REMOVE px")
    assert float(visit("m_2001")["px"]) == pytest.approx(0.1)  # from 0: one more first visit


def test_given_another_writer_updated_the_card_then_the_profile_is_folded_from_its_item(
    fraud_app, accepted, sqs_record, aws, context
):
    fraud_app.lambda_handler(sqs_event(sqs_record(accepted(amount=1000))), context)
    velocity = fraud_app.pipeline._velocity
    real_load = velocity.load
    key = "card#tok_9f8e7d"
    before = real_load([key], int(time.time()))[0][key]  # the card as one writer reads it

    def load_stale(keys, now, also=None, **kw):  # ... while another writer adds a sale meanwhile
        counters, found = real_load(keys, now, also, **kw)
        counters[key] = copy.deepcopy(before)
        return counters, found

    fraud_app.lambda_handler(sqs_event(sqs_record(accepted(amount=2000))), context)
    velocity.load = load_stale
    try:
        response = fraud_app.lambda_handler(sqs_event(sqs_record(accepted(amount=3000))), context)
    finally:
        del velocity.load
    assert response == {"batchItemFailures": []}
    card = {i["pk"]: i for i in aws.items("velocity")}[key]
    assert card["hn"] == 3
    assert 2.9 < float(card["pr"].split(",")[4]) <= 3  # all three sales: none overwritten

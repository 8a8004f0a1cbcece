"""The queue consumers count the records of each batch and those they report back to SQS as
failed: a failed record is retried, not raised, so Lambda's ``Errors`` never sees it, and the
error-rate alarm divides these two instead (observability)."""

from __future__ import annotations

from tests.functional.functions.test_service_name import emf_lines
from txn_spec.shapes import RECORDS_FAILED_METRIC, RECORDS_PROCESSED_METRIC


def counted(out: str) -> tuple[int, ...]:
    (line,) = [line for line in emf_lines(out) if RECORDS_PROCESSED_METRIC in line]
    values = [line[RECORDS_PROCESSED_METRIC], line[RECORDS_FAILED_METRIC]]
    return tuple(int(sum(v)) if isinstance(v, list) else int(v) for v in values)


def test_the_fraud_detector_counts_processed_and_failed_records(
    fraud_app, accepted, sqs_record, context, capsys
) -> None:
    records = [sqs_record(accepted()), sqs_record(accepted()), sqs_record("not a transaction")]
    capsys.readouterr()

    response = fraud_app.lambda_handler({"Records": records}, context)

    assert len(response["batchItemFailures"]) == 1
    assert counted(capsys.readouterr().out) == (3, 1)


def test_the_failed_transactions_function_counts_a_record_it_cannot_finish(
    failed_app, sqs_record, context, capsys, monkeypatch
) -> None:
    def refuse(item):
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(failed_app.store, "put_if_new", refuse)
    records = [sqs_record("not a transaction"), sqs_record("nor this")]
    capsys.readouterr()

    response = failed_app.lambda_handler({"Records": records}, context)

    assert len(response["batchItemFailures"]) == 2
    assert counted(capsys.readouterr().out) == (2, 2)

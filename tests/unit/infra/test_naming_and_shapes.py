"""The naming function and the resource shapes refuse what AWS would refuse later."""

from __future__ import annotations

import fnmatch

import pytest

from txn_domain.models import Status
from txn_spec import shapes
from txn_spec.naming import (
    NamingError,
    backend_url,
    function_log_group,
    physical_name,
    physical_name_pattern,
    secrets_provider,
    state_bucket,
    waf_log_group,
)


def test_physical_name_joins_app_environment_component() -> None:
    assert physical_name("txn", "prod", "transactions-dlq") == "txn-prod-transactions-dlq"


@pytest.mark.parametrize(
    ("app", "env", "component"),
    [("Txn", "dev", "x"), ("txn", "dev_1", "x"), ("txn", "dev", "-x"), ("txn", "dev", "a--b")],
)
def test_malformed_parts_are_refused(app: str, env: str, component: str) -> None:
    with pytest.raises(NamingError, match="must be lower-case"):
        physical_name(app, env, component)


def test_names_longer_than_aws_allows_are_refused() -> None:
    with pytest.raises(NamingError, match="AWS allows 64"):
        physical_name("txn", "dev", "x" * 60)


def test_the_name_pattern_matches_every_physical_name_of_its_environment_only() -> None:
    pattern = physical_name_pattern("txn", "dev")
    assert fnmatch.fnmatchcase(physical_name("txn", "dev", "validator-error-rate"), pattern)
    assert not fnmatch.fnmatchcase(physical_name("txn", "prod", "validator-error-rate"), pattern)
    assert not fnmatch.fnmatchcase(physical_name("txn", "devx", "validator-error-rate"), pattern)
    with pytest.raises(NamingError, match="must be lower-case"):
        physical_name_pattern("txn", "Dev")


def test_log_group_names() -> None:
    assert function_log_group("txn-dev-validator") == "/aws/lambda/txn-dev-validator"
    assert waf_log_group("txn", "dev") == "aws-waf-logs-txn-dev-waf"


def test_state_backend_names_are_global_and_regional() -> None:
    bucket = state_bucket("txn", "123456789012", "ap-southeast-2")
    assert bucket == "txn-pulumi-state-123456789012-ap-southeast-2"
    assert backend_url(bucket, "ap-southeast-2") == f"s3://{bucket}?region=ap-southeast-2"
    assert (
        secrets_provider("txn", "us-east-2") == "awskms://alias/txn-pulumi-secrets?region=us-east-2"
    )


def test_a_state_bucket_name_s3_would_refuse_is_refused() -> None:
    with pytest.raises(NamingError, match="not a valid S3 bucket name"):
        state_bucket("txn", "123456789012", "x" * 40)


@pytest.mark.parametrize("app", ["sthree", "amzn-s3-demo"])
def test_a_state_bucket_name_with_a_prefix_s3_reserves_is_refused(app: str) -> None:
    with pytest.raises(NamingError, match="a prefix S3 reserves"):
        state_bucket(app, "123456789012", "us-east-2")


def test_transactions_table_keys_match_the_mission() -> None:
    table = shapes.TRANSACTIONS_TABLE
    assert (table.hash_key, table.range_key) == ("transaction_id", "timestamp")


def test_the_only_index_is_the_sparse_review_index_newest_first_per_merchant() -> None:
    (index,) = shapes.TRANSACTIONS_TABLE.indexes
    assert index is shapes.REVIEW_INDEX
    assert (index.hash_key, index.range_key) == (shapes.REVIEW_KEY, "timestamp")
    # merchant_id itself is no key: every record has one, so an index on it copies every write
    assert "merchant_id" not in shapes.TRANSACTIONS_TABLE.attributes


def test_review_statuses_are_the_two_that_need_a_person() -> None:
    assert {s.value for s in Status} - shapes.REVIEW_STATUSES == {"APPROVED"}
    assert {s.value for s in Status} >= shapes.REVIEW_STATUSES


def test_table_shape_refuses_untyped_keys() -> None:
    with pytest.raises(ValueError, match="key attributes without a type"):
        shapes.TableShape("t", "pk", "sk", {"pk": "S"})


def test_queue_chain_keeps_messages_longer_downstream() -> None:
    queue = shapes.TRANSACTIONS_QUEUE
    assert queue.visibility_timeout_seconds == 300
    assert queue.dead_letter is shapes.TRANSACTIONS_DLQ
    assert queue.dead_letter.message_retention_seconds == 14 * shapes.DAY
    assert queue.dead_letter.message_retention_seconds > queue.message_retention_seconds


def test_a_dlq_that_forgets_sooner_than_its_source_is_refused() -> None:
    short = shapes.QueueShape("dlq", 300, shapes.DAY)
    with pytest.raises(ValueError, match="DLQ retention"):
        shapes.QueueShape("q", 300, 4 * shapes.DAY, dead_letter=short, max_receive_count=5)


def test_visibility_timeout_covers_five_consumer_timeouts_plus_window() -> None:
    for source in shapes.EVENT_SOURCES:
        needed = 5 * source.function.timeout_seconds + source.maximum_batching_window_seconds
        assert source.queue.visibility_timeout_seconds >= needed


def test_event_source_concurrency_within_reserved_concurrency() -> None:
    source = shapes.FRAUD_DETECTOR_SOURCE
    assert source.function.reserved_concurrency == 100
    assert source.maximum_concurrency <= source.function.reserved_concurrency

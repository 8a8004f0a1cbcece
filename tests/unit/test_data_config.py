"""The data layer's config: warm throughput (0, or a real pre-warm within the table maximum) and
capacity (on-demand, or provisioned with auto scaling bounds that make sense together)."""

from __future__ import annotations

import pytest

from txn_infra import config
from txn_infra.config import ConfigError, DataConfig, parse
from txn_spec import shapes


def data_config(**values: object) -> DataConfig:
    return parse(DataConfig, {"owner": "data", "deletionProtection": "true", **values}, "txn-data")


def test_warm_write_units_default_to_the_on_demand_initial() -> None:
    assert data_config().warm_write_units_per_second == 0


@pytest.mark.parametrize("units", ["100", "3999", "40001"])
def test_warm_write_units_below_the_initial_or_above_the_table_maximum_fail(units: str) -> None:
    with pytest.raises(ConfigError, match="txn-data:warmWriteUnitsPerSecond"):
        data_config(warmWriteUnitsPerSecond=units)


def test_warm_write_units_within_range_are_kept() -> None:
    assert data_config(warmWriteUnitsPerSecond="16000").warm_write_units_per_second == 16000


# --- capacity modes and auto scaling bounds ----------------------------------------------------

PROVISIONED = {
    "transactionsCapacity": "provisioned",
    "transactionsReadCapacity": "25-3000",
    "transactionsWriteCapacity": "50-12000",
}


def test_every_table_is_on_demand_by_default() -> None:
    cfg = data_config()
    assert [cfg.capacity(shape) for shape in shapes.TABLES] == [None] * len(shapes.TABLES)


def test_a_provisioned_table_gets_its_ranges_and_the_shared_target() -> None:
    cfg = data_config(**PROVISIONED, targetUtilizationPercent="60")
    capacity = cfg.capacity(shapes.TRANSACTIONS_TABLE)
    assert capacity is not None
    assert (capacity.read.min, capacity.read.max) == (25, 3000)
    assert (capacity.write.min, capacity.write.max) == (50, 12000)
    assert capacity.target_utilization_percent == 60
    assert cfg.capacity(shapes.VELOCITY_TABLE) is None


def test_an_index_takes_the_tables_range_unless_given_its_own() -> None:
    same = data_config(**PROVISIONED).capacity(shapes.TRANSACTIONS_TABLE)
    own = data_config(**PROVISIONED, transactionsIndexWriteCapacity="5-12000").capacity(
        shapes.TRANSACTIONS_TABLE
    )
    assert same is not None
    assert own is not None
    assert (same.index_write, same.index_read) == (same.write, same.read)
    assert (own.index_write.min, own.index_write.max) == (5, 12000)


def test_only_the_queue_fed_tables_can_be_provisioned() -> None:
    # exactly the tables no API-path function uses (the validator's wait on them is the client's)
    components = {t.component for t in shapes.TABLES}
    synchronous = {t.component for t in shapes.synchronous_tables()}
    assert {t.component for t in config.PROVISIONABLE_TABLES} == components - synchronous
    assert {t.component for t in shapes.synchronous_tables()} == {"merchants", "idempotency"}


@pytest.mark.parametrize(
    ("values", "says"),
    [
        (
            {"transactionsWriteCapacity": "abc"},
            "txn-data:transactionsWriteCapacity .*must be .<min>-<max>.",
        ),
        ({"velocityWriteCapacity": "100-10"}, "minimum 100 is above maximum 10"),
        ({"velocityWriteCapacity": "0-10"}, "txn-data:velocityWriteCapacity"),
        ({"velocityWriteCapacity": "1-40001"}, "txn-data:velocityWriteCapacity"),
        ({"transactionsCapacity": "PROVISIONED"}, "txn-data:transactionsCapacity"),
        ({"targetUtilizationPercent": "19"}, "txn-data:targetUtilizationPercent"),
        ({"targetUtilizationPercent": "91"}, "txn-data:targetUtilizationPercent"),
    ],
)
def test_malformed_capacity_values_fail_naming_the_key(values: dict, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        data_config(**values)


def test_ranges_on_an_on_demand_table_are_refused_as_having_no_effect() -> None:
    with pytest.raises(ConfigError, match="velocityReadCapacity has no effect while"):
        data_config(velocityReadCapacity="5-100")


def test_a_provisioned_table_without_both_ranges_is_refused() -> None:
    with pytest.raises(ConfigError, match="velocityReadCapacity and velocityWriteCapacity must"):
        data_config(velocityCapacity="provisioned")


def test_prewarming_above_the_auto_scaling_maximum_is_refused() -> None:
    with pytest.raises(ConfigError, match="12000 is above transactionsWriteCapacity maximum 6000"):
        data_config(
            **{**PROVISIONED, "transactionsWriteCapacity": "50-6000"},
            warmWriteUnitsPerSecond="12000",
        )


def test_prewarming_an_index_above_its_own_maximum_is_refused() -> None:
    with pytest.raises(ConfigError, match="transactionsIndexWriteCapacity maximum 5000"):
        data_config(
            **PROVISIONED,
            transactionsIndexWriteCapacity="5-5000",
            warmWriteUnitsPerSecond="12000",
        )


def test_prewarming_below_the_provisioned_minimum_is_refused() -> None:
    with pytest.raises(ConfigError, match="4000 is below transactionsWriteCapacity minimum 5000"):
        data_config(
            **{**PROVISIONED, "transactionsWriteCapacity": "5000-12000"},
            warmWriteUnitsPerSecond="4000",
        )


def test_prewarming_a_provisioned_table_to_its_maximum_is_kept() -> None:
    cfg = data_config(**PROVISIONED, warmWriteUnitsPerSecond="12000")
    assert cfg.warm_write_units_per_second == 12000


def test_maxima_above_the_accounts_quota_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"write capacity maxima .* add up to 100000 units"):
        data_config(
            transactionsCapacity="provisioned",
            transactionsReadCapacity="1-100",
            transactionsWriteCapacity="1-40000",  # the index takes the table's: 80,000
            velocityCapacity="provisioned",
            velocityReadCapacity="1-100",
            velocityWriteCapacity="1-20000",
        )


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        data_config(velocityCapacity="provisioned", transactionsReadCapacity="1-2")
    assert "velocityReadCapacity and velocityWriteCapacity" in str(caught.value)
    assert "transactionsReadCapacity has no effect" in str(caught.value)

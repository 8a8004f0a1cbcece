"""The data layer's warm throughput setting: 0, or a real pre-warm within the table maximum."""

from __future__ import annotations

import pytest

from txn_infra.config import ConfigError, DataConfig, parse


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

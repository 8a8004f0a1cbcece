"""The data layer's config: warm throughput is 0, or a real pre-warm within the on-demand table
maximum; no capacity keys (every table is on-demand)."""

from __future__ import annotations

import pytest
import yaml

from txn_infra.config import ConfigError, DataConfig, parse
from txn_infra.offline import REPO_ROOT


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


def test_pulumi_yaml_declares_exactly_the_keys_the_model_reads() -> None:
    # GIVEN the data project's declared config (what `pulumi config` documents)
    declared = yaml.safe_load((REPO_ROOT / "stacks/data/Pulumi.yaml").read_text())["config"]
    # THEN it is the model's keys, no more: no capacity mode or auto scaling bounds are left
    read = {field.alias for field in DataConfig.model_fields.values()}
    assert set(declared) == read
    assert not [key for key in declared if "apacity" in key or "tilization" in key]

"""The targets the platform is held to: the rate it is sized for, its capacity and cost goals."""

from __future__ import annotations

TARGET_TPS = 1_000  # the steady peak the workload is figured at and headroom is measured over
CAPACITY_GOAL_TPS = 3_000
COST_GOAL_PER_MILLION = 6.00

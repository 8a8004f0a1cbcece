"""The month's bill at any steady volume, and the volume from which it meets the cost goal."""

from __future__ import annotations

from dataclasses import dataclass

from txn_perf import model, pricing
from txn_perf.discovery import Declared
from txn_perf.goals import CAPACITY_GOAL_TPS, COST_GOAL_PER_MILLION, TARGET_TPS
from txn_perf.workload import workload

# Steady daily volumes the cost is also priced at (the API's price per request falls with the
# month's volume; X-Ray's reservoir is a larger share of a slower stream), up to the capacity goal.
VOLUMES_PER_DAY = (10e6, 30e6, TARGET_TPS * 86_400.0, CAPACITY_GOAL_TPS * 86_400.0)


@dataclass(frozen=True)
class Bill:
    """What the month's bill depends on besides its volume: price it at any steady volume."""

    deployment: model.Deployment
    cpu: dict[str, float]
    warm: dict[str, float]
    trims: Declared

    def per_million(self, per_day: float) -> float:
        """Cost per million accepted transactions at a steady ``per_day`` (the API's tiers and
        X-Ray's reservoir weigh on it)."""
        d, tps = self.deployment, per_day / 86_400.0
        w = workload(d, self.cpu, self.warm, self.trims, tps)
        return pricing.costs(d, w, tps).per_million

    def by_volume(self) -> list[tuple[float, float]]:
        """Cost per million accepted transactions at each of :data:`VOLUMES_PER_DAY`."""
        return [(per_day, self.per_million(per_day)) for per_day in VOLUMES_PER_DAY]

    def break_even(self, goal: float = COST_GOAL_PER_MILLION) -> float | None:
        """The lowest steady daily volume (up to :data:`VOLUMES_PER_DAY`'s highest) at which
        the cost per million meets ``goal``, to within 0.1%; ``None`` if it does not there."""
        high = max(VOLUMES_PER_DAY)
        if self.per_million(high) > goal:
            return None
        low = 1e5  # 100,000 a day: far above any goal (the API's first tier, X-Ray's reservoir)
        while high / low > 1.001:  # the cost falls as the volume grows
            mid = (low * high) ** 0.5
            if self.per_million(mid) <= goal:
                high = mid
            else:
                low = mid
        return high

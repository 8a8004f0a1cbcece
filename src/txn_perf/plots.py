"""The capacity report's two pictures: capacity per component, and the bill by service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from txn_perf.model import Component


def write_plots(
    stack: str,
    components: Sequence[Component],
    goal_tps: float,
    by_service: Mapping[str, float],
    goal_per_million: float,
    out_dir: Path,
) -> list[Path]:
    """Write ``capacity-<stack>.png`` and ``cost-<stack>.png`` into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    matplotlib.rcParams["text.parse_math"] = False  # "$" is dollars here
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    out_dir.mkdir(parents=True, exist_ok=True)
    shown = sorted((c for c in components if c.max_tps != float("inf")), key=lambda c: c.max_tps)
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(shown) + 1.6))
    first = shown[0].max_tps
    ax.barh(
        [c.name for c in shown],
        [c.max_tps for c in shown],
        color=["tab:red" if c.max_tps == first else "tab:blue" for c in shown],
    )
    ax.axvline(goal_tps, color="black", linestyle="--", label=f"goal {goal_tps:,.0f} TPS")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(right=shown[-1].max_tps * 5)  # room for the largest bar's label
    ax.set_xlabel("accepted transactions per second (log scale)")
    ax.set_title(f"Capacity per component, stack '{stack}' (bottleneck in red: {first:,.0f} TPS)")
    for y, c in enumerate(shown):
        ax.text(c.max_tps, y, f" {c.max_tps:,.0f}", va="center", fontsize=8)
    ax.legend(loc="lower right")
    fig.tight_layout()
    capacity_png = out_dir / f"capacity-{stack}.png"
    fig.savefig(capacity_png, dpi=110)
    plt.close(fig)

    services = sorted(by_service.items(), key=lambda kv: kv[1])
    total = sum(v for _, v in services)
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(services) + 1.6))
    ax.barh([name for name, _ in services], [value for _, value in services], color="tab:green")
    for y, (_, value) in enumerate(services):
        ax.text(value, y, f" ${value:.2f}", va="center", fontsize=8)
    ax.set_xlabel("$ per million accepted transactions")
    verdict = "met" if total <= goal_per_million else "NOT met"
    ax.set_title(
        f"Bill by service, stack '{stack}': ${total:.2f} per million "
        f"(goal ${goal_per_million:.2f}: {verdict})"
    )
    fig.tight_layout()
    cost_png = out_dir / f"cost-{stack}.png"
    fig.savefig(cost_png, dpi=110)
    plt.close(fig)
    return [capacity_png, cost_png]

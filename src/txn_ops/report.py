"""What a run reports: a row per step, and the console that prints progress and the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Row:
    layer: str
    action: str
    result: str
    changes: str = ""
    seconds: float | None = None


@dataclass
class Report:
    command: str
    stack: str
    rows: list[Row] = field(default_factory=list)
    needs_update: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(row.result == "failed" for row in self.rows)

    def result_of(self, layer: str, action: str) -> str:
        return next(r.result for r in self.rows if r.layer == layer and r.action == action)


class Console:
    """Progress lines and the closing table; writes through ``emit`` (print by default)."""

    def __init__(self, emit: Callable[[str], None] = print) -> None:
        self.emit = emit

    def step(self, index: int, total: int, action: str, layer: str, detail: str) -> None:
        self.emit(f"==> [{index}/{total}] {action} {layer} ({detail})")

    def note(self, text: str) -> None:
        self.emit(f"    {text}")

    def table(self, report: Report) -> None:
        header = ("layer", "action", "result", "changes", "duration")
        lines = [
            (
                r.layer,
                r.action,
                r.result,
                r.changes,
                "" if r.seconds is None else f"{r.seconds:.1f}s",
            )
            for r in report.rows
        ]
        widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=False)]
        self.emit("")
        self.emit(f"Summary: {report.command} {report.stack}")
        for line in (header, *lines):
            self.emit("  " + "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
        if report.needs_update:
            joined = " ".join(report.needs_update)
            self.emit(
                f"Downstream layers that now need an update: {', '.join(report.needs_update)}"
                f"\n  run: ./noxw -s deploy -- --stack {report.stack} {joined}"
            )

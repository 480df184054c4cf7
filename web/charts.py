"""Charts as server-rendered SVG: the geometry is computed here, the markup is a template.
No script draws anything, so the charts print, work offline and need no library."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    caption: str  # what the bar's number means, formatted for the reader
    y: float
    width: float
    note: str = ""


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    bar_height: int

    @property
    def plot_width(self) -> int:
        return self.width - self.label_width - 10


def bar_chart(
    items: list[tuple[str, float, str, str]],
    *,
    width: int = 640,
    label_width: int = 150,
    bar_height: int = 26,
    gap: int = 14,
) -> BarChart:
    """Horizontal bars: ``(label, value, caption, note)`` each; the longest bar spans the plot.
    A note (e.g. the conversion to the next stage) is written under the bar."""
    largest = max((value for _, value, _, _ in items), default=0) or 1
    plot = width - label_width - 10
    bars = []
    y = 0.0
    for label, value, caption, note in items:
        bars.append(Bar(label, value, caption, y, max(2.0, plot * value / largest), note))
        y += bar_height + gap + (14 if note else 0)
    return BarChart(bars, width, int(y) or bar_height, label_width, bar_height)


def funnel_chart(stages: list[dict[str, Any]], count_label: Any, note: Any) -> BarChart:
    """The funnel's open stages by count; each note gives the conversion to the next stage."""
    return bar_chart(
        [
            (
                stage["name"],
                float(stage["count"]),
                count_label(stage),
                note(stage),
            )
            for stage in stages
        ],
        width=960,
        label_width=170,
        bar_height=30,
    )

"""Charts as inline SVG, rendered on the server (no scripts, no external assets).

Pure functions: a series in, SVG text out, so the figures a chart shows are tested
directly. Every label is XML-escaped; the y axis is a percentage from 0 to 100.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape

WIDTH, HEIGHT = 960, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 24, 48
SERIES_COLORS = ("#1f5fa8", "#2e8b57", "#8e44ad", "#d35400")
TARGET_COLOR = "#c0392b"
MILESTONE_COLOR = "#7f8c8d"
POINT_COLOR = "#e67e22"


@dataclass(frozen=True)
class Series:
    """One line: a value (percent, or None where there is no rate) per day."""

    label: str
    days: tuple[date, ...]
    values: tuple[float | None, ...]
    color: str = SERIES_COLORS[0]


@dataclass(frozen=True)
class Chart:
    title: str
    start: date
    end: date
    series: tuple[Series, ...] = ()
    targets: tuple[tuple[str, float], ...] = ()  # (label, percent): horizontal lines
    milestones: tuple[tuple[str, date], ...] = ()  # (label, day): vertical lines (R10)
    points: tuple[tuple[str, date, float], ...] = field(default=())  # (label, day, percent): published figures


def x_of(day: date, start: date, end: date) -> float:
    span = max((end - start).days, 1)
    return LEFT + (WIDTH - LEFT - RIGHT) * (day - start).days / span


def y_of(percent: float) -> float:
    clamped = min(max(percent, 0.0), 100.0)
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - clamped / 100.0)


def polyline_points(series: Series, start: date, end: date) -> list[str]:
    """The "x,y" pairs of a series inside [start, end]; days without a rate are left out."""
    return [f"{x_of(d, start, end):.1f},{y_of(v):.1f}" for d, v in zip(series.days, series.values)
            if v is not None and start <= d <= end]


def line_chart(chart: Chart) -> str:
    """The chart as one <svg> element (role=img, with a <title> for screen readers)."""
    start, end = chart.start, chart.end
    if end < start:
        raise ValueError("the chart's end lies before its start")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}"'
             f' width="{WIDTH}" height="{HEIGHT}"><title>{escape(chart.title)}</title>',
             f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}"'
             ' fill="#ffffff" stroke="#cccccc"/>']
    for percent in range(0, 101, 20):
        y = y_of(percent)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#eeeeee"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{percent}%</text>')
    for day in _month_starts(start, end):
        x = x_of(day, start, end)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" class="axis">'
                     f'{day.month}月</text>')
    for label, day in chart.milestones:
        if start <= day <= end:
            x = x_of(day, start, end)
            parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}"'
                         f' stroke="{MILESTONE_COLOR}" stroke-dasharray="3 3"><title>{escape(label)} {day}</title></line>')
    for label, percent in chart.targets:
        y = y_of(percent)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{TARGET_COLOR}"'
                     f' stroke-width="2" stroke-dasharray="8 4"/>'
                     f'<text x="{WIDTH - RIGHT - 4}" y="{y - 5:.1f}" text-anchor="end" class="target"'
                     f' fill="{TARGET_COLOR}">{escape(label)}</text>')
    for series in chart.series:
        points = polyline_points(series, start, end)
        if points:
            parts.append(f'<polyline fill="none" stroke="{series.color}" stroke-width="3" stroke-linejoin="round"'
                         f' points="{" ".join(points)}"><title>{escape(series.label)}</title></polyline>')
    for label, day, percent in chart.points:
        if start <= day <= end:
            parts.append(f'<circle cx="{x_of(day, start, end):.1f}" cy="{y_of(percent):.1f}" r="5"'
                         f' fill="{POINT_COLOR}"><title>{escape(label)} {day}：{percent:.2f}%</title></circle>')
    parts.append(_legend(chart))
    parts.append("</svg>")
    return "".join(parts)


def _legend(chart: Chart) -> str:
    items = [(s.label, s.color, "line") for s in chart.series]
    items += [(label, TARGET_COLOR, "line") for label, _ in chart.targets[:1]]
    if chart.points:
        items.append(("已发布通报", POINT_COLOR, "dot"))
    out, x = [], LEFT + 8
    for label, color, shape in items:
        mark = (f'<circle cx="{x + 8}" cy="{TOP + 12}" r="5" fill="{color}"/>' if shape == "dot" else
                f'<line x1="{x}" y1="{TOP + 12}" x2="{x + 16}" y2="{TOP + 12}" stroke="{color}" stroke-width="3"/>')
        out.append(f'{mark}<text x="{x + 22}" y="{TOP + 16}" class="legend">{escape(label)}</text>')
        x += 40 + 14 * len(label)
    return "".join(out)


def _month_starts(start: date, end: date) -> list[date]:
    found, year, month = [], start.year, start.month
    while True:
        first = date(year, month, 1)
        if first > end:
            return found
        if first >= start:
            found.append(first)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def bar(percent: float | None, target: float | None = None) -> str:
    """A small horizontal bar for a table cell: the rate, and the target as a tick."""
    width = 120
    fill = 0 if percent is None else min(max(percent, 0.0), 100.0) * width / 100
    tick = "" if target is None else (f'<line x1="{target * width / 100:.1f}" y1="0" x2="{target * width / 100:.1f}"'
                                      f' y2="12" stroke="{TARGET_COLOR}" stroke-width="2"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="bar" width="{width}" height="12" role="img">'
            f'<rect width="{width}" height="12" fill="#e8edf3"/><rect width="{fill:.1f}" height="12"'
            f' fill="{SERIES_COLORS[0]}"/>{tick}</svg>')


def percent_value(text: str | None) -> float | None:
    """A rate's percent string ("66.67") as a float for drawing; None stays None."""
    return None if text is None else float(text)


def daily_values(days: Sequence[date], numerators: Sequence[int], denominator: int) -> tuple[float | None, ...]:
    """Percent per day against one denominator (None when it is zero: no rate, not 0%)."""
    if denominator == 0:
        return tuple(None for _ in days)
    return tuple(100.0 * n / denominator for n in numerators)

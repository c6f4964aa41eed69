"""Inline SVG charts for the HTML report, written by hand.

The page must work offline, attached to an e-mail or opened years later, so there is no
chart library to load: four chart shapes are a few dozen lines of SVG each, every label
is escaped (questions are customers' own words), and each bar or point carries a
``<title>`` so hovering shows its exact number.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 40
COLORS = {"bot": "#2e7d32", "escalated": "#c62828", "other": "#90a4ae", "line": "#1565c0"}


def _svg(chart_id: str, label: str, body: str, height: int = HEIGHT) -> str:
    return (
        f'<svg id="{chart_id}" class="chart" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def _axis(top_value: float, unit: str = "") -> str:
    """A baseline, and the top value written on the left."""
    y0 = HEIGHT - BOTTOM
    return (
        f'<line class="axis" x1="{LEFT}" y1="{y0}" x2="{WIDTH - RIGHT}" y2="{y0}" '
        f'stroke="#555"/><line class="grid" x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" '
        f'y2="{TOP}" stroke="#ddd"/><text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" '
        f'font-size="11">{top_value:g}{escape(unit)}</text>'
        f'<text x="{LEFT - 6}" y="{y0}" text-anchor="end" font-size="11">0</text>'
    )


def _x_labels(labels: Sequence[str], step: float) -> str:
    """Day labels under the bars, thinned so they never overlap."""
    every = max(1, int(48 // max(step, 1)) + 1)
    out = []
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            out.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                       f'font-size="10">{escape(label)}</text>')  # fmt: skip
    return "".join(out)


def stacked_days(chart_id: str, label: str, days: Sequence[str],
                 series: Sequence[tuple[str, Sequence[int], str]]) -> str:  # fmt: skip
    """Bars per day, stacked by series (name, values per day, colour)."""
    totals = [sum(values[i] for _, values, _ in series) for i in range(len(days))]
    top = max([*totals, 1])
    step = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    scale = (HEIGHT - TOP - BOTTOM) / top
    bars = []
    for i, day in enumerate(days):
        y = float(HEIGHT - BOTTOM)
        for name, values, color in series:
            h = values[i] * scale
            if values[i]:
                y -= h
                bars.append(
                    f'<rect class="bar" x="{LEFT + step * i + step * 0.1:.1f}" y="{y:.1f}" '
                    f'width="{step * 0.8:.1f}" height="{h:.1f}" fill="{color}">'
                    f"<title>{escape(day)}: {values[i]} {escape(name)}</title></rect>"
                )
    legend = "".join(
        f'<rect x="{LEFT + 140 * k}" y="{HEIGHT - 14}" width="10" height="10" fill="{color}"/>'
        f'<text x="{LEFT + 140 * k + 14}" y="{HEIGHT - 5}" font-size="11">{escape(name)}</text>'
        for k, (name, _, color) in enumerate(series)
    )
    body = _axis(top) + "".join(bars) + _x_labels(days, step) + legend
    return _svg(chart_id, label, body)


def line_days(chart_id: str, label: str, days: Sequence[str], values: Sequence[float | None],
              low: float, high: float) -> str:  # fmt: skip
    """A line through the days that have a value (gaps where there is none)."""
    step = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    scale = (HEIGHT - TOP - BOTTOM) / (high - low)
    points = [
        (LEFT + step * (i + 0.5), HEIGHT - BOTTOM - (v - low) * scale, day, v)
        for i, (day, v) in enumerate(zip(days, values, strict=True))
        if v is not None
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
    dots = "".join(
        f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLORS["line"]}">'
        f"<title>{escape(day)}: {v:.2f}</title></circle>"
        for x, y, day, v in points
    )
    line = (f'<polyline class="line" points="{path}" fill="none" stroke="{COLORS["line"]}" '
            f'stroke-width="2"/>') if len(points) > 1 else ""  # fmt: skip
    body = _axis(high) + line + dots + _x_labels(days, step)
    return _svg(chart_id, label, body)


def bars(chart_id: str, label: str, items: Sequence[tuple[str, int]], color: str) -> str:
    """Vertical bars for a few named values (e.g. the CSAT scores 1 to 5)."""
    top = max([v for _, v in items] + [1])
    step = (WIDTH - LEFT - RIGHT) / max(len(items), 1)
    scale = (HEIGHT - TOP - BOTTOM) / top
    out = []
    for i, (name, value) in enumerate(items):
        h = value * scale
        x = LEFT + step * i + step * 0.2
        out.append(
            f'<rect class="bar" x="{x:.1f}" y="{HEIGHT - BOTTOM - h:.1f}" width="{step * 0.6:.1f}"'
            f' height="{h:.1f}" fill="{color}"><title>{escape(name)}: {value}</title></rect>'
            f'<text x="{x + step * 0.3:.1f}" y="{HEIGHT - BOTTOM - h - 4:.1f}" '
            f'text-anchor="middle" font-size="11">{value}</text>'
        )
    return _svg(chart_id, label, _axis(top) + "".join(out) + _x_labels([n for n, _ in items], step))


def hbars(chart_id: str, label: str, items: Sequence[tuple[str, int]], color: str) -> str:
    """Horizontal bars with their labels on the left (reasons, questions)."""
    row, label_width = 24, 300
    height = TOP + row * max(len(items), 1) + 8
    top = max([v for _, v in items] + [1])
    scale = (WIDTH - label_width - RIGHT - 40) / top
    out = []
    for i, (name, value) in enumerate(items):
        y = TOP + row * i
        short = name if len(name) <= 48 else name[:47] + "…"
        out.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(short)}</text>"
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{max(value * scale, 1):.1f}"'
            f' height="{row - 8}" fill="{color}"><title>{escape(name)}: {value}</title></rect>'
            f'<text x="{label_width + value * scale + 6:.1f}" y="{y + 15}" font-size="12">'
            f"{value}</text>"
        )
    return _svg(chart_id, label, "".join(out), height)

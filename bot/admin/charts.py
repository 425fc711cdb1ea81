"""Small bar charts drawn as inline SVG on the server: no JavaScript, no CDN, prints as it shows."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

WIDTH, BAR_GAP = 640, 6
COLOURS = ("#06c755", "#2f80ed", "#f2994a", "#9b51e0", "#eb5757", "#27ae60", "#828282", "#219653", "#56ccf2")


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float | None]


def bars(title: str, labels: list[str], series: list[Series], unit: str = "", goal: float | None = None,
         height: int = 220) -> str:
    """Grouped vertical bars, one group per label; an optional dashed goal line."""
    values = [v for s in series for v in s.values if v is not None]
    top = max([*values, goal or 0, 1.0]) * 1.15
    left, bottom, plot_h = 44, 36, height - 56
    group_w = (WIDTH - left - 8) / max(len(labels), 1)
    bar_w = max((group_w - BAR_GAP * 2) / max(len(series), 1), 2)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}" class="chart">',
             f'<text x="{left}" y="14" font-size="13" font-weight="600">{escape(title)}</text>']
    for step in range(5):  # gridlines and their values
        value = top * step / 4
        y = height - bottom - plot_h * step / 4
        parts.append(f'<line x1="{left}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{value:.0f}</text>')
    for g, label in enumerate(labels):
        x0 = left + g * group_w + BAR_GAP
        for i, s in enumerate(series):
            value = s.values[g] if g < len(s.values) else None
            if value is None:
                continue
            h = plot_h * value / top
            x, y = x0 + i * bar_w, height - bottom - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(s.label)} {escape(label)}: '
                         f'{value:g} {escape(unit)}</title></rect>')
        parts.append(f'<text x="{x0 + group_w / 2 - BAR_GAP:.1f}" y="{height - bottom + 14}" font-size="10" '
                     f'text-anchor="middle">{escape(label)}</text>')
    if goal is not None:
        y = height - bottom - plot_h * goal / top
        parts.append(f'<line x1="{left}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d64545" '
                     f'stroke-dasharray="6 4"/><text x="{WIDTH - 10}" y="{y - 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#d64545">เป้าหมาย {goal:g}{escape(unit)}</text>')
    legend_x = left
    for i, s in enumerate(series if len(series) > 1 else []):
        parts.append(f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" '
                     f'fill="{COLOURS[i % len(COLOURS)]}"/><text x="{legend_x + 14}" y="{height - 5}" '
                     f'font-size="10">{escape(s.label)}</text>')
        legend_x += 14 + 7 * len(s.label) + 16
    parts.append("</svg>")
    return "".join(parts)

"""Indicator series as small inline SVG bar charts, drawn on the server: no script, no style
attribute (the node's Content-Security-Policy allows neither), readable without colour (every bar
carries its value as text and the chart its data as a title for screen readers)."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 320, 150, 18, 34, 6


def bar_chart(series: dict) -> Markup:
    points = series["points"][-12:]  # the latest twelve periods
    if not points:
        return Markup("")
    peak = max(abs(p["value"]) for p in points) or 1.0
    slot = (WIDTH - LEFT * 2) / len(points)
    bar = max(4.0, slot * 0.7)
    unit = series.get("unit") or ""
    description = "; ".join(f"{p['period']}: {_short(p['value'])} {unit}".strip() for p in points)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(series["label"])}: {escape(description)}">',
             f"<title>{escape(series['label'])}: {escape(description)}</title>",
             f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#4a5a60"/>']
    for i, p in enumerate(points):
        height = (HEIGHT - TOP - BOTTOM) * abs(p["value"]) / peak
        x = LEFT + i * slot + (slot - bar) / 2
        y = HEIGHT - BOTTOM - height
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="#1f7a4d"/>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" font-size="10" text-anchor="middle" '
                     f'fill="#1d2a30">{escape(_short(p["value"]))}</text>')
        label = p["period"] if len(p["period"]) <= 7 else p["period"][:7]
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" text-anchor="middle" '
                     f'fill="#1d2a30">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(value: float) -> str:
    if abs(value) >= 10000:
        return f"{value / 1000:,.0f}k"
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.1f}"

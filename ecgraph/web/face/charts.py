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


#: the bars of a comparison, in their order in each period: (key, fill)
COMPARE_BARS = (("value", "#1f7a4d"), ("network", "#2c6fa3"), ("all", "#8a6d1d"))


def compare_chart(series: dict) -> Markup:
    """A community's value per period beside the median of its network and of all communities,
    each median with its quartiles (q1 to q3) as a whisker. ``series``: ``label``, ``unit`` and
    ``rows`` (``period``, ``value``, ``groups`` with ``median``/``q1``/``q3`` per group); the
    words of the description (``words``: one per bar key) say what each bar is."""
    rows = series["rows"][-4:]
    if not rows:
        return Markup("")
    words = series["words"]

    def figures(row) -> list[tuple[str, str, float | None, float | None, float | None]]:
        out: list[tuple[str, str, float | None, float | None, float | None]] = [("value", COMPARE_BARS[0][1],
                                                                                 row["value"], None, None)]
        for key, fill in COMPARE_BARS[1:]:
            group = row["groups"].get(key) or {}
            out.append((key, fill, group.get("median"), group.get("q1"), group.get("q3")))
        return out

    numbers = [abs(v) for row in rows for _, _, m, _, q3 in figures(row) for v in (m, q3) if v is not None]
    peak = max(numbers, default=0.0) or 1.0
    slot = (WIDTH - LEFT * 2) / len(rows)
    bar = max(4.0, slot * 0.8 / len(COMPARE_BARS))
    unit = series.get("unit") or ""
    said = []
    for row in rows:
        parts = [f"{words[key]} {_short(m)}" for key, _, m, _, _ in figures(row) if m is not None]
        said.append(f"{row['period']}: " + ", ".join(parts))
    description = "; ".join(said) + (f" ({unit})" if unit else "")
    span = HEIGHT - TOP - BOTTOM
    out = [f'<svg class="chart compare" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(series["label"])}: {escape(description)}">',
           f"<title>{escape(series['label'])}: {escape(description)}</title>",
           f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#4a5a60"/>']
    for i, row in enumerate(rows):
        start = LEFT + i * slot + (slot - bar * len(COMPARE_BARS)) / 2
        for j, (key, fill, m, q1, q3) in enumerate(figures(row)):
            if m is None:
                continue
            x = start + j * bar
            height = span * abs(m) / peak
            out.append(f'<rect x="{x:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" width="{bar - 1:.1f}" '
                       f'height="{height:.1f}" fill="{fill}" data-bar="{key}"/>')
            if q1 is not None and q3 is not None:
                mid = x + (bar - 1) / 2
                y1, y3 = HEIGHT - BOTTOM - span * abs(q1) / peak, HEIGHT - BOTTOM - span * abs(q3) / peak
                out.append(f'<path d="M{mid:.1f} {y1:.1f}V{y3:.1f}M{mid - 3:.1f} {y1:.1f}h6M{mid - 3:.1f} {y3:.1f}h6" '
                           f'stroke="#1d2a30" stroke-width="1.2" fill="none"/>')
        label = row["period"][:7] if len(row["period"]) > 7 else row["period"]
        out.append(f'<text x="{LEFT + i * slot + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
                   f'text-anchor="middle" fill="#1d2a30">{escape(label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))

"""How a community compares: each of its indicators, per period, against its network, its
municipality and region (LAU and NUTS codes, where twins give them) and all communities.

Values are in the standard's canonical unit of each indicator family (:mod:`.vocab`: energy in
kWh, rates in percent, mass in t); a value whose unit the standard does not allow for its
indicator is counted as ``unusable``, never converted by guess. Periods are aligned by being the
same (same first and last day). A community of the group with no value for the period is counted in
``missing`` and left out of the figures.

Figures: ``median`` and the quartiles ``q1``/``q3`` are Python's :func:`statistics.quantiles` with
``method="inclusive"`` (the type-7 quantiles of R and numpy's default); the community's
``percentile`` is the mid-rank: the share of values below it plus half the share equal to it, in
percent.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, timedelta

ADDITIVE = {"energy", "mass", "count", "distance"}


def summary(values: list[float], own: float | None = None) -> dict:
    out: dict = {"n": len(values)}
    if not values:
        return out
    ordered = sorted(values)
    out["min"], out["max"] = ordered[0], ordered[-1]
    out["median"] = statistics.median(ordered)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    out["q1"], out["q3"] = q1, q3
    out["sum"] = sum(ordered)
    if own is not None:
        below = sum(1 for v in ordered if v < own)
        equal = sum(1 for v in ordered if v == own)
        out["percentile"] = round(100.0 * (below + 0.5 * equal) / len(ordered), 2)
    return out


def yearly(rows: list[tuple[str, str, float | None, str | None]]) -> dict[int, float]:
    """One community's values of one indicator by calendar year: a whole-year period as it is, or
    (for quantities that add up) periods that tile the year exactly, summed. Anything else is
    missing for that year."""
    out: dict[int, float] = {}
    by_year: dict[int, list[tuple[date, date, float]]] = defaultdict(list)
    family = None
    for start, end, value, fam in rows:
        family = family or fam
        if value is None:
            continue
        try:
            s, e = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
        except ValueError:
            continue
        if s.year != e.year:
            continue
        if s == date(s.year, 1, 1) and e == date(s.year, 12, 31):
            out[s.year] = value
        else:
            by_year[s.year].append((s, e, value))
    if family in ADDITIVE:
        for year, parts in by_year.items():
            if year in out:
                continue
            parts.sort()
            cursor = date(year, 1, 1)
            total = 0.0
            for s, e, value in parts:
                if s != cursor:
                    break
                total += value
                cursor = e + timedelta(days=1)
            else:
                if cursor == date(year + 1, 1, 1):
                    out[year] = total
    return out

"""Issue 19's targets judged from one run's rows: each target, what the run measured, its anchor in
the same run, and whether it is met.

    python -m bench.targets [bench/results/latest.json] [--readme README.md]

prints the table (``python -m bench`` prints it after its own table and writes it into
``latest.md``); with ``--readme`` it also replaces what is between ``<!-- bench-targets -->`` and
``<!-- /bench-targets -->`` in that file, with the run's header, so the README shows the targets of
one run and says which. A target whose section did not run says so ("not in this run"), never met.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ecgraph.query.figures import AGGREGATES

from .common import ROOT

BEGIN, END = "<!-- bench-targets -->", "<!-- /bench-targets -->"
NOT_RUN = ("not in this run", "", None)

#: (measured, anchor, met): met is True, False, or None (reported, no threshold)
Verdict = tuple[str, str, bool | None]


def _n(case: str) -> int | None:
    match = re.search(r"N=([\d,]+)", case)
    return int(match.group(1).replace(",", "")) if match else None


def _find(rows: list[dict], section: str, pattern: str) -> list[dict]:
    return [r for r in rows if r["section"] == section and re.search(pattern, r["case"])
            and r.get("ecgraph") is not None]


def _largest(rows: list[dict]) -> dict | None:
    return max(rows, key=lambda r: _n(r["case"]) or 0) if rows else None


def _fig(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return (f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}") + (f" {unit}" if unit else "")


def _ratio(row: dict) -> str:
    return f"{row['ratio']:.2f}x" if row.get("ratio") is not None else "n/a"


def _where(row: dict) -> str:
    return row["case"].split(": ", 1)[0] if _n(row["case"]) else ""


def trace(rows: list[dict]) -> Verdict:
    row = _largest(_find(rows, "trace", r": p95$"))
    if row is None:
        return NOT_RUN
    hit = row.get("extra", {}).get("hit_ratio")
    return (f"{_fig(row['ecgraph'], 'ms')} p95 ({_ratio(row)}), hit ratio "
            f"{'n/a' if hit is None else f'{hit:.1%}'}; {row['case'].split(': p95')[0]}",
            f"{_fig(row['anchor'], 'ms')} ({row['anchor_name']})", row["ratio"] <= 1 / 3)


def aggregate(name: str) -> Callable[[list[dict]], Verdict]:
    title = AGGREGATES[name].title

    def judge(rows: list[dict]) -> Verdict:
        row = _largest(_find(rows, "aggregates", re.escape(title)))
        if row is None:
            return NOT_RUN
        n = _n(row["case"]) or 0
        equal = row.get("extra", {}).get("equal")
        met = row["ecgraph"] < 100 and bool(equal) and n >= 10_000
        return (f"{_fig(row['ecgraph'], 'ms')} p95 at N={n:,} after each publish; equal to the raw answer: "
                f"{'yes' if equal else 'NO'}" + ("" if n >= 10_000 else " (the target is at N=10,000)"),
                f"{_fig(row['anchor'], 'ms')} ({row['anchor_name']})", met)

    return judge


def overhead(kind: str) -> Callable[[list[dict]], Verdict]:
    def judge(rows: list[dict]) -> Verdict:
        row = _largest(_find(rows, "overhead", rf": {kind}, cold"))
        if row is None:
            return NOT_RUN
        return (f"{_fig(row['ecgraph'], 'ms')} median, {_ratio(row)} ({_where(row)})",
                f"{_fig(row['anchor'], 'ms')} ({row['anchor_name']})", row["ratio"] <= 1.3)

    return judge


def throughput(rows: list[dict]) -> Verdict:
    # the overhead section's cold requests (no answer cache helps) first; the query set's otherwise
    row = (_largest(_find(rows, "overhead", r"throughput, 8 clients, cold"))
           or _largest(_find(rows, "queries", r"throughput, 8 concurrent clients")))
    if row is None:
        return NOT_RUN
    return (f"{_fig(row['ecgraph'], 'req/s')}, {_ratio(row)} ({_where(row)})",
            f"{_fig(row['anchor'], 'req/s')} ({row['anchor_name']})", row["ratio"] >= 1.0)


def floor(rows: list[dict]) -> Verdict:
    row = _largest(_find(rows, "overhead", r"bare Flask app"))
    if row is None:
        return NOT_RUN
    return (f"{_fig(row['ecgraph'], 'ms')} median, {_ratio(row)}", f"{_fig(row['anchor'], 'ms')} "
            f"({row['anchor_name']})", None)


def engine_floor(rows: list[dict]) -> Verdict:
    one = _largest(_find(rows, "overhead", r"engine behind waitress.*cold lookups, median"))
    eight = _largest(_find(rows, "overhead", r"engine behind waitress.*8 clients"))
    if one is None or eight is None:
        return NOT_RUN
    return (f"{_fig(one['ecgraph'], 'ms')} median, {_ratio(one)}; 8 clients {_fig(eight['ecgraph'], 'req/s')}, "
            f"{_ratio(eight)}", f"{_fig(one['anchor'], 'ms')}; {_fig(eight['anchor'], 'req/s')} "
            f"({one['anchor_name'].split(' (')[0]})", None)


def memory(rows: list[dict]) -> Verdict:
    row = next((r for r in _find(rows, "scale", r"server resident memory") if _n(r["case"]) == 10_000), None)
    if row is None:
        return NOT_RUN
    parts = row.get("extra", {}).get("processes")
    return (f"{_fig(row['ecgraph'], 'MiB')}, {_ratio(row)}" + (f" ({parts})" if parts else ""),
            f"{_fig(row['anchor'], 'MiB')} ({row['anchor_name']})", row["ratio"] <= 2.0)


def upload(rows: list[dict]) -> Verdict:
    candidates = [r for r in _find(rows, "publish", r"upload [\d,]+ triples over HTTP, p50")
                  if 5_000 <= r.get("extra", {}).get("triples", 0) <= 20_000]
    if not candidates:
        return NOT_RUN
    row = candidates[0]
    return (f"{_fig(row['ecgraph'], 's')} p50 ({row['extra']['triples']:,} triples)",
            f"{_fig(row['anchor'], 's')} ({row['anchor_name']})", row["ecgraph"] <= 0.3)


def bulk(rows: list[dict]) -> Verdict:
    row = _largest(_find(rows, "publish", r"load --bulk"))
    if row is None:
        return NOT_RUN
    return (f"{_fig(row['ecgraph'], row['unit'])}, {row['ratio']:.0%} of the anchor",
            f"{_fig(row['anchor'], row['unit'])} ({row['anchor_name']})", row["ratio"] >= 0.5)


def scale_10k(rows: list[dict]) -> Verdict:
    load = next((r for r in _find(rows, "scale", r"ecgraph load --bulk") if _n(r["case"]) == 10_000), None)
    worst = next((r for r in _find(rows, "scale", r"query set, worst p95") if _n(r["case"]) == 10_000), None)
    if load is None or worst is None:
        return NOT_RUN
    extra = worst.get("extra", {})
    return (f"loaded ({load['extra'].get('quads', 0):,} quads, {_fig(load['ecgraph'], 's')}); worst p95 "
            f"{_fig(worst['ecgraph'], 'ms')}, {extra.get('under_1s', '?')} of {extra.get('queries', '?')} "
            f"queries under 1 s",
            f"worst p95 {_fig(extra.get('anchor_worst_p95'), 'ms')} (oxigraph serve)", worst["ecgraph"] < 1000)


def scale_30k(rows: list[dict]) -> Verdict:
    found = {}
    for label, pattern in (("load", r"load --bulk"), ("disk", r"store on disk"), ("memory", r"resident memory"),
                           ("worst p95", r"worst p95")):
        row = next((r for r in _find(rows, "scale", pattern) if _n(r["case"]) == 30_000), None)
        if row is None:
            return NOT_RUN
        found[label] = row
    return ("; ".join(f"{label} {_fig(r['ecgraph'], r['unit'])}" for label, r in found.items()),
            "; ".join(f"{label} {_fig(r['anchor'], r['unit'])}" for label, r in found.items()), None)


def growth(rows: list[dict]) -> Verdict:
    found = _find(rows, "scale", r"^growth with N")
    if not found:
        return NOT_RUN
    sizes = found[0]["case"].split("(", 1)[1].split(")", 1)[0]
    return (f"N={sizes}, k in N^k: " + "; ".join(
                f"{r['case'].split(': ', 1)[1].split(', exponent')[0]} {_fig(r['ecgraph'], '')}" for r in found),
            "; ".join(f"{_fig(r['anchor'], '')}" for r in found) + " (oxigraph)", None)


def duration(payload: dict) -> Verdict:
    seconds = payload.get("seconds")
    if seconds is None:
        return NOT_RUN
    whole = not payload.get("quick") and payload.get("every_section", False)
    sections = ", ".join(payload.get("sections", [])) or "some sections"
    what = "a full run of every section" if whole else (
        f"{'a quick' if payload.get('quick') else 'a'} run of {sections}")
    took = payload.get("section_seconds") or {}
    longest = sorted(took.items(), key=lambda item: -item[1])[:4]
    where = ("; longest: " + ", ".join(f"{name} {value / 60:.0f} min" for name, value in longest)) if longest else ""
    return (f"{seconds / 60:.0f} minutes ({what}){where}", "", (seconds < 3600) if whole else None)


@dataclass(frozen=True)
class Target:
    text: str
    judge: Callable[[list[dict]], Verdict]


TARGETS = [
    Target("Repeated queries: a Zipf trace with publishes, p95 at most 1/3 of `oxigraph serve`'s, hit ratio "
           "reported", trace),
    Target("Network aggregates at N=10,000: PV capacity per network p95 under 100 ms, equal to the raw query",
           aggregate("pv-capacity-per-network")),
    Target("Network aggregates at N=10,000: the indicator GROUP BY p95 under 100 ms, equal to the raw query",
           aggregate("indicators")),
    Target("Network aggregates at N=10,000: capacity per technology and network p95 under 100 ms, equal to the raw "
           "query", aggregate("capacity-per-technology-and-network")),
    Target("Network aggregates at N=10,000: members per type and network p95 under 100 ms, equal to the raw query",
           aggregate("members-per-type-and-network")),
    Target("Network aggregates at N=10,000: one indicator per community in one year (indicators per period) p95 "
           "under 100 ms, equal to the raw query", aggregate("indicator-per-community-and-year")),
    Target("Cold lookups at most 1.3x `oxigraph serve`", overhead("lookup by IRI")),
    Target("Cold DESCRIBE at most 1.3x `oxigraph serve`", overhead("DESCRIBE")),
    Target("Throughput with 8 clients at least 1.0x `oxigraph serve`", throughput),
    Target("The floor a bare Flask app pays (reported)", floor),
    Target("The floor of the stack: the engine behind waitress in one process, no node code (reported)",
           engine_floor),
    Target("Memory at N=10,000 after the query set at most 2x `oxigraph serve`", memory),
    Target("Publishing a 10k-triple twin over HTTP: p50 at most 0.3 s", upload),
    Target("Bulk loading at least 50% of `bulk_load`", bulk),
    Target("N=10,000 loads and serves the whole query set with p95 under 1 s", scale_10k),
    Target("N=30,000 reported: load time, disk, memory, p95", scale_30k),
    Target("How each scale figure grows with N", growth),
]


def verdicts(payload: dict) -> list[tuple[str, Verdict]]:
    rows = payload["rows"]
    out = [(t.text, t.judge(rows)) for t in TARGETS]
    out.append(("The whole run well under an hour (stores cached between runs)", duration(payload)))
    return out


def table(payload: dict) -> str:
    lines = ["| target (issue 19) | measured | anchor, same run | met |", "| --- | --- | --- | --- |"]
    for text, (measured, anchor, met) in verdicts(payload):
        mark = "reported" if met is None and measured != NOT_RUN[0] else ("yes" if met else "no")
        if measured == NOT_RUN[0]:
            mark = "not measured"
        lines.append(f"| {text} | {measured} | {anchor} | {mark} |")
    lines.append("| Never a stale answer after an acknowledged write; no read older than a read before it | "
                 "not a timing: proven by `tests/test_answer_cache.py` and the soak of `tests/test_faults.py` | "
                 "| tested |")
    return "\n".join(lines)


def into_readme(readme: Path, payload: dict) -> None:
    """Replace the marked block of ``readme`` with this run's header and targets table."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: no {BEGIN} ... {END} block to replace; add the two markers where the "
                         "targets table goes")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    sections = "" if payload.get("every_section", True) else f" (sections: {', '.join(payload['sections'])})"
    block = f"{BEGIN}\nTargets of issue 19, from one run: {payload['header']}{sections}.\n\n{table(payload)}\n{END}"
    readme.write_text(head + block + tail)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, nargs="?", default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument("--readme", type=Path, default=None, help="also write the table into this file's marked block")
    args = parser.parse_args(argv)
    payload = json.loads(args.results.read_text())
    print(table(payload))
    if args.readme:
        into_readme(args.readme, payload)


if __name__ == "__main__":
    main()

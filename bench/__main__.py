"""``python -m bench [--quick] [--only SECTION ...] [--scale-sizes N ...] [--pages-communities N]
[--validation-sizes TRIPLES ...]``: every benchmark in one run, one table, and issue 19's targets
judged from it (``bench/targets.py``).

Each figure is measured beside its anchor (the raw engine) in the same run; the table gives both
and their ratio, and the run is written as JSON to bench/results/. The loaded stores the sections
serve are cached between runs (``bench/stores.py``), so only the first run at a size loads it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from . import aggregates, discovery, inference, network, overhead, pages, publish, queries, remote, trace, validation
from .common import ROOT, Row
from .targets import table as targets_table

SECTIONS = {
    "upload": publish.upload,
    "bulk": publish.bulk,
    "queries": queries.queries,
    "validation": validation.validation,
    "inference": inference.inference,
    "scale": queries.scale,
    "network": network.network_queries,
    "remote": remote.remote,
    "pages": pages.pages,
    "trace": trace.trace,
    "aggregates": aggregates.aggregates,
    "overhead": overhead.overhead,
    "discovery": discovery.discovery,
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        kb = int(total.split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}"


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return ((f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}") + f" {unit}").rstrip()


def table(rows: list[Row]) -> str:
    lines = ["| section | case | ecgraph | anchor | ratio | anchor is | note |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ratio = (f"{r.ratio:.2f}" if r.ratio >= 0.1 else f"{r.ratio:.2g}") if r.ratio is not None else "n/a"
        lines.append(f"| {r.section} | {r.case} | {_figure(r.ecgraph, r.unit)} | {_figure(r.anchor, r.unit)} | "
                     f"{ratio} | {r.anchor_name} | {r.note} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole run in a few minutes")
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS), help="run only these sections")
    parser.add_argument("--skip", nargs="*", choices=sorted(SECTIONS), default=[], help="leave these sections out")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results",
                        help="where the table and JSON go [default: bench/results]")
    parser.add_argument("--twins", type=int, default=0,
                        help="network: also harvest this many generated communities from one peer (e.g. 1000)")
    parser.add_argument("--communities", type=int, default=0,
                        help="remote: the network's size (default 100 quick, 1000 full; e.g. 10000)")
    parser.add_argument("--scale-sizes", nargs="+", type=int, default=[], metavar="N",
                        help="scale: these network sizes, with how each figure grows with N "
                             "(e.g. 1000 10000 30000) [default: 10000; --quick: 500]")
    parser.add_argument("--pages-communities", type=int, default=0, metavar="N",
                        help="pages: the network's size (default 100 quick, 1000 full; e.g. 10000)")
    parser.add_argument("--validation-sizes", nargs="+", type=int, default=[], metavar="TRIPLES",
                        help="validation: these twin sizes (e.g. 10000 100000 1000000; raw pyshacl takes about "
                             "18 minutes at 1M) [default: 10000 100000; --quick: 10000]")
    args = parser.parse_args(argv)
    pages.COMMUNITIES = max(0, args.pages_communities)
    network.HARVEST_TWINS = max(0, args.twins)
    remote.COMMUNITIES = max(0, args.communities)
    queries.SCALE_SIZES = sorted(set(args.scale_sizes))
    validation.SIZES = sorted(set(args.validation_sizes))
    started = time.time()
    rows: list[Row] = []
    ran: list[str] = []
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    wanted = [name for name in SECTIONS if not ((args.only and name not in args.only) or name in args.skip)
              and not (name in ("scale", "network", "aggregates", "trace", "overhead") and args.quick
                       and not args.only)]  # N = 10,000, four nodes, the trace: the full run, or --only SECTION
    took: dict[str, float] = {}
    synced: dict[str, float] = {}
    for name in wanted:
        print(f"… {name}", flush=True)
        # what an earlier section or a load wrote is on its way to disk first: the writeback of a
        # loaded store (gigabytes) otherwise goes on beside the next section's flushes and loads
        # (the node's and its anchor's alike) and slows both by a margin that says nothing of either
        sync_started = time.time()
        os.sync()
        synced[name] = time.time() - sync_started
        section_started = time.time()
        rows.extend(SECTIONS[name](args.quick))
        took[name] = time.time() - section_started  # where a run's hour goes (loads of cached stores included)
        ran.append(name)
        # written after each section: an hour of sections survives a later one that fails or a
        # run stopped early (``"finished": false`` until the last)
        text = _write(args, rows, ran, started, stamp, finished=len(ran) == len(wanted), took=took, synced=synced)
    if ran:
        print()
        print(text)


def _write(args, rows: list[Row], ran: list[str], started: float, stamp: str, *, finished: bool,
           took: dict[str, float] | None = None, synced: dict[str, float] | None = None) -> str:
    """The run so far, as JSON and markdown in ``--results``; returns the markdown."""
    seconds = time.time() - started
    part = "" if ran == list(SECTIONS) else f" of {', '.join(ran)}"
    header = (f"ecgraph benchmarks, {'quick' if args.quick else 'full'} run{part}"
              f"{'' if finished else ' (unfinished: the sections so far)'}, "
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}, {seconds:.0f} s")
    payload = {"header": header, "machine": machine(), "quick": args.quick, "seconds": seconds,
               "sections": ran, "every_section": ran == list(SECTIONS), "finished": finished,
               "section_seconds": {name: round(seconds, 1) for name, seconds in (took or {}).items()},
               "sync_seconds": {name: round(seconds, 1) for name, seconds in (synced or {}).items()},
               "rows": [asdict(r) | {"ratio": r.ratio} for r in rows]}
    text = table(rows) + "\n\n" + targets_table(payload)
    out = args.results
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stamp}.json").write_text(json.dumps(payload, indent=2))
    (out / "latest.json").write_text(json.dumps(payload, indent=2))
    (out / "latest.md").write_text(header + "\n\n" + text + "\n")
    return header + "\n\n" + text


if __name__ == "__main__":
    main()

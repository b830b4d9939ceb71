"""Validation: ``ecgraph validate`` against raw pyshacl on the same graph and shapes.

Each tool runs in its own process on the same file, so that time and peak memory are its own.
Raw pyshacl gets exactly what the node validates: the twin plus the ontology's subclass axioms,
the core shapes, ``inference="none"``. ecgraph runs with its default engine (fast) and, up to
100k triples, with ``--engine pyshacl`` (to show the cost of ecgraph around pyshacl itself).
"""

from __future__ import annotations

import sys
import textwrap

from .common import ECGRAPH, Row, peak_rss_of, single_twin

RAW_PYSHACL = textwrap.dedent("""
    import sys, time, rdflib, pyshacl
    from ecgraph import standard
    started = time.perf_counter()
    data = rdflib.Graph().parse(sys.argv[1], format="turtle")
    ontology = rdflib.Graph().parse(standard.ontology_file(), format="turtle")
    for t in ontology.triples((None, rdflib.RDFS.subClassOf, None)):
        data.add(t)
    shapes = rdflib.Graph().parse(standard.shapes_file("core"), format="turtle")
    conforms, _, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=False, inplace=True)
    print(time.perf_counter() - started, conforms)
""")


#: the twin sizes measured (``--validation-sizes``); empty: 10k and 100k (``--quick``: 10k). 1M is
#: asked for by name: raw pyshacl takes 18 minutes there (1,064 s on 2026-11-30), more than a
#: quarter of a full run, for a ratio that 10k and 100k already show (0.06 and 0.03)
SIZES: list[int] = []


def validation(quick: bool) -> list[Row]:
    sizes = SIZES or ([10_000] if quick else [10_000, 100_000])
    rows = []
    for size in sizes:
        path = single_twin(size)
        raw_seconds, raw_peak, raw = peak_rss_of([sys.executable, "-c", RAW_PYSHACL, str(path)])
        if raw.returncode != 0:
            raise RuntimeError(raw.stderr[-2000:])
        fast_seconds, fast_peak, fast = peak_rss_of([*ECGRAPH, "validate", str(path),
                                                     "--format", "json", "--max-results", "0", "--timeout", "7200"])
        if fast.returncode not in (0, 1):
            raise RuntimeError(fast.stderr[-2000:])
        label = f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}M"
        rows.append(Row("validation", f"core profile, {label} triples (fast engine)", fast_seconds, raw_seconds, "s",
                        "raw pyshacl", note=f"peak memory {fast_peak / 2**20:.0f} MiB vs {raw_peak / 2**20:.0f} MiB",
                        extra={"peak": fast_peak, "anchor_peak": raw_peak}))
        if size <= 100_000:
            ref_seconds, ref_peak, ref = peak_rss_of([*ECGRAPH, "validate", str(path),
                                                      "--engine", "pyshacl", "--format", "json", "--max-results", "0",
                                                      "--timeout", "7200"])
            if ref.returncode not in (0, 1):
                raise RuntimeError(ref.stderr[-2000:])
            rows.append(Row("validation", f"core profile, {label} triples (--engine pyshacl)", ref_seconds,
                            raw_seconds, "s", "raw pyshacl",
                            note=f"peak memory {ref_peak / 2**20:.0f} MiB vs {raw_peak / 2**20:.0f} MiB",
                            extra={"peak": ref_peak, "anchor_peak": raw_peak}))
    return rows

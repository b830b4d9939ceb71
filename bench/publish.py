"""Publishing: a whole upload over HTTP (parse, validate, infer, archive, commit), and bulk loads.

Anchors: pyoxigraph's own transactional ``load`` of the same file into an on-disk store (what a
store write alone costs), and pyoxigraph's ``bulk_load`` for the whole network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
import requests

from .common import Node, Row, median, network, percentile, single_twin


def _raw_load_seconds(path: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        directory = tempfile.mkdtemp(prefix="ecgraph-bench-raw-")
        store = ox.Store(directory)
        graph = ox.NamedNode("https://w3id.org/ecgraph/twin/raw")
        started = time.perf_counter()
        store.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=graph)
        store.flush()
        times.append(time.perf_counter() - started)
        del store
        shutil.rmtree(directory, ignore_errors=True)
    return median(times)


def upload(quick: bool) -> list[Row]:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    rows = []
    for size in sizes:
        variants = [single_twin(size, seed=11), single_twin(size, seed=12)]
        triples = sum(1 for _ in ox.parse(path=str(variants[0]), format=ox.RdfFormat.TURTLE))
        repeats = {1_000: 20, 10_000: 10, 100_000: 4}[size] // (2 if quick else 1)
        data = Path(tempfile.mkdtemp(prefix="ecgraph-bench-upload-"))
        node = Node(data / "node", "--publish-timeout", "600")
        try:
            token = node.register("bench")
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"}
            bodies = [v.read_bytes() for v in variants]
            latencies, phases = [], []
            first = None
            for i in range(repeats + 1):
                started = time.perf_counter()
                r = requests.put(node.url + "/api/twins/bench", data=bodies[i % 2], headers=headers, timeout=900)
                elapsed = time.perf_counter() - started
                if r.status_code not in (200, 201):
                    raise RuntimeError(f"upload failed: {r.status_code} {r.text[:300]}")
                if i == 0:
                    first = elapsed
                else:
                    latencies.append(elapsed)
                    phases.append(r.json()["timings"])
        finally:
            node.stop()
            shutil.rmtree(data, ignore_errors=True)
        anchor = _raw_load_seconds(variants[0], 3)
        prepare = median([p.get("parse_validate", 0) + p.get("infer", 0) for p in phases])
        rows.append(Row("publish", f"upload {triples:,} triples over HTTP, p50", median(latencies), anchor, "s",
                        "pyoxigraph on-disk load", note=f"p95 {percentile(latencies, 95):.3f} s; first upload "
                        f"{first:.3f} s; parse+validate+infer {prepare:.3f} s",
                        extra={"p95": percentile(latencies, 95), "first": first, "triples": triples,
                               "prepare": prepare}))
    return rows


def bulk(quick: bool) -> list[Row]:
    """``ecgraph load --bulk`` of a whole network (every twin parsed, validated and inferred) against
    pyoxigraph's bulk_load of the same quads (no validation, no inference). Both start from the
    twins on disk, in a process of their own."""
    communities = 100 if quick else 1000
    net = network(communities, nquads=True)
    quads = sum(1 for _ in open(net / "network.nq", "rb"))
    data = Path(tempfile.mkdtemp(prefix="ecgraph-bench-bulk-"))
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ecgraph.cli", "load", "--bulk", "--data", str(data / "node"),
                        str(net / "twins")], check=True, capture_output=True)
        ours = time.perf_counter() - started
        store = ox.Store(str(data / "raw"))
        started = time.perf_counter()
        store.bulk_load(path=str(net / "network.nq"), format=ox.RdfFormat.N_QUADS)
        store.flush()
        raw = time.perf_counter() - started
        del store
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return [Row("publish", f"ecgraph load --bulk of {communities} twins ({quads:,} triples), triples/s",
                quads / ours, quads / raw, "triples/s", "pyoxigraph bulk_load",
                note="ecgraph parses, validates and infers each twin and writes its inferences and catalog "
                     "entry too (about 2.2x the quads); bulk_load only writes the quads",
                extra={"seconds": ours, "anchor_seconds": raw, "triples": quads})]

"""Publishing: a whole upload over HTTP (parse, validate, infer, archive, commit), and bulk loads.

Anchors: pyoxigraph's own transactional ``load`` of the same file into an on-disk store (what a
store write alone costs), and pyoxigraph's ``bulk_load`` for the whole network.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
import requests

from ecgraph import standard

from .common import ECGRAPH, Node, Row, median, network, percentile, single_twin


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
        # the node's own split: the worker's part with its hand-off, and the commit with what the
        # node keeps beside the store (archive, change stream, figures), before the answer
        handed = median([p.get("prepare", 0) for p in phases])
        commit = median([p.get("commit", 0) for p in phases])
        rows.append(Row("publish", f"upload {triples:,} triples over HTTP, p50", median(latencies), anchor, "s",
                        "pyoxigraph on-disk load", note=f"p95 {percentile(latencies, 95):.3f} s; first upload "
                        f"{first:.3f} s; parse+validate+infer {prepare:.3f} s (in the worker: {handed:.3f} s); "
                        f"commit {commit:.3f} s",
                        extra={"p95": percentile(latencies, 95), "first": first, "triples": triples,
                               "prepare": prepare, "worker": handed, "commit": commit}))
    return rows


def _stored_twin_quads(location: Path) -> dict[str, int]:
    """What a bulk load stored for its twins: quads in the twins' graphs, in their inference
    graphs and in the catalog (not the standard's own graphs, which every node holds)."""
    store = ox.Store.read_only(str(location))
    counts = {"data": 0, "inferred": 0, "catalog": 0}
    for (graph, n) in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
        iri = graph.value
        if iri == standard.CATALOG_GRAPH:
            counts["catalog"] += int(n.value)
        elif iri.startswith(standard.TWIN_GRAPH_BASE):
            counts["inferred" if iri.endswith(standard.INFERRED_SUFFIX) else "data"] += int(n.value)
    del store
    return counts


def bulk(quick: bool) -> list[Row]:
    """``ecgraph load --bulk`` of a whole network (every twin parsed, validated and inferred, its
    inferences and catalog entry written too, the store compacted at the end) against pyoxigraph's
    bulk_load of the network's quads (no validation, no inference, no compaction). Both start
    from the twins on disk, in a process of their own. The figure is the target's unit: quads
    stored per second (the whole wall time of the command, registration and start included)."""
    communities = 100 if quick else 1000
    net = network(communities, nquads=True)
    quads = sum(1 for _ in open(net / "network.nq", "rb"))
    data = Path(tempfile.mkdtemp(prefix="ecgraph-bench-bulk-"))
    try:
        started = time.perf_counter()
        subprocess.run([*ECGRAPH, "load", "--bulk", "--data", str(data / "node"),
                        str(net / "twins")], check=True, capture_output=True)
        ours = time.perf_counter() - started
        stored = _stored_twin_quads(data / "node" / "oxigraph")
        store = ox.Store(str(data / "raw"))
        started = time.perf_counter()
        store.bulk_load(path=str(net / "network.nq"), format=ox.RdfFormat.N_QUADS)
        store.flush()
        raw = time.perf_counter() - started
        del store
    finally:
        shutil.rmtree(data, ignore_errors=True)
    total = sum(stored.values())
    return [Row("publish", f"ecgraph load --bulk of {communities} twins ({quads:,} triples), stored quads/s",
                total / ours, quads / raw, "quads/s", "pyoxigraph bulk_load",
                note=f"{total:,} quads stored in {ours:.1f} s ({stored['data']:,} data, {stored['inferred']:,} "
                     f"inferred, {stored['catalog']:,} catalog), {quads / ours:,.0f} input triples/s; "
                     f"bulk_load {quads:,} quads in {raw:.1f} s",
                extra={"seconds": ours, "anchor_seconds": raw, "triples": quads, "stored": stored})]

"""A node on a remote SPARQL store (``--store URL``) against the same node on its embedded store,
with ``oxigraph serve`` answering directly as the anchor.

The network is bulk-loaded into an embedded node, exported, and loaded into ``oxigraph serve
--union-default-graph`` (as in :mod:`bench.queries`); a second node is started with ``--store``
pointing at that server. Each query of ``bench/queries/`` goes to the three in alternation from the
same keep-alive client. The row's ecgraph figure is the node on the remote store, its anchor the
store answering directly (what the node adds over the store); the note gives the embedded node's
figure and the remote/embedded ratio. Publishing: uploads of one twin to each node (p50), and
``ecgraph load --bulk`` of the whole network into each backend.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from .common import Node, OxigraphServer, Row, median, network, percentile, single_twin
from .queries import Servers, _ask, query_set


def _uploads(node: Node, bodies: list[bytes], repeats: int) -> list[float]:
    token = node.register("bench")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"}
    times = []
    for i in range(repeats + 1):
        started = time.perf_counter()
        r = requests.put(node.url + "/api/twins/bench", data=bodies[i % 2], headers=headers, timeout=900)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"upload failed: {r.status_code} {r.text[:300]}")
        if i:
            times.append(time.perf_counter() - started)
    return times


def _bulk_seconds(twins: Path, data: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ecgraph.cli", "load", "--bulk", "--data", str(data), *args, str(twins)],
                   check=True, capture_output=True)
    return time.perf_counter() - started


def remote(quick: bool) -> list[Row]:
    communities = 100 if quick else 1000
    repeats = 10 if quick else 30
    servers = Servers(communities)
    rows = []
    remote_node = None
    try:
        remote_node = Node(servers.tmp / "remote-node", "--store", servers.oxigraph.url)
        urls = {"embedded": servers.ecgraph_url, "remote": remote_node.url + "/sparql",
                "direct": servers.oxigraph_url}
        session = requests.Session()
        for title, text in query_set():
            for url in urls.values():
                _ask(session, url, text)  # warm
            times: dict[str, list[float]] = {k: [] for k in urls}
            for _ in range(repeats):
                for key, url in urls.items():
                    times[key].append(_ask(session, url, text))
            remote_ms, direct_ms, embedded_ms = (median(times[k]) * 1000 for k in ("remote", "direct", "embedded"))
            rows.append(Row("remote", f"N={communities}: {title}", remote_ms, direct_ms, "ms", "oxigraph serve",
                            note=f"embedded node {embedded_ms:.1f} ms (remote/embedded "
                                 f"{remote_ms / embedded_ms:.2f}); p95 {percentile(times['remote'], 95) * 1000:.1f}",
                            extra={"embedded_ms": embedded_ms}))
    finally:
        if remote_node is not None:
            remote_node.stop()
        servers.close()

    for size in ([1_000] if quick else [1_000, 10_000]):
        bodies = [single_twin(size, seed=11).read_bytes(), single_twin(size, seed=12).read_bytes()]
        tmp = Path(tempfile.mkdtemp(prefix="ecgraph-bench-remote-"))
        store = OxigraphServer(tmp / "store")
        try:
            embedded = Node(tmp / "embedded", "--publish-timeout", "600")
            try:
                ours_embedded = _uploads(embedded, bodies, 5 if quick else 10)
            finally:
                embedded.stop()
            node = Node(tmp / "remote", "--store", store.url, "--publish-timeout", "600")
            try:
                ours_remote = _uploads(node, bodies, 5 if quick else 10)
            finally:
                node.stop()
        finally:
            store.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        rows.append(Row("remote", f"upload a {size:,}-triple twin over HTTP, p50", median(ours_remote),
                        median(ours_embedded), "s", "the embedded node",
                        note=f"p95 {percentile(ours_remote, 95):.3f} vs {percentile(ours_embedded, 95):.3f} s"))

    twins = network(communities) / "twins"
    tmp = Path(tempfile.mkdtemp(prefix="ecgraph-bench-remote-bulk-"))
    store = OxigraphServer(tmp / "store")
    try:
        embedded_s = _bulk_seconds(twins, tmp / "embedded")
        remote_s = _bulk_seconds(twins, tmp / "remote", "--store", store.url)
    finally:
        store.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    rows.append(Row("remote", f"N={communities}: ecgraph load --bulk", remote_s, embedded_s, "s",
                    "the embedded node", note="INSERT DATA batches of 4 MB over HTTP vs pyoxigraph's bulk loader"))
    return rows

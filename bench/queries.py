"""Queries over HTTP: ecgraph's /sparql against ``oxigraph serve`` on the same quads.

The network is loaded into an ecgraph node (``ecgraph load --bulk``: twins, inferences, catalog,
ontology), then exported and loaded into a store that ``oxigraph serve --union-default-graph``
serves, so both answer over exactly the same quads. Each query of ``bench/queries/`` is sent to
both in alternation by the same client (a keep-alive session, SPARQL JSON or Turtle); the table
gives the medians and their ratio, and the p95s. Then 8 clients run the whole set concurrently
against each server for the same time: requests per second.

Also used at N = 10,000 by the scale section.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from .common import Node, OxigraphServer, Row, median, network, percentile

QUERIES = Path(__file__).parent / "queries"


def query_set() -> list[tuple[str, str]]:
    out = []
    for path in sorted(QUERIES.glob("*.rq")):
        text = path.read_text()
        title = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("# title:")),
                     path.stem)
        out.append((title, text))
    return out


def _accept(text: str) -> str:
    graph = "DESCRIBE" in text.upper() or "CONSTRUCT" in text.upper()
    return "text/turtle" if graph else "application/sparql-results+json"


def _ask(session: requests.Session, url: str, text: str) -> float:
    started = time.perf_counter()
    r = session.post(url, data={"query": text}, headers={"Accept": _accept(text)}, timeout=120)
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"{url}: {r.status_code} {r.text[:300]}")
    return elapsed


class Servers:
    """An ecgraph node and an oxigraph server over the same network."""

    def __init__(self, communities: int):
        self.tmp = Path(tempfile.mkdtemp(prefix="ecgraph-bench-queries-"))
        net = network(communities)
        self.net = net
        data = self.tmp / "node"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ecgraph.cli", "load", "--bulk", "--data", str(data),
                        str(net / "twins")], check=True, capture_output=True)
        self.load_seconds = time.perf_counter() - started
        dump = self.tmp / "dump.nq"
        subprocess.run([sys.executable, "-m", "ecgraph.cli", "export", "--data", str(data), "-o", str(dump)],
                       check=True, capture_output=True)
        self.quads = sum(1 for _ in open(dump, "rb"))
        self.node = Node(data)
        self.oxigraph = OxigraphServer(self.tmp / "oxigraph", dump)
        self.data_dir = data
        self.ecgraph_url = self.node.url + "/sparql"
        self.oxigraph_url = self.oxigraph.url + "/query"

    def close(self) -> None:
        self.node.stop()
        self.oxigraph.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def measure(servers: Servers, repeats: int, section: str, label: str) -> tuple[list[Row], dict]:
    rows = []
    session = requests.Session()
    for title, text in query_set():
        for url in (servers.ecgraph_url, servers.oxigraph_url):  # warm both
            _ask(session, url, text)
        ours, theirs = [], []
        for _ in range(repeats):
            ours.append(_ask(session, servers.ecgraph_url, text))
            theirs.append(_ask(session, servers.oxigraph_url, text))
        rows.append(Row(section, f"{label}: {title}", median(ours) * 1000, median(theirs) * 1000, "ms",
                        "oxigraph serve", note=f"p95 {percentile(ours, 95) * 1000:.1f} vs "
                                               f"{percentile(theirs, 95) * 1000:.1f} ms",
                        extra={"p95": percentile(ours, 95) * 1000, "anchor_p95": percentile(theirs, 95) * 1000}))
    p95_all = max(r.extra["p95"] for r in rows)
    return rows, {"worst_p95_ms": p95_all}


def throughput(url: str, seconds: float, clients: int = 8, texts=None) -> tuple[float, int]:
    """Requests per second of ``clients`` clients asking the query set in turn (so, on a node, mostly
    answers it keeps), or ``texts(client, k)`` (bench.overhead's cold texts)."""
    queries = [text for _, text in query_set()]
    counts = [0] * clients
    errors = []
    stop = time.perf_counter() + seconds

    def client(i: int):
        session = requests.Session()
        k = i
        while time.perf_counter() < stop:
            try:
                _ask(session, url, texts(i, k) if texts else queries[k % len(queries)])
                counts[i] += 1
            except Exception as exc:  # reported below
                errors.append(exc)
            k += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return sum(counts) / elapsed, len(errors)


def queries(quick: bool) -> list[Row]:
    communities = 100 if quick else 1000
    servers = Servers(communities)
    try:
        rows, _ = measure(servers, 10 if quick else 30, "queries", f"N={communities}")
        seconds = 5 if quick else 20
        ours, our_errors = throughput(servers.ecgraph_url, seconds)
        theirs, their_errors = throughput(servers.oxigraph_url, seconds)
        rows.append(Row("queries", f"N={communities}: throughput, 8 concurrent clients, the whole set",
                        ours, theirs, "req/s", "oxigraph serve",
                        note=f"{servers.quads:,} quads; errors {our_errors} vs {their_errors}; the set "
                             "repeats, so the node answers most from its answer cache (cold: bench.overhead)"))
        from .common import rss_of

        rss, anchor_rss = rss_of(servers.node.process.pid), rss_of(servers.oxigraph.process.pid)
        rows.append(Row("queries", f"N={communities}: resident memory after the query set", rss / 2**20,
                        anchor_rss / 2**20, "MiB", "oxigraph serve",
                        note="ecgraph: main process and every worker; target: ratio <= 2"))
    finally:
        servers.close()
    return rows



def scale(quick: bool) -> list[Row]:
    """A large network (N = 10,000 communities, ~8.5M triples before inference): load time, store
    size on disk, the server's resident memory, and the query set's p95, beside oxigraph serve
    on the same quads."""
    communities = 500 if quick else 10_000
    servers = Servers(communities)
    try:
        rows, summary = measure(servers, 3 if quick else 10, "scale", f"N={communities}")
        worst = max(rows, key=lambda r: r.extra["p95"])
        size = sum(f.stat().st_size for f in servers.data_dir.rglob("*") if f.is_file())
        anchor_size = sum(f.stat().st_size for f in (servers.tmp / "oxigraph").rglob("*") if f.is_file())
        from .common import rss_of

        rss = rss_of(servers.node.process.pid)
        anchor_rss = rss_of(servers.oxigraph.process.pid)
        out = [
            Row("scale", f"N={communities}: ecgraph load --bulk ({servers.quads:,} quads stored)",
                servers.load_seconds, None, "s", "", note="twins, inferences, catalog, ontology"),
            Row("scale", f"N={communities}: store on disk", size / 2**20, anchor_size / 2**20, "MiB",
                "oxigraph load of the same quads", note="ecgraph's includes the SQLite registry and archive"),
            Row("scale", f"N={communities}: server resident memory after the query set", rss / 2**20,
                anchor_rss / 2**20, "MiB", "oxigraph serve", note="ecgraph: main process and its workers"),
            Row("scale", f"N={communities}: query set, worst p95 ({worst.case.split(': ', 1)[1]})",
                worst.extra["p95"], worst.extra["anchor_p95"], "ms", "oxigraph serve",
                note=f"target: under 1000 ms; median ratio over the set "
                     f"{median([r.ratio for r in rows]):.2f}"),
        ]
        return out + rows
    finally:
        servers.close()

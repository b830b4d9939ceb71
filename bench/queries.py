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

import math
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import requests

from .common import CACHE, Node, OxigraphServer, Row, median, network, percentile, wait_until_ready
from .stores import loaded, working_copy

QUERIES = Path(__file__).parent / "queries"


def query_set() -> list[tuple[str, str]]:
    out = []
    for path in sorted(QUERIES.glob("*.rq")):
        text = path.read_text()
        title = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("# title:")),
                     path.stem)
        out.append((title, text))
    return out


#: what cannot hold the query form's keyword: comments, IRIs and strings
_NOT_KEYWORDS = re.compile(r'''#[^\n]*|<[^<>"{}|^`\\\s]*>|"""(?:[^"\\]|\\.|"(?!""))*"""|'''
                           r"""'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'""")
#: a keyword, not part of a name (``ec:describes``, ``?describe``)
_FORM = re.compile(r"(?<![\w?$:])(SELECT|CONSTRUCT|DESCRIBE|ASK)(?![\w:-])", re.IGNORECASE)


def _accept(text: str) -> str:
    """The media type to ask for: Turtle for a query that returns a graph, SPARQL JSON results for
    one that returns rows or a boolean. The form is the first keyword after the prolog; a guess on
    the whole text (a SELECT whose variable is ``?describes``) made the node answer 406, which the
    trace counted as failures (``tests/test_bench.py`` checks this against rdflib's parser)."""
    found = _FORM.search(_NOT_KEYWORDS.sub(" ", text))
    graph = found is not None and found.group(1).upper() in ("CONSTRUCT", "DESCRIBE")
    return "text/turtle" if graph else "application/sparql-results+json"


def _ask(session: requests.Session, url: str, text: str) -> float:
    started = time.perf_counter()
    r = session.post(url, data={"query": text}, headers={"Accept": _accept(text)}, timeout=120)
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"{url}: {r.status_code} {r.text[:300]}")
    return elapsed


class Servers:
    """An ecgraph node and an oxigraph server over the same network, each on its own working copy
    of the cached loaded stores (:mod:`bench.stores`: loaded once per generator, loader and
    engine version; a run may write its copies)."""

    def __init__(self, communities: int, *node_args: str, seed: int = 7):
        CACHE.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="ecgraph-bench-queries-", dir=CACHE))
        self.net = network(communities, seed=seed)
        self.stores = loaded(communities, seed=seed)
        self.load_seconds = self.stores.load_seconds
        self.quads = self.stores.quads
        self.data_dir = working_copy(self.stores.node, self.tmp / "node")
        self.node = Node(self.data_dir, *node_args)
        self.oxigraph = OxigraphServer(working_copy(self.stores.anchor, self.tmp / "oxigraph"))
        self.ecgraph_url = self.node.url + "/sparql"
        self.oxigraph_url = self.oxigraph.url + "/query"

    def close(self) -> None:
        self.node.stop()
        self.oxigraph.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _timed(session: requests.Session, url: str, text: str, failures: list[str]) -> float:
    """Like :func:`_ask`, but a refused or failed request counts with the time it took and is kept in
    ``failures`` (at N = 30,000 a query may reach the node's time limit: a figure, not a crash)."""
    started = time.perf_counter()
    try:
        return _ask(session, url, text)
    except (RuntimeError, requests.RequestException) as exc:
        failures.append(str(exc)[:200])
        return time.perf_counter() - started


def measure(servers: Servers, repeats: int, section: str, label: str) -> tuple[list[Row], dict]:
    rows = []
    session = requests.Session()
    for title, text in query_set():
        ours: list[float] = []
        theirs: list[float] = []
        failed: list[str] = []
        failed_anchor: list[str] = []
        for url, box in ((servers.ecgraph_url, failed), (servers.oxigraph_url, failed_anchor)):  # warm both
            _timed(session, url, text, box)
        for _ in range(repeats):
            ours.append(_timed(session, servers.ecgraph_url, text, failed))
            theirs.append(_timed(session, servers.oxigraph_url, text, failed_anchor))
        failures = f"; failed {len(failed)} vs {len(failed_anchor)}: {(failed + failed_anchor)[0]}" if (
            failed or failed_anchor) else ""
        rows.append(Row(section, f"{label}: {title}", median(ours) * 1000, median(theirs) * 1000, "ms",
                        "oxigraph serve", note=f"p95 {percentile(ours, 95) * 1000:.1f} vs "
                                               f"{percentile(theirs, 95) * 1000:.1f} ms{failures}",
                        extra={"p95": percentile(ours, 95) * 1000, "anchor_p95": percentile(theirs, 95) * 1000,
                               "failed": len(failed), "anchor_failed": len(failed_anchor)}))
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
        from .common import memory_parts, rss_of

        rss, anchor_rss = rss_of(servers.node.process.pid), rss_of(servers.oxigraph.process.pid)
        rows.append(Row("queries", f"N={communities}: resident memory after the query set", rss / 2**20,
                        anchor_rss / 2**20, "MiB", "oxigraph serve",
                        note=f"ecgraph: {memory_parts(servers.node.process.pid)}; target: ratio <= 2"))
    finally:
        servers.close()
    return rows


#: the network sizes of the scale section (``python -m bench --scale-sizes 1000 10000 30000``);
#: empty: 10,000 (500 in a quick run)
SCALE_SIZES: list[int] = []


def scale(quick: bool) -> list[Row]:
    """Large networks (N = 10,000 communities, ~8.5M triples before inference, by default; more
    sizes with ``SCALE_SIZES``): load time, store size on disk, the server's resident memory, and
    the query set's p95, beside oxigraph serve on the same quads; and, over several sizes, how each
    figure grows with N."""
    sizes = SCALE_SIZES or ([500] if quick else [10_000])
    rows: list[Row] = []
    figures: dict[int, dict] = {}
    for communities in sizes:
        # beyond N=10,000 the anchor's raw aggregates take a minute each: 5 repeats keep a full
        # run in its hour (the row says over how many repeats its p95 is)
        more, figures[communities] = scale_one(communities, 3 if quick else 10 if communities <= 10_000 else 5)
        rows.extend(more)
    return rows + growth(figures)


def scale_one(communities: int, repeats: int) -> tuple[list[Row], dict]:
    """One size. The node keeps no answers (``--answer-cache-mb 0``): every query of the set is
    computed each time it is asked, as the first asker of a question after a commit sees it (the
    kept aggregates stay on: they are how the node answers, not a memo of the question)."""
    from .common import memory_parts, rss_of
    from .stores import describe

    servers = Servers(communities, "--answer-cache-mb", "0")
    try:
        ready = wait_until_ready(servers.node.url)
        listing = requests.get(servers.node.url + "/api/aggregates", timeout=30).json()
        built = listing.get("built") or {}
        built = (f"the network figures read from the file saved at the last close in {built['seconds']:.1f} s"
                 if built.get("from") == "saved" else f"the network figures built from the store in "
                 f"{built.get('seconds', 0):.0f} s")
        rows, summary = measure(servers, repeats, "scale", f"N={communities}")
        worst = max(rows, key=lambda r: r.extra["p95"])
        anchor_worst = max(r.extra["anchor_p95"] for r in rows)
        stores = servers.stores
        rss = rss_of(servers.node.process.pid)
        parts = memory_parts(servers.node.process.pid)
        anchor_rss = rss_of(servers.oxigraph.process.pid)
        under = sum(1 for r in rows if r.extra["p95"] < 1000 and not r.extra["failed"])
        failed = sum(r.extra["failed"] for r in rows)
        n = f"{communities:,}"
        out = [
            Row("scale", f"N={n}: ecgraph load --bulk ({stores.quads:,} quads stored)",
                stores.load_seconds, stores.anchor_load_seconds, "s", "oxigraph load + optimize of the same quads",
                note=f"twins, inferences, catalog, ontology; {describe(stores)}",
                extra={"communities": communities, "quads": stores.quads, "peak_rss": stores.load_peak_rss,
                       "load_average": list(stores.load_average), "measured": stores.measured}),
            Row("scale", f"N={n}: store on disk", stores.node_bytes / 2**20, stores.anchor_bytes / 2**20, "MiB",
                "oxigraph load of the same quads",
                note="after the load and its compaction; ecgraph's includes the SQLite registry and indexes"),
            Row("scale", f"N={n}: server resident memory after the query set", rss / 2**20,
                anchor_rss / 2**20, "MiB", "oxigraph serve",
                note=f"ecgraph: {parts}; target at N=10,000: at most 2x", extra={"processes": parts}),
            Row("scale", f"N={n}: query set, worst p95 ({worst.case.split(': ', 1)[1]})",
                worst.extra["p95"], worst.extra["anchor_p95"], "ms", "oxigraph serve",
                note=f"target: under 1000 ms; {under} of {len(rows)} queries under it; the anchor's worst "
                     f"{anchor_worst:,.0f} ms; median ratio over the set {median([r.ratio for r in rows]):.2f}; "
                     f"failed requests {failed}; p95 of {repeats} repeats; no answer cache; "
                     f"load average {os.getloadavg()[0]:.1f}; "
                     f"ready {ready:.0f} s after start ({built}); "
                     f"its figures built from the store in {stores.figures_seconds or 0:,.0f} s, in process, when "
                     f"the stores were cached",
                extra={"p95": worst.extra["p95"], "anchor_worst_p95": anchor_worst, "under_1s": under,
                       "queries": len(rows), "failed": failed, "ready_seconds": ready,
                       "figures": listing.get("built"), "figures_build_seconds": stores.figures_seconds}),
        ]
        out += catalog_reads(servers, n)  # after the memory: the catalog's reads are not the query set's
        out += dump_reads(servers, n)
        figures = {"load time": (stores.load_seconds, stores.anchor_load_seconds, "s"),
                   "store on disk": (stores.node_bytes / 2**20, stores.anchor_bytes / 2**20, "MiB"),
                   "resident memory after the query set": (rss / 2**20, anchor_rss / 2**20, "MiB"),
                   "query set, worst p95": (worst.extra["p95"], anchor_worst, "ms")}
        return out + rows, figures
    finally:
        servers.close()


CATALOG_GRAPH = "https://w3id.org/ecgraph/graph/catalog"


def catalog_reads(servers: Servers, n: str, repeats: int = 5) -> list[Row]:
    """What the node's catalog costs at this size: its first part as N-Triples (what a peer's first
    harvest reads first), every part in turn, and its first page for people; beside ``oxigraph
    serve`` giving the stored catalog graph whole (Graph Store GET), which is what ``/catalog`` read
    and served on every request before it came in parts (then with each twin's distributions too)."""
    nt = {"Accept": "application/n-triples"}
    session = requests.Session()

    def timed(url: str, **kwargs) -> tuple[float, requests.Response]:
        started = time.perf_counter()
        r = session.get(url, timeout=600, **kwargs)
        r.raise_for_status()
        return time.perf_counter() - started, r

    first, anchor, page = [], [], []
    for _ in range(repeats):
        seconds, ours = timed(servers.node.url + "/catalog", headers=nt)
        first.append(seconds)
        seconds, theirs = timed(servers.oxigraph.url + "/store", params={"graph": CATALOG_GRAPH}, headers=nt)
        anchor.append(seconds)
        page.append(timed(servers.node.url + "/catalog", headers={"Accept": "text/html"})[0])
    parts, read, url, total = 0, 0, servers.node.url + "/catalog", 0.0
    while url:
        seconds, part = timed(url, headers=nt)
        parts, read, total = parts + 1, read + len(part.content), total + seconds
        following = re.search(r'<([^>]+)>; rel="next"', part.headers.get("Link", ""))
        url = following.group(1) if following else ""
    return [
        Row("scale", f"N={n}: the catalog's first part as N-Triples (what a peer reads first)", median(first) * 1000,
            median(anchor) * 1000, "ms", "oxigraph serve: the stored catalog graph whole (Graph Store GET)",
            note=f"{len(ours.content) / 2**20:,.1f} vs {len(theirs.content) / 2**20:,.1f} MiB; the {parts} part(s) "
                 f"read in turn in {total:.1f} s, {read / 2**20:,.0f} MiB (the catalog in one answer was 82 MB at "
                 f"N=10,000, past a peer's 50 MB fetch limit)"),
        Row("scale", f"N={n}: the catalog's first page for people", median(page) * 1000, median(anchor) * 1000, "ms",
            "oxigraph serve: the stored catalog graph whole (Graph Store GET)",
            note=f"p95 {percentile(page, 95) * 1000:,.0f} ms; it read the whole catalog before (1.9 s at N=10,000)"),
    ]


def dump_reads(servers: Servers, n: str, limit: float = 3600) -> list[Row]:
    """The bulk dump at this size: the seconds from the first request for it until the node serves
    it (made in a worker of its own from a snapshot, while the node goes on serving; until then
    each request waits up to ``--dump-wait`` and is told 503), and its download; beside ``oxigraph
    serve`` giving every quad of its store as N-Quads (the Graph Store Protocol's dataset GET),
    what a researcher would download from it."""
    session = requests.Session()
    url = servers.node.url + "/dump.nq.gz"
    started = time.perf_counter()
    while True:
        r = session.head(url, timeout=600)
        if r.status_code == 200 and r.headers.get("X-Dump-Status") == "current":
            break
        if r.status_code not in (200, 503):
            r.raise_for_status()
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"no bulk dump after {limit:g} s")
        time.sleep(0.2)
    made = time.perf_counter() - started

    def download(target: str, **kwargs) -> tuple[float, int]:
        began = time.perf_counter()
        size = 0
        with session.get(target, stream=True, timeout=600, **kwargs) as answer:
            answer.raise_for_status()
            for chunk in answer.iter_content(1 << 20):
                size += len(chunk)
        return time.perf_counter() - began, size

    ours, our_bytes = download(url)
    theirs, their_bytes = download(servers.oxigraph.url + "/store", headers={"Accept": "application/n-quads"})
    described = session.get(servers.node.url + "/dump", headers={"Accept": "application/n-triples"}, timeout=60).text
    quads = re.search(r'triples> "(\d+)"', described)
    quads_note = f"{int(quads.group(1)):,} quads (each twin's asserted graph and its catalog records)" if quads else ""
    return [
        Row("scale", f"N={n}: the bulk dump, from the first request until it is served", made, theirs, "s",
            "oxigraph serve: every quad of its store as N-Quads (dataset GET)",
            note=f"made in the node's dump worker; {quads_note}, {our_bytes / 2**20:,.0f} MiB gzipped, then "
                 f"downloaded in {ours:.2f} s; the anchor's {their_bytes / 2**20:,.0f} MiB uncompressed, "
                 f"{servers.quads:,} quads (inferences, ontology and catalog too)",
            extra={"dump_bytes": our_bytes, "download_seconds": ours, "anchor_bytes": their_bytes}),
    ]


def growth(figures: dict[int, dict]) -> list[Row]:
    """How each figure grows with N: the exponent k of figure ~ N^k from the smallest to the largest
    size (1 is linear), the anchor's beside it, and every size's value in the note."""
    sizes = sorted(figures)
    if len(sizes) < 2:
        return []
    first, last = sizes[0], sizes[-1]
    label = " -> ".join(f"{n:,}" for n in sizes)
    rows = []

    def exponent(name: str, i: int) -> float | None:
        a, b = figures[first][name][i], figures[last][name][i]
        return math.log(b / a) / math.log(last / first) if a and b and a > 0 and b > 0 else None

    for name in figures[first]:
        unit = figures[first][name][2]
        values = "; ".join(f"{n:,}: {figures[n][name][0]:,.4g} vs {figures[n][name][1]:,.4g} {unit}" for n in sizes)
        rows.append(Row("scale", f"growth with N ({label}): {name}, exponent k of N^k", exponent(name, 0),
                        exponent(name, 1),
                        "", "oxigraph", note=f"1 is linear; ecgraph vs anchor at {values}"))
    return rows

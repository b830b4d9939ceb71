"""Pages for people over HTTP at N communities (the issue's targets at N = 1,000: a community page
p95 < 100 ms, the directory with facets p95 < 200 ms).

The generated network is loaded into a node (``ecgraph load --bulk``, cached between runs by
``bench/stores.py``; each run serves a copy of its own); one client with a keep-alive session asks,
in turn, community pages of communities spread over the network, the directory (all facets counted,
first page of cards and the map's points), the directory filtered and searched, and a network page.
After a load the directory's index is built once, apart from the readers, who are told to come back
(503) past their page deadline; the time until it is ready is reported on its own, and the figures
after it are what readers wait. Each page is measured beside its machine twin (the same resource as
Turtle, the same directory as JSON), so the table shows what rendering the page costs over reading
its data. The community page's discovery panels are measured by their JSON twins (``/api/similar``
and ``/api/compare``) beside the whole page.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import requests

from .common import CACHE, Node, Row, median, percentile, wait_until_ready
from .stores import loaded, working_copy

SCHOOL = "https://w3id.org/ecgraph/ns#School"


def _get(session: requests.Session, url: str, accept: str) -> float:
    started = time.perf_counter()
    response = session.get(url, headers={"Accept": accept, "Accept-Language": "en"}, timeout=120)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def _ready(session: requests.Session, url: str) -> tuple[float, int]:
    """Seconds until the directory answers after a load, and how many 503s (readers past their
    page deadline while its index is built) came before."""
    started = time.perf_counter()
    told = 0
    while True:
        response = session.get(url, headers={"Accept": "text/html", "Accept-Language": "en"}, timeout=120)
        if response.status_code != 503:
            response.raise_for_status()
            return time.perf_counter() - started, told
        told += 1
        time.sleep(0.5)


#: the network's size (``--pages-communities``; 0: 100 quick, 1,000 full)
COMMUNITIES = 0


def pages(quick: bool) -> list[Row]:
    communities = COMMUNITIES or (100 if quick else 1000)
    repeats = 10 if quick else 40
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ecgraph-bench-pages-", dir=CACHE))
    data = working_copy(loaded(communities).node, tmp / "node")  # the cached load (bench/stores.py)
    node = Node(data)
    try:
        session = requests.Session()
        base = node.url
        first, told = _ready(session, base + "/communities")
        # then the rest of the start's work (the kept figures are built in the web process), as
        # the other sections wait for it: the pages are measured as the node serves
        settled = wait_until_ready(base)
        cards = session.get(base + "/communities?page_size=100", headers={"Accept": "application/json"}).json()
        total = cards["total"]
        iris = [c["iri"] for c in cards["results"]]
        networks = sorted({n["iri"] for c in cards["results"] for n in c["networks"]})
        cases = [
            ("community page", [f"/resource?iri={quote(iris[i % len(iris)], safe='')}" for i in range(repeats)],
             "text/html", "text/turtle", "the same resource as Turtle"),
            ("directory with facets", ["/communities"] * repeats, "text/html", "application/json",
             "the same directory as JSON"),
            ("directory: schools in one network, page 2",
             [f"/communities?member={quote(SCHOOL, safe='')}&network={quote(networks[0], safe='')}&page=2"] * repeats,
             "text/html", "application/json", "the same directory as JSON"),
            ("directory: search 'school'", ["/communities?q=school"] * repeats, "text/html", "application/json",
             "the same directory as JSON"),
            ("network page", [f"/resource?iri={quote(networks[i % len(networks)], safe='')}" for i in range(repeats)],
             "text/html", "text/turtle", "the same resource as Turtle"),
        ]
        rows = [Row("pages", f"N={communities}: directory ready after a load (its index is built apart)",
                    first * 1000, None, "ms", note=f"{total:,} communities; {told} readers told to come back "
                                                  f"(503) meanwhile; the rest of the start {settled:.0f} s more")]
        for label, paths, page_type, twin_type, anchor_name in cases:
            seen = set(paths[:2])
            for path in paths[:2]:  # warm
                _get(session, base + path, page_type)
            ours, theirs, first = [], [], []
            for path in paths:
                ours.append(_get(session, base + path, page_type))
                theirs.append(_get(session, base + path, twin_type))
                if path not in seen:  # a community's or network's page data is kept until the next commit
                    first.append(ours[-1])
                    seen.add(path)
            again = len(ours) - len(first)
            views = (f"; first views of a page {median(first) * 1000:.1f} ms median ({len(first)}), the {again} "
                     f"others reuse kept data" if first and again else "")
            rows.append(Row("pages", f"N={communities}: {label}", median(ours) * 1000, median(theirs) * 1000, "ms",
                            anchor_name, note=f"p95 {percentile(ours, 95) * 1000:.1f} vs "
                                              f"{percentile(theirs, 95) * 1000:.1f} ms{views}",
                            extra={"p95": percentile(ours, 95) * 1000, "anchor_p95": percentile(theirs, 95) * 1000,
                                   "first_median": median(first) * 1000 if first else None}))
        # the pages every visitor or harvester reaches whatever the network's size: the home page
        # (it listed every twin), the catalog's first page beside the whole catalog as Turtle, the
        # VoID description (its counts over every quad are made behind the requests: the wait for
        # the first is reported on its own)
        few = max(3, repeats // 8)
        home = [_get(session, base + "/", "text/html") for _ in range(repeats)]
        rows.append(Row("pages", f"N={communities}: home page", median(home) * 1000, None, "ms",
                        note=f"p95 {percentile(home, 95) * 1000:.1f} ms", extra={"p95": percentile(home, 95) * 1000}))
        started = time.perf_counter()
        while session.get(base + "/void", headers={"Accept": "text/turtle"}, timeout=600).status_code == 503:
            time.sleep(1)
        counted = time.perf_counter() - started
        for label, path, anchor_name, note in (
                ("the catalog, first page", "/catalog", "the catalog as Turtle (its first part of up to 1,000 "
                 "resources)", ""),
                ("the VoID description", "/void", "the same as Turtle",
                 f"; its first counts ready {counted:.1f} s after it was first asked")):
            ours = [_get(session, base + path, "text/html") for _ in range(few)]
            theirs = [_get(session, base + path, "text/turtle") for _ in range(few)]
            rows.append(Row("pages", f"N={communities}: {label}", median(ours) * 1000, median(theirs) * 1000, "ms",
                            anchor_name, note=f"p95 {percentile(ours, 95) * 1000:.1f} vs "
                                              f"{percentile(theirs, 95) * 1000:.1f} ms{note}",
                            extra={"p95": percentile(ours, 95) * 1000, "anchor_p95": percentile(theirs, 95) * 1000}))
        # what the community page's discovery panels cost: their data as JSON (communities like it,
        # its comparison), beside the page that shows them
        panels, whole = [], []
        for i in range(repeats):
            iri = quote(iris[i % len(iris)], safe="")
            started = time.perf_counter()
            for api in ("/api/similar?limit=5&iri=", "/api/compare?iri="):
                session.get(base + api + iri, timeout=120).raise_for_status()
            panels.append(time.perf_counter() - started)
            whole.append(_get(session, base + f"/resource?iri={iri}", "text/html"))
        rows.append(Row("pages", f"N={communities}: community page's discovery panels (similar + compare, JSON)",
                        median(panels) * 1000, median(whole) * 1000, "ms", "the whole community page",
                        note=f"p95 {percentile(panels, 95) * 1000:.1f} vs {percentile(whole, 95) * 1000:.1f} ms",
                        extra={"p95": percentile(panels, 95) * 1000, "anchor_p95": percentile(whole, 95) * 1000}))
        return rows
    finally:
        node.stop()
        shutil.rmtree(tmp, ignore_errors=True)

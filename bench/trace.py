"""A trace of a network's real traffic replayed against the node and ``oxigraph serve`` in one run.

The traffic a network of twins has is the same questions asked again and again over data that
changes a few times a day. The trace draws each request from one ranked list with a Zipf
distribution (exponent 1.0): first the example and page queries (the benchmark set of
``bench/queries/`` and the node's own examples of ``docs/queries/``, in an order shuffled by the
seed), then the per-community page reads of every community (a lookup of its IRI, a DESCRIBE), so
the head is the shared questions and the long tail is the community pages. Meanwhile a publisher
replaces one community's twin (a changed comment) every ``60 / publishes_per_minute`` seconds,
through the REST API on the node (validated, inferred, committed) and through the Graph Store
Protocol on ``oxigraph serve`` (a plain graph replace).

Both servers get the same sequences (same seed), ``clients`` concurrent keep-alive clients each,
for the same time; first the node, then ``oxigraph serve``. Reported: p50/p95/p99 of the queries,
their ratio, and the node's cache hit ratio (``X-ECGraph-Cache``). Target (issue 19): p95 at least
3x lower than ``oxigraph serve``'s.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import requests

from .common import ADMIN, Row, percentile
from .queries import Servers, _accept, query_set

DOCS_QUERIES = Path(__file__).resolve().parent.parent / "ecgraph" / "_standard" / "docs" / "queries"


def population(communities: int, seed: int) -> list[tuple[str, str]]:
    """The ranked list of (kind, query): the shared questions first, then the community pages."""
    shared = [("set", text) for _, text in query_set()
              if "community-00042" not in text]  # the set's own lookup and DESCRIBE are page reads
    shared += [("example", p.read_text()) for p in sorted(DOCS_QUERIES.glob("*.rq"))]
    random.Random(seed).shuffle(shared)
    pages = []
    for i in random.Random(seed + 1).sample(range(communities), communities):
        iri = f"https://community-{i:05d}.bench.example/id/community"
        pages.append(("lookup", f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}"))
        pages.append(("describe", f"DESCRIBE <{iri}>"))
    return shared + pages


def zipf_sequence(items: int, length: int, rng: random.Random, exponent: float = 1.0) -> list[int]:
    weights = [1 / (rank + 1) ** exponent for rank in range(items)]
    return rng.choices(range(items), weights=weights, k=length)


def _twin_text(net: Path, twin_id: str, revision: int) -> str:
    text = (net / "twins" / f"{twin_id}.ttl").read_text()
    return text + (f'\n<https://{twin_id}.bench.example/id/community> '
                   f'<http://www.w3.org/2000/01/rdf-schema#comment> "revision {revision}" .\n')


def replay(url: str, publish, population_: list[tuple[str, str]], *, seconds: float, clients: int,
           publishes_per_minute: float, seed: int) -> dict:
    latencies: list[tuple[str, float]] = []
    caches: list[str] = []
    failures: list[str] = []
    publishes: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(number: int) -> None:
        session = requests.Session()
        sequence = zipf_sequence(len(population_), 100_000, random.Random(seed * 1000 + number))
        for index in sequence:
            if time.perf_counter() >= stop:
                return
            kind, text = population_[index]
            started = time.perf_counter()
            try:
                r = session.post(url, data={"query": text}, headers={"Accept": _accept(text)}, timeout=120)
            except requests.RequestException as exc:
                failures.append(repr(exc))
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append((kind, elapsed))  # a failure counts too, with the time it took
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                    continue
                caches.append(r.headers.get("X-ECGraph-Cache", ""))

    def publisher() -> None:
        interval = 60 / publishes_per_minute
        rng = random.Random(seed)
        revision = 0
        next_at = time.perf_counter() + interval / 2
        while True:
            wait = next_at - time.perf_counter()
            if time.perf_counter() + max(wait, 0) >= stop:
                return
            time.sleep(max(wait, 0))
            revision += 1
            started = time.perf_counter()
            publish(rng, revision)
            publishes.append(time.perf_counter() - started)
            next_at += interval

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    threads.append(threading.Thread(target=publisher))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = [t for _, t in latencies]
    return {"requests": len(times), "p50": percentile(times, 50), "p95": percentile(times, 95),
            "p99": percentile(times, 99), "hits": caches.count("hit"), "failures": failures,
            "publishes": len(publishes), "publish_p50": percentile(publishes, 50),
            "by_kind": {kind: percentile([t for k, t in latencies if k == kind], 95)
                        for kind in sorted({k for k, _ in latencies})}}


def trace(quick: bool) -> list[Row]:
    communities = 100 if quick else 1000
    seconds = 30 if quick else 120
    clients = 4
    per_minute = 4
    seed = 19
    servers = Servers(communities)
    net = servers.net
    ids = [f"community-{i:05d}" for i in range(communities)]
    items = population(communities, seed)
    try:
        node_session = requests.Session()

        def publish_node(rng: random.Random, revision: int) -> None:
            twin_id = rng.choice(ids)
            r = node_session.put(f"{servers.node.url}/api/twins/{twin_id}", data=_twin_text(net, twin_id, revision),
                                 headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "text/turtle"},
                                 timeout=120)
            if r.status_code not in (200, 201):
                raise RuntimeError(f"publish {twin_id}: {r.status_code} {r.text[:300]}")

        ox_session = requests.Session()

        def publish_oxigraph(rng: random.Random, revision: int) -> None:
            twin_id = rng.choice(ids)
            r = ox_session.put(f"{servers.oxigraph.url}/store",
                               params={"graph": f"https://w3id.org/ecgraph/twin/{twin_id}"},
                               data=_twin_text(net, twin_id, revision).encode(),
                               headers={"Content-Type": "text/turtle"}, timeout=120)
            if r.status_code not in (200, 201, 204):
                raise RuntimeError(f"oxigraph publish {twin_id}: {r.status_code} {r.text[:300]}")

        ours = replay(servers.ecgraph_url, publish_node, items, seconds=seconds, clients=clients,
                      publishes_per_minute=per_minute, seed=seed)
        theirs = replay(servers.oxigraph_url, publish_oxigraph, items, seconds=seconds, clients=clients,
                        publishes_per_minute=per_minute, seed=seed)
        cache = requests.get(servers.node.url + "/health").json().get("answer_cache", {})
    finally:
        servers.close()
    hit_ratio = ours["hits"] / ours["requests"] if ours["requests"] else 0.0
    label = f"N={communities}, {clients} clients, Zipf over {len(items)} queries, {per_minute} publishes/min"
    note = (f"hit ratio {hit_ratio:.1%}; p50 {ours['p50'] * 1000:.1f} vs {theirs['p50'] * 1000:.1f} ms, "
            f"p99 {ours['p99'] * 1000:.1f} vs {theirs['p99'] * 1000:.1f} ms; requests {ours['requests']} vs "
            f"{theirs['requests']} in {seconds} s; publishes {ours['publishes']} vs {theirs['publishes']}; "
            f"failures {len(ours['failures'])} vs {len(theirs['failures'])}; target: ratio <= 0.33")
    rows = [Row("trace", f"{label}: p95", ours["p95"] * 1000, theirs["p95"] * 1000, "ms", "oxigraph serve",
                note=note, extra={"ours": {k: v for k, v in ours.items() if k != "failures"},
                                  "theirs": {k: v for k, v in theirs.items() if k != "failures"},
                                  "hit_ratio": hit_ratio, "cache": cache,
                                  "failures": (ours["failures"] + theirs["failures"])[:5]}),
            Row("trace", f"{label}: throughput", ours["requests"] / seconds, theirs["requests"] / seconds,
                "req/s", "oxigraph serve", note="closed loop: each client sends its next query on an answer")]
    return rows

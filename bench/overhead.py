"""The cold per-request price: lookups and DESCRIBEs of IRIs never asked before (so no answer cache
helps), against ``oxigraph serve`` on the same quads, one client and then eight at once; the
resident memory of the node's processes beside the server's after that; the floor a bare
Flask app behind the same HTTP server (waitress) pays to answer a fixed body of the same size, and
the same without Flask; the engine behind that server in one process (a bare WSGI function calling
pyoxigraph: the least any node on this stack pays, one client and eight); and the engine's own
part, pyoxigraph asked the same cold lookups in a Python process with no HTTP.

    python -m bench.overhead [--communities N] [--repeats R]

Each request names another community, in the same order on both servers, alternating between
them. To measure an older ecgraph beside this one, run it with that ecgraph first on
``PYTHONPATH`` (its node is started with this interpreter and that path).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import requests

from .common import Row, _free_port, cpu_of, median, memory_parts, percentile, rss_of, wait_until_ready
from .queries import Servers, throughput

FLASK_FLOOR = """
import sys
from flask import Flask, Response
from waitress import serve
body = open(sys.argv[2], "rb").read()
app = Flask("floor")
@app.post("/sparql")
def answer():
    return Response(body, content_type="application/sparql-results+json")
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=16, _quiet=True)
"""

#: the same behind the same server without Flask: what of the floor is the HTTP server's
WSGI_FLOOR = """
import sys
from waitress import serve
body = open(sys.argv[2], "rb").read()
def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/sparql-results+json"),
                              ("Content-Length", str(len(body)))])
    return [body]
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=16, _quiet=True)
"""

#: the engine behind the same server in one process, with no Flask and none of the node's code: a
#: bare WSGI function asks pyoxigraph (a read-only view of the anchor's files) and sends its answer.
#: The least any node on this stack pays; the engine alone plus the floors above sums parts measured
#: apart, which this does not.
ENGINE_FLOOR = """
import sys
from urllib.parse import parse_qs
import pyoxigraph as ox
from waitress import serve
store = ox.Store.read_only(sys.argv[2])
def app(environ, start_response):
    form = parse_qs(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode())
    answer = store.query(form["query"][0], use_default_graph_as_union=True)
    if isinstance(answer, ox.QuerySolutions):
        body, media = answer.serialize(format=ox.QueryResultsFormat.JSON), "application/sparql-results+json"
    else:
        body, media = answer.serialize(format=ox.RdfFormat.TURTLE), "text/turtle"
    start_response("200 OK", [("Content-Type", media), ("Content-Length", str(len(body)))])
    return [body]
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=16, _quiet=True)
"""


def _time(session: requests.Session, url: str, text: str, accept: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    r = session.post(url, data={"query": text}, headers={"Accept": accept}, timeout=60)
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"{url}: {r.status_code} {r.text[:200]}")
    return elapsed, r.content


def cold_texts(communities: int, tag: str):
    """The k-th text client i sends: a lookup or a DESCRIBE of a community, never the same text
    twice in a run (the variable names, and the letter case of DESCRIBE, differ), so that no
    answer cache helps; the same shapes the node answers in its web process."""

    def text(i: int, k: int) -> str:
        iri = f"https://community-{(k * 7 + i * 131) % communities:05d}.bench.example/id/community"
        if k % 2:
            return f"SELECT ?p ?{tag}{i}x{k} WHERE {{ <{iri}> ?p ?{tag}{i}x{k} }}"
        variant = i + 8 * (k // (2 * communities))
        word = "".join(c.upper() if (variant >> j) & 1 else c for j, c in enumerate("describe"))
        return f"{word} <{iri}>"

    return text


def overhead(quick: bool, communities: int | None = None, repeats: int | None = None) -> list[Row]:
    communities = communities or (100 if quick else 1000)
    repeats = min(repeats or (100 if quick else 300), communities)
    servers = Servers(communities)
    floor = None
    try:
        wait_until_ready(servers.node.url, 600)  # the figures are built at start (in the web process): not measured
        session = requests.Session()
        rows = []
        body = b""
        lookup_anchor: list[float] = []
        for kind, template, accept in (
                ("lookup by IRI", "SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}", "application/sparql-results+json"),
                ("DESCRIBE", "DESCRIBE <{iri}>", "text/turtle")):
            ours, theirs = [], []
            for k in range(repeats + 5):
                i = (k * 7919) % communities
                text = template.format(iri=f"https://community-{i:05d}.bench.example/id/community")
                a, body_here = _time(session, servers.ecgraph_url, text, accept)
                b, _ = _time(session, servers.oxigraph_url, text, accept)
                if k >= 5:  # the first few warm both
                    ours.append(a)
                    theirs.append(b)
                if kind == "lookup by IRI":
                    body = body_here
            if kind == "lookup by IRI":
                lookup_anchor = theirs
            rows.append(Row("overhead", f"N={communities}: {kind}, cold (each IRI asked once), median",
                            median(ours) * 1000, median(theirs) * 1000, "ms", "oxigraph serve",
                            note=f"p95 {percentile(ours, 95) * 1000:.2f} vs {percentile(theirs, 95) * 1000:.2f} ms; "
                                 "target: ratio <= 1.3"))
        seconds = 5 if quick else 15
        ours_rate, our_errors, our_cpu = _throughput(servers.ecgraph_url, servers.node.process.pid, seconds,
                                                     cold_texts(communities, "n"))
        their_rate, their_errors, their_cpu = _throughput(servers.oxigraph_url, servers.oxigraph.process.pid,
                                                          seconds, cold_texts(communities, "o"))
        rows.append(Row("overhead", f"N={communities}: throughput, 8 clients, cold lookups and DESCRIBEs "
                        "(each text asked once)", ours_rate, their_rate, "req/s", "oxigraph serve",
                        note=f"errors {our_errors} vs {their_errors}; server CPU {our_cpu * 1000:.2f} vs "
                             f"{their_cpu * 1000:.2f} ms a request (workers included); target: ratio >= 1.0"))
        rss, anchor_rss = rss_of(servers.node.process.pid), rss_of(servers.oxigraph.process.pid)
        rows.append(Row("overhead", f"N={communities}: resident memory after these requests", rss / 2**20,
                        anchor_rss / 2**20, "MiB", "oxigraph serve",
                        note=f"ecgraph: {memory_parts(servers.node.process.pid)}; target: ratio <= 2"))
        path = servers.tmp / "floor-body.json"
        path.write_bytes(body)
        floors = {}
        engine_floor = "the engine behind waitress in one process (a bare WSGI function calling pyoxigraph)"
        for name, script, argument in (
                ("a bare Flask app behind waitress", FLASK_FLOOR, path),
                ("a bare WSGI function behind waitress (no Flask)", WSGI_FLOOR, path),
                (engine_floor, ENGINE_FLOOR, servers.tmp / "oxigraph")):
            port = _free_port()
            floor = subprocess.Popen([sys.executable, "-c", script, str(port), str(argument)])
            url = f"http://127.0.0.1:{port}/sparql"
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    requests.post(url, data={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"}, timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            bare, theirs = [], []
            for k in range(repeats):
                i = (k * 7919) % communities
                text = f"SELECT ?p ?o WHERE {{ <https://community-{i:05d}.bench.example/id/community> ?p ?o }}"
                bare.append(_time(session, url, text, "application/sparql-results+json")[0])
                theirs.append(_time(session, servers.oxigraph_url, text, "application/sparql-results+json")[0])
            if script is ENGINE_FLOOR:
                floor_rate, floor_errors, floor_cpu = _throughput(url, floor.pid, seconds, cold_texts(communities, "f"))
                anchor_rate, anchor_errors, anchor_cpu = _throughput(servers.oxigraph_url, servers.oxigraph.process.pid,
                                                                     seconds, cold_texts(communities, "a"))
            floor.terminate()
            floor.wait(10)
            floor = None
            floors[name] = median(bare)
            if script is ENGINE_FLOOR:
                rows.append(Row("overhead", f"N={communities}: {name}: the same cold lookups, median",
                                median(bare) * 1000, median(theirs) * 1000, "ms", "oxigraph serve (the lookup)",
                                note=f"p95 {percentile(bare, 95) * 1000:.2f} vs {percentile(theirs, 95) * 1000:.2f} "
                                     "ms: no Flask and none of the node's code, so the least a node on this stack "
                                     "pays (the 1.3x target less this is what the node's own work may cost)"))
                rows.append(Row("overhead", f"N={communities}: {name}: requests/s of 8 clients asking "
                                "cold lookups and DESCRIBEs", floor_rate, anchor_rate, "req/s",
                                "oxigraph serve (measured again just after)",
                                note=f"errors {floor_errors} vs {anchor_errors}; server CPU {floor_cpu * 1000:.2f} vs "
                                     f"{anchor_cpu * 1000:.2f} ms a request: the most one process of this stack "
                                     "serves (the engine runs without the GIL; the HTTP server does not)"))
                continue
            rows.append(Row("overhead", f"{name}, the same {len(body):,}-byte answer, median",
                            median(bare) * 1000, median(theirs) * 1000, "ms", "oxigraph serve (the lookup)",
                            note=f"p95 {percentile(bare, 95) * 1000:.2f} vs {percentile(theirs, 95) * 1000:.2f} ms: "
                                 + ("the floor of any Flask node" if "Flask app" in name
                                    else "the HTTP server's part of that floor")))
        rows.append(engine_alone(servers, communities, repeats, lookup_anchor, floors))
        return rows
    finally:
        if floor is not None:
            floor.terminate()
            floor.wait(10)
        servers.close()


def _throughput(url: str, pid: int, seconds: float, texts) -> tuple[float, int, float]:
    """:func:`throughput` of eight clients, and the CPU seconds a request the server's processes
    (``pid`` and its children) used meanwhile: with two cores, where the clients need most of one,
    what a request costs the machine bounds what any server answers."""
    before = cpu_of(pid)
    started = time.perf_counter()
    rate, errors = throughput(url, seconds, texts=texts)
    answered = rate * (time.perf_counter() - started)
    return rate, errors, (cpu_of(pid) - before) / max(answered, 1)


def engine_alone(servers: Servers, communities: int, repeats: int, anchor: list[float],
                 floors: dict[str, float]) -> Row:
    """The engine's own part of a cold lookup: pyoxigraph in this Python process, over a read-only
    view of the anchor's files opened just now (its caches as cold as the servers' were in the cold
    lookups above, the files as warm in the page cache), asked the same lookups in the same order,
    each query and its SPARQL JSON answer timed; beside ``oxigraph serve``'s cold lookups above
    (``anchor``: by now the throughput part has asked it every community). Its note adds the bare
    Flask floor: what a node that spent nothing else would pay, against the 1.3x target."""
    import pyoxigraph as ox

    store = ox.Store.read_only(str(servers.tmp / "oxigraph"))
    ours = []
    for k in range(repeats + 5):
        i = (k * 7919) % communities
        text = f"SELECT ?p ?o WHERE {{ <https://community-{i:05d}.bench.example/id/community> ?p ?o }}"
        started = time.perf_counter()
        answer = store.query(text, use_default_graph_as_union=True)
        assert isinstance(answer, ox.QuerySolutions)
        answer.serialize(format=ox.QueryResultsFormat.JSON)
        if k >= 5:  # as above
            ours.append(time.perf_counter() - started)
    del store
    least = median(ours) + floors.get("a bare Flask app behind waitress", 0.0)
    return Row("overhead", f"N={communities}: the engine alone (pyoxigraph in a Python process, no HTTP), "
               "the same cold lookups, query and JSON answer, median", median(ours) * 1000, median(anchor) * 1000,
               "ms", "oxigraph serve (its cold lookups above, the whole request)",
               note=f"p95 {percentile(ours, 95) * 1000:.2f} vs {percentile(anchor, 95) * 1000:.2f} ms; plus the "
                    f"bare Flask floor, measured apart: {least * 1000:.2f} ms, {least / median(anchor):.2f}x (the "
                    f"target, 1.3x, is {1.3 * median(anchor) * 1000:.2f} ms); the parts cost more together: see "
                    "the engine behind waitress in one process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--communities", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    for row in overhead(True, args.communities, args.repeats):  # bench.__main__ needs this ecgraph
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "n/a"
        print(f"| {row.case} | {row.ecgraph:,.3f} {row.unit} | {row.anchor:,.3f} {row.unit} | {ratio} | {row.note} |")


if __name__ == "__main__":
    main()

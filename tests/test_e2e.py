"""End to end: a real ``ecgraph serve`` process on a free port, real clients over HTTP, on each
backend (the embedded store; a real ``oxigraph serve`` as a remote store, a change written in one
request and in steps; Virtuoso Open Source in the slow suite).

Publish a twin with its token, query it with SPARQLWrapper (JSON, XML, CSV), rdflib's SPARQLStore
and curl; replace it while another thread queries (never empty, never mixed); refuse a bad upload
and a write with another twin's token (store unchanged); stop a slow query at its time limit while
a fast one answers; refuse SERVICE to loopback with no hit on a canary.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import threading
import time

import pytest
import requests
from SPARQLWrapper import CSV, JSON, XML, SPARQLWrapper

from tests.helpers import TEST, make_twin
from tests.servers import NodeProcess, Virtuoso, node_over_oxigraph

GRAPH = "https://w3id.org/ecgraph/twin/e2e"
VERSIONS = (f"PREFIX t: <{TEST}> SELECT ?v (COUNT(*) AS ?n) "
            f"WHERE {{ GRAPH <{GRAPH}> {{ ?x t:version ?v }} }} GROUP BY ?v")
SCHOOLS = "PREFIX ec: <https://w3id.org/ecgraph/ns#> SELECT DISTINCT ?c WHERE { ?c ec:hasMember/a ec:School }"


@pytest.fixture(scope="module",
                params=["embedded", "oxigraph", "steps", pytest.param("virtuoso", marks=pytest.mark.slow)])
def server(request, tmp_path_factory):
    """The same node on each backend: the embedded store; a real ``oxigraph serve`` as a remote
    SPARQL 1.1 store (``--store URL``), written in one update request a change, and written in
    steps (``--store-writes steps``, as on Virtuoso); Virtuoso Open Source (slow suite)."""
    args = ("--no-demo", "--query-timeout", "2", "--query-workers", "2")
    where = tmp_path_factory.mktemp("e2e-" + request.param)
    if request.param == "embedded":
        node = NodeProcess(where / "data", *args).start()
        node.backend = request.param
        yield node
        node.stop()
        return
    if request.param == "virtuoso":
        virtuoso = Virtuoso(where / "virtuoso")
        try:
            node = NodeProcess(where / "data", *args, *virtuoso.store_args()).start()
            node.backend = request.param
            yield node
            node.stop()
        finally:
            virtuoso.stop()
        return
    steps = ("--store-writes", "steps") if request.param == "steps" else ()
    # the store's time limit is the node's
    node, store = node_over_oxigraph(where, *args, *steps, store_args=("--timeout-s", "2"))
    node.backend = request.param
    yield node
    node.stop()
    store.stop()


@pytest.fixture(scope="module")
def token(server):
    r = requests.post(server.url + "/api/twins", json={"id": "e2e", "title": "End to end"}, headers=server.admin)
    assert r.status_code == 201
    tok = r.json()["token"]
    r = requests.put(server.url + "/api/twins/e2e", data=make_twin("e2e", tag="A", members=4, schools=2),
                     headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {tok}"})
    assert r.status_code == 201, r.text
    return tok


def dataset(server) -> list[str]:
    r = requests.get(server.url + "/store", headers={"Accept": "application/n-quads"})
    assert r.status_code == 200
    return sorted(r.text.splitlines())


def test_sparqlwrapper_json_xml_csv(server, token):
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(SCHOOLS)
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]
    assert [r["c"]["value"] for r in rows] == ["https://e2e.example/id/community"]
    client.setReturnFormat(XML)
    doc = client.query().convert()
    assert "https://e2e.example/id/community" in doc.toxml()
    client.setReturnFormat(CSV)
    assert client.query().convert().decode().splitlines() == ["c", "https://e2e.example/id/community"]
    client.setMethod("POST")
    client.setReturnFormat(JSON)
    assert client.query().convert()["results"]["bindings"] == rows


def test_every_answer_format_of_select_ask_construct_and_describe(server, token):
    import pyoxigraph as ox

    from ecgraph import formats

    members = ("PREFIX ec: <https://w3id.org/ecgraph/ns#> SELECT DISTINCT ?m WHERE "
               "{ <https://e2e.example/id/community> ec:hasMember ?m } ORDER BY ?m")
    for fmt in formats.RESULTS:
        r = requests.post(server.url + "/sparql", data={"query": members}, headers={"Accept": fmt.media_types[0]})
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(fmt.media_types[0]), fmt.key
        if fmt is formats.CSV:  # lossy: pyoxigraph does not read it back
            assert len(r.text.strip().splitlines()) == 1 + 4
            continue
        assert len(list(ox.parse_query_results(r.content, format=fmt.results))) == 4, fmt.key
        r = requests.post(server.url + "/sparql", data={"query": "ASK { ?s ?p ?o }"},
                          headers={"Accept": fmt.media_types[0]})
        assert r.status_code == 200 and bool(ox.parse_query_results(r.content, format=fmt.results)), fmt.key
    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"
    describe = "DESCRIBE <https://e2e.example/id/community>"
    expected = len(requests.get(server.url + "/api/twins/e2e/data", headers={"Accept": "application/n-triples"})
                   .text.strip().splitlines())
    for fmt in formats.GRAPH:
        r = requests.post(server.url + "/sparql", data={"query": construct}, headers={"Accept": fmt.media_types[0]})
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(fmt.media_types[0]), fmt.key
        assert len(list(ox.parse(r.content, format=fmt.rdf))) == expected, fmt.key
        r = requests.post(server.url + "/sparql", data={"query": describe}, headers={"Accept": fmt.media_types[0]})
        assert r.status_code == 200 and len(list(ox.parse(r.content, format=fmt.rdf))) > 3, fmt.key


def test_rdflib_sparqlstore(server, token):
    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = Graph(store=SPARQLStore(server.url + "/sparql"))
    rows = list(graph.query(SCHOOLS))
    assert [str(r[0]) for r in rows] == ["https://e2e.example/id/community"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl(server, token):
    out = subprocess.run(["curl", "-sf", "-H", "Accept: text/csv", "--data-urlencode", f"query={SCHOOLS}",
                          server.url + "/sparql"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["c", "https://e2e.example/id/community"]


def test_replace_while_querying_is_never_empty_or_mixed(server, token):
    sizes = {"A": 5, "B": 21}  # the community and its members carry the tag
    seen: list = []
    errors: list = []
    stop = threading.Event()

    def reader():
        session = requests.Session()
        while not stop.is_set():
            r = session.get(server.url + "/sparql", params={"query": VERSIONS})
            if r.status_code != 200:
                errors.append(r.status_code)
                continue
            seen.append({b["v"]["value"]: int(b["n"]["value"]) for b in r.json()["results"]["bindings"]})

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    headers = {"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"}
    for i in range(10):
        tag = "B" if i % 2 == 0 else "A"
        body = make_twin("e2e", tag=tag, members=20 if tag == "B" else 4, schools=2)
        assert requests.put(server.url + "/api/twins/e2e", data=body, headers=headers).status_code == 200
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) > 10
    for answer in seen:
        assert len(answer) == 1, f"mixed or empty twin seen: {answer}"
        (tag, n), = answer.items()
        assert sizes[tag] == n, answer


def test_bad_upload_is_refused_and_nothing_changes(server, token):
    before = dataset(server)
    headers = {"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"}
    r = requests.put(server.url + "/api/twins/e2e", data=b"@prefix x: <http://x/> .\nx:a x:b .\n", headers=headers)
    assert r.status_code == 400 and r.json()["line"] == 2
    r = requests.put(server.url + "/api/twins/e2e",
                     data=make_twin("e2e").replace(b"ec:status ec:status-active ;", b"ec:status ec:status-nonsense ;"),
                     headers=headers)
    assert r.status_code == 422 and r.json()["report"]["conforms"] is False
    assert dataset(server) == before


def test_write_with_another_twins_token_is_refused(server, token):
    r = requests.post(server.url + "/api/twins", json={"id": "e2e-other"}, headers=server.admin)
    other = r.json()["token"]
    before = dataset(server)
    r = requests.put(server.url + "/api/twins/e2e", data=make_twin("e2e", tag="X"),
                     headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {other}"})
    assert r.status_code == 403
    assert dataset(server) == before
    assert other not in server.log() and token not in server.log()


def test_slow_query_stops_at_the_limit_while_a_fast_one_answers(server, token):
    cartesian = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    if server.backend == "virtuoso":  # it refuses that one at once by its cost estimate (also a 503)
        cartesian = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(STR(?c) < STR(?f)) }"
    outcome = {}

    def slow():
        started = time.perf_counter()
        r = requests.get(server.url + "/sparql", params={"query": cartesian})
        outcome.update(status=r.status_code, body=r.json(), seconds=time.perf_counter() - started,
                       retry_after=r.headers.get("Retry-After"))

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.3)
    fast = []
    while thread.is_alive():
        started = time.perf_counter()
        r = requests.get(server.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"})
        fast.append((r.status_code, time.perf_counter() - started))
        time.sleep(0.1)
    thread.join()
    assert outcome["status"] == 503
    assert outcome["body"]["error"] == "query timeout"
    assert outcome["retry_after"] == "1"
    assert outcome["seconds"] < 4
    assert fast and all(status == 200 for status, _ in fast)
    assert sorted(s for _, s in fast)[len(fast) // 2] < 0.1


def test_service_to_loopback_is_refused_and_never_sent(server, token, canary):
    for query in (f"SELECT * WHERE {{ SERVICE <{canary.url}/sparql> {{ ?s ?p ?o }} }}",
                  f"select * where {{ service silent <{canary.url}/sparql> {{ ?s ?p ?o }} }}",
                  f"BASE <{canary.url}/> SELECT * WHERE {{ SERVICE <sparql> {{ ?s ?p ?o }} }}"):
        r = requests.get(server.url + "/sparql", params={"query": query})
        assert r.status_code == 403, r.text
    time.sleep(0.2)
    assert canary.hits == []


def test_generated_admin_token_file_is_private(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "ecgraph.cli", "serve", "--data", str(tmp_path / "data"),
                             "--port", "0", "--no-demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "admin token:" in line:
                break
        token_file = tmp_path / "data" / "admin-token"
        assert token_file.exists()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert token not in "".join(lines)
        assert str(token_file) in "".join(lines)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_loads_the_demo_network(tmp_path):
    node = NodeProcess(tmp_path / "data").start()
    try:
        twins = requests.get(node.url + "/api/twins").json()
        assert twins["total"] >= 15
        assert all(t["published"] for t in twins["twins"])
        rows = requests.get(node.url + "/sparql", params={"query": SCHOOLS}).json()["results"]["bindings"]
        assert len(rows) >= 4
        metrics = requests.get(node.url + "/metrics").text
        assert "ecgraph_twins" in metrics
    finally:
        node.stop()
    assert json.loads(json.dumps(twins))  # the listing is plain JSON

"""What a hostile review of a node found, each as a test that failed before the fix (issue 10).

1. SERVICE: query workers are cut off the network (a second layer behind the check), queries
   naming an allowed peer still reach it, and a failed SERVICE call tells nothing of its target.
2. The query text is capped (413 naming the setting).
3. Writes: concurrent merges keep every acknowledged triple; ETag / If-Match; DELETE against
   PUT never leaves a twin half-registered; a restart keeps graphs an admin wrote; merges obey the
   triple cap; a re-registered id starts without history (in test_web.py).
4. Outages: a memory ceiling for query workers; workers shared fairly between clients;
   anonymous validation does not hold up publishing.
5. Authority: a twin speaks only for its own resources.
6. Small ones: ASCII-only numbers, lone surrogates, negative limits are 400s.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
import time

import pyoxigraph as ox
import pytest
import requests

from ecgraph import standard
from ecgraph.config import Config
from tests.checks import record
from tests.helpers import ADMIN, auth, fingerprint, make_twin
from tests.servers import Canary, Document, NodeProcess

TURTLE = {"Content-Type": "text/turtle"}
EC = standard.EC


def service_query(url: str) -> str:
    return f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"


# --- 1. the second layer: workers without network ------------------------------------------------

def _try_service(mode: str, url: str, out) -> None:
    from ecgraph import sandbox

    libc = sandbox._libc()
    if mode == "namespace":
        applied = bool(sandbox._unshare_network(libc))
    elif mode == "seccomp":
        applied = sandbox._seccomp(libc)
    else:
        applied = sandbox.isolated(sandbox.isolate())
    try:
        list(ox.Store().query(service_query(url)))
        outcome = "answered"
    except OSError as exc:
        outcome = f"refused: {exc}"
    out.put((applied, outcome))


@pytest.mark.parametrize("mode", ["namespace", "seccomp", "both"])
def test_each_isolation_layer_alone_keeps_the_engine_off_the_network(mode, canary):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    process = ctx.Process(target=_try_service, args=(mode, canary.url + "/sparql", out))
    process.start()
    applied, outcome = out.get(timeout=60)
    process.join(10)
    if not applied:
        pytest.skip(f"this system does not offer the {mode} layer")
    assert outcome.startswith("refused"), outcome
    assert canary.hits == []


def test_query_workers_stay_off_the_network_even_if_the_check_is_bypassed(tmp_path, canary):
    """The SERVICE check is bypassed by calling the pool directly: the worker itself refuses."""
    from ecgraph.node import Node
    from ecgraph.query.pool import QueryRequest, ServiceFailed

    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True,
                         query_workers=1, pipeline_workers=1)
    node = Node(config, workers=True)
    try:
        assert node.query_pool.isolate_network
        for url in (canary.url + "/sparql", f"http://localhost:{canary.port}/", f"http://127.1:{canary.port}/"):
            with pytest.raises(ServiceFailed) as caught:
                node.query_pool.run(QueryRequest(service_query(url), "json"))
            assert str(canary.port) not in caught.value.message
        assert canary.hits == []
        assert node.federation_pool is None  # no peers: no worker that can reach the network at all
    finally:
        node.close()


@pytest.fixture(scope="module")
def peers():
    """Three peers a node is configured with: a SPARQL answerer, a web page that is not SPARQL,
    and a closed port."""
    sparql = Canary()
    page = Document(b"<html><body>private intranet page 4242</body></html>", "text/html")
    closed = Canary()
    closed.close()
    yield sparql, page, closed
    sparql.close()
    page.close()


@pytest.fixture(scope="module")
def federating(tmp_path_factory, peers):
    sparql, page, closed = peers
    node = NodeProcess(tmp_path_factory.mktemp("federating") / "data", "--no-demo", "--query-timeout", "5",
                       "--peer", sparql.url + "/sparql", "--peer", page.url + "/", "--peer", closed.url + "/").start()
    yield node
    node.stop()


def test_a_query_naming_an_allowed_peer_reaches_it(federating, peers):
    sparql, _, _ = peers
    before = len(sparql.hits)
    r = requests.get(federating.url + "/sparql", params={"query": service_query(sparql.url + "/sparql")})
    assert r.status_code == 200, r.text
    assert len(sparql.hits) > before
    health = requests.get(federating.url + "/health").json()
    assert health["workers"]["federation"]["network"] == "open"
    assert health["workers"]["query"]["network"] != "none"


def test_a_failed_service_call_tells_nothing_about_its_target(federating, peers):
    _, page, closed = peers
    answers = []
    for target in (page.url + "/", closed.url + "/"):
        r = requests.get(federating.url + "/sparql", params={"query": service_query(target)})
        answers.append((r.status_code, r.json()))
    assert answers[0] == answers[1], answers  # "port closed" and "open but not SPARQL" look alike
    status, body = answers[0]
    assert status == 502
    text = json.dumps(body)
    for leak in (str(page.port), str(closed.port), "4242", "refused", "html", "127.0.0.1"):
        assert leak not in text


# --- 2. the query text is capped ----------------------------------------------------------------

@pytest.fixture()
def small_client(tmp_path):
    from ecgraph.node import Node
    from ecgraph.web import create_app

    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True,
                         max_query_bytes=2000, max_triples=40)
    node = Node(config, workers=False)
    app = create_app(node)
    app.testing = True
    yield app.test_client(), node
    node.close()


def test_a_query_or_update_over_the_size_limit_gets_413_naming_the_setting(small_client):
    client, node = small_client
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 3000
    answers = [
        client.get("/sparql", query_string={"query": big}),
        client.post("/sparql", data={"query": big}),
        client.post("/sparql", data=big, content_type="application/sparql-query"),
        client.post("/update", data="INSERT DATA { <a:b> <a:c> <a:d> } #" + "x" * 3000,
                    content_type="application/sparql-update", headers=auth(ADMIN)),
    ]
    for r in answers:
        assert r.status_code == 413, r.data
        assert "--max-query-bytes" in r.get_json()["detail"] and "2,000" in r.get_json()["detail"]
    assert client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"}).status_code == 200


# --- 3. writes ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def writer(tmp_path_factory):
    node = NodeProcess(tmp_path_factory.mktemp("writes") / "data", "--no-demo").start()
    yield node
    node.stop()


def _register(node: NodeProcess, twin_id: str) -> str:
    r = requests.post(node.url + "/api/twins", json={"id": twin_id, "title": twin_id}, headers=node.admin)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _bearer(token: str, **extra) -> dict:
    return {"Authorization": f"Bearer {token}", **extra}


def _values(node: NodeProcess, twin_id: str) -> set[str]:
    query = (f"SELECT ?v WHERE {{ GRAPH <{standard.twin_graph(twin_id)}> "
             "{ ?s <http://example.org/test#added> ?v } }")
    r = requests.get(node.url + "/sparql", params={"query": query}, headers={"Accept": "application/json"})
    return {b["v"]["value"] for b in r.json()["results"]["bindings"]}


def concurrent_merges(writer, twin_id: str, rounds: int) -> dict:
    token = _register(writer, twin_id)
    assert requests.put(f"{writer.url}/api/twins/{twin_id}", data=make_twin(twin_id),
                        headers=_bearer(token, **TURTLE)).status_code == 201
    graph = standard.twin_graph(twin_id)
    acknowledged: set[str] = set()
    for round_ in range(rounds):
        results = {}

        def merge(i, round_, results):
            value = f"r{round_}-c{i}"
            body = f'<https://{twin_id}.example/id/member/0> <http://example.org/test#added> "{value}" .'
            r = requests.post(writer.url + "/store", params={"graph": graph}, data=body.encode(),
                              headers=_bearer(token, **TURTLE))
            results[value] = r.status_code

        threads = [threading.Thread(target=merge, args=(i, round_, results)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        acknowledged |= {v for v, status in results.items() if status in (200, 201)}
        assert len(acknowledged) == 3 * (round_ + 1), results
        assert acknowledged <= _values(writer, twin_id)
    return {"rounds": rounds, "acknowledged": len(acknowledged), "lost": len(acknowledged - _values(writer, twin_id))}


def test_concurrent_merges_keep_every_acknowledged_triple(writer):
    concurrent_merges(writer, "merges", rounds=5)


@pytest.mark.slow
def test_concurrent_merges_keep_every_acknowledged_triple_long(writer):
    record("concurrent_merges", **concurrent_merges(writer, "merges-long", rounds=20))


def test_a_stale_if_match_is_refused_with_412_and_nothing_changes(writer):
    token = _register(writer, "etags")
    first = requests.put(writer.url + "/api/twins/etags", data=make_twin("etags", tag="A"),
                         headers=_bearer(token, **TURTLE, **{"If-None-Match": "*"}))
    assert first.status_code == 201
    tag_a = first.headers["ETag"]
    assert requests.get(writer.url + "/api/twins/etags/data").headers["ETag"] == tag_a
    assert requests.get(writer.url + "/store", params={"graph": standard.twin_graph("etags")}).headers["ETag"] == tag_a
    # create-only fails now that it exists
    again = requests.put(writer.url + "/api/twins/etags", data=make_twin("etags", tag="X"),
                         headers=_bearer(token, **TURTLE, **{"If-None-Match": "*"}))
    assert again.status_code == 412
    second = requests.put(writer.url + "/api/twins/etags", data=make_twin("etags", tag="B"),
                          headers=_bearer(token, **TURTLE, **{"If-Match": tag_a}))
    assert second.status_code == 200
    tag_b = second.headers["ETag"]
    assert tag_b != tag_a
    before = requests.get(writer.url + "/api/twins/etags/data", headers={"Accept": "application/n-triples"}).text
    for method, path, body in (("PUT", "/api/twins/etags", make_twin("etags", tag="C")),
                               ("POST", "/store?graph=" + standard.twin_graph("etags"), b""),
                               ("DELETE", "/api/twins/etags/data", None),
                               ("DELETE", "/store?graph=" + standard.twin_graph("etags"), None)):
        r = requests.request(method, writer.url + path, data=body,
                             headers=_bearer(token, **TURTLE, **{"If-Match": tag_a}))
        assert r.status_code == 412, (method, path, r.text)
        assert r.json()["etag"] == tag_b
    after = requests.get(writer.url + "/api/twins/etags/data", headers={"Accept": "application/n-triples"}).text
    assert after == before
    weak = requests.put(writer.url + "/api/twins/etags", data=make_twin("etags", tag="D"),
                        headers=_bearer(token, **TURTLE, **{"If-Match": "W/" + tag_b}))
    assert weak.status_code == 412  # a weak ETag never matches a write's precondition


def delete_put_races(writer, prefix: str, rounds: int) -> dict:
    outcomes = {"put_first": 0, "delete_first": 0}
    for round_ in range(rounds):
        twin_id = f"{prefix}-{round_}"
        token = _register(writer, twin_id)
        assert requests.put(f"{writer.url}/api/twins/{twin_id}", data=make_twin(twin_id, tag="A"),
                            headers=_bearer(token, **TURTLE)).status_code == 201
        statuses = {}

        def put(twin_id, token, statuses):
            statuses["put"] = requests.put(f"{writer.url}/api/twins/{twin_id}", data=make_twin(twin_id, tag="B"),
                                           headers=_bearer(token, **TURTLE)).status_code

        def delete(twin_id, round_, statuses):
            time.sleep(0.005 * (round_ % 4))
            statuses["delete"] = requests.delete(f"{writer.url}/api/twins/{twin_id}", headers=writer.admin).status_code

        threads = [threading.Thread(target=put, args=(twin_id, token, statuses)),
                   threading.Thread(target=delete, args=(twin_id, round_, statuses))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses["delete"] == 204
        assert statuses["put"] in (200, 403, 404), statuses
        # whatever the order: the twin is gone, with its data
        assert requests.get(f"{writer.url}/api/twins/{twin_id}").status_code == 404
        ask = f"ASK {{ GRAPH <{standard.twin_graph(twin_id)}> {{ ?s ?p ?o }} }}"
        r = requests.get(writer.url + "/sparql", params={"query": ask}, headers={"Accept": "application/json"})
        assert r.json()["boolean"] is False, (round_, statuses)
        outcomes["put_first" if statuses["put"] == 200 else "delete_first"] += 1
    return {"rounds": rounds, **outcomes, "half_registered": 0}


def test_delete_racing_put_never_leaves_a_twin_half_registered(writer):
    delete_put_races(writer, "race", rounds=10)


@pytest.mark.slow
def test_delete_racing_put_never_leaves_a_twin_half_registered_long(writer):
    record("delete_put_races", **delete_put_races(writer, "race-long", rounds=100))


def test_a_restart_keeps_graphs_an_admin_wrote(tmp_path):
    node = NodeProcess(tmp_path / "data", "--no-demo").start()
    try:
        update = ("INSERT DATA { GRAPH <https://w3id.org/ecgraph/twin/ghost> { <urn:x:a> <urn:x:b> <urn:x:c> } "
                  "GRAPH <http://example.org/reference/regions> { <urn:x:r> <urn:x:b> \"region\" } }")
        assert requests.post(node.url + "/update", data={"update": update}, headers=node.admin).status_code == 204
    finally:
        node.stop()
    node.start()
    try:
        for graph in ("https://w3id.org/ecgraph/twin/ghost", "http://example.org/reference/regions"):
            r = requests.get(node.url + "/sparql", params={"query": f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
                             headers={"Accept": "application/json"})
            assert r.json()["boolean"] is True, graph
        assert "removing" not in node.log()
    finally:
        node.stop()


def test_an_interrupted_bulk_load_is_still_removed_at_the_next_start(tmp_path):
    """Only what a bulk load marked before writing is removed: here a load that wrote its data
    and died before its catalog entries."""
    from ecgraph.node import Node

    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True)
    node = Node(config, workers=False)
    graph = standard.twin_graph("half-loaded")
    node.registry.mark_bulk([graph])
    node.store.bulk_load(f"<urn:x:a> <urn:x:b> <urn:x:c> <{graph}> .\n".encode())
    node.update(f"INSERT DATA {{ GRAPH <{standard.twin_graph('admin-made')}> {{ <urn:x:a> <urn:x:b> <urn:x:d> }} }}")
    node.close()
    node = Node(config, workers=False)
    try:
        assert not node.store.has_graph(graph)
        assert node.store.has_graph(standard.twin_graph("admin-made"))
        assert node.registry.bulk_pending() == []
    finally:
        node.close()


def test_a_merge_cannot_grow_a_twin_past_the_triple_cap(small_client):
    client, node = small_client
    token = client.post("/api/twins", json={"id": "capped"}, headers=auth(ADMIN)).get_json()["token"]
    r = client.put("/api/twins/capped", data=make_twin("capped", members=2), content_type="text/turtle",
                   headers=auth(token))
    assert r.status_code == 201, r.get_json()
    size = r.get_json()["twin"]["triples"]
    before = fingerprint(node.store)
    lines = "\n".join(f'<https://capped.example/id/member/0> <http://example.org/test#n> "{i}" .'
                      for i in range(40 - size + 1))
    r = client.post("/store", query_string={"graph": standard.twin_graph("capped")}, data=lines,
                    content_type="text/turtle", headers=auth(token))
    assert r.status_code == 413 and "at most 40" in r.get_json()["detail"]
    assert fingerprint(node.store) == before


# --- 4. outages ---------------------------------------------------------------------------------

def test_free_workers_go_first_to_clients_holding_none():
    """Two clients each queue three requests; a third arrives last with one: it is served as soon
    as a worker frees, not after the six others (work-conserving fair queuing)."""
    from ecgraph.workers import _FairQueue

    queue = _FairQueue()
    order: list[str] = []
    lock = threading.Lock()

    def ask(client: str):
        worker = queue.get(client, 10)
        with lock:
            order.append(client)
        time.sleep(0.05)
        queue.release(client)
        queue.put(worker)

    threads = []
    for client in ("heavy-a", "heavy-b"):
        for _ in range(3):
            threads.append(threading.Thread(target=ask, args=(client,)))
    for t in threads:
        t.start()
    time.sleep(0.02)
    late = threading.Thread(target=ask, args=("light",))
    late.start()
    time.sleep(0.02)
    queue.put(object())  # one worker for everyone
    for t in threads + [late]:
        t.join()
    assert order.index("light") <= 2, order  # FIFO would have served it seventh
    assert sorted(order) == sorted(["heavy-a"] * 3 + ["heavy-b"] * 3 + ["light"])


def test_anonymous_validation_does_not_hold_up_publishing(writer):
    """Four strangers validate a large document with the slow reference engine while a publisher
    replaces its small twin: the publisher does not wait for them (they have their own workers)."""
    token = _register(writer, "busy-publisher")
    big = make_twin("validated", members=1200)
    finished: dict[str, float] = {}
    started = time.perf_counter()

    def validate(i):
        r = requests.post(writer.url + "/api/validate", params={"engine": "pyshacl"}, data=big,
                          headers=TURTLE, timeout=300)
        finished[f"validation-{i}"] = time.perf_counter() - started
        assert r.status_code in (200, 503), r.text[:300]

    threads = [threading.Thread(target=validate, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    r = requests.put(writer.url + "/api/twins/busy-publisher", data=make_twin("busy-publisher"),
                     headers=_bearer(token, **TURTLE))
    finished["publish"] = time.perf_counter() - started
    assert r.status_code == 201, r.text
    for t in threads:
        t.join()
    first_validation = min(v for k, v in finished.items() if k.startswith("validation"))
    assert finished["publish"] < first_validation, finished


def test_a_query_over_the_memory_ceiling_is_stopped_with_503_naming_it(tmp_path, demo_data):
    node = NodeProcess(demo_data(tmp_path / "data"), "--query-memory-mb", "128", "--query-timeout", "30").start()
    try:
        hog = ("SELECT ?a ?b ?c ?d WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY DESC(STR(?c)) DESC(STR(?f))")
        started = time.perf_counter()
        r = requests.get(node.url + "/sparql", params={"query": hog}, timeout=60)
        assert r.status_code == 503, r.text[:500]
        assert "ECGRAPH_QUERY_MEMORY_MB" in r.json()["detail"]
        assert time.perf_counter() - started < 30  # stopped by the ceiling, not by the time limit
        assert requests.get(node.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}).status_code == 200
    finally:
        node.stop()


# --- 5. authority -------------------------------------------------------------------------------

def _publish(client, twin_id: str, body: bytes, token: str):
    return client.put(f"/api/twins/{twin_id}", data=body, content_type="text/turtle", headers=auth(token))


@pytest.fixture()
def network(client):
    tokens = {}
    for twin_id in ("victim", "mallory"):
        tokens[twin_id] = client.post("/api/twins", json={"id": twin_id, "title": twin_id.title()},
                                      headers=auth(ADMIN)).get_json()["token"]
    assert _publish(client, "victim", make_twin("victim", members=2), tokens["victim"]).status_code == 201
    return tokens


def _mallory(extra: str) -> bytes:
    return make_twin("mallory", members=1) + f"""
@prefix ec: <{EC}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
{extra}
""".encode()


@pytest.mark.parametrize("extra, owner", [
    ("<https://victim.example/id/community> ec:hasMember <https://mallory.example/id/member/0> .", "victim"),
    ("<https://victim.example/id/member/1> a ec:School .", "victim"),
    (f"<{standard.twin_graph('victim')}> ec:violationCount 42 ; ec:conformanceStatus ec:conformance-fails .", "node"),
    (f"<{standard.CATALOG_GRAPH}> <http://purl.org/dc/terms/title> \"pwned\" .", "node"),
    ("ec:Household rdfs:subClassOf ec:School .", "node"),
    ("<https://schema.org/name> rdfs:label \"not a name\" .", "node"),
])
def test_a_twin_cannot_speak_for_another_twin_or_the_node(client, node, network, extra, owner):
    before = fingerprint(node.store)
    r = _publish(client, "mallory", _mallory(extra), network["mallory"])
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["error"] == "not authoritative"
    assert body["subjects"][0]["owner"] == owner
    assert "nothing was stored" in body["detail"]
    assert fingerprint(node.store) == before
    assert client.get("/api/twins/mallory").get_json()["published"] is False


def test_referring_to_another_twins_resources_and_describing_unclaimed_ones_is_allowed(client, node, network):
    extra = """
<https://mallory.example/id/community> ec:partner <https://victim.example/id/community> .
<https://shared-school.example/id/school> a ec:School .
"""
    r = _publish(client, "mallory", _mallory(extra), network["mallory"])
    assert r.status_code == 201, r.get_json()
    assert client.get("/api/twins/mallory").get_json()["namespaces"] == ["https://mallory.example/id/"]


def test_inferences_about_another_twins_resources_are_not_kept(client, node, network):
    """Mallory says its community is in the victim's network; what the ontology lets the node infer
    about that network (its types from the property's range, the inverse ec:includesCommunity)
    would speak for the victim."""
    extra = "<https://mallory.example/id/community> ec:network <https://victim.example/id/network> ."
    from ecgraph.publish.pipeline import Pipeline, Upload

    upload = Upload(data=_mallory(extra), media_type="text/turtle", base_iri=standard.twin_graph("mallory"))
    raw = Pipeline().prepare(upload).inferred_ntriples
    assert "<https://victim.example/" in raw  # the reasoner does infer about it...
    assert _publish(client, "mallory", _mallory(extra), network["mallory"]).status_code == 201
    inferred = node.store.graph_triples(standard.inferred_graph("mallory"))
    assert inferred and not [t for t in inferred if t.subject.value.startswith("https://victim.example/")]


def test_a_namespace_claim_cannot_overlap_another_twins(client, node, network):
    squatter = make_twin("victim").replace(b"https://victim.example/id/", b"https://victim.example/id/squat/")
    before = fingerprint(node.store)
    r = _publish(client, "mallory", squatter, network["mallory"])
    assert r.status_code == 409 and "victim" in r.get_json()["detail"]
    assert fingerprint(node.store) == before
    # nor can the admin register one that overlaps
    r = client.post("/api/twins", json={"id": "late", "namespaces": ["https://victim.example/"]},
                    headers=auth(ADMIN))
    assert r.status_code == 409 and "victim" in r.get_json()["detail"]
    r = client.post("/api/twins", json={"id": "wide", "namespaces": ["https://"]}, headers=auth(ADMIN))
    assert r.status_code == 409


def test_namespaces_the_admin_registers_are_the_twins(client, node):
    token = client.post("/api/twins", json={"id": "coop", "namespaces": ["https://coop.example/people/",
                                                                          "https://coop.example/id/"]},
                        headers=auth(ADMIN)).get_json()["token"]
    body = make_twin("coop") + b'<https://coop.example/people/anna> a <https://w3id.org/ecgraph/ns#Person> .\n'
    assert _publish(client, "coop", body, token).status_code == 201
    assert client.get("/api/twins/coop").get_json()["namespaces"] == ["https://coop.example/id/",
                                                                      "https://coop.example/people/"]


def test_the_school_question_only_hears_the_community_itself(client, network):
    from tests.helpers import make_twin as twin

    attack = _mallory("<https://victim.example/id/community> ec:hasMember <https://mallory.example/id/member/0> .")
    assert _publish(client, "mallory", attack, network["mallory"]).status_code == 422
    assert _publish(client, "mallory", twin("mallory", schools=1), network["mallory"]).status_code == 201
    query = f"PREFIX ec: <{EC}> SELECT DISTINCT ?c WHERE {{ ?c ec:hasMember/a ec:School }}"
    rows = client.get("/sparql", query_string={"query": query}).get_json()["results"]["bindings"]
    assert {b["c"]["value"] for b in rows} == {"https://mallory.example/id/community"}


# --- 6. small ones ------------------------------------------------------------------------------

def test_odd_numbers_and_broken_text_get_400_not_500(client, network):
    for path in ("/api/twins/victim/data?version=%C2%B2", "/api/twins/victim/data?version=-1",
                 "/api/twins/victim/data?version=1e3", "/api/twins?limit=-5", "/api/twins?offset=x",
                 "/api/twins?limit=%D9%A3"):
        r = client.get(path)
        assert r.status_code == 400, (path, r.status_code)
        assert "whole number" in r.get_json()["detail"]
    r = client.post("/api/twins", data=b'{"id": "odd", "title": "\\ud800"}', content_type="application/json",
                    headers=auth(ADMIN))
    assert r.status_code == 400 and "surrogate" in r.get_json()["detail"]
    assert client.get("/api/twins/odd").status_code == 404

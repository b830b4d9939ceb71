"""A node on an existing SPARQL 1.1 store (``--store URL``), against a real ``oxigraph serve``.

The node's end-to-end behaviours run on this backend in ``tests/test_e2e.py`` (parametrised over
the backends); here are the promises that only a remote store puts at risk: a store that is not
set up as the node needs is refused at start with the setting to change; an answer the store cut
at its own time limit (``oxigraph serve --timeout-s`` answers 200 and appends a message to the cut
body; Virtuoso's anytime queries answer 200 with ``X-SQL-State``) is never passed on as complete;
the registry is reconciled with the store after a crash between the two (a simulated death in the
window, and real SIGKILLs of a publishing node); bulk loads go in batches with progress; the
credentials file stays private.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import threading
import time

import pyoxigraph as ox
import pytest
import requests

from ecgraph import errors
from ecgraph.config import Config
from ecgraph.node import Node
from ecgraph.query.pool import QueryRequest
from ecgraph.store import remote, stepwise
from ecgraph.store.remote import AnswerTruncated, Endpoints, RemoteEngine, StoreMisconfigured
from tests.helpers import TEST, make_twin, replaced_under_readers
from tests.servers import Forwarder, LoopbackServer, NodeProcess, OxigraphProcess, Virtuoso, node_over_oxigraph

VERSIONS = (f"PREFIX t: <{TEST}> SELECT ?v (COUNT(*) AS ?n) "
            "WHERE {{ GRAPH <https://w3id.org/ecgraph/twin/{twin}> {{ ?x t:version ?v }} }} GROUP BY ?v")
SIZES = {"A": 5, "B": 21}  # the community and its members carry the tag


@pytest.fixture()
def oxigraph(tmp_path):
    server = OxigraphProcess(tmp_path / "store", "--union-default-graph")
    yield server
    server.stop()


def node_on(url: str, data, **settings) -> Node:
    return Node(Config.load(environ={}, data=data, store=url, no_demo=True, **settings), workers=False)


def test_a_store_whose_default_graph_is_not_the_union_is_refused_at_start_naming_the_setting(tmp_path):
    plain = OxigraphProcess(tmp_path / "plain")  # oxigraph's default: the default graph is a graph of its own
    try:
        with pytest.raises(StoreMisconfigured) as refused:
            node_on(plain.url, tmp_path / "data")
        assert "--union-default-graph" in refused.value.detail
        # the probe it wrote to find out is gone again
        r = requests.get(plain.url + "/query", params={"query": "ASK { GRAPH ?g { ?s ?p ?o } }"},
                         headers={"Accept": "application/sparql-results+json"})
        assert r.json()["boolean"] is False
    finally:
        plain.stop()


def test_a_store_that_cannot_be_reached_is_named_at_start(tmp_path):
    canary = LoopbackServer()
    url = canary.url
    canary.close()  # nothing listens there any more
    with pytest.raises(StoreMisconfigured) as refused:
        node_on(url, tmp_path / "data")
    assert "could not be reached" in refused.value.detail and url.split("//")[1] in refused.value.detail


def test_an_answer_the_store_cut_at_its_own_timeout_is_never_passed_on_as_complete(tmp_path):
    node, store = node_over_oxigraph(tmp_path, "--no-demo", "--query-timeout", "30",
                                     store_args=("--timeout-s", "1"))
    try:
        triples = " ".join(f"<urn:s{i}> <urn:p> {i} ." for i in range(2000))
        r = requests.post(node.url + "/update", data={"update": f"INSERT DATA {{ GRAPH <urn:big> {{ {triples} }} }}"},
                          headers=node.admin)
        assert r.status_code in (200, 204), r.text
        cartesian = "SELECT * WHERE { GRAPH <urn:big> { ?a ?b ?c . ?d ?e ?f } }"
        # the anchor: the store itself answers 200 with a body it cut short
        direct = requests.post(store.url + "/query", data={"query": cartesian},
                               headers={"Accept": "application/sparql-results+json"})
        assert direct.status_code == 200 and b"cancelled" in direct.content[-100:]
        # (the node asks the store for SPARQL JSON whatever the client asked for; TSV is the format
        # in which the store's appended message would read as one more row)
        for accept in ("application/sparql-results+json", "text/tab-separated-values"):
            started = time.perf_counter()
            r = requests.post(node.url + "/sparql", data={"query": cartesian}, headers={"Accept": accept})
            assert r.status_code == 503, (accept, r.status_code, r.content[:200])
            assert r.json()["error"] == "query timeout"
            assert "partial answer" in r.json()["detail"]
            assert time.perf_counter() - started < 25
        # and a query within the limit still answers, whole
        r = requests.post(node.url + "/sparql", data={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:big> "
                                                               "{ ?s ?p ?o } }"},
                          headers={"Accept": "application/sparql-results+json"})
        assert r.json()["results"]["bindings"][0]["n"]["value"] == "2000"
    finally:
        node.stop()
        store.stop()


class AnytimeStore(LoopbackServer):
    """Answers as Virtuoso does when an "anytime" query hits its time limit: 200, a well-formed
    but partial result, and the news in headers only."""

    def answer(self, method, path, body):
        partial = b'{"head":{"vars":["s"]},"results":{"bindings":[{"s":{"type":"uri","value":"urn:a"}}]}}'
        return 200, {"Content-Type": "application/sparql-results+json", "X-SQL-State": "S1TAT",
                     "X-SQL-Message": "RC...: Returning incomplete results, query interrupted by result timeout.  "
                                      "Activity: 1R rnd  0R seq"}, partial


def test_a_well_formed_answer_that_the_store_marks_incomplete_is_refused():
    store = AnytimeStore()
    try:
        engine = RemoteEngine(Endpoints(query=store.url + "/sparql", update=store.url + "/sparql",
                                        graph_store=store.url + "/sparql-graph-crud"))
        with pytest.raises(AnswerTruncated) as refused:
            engine.query("SELECT ?s WHERE { ?s ?p ?o }")
        assert "S1TAT" in refused.value.detail and refused.value.title == "query timeout"
    finally:
        store.close()


def test_a_crash_between_the_store_commit_and_the_registry_is_reconciled_at_the_next_start(tmp_path, oxigraph):
    node = node_on(oxigraph.url, tmp_path / "data")
    node.register("crashed", "Crashed")

    class Killed(BaseException):
        pass

    def die(*args, **kwargs):
        raise Killed()  # the process dies here: after the store commit, before the registry heard of it

    node.registry.claim = die  # type: ignore[method-assign]
    with pytest.raises(Killed):
        node.publish("crashed", node.upload_for("crashed", make_twin("crashed", members=3), filename="t.ttl"))
    node.close()
    registry = sqlite3.connect(tmp_path / "data" / "registry.sqlite3")
    assert registry.execute("SELECT count(*) FROM namespaces WHERE twin_id = 'crashed'").fetchone() == (0,)
    assert registry.execute("SELECT count(*) FROM reports WHERE twin_id = 'crashed'").fetchone() == (0,)

    node = node_on(oxigraph.url, tmp_path / "data")  # the restart
    try:
        assert node.entry("crashed").version == 1
        assert node.registry.report_version("crashed") == 1
        assert node.report("crashed")["conforms"] is True
        assert node.registry.namespaces("crashed") == ["https://crashed.example/id/"]
        # the claim holds: another twin cannot now speak for the crashed twin's namespace
        node.register("squatter")
        with pytest.raises(errors.Error) as refused:
            node.publish("squatter", node.upload_for("squatter", make_twin("crashed"), filename="t.ttl"))
        assert refused.value.status in (403, 409, 422)
    finally:
        node.close()


def test_bulk_loading_goes_in_batches_sized_for_the_store_with_progress(tmp_path, oxigraph, monkeypatch):
    monkeypatch.setattr(remote, "BULK_BATCH_BYTES", 8_000)
    node = node_on(oxigraph.url, tmp_path / "data")
    progress: list[tuple[int, int]] = []
    node.store.on_progress = lambda done, total: progress.append((done, total))  # type: ignore[attr-defined]
    try:
        ids = [f"bulk-{i}" for i in range(4)]
        for twin_id in ids:
            node.register(twin_id)
        results = node.bulk_publish([(i, node.upload_for(i, make_twin(i, members=6), filename="t.ttl"))
                                     for i in ids], jobs=1)
        assert all(not isinstance(r, Exception) for r in results.values()), results
        assert len(progress) > 2
        assert [done for done, _ in progress] == sorted(done for done, _ in progress)
        assert progress[-1][0] == progress[-1][1]
        answer = node.query(QueryRequest(query="SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                                               "FILTER(STRSTARTS(STR(?g), 'https://w3id.org/ecgraph/twin/bulk-')) }",
                                         result_format="csv"))
        assert answer.body.split(b"\r\n")[1] == b"8"  # each twin's graph and its inferences
        assert sorted(node.entries()) == ids
    finally:
        node.close()


def test_the_credentials_file_must_be_private_and_is_sent_to_the_store_only(tmp_path):
    seen: list[str | None] = []

    class Recorder(LoopbackServer):
        def answer(self, method, path, body):
            return 200, {"Content-Type": "application/sparql-results+json"}, b'{"head":{},"boolean":true}'

    store = Recorder()
    original = store.server.RequestHandlerClass.parse_request

    def parse_request(handler):
        ok = original(handler)
        seen.append(handler.headers.get("Authorization"))
        return ok

    store.server.RequestHandlerClass.parse_request = parse_request  # type: ignore[method-assign]
    try:
        secret = tmp_path / "credentials"
        secret.write_text("ecgraph:s3cret\n")
        os.chmod(secret, 0o644)
        endpoints = Endpoints(query=store.url + "/query", update=store.url + "/update",
                              graph_store=store.url + "/store", credentials_file=str(secret))
        with pytest.raises(StoreMisconfigured) as refused:
            RemoteEngine(endpoints)
        assert "chmod 600" in refused.value.detail
        os.chmod(secret, 0o600)
        assert bool(RemoteEngine(endpoints).query("ASK { ?s ?p ?o }")) is True
        assert seen == ["Basic ZWNncmFwaDpzM2NyZXQ="]
    finally:
        store.close()


def sigkill_rounds(tmp_path, rounds: int, backend: str = "oxigraph") -> dict:
    """Publish versions of a twin in a loop while the node is SIGKILLed at random moments and
    started again over the same store and data directory; after each start the registry and the
    store agree. ``backend``: a real ``oxigraph serve``, or Virtuoso (changes written in steps)."""
    rng = random.Random(int(os.environ.get("ECGRAPH_CRASH_SEED", "18")))
    store: Virtuoso | OxigraphProcess
    if backend == "virtuoso":
        store = Virtuoso(tmp_path / "virtuoso")
        args = ("--no-demo", *store.store_args(), "--query-workers", "1")
    else:
        store = OxigraphProcess(tmp_path / "store", "--union-default-graph")
        args = ("--no-demo", "--store", store.url, "--query-workers", "1")
    node = NodeProcess(tmp_path / "data", *args).start()
    figures = {"kills": 0, "publishes": 0}
    try:
        r = requests.post(node.url + "/api/twins", json={"id": "crash"}, headers=node.admin)
        token = r.json()["token"]
        headers = {"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"}
        for _ in range(rounds):
            stop = threading.Event()

            def publish(url=node.url, stop=stop):
                i = 0
                while not stop.is_set():
                    tag = "B" if i % 2 else "A"
                    try:
                        r = requests.put(url + "/api/twins/crash", headers=headers, timeout=30,
                                         data=make_twin("crash", tag=tag, members=20 if tag == "B" else 4))
                        if r.status_code in (200, 201):
                            figures["publishes"] += 1
                    except requests.RequestException:
                        return
                    i += 1

            thread = threading.Thread(target=publish)
            thread.start()
            time.sleep(rng.uniform(0.3, 2.0))
            node.kill()
            figures["kills"] += 1
            stop.set()
            thread.join()
            node = NodeProcess(tmp_path / "data", *args).start()
            info = requests.get(node.url + "/api/twins/crash").json()
            if not info["published"]:
                continue
            answer = requests.get(node.url + "/sparql", params={"query": VERSIONS.format(twin="crash")}).json()
            tags = {b["v"]["value"]: int(b["n"]["value"]) for b in answer["results"]["bindings"]}
            assert len(tags) == 1, f"mixed or empty twin after a kill: {tags}"
            (tag, n), = tags.items()
            assert SIZES[tag] == n
            with sqlite3.connect(tmp_path / "data" / "registry.sqlite3") as registry:
                reported = registry.execute("SELECT version FROM reports WHERE twin_id = 'crash'").fetchone()
                claimed = registry.execute("SELECT count(*) FROM namespaces WHERE twin_id = 'crash'").fetchone()
            assert reported == (info["version"],), (reported, info["version"])
            assert claimed[0] >= 1
            versions = requests.get(node.url + "/api/twins/crash/versions").json()["versions"]
            assert [v["version"] for v in versions if v["current"]] == [info["version"]]
            assert len({v["version"] for v in versions}) == len(versions)
        r = requests.put(node.url + "/api/twins/crash", headers=headers, data=make_twin("crash", tag="A", members=4))
        assert r.status_code in (200, 201), r.text
    finally:
        node.stop()
        store.stop()
    return figures


def test_sigkill_while_publishing_to_a_remote_store_then_restart_leaves_registry_and_store_agreeing(tmp_path):
    figures = sigkill_rounds(tmp_path, rounds=1)
    assert figures["kills"] == 1


@pytest.mark.slow
def test_many_sigkills_while_publishing_to_a_remote_store(tmp_path):
    figures = sigkill_rounds(tmp_path, rounds=20)
    print(f"\nremote store: {figures['kills']} SIGKILLs survived, {figures['publishes']} publishes acknowledged")
    assert figures["kills"] == 20 and figures["publishes"] > 0


def test_blank_nodes_are_written_as_virtuoso_takes_them_and_stay_one_node_across_graphs(tmp_path, oxigraph,
                                                                                         monkeypatch):
    import pyoxigraph as ox

    from ecgraph.store.memory import MemoryStore
    from ecgraph.store.remote import RemoteStore

    monkeypatch.setattr(remote, "TEMPLATE_TRIPLES", 5)
    sent: list[str] = []
    store = RemoteStore(Endpoints(query=oxigraph.url + "/query", update=oxigraph.url + "/update",
                                  graph_store=oxigraph.url + "/store"))
    original = store.update
    store.update = lambda sparql, notify=True: (sent.append(sparql), original(sparql, notify=notify))  # type: ignore
    p, lit = "<urn:p>", '"_:not-a-node \\" _:x"'
    data = "\n".join([f"<urn:a> {p} _:b{i} ." for i in range(12)] + [f"_:b{i} {p} {lit} ." for i in range(12)]
                     + ["<urn:a> <urn:q> \"ground\" ."])
    inferred = "\n".join(f"_:b{i} {p} <urn:Inferred> ." for i in range(12))
    memory = MemoryStore()
    for target in (store, memory):
        target.commit(replace={"urn:twin": data, "urn:twin-inferred": inferred})
    insert = sent[-1]
    assert "_:" not in insert.split("INSERT DATA", 1)[1].split("INSERT {", 1)[0].replace(lit, "")
    for template in insert.split("INSERT {")[1:]:
        assert sum(line.endswith(" .") for line in template.splitlines()) <= 5  # small templates
    for graph in ("urn:twin", "urn:twin-inferred"):
        assert len(store.graph_triples(graph)) == len(memory.graph_triples(graph))
    # each blank node is one node in both graphs: 12 nodes, each with its literal and its inferred type
    answer = store.query("SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE { GRAPH <urn:twin> { <urn:a> <urn:p> ?b . "
                         "?b <urn:p> ?l } GRAPH <urn:twin-inferred> { ?b <urn:p> <urn:Inferred> } }")
    assert next(iter(answer))["n"] == ox.Literal("12", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))


@pytest.mark.parametrize(("query", "form"), [
    ("SELECT * WHERE { ?s ?p ?o }", "results"),
    ("PREFIX construct: <urn:x> # CONSTRUCT in a comment\nSELECT ?s { ?s construct:y 'CONSTRUCT' }", "results"),
    ('PREFIX a: <urn:a> ASK { ?s a:p """DESCRIBE "quoted" """ }', "results"),
    ("prefix : <urn:select> construct { ?s ?p ?o } where { ?s ?p ?o }", "graph"),
    ("BASE <http://example.org/select/> DESCRIBE <a>", "graph"),
])
def test_the_store_is_asked_for_one_format_chosen_by_the_query_form(query, form):
    """Offered SPARQL JSON and N-Triples together, Virtuoso answers a CONSTRUCT as a table of
    ?s ?p ?o (blank nodes as IRIs): each query asks for the one format of its form."""
    expected = "application/sparql-results+json" if form == "results" else "application/n-triples"
    assert remote.accept_for(query) == expected


class SlowToAnswerUpdates(LoopbackServer):
    """A proxy in front of a real store that passes every request on, but answers an update of the
    twin "late" only after ``delay`` seconds: the store has applied it, the node has stopped waiting."""

    def __init__(self, store_url: str, delay: float):
        super().__init__()
        self.store_url, self.delay = store_url, delay

    def answer(self, method, path, body):
        from urllib.parse import parse_qs

        if path.startswith("/update"):
            r = requests.post(self.store_url + "/update", data=body,
                              headers={"Content-Type": "application/sparql-update"})
            if b"twin/late" in body:
                time.sleep(self.delay)
            return r.status_code, {}, r.content
        query = parse_qs(body.decode())["query"][0]
        r = requests.post(self.store_url + "/query", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": remote.accept_for(query)})
        return r.status_code, {"Content-Type": r.headers["Content-Type"]}, r.content


def test_a_publish_whose_answer_never_came_takes_the_stores_word_for_what_happened(tmp_path, oxigraph):
    node = node_on(oxigraph.url, tmp_path / "data")
    node.register("late")
    node.publish("late", node.upload_for("late", make_twin("late", tag="A"), filename="t.ttl"))
    node.close()
    proxy = SlowToAnswerUpdates(oxigraph.url, delay=2.5)
    node = node_on(proxy.url, tmp_path / "data", publish_timeout=1)
    try:
        with pytest.raises(errors.Unavailable) as unknown:
            node.publish("late", node.upload_for("late", make_twin("late", tag="B", members=20), filename="t.ttl"))
        assert unknown.value.title == "store timeout" and "1 s" in unknown.value.detail
        # the store did apply it: the node says so at once, with the report of what it holds
        assert node.entry("late").version == 2
        assert node.registry.report_version("late") == 2
        assert node.twin_info("late")["triples"] == node.entry("late").triples
    finally:
        node.close()
        proxy.close()


# --- a store written in steps (--store-writes steps; what Virtuoso needs), on a real oxigraph serve ---

STEP_DATA = "\n".join(["<urn:t:a> <urn:t:p> _:b1 .", '_:b1 <urn:t:name> "one" .',
                       *(f'<urn:t:s{i}> <urn:t:v> "{i}" .' for i in range(50))])
STEP_INFERRED = "_:b1 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <urn:t:Thing> ."
CANONICAL = ox.CanonicalizationAlgorithm.UNSTABLE


def state_of(endpoints: Endpoints) -> ox.Dataset:
    """Every quad of the store, its blank nodes canonicalised (labels differ between writes)."""
    dataset = ox.Dataset(remote.select_quads(RemoteEngine(endpoints), None))
    dataset.canonicalize(CANONICAL)
    return dataset


def stepwise_store(url: str, data, **options) -> remote.RemoteStore:
    endpoints = Endpoints(query=url + "/query", update=url + "/update", graph_store=url + "/store", timeout=3)
    return remote.RemoteStore(endpoints, writes="steps", journal=data / stepwise.JOURNAL, **options)


def test_a_change_in_steps_keeps_a_blank_node_one_node_across_graphs(tmp_path, oxigraph):
    store = stepwise_store(oxigraph.url, tmp_path)
    assert store.stepwise and not store.endpoints.isolated
    store.commit(replace={"urn:g:data": STEP_DATA, "urn:g:inferred": STEP_INFERRED})
    answer = RemoteEngine(store.endpoints).query("SELECT ?name WHERE { GRAPH <urn:g:data> { ?b <urn:t:name> ?name } "
                                                 "GRAPH <urn:g:inferred> { ?b a <urn:t:Thing> } }")
    assert [s["name"].value for s in answer] == ["one"]
    assert len(store) == 53 and not (tmp_path / stepwise.JOURNAL).exists()


def test_a_step_that_fails_is_undone_so_nothing_is_half_written(tmp_path, oxigraph):
    posts = []

    def fault(method, path, body):  # the second Graph Store write of the change fails
        if method in ("PUT", "POST") and path.startswith("/store") and "probe" not in path:
            posts.append(path)
            return "fail" if len(posts) == 2 and failing.is_set() else None
        return None

    failing = threading.Event()
    proxy = Forwarder(oxigraph.url, fault)
    try:
        store = stepwise_store(proxy.url, tmp_path)
        store.commit(replace={"urn:g:data": STEP_DATA, "urn:g:inferred": STEP_INFERRED},
                     insert={"urn:g:catalog": '<urn:t:a> <urn:t:version> "1" .'})
        direct = Endpoints(query=oxigraph.url + "/query", update=oxigraph.url + "/update", graph_store="")
        before = state_of(direct)
        posts.clear()
        failing.set()
        with pytest.raises(errors.Error) as refused:
            store.commit(replace={"urn:g:data": STEP_DATA.replace('"one"', '"two"'), "urn:g:inferred": ""},
                         delete_subjects={"urn:g:catalog": [ox.NamedNode("urn:t:a")]},
                         insert={"urn:g:catalog": '<urn:t:a> <urn:t:version> "2" .'})
        assert refused.value.status == 502 and "500" in refused.value.detail
        assert proxy.faults == 1 and len(posts) > 2  # it failed midway, then wrote the state back
        assert state_of(direct) == before
        assert not (tmp_path / stepwise.JOURNAL).exists()
    finally:
        proxy.close()


CRASHING_CHILD = """
import sys
from pathlib import Path
from ecgraph.store import remote, stepwise
url, data = sys.argv[1], Path(sys.argv[2])
endpoints = remote.Endpoints(query=url + "/query", update=url + "/update", graph_store=url + "/store", timeout=60)
store = remote.RemoteStore(endpoints, writes="steps", journal=data / stepwise.JOURNAL)
store.commit(replace={"urn:g:data": sys.stdin.read(), "urn:g:inferred": ""})
"""


def test_a_change_in_steps_cut_by_sigkill_is_undone_at_the_next_start(tmp_path, oxigraph):
    direct = stepwise_store(oxigraph.url, tmp_path)
    direct.commit(replace={"urn:g:data": STEP_DATA, "urn:g:inferred": STEP_INFERRED})
    before = state_of(direct.endpoints)

    def fault(method, path, body):  # hold the second Graph Store write: the first is in the store
        if method in ("PUT", "POST") and path.startswith("/store") and "probe" not in path:
            fault.seen += 1
            return "hang" if fault.seen == 2 else None
        return None

    fault.seen = 0  # type: ignore[attr-defined]
    proxy = Forwarder(oxigraph.url, fault)
    try:
        child = subprocess.Popen([sys.executable, "-c", CRASHING_CHILD, proxy.url, str(tmp_path)],
                                 stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stdin is not None
        child.stdin.write(STEP_DATA.replace('"one"', '"two"').replace('"7"', '"seven"').encode())
        child.stdin.close()
        assert proxy.faulted.wait(60), child.stderr.read() if child.stderr else ""
        half = state_of(direct.endpoints)
        assert half != before  # the data graph is new, its inferences are gone: half-written
        child.kill()
        child.wait()
        assert (tmp_path / stepwise.JOURNAL).exists()
    finally:
        proxy.release.set()
        proxy.close()
    restarted = stepwise_store(oxigraph.url, tmp_path)  # the next start writes the state before back
    assert state_of(restarted.endpoints) == before
    assert not (tmp_path / stepwise.JOURNAL).exists()


def test_readers_through_the_node_never_see_a_change_in_steps_half_written(tmp_path, oxigraph):
    """Each Graph Store write of a change reaches the store 0.1 s late, so a change in steps is
    half-written in the store for a few tenths of a second: readers of the node (its workers and
    its answer cache) still see every twin whole, its data and its inferences from one version."""
    proxy = Forwarder(oxigraph.url, lambda method, path, body: "slow" if method in ("PUT", "POST")
                      and path.startswith("/store") and "probe" not in path else None)
    node = NodeProcess(tmp_path / "data", "--no-demo", "--store", proxy.url, "--store-query", oxigraph.url + "/query",
                       "--store-writes", "steps", "--query-workers", "2").start()
    try:
        replaced_under_readers(node, "half", {"A": make_twin("half", tag="A", members=4),
                                              "B": make_twin("half", tag="B", members=20)}, rounds=6)
    finally:
        node.stop()
        proxy.close()


def test_a_store_that_takes_a_large_update_gets_each_change_in_one_request(tmp_path, oxigraph):
    endpoints = Endpoints(query=oxigraph.url + "/query", update=oxigraph.url + "/update", graph_store="")
    store = remote.RemoteStore(endpoints, journal=tmp_path / stepwise.JOURNAL)  # --store-writes auto
    assert not store.stepwise and store.endpoints.isolated  # the 2,000-triple probe passed; no Graph Store needed
    assert store.endpoints.row_cap is None  # and it returned the row probe's 100,489 rows
    assert not RemoteEngine(endpoints).query("ASK { GRAPH <urn:ecgraph:store-probe> { ?s ?p ?o } }")


def test_a_new_node_over_a_store_of_twins_serves_at_once_and_discovery_waits_for_its_index(tmp_path, oxigraph):
    """A new --data over a store that holds twins: the node reads every twin for its discovery
    index (minutes at 10,000 twins), behind its start. Meanwhile SPARQL answers; discovery answers
    503 with Retry-After once its wait passes the query time limit; then the whole index."""
    from urllib.parse import unquote_plus

    first = NodeProcess(tmp_path / "first", "--store", oxigraph.url).start()  # publishes the demo network
    try:
        known = requests.get(first.url + "/api/discovery/communities", timeout=30).json()
    finally:
        first.stop()
    assert known["total"] >= 3
    held = []

    def slow_twin_reads(method, path, body):  # each read of a twin graph for the index: 0.4 s late
        text = unquote_plus(path) + unquote_plus((body or b"").decode("utf-8", "replace"))
        if "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <https://w3id.org/ecgraph/twin/" in text:
            held.append(path)
            time.sleep(0.4)
        return None

    proxy = Forwarder(oxigraph.url, slow_twin_reads)
    second = NodeProcess(tmp_path / "second", "--store", proxy.url, "--no-demo", "--query-timeout", "2")
    try:
        second.start()
        count = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/ecgraph/ns#EnergyCommunity> }"
        asked = requests.post(second.url + "/sparql", data={"query": count}, timeout=30,
                              headers={"Accept": "application/sparql-results+json"})
        assert asked.status_code == 200 and int(asked.json()["results"]["bindings"][0]["n"]["value"]) >= 3
        waiting = requests.get(second.url + "/api/discovery/communities", timeout=30)
        assert waiting.status_code == 503, (waiting.text, held)
        assert "discovery index" in waiting.json()["detail"] and waiting.headers["Retry-After"] == "30"
        assert held  # it was waiting on the twins' reads, not refusing for another reason
        deadline = time.time() + 120
        while (found := requests.get(second.url + "/api/discovery/communities", timeout=30)).status_code == 503:
            assert time.time() < deadline, found.text
            time.sleep(0.2)
        assert found.status_code == 200, found.text
        assert [c["iri"] for c in found.json()["communities"]] == [c["iri"] for c in known["communities"]]
    finally:
        second.stop()
        proxy.close()


def test_the_catalog_is_read_in_one_answer_or_twin_by_twin_where_the_store_caps_answers(tmp_path, oxigraph):
    """A node's start reads every entry from one answer of the catalog graph (three requests per
    twin took 9 minutes at 10,000 twins on Virtuoso); a store whose row cap cuts that answer is
    read twin by twin, with the same entries."""
    from dataclasses import replace

    from ecgraph.publish import catalog

    node = node_on(oxigraph.url, tmp_path / "data")
    try:
        for twin_id in ("cat-a", "cat-b", "cat-c"):
            node.register(twin_id, twin_id)
            node.publish(twin_id, node.upload_for(twin_id, make_twin(twin_id, members=3), filename="t.ttl"))
        whole = catalog.read_all(node.store)
        assert set(whole) >= {"cat-a", "cat-b", "cat-c"}
        assert whole == {twin_id: catalog.read(node.store, twin_id) for twin_id in whole}  # twin by twin
        catalog_size = len(node.store.graph_triples("https://w3id.org/ecgraph/graph/catalog"))
        capped = remote.RemoteStore(replace(node.store.endpoints, row_cap=catalog_size - 1))
        with pytest.raises(AnswerTruncated):
            capped.graph_triples("https://w3id.org/ecgraph/graph/catalog")
        assert catalog.read_all(capped) == whole
    finally:
        node.close()


def test_the_catalog_is_read_a_part_at_a_time_over_a_remote_store_equal_to_the_whole(tmp_path, oxigraph,
                                                                                     monkeypatch):
    """A part of the catalog asks the store for its resources' statements only, in batches (a
    query names at most ``ABOUT_BATCH`` subjects), and the parts together are the catalog."""
    from ecgraph.publish import catalog_pages

    node = node_on(oxigraph.url, tmp_path / "data")
    try:
        for twin_id in ("part-a", "part-b", "part-c", "part-d", "part-e"):
            node.register(twin_id, twin_id)
            node.publish(twin_id, node.upload_for(twin_id, make_twin(twin_id, members=2), filename="t.ttl"))
        monkeypatch.setattr(remote.RemoteStore, "ABOUT_BATCH", 4)
        asked: list[int] = []
        real = node.store._engine.query

        def counted(text, *args, **kwargs):
            if "VALUES ?s" in text:
                asked.append(text.count("> <") + 1)
            return real(text, *args, **kwargs)

        monkeypatch.setattr(node.store._engine, "query", counted)
        resources = node.catalog_resources()
        whole = set(node.catalog_triples())
        assert set(resources.read(resources.keys)) == whole
        assert asked and max(asked) <= 4 and sum(asked) == 5 * 3 + 1  # each twin's 3 subjects, the catalog
        asked.clear()
        parts, after = [], None
        while True:
            keys, after = resources.part(after, 2)
            parts.append(set(resources.read(keys)))
            if after is None:
                break
        assert len(parts) == 3 and set().union(*parts) == whole
        assert catalog_pages.family(ox.NamedNode(node.entries()["part-a"].graph + "#checksum"), {}) in resources.keys
        # a store that returns at most 5 rows (Virtuoso: 10,000 by default, where 10,000 twins' catalog
        # has 30,000 subjects): the catalog's 16 subjects cannot come in one answer, so they come in
        # pages of 4, in their order, and the index is the same
        from dataclasses import replace

        capped = remote.RemoteStore(replace(node.store.endpoints, row_cap=5))
        with pytest.raises(AnswerTruncated):
            list(capped.query("SELECT DISTINCT ?s WHERE { GRAPH <https://w3id.org/ecgraph/graph/catalog> "
                              "{ ?s ?p ?o } }"))
        graphs = node.CATALOG_GRAPHS

        def by_resource(index):
            return {key: sorted((graph, subject.value) for graph, subject in held) for key, held in index.items()}

        assert by_resource(catalog_pages.index(capped, graphs)) == by_resource(catalog_pages.index(node.store, graphs))
        assert sorted(s.value for s in capped.subjects_of(graphs[0])) == \
            sorted(s.value for s in node.store.subjects_of(graphs[0])) and len(capped.subjects_of(graphs[0])) == 16
    finally:
        node.close()


def test_a_catalog_that_lists_more_datasets_than_the_store_answers_rows_is_read_in_parts(oxigraph, monkeypatch):
    """A catalog of 10,000 twins lists them in 10,000 statements of its own subject, more than
    Virtuoso gives in one answer (10,000 rows by default): the part that held the catalog's resource
    was refused. A listing now goes with the dataset it lists, so each part is a few datasets with
    their listings, under the store's cap, and the parts together are the catalog."""
    from dataclasses import replace

    from ecgraph.publish import catalog_pages

    store = remote.RemoteStore(remote.Endpoints(query=oxigraph.url + "/query", update=oxigraph.url + "/update",
                                                graph_store=oxigraph.url + "/store"))
    graph = "urn:test:catalog"
    catalog = ox.NamedNode(graph)
    dcat, dct = "http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/"
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    written = [ox.Triple(catalog, rdf_type, ox.NamedNode(dcat + "Catalog")),
               ox.Triple(catalog, ox.NamedNode(dct + "title"), ox.Literal("the network's catalog"))]
    for i in range(30):
        dataset = ox.NamedNode(f"https://node.example/twin/t{i:02d}")
        written += [ox.Triple(catalog, ox.NamedNode(dcat + "dataset"), dataset),
                    ox.Triple(dataset, rdf_type, ox.NamedNode(dcat + "Dataset")),
                    ox.Triple(dataset, ox.NamedNode(dct + "identifier"), ox.Literal(f"t{i:02d}")),
                    ox.Triple(ox.NamedNode(dataset.value + "#checksum"), rdf_type,
                              ox.NamedNode("http://spdx.org/rdf/terms#Checksum"))]
    # a dataset the catalog lists and does not describe, as it lists the node's bulk dump
    written.append(ox.Triple(catalog, ox.NamedNode(dcat + "dataset"), ox.NamedNode("https://node.example/dump")))
    store.commit(insert={graph: written})
    capped = remote.RemoteStore(replace(store.endpoints, row_cap=20), check=False)
    with pytest.raises(AnswerTruncated):  # the catalog's own subject: 33 statements
        capped.subjects_triples(graph, catalog)
    monkeypatch.setattr(remote.RemoteStore, "ABOUT_BATCH", 4)  # 4 subjects: at most 8 statements
    index = catalog_pages.index(capped, [graph])
    assert index is not None and len(index) == 32  # the catalog, 30 datasets, the dump
    resources = catalog_pages.stored(capped, [graph], index, [])
    parts, after = [], None
    while True:
        keys, after = resources.part(after, 3)
        parts.append(resources.read(keys))
        if after is None:
            break
    assert len(parts) == 11
    assert sorted(map(str, (t for part in parts for t in part))) == sorted(map(str, written))  # each once
    for part in parts:  # a part lists what it holds
        described = {t.subject for t in part if t.predicate.value == dct + "identifier"}
        assert described <= {t.object for t in part if t.subject == catalog}


def test_a_node_on_a_remote_store_writes_its_dump_in_a_worker_that_reads_the_store_over_http(tmp_path):
    """The dump's worker over a remote store reads each graph from the store itself (no snapshot
    to open: it checks that no write came while it read), and the dump holds each twin's data."""
    import gzip

    node, store = node_over_oxigraph(tmp_path, "--no-demo")
    try:
        for twin_id in ("far-a", "far-b"):
            token = requests.post(node.url + "/api/twins", json={"id": twin_id}, headers=node.admin).json()["token"]
            assert requests.put(f"{node.url}/api/twins/{twin_id}", data=make_twin(twin_id),
                                headers={"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"}
                                ).status_code in (200, 201)
        answer = requests.get(node.url + "/dump.nq.gz", timeout=60)
        assert answer.status_code == 200, answer.text[:300]
        assert answer.headers["X-Dump-Status"] == "current" and answer.headers["X-Dump-Version"] == "1"
        quads = list(ox.parse(gzip.decompress(answer.content), format=ox.RdfFormat.N_QUADS))
        graphs = {q.graph_name.value for q in quads}
        assert graphs == {"https://w3id.org/ecgraph/twin/far-a", "https://w3id.org/ecgraph/twin/far-b",
                          "https://w3id.org/ecgraph/graph/catalog"}
        stored = requests.get(store.url + "/store", params={"graph": "https://w3id.org/ecgraph/twin/far-a"},
                              headers={"Accept": "application/n-triples"})
        in_store = {str(t) for t in ox.parse(stored.content, format=ox.RdfFormat.N_TRIPLES)}
        in_dump = {str(ox.Triple(q.subject, q.predicate, q.object)) for q in quads
                   if q.graph_name.value.endswith("/far-a")}
        assert in_dump and in_dump <= in_store
    finally:
        node.stop()
        store.stop()

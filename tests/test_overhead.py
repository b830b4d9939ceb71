"""What a request costs a node that mostly answers reads: a lookup of one IRI and a DESCRIBE of
one IRI are answered in the web process (no worker hand-off), stopped at their deadline between
rows, never older than an acknowledged write or a read before them, and nothing else is; the
publishing and validator workers are started by the first upload or validation, not held while
none comes."""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pyoxigraph as ox
import pytest
import requests

from ecgraph import errors
from ecgraph.query import bounded
from ecgraph.query.pool import QueryRequest
from ecgraph.store.memory import MemoryStore
from ecgraph.workers import TaskTimeout
from tests.helpers import auth, make_twin
from tests.servers import NodeProcess


@pytest.mark.parametrize("text", [
    "SELECT ?p ?o WHERE { <https://a.example/id/community> ?p ?o }",
    "select * where {<urn:x> ?p ?o .}",
    "  DESCRIBE <https://a.example/id/community>\n",
    "# title: DESCRIBE one community\nDESCRIBE <https://a.example/id/community>\n  # asked again\n",
    "# title: lookup by IRI\nSELECT ?p ?o WHERE {\n  # the community\n  <urn:x> ?p ?o }",
])
def test_a_lookup_or_describe_of_one_iri_is_bounded(text):
    assert bounded.bounded(QueryRequest(text, "json"))


@pytest.mark.parametrize("text", [
    "SELECT ?p ?o WHERE { <urn:x> ?p ?o . ?o ?q ?r }",
    "PREFIX ex: <urn:> SELECT ?p ?o WHERE { ex:x ?p ?o }",
    "SELECT ?p ?o WHERE { ?s ?p ?o }",
    "DESCRIBE <urn:a> <urn:b>",
    "DESCRIBE ?x WHERE { ?x ?p ?o }",
    "SELECT ?p ?o WHERE { <urn:x> ?p ?o } ORDER BY ?o",
    "SELECT (COUNT(*) AS ?n) WHERE { <urn:x> ?p ?o }",
    "SELECT ?p ?o WHERE { <urn:x> ?p ?o SERVICE <http://peer/sparql> { ?a ?b ?c } }",
    "SELECT ?p ?o WHERE { <urn:x> ?p ?o } # " + "x" * bounded.LONGEST,
    "# title: " + "x" * bounded.LONGEST + "\nDESCRIBE <urn:a>",
    "DESCRIBE <urn:a> # and\n<urn:b>",
    "# SERVICE\nSELECT ?p ?o WHERE { <urn:x> ?p ?o \n#}\n SERVICE <http://peer/sparql> { ?a ?b ?c } }",
])
def test_anything_else_is_not(text):
    assert not bounded.bounded(QueryRequest(text, "json"))


def test_a_dataset_or_a_service_is_never_bounded():
    text = "SELECT ?p ?o WHERE { <urn:x> ?p ?o }"
    assert not bounded.bounded(QueryRequest(text, "json", default_graphs=["urn:g"]))
    assert not bounded.bounded(QueryRequest(text, "json", named_graphs=["urn:g"]))
    assert not bounded.bounded(QueryRequest(text, "json", services=["http://peer/sparql"]))


@pytest.fixture(scope="module")
def wide():
    """One subject with 20,000 statements."""
    store = MemoryStore()
    subject = ox.NamedNode("urn:wide")
    store.engine().extend(ox.Quad(subject, ox.NamedNode(f"urn:p{i % 7}"), ox.Literal(str(i)), ox.NamedNode("urn:g"))
                          for i in range(20_000))
    return store.engine()


@pytest.mark.parametrize("text,fmt", [("SELECT ?p ?o WHERE { <urn:wide> ?p ?o }", "json"),
                                      ("SELECT ?p ?o WHERE { <urn:wide> ?p ?o }", "csv"),
                                      ("DESCRIBE <urn:wide>", "turtle")])
def test_an_answer_in_the_web_process_stops_at_its_deadline_and_otherwise_is_whole(wide, text, fmt, monkeypatch):
    whole = bounded.run(wide, QueryRequest(text, fmt, max_rows=50_000), timeout=60)
    assert whole.rows == 20_000 and not whole.truncated
    capped = bounded.run(wide, QueryRequest(text, fmt, max_rows=100), timeout=60)
    assert capped.rows == 100 and capped.truncated
    clock = iter(range(1_000_000))  # every look at the clock is a second later
    monkeypatch.setattr(bounded.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr("ecgraph.query.results.time.monotonic", lambda: float(next(clock)))
    with pytest.raises(TaskTimeout) as stopped:
        bounded.run(wide, QueryRequest(text, fmt, max_rows=50_000), timeout=3)
    assert isinstance(stopped.value, errors.Unavailable) and stopped.value.title == "query timeout"
    assert "3 s time limit" in str(stopped.value)
    # The stopped answer is not kept by the failure: pyoxigraph's results may only be dropped by
    # the thread that made them, and a kept failure is collected by any thread.
    assert _engine_objects_held_by(stopped.value) == []


def _engine_objects_held_by(failure: BaseException) -> list:
    held: list = []
    seen: set[int] = set()
    chained: BaseException | None = failure
    while chained is not None and id(chained) not in seen:
        seen.add(id(chained))
        tb = chained.__traceback__
        while tb is not None:
            held += [v for v in tb.tb_frame.f_locals.values()
                     if isinstance(v, (ox.QueryTriples, ox.QuerySolutions))]
            tb = tb.tb_next
        chained = chained.__cause__ or chained.__context__
    return held


# --- against a real server ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    node = NodeProcess(tmp_path_factory.mktemp("bounded") / "data", "--no-demo", "--query-timeout", "2").start()
    yield node
    node.stop()


def put(server, twin_id: str, token: str, tag: str, session=requests) -> int:
    r = session.put(f"{server.url}/api/twins/{twin_id}", data=make_twin(twin_id, tag=tag),
                    headers={**auth(token), "Content-Type": "text/turtle"}, timeout=60)
    assert r.status_code in (200, 201), r.text
    return r.status_code


def register(server, twin_id: str) -> str:
    r = requests.post(server.url + "/api/twins", json={"id": twin_id}, headers=server.admin)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def lookup(twin_id: str, variable: str = "o") -> str:
    return f"SELECT ?p ?{variable} WHERE {{ <https://{twin_id}.example/id/community> ?p ?{variable} }}"


def test_publishing_workers_start_at_the_first_upload_and_validation_not_before(server):
    health = requests.get(server.url + "/health").json()
    assert health["status"] == "ok", health
    for name in ("pipeline", "validate"):
        assert health["workers"][name]["started"] is False and health["workers"][name]["alive"] == 0
    assert health["workers"]["query"]["alive"] == 2 and "started" not in health["workers"]["query"]
    before = set(server.child_pids())
    token = register(server, "first")
    assert put(server, "first", token, "first:1") == 201
    checked = requests.post(server.url + "/api/validate", data=make_twin("first"),
                            headers={"Content-Type": "text/turtle"}, timeout=60)
    assert checked.status_code == 200, checked.text
    health = requests.get(server.url + "/health").json()
    assert health["status"] == "ok"
    for name in ("pipeline", "validate"):
        assert health["workers"][name]["alive"] == 1 and "started" not in health["workers"][name]
        assert health["workers"][name]["network"] == health["workers"]["query"]["network"]  # cut off too
    assert len(set(server.child_pids()) - before) == 2


def test_lookups_beside_writers_are_never_older_than_an_acknowledged_write_or_a_read_before(server):
    """Writers replace their twins while readers look them up by IRI, each text new (so none is a
    cache hit: every one runs in the web process or, while a write is in flight, in a worker)."""
    twins = [f"lrace-{i}" for i in range(2)]
    tokens = {t: register(server, t) for t in twins}
    floor = {t: 0 for t in twins}
    lock = threading.Lock()
    problems: list = []
    stop_at = time.perf_counter() + 4
    counter = iter(range(10**9))
    answered: list = []
    timeouts: list = []

    def read(session: requests.Session, twin_id: str) -> None:
        with lock:
            low = floor[twin_id]
            variable = f"o{next(counter)}"
        r = session.post(server.url + "/sparql", data={"query": lookup(twin_id, variable)}, timeout=60)
        if r.status_code == 503 and r.json().get("error") in ("query timeout", "busy"):
            # a lookup that waited for a write past the 2 s limit, or for a worker that long (a
            # loaded machine: the clean-clone CI beside a benchmark once saw two "busy"): the
            # node shedding load is its promise too; what this test checks is the answers that came
            timeouts.append(r.status_code)
            return
        if r.status_code != 200:
            problems.append(("status", r.status_code, r.text[:200]))
            return
        answered.append(1)
        seen = {int(row[variable]["value"].rsplit(":", 1)[1]) for row in r.json()["results"]["bindings"]
                if row[variable]["value"].startswith(twin_id + ":")}
        with lock:
            if len(seen) != 1:
                problems.append(("mixed", twin_id, seen))
            elif min(seen) < low:
                problems.append(("older than known", twin_id, min(seen), low))
            else:
                floor[twin_id] = max(floor[twin_id], min(seen))

    def writer(twin_id: str) -> None:
        session = requests.Session()
        seq = 1
        while time.perf_counter() < stop_at:
            seq += 1
            put(server, twin_id, tokens[twin_id], f"{twin_id}:{seq}", session)
            with lock:
                floor[twin_id] = max(floor[twin_id], seq)
            read(session, twin_id)  # the writer's own read right after its acknowledgment

    def reader(number: int) -> None:
        session = requests.Session()
        rng = random.Random(number)
        while time.perf_counter() < stop_at:
            read(session, rng.choice(twins))

    for twin_id in twins:
        put(server, twin_id, tokens[twin_id], f"{twin_id}:1")
    threads = [threading.Thread(target=writer, args=(t,)) for t in twins]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not problems, problems[:10]
    assert min(floor.values()) > 2, floor  # the writers did write
    assert len(answered) > len(timeouts), (len(answered), len(timeouts))  # and readers read


def test_a_lookup_and_a_describe_answer_with_every_worker_stopped_and_nothing_else_does(server):
    token = register(server, "look")
    assert put(server, "look", token, "look:1") == 201
    workers = server.child_pids()
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        answer = requests.get(server.url + "/sparql", params={"query": lookup("look")}, timeout=20)
        assert answer.status_code == 200 and "look:1" in answer.text
        assert answer.headers["X-ECGraph-Cache"] == "miss" and answer.headers["ETag"]
        describe = requests.get(server.url + "/sparql",
                                params={"query": "DESCRIBE <https://look.example/id/community>"},
                                headers={"Accept": "application/n-triples"}, timeout=20)
        assert describe.status_code == 200 and "look:1" in describe.text
        other = requests.get(server.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=20)
        assert other.status_code == 503  # everything else needs a worker
    finally:
        for pid in workers:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:  # the stopped query's worker was killed at its deadline
                pass
    assert put(server, "look", token, "look:2") == 200
    answer = requests.get(server.url + "/sparql", params={"query": lookup("look")}, timeout=20)
    assert "look:2" in answer.text and "look:1" not in answer.text
    deadline = time.monotonic() + 60  # the stopped query's worker is replaced: leave the node whole
    while requests.get(server.url + "/health").json()["workers"]["query"]["alive"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)

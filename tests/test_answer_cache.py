"""The answer cache and the generation it keys on: a repeated question is answered without a
worker, a commit invalidates it, answers carry an ETag (304 on a conditional request), and no
answer is ever older than an acknowledged write or than a read that finished before it."""

from __future__ import annotations

import random
import re
import threading
import time

import pytest
import requests

from ecgraph.query import cache, pool
from ecgraph.query.pool import QueryRequest, QueryResult
from ecgraph.workers import shared_counter
from tests.helpers import ADMIN, TEST, auth, make_twin
from tests.servers import NodeProcess

VERSIONS = (f"PREFIX t: <{TEST}> PREFIX ec: <https://w3id.org/ecgraph/ns#> "
            "SELECT ?c ?v WHERE { ?c a ec:EnergyCommunity ; t:version ?v }")


def publish(node, twin_id: str, tag: str):
    if node.registry.twin(twin_id) is None:
        node.register(twin_id)
    return node.publish(twin_id, node.upload_for(twin_id, make_twin(twin_id, tag=tag), filename="t.ttl"))


def ask(node, text: str = VERSIONS, fmt: str = "json", **options) -> QueryResult:
    return node.query(QueryRequest(text, fmt, **options))


# --- in one process ---------------------------------------------------------------------------

def test_a_repeated_query_is_answered_from_the_cache_until_a_commit(node):
    publish(node, "one", "one:1")
    first = ask(node)
    assert not first.cached and b"one:1" in first.body and first.etag
    again = ask(node)
    assert again.cached and again.body == first.body and again.etag == first.etag
    publish(node, "one", "one:2")
    after = ask(node)
    assert not after.cached and b"one:2" in after.body and b"one:1" not in after.body
    assert after.etag != first.etag


def test_every_kind_of_commit_invalidates(node):
    publish(node, "one", "one:1")
    ask(node)
    node.update(f'INSERT DATA {{ GRAPH <urn:x> {{ <urn:a> a <https://w3id.org/ecgraph/ns#EnergyCommunity> ; '
                f'<{TEST}version> "admin:1" }} }}', caller=node_admin())
    assert b"admin:1" in ask(node).body
    node.unpublish("one")
    answer = ask(node)
    assert not answer.cached and b"one:1" not in answer.body
    node.delete("one")
    assert ask(node).cached  # deleting a twin without data commits nothing to the store


def node_admin():
    from ecgraph.node import Caller

    return Caller(token=ADMIN)


def test_whitespace_runs_share_an_answer_but_whitespace_in_strings_does_not():
    assert cache.normalise("SELECT  *\n\n  WHERE {  ?s ?p ?o }") == "SELECT *\nWHERE { ?s ?p ?o }"
    # a comment still ends where it did: the two are different queries
    assert cache.normalise("# a comment\nSELECT") != cache.normalise("# a comment SELECT")
    quoted = 'SELECT * WHERE { ?s ?p "a  b" }'
    assert cache.cache_key(QueryRequest(quoted, "json")) != cache.cache_key(
        QueryRequest(quoted.replace("a  b", "a b"), "json"))


def test_the_key_holds_format_dataset_and_row_cap():
    base = QueryRequest("SELECT * {}", "json", max_rows=10)
    keys = {cache.cache_key(r) for r in (
        base, QueryRequest("SELECT * {}", "csv", max_rows=10), QueryRequest("SELECT * {}", "json", max_rows=11),
        QueryRequest("SELECT * {}", "json", max_rows=10, default_graphs=["urn:g"]),
        QueryRequest("SELECT * {}", "json", max_rows=10, named_graphs=["urn:g"]))}
    assert len(keys) == 5


def test_volatile_and_federated_queries_are_never_kept(node):
    for text in ("SELECT (NOW() AS ?t) {}", "SELECT (rand () AS ?r) {}", "SELECT (STRUUID() AS ?u) {}"):
        assert cache.cache_key(QueryRequest(text, "json")) is None
        assert not ask(node, text).cached and not ask(node, text).cached
    assert cache.cache_key(QueryRequest("SELECT * {}", "json", services=["http://peer/sparql"])) is None


def test_the_cache_stays_within_its_byte_bound():
    answers = cache.AnswerCache(64 * 1024)
    for i in range(200):
        answers.put(f"k{i}", QueryResult(b"x" * 1000, "text/csv", 1, False, generation=2))
    assert answers.stats()["bytes"] <= 64 * 1024
    assert answers.get("k199", 2) is not None and answers.get("k0", 2) is None  # oldest out first
    answers.put("huge", QueryResult(b"x" * 20_000, "text/csv", 1, False, generation=2))
    assert answers.get("huge", 2) is None  # more than an eighth: not kept
    assert answers.get("k199", 4) is None  # a newer generation forgets everything


def test_a_write_in_flight_is_not_yet_the_generation_answers_are_served_at(node):
    publish(node, "one", "one:1")
    ask(node)
    with node.store._write_lock, node.store._committing():
        assert node.generation.value & 1
        assert ask(node).cached  # the write is not acknowledged: the last answer still holds
    assert not ask(node).cached


def test_concurrent_misses_of_one_question_are_computed_once(node, monkeypatch):
    publish(node, "one", "one:1")
    real = node._run_query
    runs = []

    def slow(*args):
        runs.append(1)
        time.sleep(0.3)  # a heavy aggregate: the others ask while it runs
        return real(*args)

    monkeypatch.setattr(node, "_run_query", slow)
    answers: list[QueryResult] = []
    threads = [threading.Thread(target=lambda: answers.append(ask(node))) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 1 and len({a.body for a in answers}) == 1 and b"one:1" in answers[0].body
    assert node.answers.stats()["joined"] == 4


def test_flights_are_per_generation_and_gone_once_landed():
    answers = cache.AnswerCache(1 << 20)
    flight, leader = answers.join("k", 2)
    newer, leads_newer = answers.join("k", 4)
    assert leader and leads_newer and newer is not flight  # an asker after a commit never joins an older flight
    answers.land("k", 2, flight, QueryResult(b"x", "text/csv", 1, False, generation=2))
    assert flight.wait(0) is not None
    again, leads = answers.join("k", 2)
    assert leads and again is not flight


# --- the workers' snapshots -------------------------------------------------------------------

def test_a_worker_never_keeps_a_snapshot_opened_while_a_write_began(monkeypatch):
    generation = shared_counter(4)
    opened = []

    def open_snapshot(spec):
        opened.append(generation.value)
        if len(opened) == 1:  # a write begins while this first snapshot opens
            generation.value += 1
            threading.Timer(0.1, lambda: setattr(generation, "value", generation.value + 1)).start()
        return object()

    monkeypatch.setattr(pool, "open_snapshot", open_snapshot)
    snapshot = pool.Snapshot(("embedded", "unused"), generation)
    snapshot.current()
    assert opened == [4, 6] and snapshot.held == 6


def test_a_worker_at_the_last_acknowledged_generation_answers_during_a_write(monkeypatch):
    generation = shared_counter(4)
    monkeypatch.setattr(pool, "open_snapshot", lambda spec: object())
    snapshot = pool.Snapshot(("embedded", "unused"), generation)
    held = snapshot.current()
    generation.value = 5  # a write in flight
    started = time.perf_counter()
    assert snapshot.current() is held and time.perf_counter() - started < 0.05
    generation.value = 7  # a worker two commits behind waits for the write to be acknowledged
    threading.Timer(0.2, lambda: setattr(generation, "value", 8)).start()
    snapshot.current()
    assert snapshot.held == 8


# --- against a real server ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    node = NodeProcess(tmp_path_factory.mktemp("cache") / "data", "--no-demo", "--query-workers", "2").start()
    yield node
    node.stop()


def register(server, twin_id: str) -> str:
    r = requests.post(server.url + "/api/twins", json={"id": twin_id}, headers=server.admin)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def test_a_read_carries_an_etag_and_a_conditional_request_gets_304_until_a_commit(server):
    token = register(server, "etag-twin")
    assert requests.put(server.url + "/api/twins/etag-twin", data=make_twin("etag-twin", tag="e:1"),
                        headers={**auth(token), "Content-Type": "text/turtle"}).status_code == 201
    params = {"query": VERSIONS}
    first = requests.get(server.url + "/sparql", params=params)
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag.startswith('W/"') and "e:1" in first.text
    again = requests.get(server.url + "/sparql", params=params, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["ETag"] == tag and not again.content
    hit = requests.get(server.url + "/sparql", params=params)
    assert hit.headers["X-ECGraph-Cache"] == "hit" and hit.text == first.text
    csv = requests.get(server.url + "/sparql", params=params, headers={"Accept": "text/csv", "If-None-Match": tag})
    assert csv.status_code == 200 and csv.headers["ETag"] != tag  # another format, another answer
    for query, accept in (({"default": ""}, "text/turtle"), ({}, "application/n-quads")):
        read = requests.get(server.url + "/store", params=query, headers={"Accept": accept})
        assert read.status_code == 200 and read.headers.get("ETag"), query
        conditional = {"Accept": accept, "If-None-Match": read.headers["ETag"]}
        assert requests.get(server.url + "/store", params=query, headers=conditional).status_code == 304
    assert requests.put(server.url + "/api/twins/etag-twin", data=make_twin("etag-twin", tag="e:2"),
                        headers={**auth(token), "Content-Type": "text/turtle"}).status_code == 200
    after = requests.get(server.url + "/sparql", params=params, headers={"If-None-Match": tag})
    assert after.status_code == 200 and "e:2" in after.text and after.headers["ETag"] != tag


def test_every_read_carries_an_etag_pages_and_api_alike_and_a_publish_changes_it(server):
    """Reads that do not set an ETag from what they read (the pages for people, the directory, the
    REST API's JSON, /ns, /catalog) carry one of their bytes: If-None-Match with it gets 304 and no
    body, for GET and HEAD, until what the read shows changes; a publish that changes the page
    gives 200 and another tag. Writes, failures and /health never answer 304."""
    token = register(server, "etag-page")
    headers = {**auth(token), "Content-Type": "text/turtle"}
    assert requests.put(server.url + "/api/twins/etag-page", data=make_twin("etag-page", tag="etag-page:1", members=2),
                        headers=headers).status_code == 201
    page = {"iri": "https://etag-page.example/id/community"}
    reads = [("/resource", page, "text/html"), ("/resource", page, "text/turtle"), ("/communities", {}, "text/html"),
             ("/communities", {}, "application/json"), ("/api/twins", {}, "application/json"),
             ("/catalog", {}, "text/turtle"), ("/ns", {}, "text/html"), ("/", {}, "text/html")]
    tags = {}
    for path, params, accept in reads:
        first = requests.get(server.url + path, params=params, headers={"Accept": accept, "Accept-Language": "en"})
        tag = first.headers.get("ETag")
        assert first.status_code == 200 and tag and not tag.startswith("W/"), (path, accept, first.status_code)
        tags[path, accept] = tag
        for method in (requests.get, requests.head):
            again = method(server.url + path, params=params,
                           headers={"Accept": accept, "Accept-Language": "en", "If-None-Match": f'"other", {tag}'})
            assert again.status_code == 304 and again.headers["ETag"] == tag and not again.content, (path, accept)
    french = {"Accept": "text/html", "Accept-Language": "fr", "If-None-Match": tags["/resource", "text/html"]}
    other = requests.get(server.url + "/resource", params=page, headers=french)
    assert other.status_code == 200 and other.headers["ETag"] != tags["/resource", "text/html"]  # another language
    assert "Accept-Language" in other.headers["Vary"]
    assert requests.get(server.url + "/health", headers={"If-None-Match": "*"}).status_code == 200
    missing = requests.get(server.url + "/resource", params={"iri": "https://nowhere.example/x"},
                           headers={"Accept": "text/html", "If-None-Match": "*"})
    assert missing.status_code == 404 and "ETag" not in missing.headers
    checked = requests.post(server.url + "/validate", data=make_twin("etag-page"),
                            headers={"Content-Type": "text/turtle", "If-None-Match": "*"})
    assert checked.status_code == 200 and "ETag" not in checked.headers  # a POST is never conditional
    assert requests.put(server.url + "/api/twins/etag-page", data=make_twin("etag-page", tag="etag-page:2", members=3),
                        headers=headers).status_code == 200
    for path, params, accept in (("/resource", page, "text/html"), ("/resource", page, "text/turtle"),
                                 ("/api/twins", {}, "application/json")):
        after = requests.get(server.url + path, params=params,
                             headers={"Accept": accept, "Accept-Language": "en", "If-None-Match": tags[path, accept]})
        assert after.status_code == 200 and after.headers["ETag"] != tags[path, accept], (path, accept)
    assert "member/2" in requests.get(server.url + "/resource", params=page, headers={"Accept": "text/turtle"}).text


def test_concurrent_writers_and_readers_never_see_a_stale_answer_or_one_older_than_a_read_before(server):
    """Publishers replace their twins while readers ask the same questions (so most answers come
    from the cache). ``floor`` holds, per twin, the newest version any client has been told of (an
    acknowledged upload, or a finished read): every read must show at least the floor as it was
    when the read began, and exactly one version per twin."""
    twins = [f"race-{i}" for i in range(3)]
    tokens = {t: register(server, t) for t in twins}
    floor = {t: 0 for t in twins}
    lock = threading.Lock()
    problems: list = []
    reads = []
    stop_at = time.perf_counter() + 12

    def put(twin_id: str, seq: int, session: requests.Session) -> None:
        r = session.put(f"{server.url}/api/twins/{twin_id}", data=make_twin(twin_id, tag=f"{twin_id}:{seq}"),
                        headers={**auth(tokens[twin_id]), "Content-Type": "text/turtle"}, timeout=60)
        assert r.status_code in (200, 201), r.text
        with lock:
            floor[twin_id] = max(floor[twin_id], seq)

    def read(session: requests.Session, rng: random.Random) -> None:
        with lock:
            expected = dict(floor)
        text = VERSIONS if rng.random() < 0.8 else VERSIONS.replace(" ", "  ")
        r = session.get(server.url + "/sparql", params={"query": text}, timeout=60)
        if r.status_code != 200:
            problems.append(("status", r.status_code, r.text[:200]))
            return
        seen: dict[str, set[int]] = {}
        for row in r.json()["results"]["bindings"]:
            twin_id, seq = row["v"]["value"].rsplit(":", 1)
            seen.setdefault(twin_id, set()).add(int(seq))
        with lock:
            reads.append(r.headers.get("X-ECGraph-Cache"))
            for twin_id, low in expected.items():
                got = seen.get(twin_id, {0})
                if len(got) != 1:
                    problems.append(("mixed", twin_id, got))
                elif min(got) < low:
                    problems.append(("older than known", twin_id, min(got), low, r.headers.get("ETag")))
                else:
                    floor[twin_id] = max(floor[twin_id], min(got))

    def writer(twin_id: str) -> None:
        session = requests.Session()
        seq = 1
        while time.perf_counter() < stop_at:
            seq += 1
            put(twin_id, seq, session)
            read(session, random.Random(seq))  # the writer's own read right after its acknowledgment

    def reader(number: int) -> None:
        session = requests.Session()
        rng = random.Random(number)
        while time.perf_counter() < stop_at:
            read(session, rng)

    session = requests.Session()
    for twin_id in twins:
        put(twin_id, 1, session)
    threads = [threading.Thread(target=writer, args=(t,)) for t in twins[:2]]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not problems, problems[:10]
    assert floor["race-0"] > 2 and floor["race-1"] > 2, floor  # the writers did write
    assert reads.count("hit") > 0 and reads.count("miss") > 0, (reads.count("hit"), reads.count("miss"))


def test_community_pages_kept_between_commits_are_never_older_than_an_acknowledged_write(server):
    """The community and network pages' data is kept until the next commit. Publishers replace
    their twins (version k has k members, all schools, so each is on the page) while readers open
    the community pages, half of them again and again: every page shows at least the members of
    the newest version any client was told of when the read began, the writer's own read right
    after its acknowledgment included."""
    twins = [f"page-race-{i}" for i in range(2)]
    tokens = {t: register(server, t) for t in twins}
    floor = {t: 0 for t in twins}
    lock = threading.Lock()
    problems: list = []
    reads = [0]
    stop_at = time.perf_counter() + 10

    def put(twin_id: str, seq: int, session: requests.Session) -> None:
        twin = make_twin(twin_id, tag=f"{twin_id}:{seq}", members=seq, schools=seq)  # tags as the test above reads them
        r = session.put(f"{server.url}/api/twins/{twin_id}", data=twin,
                        headers={**auth(tokens[twin_id]), "Content-Type": "text/turtle"}, timeout=60)
        assert r.status_code in (200, 201), r.text
        with lock:
            floor[twin_id] = max(floor[twin_id], seq)

    def read(twin_id: str, session: requests.Session) -> None:
        with lock:
            low = floor[twin_id]
        r = session.get(server.url + "/resource", params={"iri": f"https://{twin_id}.example/id/community"},
                        headers={"Accept": "text/html", "Accept-Language": "en"}, timeout=60)
        if r.status_code != 200:
            problems.append(("status", r.status_code, r.text[:200]))
            return
        members = r.text.count('<li class="member')
        with lock:
            reads[0] += 1
            if members < low:
                problems.append(("older than known", twin_id, members, low))
            else:
                floor[twin_id] = max(floor[twin_id], members)

    def writer(twin_id: str) -> None:
        session = requests.Session()
        seq = 1
        while time.perf_counter() < stop_at:
            seq += 1
            put(twin_id, seq, session)
            read(twin_id, session)

    def reader(number: int) -> None:
        session = requests.Session()
        while time.perf_counter() < stop_at:
            read(twins[number % 2], session)

    session = requests.Session()
    for twin_id in twins:
        put(twin_id, 1, session)
    threads = [threading.Thread(target=writer, args=(t,)) for t in twins]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not problems, problems[:10]
    assert min(floor.values()) > 2 and reads[0] > 20, (floor, reads)


def test_the_cache_is_reported_in_health_and_metrics(server):
    health = requests.get(server.url + "/health").json()
    assert {"hits", "misses", "bytes", "max_bytes"} <= set(health["answer_cache"])
    metrics = requests.get(server.url + "/metrics").text
    assert re.search(r'^ecgraph_answer_cache\{figure="hits"\} \d+', metrics, re.M)

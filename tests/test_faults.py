"""Faults and load, on real ``ecgraph serve`` processes over a real store on disk.

* **Crash safety**: twins are published while the server process is SIGKILLed at random moments
  (5 kills here, 60 in the long run); after each restart every twin holds exactly its last
  acknowledged upload, or the one upload that was in flight when the kill came (it may have
  committed before its answer was sent: acknowledged means durable, not the converse), never a
  partial or mixed graph; the catalog (version, triples, inferred, content hash) agrees with the
  data; the archived versions are contiguous and each equals the upload it came from. The worker
  processes of the killed server exit (a query worker busy with a cartesian product included),
  and the restart reopens the store. ``ecgraph load`` and ``ecgraph load --bulk`` are killed
  mid-run too.
* **Concurrency soak**: 8 query clients, 2 publishers and a client sending deliberately slow
  queries for 10 s (60 s in the long run): no 5xx but the deliberate timeouts, every answer sees
  a twin whole (old or new, its catalog entry with it), reads follow acknowledged writes, and the
  final state is the acknowledged uploads.
* **Slow queries**: a cartesian product is stopped at the limit with 503 "query timeout", its
  worker is gone and no worker burns CPU afterwards; simple queries answer meanwhile.
* **Memory**: 10,000 queries do not grow the server's resident memory by more than 10%.

Figures (kills, requests/s, percentiles, RSS) are printed at the end of the run (see checks.py).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from ecgraph import standard
from tests.checks import (
    alive,
    children,
    cpu_ticks,
    expected_triples,
    graph_size,
    percentiles,
    record,
    rss_kb,
    sha256,
    twin_data,
)
from tests.helpers import TEST, make_twin
from tests.servers import NodeProcess

CATALOG = standard.CATALOG_GRAPH
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
TURTLE = "text/turtle"


def auth(token: str, content_type: str | None = TURTLE) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


class Uploads:
    """Every body a test sent, by content hash and by tag, so that any state a node shows can be
    traced back to exactly one upload."""

    def __init__(self):
        self.by_hash: dict[str, tuple[str, bytes]] = {}
        self.size: dict[str, int] = {}       # tag -> triples in the twin's graph
        self.tagged: dict[str, int] = {}     # tag -> subjects carrying the tag
        self._lock = threading.Lock()

    def make(self, twin_id: str, seq: int) -> tuple[str, bytes]:
        tag = f"{twin_id}:{seq}"
        members = 1 + (seq * 7) % 40
        body = make_twin(twin_id, tag=tag, members=members, schools=seq % 2)
        with self._lock:
            self.by_hash[sha256(body)] = (tag, body)
            self.size[tag] = len(expected_triples(body, twin_id))
            self.tagged[tag] = members + 1
        return tag, body


def register(node: NodeProcess, twin_id: str) -> str:
    r = requests.post(node.url + "/api/twins", json={"id": twin_id, "title": twin_id}, headers=node.admin)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def check_twin(url: str, twin_id: str, candidates: list[bytes], uploads: Uploads) -> bytes:
    """Assert that the twin holds exactly one of ``candidates`` (data, inferences, catalog entry and
    archive all agreeing with it) and return that body."""
    info = requests.get(f"{url}/api/twins/{twin_id}", timeout=30).json()
    assert info["published"], f"{twin_id} lost its data: {info}"
    data = twin_data(url, twin_id)
    held = [body for body in candidates if expected_triples(body, twin_id) == data]
    assert len(held) == 1, (f"{twin_id} holds {len(data)} triples equal to none of its acknowledged or "
                            f"in-flight uploads (partial or mixed): {sorted(map(str, data))[:5]}")
    body = held[0]
    tag, _ = uploads.by_hash[sha256(body)]
    # the catalog agrees with the data
    assert info["content_hash"] == sha256(body), (twin_id, info)
    assert info["triples"] == len(data), (twin_id, info)
    assert graph_size(url, standard.inferred_graph(twin_id)) == info["inferred"], (twin_id, info)
    rows = requests.get(url + "/sparql", params={"query": (
        f"PREFIX t: <{TEST}> SELECT DISTINCT ?v WHERE {{ GRAPH <{standard.twin_graph(twin_id)}> "
        "{ ?x t:version ?v } }")}, timeout=30).json()["results"]["bindings"]
    assert [r["v"]["value"] for r in rows] == [tag]
    # archived versions: contiguous below the current one, each equal to the upload it came from
    versions = requests.get(f"{url}/api/twins/{twin_id}/versions", timeout=30).json()["versions"]
    assert versions[0]["current"] and versions[0]["version"] == info["version"]
    archived = [v for v in versions if not v["current"]]
    numbers = [v["version"] for v in archived]
    assert numbers == list(range(info["version"] - 1, info["version"] - 1 - len(numbers), -1)), numbers
    assert len(numbers) == min(10, info["version"] - 1), numbers
    for v in archived[:3]:  # the newest ones (older ones were checked in earlier rounds)
        old_tag, old_body = uploads.by_hash[v["content_hash"]]
        old = twin_data(url, twin_id, v["version"])
        assert old == expected_triples(old_body, twin_id), (twin_id, v["version"], old_tag)
        assert v["triples"] == len(old)
    return body


# --- crash safety ----------------------------------------------------------------------------------

class Publisher(threading.Thread):
    """Publishes its twins in turn until told to stop or the server goes away."""

    def __init__(self, url: str, twins: dict[str, str], uploads: Uploads, seqs: dict[str, int]):
        super().__init__(daemon=True)
        self.url, self.twins, self.uploads, self.seqs = url, twins, uploads, seqs
        self.acked: dict[str, bytes] = {}
        self.in_flight: dict[str, bytes] = {}
        self.failures: list = []
        self.acks = 0
        self.halt = threading.Event()

    def run(self):
        session = requests.Session()
        ids = list(self.twins)
        i = 0
        while not self.halt.is_set():
            twin_id = ids[i % len(ids)]
            i += 1
            self.seqs[twin_id] += 1
            _, body = self.uploads.make(twin_id, self.seqs[twin_id])
            self.in_flight[twin_id] = body
            try:
                r = session.put(f"{self.url}/api/twins/{twin_id}", data=body, headers=auth(self.twins[twin_id]),
                                timeout=60)
            except requests.RequestException:
                return  # the server was killed: this upload stays "in flight"
            if r.status_code in (200, 201):
                self.acked[twin_id] = body
                self.acks += 1
                del self.in_flight[twin_id]
            else:
                self.failures.append((twin_id, r.status_code, r.text[:300]))
                del self.in_flight[twin_id]


def crash_campaign(tmp_path: Path, kills: int, seed: int) -> dict:
    rng = random.Random(seed)
    data = tmp_path / "data"
    uploads = Uploads()
    node = NodeProcess(data, "--no-demo", "--query-workers", "1").start()
    ids = ["crash-a", "crash-b", "crash-c", "crash-d"]
    tokens = {t: register(node, t) for t in ids}
    seqs = {t: 0 for t in ids}
    acked: dict[str, bytes] = {}
    for twin_id in ids:  # a first version of each, so that every kill replaces something
        seqs[twin_id] += 1
        _, body = uploads.make(twin_id, seqs[twin_id])
        r = requests.put(f"{node.url}/api/twins/{twin_id}", data=body, headers=auth(tokens[twin_id]))
        assert r.status_code == 201, r.text
        acked[twin_id] = body
    stats = {"kills": 0, "acknowledged": len(ids), "in_flight_at_kill": 0, "in_flight_committed": 0,
             "orphans_seen": 0, "restart_seconds": []}
    try:
        for _ in range(kills):
            publishers = [Publisher(node.url, {t: tokens[t] for t in ids[:2]}, uploads, seqs),
                          Publisher(node.url, {t: tokens[t] for t in ids[2:]}, uploads, seqs)]
            for p in publishers:
                p.start()
            # and a query worker busy with a cartesian product when the kill comes, every other round
            if stats["kills"] % 2:
                threading.Thread(target=_ignore, args=(requests.get, node.url + "/sparql"),
                                 kwargs={"params": {"query": CARTESIAN}, "timeout": 60}, daemon=True).start()
            time.sleep(rng.uniform(0.0, 1.2))
            workers = children(node.process.pid)
            node.process.send_signal(signal.SIGKILL)
            node.process.wait(timeout=30)
            stats["kills"] += 1
            for p in publishers:
                p.join(timeout=60)
                assert not p.is_alive()
                assert not p.failures, p.failures
                acked.update(p.acked)
                stats["acknowledged"] += p.acks
            in_flight = {t: b for p in publishers for t, b in p.in_flight.items()}
            # the killed server's workers see their pipe close (or their parent go) and exit
            deadline = time.time() + 10
            while time.time() < deadline and any(alive(pid) for pid in workers):
                time.sleep(0.1)
            lingering = [pid for pid in workers if alive(pid)]
            stats["orphans_seen"] += len(lingering)
            assert not lingering, f"workers of the killed server still running: {lingering}"
            started = time.perf_counter()
            node = NodeProcess(data, "--no-demo", "--query-workers", "1").start()  # the store reopens
            stats["restart_seconds"].append(time.perf_counter() - started)
            for twin_id in ids:
                candidates = [acked[twin_id]] + ([in_flight[twin_id]] if twin_id in in_flight else [])
                held = check_twin(node.url, twin_id, candidates, uploads)
                if twin_id in in_flight:
                    stats["in_flight_at_kill"] += 1
                    stats["in_flight_committed"] += held is in_flight[twin_id]
                acked[twin_id] = held  # what the node holds now is durable
            assert requests.get(node.url + "/health").status_code == 200
    finally:
        node.stop()
    restarts = stats.pop("restart_seconds")
    stats["restart_p50_s"] = round(sorted(restarts)[len(restarts) // 2], 3)
    stats["seed"] = seed
    return stats


def test_crash_safety_under_sigkill(tmp_path):
    seed = int(os.environ.get("ECGRAPH_CRASH_SEED", random.randrange(1 << 30)))
    stats = crash_campaign(tmp_path, kills=5, seed=seed)
    record("crash_safety_ci", **stats)
    assert stats["kills"] == 5


@pytest.mark.slow
def test_crash_safety_under_sigkill_long(tmp_path):
    seed = int(os.environ.get("ECGRAPH_CRASH_SEED", random.randrange(1 << 30)))
    stats = crash_campaign(tmp_path, kills=60, seed=seed)
    record("crash_safety_long", **stats)
    assert stats["kills"] == 60
    assert stats["in_flight_at_kill"] > 0


def test_busy_worker_exits_when_its_server_is_killed(tmp_path):
    """Regression: a query worker busy with a cartesian product outlived its SIGKILLed server as
    an orphan, burning a CPU until its query ended (hours). Workers now exit with their parent."""
    node = NodeProcess(tmp_path / "data", "--no-demo", "--query-timeout", "600").start()
    workers: list[int] = []
    try:
        thread = threading.Thread(target=lambda: _ignore(requests.get, node.url + "/sparql",
                                                         params={"query": CARTESIAN}, timeout=700), daemon=True)
        thread.start()
        workers = children(node.process.pid)
        before = {pid: cpu_ticks(pid) for pid in workers}
        busy: list[int] = []
        deadline = time.time() + 30  # a busy machine gives the worker its CPU slowly
        while not busy and time.time() < deadline:
            time.sleep(0.2)
            busy = [pid for pid in workers if cpu_ticks(pid) - before[pid] > 30]
        assert busy, "no worker is running the query"
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(timeout=30)
        deadline = time.time() + 5
        while time.time() < deadline and any(alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)], "workers outlived their server"
        # and a new server opens the same store at once
        node = NodeProcess(tmp_path / "data", "--no-demo").start()
        assert requests.get(node.url + "/health").status_code == 200
    finally:
        node.kill()
        for pid in workers:  # never leave an orphan burning CPU behind, whatever happened
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def _ignore(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except requests.RequestException:
        pass


@pytest.mark.parametrize("bulk", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["load", "load --bulk"])
def test_killed_load_leaves_every_twin_whole_or_absent(tmp_path, bulk):
    """``ecgraph load`` of a directory, SIGKILLed mid-run: every twin it announced is there whole,
    at most the one it was working on is there too (whole), the rest are absent; a server then
    opens the store, and the load run again completes. ``--bulk`` (not atomic per twin, its
    catalog entries written last) announces nothing until it is done: whatever it leaves is whole
    or absent, never a twin graph without its catalog entry."""
    source = tmp_path / "twins"
    source.mkdir()
    bodies = {}
    count = 60 if bulk else 24
    for i in range(count):
        twin_id = f"load-{i:02d}"
        bodies[twin_id] = make_twin(twin_id, tag=f"{twin_id}:1", members=(300 if bulk else 60) + i)
        (source / f"{twin_id}.ttl").write_bytes(bodies[twin_id])
    data = tmp_path / "data"
    rng = random.Random()
    stop_after = rng.randrange(2, 12)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "ecgraph.cli", "load", "--data", str(data), str(source)]
                            + (["--bulk"] if bulk else []),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    announced = []
    registered = 0
    for line in proc.stdout:
        if bulk:
            registered += line.startswith("registered twin")
            if registered == count:
                time.sleep(rng.uniform(2.0, 6.0))
                proc.send_signal(signal.SIGKILL)
                break
            continue
        match = re.match(r"(load-\d\d): version 1,", line)
        if match:
            announced.append(match.group(1))
            if len(announced) == stop_after:
                time.sleep(rng.uniform(0.0, 0.15))
                proc.send_signal(signal.SIGKILL)
                break
    rest = proc.stdout.read()  # what it printed before the kill landed (the pipe may hold more acks)
    proc.wait(timeout=60)
    if bulk:
        announced = sorted(bodies) if "bulk-published" in rest else []
    else:
        assert proc.returncode == -signal.SIGKILL, "the load finished before it was killed: make it longer"
        announced += re.findall(r"^(load-\d\d): version 1,", rest, re.M)
    node = NodeProcess(data, "--no-demo").start()
    try:
        published = {t["id"] for t in requests.get(node.url + "/api/twins").json()["twins"] if t["published"]}
        assert set(announced) <= published
        extra = published - set(announced)
        order = sorted(bodies)
        if not bulk:
            assert len(extra) <= 1 and extra <= {order[len(announced)]}, (announced, published)
        uploads = Uploads()
        for twin_id in published:
            uploads.by_hash[sha256(bodies[twin_id])] = (f"{twin_id}:1", bodies[twin_id])
            check_twin(node.url, twin_id, [bodies[twin_id]], uploads)
        graphs = requests.get(node.url + "/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"})
        twin_graphs = {b["g"]["value"] for b in graphs.json()["results"]["bindings"]
                       if b["g"]["value"].startswith(standard.TWIN_GRAPH_BASE)}
        expected = {standard.twin_graph(t) for t in published} | {standard.inferred_graph(t) for t in published}
        assert twin_graphs <= expected, f"twin graphs without a catalog entry: {sorted(twin_graphs - expected)[:5]}"
    finally:
        node.stop()
    again = subprocess.run([sys.executable, "-m", "ecgraph.cli", "load", "--data", str(data), str(source)]
                           + (["--bulk"] if bulk else []), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    if bulk:
        record("load_killed_bulk", finished_before_the_kill=bool(announced), published_at_restart=len(published))
    else:
        record("load_killed", killed_after_twins_announced=len(announced), published_at_restart=len(published),
               in_flight_committed=len(extra))


# --- concurrency soak ---------------------------------------------------------------------------

def soak(tmp_path: Path, seconds: float, query_clients: int = 8, publishers: int = 2) -> dict:
    node = NodeProcess(tmp_path / "data", "--no-demo", "--query-timeout", "10").start()
    uploads = Uploads()
    ids = [f"soak-{i}" for i in range(2 * publishers)]
    tokens = {t: register(node, t) for t in ids}
    seqs = {t: 0 for t in ids}
    acked: dict[str, tuple[int, bytes]] = {}
    for twin_id in ids:
        seqs[twin_id] = 1
        _, body = uploads.make(twin_id, 1)
        r = requests.put(f"{node.url}/api/twins/{twin_id}", data=body, headers=auth(tokens[twin_id]))
        assert r.status_code == 201, r.text
        acked[twin_id] = (1, body)
    samples: list[tuple[str, int, float]] = []
    problems: list = []
    backwards: list = []
    stop_at = time.perf_counter() + seconds
    lock = threading.Lock()

    def guarded(body):
        def run(*args):
            try:
                body(*args)
            except Exception as exc:  # a failed check inside a client thread must fail the test
                problems.append(("client crashed", repr(exc)))
        return run

    def note(kind: str, status: int, elapsed: float):
        with lock:
            samples.append((kind, status, elapsed))

    def consistency_query(twin_id: str) -> str:
        g = standard.twin_graph(twin_id)
        return (f"PREFIX t: <{TEST}> PREFIX void: <http://rdfs.org/ns/void#> "
                f"PREFIX ec: <{standard.EC}> "
                "SELECT ?tags ?tag ?n ?declared ?inferred ?declaredInferred WHERE { "
                "{ SELECT (COUNT(DISTINCT ?v) AS ?tags) (SAMPLE(?v) AS ?tag) "
                f"WHERE {{ GRAPH <{g}> {{ ?x t:version ?v }} }} }} "
                f"{{ SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }} }} "
                f"{{ SELECT (COUNT(*) AS ?inferred) WHERE {{ GRAPH <{g}/inferred> {{ ?s ?p ?o }} }} }} "
                f"OPTIONAL {{ GRAPH <{CATALOG}> {{ <{g}> void:triples ?declared ; "
                "ec:inferredTriples ?declaredInferred } } }")

    def check_answer(twin_id: str, row: dict, seen: dict) -> int:
        tag = row["tag"]["value"]
        if int(row["tags"]["value"]) != 1 or not tag.startswith(twin_id + ":"):
            problems.append(("mixed", twin_id, row))
            return 0
        n = int(row["n"]["value"])
        if n != uploads.size[tag] or int(row["declared"]["value"]) != n \
                or int(row["inferred"]["value"]) != int(row["declaredInferred"]["value"]):
            problems.append(("partial or catalog disagrees", twin_id, row, uploads.size[tag]))
        seq = int(tag.rsplit(":", 1)[1])
        if seq < seen.get(twin_id, 0):
            # A read older than one this client finished before: workers open snapshots only at a
            # generation no write is moving (ecgraph.query.pool.Snapshot), so this must not happen.
            with lock:
                backwards.append((twin_id, seq, seen[twin_id]))
                problems.append(("older than a read before it", twin_id, seq, seen[twin_id]))
        seen[twin_id] = max(seq, seen.get(twin_id, 0))
        return seq

    def query_client(number: int):
        session = requests.Session()
        rng = random.Random(number)
        seen: dict[str, int] = {}
        while time.perf_counter() < stop_at:
            twin_id = rng.choice(ids)
            roll = rng.random()
            started = time.perf_counter()
            try:
                if roll < 0.7:
                    r = session.get(node.url + "/sparql", params={"query": consistency_query(twin_id)}, timeout=30)
                    note("query", r.status_code, time.perf_counter() - started)
                    if r.status_code == 200:
                        check_answer(twin_id, r.json()["results"]["bindings"][0], seen)
                elif roll < 0.85:
                    r = session.get(node.url + "/store", params={"graph": standard.twin_graph(twin_id)},
                                    headers={"Accept": "application/n-triples"}, timeout=30)
                    note("graph store read", r.status_code, time.perf_counter() - started)
                    if r.status_code == 200:
                        tags = set(re.findall(r'<http://example.org/test#version> "([^"]+)"', r.text))
                        if len(tags) != 1 or uploads.size[tags.pop()] != len(r.text.strip().splitlines()):
                            problems.append(("mixed graph store read", twin_id, tags))
                else:
                    r = session.get(f"{node.url}/api/twins/{twin_id}", timeout=30)
                    note("twin metadata", r.status_code, time.perf_counter() - started)
                    if r.status_code == 200 and r.json()["content_hash"] not in uploads.by_hash:
                        problems.append(("unknown content hash", twin_id, r.json()["content_hash"]))
            except requests.RequestException as exc:
                problems.append(("request failed", repr(exc)))
                continue
            if r.status_code != 200:
                problems.append(("status", r.status_code, r.text[:300]))

    def publisher(number: int):
        session = requests.Session()
        own = ids[2 * number: 2 * number + 2]
        i = 0
        while time.perf_counter() < stop_at:
            twin_id = own[i % 2]
            i += 1
            seqs[twin_id] += 1
            tag, body = uploads.make(twin_id, seqs[twin_id])
            started = time.perf_counter()
            r = session.put(f"{node.url}/api/twins/{twin_id}", data=body, headers=auth(tokens[twin_id]), timeout=60)
            note("publish", r.status_code, time.perf_counter() - started)
            if r.status_code != 200:
                problems.append(("publish", r.status_code, r.text[:300]))
                continue
            acked[twin_id] = (seqs[twin_id], body)
            # read your writes: the next query sees the acknowledged upload
            started = time.perf_counter()
            r = session.get(node.url + "/sparql", params={"query": consistency_query(twin_id)}, timeout=30)
            note("query", r.status_code, time.perf_counter() - started)
            row = r.json()["results"]["bindings"][0]
            if row["tag"]["value"] != tag:
                problems.append(("acknowledged upload not visible", twin_id, tag, row["tag"]["value"]))

    timeouts = []

    def slow_client():
        session = requests.Session()
        while time.perf_counter() < stop_at - 1:
            started = time.perf_counter()
            r = session.get(node.url + "/sparql", params={"query": CARTESIAN, "timeout": "1"}, timeout=30)
            timeouts.append(time.perf_counter() - started)
            if r.status_code != 503 or r.json().get("error") != "query timeout":
                problems.append(("deliberate timeout", r.status_code, r.text[:300]))
            time.sleep(1.0)

    threads = [threading.Thread(target=guarded(query_client), args=(i,)) for i in range(query_clients)]
    threads += [threading.Thread(target=guarded(publisher), args=(i,)) for i in range(publishers)]
    threads.append(threading.Thread(target=guarded(slow_client)))
    started = time.perf_counter()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        try:
            # the final state is the acknowledged uploads
            for twin_id in ids:
                check_twin(node.url, twin_id, [acked[twin_id][1]], uploads)
            metrics = requests.get(node.url + "/metrics").text
        except requests.RequestException as exc:
            # say what the node was doing: alive or not, what the clients saw, the end of its log
            raise AssertionError(
                f"the node did not answer after the soak: {exc!r}; node exit code: {node.process.poll()}; "
                f"clients' problems: {problems[:10]}\nthe node's log ends:\n{node.log()[-4000:]}") from exc
        deaths = re.findall(r'ecgraph_worker_deaths\{pool="(\w+)"\} ([0-9.]+)', metrics)
        assert all(float(n) == 0 for _, n in deaths), deaths
        log = node.log()
    finally:
        node.stop()
    assert not problems, problems[:10]
    assert "Traceback" not in log, log[-3000:]
    errors = [s for s in samples if s[1] >= 500]
    assert not errors
    by_kind = {}
    for kind in sorted({s[0] for s in samples}):
        by_kind[kind] = percentiles([s[2] for s in samples if s[0] == kind])
    return {"seconds": round(elapsed, 1), "query_clients": query_clients, "publishers": publishers,
            "requests": len(samples) + len(timeouts),
            "requests_per_s": round((len(samples) + len(timeouts)) / elapsed, 1),
            "publishes_acknowledged": sum(1 for s in samples if s[0] == "publish"),
            "deliberate_timeouts": len(timeouts), "5xx_other": len(errors),
            "reads_older_than_a_previous_read": len(backwards),
            "all": percentiles([s[2] for s in samples]), **{k.replace(" ", "_"): v for k, v in by_kind.items()}}


def test_concurrency_soak(tmp_path):
    figures = soak(tmp_path, seconds=10)
    record("soak_ci", **figures)
    assert figures["publishes_acknowledged"] > 10 and figures["requests"] > 200


@pytest.mark.slow
def test_concurrency_soak_long(tmp_path):
    figures = soak(tmp_path, seconds=60)
    record("soak_long", **figures)
    assert figures["publishes_acknowledged"] > 60


# --- slow queries ---------------------------------------------------------------------------------

def test_slow_query_is_stopped_its_cpu_freed_while_simple_queries_answer(tmp_path):
    node = NodeProcess(tmp_path / "data", "--no-demo", "--query-timeout", "2", "--query-workers", "2").start()
    try:
        token = register(node, "slow")
        requests.put(node.url + "/api/twins/slow", data=make_twin("slow", members=30), headers=auth(token))
        workers_before = set(children(node.process.pid))
        outcome = {}

        def slow():
            started = time.perf_counter()
            r = requests.get(node.url + "/sparql", params={"query": CARTESIAN}, timeout=60)
            outcome.update(status=r.status_code, body=r.json(), seconds=time.perf_counter() - started)

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.3)
        simple = []
        session = requests.Session()
        while thread.is_alive():
            started = time.perf_counter()
            r = session.get(node.url + "/sparql", params={
                "query": f"PREFIX ec: <{standard.EC}> SELECT ?m WHERE {{ ?m a ec:Household }} LIMIT 10"})
            simple.append(time.perf_counter() - started)
            assert r.status_code == 200 and len(r.json()["results"]["bindings"]) == 10
            time.sleep(0.05)
        thread.join()
        assert outcome["status"] == 503 and outcome["body"]["error"] == "query timeout", outcome
        assert outcome["seconds"] < 2 + 1.0, outcome
        latency = percentiles(simple)
        assert latency["n"] >= 10
        assert latency["p50_ms"] < 100, latency
        assert latency["max_ms"] < 100 * 2.5, latency  # a lone scheduler hiccup on a 2-core runner
        # the worker that ran it is gone; wait for its replacement to be ready
        deadline = time.time() + 30
        while time.time() < deadline:
            health = requests.get(node.url + "/health").json()
            if health["workers"]["query"]["alive"] == 2:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # let the replacement finish opening its snapshot
        workers_after = set(children(node.process.pid))
        killed = workers_before - workers_after
        assert len(killed) == 1 and not any(alive(pid) for pid in killed), (workers_before, workers_after)
        # no process of the node keeps burning CPU: a query still running somewhere would take a
        # whole core, 200 ticks in 2 s; the node's own housekeeping took up to 7 in 1 s on a slow
        # evening of the 2-core runner (one tick is 10 ms)
        pids = sorted(workers_after | {node.process.pid})
        ticks = {pid: cpu_ticks(pid) for pid in pids}
        time.sleep(2.0)
        burnt = {pid: cpu_ticks(pid) - ticks[pid] for pid in pids}
        assert sum(burnt.values()) <= 30, f"CPU ticks (1/100 s) used over 2 s after the timeout: {burnt}"
        record("slow_query", timeout_s=2, cancelled_after_s=round(outcome["seconds"], 3),
               simple_queries=latency, cpu_ticks_in_the_2_s_after=sum(burnt.values()))
    finally:
        node.stop()


# --- memory ---------------------------------------------------------------------------------------

@pytest.mark.slow  # 35 s: the default CI run keeps under 15 minutes
def test_memory_is_flat_over_10000_queries(tmp_path):
    node = NodeProcess(tmp_path / "data", "--no-demo", "--query-timeout", "10").start()
    try:
        for twin_id in ("mem-a", "mem-b"):
            token = register(node, twin_id)
            r = requests.put(f"{node.url}/api/twins/{twin_id}", data=make_twin(twin_id, members=40, schools=3),
                             headers=auth(token))
            assert r.status_code == 201
        g = standard.twin_graph("mem-a")
        mix = [
            ("/sparql", {"query": f"PREFIX ec: <{standard.EC}> SELECT ?m WHERE {{ ?m a ec:Household }}"}, {}, 200),
            ("/sparql", {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}, {"Accept": "text/csv"}, 200),
            ("/sparql", {"query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}"},
             {"Accept": "text/turtle"}, 200),
            ("/sparql", {"query": "ASK { ?s ?p ?o }"}, {"Accept": "application/sparql-results+xml"}, 200),
            ("/sparql", {"query": "SELECT * WHERE { ?s ?p "}, {}, 400),
            ("/sparql", {"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}, {}, 403),
            ("/api/twins/mem-a", {}, {}, 200),
            ("/api/twins/nope", {}, {}, 404),
        ]
        def run(total: int, clients: int = 4) -> int:
            answered: list[int] = []
            failures: list = []

            def client(share: int, offset: int):
                session = requests.Session()
                count = 0
                for i in range(share):
                    path, params, headers, status = mix[(offset + i) % len(mix)]
                    r = session.get(node.url + path, params=params, headers=headers, timeout=30)
                    if r.status_code != status:
                        failures.append((path, r.status_code, r.text[:200]))
                    count += 1
                answered.append(count)

            threads = [threading.Thread(target=client, args=(total // clients, k)) for k in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not failures, failures[:5]
            return sum(answered)

        run(1000)  # warm-up: caches, lazily built state, allocator arenas
        workers = sorted(children(node.process.pid))
        before = {"main": rss_kb(node.process.pid), **{str(p): rss_kb(p) for p in workers}}
        started = time.perf_counter()
        assert run(10_000) == 10_000
        elapsed = time.perf_counter() - started
        after = {"main": rss_kb(node.process.pid), **{str(p): rss_kb(p) for p in workers if alive(p)}}
        assert sorted(children(node.process.pid)) == workers, "a worker was replaced during the run"
        growth = after["main"] / before["main"] - 1
        record("memory", queries=10_000, seconds=round(elapsed, 1), rss_kb_before=before, rss_kb_after=after,
               main_growth_pct=round(100 * growth, 2))
        assert growth <= 0.10, (before, after)
    finally:
        node.stop()


def test_a_tiny_request_timeout_cannot_order_worker_kills(tmp_path):
    """Regression: ``/sparql?timeout=0.0001`` (or ``nan``) made the node kill and respawn a query
    worker for a query that takes milliseconds; one client doing that in a loop cut everyone's
    throughput about fifty-fold. A request's limit is now at least 1 s (and never over the node's)."""
    node = NodeProcess(tmp_path / "data", "--no-demo").start()
    try:
        stop = time.perf_counter() + 3
        statuses: list[int] = []

        def attacker():
            session = requests.Session()
            while time.perf_counter() < stop:
                r = session.get(node.url + "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 200",
                                                              "timeout": "0.0001"})
                statuses.append(r.status_code)

        thread = threading.Thread(target=attacker)
        thread.start()
        thread.join()
        metrics = requests.get(node.url + "/metrics").text
        stopped = float(re.search(r"^ecgraph_query_timeouts_total ([0-9.]+)", metrics, re.M).group(1))
        assert stopped == 0 and set(statuses) == {200}, (stopped, sorted(set(statuses)))
        r = requests.get(node.url + "/sparql", params={"query": "ASK {}", "timeout": "nan"})
        assert r.status_code == 400
    finally:
        node.stop()


def test_a_crash_between_archiving_and_committing_keeps_the_last_ten_versions(tmp_path):
    """Regression (found by the long crash run): archiving pruned the archive to ten versions
    before the commit that supersedes the archived one; a kill in between left nine old versions
    listed (one lost for good). Pruning now follows the commit."""
    from ecgraph.config import Config
    from ecgraph.node import Node

    token = "ecg_admin_kept-versions-test-0000000"
    config = Config.load(environ={}, data=tmp_path / "data", admin_token=token, no_demo=True)
    node = Node(config, workers=False)
    node.register("kept")
    for seq in range(1, 13):
        node.publish("kept", node.upload_for("kept", make_twin("kept", tag=f"kept:{seq}"), media_type=TURTLE))
    node.close()
    # a publisher killed right after archiving version 12, before its commit
    script = ("import os, signal, sys\n"
              "from ecgraph.config import Config\nfrom ecgraph.node import Node\nfrom ecgraph.publish import catalog\n"
              f"node = Node(Config.load(environ={{}}, data={str(tmp_path / 'data')!r}, admin_token={token!r},"
              " no_demo=True), workers=False)\n"
              "entry = catalog.read(node.store, 'kept')\n"
              "node.registry.archive('kept', entry.version, entry.to_dict(),"
              " node.registry.pack(node.store.graph_ntriples(entry.graph)))\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    assert subprocess.run([sys.executable, "-c", script]).returncode == -signal.SIGKILL
    node = Node(config, workers=False)
    try:
        versions = node.versions("kept")
        assert versions[0]["current"] and versions[0]["version"] == 12
        assert [v["version"] for v in versions[1:]] == list(range(11, 1, -1))
        node.publish("kept", node.upload_for("kept", make_twin("kept", tag="kept:13"), media_type=TURTLE))
        assert [v["version"] for v in node.versions("kept")] == list(range(13, 2, -1))
        assert len(node.registry.versions("kept")) == 10
    finally:
        node.close()

"""The bulk dump of a serving node is made in a process of its own, never by a request nor under
the write lock: at 10,000 twins a dump took 123 s, during which a ``GET /dump`` held the node's
write lock (every publisher waited) and its HTTP thread, and again after each change.

A serving node here: an in-process :class:`Node` with its worker processes, and the Flask app.
The dump's worker is stopped (SIGSTOP) as soon as it is spawned, so the test holds the node in the
state "a dump is being made" for as long as it needs: what a request and a publisher see then is
what they see during the two minutes at scale."""

from __future__ import annotations

import gzip
import os
import signal
import time

import pytest

from ecgraph.config import Config
from ecgraph.node import Node
from tests.checks import children
from tests.helpers import ADMIN, make_twin


def _children() -> set[int]:
    """The processes this one started."""
    return set(children(os.getpid()))


def _stop_next_child(before: set[int], seconds: float = 20.0) -> int:
    """Stop the first process started after ``before`` was taken, as soon as it exists (a spawned
    worker takes most of a second to import what it needs before it does anything)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        new = _children() - before
        if new:
            pid = min(new)
            os.kill(pid, signal.SIGSTOP)
            return pid
        time.sleep(0.002)
    raise AssertionError("no dump worker was started")


@pytest.fixture
def served(tmp_path):
    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True, query_workers=1,
                         dump_personal_data=True)
    node = Node(config, workers=True)
    from ecgraph.web import create_app

    app = create_app(node)
    app.testing = True
    yield node, app.test_client()
    node.close()


def _publish(node: Node, tag: str, contact: bool = False) -> float:
    started = time.monotonic()
    data = make_twin("coop", tag=tag).decode()
    if contact:
        data += ('<https://coop.example/id/contact> a <http://www.w3.org/2006/vcard/ns#Individual> ; '
                 '<http://www.w3.org/2006/vcard/ns#fn> "Jan Jansen" .\n'
                 '<https://coop.example/id/community> <https://w3id.org/ecgraph/ns#contactPoint> '
                 '<https://coop.example/id/contact> .\n')
    node.publish("coop", node.upload_for("coop", data.encode(), media_type="text/turtle"))
    return time.monotonic() - started


def _until_current(client, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = client.get("/dump.nq.gz")
        if answer.status_code == 200 and answer.headers["X-Dump-Status"] == "current":
            return answer
        time.sleep(0.1)
    raise AssertionError("the dump did not become current")


def test_while_a_dump_is_made_publishers_do_not_wait_and_requests_get_the_last_one_at_once(served):
    node, client = served
    node.register("coop", "Coop")
    _publish(node, "A")
    first = client.get("/dump.nq.gz")  # made in the background; the request waits for it (--dump-wait)
    assert first.status_code == 200 and first.headers["X-Dump-Version"] == "1", first.data[:300]
    assert first.headers["X-Dump-Status"] == "current"

    _publish(node, "B")
    node.config.dump_wait = 0  # (a dump of one twin is made in a few tenths of a second)
    before = _children()
    asked = time.monotonic()
    stale = client.get("/dump.nq.gz")
    worker = _stop_next_child(before)
    try:
        assert time.monotonic() - asked < 2
        assert stale.status_code == 200 and stale.data == first.data  # the last dump, said to be so
        assert stale.headers["X-Dump-Version"] == "1" and stale.headers["X-Dump-Status"] == "updating"
        # the worker is held mid-dump: a publish goes through (the old dump held the write lock)
        assert _publish(node, "C") < 10
        node.config.dump_wait = 0.5  # waiting for a dump being made: the last one after the wait
        again = client.get("/dump", headers={"Accept": "application/n-triples"})
        assert again.status_code == 200 and again.headers["X-Dump-Status"] == "updating"
        assert again.headers["X-Dump-Version"] == "1"
        assert node.dump_pending()
    finally:
        os.kill(worker, signal.SIGCONT)
    node.config.dump_wait = 10.0
    latest = _until_current(client)
    text = gzip.decompress(latest.data).decode()
    assert '"C"' in text and '"B"' not in text and '"A"' not in text
    assert int(latest.headers["X-Dump-Version"]) >= 2
    version = latest.headers["X-Dump-Version"]
    assert [p.name for p in node.dump_dir.glob("ecgraph-dump-*")] == [f"ecgraph-dump-{version}.nq.gz"]


def test_before_the_first_dump_a_request_is_told_to_come_back(served):
    node, client = served
    node.register("coop", "Coop")
    _publish(node, "A")
    node.config.dump_wait = 0
    before = _children()
    answer = client.get("/dump.nq.gz")
    worker = _stop_next_child(before)
    try:
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "60"
        assert "no bulk dump ready yet" in answer.get_json()["detail"]
        assert client.get("/dump", headers={"Accept": "text/turtle"}).status_code == 503
    finally:
        os.kill(worker, signal.SIGCONT)
    node.config.dump_wait = 10.0
    assert _until_current(client).headers["X-Dump-Version"] == "1"


def test_a_dump_begun_before_an_erasure_is_not_served_with_the_erased_person(served):
    node, client = served
    node.register("coop", "Coop")
    _publish(node, "A", contact=True)
    first = _until_current(client)
    assert b"Jan Jansen" in gzip.decompress(first.data)
    _publish(node, "B", contact=True)  # the dump is out of date: the next request begins one
    node.config.dump_wait = 0
    before = _children()
    client.get("/dump.nq.gz")
    worker = _stop_next_child(before)
    try:
        node.erase("coop", "Jan Jansen")  # while the dump of the state before it is being made
        assert client.get("/dump.nq.gz").status_code == 503  # the erasure discarded every dump
    finally:
        os.kill(worker, signal.SIGCONT)
    node.config.dump_wait = 10.0
    latest = _until_current(client)
    text = gzip.decompress(latest.data).decode()
    assert "Jan Jansen" not in text and '"B"' in text


def test_a_request_with_an_accept_the_description_has_no_format_for_makes_no_dump(served):
    node, client = served
    node.register("coop", "Coop")
    _publish(node, "A")
    assert client.get("/dump", headers={"Accept": "image/png"}).status_code == 406
    assert not node.dump_pending() and not list(node.dump_dir.glob("ecgraph-dump-*"))


def test_a_dump_that_fails_is_not_begun_again_by_every_request(served):
    """Each dump is a process: after one fails (here its file cannot be written: a directory holds
    its name), requests do not start another for a minute, whoever sends them; the last dump is
    served meanwhile."""
    node, client = served
    node.register("coop", "Coop")
    _publish(node, "A")
    first = _until_current(client)
    _publish(node, "B")
    (node.dump_dir / "ecgraph-dump-2.nq.gz.partial").mkdir()
    node.config.dump_wait = 10
    failed = client.get("/dump.nq.gz")
    assert failed.status_code == 200 and failed.data == first.data and not node.dump_pending()
    before = _children()
    for _ in range(5):
        answer = client.get("/dump.nq.gz")
        assert answer.status_code == 200 and answer.data == first.data
        assert answer.headers["X-Dump-Status"] == "outdated" and answer.headers["X-Dump-Version"] == "1"
    time.sleep(0.5)
    assert _children() - before == set() and not node.dump_pending()


def test_a_dump_replaced_between_its_record_and_its_file_is_served_from_the_new_record(served, monkeypatch):
    """A request reads the dump's record, then opens its file; a newer dump installed in between
    deletes that file: the request reads the record again and serves the newer one (not a 500)."""
    node, client = served
    node.register("coop", "Coop")
    _publish(node, "A")
    first = _until_current(client)
    real = Node.dump_file
    opened: list[int] = []

    def replaced_meanwhile(self, made):
        opened.append(made.version)
        return self.dump_dir / "ecgraph-dump-0.nq.gz" if len(opened) == 1 else real(self, made)

    monkeypatch.setattr(Node, "dump_file", replaced_meanwhile)
    again = client.get("/dump.nq.gz")
    assert again.status_code == 200 and again.data == first.data and opened == [1, 1]


def test_the_dump_worker_yields_the_cpu_to_the_requests(tmp_path):
    """The dump takes a core for two minutes at 10,000 twins: its worker runs at a lower priority
    than the processes that answer requests (checked in a process of its own, as the pool starts
    it, on a real store)."""
    import subprocess
    import sys

    from ecgraph.store.embedded import EmbeddedStore

    EmbeddedStore(tmp_path / "data").close()
    code = ("import os; from ecgraph.publish import dump; from ecgraph.workers import shared_counter; "
            f"before = os.nice(0); dump.init_worker(('embedded', {str(tmp_path / 'data')!r}), shared_counter()); "
            "print(before, os.nice(0))")
    before, after = map(int, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                            check=True, timeout=60).stdout.split())
    assert after == min(19, before + 10)

"""The node's log (issue 13): an access log, one line per publish and reject (and the refresh and
harvest hooks), JSON with ``--log-format json``, never a token; process metrics in /metrics."""

from __future__ import annotations

import io
import json
import logging

import pytest
import requests

from ecgraph import logs
from tests.helpers import make_twin
from tests.servers import ADMIN_TOKEN, NodeProcess

WRONG = "ecg_not-a-token-but-looks-like-one-123456"
IN_QUERY = "hunter2-secret-in-the-query-string"


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A node that logs JSON, after a session of writes with tokens, and its whole output."""
    node = NodeProcess(tmp_path_factory.mktemp("logs") / "data", "--no-demo", "--log-format", "json").start()
    try:
        r = requests.post(node.url + "/api/twins", json={"id": "alpha", "title": "Alpha"}, headers=node.admin)
        publisher = r.json()["token"]
        bearer = {"Authorization": f"Bearer {publisher}", "Content-Type": "text/turtle"}
        assert requests.put(node.url + "/api/twins/alpha", data=make_twin("alpha"), headers=bearer).status_code == 201
        bad = b"<https://alpha.example/id/twin> a <https://w3id.org/ecgraph/ns#DigitalTwin> ."
        assert requests.put(node.url + "/api/twins/alpha", data=bad, headers=bearer).status_code == 422
        assert requests.put(node.url + "/api/twins/alpha", data=make_twin("alpha"),
                            headers={"Authorization": f"Bearer {WRONG}"}).status_code == 403
        requests.get(node.url + "/sparql", params={"query": "ASK {}", "token": IN_QUERY})
        metrics = requests.get(node.url + "/metrics").text
    finally:
        node.stop()
    return node.log(), publisher, metrics


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_every_log_line_is_json_when_asked(logged):
    output, _, _ = logged
    human = {"ecgraph node listening on", "  SPARQL endpoint:", "  admin token:", "ecgraph node stopped"}
    for line in output.splitlines():
        if not line.startswith("{"):
            assert any(line.startswith(h) for h in human), line  # the startup banner is for people
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records(output))


def test_each_request_gets_an_access_line(logged):
    access = [r for r in records(logged[0]) if r["logger"] == "ecgraph.access"]
    seen = {(r["method"], r["path"], r["status"]) for r in access}
    assert {("POST", "/api/twins", 201), ("PUT", "/api/twins/alpha", 201), ("PUT", "/api/twins/alpha", 422),
            ("PUT", "/api/twins/alpha", 403), ("GET", "/sparql", 200)} <= seen
    assert all(isinstance(r["ms"], float) and r["client"] == "127.0.0.1" for r in access)


def test_each_publish_and_reject_gets_one_line(logged):
    events = [r for r in records(logged[0]) if r["logger"] == "ecgraph.events"]
    published = [r for r in events if r["event"] == "publish"]
    rejected = [r for r in events if r["event"] == "reject"]
    assert len(published) == 1 and published[0]["twin"] == "alpha" and published[0]["version"] == 1
    assert published[0]["created"] is True and published[0]["triples"] > 0
    # the wrong token is refused before the upload is read: the access log has it (403), not a reject
    assert [(r["twin"], r["status"]) for r in rejected] == [("alpha", 422)]
    assert rejected[0]["reason"] and rejected[0]["detail"]   # what was wrong, for the operator


def test_no_token_reaches_the_log(logged):
    output, publisher, _ = logged
    for secret in (ADMIN_TOKEN, publisher, WRONG, IN_QUERY):
        assert secret not in output
    assert "token=[redacted]" in output


def test_the_metrics_include_the_process_cpu_memory_and_open_files(logged):
    metrics = logged[2]
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                 "process_max_fds", 'ecgraph_worker_resident_memory_bytes{pool="query"}',
                 'ecgraph_worker_open_fds{pool="pipeline"}'):
        assert name in metrics, name
    resident = next(line for line in metrics.splitlines() if line.startswith("process_resident_memory_bytes"))
    assert float(resident.split()[-1]) > 10_000_000


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_refresh_and_harvest_hooks_write_one_redacted_line_each(fmt):
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    saved = root.handlers[:]
    root.handlers = [handler]
    try:
        logs.configure(fmt, secrets=["my-admin-secret-0000000000000000"])
        logs.refreshed("alpha", source="https://alpha.example/twin.ttl?token=abc", ok=True, version=3)
        logs.harvested("https://peer.example/", ok=False, detail="Bearer my-admin-secret-0000000000000000 refused")
    finally:
        root.handlers = saved
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "abc" not in stream.getvalue() and "my-admin-secret" not in stream.getvalue()
    if fmt == "json":
        first, second = (json.loads(line) for line in lines)
        assert (first["event"], first["twin"], first["version"]) == ("refresh", "alpha", 3)
        assert (second["event"], second["ok"], second["level"]) == ("harvest", False, "warning")
    else:
        assert "refreshed twin alpha" in lines[0] and 'version=3' in lines[0]
        assert "WARNING ecgraph.events: harvesting https://peer.example/ failed" in lines[1]

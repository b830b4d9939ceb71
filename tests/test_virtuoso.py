"""A node on Virtuoso Open Source (slow suite): what works and what Virtuoso 7.2 does not allow.

Virtuoso runs unprivileged from a copy of its ``virtuoso.ini`` in a temporary directory, on free
ports; ``.ci/run -m slow`` unpacks Debian's package when ``virtuoso-t`` is not installed (the
directory it unpacked to is given in ``ECGRAPH_VIRTUOSO_ROOT``). The SPARQL user gets update rights
with ``isql-vt``, as the README says.

Proved here: Virtuoso's anytime answers (200, well-formed, partial, announced only in
``X-SQL-State``) are refused by the node's client, never passed on; the node's blank-node writing
goes through Virtuoso's dialect; and a node refuses to start on Virtuoso with an error that says
why (its SPARQL compiler does not take a change the size of the ontology in one update request,
and the node does not give up atomicity by splitting it).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from ecgraph.config import Config
from ecgraph.node import Node
from ecgraph.store.remote import AnswerTruncated, Endpoints, RemoteEngine, RemoteStore, StoreRefused, StoreTooSmall

pytestmark = pytest.mark.slow


def _installation() -> tuple[Path, Path, Path, dict] | None:
    root = os.environ.get("ECGRAPH_VIRTUOSO_ROOT")
    if root:
        base = Path(root)
        binary, isql = base / "usr/bin/virtuoso-t", base / "usr/bin/isql-vt"
        ini = base / "usr/share/virtuoso-opensource-7/virtuoso.ini"
        libs = ":".join(str(p) for p in (base / "lib/x86_64-linux-gnu", base / "usr/lib/x86_64-linux-gnu"))
        env = dict(os.environ, LD_LIBRARY_PATH=libs)
    else:
        found = shutil.which("virtuoso-t")
        if not found:
            return None
        binary, isql = Path(found), Path(shutil.which("isql-vt") or "isql-vt")
        ini = next((p for p in (Path("/etc/virtuoso-opensource-7/virtuoso.ini"),
                                Path("/usr/share/virtuoso-opensource-7/virtuoso.ini")) if p.exists()), Path())
        env = dict(os.environ)
    return binary, isql, ini, env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Virtuoso:
    def __init__(self, directory: Path):
        found = _installation()
        if found is None:
            pytest.skip("Virtuoso is not installed: run .ci/run -m slow (it unpacks Debian's package) or set "
                        "ECGRAPH_VIRTUOSO_ROOT to a directory where virtuoso-opensource-7-bin is unpacked")
        binary, isql, ini, env = found
        self.sql_port, http = _free_port(), _free_port()
        text = ini.read_text()
        text = text.replace("/var/lib/virtuoso-opensource-7/db", str(directory))
        text = re.sub(r"(?m)^ServerPort(\s*)=\s*1111", rf"ServerPort\g<1>= {self.sql_port}", text)
        text = re.sub(r"(?m)^ServerPort(\s*)=\s*8890", rf"ServerPort\g<1>= {http}", text)
        text = re.sub(r"(?m)^DirsAllowed.*$", f"DirsAllowed = ., {directory}", text)
        text = re.sub(r"(?m)^VADInstallDir.*$", f"VADInstallDir = {directory}/vad/", text)
        text = re.sub(r"(?m)^Load\d.*$", "", text)  # no hosting plugins
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "virtuoso.ini").write_text(text)
        self.url = f"http://127.0.0.1:{http}"
        self.env, self.isql = env, isql
        self.log = (directory / "run.log").open("wb")
        self.process = subprocess.Popen([str(binary), "+foreground", "+configfile", str(directory / "virtuoso.ini")],
                                        cwd=directory, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("virtuoso-t exited: " + (directory / "run.log").read_text(errors="replace"))
            try:
                requests.get(self.url + "/sparql", params={"query": "ASK {}"}, timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.5)
        subprocess.run([str(isql), str(self.sql_port), "dba", "dba", 'exec=grant SPARQL_UPDATE to "SPARQL";'],
                       env=env, check=True, capture_output=True, timeout=60)

    def endpoints(self, **timeouts) -> Endpoints:
        return Endpoints(query=self.url + "/sparql", update=self.url + "/sparql",
                         graph_store=self.url + "/sparql-graph-crud", **timeouts)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso") / "db")
    yield server
    server.stop()


def test_an_anytime_answer_of_virtuoso_is_refused_never_passed_on(virtuoso):
    store = RemoteStore(virtuoso.endpoints())
    for k in range(3):  # 2,700 triples, in requests Virtuoso takes
        store.update("INSERT DATA { GRAPH <urn:big> { "
                     + " ".join(f'<urn:s{k}_{i}> <urn:p> "v{i}" .' for i in range(900)) + " } }")
    heavy = ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:big> { ?a ?b ?c . ?d ?e ?f "
             "FILTER(STR(?c) < STR(?f)) } }")
    # the anchor: asked directly with a 0.5 s limit, Virtuoso answers 200 with a partial count
    direct = requests.post(virtuoso.url + "/sparql", data={"query": heavy, "timeout": "500"},
                           headers={"Accept": "application/sparql-results+json"})
    assert direct.status_code == 200 and direct.headers.get("X-SQL-State") == "S1TAT"
    engine = RemoteEngine(virtuoso.endpoints(query_timeout=0.5))
    with pytest.raises(AnswerTruncated) as refused:
        engine.query(heavy, timeout=60)  # the node's client would wait; Virtuoso stops at 0.5 s
    assert "S1TAT" in refused.value.detail
    # within the limit, the whole answer
    answer = engine.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:big> { ?s ?p ?o } }", timeout=60)
    assert next(iter(answer))["n"].value == "2700"


def test_blank_nodes_and_replacements_go_through_virtuosos_dialect(virtuoso):
    store = RemoteStore(virtuoso.endpoints())
    data = "\n".join([f"<urn:a> <urn:p> _:b{i} ." for i in range(300)] + [f'_:b{i} <urn:p> "x" .' for i in range(300)])
    store.commit(replace={"urn:bn": data})
    assert len(store.graph_triples("urn:bn")) == 600
    store.commit(replace={"urn:bn": "<urn:a> <urn:p> <urn:c> ."})
    assert store.graph_ntriples("urn:bn") == "<urn:a> <urn:p> <urn:c> ."


def test_a_node_refuses_to_start_on_virtuoso_saying_why(virtuoso, tmp_path):
    config = Config.load(environ={}, data=tmp_path / "data", store=virtuoso.url, store_query="sparql",
                         store_update="sparql", store_graph_store="sparql-graph-crud", no_demo=True)
    with pytest.raises(StoreTooSmall) as refused:
        Node(config, workers=False)
    assert "one update request" in refused.value.detail and "atomic" in refused.value.detail


def test_virtuoso_keeps_part_of_an_update_request_that_fails_so_splitting_one_change_is_not_atomic(virtuoso):
    """Why the node does not split a change into several operations of one request on Virtuoso:
    each operation stays under its compiler's limit, but the request is no transaction: when a
    later operation fails, the earlier ones stay applied (a half-written twin)."""
    store = RemoteStore(virtuoso.endpoints())
    operations = ["INSERT DATA { GRAPH <urn:half> { " + " ".join(f'<urn:s{k}_{i}> <urn:p> "v{i}" .' for i in range(200))
                  + " } }" for k in range(5)]
    closed = _free_port()  # nothing listens there: the LOAD fails after the inserts ran
    with pytest.raises(StoreRefused):
        store.update(" ;\n".join(operations + [f"LOAD <http://127.0.0.1:{closed}/twin.ttl>"]), notify=False)
    kept = RemoteEngine(virtuoso.endpoints()).query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:half> { ?s ?p ?o } }")
    assert next(iter(kept))["n"].value == "1000"

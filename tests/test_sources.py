"""Twins that stay at home: registered with the URL where their platform publishes them, refreshed
from there with conditional requests, through the upload pipeline, keeping the last good version
when the source fails or stops conforming, backing off, and on a schedule in a running node."""

from __future__ import annotations

import os
import time

import pytest
import requests

from ecgraph.config import Config
from ecgraph.node import Node
from ecgraph.web import create_app
from tests.helpers import ADMIN, auth, make_twin, undeclared
from tests.servers import FileServer, NodeProcess


@pytest.fixture()
def home(tmp_path):
    """A community's platform: a directory served on loopback, the twin at /twin.ttl."""
    directory = tmp_path / "platform"
    directory.mkdir()
    (directory / "twin.ttl").write_bytes(make_twin("athome", tag="v1"))
    server = FileServer(directory)
    yield directory, server.url + "/twin.ttl"
    server.close()


@pytest.fixture()
def client(tmp_path):
    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True,
                         allow_hosts=["127.0.0.1"])
    node = Node(config, workers=False)
    app = create_app(node)
    app.testing = True
    yield app.test_client()
    node.close()


def rewrite(directory, data: bytes, later: int) -> None:
    """Change the document and its modification time (HTTP dates have whole seconds)."""
    path = directory / "twin.ttl"
    path.write_bytes(data)
    stamp = time.time() + later
    os.utime(path, (stamp, stamp))


def version_tag(client) -> str:
    answer = client.get("/sparql", query_string={"query": "SELECT ?v { <https://athome.example/id/community> "
                                                          "<http://example.org/test#version> ?v }"},
                        headers={"Accept": "application/sparql-results+json"}).get_json()
    return ",".join(sorted(b["v"]["value"] for b in answer["results"]["bindings"]))


def test_a_twin_at_home_is_refreshed_conditionally_and_keeps_its_last_good_version(client, home):
    directory, url = home
    made = client.post("/api/twins", json={"id": "athome", "source": url, "interval": 60}, headers=auth(ADMIN))
    assert made.status_code == 201, made.get_json()
    first = client.post("/api/twins/athome/refresh", headers=auth(ADMIN)).get_json()["source"]
    assert first["outcome"] == "refreshed" and first["error"] is None and version_tag(client) == "v1"
    again = client.post("/api/twins/athome/refresh", headers=auth(ADMIN)).get_json()["source"]
    assert again["outcome"] == "unchanged"  # a 304 to If-Modified-Since
    rewrite(directory, make_twin("athome", tag="v2"), later=5)
    assert client.post("/api/twins/athome/refresh", headers=auth(ADMIN)).get_json()["source"]["outcome"] == "refreshed"
    assert version_tag(client) == "v2"
    rewrite(directory, make_twin("athome", tag="v3").replace(b'dcterms:title "Test twin athome"@en ;', b""), later=10)
    failed = client.post("/api/twins/athome/refresh", headers=auth(ADMIN)).get_json()["source"]
    assert failed["outcome"] == "failed" and "dcterms:title" in failed["error"] and failed["failures"] == 1
    assert version_tag(client) == "v2"  # the last good version stays
    info = client.get("/api/twins/athome").get_json()
    assert info["version"] == 2 and info["source"]["url"] == url and info["source"]["last_attempt"]
    assert info["source"]["error"] == failed["error"] and info["source"]["last_success"]
    changes = client.get("/api/changes").get_json()["changes"]
    assert [(c["kind"], c["version"]) for c in changes] == [("refreshed", 1), ("refreshed", 2)]


def test_a_failing_source_backs_off(client, home, tmp_path):
    _, url = home
    client.post("/api/twins", json={"id": "athome", "source": url + ".missing", "interval": 10},
                headers=auth(ADMIN))
    from ecgraph.store.registry import Registry

    waits = []
    for _ in range(3):
        client.post("/api/twins/athome/refresh", headers=auth(ADMIN))
        registry = Registry(tmp_path / "data" / "registry.sqlite3")
        state = registry.source("athome")["state"]
        registry.close()
        waits.append(round(state["next_attempt"] - time.time()))
    assert waits[0] in (19, 20) and waits[1] in (39, 40) and waits[2] in (79, 80)


def test_a_bad_source_is_refused_before_anything_is_registered(client):
    refused = client.post("/api/twins", json={"id": "athome", "source": "file:///etc/passwd"}, headers=auth(ADMIN))
    assert refused.status_code == 400 and "http" in refused.get_json()["detail"]
    assert client.get("/api/twins/athome").status_code == 404


def test_a_source_on_a_private_address_is_refused_by_the_url_safety_rules(tmp_path, home):
    _, url = home
    config = Config.load(environ={}, data=tmp_path / "strict", admin_token=ADMIN, no_demo=True)
    node = Node(config, workers=False)
    try:
        node.register("athome")
        node.set_source("athome", url)
        state = node.refresh_source("athome")
        assert state["outcome"] == "failed" and "loopback, private" in state["error"]
        assert node.entry("athome") is None
    finally:
        node.close()


def test_a_running_node_refreshes_a_twin_at_home_on_its_schedule(tmp_path, home):
    directory, url = home
    node = NodeProcess(tmp_path / "n", "--no-demo", "--query-workers", "1", "--allow-host", "127.0.0.1").start()
    try:
        made = requests.post(f"{node.url}/api/twins", json={"id": "athome", "source": url, "interval": 1},
                             headers=node.admin)
        assert made.status_code == 201
        deadline = time.time() + 60
        while time.time() < deadline and not requests.get(f"{node.url}/api/twins/athome").json()["published"]:
            time.sleep(0.5)
        assert requests.get(f"{node.url}/api/twins/athome").json()["version"] == 1
        rewrite(directory, make_twin("athome", tag="v2"), later=5)
        while time.time() < deadline and requests.get(f"{node.url}/api/twins/athome").json()["version"] < 2:
            time.sleep(0.5)
        assert requests.get(f"{node.url}/api/twins/athome").json()["version"] == 2
    finally:
        node.stop()


def test_a_twin_at_home_shows_its_source_last_success_last_attempt_and_error_in_its_catalog_entry(client, home):
    import pyoxigraph as ox

    directory, url = home
    client.post("/api/twins", json={"id": "athome", "source": url, "interval": 60}, headers=auth(ADMIN))
    assert client.post("/api/twins/athome/refresh", headers=auth(ADMIN)).get_json()["source"]["outcome"] == "refreshed"
    rewrite(directory, make_twin("athome", tag="v2").replace(b'dcterms:title "Test twin athome"@en ;', b""), later=5)
    failed = client.post("/api/twins/athome/refresh", headers=auth(ADMIN)).get_json()["source"]
    assert failed["outcome"] == "failed"
    text = client.get("/catalog", headers={"Accept": "application/n-triples"}).get_data()
    facts: dict[str, dict[str, str]] = {}
    for quad in ox.parse(text, format=ox.RdfFormat.N_TRIPLES):
        facts.setdefault(quad.subject.value, {})[quad.predicate.value] = quad.object.value
    twin = facts["https://w3id.org/ecgraph/twin/athome"]
    assert twin["http://purl.org/dc/terms/source"] == url
    refresh = facts[twin["https://w3id.org/ecgraph/ns#sourceRefresh"]]
    assert refresh["http://www.w3.org/1999/02/22-rdf-syntax-ns#type"] == "http://www.w3.org/ns/prov#Activity"
    assert refresh["http://www.w3.org/ns/prov#used"] == url
    assert refresh["http://www.w3.org/ns/prov#startedAtTime"] == failed["last_attempt"]
    assert refresh["https://w3id.org/ecgraph/ns#lastSuccess"] == failed["last_success"]
    assert refresh["https://w3id.org/ecgraph/ns#refreshOutcome"] == "failed"
    assert refresh["https://w3id.org/ecgraph/ns#refreshError"] == failed["error"] and "dcterms:title" in failed["error"]
    assert undeclared(text) == set()  # every term of the entry is declared by the standard
    # and the twin's page says the same to people
    import html as html_lib

    page = html_lib.unescape(client.get("/resource?iri=https://w3id.org/ecgraph/twin/athome",
                                        headers={"Accept": "text/html"}).get_data(as_text=True))
    assert url in page and failed["last_success"] in page and failed["last_attempt"] in page
    assert failed["error"] in page


# --- a twin at home in a SPARQL endpoint -----------------------------------------------------------

@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """A GBN platform's store: a real ``oxigraph serve`` on loopback."""
    from tests.servers import OxigraphProcess

    server = OxigraphProcess(tmp_path_factory.mktemp("platform-store") / "store")
    yield server
    server.stop()


def put_graph(endpoint, graph: str, data: bytes) -> None:
    r = requests.put(f"{endpoint.url}/store", params={"graph": graph}, data=data,
                     headers={"Content-Type": "text/turtle"}, timeout=10)
    assert r.status_code in (201, 204), r.text


def test_a_twin_at_home_in_a_sparql_endpoint_is_refreshed_from_its_named_graph(client, endpoint):
    graph = "https://platform.example/graph/sparqlhome"
    put_graph(endpoint, graph, make_twin("sparqlhome", tag="v1"))
    put_graph(endpoint, "https://platform.example/graph/other", make_twin("other", tag="not-this-one"))
    source = {"sparql": endpoint.url + "/query", "graph": graph}
    made = client.post("/api/twins", json={"id": "sparqlhome", "source": source, "interval": 60}, headers=auth(ADMIN))
    assert made.status_code == 201, made.get_json()
    first = client.post("/api/twins/sparqlhome/refresh", headers=auth(ADMIN)).get_json()["source"]
    assert first["outcome"] == "refreshed" and first["error"] is None, first
    assert first["sparql"]["endpoint"] == endpoint.url + "/query" and f"GRAPH <{graph}>" in first["sparql"]["query"]

    def tags() -> list[dict]:
        return client.get("/sparql", query_string={"query": "SELECT ?v { ?s <http://example.org/test#version> ?v }"},
                          headers={"Accept": "application/sparql-results+json"}).get_json()["results"]["bindings"]

    assert {b["v"]["value"] for b in tags()} == {"v1"}  # that graph, nothing else of the store
    # the endpoint sends no validators for query results: the same answer changes nothing
    again = client.post("/api/twins/sparqlhome/refresh", headers=auth(ADMIN)).get_json()["source"]
    assert again["outcome"] == "unchanged" and client.get("/api/twins/sparqlhome").get_json()["version"] == 1
    put_graph(endpoint, graph, make_twin("sparqlhome", tag="v2"))
    assert client.post("/api/twins/sparqlhome/refresh", headers=auth(ADMIN)).get_json()["source"]["outcome"] == \
        "refreshed"
    assert {b["v"]["value"] for b in tags()} == {"v2"}
    put_graph(endpoint, graph, make_twin("sparqlhome", tag="v3").replace(b'dcterms:title "Test twin sparqlhome"@en ;',
                                                                          b""))
    failed = client.post("/api/twins/sparqlhome/refresh", headers=auth(ADMIN)).get_json()["source"]
    assert failed["outcome"] == "failed" and "dcterms:title" in failed["error"]
    assert {b["v"]["value"] for b in tags()} == {"v2"}  # the last good version stays
    changes = client.get("/api/changes").get_json()["changes"]
    assert [(c["twin"], c["kind"], c["version"]) for c in changes] == [("sparqlhome", "refreshed", 1),
                                                                        ("sparqlhome", "refreshed", 2)]


def test_a_twin_at_home_in_a_sparql_endpoint_may_be_built_by_a_construct_query(client, endpoint):
    put_graph(endpoint, "https://platform.example/graph/built", make_twin("built", tag="built"))
    construct = ("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } "
                 "FILTER(?g = <https://platform.example/graph/built>) }")
    client.post("/api/twins", json={"id": "built", "source": {"sparql": endpoint.url + "/query",
                                                              "construct": construct}}, headers=auth(ADMIN))
    state = client.post("/api/twins/built/refresh", headers=auth(ADMIN)).get_json()["source"]
    assert state["outcome"] == "refreshed" and state["sparql"]["query"] == construct
    assert client.get("/api/twins/built").get_json()["triples"] > 10


def test_a_bad_sparql_source_is_refused_before_anything_is_registered(client):
    cases = [
        ({"sparql": "http://127.0.0.1:1/query"}, 'either "graph"'),
        ({"sparql": "http://127.0.0.1:1/query", "graph": "not an iri"}, "IRI of a named graph"),
        ({"sparql": "http://127.0.0.1:1/query", "construct": "SELECT * { ?s ?p ?o }"}, "must be a CONSTRUCT"),
        ({"sparql": "http://127.0.0.1:1/query",
          "construct": "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:2/> { ?s ?p ?o } }"}, "SERVICE"),
        ({"sparql": "http://127.0.0.1:1/query", "construct": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p }"}, "not valid"),
        ({"sparql": "file:///etc/passwd", "graph": "https://x.example/g"}, "http(s) URL"),
    ]
    for source, said in cases:
        refused = client.post("/api/twins", json={"id": "badsource", "source": source}, headers=auth(ADMIN))
        assert refused.status_code == 400 and said in refused.get_json()["detail"], (source, refused.get_json())
        assert client.get("/api/twins/badsource").status_code == 404


def test_a_sparql_source_on_a_private_address_is_refused_by_the_url_safety_rules(tmp_path, endpoint):
    config = Config.load(environ={}, data=tmp_path / "strict", admin_token=ADMIN, no_demo=True)
    node = Node(config, workers=False)
    try:
        node.register("sparqlhome")
        node.set_source("sparqlhome", {"sparql": endpoint.url + "/query", "graph": "https://platform.example/g"})
        state = node.refresh_source("sparqlhome")
        assert state["outcome"] == "failed" and "loopback, private" in state["error"]
        assert node.entry("sparqlhome") is None
    finally:
        node.close()


def test_ecgraph_twins_register_takes_a_sparql_endpoint_and_its_graph(tmp_path, endpoint):
    from click.testing import CliRunner

    from ecgraph.cli import main
    from ecgraph.store.registry import Registry

    graph = "https://platform.example/graph/cli"
    done = CliRunner().invoke(main, ["twins", "register", "--data", str(tmp_path / "d"), "clihome", "--source",
                                     endpoint.url + "/query", "--source-graph", graph, "--interval", "60"])
    assert done.exit_code == 0, done.output
    registry = Registry(tmp_path / "d" / "registry.sqlite3")
    try:
        url = registry.source("clihome")["url"]
    finally:
        registry.close()
    from ecgraph.network.sources import sparql_of

    assert sparql_of(url) == {"endpoint": endpoint.url + "/query",
                              "query": "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH <" + graph + "> { ?s ?p ?o } }"}

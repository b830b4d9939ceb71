"""Who writes which graph through the Graph Store Protocol (issue 13): the admin manages reference
graphs outside the twins' namespace, twins keep going through the publishing pipeline, the node's own
graphs stay read-only, and the default graph is writable only with ``--default-graph own``."""

from __future__ import annotations

from io import BytesIO

import pyoxigraph as ox
import pytest

from ecgraph.config import Config
from ecgraph.node import Node
from ecgraph.web import create_app
from tests.helpers import ADMIN, auth, fingerprint, make_twin

REGIONS = "http://example.org/code-lists/regions"
TTL = "text/turtle"
DOC = b'<http://example.org/region/bru> <http://www.w3.org/2000/01/rdf-schema#label> "Brussels" .'


def ntriples(client, **params) -> set[str]:
    r = client.get("/store", query_string=params, headers={"Accept": "application/n-triples"})
    assert r.status_code == 200, r.text
    return {str(t) for t in ox.parse(r.data, format=ox.RdfFormat.N_TRIPLES)}


def register(client, twin_id="alpha") -> str:
    r = client.post("/api/twins", json={"id": twin_id, "title": twin_id}, headers=auth(ADMIN))
    assert r.status_code == 201, r.text
    return r.get_json()["token"]


def test_the_admin_manages_a_reference_graph_as_in_a_plain_store(client):
    r = client.put("/store", query_string={"graph": REGIONS}, data=DOC, content_type=TTL, headers=auth(ADMIN))
    assert r.status_code == 201
    r = client.put("/store", query_string={"graph": REGIONS}, data=DOC, content_type=TTL, headers=auth(ADMIN))
    assert r.status_code == 204
    extra = b'<http://example.org/region/gnt> <http://www.w3.org/2000/01/rdf-schema#label> "Ghent" .'
    assert client.post("/store", query_string={"graph": REGIONS}, data=extra, content_type="application/n-triples",
                       headers=auth(ADMIN)).status_code == 204
    assert len(ntriples(client, graph=REGIONS)) == 2
    assert client.delete("/store", query_string={"graph": REGIONS}, headers=auth(ADMIN)).status_code == 204
    assert client.get("/store", query_string={"graph": REGIONS}).status_code == 404
    assert client.delete("/store", query_string={"graph": REGIONS}, headers=auth(ADMIN)).status_code == 404


def test_a_multipart_post_adds_every_part_to_the_graph(client):
    parts = {"a": (DOC, "a.ttl", TTL),
             "b": (b'<http://example.org/region/gnt> <http://example.org/p> _:x .', "b.nt", "application/n-triples")}
    data = {name: (BytesIO(body), filename, media) for name, (body, filename, media) in parts.items()}
    r = client.post("/store", query_string={"graph": REGIONS}, data=data, content_type="multipart/form-data",
                    headers=auth(ADMIN))
    assert r.status_code == 201, r.text
    assert len(ntriples(client, graph=REGIONS)) == 2


def test_post_to_the_store_creates_a_graph_whose_location_is_its_name_and_its_url(client):
    r = client.post("/store", data=DOC, content_type=TTL, headers=auth(ADMIN))
    assert r.status_code == 201
    location = r.headers["Location"]
    assert location.startswith("http://localhost/store/")
    assert len(ntriples(client, graph=location)) == 1
    direct = client.get(location[len("http://localhost"):], headers={"Accept": "application/n-triples"})
    assert direct.status_code == 200 and b"Brussels" in direct.data


@pytest.mark.parametrize("token", [None, "publisher"])
def test_only_the_admin_writes_reference_graphs_and_nothing_changes_otherwise(client, node, token):
    publisher = register(client)
    before = fingerprint(node.store)
    headers = {} if token is None else auth(publisher)
    for method in ("PUT", "POST", "DELETE"):
        r = client.open("/store", method=method, query_string={"graph": REGIONS}, data=DOC, content_type=TTL,
                        headers=headers)
        assert r.status_code == (401 if token is None else 403), (method, r.text)
    r = client.post("/store", data=DOC, content_type=TTL, headers=headers)
    assert r.status_code == (401 if token is None else 403)
    assert fingerprint(node.store) == before


def test_the_nodes_own_graphs_stay_read_only_even_for_the_admin(client, node):
    before = fingerprint(node.store)
    for graph in ("https://w3id.org/ecgraph/graph/catalog", "https://w3id.org/ecgraph/graph/ontology",
                  "https://w3id.org/ecgraph/twin/alpha/inferred", "https://w3id.org/ecgraph/ns#anything"):
        for method in ("PUT", "POST", "DELETE"):
            r = client.open("/store", method=method, query_string={"graph": graph}, data=DOC, content_type=TTL,
                            headers=auth(ADMIN))
            assert r.status_code == 403 and "read-only" in r.get_json()["detail"], (graph, method)
    assert fingerprint(node.store) == before


def test_a_twins_graph_still_goes_through_the_pipeline(client, node):
    token = register(client)
    graph = "https://w3id.org/ecgraph/twin/alpha"
    before = fingerprint(node.store)
    r = client.put("/store", query_string={"graph": graph}, data=DOC, content_type=TTL, headers=auth(token))
    assert r.status_code == 422  # not a conformant twin: validated and refused, nothing stored
    assert fingerprint(node.store) == before
    r = client.put("/store", query_string={"graph": graph}, data=make_twin("alpha"), content_type=TTL,
                   headers=auth(token))
    assert r.status_code == 201 and r.get_json()["report"]["conforms"] is True
    assert node.entry("alpha") is not None and node.store.has_graph(graph + "/inferred")


def test_writing_the_union_default_graph_is_a_405_that_names_the_setting(client, node):
    before = fingerprint(node.store)
    r = client.put("/store?default", data=DOC, content_type=TTL, headers=auth(ADMIN))
    assert r.status_code == 405 and "--default-graph own" in r.get_json()["detail"]
    assert "GET" in r.headers["Allow"]
    assert fingerprint(node.store) == before


@pytest.fixture()
def own_client(tmp_path):
    config = Config.load(environ={}, data=tmp_path / "own", admin_token=ADMIN, no_demo=True, default_graph="own")
    n = Node(config, workers=False)
    app = create_app(n)
    app.testing = True
    yield app.test_client(), n
    n.close()


def test_with_its_own_default_graph_the_admin_writes_it_and_queries_see_only_it(own_client):
    client, n = own_client
    register(client)
    assert client.put("/store?default", data=DOC, content_type=TTL, headers=auth(ADMIN)).status_code == 201
    assert len(ntriples(client, default="")) == 1
    r = client.get("/sparql", query_string={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"},
                   headers={"Accept": "application/sparql-results+json"})
    assert r.get_json()["results"]["bindings"][0]["n"]["value"] == "1"  # not the ontology's triples
    r = client.put("/store?default", data=DOC, content_type=TTL, headers=auth(register(client, "beta")))
    assert r.status_code == 403
    assert client.delete("/store?default", headers=auth(ADMIN)).status_code == 204
    assert ntriples(client, default="") == set()


def test_the_setting_is_one_of_two_values():
    with pytest.raises(ValueError, match="union, own"):
        Config.load(environ={}, default_graph="mixed")


def test_the_service_description_says_which_default_graph_the_node_has(own_client, client):
    union = client.get("/sparql", headers={"Accept": "application/n-triples"}).text
    own = own_client[0].get("/sparql", headers={"Accept": "application/n-triples"}).text
    feature = "<http://www.w3.org/ns/sparql-service-description#UnionDefaultGraph>"
    assert feature in union and feature not in own
    assert "--default-graph own" in own

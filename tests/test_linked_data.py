"""Linked-data publishing (issue 13): the catalog's datasets carry distributions with download URLs
and media types that work, the VoID description states what the node holds and whom it links to,
and the service description links it and names the node's limits."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from ecgraph import formats
from ecgraph.config import Config
from ecgraph.node import Node
from ecgraph.web import create_app
from tests.helpers import ADMIN, auth, make_twin

DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"
NODE = "https://w3id.org/ecgraph/node#"
PEER = "https://peer.example/sparql"


@pytest.fixture()
def linked(tmp_path):
    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True, peers=[PEER])
    n = Node(config, workers=False)
    app = create_app(n)
    app.testing = True
    client = app.test_client()
    for twin_id, schools in (("alpha", 1), ("beta", 0)):
        token = client.post("/api/twins", json={"id": twin_id, "title": twin_id}, headers=auth(ADMIN)).get_json()
        r = client.put(f"/api/twins/{twin_id}", data=make_twin(twin_id, schools=schools), content_type="text/turtle",
                       headers=auth(token["token"]))
        assert r.status_code == 201
    yield client, n
    n.close()


def graph(client, path: str) -> ox.Store:
    r = client.get(path, headers={"Accept": "application/n-triples"})
    assert r.status_code == 200, r.text
    store = ox.Store()
    store.load(r.data, format=ox.RdfFormat.N_TRIPLES)
    return store


RDFS_SEE_ALSO = "http://www.w3.org/2000/01/rdf-schema#seeAlso"


def objects(g: ox.Store, subject, predicate: str) -> list:
    return [q.object for q in g.quads_for_pattern(subject, ox.NamedNode(predicate), None)]


def test_every_twin_has_a_distribution_per_syntax_whose_download_works(linked):
    client, _ = linked
    catalog = graph(client, "/catalog")
    datasets = [q.object for q in catalog.quads_for_pattern(None, ox.NamedNode(DCAT + "dataset"), None)
                if q.object.value.startswith("https://w3id.org/ecgraph/twin/")]  # the bulk dump is one too
    assert len(datasets) == 2
    for dataset in datasets:
        distributions = objects(catalog, dataset, DCAT + "distribution")
        assert len(distributions) == len(formats.GRAPH)
        media_types = set()
        for distribution in distributions:
            url = objects(catalog, distribution, DCAT + "downloadURL")[0].value
            media = objects(catalog, distribution, DCAT + "mediaType")[0].value
            assert media.startswith("http://www.iana.org/assignments/media-types/")
            media_type = media.rsplit("/", 2)[-2] + "/" + media.rsplit("/", 1)[-1]
            media_types.add(media_type)
            r = client.get(url[len("http://localhost"):])
            assert r.status_code == 200 and r.mimetype == media_type, (url, r.mimetype)
            assert len(list(ox.parse(r.data, format=ox.RdfFormat.from_media_type(media_type)))) > 10
        assert media_types == {f.media_types[0] for f in formats.GRAPH}


def test_the_void_description_counts_what_the_endpoint_answers(linked):
    client, _ = linked
    void = graph(client, "/void")
    dataset = ox.NamedNode("http://localhost/void#dataset")
    r = client.get("/sparql", query_string={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"},
                   headers={"Accept": "application/sparql-results+json"})
    counted = int(r.get_json()["results"]["bindings"][0]["n"]["value"])
    assert int(objects(void, dataset, VOID + "triples")[0].value) == counted
    assert objects(void, dataset, VOID + "sparqlEndpoint") == [ox.NamedNode("http://localhost/sparql")]
    partitions = {objects(void, p, VOID + "class")[0].value: int(objects(void, p, VOID + "entities")[0].value)
                  for p in objects(void, dataset, VOID + "classPartition")}
    assert partitions["https://w3id.org/ecgraph/ns#EnergyCommunity"] == 2
    assert partitions["https://w3id.org/ecgraph/ns#School"] == 1
    assert int(objects(void, dataset, VOID + "classes")[0].value) == len(partitions)
    properties = objects(void, dataset, VOID + "propertyPartition")
    assert int(objects(void, dataset, VOID + "properties")[0].value) == len(properties) > 10
    subsets = objects(void, dataset, VOID + "subset")
    # each twin's graph is a dataset of the catalog the description links (not a subset here: its
    # size would grow with the network), with its triples
    assert not [s for s in subsets if s.value.startswith("https://w3id.org/ecgraph/twin/")]
    assert ox.NamedNode("http://localhost/catalog") in objects(void, dataset, RDFS_SEE_ALSO)
    catalog = graph(client, "/catalog")
    alpha = ox.NamedNode("https://w3id.org/ecgraph/twin/alpha")
    count = f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{alpha.value}> {{ ?s ?p ?o }} }}"
    r = client.get("/sparql", query_string={"query": count}, headers={"Accept": "application/sparql-results+json"})
    assert [int(o.value) for o in objects(catalog, alpha, VOID + "triples")] == \
        [int(r.get_json()["results"]["bindings"][0]["n"]["value"])]
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    linksets = [s for s in subsets if ox.NamedNode(VOID + "Linkset") in objects(void, s, rdf_type)]
    assert len(linksets) == 1
    target = objects(void, linksets[0], VOID + "objectsTarget")[0]
    assert objects(void, target, "http://xmlns.com/foaf/0.1/homepage") == [ox.NamedNode(PEER)]


def test_the_void_description_follows_the_store(linked):
    client, _ = linked
    before = graph(client, "/void")
    dataset = ox.NamedNode("http://localhost/void#dataset")
    assert client.delete("/api/twins/beta/data", headers=auth(ADMIN)).status_code == 204
    after = graph(client, "/void")
    triples = [int(objects(g, dataset, VOID + "triples")[0].value) for g in (before, after)]
    assert triples[1] < triples[0]


def test_the_service_description_links_the_void_and_names_the_limits(linked):
    client, n = linked
    sd = graph(client, "/sparql")
    endpoint = ox.NamedNode("http://localhost/sparql")
    see_also = objects(sd, endpoint, "http://www.w3.org/2000/01/rdf-schema#seeAlso")
    assert ox.NamedNode("http://localhost/void") in see_also
    assert float(objects(sd, endpoint, NODE + "queryTimeout")[0].value) == n.config.query_timeout
    assert int(objects(sd, endpoint, NODE + "maxResultRows")[0].value) == n.config.max_result_rows
    assert int(objects(sd, endpoint, NODE + "maxQueryBytes")[0].value) == n.config.max_query_bytes
    assert int(objects(sd, endpoint, NODE + "maxUploadBytes")[0].value) == n.config.max_upload_bytes
    # each term it uses is declared where it is used
    assert objects(sd, ox.NamedNode(NODE + "queryTimeout"), "http://www.w3.org/2000/01/rdf-schema#comment")


def test_void_counts_behind_the_requests_and_says_when_they_are_older_than_the_store(linked, monkeypatch):
    """At 10,000 communities the two counts over every quad took 17 s, past a query's time limit,
    and /void answered 503 every time. They run behind the requests now, in a worker under a long
    limit: a reader who would wait longer than STATISTICS_WAIT gets the last counts made (dated,
    and said to be older than the store), or 503 with Retry-After when none were ever made; the
    counts of the new store follow."""
    import threading
    import time

    client, node = linked
    dataset = ox.NamedNode("http://localhost/void#dataset")
    gate = threading.Event()
    real = node.query

    def held(request, timeout=None, **kwargs):  # a count that takes as long as the test says
        gate.wait(30)
        return real(request, timeout, **kwargs)

    monkeypatch.setattr(node, "STATISTICS_WAIT", 0.2)
    monkeypatch.setattr(node, "query", held)
    first = client.get("/void", headers={"Accept": "application/n-triples"})
    assert first.status_code == 503 and first.headers["Retry-After"] == "30"
    assert "being counted" in first.get_json()["detail"]

    def settled() -> None:
        deadline = time.monotonic() + 30
        while node._statistics_running is not None and time.monotonic() < deadline:
            time.sleep(0.05)

    gate.set()
    settled()
    counted = graph(client, "/void")
    before = int(objects(counted, dataset, VOID + "triples")[0].value)
    modified = objects(counted, ox.NamedNode("http://localhost/void"), "http://purl.org/dc/terms/modified")
    assert len(modified) == 1 and modified[0].datatype.value.endswith("#dateTime")
    gate.clear()
    assert client.delete("/api/twins/beta/data", headers=auth(ADMIN)).status_code == 204
    older = client.get("/void", headers={"Accept": "application/n-triples"})
    assert older.status_code == 200 and "before the last change" in older.headers["X-ECGraph-Statistics"]
    assert f"{before}" in older.text  # the last counts, as they were
    gate.set()
    settled()
    current = client.get("/void", headers={"Accept": "application/n-triples"})
    assert "X-ECGraph-Statistics" not in current.headers
    store = ox.Store()
    store.load(current.data, format=ox.RdfFormat.N_TRIPLES)
    assert int(objects(store, dataset, VOID + "triples")[0].value) < before

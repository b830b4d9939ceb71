"""The HTTP contract (CONTRACT.md) through Flask's test client, over a real on-disk store.

Every refused write is checked twice: the answer (status, message) and the stored state (a
fingerprint of every quad, unchanged).
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest

from tests.helpers import ADMIN, auth, fingerprint, make_twin

SCHOOLS = ("PREFIX ec: <https://w3id.org/ecgraph/ns#> "
           "SELECT DISTINCT ?c WHERE { ?c ec:hasMember/a ec:School }")
TTL = "text/turtle"


def register(client, twin_id="alpha", title="Alpha"):
    r = client.post("/api/twins", json={"id": twin_id, "title": title}, headers=auth(ADMIN))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["token"]


def publish(client, token, twin_id="alpha", body=None, **kw):
    return client.put(f"/api/twins/{twin_id}", data=body if body is not None else make_twin(twin_id, **kw),
                      content_type=TTL, headers=auth(token))


@pytest.fixture()
def published(client):
    token = register(client)
    assert publish(client, token, schools=1).status_code == 201
    return token


# --- registration and publishing ------------------------------------------------------------------

def test_register_needs_the_admin_token(client, node):
    before = fingerprint(node.store)
    assert client.post("/api/twins", json={"id": "x"}).status_code == 401
    assert client.post("/api/twins", json={"id": "x"}, headers=auth("wrong")).status_code == 403
    assert node.registry.twin("x") is None
    assert fingerprint(node.store) == before


def test_register_answers_id_graph_and_token_once(client, node):
    r = client.post("/api/twins", json={"id": "alpha", "title": "Alpha"}, headers=auth(ADMIN))
    body = r.get_json()
    assert r.status_code == 201
    assert body["id"] == "alpha"
    assert body["graph"] == "https://w3id.org/ecgraph/twin/alpha"
    assert body["token"].startswith("ecg_")
    # Only a hash is kept.
    raw = (node.data_dir / "registry.sqlite3").read_bytes()
    assert body["token"].encode() not in raw
    assert client.post("/api/twins", json={"id": "alpha"}, headers=auth(ADMIN)).status_code == 409
    for bad in ("Alpha", "../x", "a b", "-x", "x" * 64, "é"):
        assert client.post("/api/twins", json={"id": bad}, headers=auth(ADMIN)).status_code == 400


def test_publish_then_replace(client, node):
    token = register(client)
    first = publish(client, token, schools=1)
    assert first.status_code == 201
    assert first.get_json()["report"]["conforms"] is True
    second = publish(client, token, tag="B", members=5)
    assert second.status_code == 200
    meta = client.get("/api/twins/alpha").get_json()
    assert meta["version"] == 2
    assert meta["triples"] == len(list(ox.parse(make_twin("alpha", tag="B", members=5), format=ox.RdfFormat.TURTLE)))
    assert meta["conformance"] == "warnings" and meta["warnings"] > 0
    assert meta["content_hash"].startswith("sha256:")


def test_publish_reports_warnings_and_keeps_the_report(client, published):
    report = client.get("/api/twins/alpha/report").get_json()
    assert report["conforms"] is True
    assert report["summary"]["counts"]["Warning"] > 0
    assert all(r["message"] and r["shape"] for r in report["results"])


def test_bad_upload_is_400_with_line_and_changes_nothing(client, node, published):
    before = fingerprint(node.store)
    r = client.put("/api/twins/alpha", data=b"@prefix ec: <https://w3id.org/ecgraph/ns#> .\n<a> ec:b \"open .\n",
                   content_type=TTL, headers=auth(published))
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == "parse error" and body["line"] == 2 and "column" in body
    assert fingerprint(node.store) == before
    assert client.get("/api/twins/alpha").get_json()["version"] == 1


def test_non_conformant_upload_is_422_with_the_report_and_changes_nothing(client, node, published):
    before = fingerprint(node.store)
    body = make_twin("alpha").replace(b"ec:legalForm ec:legalform-cooperative ;", b"")
    r = client.put("/api/twins/alpha", data=body, content_type=TTL, headers=auth(published))
    assert r.status_code == 422
    report = r.get_json()["report"]
    assert report["conforms"] is False
    assert any("legalForm" in res["message"] and res["severity"] == "Violation" for res in report["results"])
    assert fingerprint(node.store) == before


def test_unsupported_and_oversized_uploads(client, node, published, config):
    before = fingerprint(node.store)
    assert client.put("/api/twins/alpha", data=b"x", content_type="image/png",
                      headers=auth(published)).status_code == 415
    node.config.max_upload_bytes = 100
    r = client.put("/api/twins/alpha", data=make_twin("alpha"), content_type=TTL, headers=auth(published))
    assert r.status_code == 413
    assert fingerprint(node.store) == before


def test_writes_with_another_twins_token_are_refused(client, node, published):
    other = register(client, "beta")
    before = fingerprint(node.store)
    r = publish(client, other, "alpha", tag="evil")
    assert r.status_code == 403
    assert client.delete("/api/twins/alpha", headers=auth(other)).status_code == 403
    assert client.put("/store?graph=https://w3id.org/ecgraph/twin/alpha", data=make_twin("alpha", tag="evil"),
                      content_type=TTL, headers=auth(other)).status_code == 403
    assert client.put("/api/twins/alpha", data=make_twin("alpha"), content_type=TTL).status_code == 401
    assert fingerprint(node.store) == before


def test_revoked_and_rotated_tokens(client, node, published):
    new = client.post("/api/twins/alpha/token", headers=auth(published)).get_json()["token"]
    before = fingerprint(node.store)
    assert publish(client, published, tag="old-token").status_code == 403
    assert fingerprint(node.store) == before
    assert publish(client, new, tag="C").status_code == 200
    assert client.delete("/api/twins/alpha/token", headers=auth(ADMIN)).status_code == 204
    before = fingerprint(node.store)
    assert publish(client, new, tag="D").status_code == 403
    assert fingerprint(node.store) == before


def test_versions_are_kept_and_retrievable(client, published):
    token = published
    for tag in "BCDEFG":
        assert publish(client, token, tag=tag).status_code == 200
    versions = client.get("/api/twins/alpha/versions").get_json()["versions"]
    assert [v["version"] for v in versions] == [7, 6, 5, 4, 3, 2, 1]
    assert versions[0]["current"] and not versions[1]["current"]
    old = client.get("/api/twins/alpha/versions/2", headers={"Accept": "application/n-triples"})
    assert old.status_code == 200 and b'"B"' in old.data and b'"G"' not in old.data
    assert b'"G"' in client.get("/api/twins/alpha/versions/7").data
    assert client.get("/api/twins/alpha/versions/99").status_code == 404


def test_a_publisher_unpublishes_its_data_but_cannot_delete_the_registration(client, node, published):
    before = fingerprint(node.store)
    refused = client.delete("/api/twins/alpha", headers=auth(published))
    assert refused.status_code == 403 and "admin" in refused.get_json()["detail"]
    assert fingerprint(node.store) == before and node.registry.twin("alpha") is not None
    assert client.delete("/api/twins/alpha/data", headers=auth(published)).status_code == 204
    assert not node.store.has_graph("https://w3id.org/ecgraph/twin/alpha")
    info = client.get("/api/twins/alpha").get_json()
    assert info["registered"] is True and not info["published"]
    assert node.registry.version_data("alpha", 1) is not None  # unpublished data stays in the archive


def test_the_admin_deletes_a_twin_with_its_history_and_a_new_owner_starts_afresh(client, node, published):
    assert publish(client, published, tag="B").status_code == 200
    assert client.delete("/api/twins/alpha", headers=auth(ADMIN)).status_code == 204
    assert client.get("/api/twins/alpha").status_code == 404
    assert not node.store.has_graph("https://w3id.org/ecgraph/twin/alpha")
    assert node.registry.version_data("alpha", 1) is None
    # Someone else registers the same id: no version, report or namespace of the previous owner.
    token = client.post("/api/twins", json={"id": "alpha", "title": "Alpha again"},
                        headers=auth(ADMIN)).get_json()["token"]
    assert client.get("/api/twins/alpha/versions").get_json()["versions"] == []
    assert client.get("/api/twins/alpha/versions/1").status_code == 404
    assert client.get("/api/twins/alpha/report").status_code == 404
    assert client.get("/api/twins/alpha").get_json()["namespaces"] == []
    assert publish(client, token, tag="Z").status_code == 201
    assert [v["version"] for v in client.get("/api/twins/alpha/versions").get_json()["versions"]] == [1]


# --- the SPARQL protocol --------------------------------------------------------------------------

def test_sparql_get_post_form_and_direct_post(client, published):
    expected = {"https://alpha.example/id/community"}
    r1 = client.get("/sparql", query_string={"query": SCHOOLS})
    r2 = client.post("/sparql", data={"query": SCHOOLS})
    r3 = client.post("/sparql", data=SCHOOLS, content_type="application/sparql-query")
    for r in (r1, r2, r3):
        assert r.status_code == 200
        assert r.mimetype == "application/sparql-results+json"
        assert {b["c"]["value"] for b in r.get_json()["results"]["bindings"]} == expected



def test_sparql_head_answers_like_get_without_a_body(client, published):
    """HEAD is how a monitor or a cache checks an endpoint: same status and headers as GET."""
    get = client.get("/sparql", query_string={"query": SCHOOLS})
    head = client.head("/sparql", query_string={"query": SCHOOLS})
    assert head.status_code == 200 and head.data == b""
    assert head.mimetype == get.mimetype == "application/sparql-results+json"
    assert head.headers["X-ECGraph-Rows"] == get.headers["X-ECGraph-Rows"] == "1"
    assert client.head("/sparql", query_string={"query": "SELECT * WHERE {"}).status_code == 400

@pytest.mark.parametrize("accept,mimetype", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
    ("*/*", "application/sparql-results+json"),
])
def test_select_content_negotiation(client, published, accept, mimetype):
    r = client.get("/sparql", query_string={"query": SCHOOLS}, headers={"Accept": accept})
    assert r.status_code == 200 and r.mimetype == mimetype
    if mimetype == "text/csv":
        assert list(csv.reader(io.StringIO(r.data.decode())))[1] == ["https://alpha.example/id/community"]
    if mimetype.endswith("xml"):
        ET.fromstring(r.data)


@pytest.mark.parametrize("accept,fmt", [
    ("text/turtle", ox.RdfFormat.TURTLE),
    ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("application/ld+json", ox.RdfFormat.JSON_LD),
    ("application/rdf+xml", ox.RdfFormat.RDF_XML),
])
def test_construct_content_negotiation(client, published, accept, fmt):
    q = "CONSTRUCT WHERE { ?c a <https://w3id.org/ecgraph/ns#EnergyCommunity> }"
    r = client.get("/sparql", query_string={"query": q}, headers={"Accept": accept})
    assert r.status_code == 200
    assert r.mimetype == fmt.media_type
    triples = list(ox.parse(r.data, format=fmt))
    assert ox.NamedNode("https://alpha.example/id/community") in {t.subject for t in triples}


def test_describe_and_ask(client, published):
    r = client.get("/sparql", query_string={"query": "DESCRIBE <https://alpha.example/id/community>"})
    assert r.status_code == 200 and r.mimetype == "text/turtle"
    r = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"},
                   headers={"Accept": "application/sparql-results+xml"})
    assert b"<boolean>true</boolean>" in r.data


def test_not_acceptable_is_406(client, published):
    assert client.get("/sparql", query_string={"query": SCHOOLS}, headers={"Accept": "image/png"}).status_code == 406


def test_syntax_error_is_400_with_the_message(client):
    r = client.get("/sparql", query_string={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert r.status_code == 400
    assert r.get_json()["error"] == "query syntax error" and r.get_json()["detail"]


def test_updates_are_refused_on_sparql(client, node, published):
    before = fingerprint(node.store)
    r = client.post("/sparql", data="DROP ALL", content_type="application/sparql-query")
    assert r.status_code == 400 and "/update" in r.get_json()["detail"]
    assert client.post("/sparql", data={"update": "DROP ALL"}).status_code == 400
    assert client.post("/sparql", data="DROP ALL", content_type="application/sparql-update").status_code == 400
    assert fingerprint(node.store) == before


def test_update_is_admin_only(client, node, published):
    before = fingerprint(node.store)
    update = 'INSERT DATA { GRAPH <http://example.org/extra> { <http://example.org/a> <http://example.org/b> "c" } }'
    assert client.post("/update", data=update, content_type="application/sparql-update").status_code == 401
    assert client.post("/update", data=update, content_type="application/sparql-update",
                       headers=auth(published)).status_code == 403
    assert fingerprint(node.store) == before
    assert client.post("/update", data=update, content_type="application/sparql-update",
                       headers=auth(ADMIN)).status_code == 204
    assert node.store.has_graph("http://example.org/extra")


def test_load_and_service_to_non_peers_are_refused(client, node):
    before = fingerprint(node.store)
    r = client.post("/update", data="LOAD <http://127.0.0.1:9/x.ttl>", content_type="application/sparql-update",
                    headers=auth(ADMIN))
    assert r.status_code == 403
    r = client.get("/sparql", query_string={"query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert r.status_code == 403 and "peers" in r.get_json()["detail"]
    assert fingerprint(node.store) == before


def test_dataset_parameters(client, published):
    register(client, "beta")
    graph = "https://w3id.org/ecgraph/twin/alpha"
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    total = int(client.get("/sparql", query_string={"query": q}).get_json()["results"]["bindings"][0]["n"]["value"])
    only = client.get("/sparql", query_string={"query": q, "default-graph-uri": graph}).get_json()
    n = int(only["results"]["bindings"][0]["n"]["value"])
    assert 0 < n < total
    named = client.get("/sparql", query_string={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                                 "named-graph-uri": graph}).get_json()
    assert [b["g"]["value"] for b in named["results"]["bindings"]] == [graph]
    assert client.get("/sparql", query_string={"query": q, "default-graph-uri": "not an iri"}).status_code == 400


def test_row_limit_is_announced(client, published, node):
    node.config.max_result_rows = 3
    r = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert len(r.get_json()["results"]["bindings"]) == 3
    assert r.headers["X-ECGraph-Truncated"].startswith("true")


def test_service_description_and_cors(client, published):
    r = client.get("/sparql")
    assert r.status_code == 200 and r.mimetype == "text/turtle"
    sd = list(ox.parse(r.data, format=ox.RdfFormat.TURTLE))
    graph = {t.object for t in sd}
    # the node's own graphs; the twins' are in the catalog it links, whatever their number
    assert ox.NamedNode("https://w3id.org/ecgraph/graph/catalog") in graph
    assert ox.NamedNode("http://localhost/catalog") in graph
    assert ox.NamedNode("https://w3id.org/ecgraph/twin/alpha") not in graph
    catalog = client.get("/catalog", headers={"Accept": "application/n-triples"}).get_data(as_text=True)
    assert "<https://w3id.org/ecgraph/twin/alpha>" in catalog
    assert "<https://w3id.org/ecgraph/twin/alpha/inferred>" in catalog
    node = client.application.extensions["ecgraph.node"]
    for n in range(40):  # its size does not grow with the network
        node.register(f"many-{n}")
        node.publish(f"many-{n}", node.upload_for(f"many-{n}", make_twin(f"many-{n}"), filename="t.ttl"))
    assert len(client.get("/sparql").data) == len(r.data)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    pre = client.options("/sparql", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert pre.headers["Access-Control-Allow-Origin"] == "*" and pre.headers["Access-Control-Max-Age"]
    assert "Access-Control-Allow-Methods" not in r.headers  # read from the preflight only


def test_inference_finds_schools_whatever_their_legal_status(client, published):
    """The membership becomes ec:hasMember, so "which communities involve a school" is one step;
    since 1.1 a school is not inferred to be a public body (independent schools are not)."""
    def rows(q):
        q = "PREFIX ec: <https://w3id.org/ecgraph/ns#> " + q
        return [r for r in client.get("/sparql", query_string={"query": q}).get_json()["results"]["bindings"]]

    found = rows("SELECT ?c ?m WHERE { ?c ec:hasMember ?m . ?m a ec:School }")
    assert [(r["c"]["value"], r["m"]["value"]) for r in found] == [
        ("https://alpha.example/id/community", "https://alpha.example/id/member/0")]
    assert rows("SELECT ?m WHERE { ?m a ec:PublicBody }") == []


# --- graph store protocol -------------------------------------------------------------------------

G = "https://w3id.org/ecgraph/twin/alpha"


def test_gsp_get_graph_default_and_dataset(client, published):
    r = client.get("/store", query_string={"graph": G}, headers={"Accept": "application/n-triples"})
    assert r.status_code == 200
    sent = list(ox.parse(make_twin("alpha", schools=1), format=ox.RdfFormat.TURTLE))
    assert len(list(ox.parse(r.data, format=ox.RdfFormat.N_TRIPLES))) == len(sent)
    assert client.head("/store", query_string={"graph": G}).status_code == 200
    assert client.get("/store", query_string={"default": ""}).status_code == 200
    r = client.get("/store", headers={"Accept": "application/n-quads"})
    assert r.status_code == 200
    assert any(q.graph_name == ox.NamedNode(G) for q in ox.parse(r.data, format=ox.RdfFormat.N_QUADS))
    assert client.get("/store", query_string={"graph": "https://w3id.org/ecgraph/twin/nope"}).status_code == 404


def test_gsp_put_post_delete(client, node, published):
    r = client.put("/store", query_string={"graph": G}, data=make_twin("alpha", tag="P"), content_type=TTL,
                   headers=auth(published))
    assert r.status_code == 200
    extra = b'<https://alpha.example/id/community> <http://example.org/test#note> "merged" .'
    r = client.post("/store", query_string={"graph": G}, data=extra, content_type="application/n-triples",
                    headers=auth(published))
    assert r.status_code == 200
    data = client.get("/store", query_string={"graph": G}, headers={"Accept": "application/n-triples"}).data
    assert b'"merged"' in data and b'"P"' in data
    assert client.delete("/store", query_string={"graph": G}, headers=auth(published)).status_code == 204
    assert client.get("/store", query_string={"graph": G}).status_code == 404


def test_gsp_refuses_node_graphs_and_the_default_graph(client, node, published):
    before = fingerprint(node.store)
    for graph in ("https://w3id.org/ecgraph/graph/catalog", "https://w3id.org/ecgraph/graph/ontology",
                  G + "/inferred"):
        r = client.put("/store", query_string={"graph": graph}, data=make_twin(), content_type=TTL,
                       headers=auth(ADMIN))
        assert r.status_code == 403, graph
    r = client.put("/store", query_string={"default": ""}, data=make_twin(), content_type=TTL, headers=auth(ADMIN))
    assert r.status_code == 405
    assert fingerprint(node.store) == before


# --- catalog, health, metrics ---------------------------------------------------------------------

def test_catalog_is_dcat_with_provenance(client, published):
    r = client.get("/catalog", headers={"Accept": "text/turtle"})
    triples = list(ox.parse(r.data, format=ox.RdfFormat.TURTLE))
    preds = {t.predicate.value for t in triples if t.subject == ox.NamedNode(G)}
    for p in ("http://purl.org/dc/terms/conformsTo", "http://rdfs.org/ns/void#triples",
              "http://www.w3.org/ns/prov#wasGeneratedBy", "http://spdx.org/rdf/terms#checksum",
              "https://w3id.org/ecgraph/ns#conformanceStatus", "https://w3id.org/ecgraph/ns#warningCount"):
        assert p in preds
    assert client.get("/catalog", headers={"Accept": "application/ld+json"}).mimetype == "application/ld+json"


def test_health_and_metrics(client, published, node):
    assert client.get("/health").get_json()["stats"]["twins"] == 1
    node.register("registered-only")  # registered, nothing published: counted as registered only
    stats = client.get("/health").get_json()["stats"]
    assert (stats["twins"], stats["registered"]) == (1, 2) == (len(node.entries()), len(node.registry.twins()))
    node.registry.unregister("registered-only")
    assert client.get("/health").get_json()["stats"]["registered"] == 1
    client.get("/sparql", query_string={"query": SCHOOLS})
    text = client.get("/metrics").data.decode()
    assert "ecgraph_twins 1.0" in text
    assert 'ecgraph_http_requests_total{endpoint="/sparql",method="GET",status="200"}' in text
    assert "ecgraph_http_request_duration_seconds_bucket" in text
    assert "ecgraph_query_timeouts_total" in text


def test_errors_are_json_with_error_and_detail(client):
    r = client.get("/api/twins/does-not-exist")
    assert r.status_code == 404 and set(r.get_json()) >= {"error", "detail"}
    r = client.delete("/sparql")
    assert r.status_code == 405 and r.get_json()["error"]


def test_home_page_lists_twins_by_the_title_the_admin_registered(client, published):
    r = client.get("/")
    assert r.status_code == 200 and b">Alpha<" in r.data
    # The twin calls itself "Test twin alpha": a twin cannot rename itself in the catalog.
    assert b"Test twin alpha" not in r.data


def test_the_home_page_lists_the_most_recently_updated_twins_not_every_one(client, node):
    """At 10,000 twins the home page listed every one (3.5 MB, 10,000 badge images for a browser
    to fetch). It lists the newest HOME_TWINS, published ones first, says how many there are and
    where the rest are."""
    from ecgraph.web.pages import HOME_TWINS

    ids = [f"twin-{i:02d}" for i in range(HOME_TWINS + 5)]
    for twin_id in ids[:-1]:
        node.register(twin_id, twin_id.title())
        node.publish(twin_id, node.upload_for(twin_id, make_twin(twin_id), media_type="text/turtle"))
    node.register(ids[-1], "Not yet")  # registered, never published
    page = client.get("/").get_data(as_text=True)
    listed = re.findall(r'<a href="/api/twins/([a-z0-9-]+)">', page)
    assert listed == ids[-2:-HOME_TWINS - 2:-1]  # newest first; the oldest and the unpublished left out
    assert f"{HOME_TWINS} / {len(ids)}" in page
    for link in ('href="/communities"', 'href="/whats-new"', 'href="/catalog"', 'href="/api/twins"'):
        assert link in page


def test_the_home_page_of_a_small_node_lists_published_twins_then_those_not_published_yet(client, node):
    node.register("zeta", "Zeta")  # registered first, never published
    node.register("alpha", "Alpha")
    node.publish("alpha", node.upload_for("alpha", make_twin("alpha"), media_type="text/turtle"))
    page = client.get("/").get_data(as_text=True)
    assert re.findall(r'<a href="/api/twins/([a-z0-9-]+)">', page) == ["alpha", "zeta"]
    assert "registered, not published yet" in page and 'id="twins-shown"' in page and " / 2" not in page


def test_catalog_vocabulary_is_declared_by_the_standard(client, published):
    from ecgraph import standard

    declared = set()
    for path in (standard.ontology_file(), standard.vocabularies_file()):
        declared |= {q.subject for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)}
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    catalog = list(ox.parse(client.get("/catalog").data, format=ox.RdfFormat.TURTLE))
    for t in catalog:
        assert t.predicate == rdf_type or t.predicate in declared, t.predicate
        if t.predicate == rdf_type:
            assert t.object in declared, t.object
    assert ox.NamedNode("https://w3id.org/ecgraph/ns#conformance-warnings") in {t.object for t in catalog}
    assert ox.NamedNode("https://w3id.org/ecgraph/ns#conformance-warnings") in declared


def test_a_newer_standard_revalidates_stored_twins(config, monkeypatch):
    """When the shapes change under a stored twin (a new profile version), the node checks every
    twin again at start: one that now breaks a rule stays served, flagged "fails"."""
    import shutil

    from ecgraph import standard
    from ecgraph.node import Node
    from ecgraph.validation import validate as validate_module
    from ecgraph.web import create_app

    first = Node(config, workers=False)
    first.register("alpha")
    first.publish("alpha", first.upload_for("alpha", make_twin("alpha"), media_type=TTL))
    assert first.twin_info("alpha")["conformance"] == "warnings"
    first.close()

    # A copy of the standard whose core profile now requires a founding date (the profile of the
    # release the twin claims: make_twin claims 1.0.0).
    root = config.data.parent / "standard"
    for name in ("ontology", "shapes", "data", "docs"):
        shutil.copytree(getattr(standard, f"{name}_dir")(), root / name)
    core = root / "shapes" / "1.0.0" / "core.ttl"
    core.write_text(core.read_text() + """
ecsh:CommunityShape sh:property ecsh:CommunityShape-foundingDateRequired .
ecsh:CommunityShape-foundingDateRequired a sh:PropertyShape ; rdfs:label "founding date required"@en ;
    sh:path schema:foundingDate ; sh:minCount 1 ;
    sh:message "An ec:EnergyCommunity must state schema:foundingDate."@en .
""")
    monkeypatch.setattr(standard, "_standard_dir", lambda name: root / name)
    validate_module.default_profiles.cache_clear()
    try:
        again = Node(config, workers=False)
        try:
            info = again.twin_info("alpha")
            assert info["conformance"] == "fails" and info["violations"] == 1
            client = create_app(again).test_client()
            assert b"fails" in client.get("/api/twins/alpha/badge.svg").data
            report = client.get("/api/twins/alpha/report").get_json()
            assert any("foundingDate" in r["message"] for r in report["results"] if r["severity"] == "Violation")
            assert client.get("/sparql", query_string={"query": "ASK { <https://alpha.example/id/community> ?p ?o }"}
                              ).get_json()["boolean"] is True
        finally:
            again.close()
    finally:
        validate_module.default_profiles.cache_clear()


def test_an_unavailable_answer_says_when_to_try_again(client):
    from ecgraph import errors
    from ecgraph.web import error_response
    from ecgraph.workers import PoolBusy

    with client.application.app_context():
        busy = error_response(PoolBusy("all workers are busy"))
        plain = error_response(errors.BadRequest("no"))
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert busy.get_json() == {"error": "busy", "detail": "all workers are busy"}
    assert "Retry-After" not in plain.headers

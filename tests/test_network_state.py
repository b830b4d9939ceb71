"""The network's state on one node, in-process over a real store: the change stream that every write
appends to, the peers table that persists and drives the SERVICE allowlist, join requests and their
rate limit, conditional reads of a twin's data, and the ``ecgraph peers`` commands."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ecgraph import errors
from ecgraph.cli import main
from ecgraph.node import Node
from ecgraph.query.federate import QueryRefused
from tests.helpers import ADMIN, auth, make_twin

TTL = {"Content-Type": "text/turtle"}


def kinds(client, since: int = 0) -> list[tuple[str, str, int]]:
    page = client.get(f"/api/changes?since={since}").get_json()
    return [(c["twin"], c["kind"], c["version"]) for c in page["changes"]]


def test_every_publish_replace_unpublish_and_delete_appends_a_change(client):
    assert client.post("/api/twins", json={"id": "t"}, headers=auth(ADMIN)).status_code == 201
    client.put("/api/twins/t", data=make_twin("t"), headers={**auth(ADMIN), **TTL})
    client.put("/api/twins/t", data=make_twin("t", tag="B"), headers={**auth(ADMIN), **TTL})
    client.delete("/api/twins/t/data", headers=auth(ADMIN))
    client.put("/api/twins/t", data=make_twin("t", tag="C"), headers={**auth(ADMIN), **TTL})
    client.delete("/api/twins/t", headers=auth(ADMIN))
    assert kinds(client) == [("t", "published", 1), ("t", "replaced", 2), ("t", "deleted", 2),
                             ("t", "published", 3), ("t", "deleted", 3)]
    page = client.get("/api/changes?since=0").get_json()
    assert [c["seq"] for c in page["changes"]] == [1, 2, 3, 4, 5] and page["last"] == 5
    assert all(c["hash"].startswith("sha256:") and c["time"] for c in page["changes"])
    assert kinds(client, since=4) == [("t", "deleted", 3)]


def test_a_refused_upload_appends_no_change(client):
    client.post("/api/twins", json={"id": "t"}, headers=auth(ADMIN))
    bad = make_twin("t").replace(b'dcterms:title "Test twin t"@en ;', b"")
    assert client.put("/api/twins/t", data=bad, headers={**auth(ADMIN), **TTL}).status_code == 422
    assert kinds(client) == []


def test_the_change_stream_refuses_a_bad_since_with_a_clear_error(client):
    response = client.get("/api/changes?since=yesterday")
    assert response.status_code == 400 and "since" in response.get_json()["detail"]


def test_a_twin_data_read_with_its_etag_answers_304(client):
    client.post("/api/twins", json={"id": "t"}, headers=auth(ADMIN))
    tag = client.put("/api/twins/t", data=make_twin("t"), headers={**auth(ADMIN), **TTL}).headers["ETag"]
    unchanged = client.get("/api/twins/t/data", headers={"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == tag and not unchanged.data
    assert client.get("/api/twins/t/data", headers={"If-None-Match": '"0-stale"'}).status_code == 200


def test_peers_persist_across_restarts_and_the_service_allowlist_follows_them(config, canary):
    service = f"SELECT * {{ SERVICE <{canary.url}/sparql> {{ ?s ?p ?o }} }}"
    first = Node(config, workers=False)
    try:
        with pytest.raises(QueryRefused):
            first.inspect(service)
        peer, created = first.add_peer(canary.url + "/sparql")
        assert created and peer["url"] == canary.url + "/sparql"
        first.inspect(service)  # allowed at once
    finally:
        first.close()
    again = Node(config, workers=False)
    try:
        assert [p["url"] for p in again.peers_status()] == [canary.url + "/sparql"]
        again.inspect(service)
        again.remove_peer(peer["id"])
        with pytest.raises(QueryRefused):
            again.inspect(service)
    finally:
        again.close()


def test_only_the_admin_adds_or_removes_peers_and_nothing_changes_otherwise(client):
    refused = client.post("/api/peers", json={"url": "https://peer.example"})
    assert refused.status_code == 401
    assert client.post("/api/peers", json={"url": "https://peer.example"},
                       headers=auth("ecg_not-the-admin-token")).status_code == 403
    assert client.get("/api/peers").get_json()["peers"] == []
    bad = client.post("/api/peers", json={"url": "ftp://peer.example"}, headers=auth(ADMIN))
    assert bad.status_code == 400 and "http" in bad.get_json()["detail"]
    assert client.get("/api/peers").get_json()["peers"] == []


def test_join_requests_wait_for_the_admin_and_are_rate_limited(client):
    for i in range(5):
        assert client.post("/api/peers/requests", json={"url": f"https://n{i}.example"}).status_code == 202
    too_many = client.post("/api/peers/requests", json={"url": "https://n9.example"})
    assert too_many.status_code == 429 and too_many.headers.get("Retry-After")
    pending = client.get("/api/peers/requests", headers=auth(ADMIN)).get_json()["requests"]
    assert [p["url"] for p in pending] == [f"https://n{i}.example" for i in range(5)]
    assert client.get("/api/peers").get_json()["peers"] == []  # nothing approved, nothing reached
    assert client.post(f"/api/peers/requests/{pending[0]['id']}", json={"decision": "refuse"},
                       headers=auth(ADMIN)).status_code == 204
    assert len(client.get("/api/peers/requests", headers=auth(ADMIN)).get_json()["requests"]) == 4


def test_an_unknown_scope_is_refused_with_the_choices(client):
    response = client.get("/sparql", query_string={"query": "ASK {}", "scope": "planet"})
    assert response.status_code == 400 and "network" in response.get_json()["detail"]


def test_a_network_query_without_peers_is_the_local_answer(client):
    client.post("/api/twins", json={"id": "t"}, headers=auth(ADMIN))
    client.put("/api/twins/t", data=make_twin("t"), headers={**auth(ADMIN), **TTL})
    query = {"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"}
    local = client.get("/sparql", query_string=query, headers={"Accept": "application/sparql-results+json"})
    network = client.get("/sparql", query_string={**query, "scope": "network"},
                         headers={"Accept": "application/sparql-results+json"})
    assert network.get_json() == local.get_json()
    assert "ECGraph-Partial" not in network.headers and network.headers["ECGraph-Freshness"] == "local"


def test_the_peers_commands_add_list_and_remove(tmp_path, canary):
    data = ["--data", str(tmp_path / "d")]
    runner = CliRunner()
    added = runner.invoke(main, ["peers", "add", canary.url, *data, "--peer-timeout", "2"])
    assert added.exit_code == 0, added.output
    assert canary.url in added.output and "unreachable" in added.output  # a canary is neither kind
    listed = runner.invoke(main, ["peers", "list", "--json", *data])
    assert canary.url in listed.output
    removed = runner.invoke(main, ["peers", "remove", "1", *data])
    assert removed.exit_code == 0, removed.output
    assert runner.invoke(main, ["peers", "list", "--json", *data]).output.strip() == "[]"
    missing = runner.invoke(main, ["peers", "remove", "7", *data])
    assert missing.exit_code != 0 and "no peer 7" in missing.output


def test_removing_an_unknown_peer_is_a_404(node):
    with pytest.raises(errors.NotFound):
        node.remove_peer(42)


def test_the_contract_lists_the_network_paths_headers_and_settings(config):
    """docs/contract.md is what clients and other nodes rely on: every network path the node serves,
    the two headers of network answers and every network setting (option and variable) are in it."""
    from pathlib import Path

    from ecgraph.web import create_app
    from ecgraph.web.network import FRESHNESS_HEADER, PARTIAL_HEADER

    contract = (Path(__file__).parent.parent / "docs" / "contract.md").read_text()
    node = Node(config, workers=False)
    try:
        served = {rule.rule for rule in create_app(node).url_map.iter_rules()}
    finally:
        node.close()
    for path in ("/sparql/network", "/api/twins/<twin_id>/refresh", "/api/changes", "/api/peers/harvest"):
        assert path in served, path
        assert f"`{path.replace('<twin_id>', '<id>')}" in contract, path
    assert f"`{PARTIAL_HEADER}`" in contract and f"`{FRESHNESS_HEADER}`" in contract
    for setting in ("peer_timeout", "harvest_timeout", "refresh_interval", "harvest_interval"):
        option, variable = "--" + setting.replace("_", "-"), "ECGRAPH_" + setting.upper()
        assert f"`{option} SECONDS`" in contract and f"`{variable}`" in contract, setting


def test_a_twins_namespace_claims_are_in_its_catalog_entry_and_a_store_written_without_them_gets_them(config):
    import pyoxigraph as ox

    from ecgraph import standard
    from ecgraph.query.pool import QueryRequest

    claims = ("SELECT ?ns { GRAPH <https://w3id.org/ecgraph/graph/catalog> { "
              "<https://w3id.org/ecgraph/twin/t> <http://rdfs.org/ns/void#uriSpace> ?ns } }")

    def found(node: Node) -> str:
        body = node.query(QueryRequest(claims, "json")).body
        return body.decode() if isinstance(body, bytes) else str(body)

    first = Node(config, workers=False)
    try:
        first.register("t")
        first.publish("t", first.upload_for("t", make_twin("t"), media_type="text/turtle"))
        assert "https://t.example/id/" in found(first)
        # a store written before entries stated their claims
        uri_space = ox.NamedNode("http://rdfs.org/ns/void#uriSpace")
        stated = [t for t in first.store.graph_triples(standard.CATALOG_GRAPH) if t.predicate == uri_space]
        first.store.commit(delete={standard.CATALOG_GRAPH: stated})
        assert "https://t.example/id/" not in found(first)
    finally:
        first.close()
    again = Node(config, workers=False)
    try:
        assert "https://t.example/id/" in found(again) and again.entry("t").namespaces == ["https://t.example/id/"]
    finally:
        again.close()


def test_a_node_with_a_new_registry_over_a_store_of_twins_leaves_their_claims_in_the_catalog(config):
    """A new ``--data`` over a store that another node writes (a remote store) starts with an empty
    registry: the twins' claims stated in the catalog are that node's, and a start must neither
    erase them nor rewrite every entry (at N=10,000 over Virtuoso that rewrite was most of a
    284 s start)."""
    from ecgraph import standard

    first = Node(config, workers=False)
    try:
        first.register("t")
        first.publish("t", first.upload_for("t", make_twin("t"), media_type="text/turtle"))
        catalog_before = sorted(map(str, first.store.graph_triples(standard.CATALOG_GRAPH)))
    finally:
        first.close()
    (config.data / "registry.sqlite3").rename(config.data / "registry-of-the-other-node.sqlite3")
    again = Node(config, workers=False)
    try:
        assert again.registry.twin("t") is None  # this registry never held it
        assert again.entry("t").namespaces == ["https://t.example/id/"]
        assert sorted(map(str, again.store.graph_triples(standard.CATALOG_GRAPH))) == catalog_before
    finally:
        again.close()


def test_copies_kept_before_their_entries_gave_size_and_verdict_get_them_at_the_next_start(config):
    """A copy's catalog entry now states its size and what this node's validation found; copies
    kept by an older node have entries without them, and an unchanged copy is never harvested
    again: the start restates those entries (and only those), so network questions over the
    catalog count them."""
    import pyoxigraph as ox

    from ecgraph import standard
    from ecgraph.network import harvest
    from ecgraph.query.pool import QueryRequest

    url = "http://peer.example:8000"
    graph = harvest.copy_graph(url, "t")
    record = {"version": 3, "hash": "sha256:" + "ab" * 32, "harvested": "2026-11-01T00:00:00Z", "graph": graph,
              "title": "t", "triples": 12, "warnings": 2, "profile": "", "license": "", "namespaces": [],
              "unsupported": ""}
    added = {"http://rdfs.org/ns/void#triples", standard.EC + "warningCount", standard.EC + "violationCount",
             standard.EC + "conformanceStatus"}
    first = Node(config, workers=False)
    try:
        peer_id, _ = first.registry.add_peer(url, "admin")
        first.registry.set_harvested(peer_id, "t", record)
        older = [t for t in harvest.provenance(url, "t", record) if t.predicate.value not in added]
        first.store.commit(insert={harvest.NETWORK_GRAPH: older})
    finally:
        first.close()
    again = Node(config, workers=False)
    try:
        text = (f"SELECT ?n ?w ?s WHERE {{ GRAPH <{harvest.NETWORK_GRAPH}> {{ <{graph}> "
                "<http://rdfs.org/ns/void#triples> ?n ; <https://w3id.org/ecgraph/ns#warningCount> ?w ; "
                "<https://w3id.org/ecgraph/ns#conformanceStatus> ?s } }")
        rows = again.query(QueryRequest(text, "csv")).body
        rows = rows.decode() if isinstance(rows, bytes) else rows
        assert rows.splitlines()[1:] == ["12,2,https://w3id.org/ecgraph/ns#conformance-warnings"]
        about = (ox.NamedNode(graph), ox.NamedNode(graph + "#checksum"))
        held = {t for t in again.store.graph_triples(harvest.NETWORK_GRAPH) if t.subject in about}
        assert held == {t for t in harvest.provenance(url, "t", record) if t.subject in about}  # whole, once
    finally:
        again.close()

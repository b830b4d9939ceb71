"""SERVICE and LOAD reach configured peers only, however the query spells them."""

import pytest

from ecgraph.federate import PeerPolicy, QueryRefused, inspect

PEERS = PeerPolicy(["http://peer.example:8080/sparql"])


@pytest.mark.parametrize("query", [
    "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "select * { service <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * { SeRvIcE SILENT <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "BASE <http://127.0.0.1:9/> SELECT * { SERVICE <sparql> { ?s ?p ?o } }",
    "PREFIX c: <http://127.0.0.1:9/> SELECT * { SERVICE c:sparql { ?s ?p ?o } }",
    "SELECT * { SERVICE <http://127.0.0.1\\u003A9/> { ?s ?p ?o } }",
    "SELECT * { FILTER(?a<?b)SERVICE<http://127.0.0.1/>{?s?p?o} }",
    "SELECT * { SERVICE <http://peer.example:8080@127.0.0.1/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE <http://peer.example:8081/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE <https://peer.example:8080/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }",
    "SELECT * { ?s ?p ?o } # harmless\n; SELECT * { SERVICE <http://127.0.0.1/> {} }",
])
def test_service_to_anything_but_a_peer_is_refused(query):
    with pytest.raises(QueryRefused):
        PEERS.check(inspect(query))


@pytest.mark.parametrize("query", [
    'SELECT * { ?s ?p "SERVICE <http://127.0.0.1/> { }" }',
    "SELECT * { ?s ?p '''it's SERVICE <http://127.0.0.1/>''' }",
    "SELECT * { ?s <http://example.org/SERVICE> ?o }  # SERVICE <http://127.0.0.1/>",
    "PREFIX service: <http://example.org/> SELECT ?service { ?service service:x ?o }",
    "SELECT * { SERVICE <http://peer.example:8080/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE <HTTP://PEER.EXAMPLE:8080/sparql> { ?s ?p ?o } }",
])
def test_keywords_in_strings_iris_comments_and_peers_pass(query):
    PEERS.check(inspect(query))


@pytest.mark.parametrize("update", [
    "LOAD <http://127.0.0.1:9/x.ttl>",
    "load silent <http://127.0.0.1:9/x.ttl> INTO GRAPH <http://g>",
    "PREFIX x: <http://127.0.0.1:9/> LOAD x:doc",
    "INSERT DATA { <a:b> <a:c> <a:d> } ; LOAD <http://10.0.0.1/x.ttl>",
])
def test_load_from_anything_but_a_peer_is_refused(update):
    with pytest.raises(QueryRefused):
        PEERS.check(inspect(update))


@pytest.mark.parametrize("text,form", [
    ("SELECT * { ?s ?p ?o }", "SELECT"),
    ("PREFIX ex: <http://e/> CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ("BASE <http://e/> DESCRIBE <x>", "DESCRIBE"),
    ("ask { ?s ?p ?o }", "ASK"),
    ("INSERT DATA { <a:b> <a:c> <a:d> }", "UPDATE"),
    ("PREFIX ex: <http://e/> DELETE WHERE { ?s ex:p ?o }", "UPDATE"),
    ("DROP GRAPH <http://g>", "UPDATE"),
])
def test_the_form_is_recognised(text, form):
    assert inspect(text).form == form


def test_no_peers_means_no_service():
    with pytest.raises(QueryRefused) as err:
        PeerPolicy([]).check(inspect("SELECT * { SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o } }"))
    assert "none configured" in str(err.value)

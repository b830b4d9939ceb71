"""The SPARQL 1.1 Protocol's update dataset (``using-graph-uri``, ``using-named-graph-uri``), the base
IRI of queries and updates, and the parameters the protocol allows once, on an in-process node
(the W3C suite runs the same over HTTP in test_w3c_protocol.py)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from ecgraph.query.dataset import DatasetConflict, with_dataset
from ecgraph.query.federate import QueryRefused
from tests.helpers import ADMIN, auth, fingerprint

UPDATE = {**auth(ADMIN), "Content-Type": "application/sparql-update"}

G1, G2, OUT = "http://example.org/g1", "http://example.org/g2", "http://example.org/out"
SEED = (f"INSERT DATA {{ GRAPH <{G1}> {{ <http://example.org/a> a <http://example.org/T> }} "
        f"GRAPH <{G2}> {{ <http://example.org/b> a <http://example.org/T> }} }}")


def run(text: str, using=(), named=()) -> set[str]:
    store = ox.Store()
    store.update(SEED)
    store.update(with_dataset(text, list(using), list(named)))
    return {q.subject.value for q in store.quads_for_pattern(None, None, None, ox.NamedNode(OUT))}


def test_using_graph_uri_makes_the_where_read_only_that_graph():
    text = f"INSERT {{ GRAPH <{OUT}> {{ ?s a <http://example.org/Seen> }} }} WHERE {{ ?s a <http://example.org/T> }}"
    assert run(text) == set()                       # the real default graph is empty
    assert run(text, using=[G1]) == {"http://example.org/a"}
    assert run(text, using=[G1, G2]) == {"http://example.org/a", "http://example.org/b"}


def test_using_named_graph_uri_restricts_the_named_graphs():
    text = f"INSERT {{ GRAPH <{OUT}> {{ ?s a <http://example.org/Seen> }} }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    assert run(text, named=[G2]) == {"http://example.org/b"}


def test_delete_where_takes_the_dataset_in_its_long_form():
    rewritten = with_dataset("DELETE WHERE { ?s ?p ?o }", [G1], [])
    assert rewritten == f"DELETE {{ ?s ?p ?o }} USING <{G1}> WHERE {{ ?s ?p ?o }}"


def test_braces_keywords_and_where_inside_strings_comments_and_names_are_not_touched():
    text = ('PREFIX ex: <http://example.org/> # WHERE { USING\n'
            'INSERT { GRAPH <http://example.org/out> { ?s ex:where "} WHERE {" } } '
            "WHERE { ?s a ex:T FILTER(?s != '''}''') }")
    rewritten = with_dataset(text, [G1], [])
    assert rewritten.count("USING <") == 1
    assert rewritten.endswith(f"USING <{G1}> WHERE {{ ?s a ex:T FILTER(?s != '''}}''') }}")
    store = ox.Store()
    store.update(SEED)
    store.update(rewritten)
    assert len(store) == 3


@pytest.mark.parametrize("clause", ["WITH <http://example.org/g1>", "USING <http://example.org/g1>"])
def test_a_dataset_of_the_update_and_of_the_request_together_are_refused(clause):
    if clause.startswith("WITH"):
        text = f"{clause} DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}"
    else:
        text = f"DELETE {{ ?s ?p ?o }} {clause} WHERE {{ ?s ?p ?o }}"
    with pytest.raises(DatasetConflict, match="one way only"):
        with_dataset(text, [], [G2])
    assert with_dataset(text, [], []) == text       # alone, the update's own dataset is fine


def test_no_parameter_can_add_anything_but_a_graph_name():
    with pytest.raises(ValueError):
        with_dataset("DELETE WHERE { ?s ?p ?o }", ["http://x> } ; DROP ALL ; INSERT DATA { <a:b"], [])


def test_the_service_check_resolves_relative_iris_against_the_same_base(node):
    with pytest.raises(QueryRefused, match="http://node.example/elsewhere"):
        node.inspect("SELECT * { SERVICE <elsewhere> { ?s ?p ?o } }", base_iri="http://node.example/sparql")


def test_relative_iris_resolve_against_the_endpoint_and_the_dataset_applies_over_http(client):
    r = client.post("/update?using-graph-uri=" + G1, headers=UPDATE,
                    data=SEED + f" ; INSERT {{ GRAPH <{OUT}> {{ ?s <p> <o> }} }} WHERE {{ ?s ?t ?c }}")
    assert r.status_code == 204, r.text
    r = client.get("/sparql", query_string={"query": f"SELECT ?s ?p {{ GRAPH <{OUT}> {{ ?s ?p ?o }} }}"},
                   headers={"Accept": "application/sparql-results+json"})
    rows = r.get_json()["results"]["bindings"]
    # only <a> is in the default graph the request gave; <p> is resolved against http://localhost/update
    assert [(b["s"]["value"], b["p"]["value"]) for b in rows] == [("http://example.org/a", "http://localhost/p")]
    r = client.post("/sparql", data="CONSTRUCT { <s> <p> 1 } WHERE {}",
                    headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"})
    assert r.status_code == 200 and r.text.startswith("<http://localhost/s> <http://localhost/p>"), r.text


def test_a_parameter_the_protocol_allows_once_is_refused_twice_and_nothing_runs(client, node):
    before = fingerprint(node.store)
    r = client.get("/sparql?query=ASK%20%7B%7D&query=SELECT%20*%20%7B%7D")
    assert r.status_code == 400 and "more than once" in r.get_json()["detail"]
    r = client.post("/update", headers=auth(ADMIN),
                    data={"update": ["CLEAR ALL", f"INSERT DATA {{ <{G1}> <{G1}> 1 }}"]})
    assert r.status_code == 400 and "more than once" in r.get_json()["detail"]
    r = client.post("/update?using-named-graph-uri=" + G1, headers=UPDATE,
                    data=f"WITH <{G2}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}")
    assert r.status_code == 400 and "one way only" in r.get_json()["detail"]
    assert fingerprint(node.store) == before

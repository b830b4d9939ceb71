"""Lookups of one IRI and DESCRIBE of one IRI run in the web process (no worker hand-off), and
nothing else does."""

from __future__ import annotations

import os
import signal

import pytest
import requests

from ecgraph.query.bounded import bounded
from ecgraph.query.pool import QueryRequest
from tests.helpers import auth, make_twin
from tests.servers import NodeProcess


@pytest.mark.parametrize("text", [
    "SELECT ?p ?o WHERE { <https://a.example/id/community> ?p ?o }",
    "select * where {<urn:x> ?p ?o .}",
    "  DESCRIBE <https://a.example/id/community>\n",
])
def test_a_lookup_or_describe_of_one_iri_is_bounded(text):
    assert bounded(QueryRequest(text, "json"))


@pytest.mark.parametrize("text", [
    "SELECT ?p ?o WHERE { <urn:x> ?p ?o . ?o ?q ?r }",
    "PREFIX ex: <urn:> SELECT ?p ?o WHERE { ex:x ?p ?o }",
    "SELECT ?p ?o WHERE { ?s ?p ?o }",
    "DESCRIBE <urn:a> <urn:b>",
    "DESCRIBE ?x WHERE { ?x ?p ?o }",
    "SELECT ?p ?o WHERE { <urn:x> ?p ?o } ORDER BY ?o",
    "SELECT ?p ?o WHERE { <urn:x> ?p ?o SERVICE <http://peer/sparql> { ?a ?b ?c } }",
])
def test_anything_else_is_not(text):
    assert not bounded(QueryRequest(text, "json"))


def test_a_dataset_or_a_service_is_never_bounded():
    text = "SELECT ?p ?o WHERE { <urn:x> ?p ?o }"
    assert not bounded(QueryRequest(text, "json", default_graphs=["urn:g"]))
    assert not bounded(QueryRequest(text, "json", services=["http://peer/sparql"]))


def test_a_lookup_answers_with_every_worker_stopped_and_sees_an_acknowledged_publish(tmp_path):
    node = NodeProcess(tmp_path / "data", "--no-demo", "--query-timeout", "3").start()
    try:
        r = requests.post(node.url + "/api/twins", json={"id": "look"}, headers=node.admin)
        token = r.json()["token"]
        put = requests.put(node.url + "/api/twins/look", data=make_twin("look", tag="look:1"),
                           headers={**auth(token), "Content-Type": "text/turtle"})
        assert put.status_code == 201
        lookup = "SELECT ?p ?o WHERE { <https://look.example/id/community> ?p ?o }"
        workers = node.child_pids()
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        try:
            answer = requests.get(node.url + "/sparql", params={"query": lookup}, timeout=20)
            assert answer.status_code == 200 and "look:1" in answer.text
            describe = requests.get(node.url + "/sparql",
                                    params={"query": "DESCRIBE <https://look.example/id/community>"},
                                    headers={"Accept": "application/n-triples"}, timeout=20)
            assert describe.status_code == 200 and "look:1" in describe.text
            other = requests.get(node.url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=20)
            assert other.status_code == 503  # everything else needs a worker
        finally:
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:  # the stopped query's worker was killed at its deadline
                    pass
        put = requests.put(node.url + "/api/twins/look", data=make_twin("look", tag="look:2"),
                           headers={**auth(token), "Content-Type": "text/turtle"})
        assert put.status_code == 200
        answer = requests.get(node.url + "/sparql", params={"query": lookup}, timeout=20)
        assert "look:2" in answer.text and "look:1" not in answer.text
    finally:
        node.stop()

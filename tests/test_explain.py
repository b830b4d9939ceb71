"""Parser errors in plain words (ecgraph.query.explain), through the node's real SPARQL endpoint
and its update: what is wrong, where, and the fix, never the grammar's internals."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from ecgraph.query.explain import syntax_error
from tests.helpers import ADMIN

CASES = [
    ("SELECT * WHERE { ?c a ec:School }",
     "prefix `ec:` is not declared (line 1, column 23); add `PREFIX ec: <https://w3id.org/ecgraph/ns#>` at the top "
     "of the query"),
    ("PREFIX ec: <https://w3id.org/ecgraph/ns#>\nSELECT * WHERE { ?c a ec:School ; schema:name ?n }",
     "prefix `schema:` is not declared (line 2, column 35); add `PREFIX schema: <https://schema.org/>` at the top "
     "of the query"),
    ('SELECT * WHERE { ?c <http://x/p> "a:b" FILTER(?c = foo:bar) }',
     "prefix `foo:` is not declared (line 1, column 52); add `PREFIX foo: <...>` with the namespace IRI it stands "
     "for at the top of the query"),
    ("SELECT * WHERE { ?s ?p ?o ", "the query cannot be read at its end (line 1, column 27): a closing `}` is missing"),
    ("SELECT * WHERE { ?s ?p ?o . }}",
     "the query cannot be read at its end (line 1, column 31): there is a `}` too many"),
    ("SELECT * WHERE { ?s ?p ?o } LIMIT x",
     "the query cannot be read at line 1, column 35, near `x`: expected `HAVING`, `OFFSET`, `OPTIONAL`, `VALUES`, "
     "`a number`"),
]


@pytest.mark.parametrize("query,expected", CASES)
def test_the_engine_s_message_becomes_plain_words(query, expected):
    with pytest.raises(SyntaxError) as raised:
        ox.Store().query(query)
    assert syntax_error(str(raised.value), query) == expected


def test_the_api_detail_says_which_prefix_to_declare(client):
    response = client.get("/sparql", query_string={"query": CASES[0][0]})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "query syntax error"
    assert body["detail"] == CASES[0][1]
    assert "\\u{" not in body["detail"] and "expected one of" not in body["detail"]


def test_an_update_s_syntax_error_is_explained_too(client):
    response = client.post("/update", data={"update": "INSERT DATA { ec:a ec:b ec:c }"},
                           headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("prefix `ec:` is not declared")

"""Injection: twin ids, graph names and REST parameters that would step out of a path, a SPARQL IRI
or a string are rejected (4xx) or bound safely, on a real node; a refused request changes nothing.
And the claim behind it, checked in the code: no query or update is built by formatting user input
into SPARQL text; the store builds its updates only from validated terms.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest
import requests

import ecgraph
from ecgraph import standard
from ecgraph.store.embedded import EmbeddedStore as Store
from tests.checks import record, state_digest
from tests.helpers import make_twin
from tests.servers import NodeProcess

BREAKOUTS = ["> } ; DROP ALL ; INSERT DATA { GRAPH <urn:x> { <urn:a> <urn:b> <urn:c> } } #",
             '" } ; DROP ALL ; #', "' } ; DROP ALL ; #", "\\u003E } ; DROP ALL #", "\n} ; DROP ALL ; #"]
BAD_IDS = ["../x", "..", "a/../b", "a>b", "a b", "ünï", "a" * 10_000, "A", "-a", "a\nb", 'a"b', "a'", "a}",
           "a;drop", "a%2Fb", "a#b", "a?b", "<x>", "", "a" * 64, "\u0430bc", "a\x00", " a", "a.b", "a_b"] + \
          [f"x{b}" for b in BREAKOUTS]
TRIED: dict[str, int] = {}


def tried(what: str, n: int = 1) -> None:
    TRIED[what] = TRIED.get(what, 0) + n


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    n = NodeProcess(tmp_path_factory.mktemp("injection") / "data", "--no-demo").start()
    n.token = requests.post(n.url + "/api/twins", json={"id": "alpha"}, headers=n.admin).json()["token"]
    r = requests.put(n.url + "/api/twins/alpha", data=make_twin("alpha"),
                     headers={"Authorization": f"Bearer {n.token}", "Content-Type": "text/turtle"})
    assert r.status_code == 201
    yield n
    n.stop()
    record("injection_inputs", **TRIED)


def test_hostile_twin_ids_are_rejected(node):
    before = state_digest(node.url, node.data)
    for twin_id in BAD_IDS + [None, 5, ["a"], {"a": 1}]:
        tried("twin ids")
        r = requests.post(node.url + "/api/twins", json={"id": twin_id, "title": "x"}, headers=node.admin)
        assert r.status_code == 400, (twin_id, r.status_code)
        if not isinstance(twin_id, str) or not twin_id:
            continue
        segment = quote(twin_id, safe="")
        for method in ("GET", "PUT", "DELETE"):
            for suffix in ("", "/data", "/versions", "/report", "/token", "/pull", "/badge.svg"):
                tried("twin ids in paths")
                r = requests.request(method, f"{node.url}/api/twins/{segment}{suffix}", data=make_twin("alpha"),
                                     headers={**node.admin, "Content-Type": "text/turtle"})
                assert r.status_code in (400, 404, 405), (twin_id, method, suffix, r.status_code)
    assert state_digest(node.url, node.data) == before


def test_hostile_graph_names_are_rejected_or_bound(node):
    before = state_digest(node.url, node.data)
    base = standard.TWIN_GRAPH_BASE
    graphs = [base + "../graph/catalog", base + "alpha/../beta", base + "al pha", base + "ünï", base + "a" * 10_000,
              base + "alpha/inferred", base + "ALPHA", f"<{base}alpha>", base + "alpha#x", base + "alpha?x=1",
              standard.CATALOG_GRAPH, standard.ONTOLOGY_GRAPH, "relative", "", base + "alpha\n",
              base + "alpha%3E", base, base + "nobody"] + [base + "alpha" + b for b in BREAKOUTS]
    for graph in graphs:
        for method in ("PUT", "POST", "DELETE"):
            tried("graph names (write)")
            r = requests.request(method, node.url + "/store", params={"graph": graph}, data=make_twin("alpha"),
                                 headers={**node.admin, "Content-Type": "text/turtle"})
            assert r.status_code in (400, 403, 404), (graph[:80], method, r.status_code, r.text[:200])
        tried("graph names (read)")
        r = requests.get(node.url + "/store", params={"graph": graph}, headers={"Accept": "application/n-triples"})
        assert r.status_code in (200, 400, 404), (graph[:80], r.status_code)
        if r.status_code == 200:  # a node graph or a twin's: its own triples only
            assert graph in (standard.CATALOG_GRAPH, standard.ONTOLOGY_GRAPH, base + "alpha/inferred")
    assert state_digest(node.url, node.data) == before


def test_query_parameters_are_validated_or_bound(node):
    before = state_digest(node.url, node.data)
    ask = "ASK { ?s ?p ?o }"
    cases = []
    for b in BREAKOUTS:
        cases += [("/sparql", {"query": ask, "default-graph-uri": "urn:g" + b}, (400,)),
                  ("/sparql", {"query": ask, "named-graph-uri": "urn:g" + b}, (400,)),
                  ("/sparql", {"query": ask, "timeout": "1" + b}, (400,)),
                  ("/sparql", {"query": ask, "limit": "1" + b}, (400,)),
                  ("/sparql", {"query": ask, "format": "json" + b}, (406,)),
                  ("/api/twins", {"limit": "1" + b}, (400,)),
                  ("/api/twins/alpha/data", {"version": "1" + b}, (400,)),     # not a whole number
                  ("/api/twins/alpha/data", {"format": "turtle" + b}, (406,)),
                  ("/catalog", {"format": "turtle" + b}, (406,))]
    cases += [("/sparql", {"query": ask, "timeout": "nan"}, (400,)),
              ("/sparql", {"query": ask, "timeout": "-1"}, (400,)),
              ("/sparql", {"query": ask, "timeout": "inf"}, (200,)),
              ("/sparql", {"query": ask, "limit": "9" * 5000}, (400,)),
              ("/api/twins", {"limit": "9" * 5000}, (400,)), ("/api/twins", {"offset": "-5"}, (400,)),
              ("/api/twins/alpha/versions/99999999999999999999999", {}, (404,)),
              ("/api/twins/alpha/data", {"version": "99999999999999999999"}, (404,)),
              ("/api/twins/alpha/versions/0", {}, (404,))]
    for path, params, expected in cases:
        tried("query and REST parameters")
        r = requests.get(node.url + path, params=params)
        assert r.status_code in expected, (path, params, r.status_code, r.text[:200])
    for b in BREAKOUTS:
        tried("validator parameters", 4)
        for params in ({"profile": "core" + b}, {"profile-version": "1.0" + b}, {"max-results": "1" + b}):
            r = requests.post(node.url + "/api/validate", params=params, data=make_twin("v"),
                              headers={"Content-Type": "text/turtle"})
            assert r.status_code == 400, (params, r.status_code)
        r = requests.post(node.url + "/api/validate", params={"input-format": "turtle" + b}, data=make_twin("v"),
                          headers={"Content-Type": "text/turtle"})
        assert r.status_code == 415
    assert state_digest(node.url, node.data) == before


def test_a_huge_version_number_is_404_not_500(node):
    """Regression: a version number beyond SQLite's integers (OverflowError) was a 500."""
    for path in ("/api/twins/alpha/versions/99999999999999999999999",
                 "/api/twins/alpha/data?version=99999999999999999999"):
        r = requests.get(node.url + path)
        assert r.status_code == 404, (path, r.status_code, r.text)


def test_strings_that_would_break_out_are_stored_as_written(node):
    """Titles and literals full of SPARQL syntax travel as terms: stored and read back exactly."""
    twin = "beta"
    hostile_title = 'Beta " } ; DROP ALL ; INSERT DATA { <urn:a> <urn:b> <urn:c> } # \\ > \' \n end'
    r = requests.post(node.url + "/api/twins", json={"id": twin, "title": hostile_title}, headers=node.admin)
    assert r.status_code == 201
    token = r.json()["token"]
    assert requests.get(f"{node.url}/api/twins/{twin}").json()["title"] == hostile_title
    literal = hostile_title.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    body = make_twin(twin).replace(b'dcterms:title "Test twin beta"@en', f'dcterms:title "{literal}"@en'.encode())
    r = requests.put(f"{node.url}/api/twins/{twin}", data=body,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"})
    assert r.status_code == 201, r.text
    tried("strings stored as terms")
    assert requests.get(f"{node.url}/api/twins/{twin}").json()["title"] == hostile_title
    rows = requests.get(node.url + "/sparql", params={"query": (
        f"SELECT ?t WHERE {{ GRAPH <{standard.CATALOG_GRAPH}> {{ <{standard.twin_graph(twin)}> "
        "<http://purl.org/dc/terms/title> ?t } }")}).json()["results"]["bindings"]
    assert [b["t"]["value"] for b in rows] == [hostile_title]
    # nothing was dropped, nothing was added
    assert requests.get(node.url + "/api/twins/alpha").json()["published"]
    ask = requests.get(node.url + "/sparql", params={"query": "ASK { GRAPH ?g { <urn:a> <urn:b> <urn:c> } }"}).json()
    assert ask["boolean"] is False


# --- the code ------------------------------------------------------------------------------------------

_SPARQL = re.compile(r"\b(SELECT|INSERT|DELETE|CONSTRUCT|ASK|DESCRIBE|GRAPH|WHERE|DROP|CLEAR|PREFIX)\b")
#: the only places that put values into SPARQL text, and what they put there: validated IRIs
#: (``_iri`` goes through NamedNode), subjects checked to be NamedNodes, and triples written from terms
_ALLOWED = {("store/__init__.py", "_iri(graph)"), ("store/__init__.py", "_iri(g)"),
            ("store/__init__.py", "_named(subject)"), ("store/__init__.py", "_named_list(subjects)"),
            ("store/remote.py", "_iri(graph)"), ("store/remote.py", "_iri(g)"), ("store/remote.py", "_named(subject)"),
            ("store/remote.py", "_named_list(batch)"), ("store/remote.py", "int(page)"),  # a page's rows
            ("store/remote.py", "ox.Literal(after)"),  # the IRI a page follows, written by pyoxigraph
            ("store/__init__.py", "_resources(listed_by)"), ("store/remote.py", "_resources(listed_by)"),
            ("store/remote.py", "_about(listed_by)"),  # predicates, through _named_list
            ("store/__init__.py", "_named_list(listed_by)"), ("store/remote.py", "_named_list(listed_by, ', ')"),
            ("store/remote.py", "_named_list(listed_by)"),
            ("store/__init__.py", "_values(by_object)"), ("store/__init__.py", "_values(by_subject)"),
            ("store/__init__.py", "_values(both)"),  # terms pyoxigraph wrote from parsed N-Triples
            ("store/remote.py", "_iri(PROBE_GRAPH)"), ("store/remote.py", "probe_data"),  # the node's own probes:
            ("store/remote.py", "numbers"), ("store/remote.py", "i"),  # integers it counts, variables it numbers
            ("store/stepwise.py", "iri(graph)"),  # the store's _iri, handed to the steps
            # a regular expression that recognises the texts of lookups, not SPARQL that runs
            ("query/bounded.py", "_VAR"), ("query/bounded.py", "_IRI"),

            # the pages' reads: IRIs written by pyoxigraph, and the module's own property paths
            ("directory.py", "_iri(graph)"), ("directory.py", "_iri(EC + scheme)"), ("directory.py", "_iris(chunk)"),
            ("directory.py", "_iris(member_iris)"), ("directory.py", "_iris(iris)"), ("directory.py", "NAME_PATH"),
            ("directory.py", "TEXT_PATHS[kind]"), ("directory.py", "_iri_list(marks)"),
            ("directory.py", "int(self.DESCRIBE_ROWS)"),
            # messages that quote a PREFIX line for people to add, not SPARQL that runs
            ("query/explain.py", "prefix"), ("query/explain.py", "namespace")}


def test_no_sparql_is_built_by_formatting_user_input():
    found = []
    root = Path(ecgraph.__file__).parent
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if _SPARQL.search(text) and ("{" in text or "<" in text):
                    for value in node.values:
                        if isinstance(value, ast.FormattedValue):
                            found.append((str(path.relative_to(root)), ast.unparse(value.value), node.lineno))
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                    and isinstance(node.left.value, str) and _SPARQL.search(node.left.value):
                found.append((str(path.relative_to(root)), "%-formatting", node.lineno))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
                    and isinstance(node.func.value, ast.Constant) and _SPARQL.search(str(node.func.value.value)):
                found.append((str(path.relative_to(root)), ".format()", node.lineno))
    assert found, "the scan found nothing: it is broken"
    unexpected = [f for f in found if (f[0], f[1]) not in _ALLOWED]
    assert not unexpected, f"SPARQL built by formatting something other than validated terms: {unexpected}"


def test_store_never_pastes_text_into_an_update(tmp_path):
    """Regression: ``Store.commit(insert={graph: text})`` pasted N-Triples text into the update
    unparsed, so text that closed the block ran as SPARQL (here: DROP ALL)."""
    store = Store(tmp_path / "store")
    try:
        store.commit(insert={"urn:g": [ox.Triple(ox.NamedNode("urn:a"), ox.NamedNode("urn:b"), ox.Literal("kept"))]})
        hostile = '<urn:a> <urn:b> "x" .\n} } ; DROP ALL ; INSERT DATA { GRAPH <urn:evil> { <urn:a> <urn:b> <urn:c> .'
        with pytest.raises(SyntaxError):
            store.commit(insert={"urn:g": hostile})
        with pytest.raises(TypeError):
            store.commit(delete_subjects={"urn:g": ["<urn:a> ?p ?o } } ; DROP ALL ; #"]})
        assert [str(q.object) for q in store.quads()] == ['"kept"']
        store.commit(insert={"urn:g": '<urn:a> <urn:b> "text is fine when it is N-Triples" .'})
        assert len(store) == 2
    finally:
        store.close()

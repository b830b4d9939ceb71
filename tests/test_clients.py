"""The clients of the ecosystem, unmodified, against a real ``ecgraph serve`` node: SPARQLWrapper with
its defaults for every query form (and every result format it offers), rdflib's ``SPARQLStore`` and
``SPARQLUpdateStore`` (the admin's updates on /update), and Comunica (``@comunica/query-sparql@4``, a
node.js client, installed into tests/.node from its committed package-lock.json by .ci/run or, when
missing, by the ``comunica`` fixture). One node serves the whole module; a twin is published
through the REST API first, so the answers are known.

A client call that fails today is an expected failure that names the cause (strict: once the node
is fixed it fails as "XPASS", and the marker must go).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import time
import warnings
from pathlib import Path
from urllib.error import HTTPError

import pyoxigraph as ox
import pytest
import requests
from rdflib import RDF, RDFS, Dataset, Graph, Literal, URIRef
from SPARQLWrapper import (
    CSV,
    GET,
    JSON,
    JSONLD,
    N3,
    POST,
    RDFXML,
    TSV,
    TURTLE,
    XML,
    SPARQLWrapper,
)

from tests import checks
from tests.helpers import make_twin
from tests.servers import NodeProcess

EC = "https://w3id.org/ecgraph/ns#"
SCHEMA = "https://schema.org/"
COMMUNITY = URIRef("https://clients.example/id/community")
NAME = Literal("Test community clients", lang="en")
REFERENCE = URIRef("http://example.org/reference/regions")   # the admin's reference data, outside any twin

QUERIES = {
    "SELECT": f"SELECT ?community ?name WHERE {{ ?community a <{EC}EnergyCommunity> ; <{SCHEMA}name> ?name }}",
    "ASK": f"ASK {{ ?community <{EC}hasMember>/a <{EC}School> }}",
    "CONSTRUCT": f"CONSTRUCT {{ ?community <{SCHEMA}name> ?name }} "
                 f"WHERE {{ ?community a <{EC}EnergyCommunity> ; <{SCHEMA}name> ?name }}",
    "DESCRIBE": f"DESCRIBE <{COMMUNITY}>",
}
NAME_TRIPLE = (COMMUNITY, URIRef(SCHEMA + "name"), NAME)

#: (query form, SPARQLWrapper return format) -> why the node fails it today (issue 13, section 4)
SPARQLWRAPPER_FAILS: dict = {}

#: the result formats SPARQLWrapper offers for each query form, and the media types that answer them
SPARQLWRAPPER_FORMATS = {
    XML: {"application/sparql-results+xml"}, JSON: {"application/sparql-results+json"},
    CSV: {"text/csv"}, TSV: {"text/tab-separated-values"},
}
SPARQLWRAPPER_GRAPH_FORMATS = {
    XML: {"application/rdf+xml"}, RDFXML: {"application/rdf+xml"}, TURTLE: {"text/turtle"},
    N3: {"text/turtle", "text/n3", "text/rdf+n3"}, JSONLD: {"application/ld+json"},
}

#: what each client got right, by form (printed with the figures)
RESULTS: dict[str, dict[str, bool]] = {}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    process = NodeProcess(tmp_path_factory.mktemp("clients") / "data", "--no-demo").start()
    r = requests.post(process.url + "/api/twins", json={"id": "clients", "title": "Clients"},
                      headers=process.admin, timeout=30)
    assert r.status_code == 201, r.text
    r = requests.put(process.url + "/api/twins/clients", data=make_twin("clients", members=3, schools=1),
                     headers={**process.admin, "Content-Type": "text/turtle"}, timeout=60)
    assert r.status_code == 201, r.text
    yield process
    process.stop()


def _record(client: str, form: str, ok: bool) -> None:
    RESULTS.setdefault(client, {})[form] = ok


def _graph_of(data: bytes, media_type: str) -> Graph:
    triples = [q.triple for q in ox.parse(data, format=ox.RdfFormat.from_media_type(media_type))]
    return Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode(), format="nt")


# --- SPARQLWrapper --------------------------------------------------------------------------------

def _sparqlwrapper_cases(matrix: bool) -> list:
    out = []
    for form in QUERIES:
        formats = SPARQLWRAPPER_FORMATS if form in ("SELECT", "ASK") else SPARQLWRAPPER_GRAPH_FORMATS
        for fmt in (formats if matrix else [XML]):   # XML is SPARQLWrapper's default
            marks = checks.expected_failure(SPARQLWRAPPER_FAILS.get((form, fmt)))
            out.append(pytest.param(form, fmt, id=f"{form}-{fmt}", marks=marks))
    return out


@pytest.mark.parametrize("form,fmt", _sparqlwrapper_cases(matrix=False))
def test_sparqlwrapper_with_its_defaults_gets_every_query_form_answered(node, form, fmt):
    client = SPARQLWrapper(node.url + "/sparql")
    client.setQuery(QUERIES[form])
    _record("SPARQLWrapper (defaults)", form, False)
    answer = client.query().convert()
    if form == "SELECT":
        rows = [{b.getAttribute("name"): b.firstChild.firstChild.data for b in result.getElementsByTagName("binding")}
                for result in answer.getElementsByTagName("result")]
        assert rows == [{"community": str(COMMUNITY), "name": str(NAME)}]
    elif form == "ASK":
        assert answer.getElementsByTagName("boolean")[0].firstChild.data == "true"
    elif form == "CONSTRUCT":
        assert set(answer) == {NAME_TRIPLE}
    else:
        assert NAME_TRIPLE in answer and (COMMUNITY, RDF.type, URIRef(EC + "EnergyCommunity")) in answer
    _record("SPARQLWrapper (defaults)", form, True)


@pytest.mark.parametrize("form,fmt", _sparqlwrapper_cases(matrix=True))
def test_sparqlwrapper_gets_every_result_format_it_offers_by_get_and_post(node, form, fmt):
    """SPARQLWrapper asks by Accept and by the format, output and results parameters together
    (``format=xml&output=xml&results=xml``): every format it offers for a form, GET and POST."""
    for method in (GET, POST):
        client = SPARQLWrapper(node.url + "/sparql")
        client.setQuery(QUERIES[form])
        client.setReturnFormat(fmt)
        client.setMethod(method)
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # SPARQLWrapper warns when it falls back to */*: none here
            result = client.query()
        media_type = result.response.headers["Content-Type"].split(";")[0].strip()
        body = result.response.read()
        offered = (SPARQLWRAPPER_FORMATS if form in ("SELECT", "ASK") else SPARQLWRAPPER_GRAPH_FORMATS)[fmt]
        assert media_type in offered, (method, media_type)
        if form == "SELECT" and media_type == "text/csv":   # lossy: pyoxigraph does not read it back
            assert list(csv.reader(io.StringIO(body.decode()))) == [["community", "name"], [str(COMMUNITY), str(NAME)]]
        elif form == "SELECT":
            parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.from_media_type(media_type))
            assert [(s["community"].value, s["name"].value) for s in parsed] == [(str(COMMUNITY), str(NAME))]
        elif form == "ASK":
            if media_type in ("text/csv", "text/tab-separated-values"):
                assert body.decode().split() == ["true"]   # no W3C form for a boolean here: the common one
            else:
                assert bool(ox.parse_query_results(body, format=ox.QueryResultsFormat.from_media_type(media_type)))
        else:
            graph = _graph_of(body, "text/turtle" if media_type in ("text/n3", "text/rdf+n3") else media_type)
            assert NAME_TRIPLE in graph, (method, body[:300])


# --- rdflib ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", list(QUERIES))
def test_rdflib_sparqlstore_gets_every_query_form_answered(node, form):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = Graph(store=SPARQLStore(node.url + "/sparql"))
    _record("rdflib SPARQLStore", form, False)
    result = graph.query(QUERIES[form])
    if form == "SELECT":
        assert [tuple(row) for row in result] == [(COMMUNITY, NAME)]
    elif form == "ASK":
        assert result.askAnswer is True
    elif form == "CONSTRUCT":
        assert set(result) == {NAME_TRIPLE}
    else:
        assert NAME_TRIPLE in set(result)
    _record("rdflib SPARQLStore", form, True)


def test_rdflib_sparqlstore_reads_triples_by_pattern(node):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = Graph(store=SPARQLStore(node.url + "/sparql"))
    assert NAME_TRIPLE in set(graph.triples((COMMUNITY, None, None)))
    assert set(graph.objects(COMMUNITY, URIRef(SCHEMA + "name"))) == {NAME}


def _graph_on_node(node, graph: URIRef) -> set:
    r = requests.get(node.url + "/store", params={"graph": str(graph)}, headers={"Accept": "application/n-triples"},
                     timeout=30)
    if r.status_code == 404:
        return set()
    assert r.status_code == 200, r.text
    return set(_graph_of(r.content, "application/n-triples"))


def test_rdflib_sparqlupdatestore_writes_reference_data_as_the_admin(node):
    """The admin manages a reference graph with rdflib's Graph API: create, add, update, remove;
    the node holds exactly what the client says."""
    from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

    store = SPARQLUpdateStore(node.url + "/sparql", node.url + "/update", headers=node.admin)
    regions = Dataset(store=store).graph(REFERENCE)   # CREATE GRAPH
    brussels, flanders = URIRef("http://example.org/region/bru"), URIRef("http://example.org/region/vlg")
    regions.add((brussels, RDFS.label, Literal("Brussels-Capital Region", lang="en")))
    regions.update(f'INSERT DATA {{ <{flanders}> <{RDFS.label}> "Flanders"@en }}')  # rdflib puts it in the graph
    assert set(regions) == {(brussels, RDFS.label, Literal("Brussels-Capital Region", lang="en")),
                            (flanders, RDFS.label, Literal("Flanders", lang="en"))}
    regions.remove((brussels, None, None))
    assert set(regions) == {(flanders, RDFS.label, Literal("Flanders", lang="en"))}
    assert _graph_on_node(node, REFERENCE) == set(regions)
    _record("rdflib SPARQLUpdateStore", "UPDATE", True)


def test_rdflib_sparqlupdatestore_without_the_admin_token_changes_nothing(node):
    from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

    before = checks.store_digest(node.url)
    store = SPARQLUpdateStore(node.url + "/sparql", node.url + "/update")
    with pytest.raises(HTTPError) as refused:
        Dataset(store=store).graph(URIRef("http://example.org/reference/intruder"))   # CREATE GRAPH
    assert refused.value.code == 401
    with pytest.raises(HTTPError) as refused:
        Graph(store=store, identifier=REFERENCE).add((URIRef("http://example.org/x"), RDFS.label, Literal("x")))
    assert refused.value.code == 401
    assert checks.store_digest(node.url) == before


# --- Comunica -------------------------------------------------------------------------------------

NODE_DIR = Path(__file__).resolve().parent / ".node"
COMUNICA_BIN = NODE_DIR / "node_modules" / ".bin" / "comunica-sparql"


def _comunica_installed() -> bool:
    manifest = NODE_DIR / "node_modules" / "@comunica" / "query-sparql" / "package.json"
    return COMUNICA_BIN.exists() and manifest.exists() and json.loads(manifest.read_text())["version"].startswith("4.")


@pytest.fixture(scope="session")
def comunica() -> Path:
    """``comunica-sparql`` from tests/.node (installed with ``npm ci`` from the committed lock file
    when it is not there yet). Skipped where node.js or npm is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Comunica is a node.js client: this machine has no node/npm (install node.js 20 and npm, "
                    "then .ci/run installs Comunica into tests/.node)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 18:
        pytest.skip(f"@comunica/query-sparql@4 needs node.js 18 or later; this machine has {version}")
    if not _comunica_installed():
        started = time.monotonic()
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0 and _comunica_installed(), (
            f"npm ci in {NODE_DIR} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        checks.record("comunica install", seconds=round(time.monotonic() - started, 1))
    return COMUNICA_BIN


def _comunica(binary: Path, endpoint: str, query: str, media_type: str) -> str:
    done = subprocess.run([str(binary), f"sparql@{endpoint}", "-t", media_type, query],
                          capture_output=True, text=True, timeout=120)
    # comunica-sparql exits 0 even when the endpoint refused the query: its error is on stderr
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    return done.stdout


def test_comunica_select(node, comunica):
    _record("Comunica", "SELECT", False)
    out = json.loads(_comunica(comunica, node.url + "/sparql", QUERIES["SELECT"], "application/sparql-results+json"))
    rows = [{k: v["value"] for k, v in b.items()} for b in out["results"]["bindings"]]
    # (Comunica 4.5 drops a literal's language tag from any endpoint's SPARQL JSON, oxigraph's too:
    # the lexical values are compared)
    assert rows == [{"community": str(COMMUNITY), "name": str(NAME)}]
    _record("Comunica", "SELECT", True)


def test_comunica_construct(node, comunica):
    _record("Comunica", "CONSTRUCT", False)
    out = _comunica(comunica, node.url + "/sparql", QUERIES["CONSTRUCT"], "application/n-triples")
    assert set(_graph_of(out.encode(), "application/n-triples")) == {NAME_TRIPLE}
    _record("Comunica", "CONSTRUCT", True)


def test_comunica_ask(node, comunica):
    _record("Comunica", "ASK", False)
    out = json.loads(_comunica(comunica, node.url + "/sparql", QUERIES["ASK"], "application/sparql-results+json"))
    assert out["boolean"] is True
    _record("Comunica", "ASK", True)


def test_the_clients_results_are_reported():
    """Printed with the figures: which query forms each client got answered (run last)."""
    checks.record("ecosystem clients", **{client: {form: "ok" if ok else "FAILED" for form, ok in forms.items()}
                                          for client, forms in RESULTS.items()})

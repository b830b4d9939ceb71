"""No server-side request forgery: a canary HTTP server on loopback records zero requests from a node
unless the target is allowlisted (and is reached when it is).

Every channel through which a node could be made to reach out: ``SERVICE`` in queries (GET, form
POST and direct POST) and in updates, ``LOAD`` (admin ``/update``), JSON-LD remote ``@context`` and
``@import``, ``owl:imports`` and other links in published data (with both validation engines), RDF/XML
external DTDs and entities, URL pulls (``POST /api/twins/<id>/pull``, ``ecgraph load --from``) and
validator URLs (``/api/validate?url=``, the ``/validate`` form). Each is written every way a parser
accepts: lower case, relative IRIs via ``BASE``, prefixed names, ``\\u`` escapes in IRIs, comments,
keywords glued to what follows (``SERVICE:x``, ``trueSERVICESILENT<...>``, ``LOADc:x``), the quote that
hid a call from the old tokenizer (``FILTER(?o <'>') SERVICE ... #'``), and every spelling of the
loopback host we know (``localhost``, ``127.1``, ``2130706433``, ``0x7f000001``, octal, ``[::1]``,
``[::ffff:127.0.0.1]``, ``0.0.0.0``, trailing dots, userinfo, a name added to /etc/hosts when the test
may write it), and through redirects from an allowed host.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from ecgraph import standard
from tests.checks import record
from tests.helpers import make_twin
from tests.servers import Canary, FileServer, NodeProcess, Redirector

HOSTS_NAME = "ecgraph-canary.test"
TRIED: Counter = Counter()


class PeerEndpoint(Canary):
    """A canary that answers like a SPARQL endpoint: one row for a query, Turtle for a document."""

    def answer(self, method, path, body):
        if path.endswith(".ttl"):
            triple = b"<http://peer.example/s> <http://peer.example/p> \"loaded\" .\n"
            return 200, {"Content-Type": "text/turtle"}, triple
        binding = {"x": {"type": "literal", "value": "from the peer"}}
        rows = {"head": {"vars": ["x"]}, "results": {"bindings": [binding]}}
        return 200, {"Content-Type": "application/sparql-results+json"}, json.dumps(rows).encode()


@pytest.fixture(scope="module")
def hosts_name():
    """A name for 127.0.0.1 in /etc/hosts, when this test may write the file (restored after)."""
    path = Path("/etc/hosts")
    try:
        original = path.read_bytes()
        path.write_bytes(original + f"\n127.0.0.1 {HOSTS_NAME}\n".encode())
    except OSError:
        yield None
        return
    try:
        yield HOSTS_NAME
    finally:
        path.write_bytes(original)


@pytest.fixture(scope="module")
def plain(tmp_path_factory, canary):
    """A node with no peers and no allowed hosts."""
    node = NodeProcess(tmp_path_factory.mktemp("ssrf") / "data", "--no-demo", "--query-timeout", "5").start()
    token = requests.post(node.url + "/api/twins", json={"id": "ssrf"}, headers=node.admin).json()["token"]
    node.token = token
    yield node
    node.stop()


def loopback_hosts(hosts_name: str | None) -> list[str]:
    hosts = ["127.0.0.1", "localhost", "LOCALHOST", "localhost.", "127.0.0.1.", "127.1", "127.0.1", "2130706433",
             "0x7f000001", "0x7F.0.0.1", "0177.0.0.1", "017700000001", "127.000.000.001", "127.255.255.254",
             "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:7f00:1]", "0.0.0.0", "0", "[::]",
             "peer@127.0.0.1", "user:secret@127.0.0.1", "example.org@127.0.0.1"]
    if hosts_name:
        hosts.append(hosts_name)
    return hosts


def urls(hosts: list[str], port: int, path: str = "/sparql") -> list[str]:
    return [f"http://{host}:{port}{path}" for host in hosts] + [f"HTTP://127.0.0.1:{port}{path}"]


def _escaped(url: str) -> str:
    """Every character of an IRI as a \\u escape (SPARQL allows them inside IRIREFs)."""
    return "".join(f"\\u{ord(c):04X}" for c in url)


def service_queries(url: str) -> list[str]:
    head, _, tail = url.rpartition("/")
    return [
        f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"select * where {{ service <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SeRvIcE SILENT <{url}> {{ ?s ?p ?o }} }}",
        f"BASE <{head}/> SELECT * WHERE {{ SERVICE <{tail}> {{ ?s ?p ?o }} }}",
        f"PREFIX c: <{head}/> SELECT * WHERE {{ SERVICE c:{tail} {{ ?s ?p ?o }} }}",
        f"PREFIX : <{head}/> SELECT * WHERE {{ SERVICE :{tail} {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE <{_escaped(url)}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE#{{ }}\n<{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }} }}",
        f"ASK {{ {{ ?a ?b ?c }} UNION {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"BASE <http://example.org/> BASE <{head}/> SELECT * WHERE {{ SERVICE <./{tail}> {{ ?s ?p ?o }} }}",
        # the shapes the tokenizer before the grammar-based check let through (see test_federate.py)
        f"SELECT * WHERE {{ FILTER(?o <'>') SERVICE <{url}> {{ ?s ?p ?o }} }} #'",
        f"PREFIX : <{head}/> SELECT * WHERE {{ SERVICE:{tail} {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?s ?p trueSERVICESILENT<{url}>{{ ?s ?p ?o }} }}",
    ]


def load_updates(url: str) -> list[str]:
    head, _, tail = url.rpartition("/")
    return [
        f"LOAD <{url}>",
        f"load silent <{url}> into graph <http://example.org/g>",
        f"BASE <{head}/> LOAD <{tail}>",
        f"PREFIX c: <{head}/> LOAD c:{tail}",
        f"LOAD <{_escaped(url)}>",
        f"INSERT {{ GRAPH <http://example.org/g> {{ ?s ?p ?o }} }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"CLEAR SILENT GRAPH <http://example.org/g> ; LOAD <{url}>",
        f"PREFIX c: <{head}/> CLEAR SILENT GRAPH <http://example.org/g>;LOADc:{tail}",
    ]


def test_service_never_reaches_loopback(plain, canary, hosts_name):
    for url in urls(loopback_hosts(hosts_name), canary.port):
        for query in service_queries(url):
            for how in ("GET", "form", "direct"):
                TRIED["SERVICE"] += 1
                if how == "GET":
                    r = requests.get(plain.url + "/sparql", params={"query": query})
                elif how == "form":
                    r = requests.post(plain.url + "/sparql", data={"query": query})
                else:
                    r = requests.post(plain.url + "/sparql", data=query.encode(),
                                      headers={"Content-Type": "application/sparql-query"})
                assert r.status_code == 403, (query, r.status_code, r.text[:300])
    time.sleep(0.2)
    assert canary.hits == []


def test_load_and_update_service_never_reach_loopback(plain, canary, hosts_name):
    for url in urls(loopback_hosts(hosts_name), canary.port, "/data.ttl"):
        for update in load_updates(url):
            TRIED["LOAD (admin /update)"] += 1
            r = requests.post(plain.url + "/update", data={"update": update}, headers=plain.admin)
            assert r.status_code == 403, (update, r.status_code, r.text[:300])
            TRIED["update sent to /sparql"] += 1
            r = requests.post(plain.url + "/sparql", data=update.encode(),
                              headers={"Content-Type": "application/sparql-update"})
            assert r.status_code == 400, (update, r.status_code)
    time.sleep(0.2)
    assert canary.hits == []


def jsonld_documents(url: str) -> list[dict]:
    twin = {"@id": "https://ssrf.example/id/twin", "@type": f"{standard.EC}DigitalTwin"}
    return [
        {"@context": url, **twin},
        {"@context": [url], **twin},
        {"@context": [standard.CONTEXT_URL, url], **twin},
        {"@context": {"@import": url}, **twin},
        {"@context": [standard.CONTEXT_URL, {"@import": url, "x": "http://e.example/x"}], **twin},
        {"@context": {"t": {"@id": "http://e.example/t", "@context": url}}, **twin, "t": {"@id": "http://e.example/o"}},
        {"@context": {"@vocab": "http://e.example/", "t": {"@context": {"@import": url}}}, **twin},
        {"@context": [{"@base": url.rsplit("/", 1)[0] + "/"}, "context.jsonld"], **twin},
        {"@context": "context.jsonld", **twin},
        {"@graph": [{"@context": url, **twin}]},
    ]


def test_json_ld_contexts_are_never_fetched(plain, canary, hosts_name):
    headers = {"Authorization": f"Bearer {plain.token}", "Content-Type": "application/ld+json"}
    for url in urls(loopback_hosts(hosts_name), canary.port, "/context.jsonld"):
        for document in jsonld_documents(url):
            body = json.dumps(document).encode()
            TRIED["JSON-LD @context/@import"] += 2
            r = requests.put(plain.url + "/api/twins/ssrf", data=body, headers=headers)
            assert r.status_code == 400 and "refused" in r.json()["detail"], (document, r.status_code, r.text[:300])
            r = requests.post(plain.url + "/api/validate", data=body, headers={"Content-Type": "application/ld+json"})
            assert r.status_code == 400, (document, r.status_code)
    time.sleep(0.2)
    assert canary.hits == []


def test_links_in_data_are_never_followed(plain, canary, hosts_name):
    """owl:imports, rdfs:seeAlso, sh:shapesGraph, dcterms:conformsTo, an external DTD or entity:
    published (validated, inferred, stored) and validated with both engines, nothing fetched."""
    headers = {"Authorization": f"Bearer {plain.token}", "Content-Type": "text/turtle"}
    for url in urls(loopback_hosts(hosts_name)[:6], canary.port, "/ontology.ttl"):
        links = (f"<twin> <http://www.w3.org/2002/07/owl#imports> <{url}> ; "
                 f"<http://www.w3.org/2000/01/rdf-schema#seeAlso> <{url}> ; "
                 f"<http://www.w3.org/ns/shacl#shapesGraph> <{url}> .\n"
                 f"<{url}> a <http://www.w3.org/2002/07/owl#Ontology> .\n").encode()
        body = make_twin("ssrf") + links
        TRIED["owl:imports and links in data"] += 3
        r = requests.put(plain.url + "/api/twins/ssrf", data=body, headers=headers)
        assert r.status_code in (200, 201), r.text
        for engine in ("fast", "pyshacl"):
            r = requests.post(plain.url + "/api/validate", params={"engine": engine}, data=body,
                              headers={"Content-Type": "text/turtle"})
            assert r.status_code == 200 and r.json()["conforms"], r.text[:300]
        for xml in (f'<?xml version="1.0"?><!DOCTYPE rdf:RDF SYSTEM "{url}"><rdf:RDF '
                    f'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
                    f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{url}">]><rdf:RDF '
                    f'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&x;</rdf:RDF>'):
            TRIED["RDF/XML external DTD or entity"] += 1
            r = requests.post(plain.url + "/api/validate", data=xml.encode(),
                              headers={"Content-Type": "application/rdf+xml"})
            assert r.status_code in (200, 400), r.text[:300]
    time.sleep(0.2)
    assert canary.hits == []


def test_url_pulls_and_validator_urls_never_reach_loopback(plain, canary, hosts_name):
    headers = {"Authorization": f"Bearer {plain.token}"}
    for url in urls(loopback_hosts(hosts_name), canary.port, "/twin.ttl") + [
            f"ftp://127.0.0.1:{canary.port}/twin.ttl", "file:///etc/passwd", f"//127.0.0.1:{canary.port}/twin.ttl",
            f"http://[::ffff:127.0.0.1]:{canary.port}/twin.ttl", f"http://127.0.0.1:{canary.port}#@example.org/"]:
        TRIED["URL pull (API)"] += 1
        r = requests.post(plain.url + "/api/twins/ssrf/pull", json={"url": url}, headers=headers)
        assert r.status_code in (400, 403), (url, r.status_code, r.text[:300])
        TRIED["validator URL (API)"] += 1
        r = requests.post(plain.url + "/api/validate", params={"url": url})
        assert r.status_code in (400, 403), (url, r.status_code, r.text[:300])
        TRIED["validator URL (page form)"] += 1
        r = requests.post(plain.url + "/validate", data={"url": url, "profile": "core"})
        assert r.status_code in (400, 403) and "Could not validate" in r.text, (url, r.status_code)
    time.sleep(0.2)
    assert canary.hits == []


def _cli_pulls(tmp_path, canary, hosts, peer_args=()):
    data = tmp_path / "data"
    for i, url in enumerate(urls(hosts, canary.port, "/twin.ttl")):
        TRIED["URL pull (ecgraph load --from)"] += 1
        out = subprocess.run([sys.executable, "-m", "ecgraph.cli", "load", "--data", str(data), "--from", url,
                              "--twin", f"pull-{i}", *peer_args], capture_output=True, text=True, timeout=120)
        assert out.returncode == 1, (url, out.stdout, out.stderr)
        assert "resolves to" in out.stderr or "credentials" in out.stderr or "only http" in out.stderr, out.stderr
    time.sleep(0.2)
    assert canary.hits == []


def test_cli_pull_never_reaches_loopback(tmp_path, canary, hosts_name):
    _cli_pulls(tmp_path, canary, ["127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]", "0.0.0.0"]
               + ([hosts_name] if hosts_name else []))


@pytest.mark.slow
def test_cli_pull_never_reaches_loopback_every_spelling(tmp_path, canary, hosts_name):
    _cli_pulls(tmp_path, canary, loopback_hosts(hosts_name))


# --- what is allowed is reached, and only that ---------------------------------------------------------

@pytest.fixture(scope="module")
def peer():
    p = PeerEndpoint()
    yield p
    p.close()


@pytest.fixture(scope="module")
def allowed(tmp_path_factory, peer):
    """A node whose peer is one canary (its /sparql) and whose allowed host is a file server and a
    redirector; a second canary stays forbidden."""
    directory = tmp_path_factory.mktemp("published")
    (directory / "pulled.ttl").write_bytes(make_twin("pulled", tag="from-url"))
    files = FileServer(directory)
    forbidden = Canary()
    redirectors = [Redirector(forbidden.url), Redirector(f"http://localhost:{forbidden.port}", 307),
                   Redirector(f"http://[::ffff:127.0.0.1]:{forbidden.port}", 301),
                   Redirector(f"http://2130706433:{forbidden.port}", 308)]
    peer_redirector = Redirector(forbidden.url)
    args = ["--no-demo", "--peer", peer.url + "/sparql", "--peer", peer_redirector.url + "/sparql",
            "--allow-host", "127.0.0.1:" + files.url.rsplit(":", 1)[1]]
    for r in redirectors:
        args += ["--allow-host", f"127.0.0.1:{r.port}"]
    node = NodeProcess(tmp_path_factory.mktemp("allowed") / "data", *args).start()
    node.token = requests.post(node.url + "/api/twins", json={"id": "pulled"}, headers=node.admin).json()["token"]
    yield node, files, forbidden, redirectors, peer_redirector
    node.stop()
    for server in [files, forbidden, peer_redirector, *redirectors]:
        server.close()


def test_an_allowlisted_peer_is_reached(allowed, peer):
    node, *_ = allowed
    before = len(peer.hits)
    query = f"SELECT ?x WHERE {{ SERVICE <{peer.url}/sparql> {{ ?s ?p ?x }} }}"
    r = requests.get(node.url + "/sparql", params={"query": query})
    assert r.status_code == 200, r.text
    assert [b["x"]["value"] for b in r.json()["results"]["bindings"]] == ["from the peer"]
    update = f"LOAD <{peer.url}/sparql/data.ttl> INTO GRAPH <http://example.org/loaded>"
    r = requests.post(node.url + "/update", data={"update": update}, headers=node.admin)
    assert r.status_code == 204, r.text
    query = "SELECT ?o WHERE { GRAPH <http://example.org/loaded> { ?s ?p ?o } }"
    r = requests.get(node.url + "/sparql", params={"query": query})
    assert [b["o"]["value"] for b in r.json()["results"]["bindings"]] == ["loaded"]
    assert len(peer.hits) == before + 2, peer.hits
    assert peer.hits[-2].startswith(("GET /sparql", "POST /sparql"))
    assert peer.hits[-1] == "GET /sparql/data.ttl"


def test_an_allowed_host_is_pulled_and_validated(allowed):
    node, files, *_ = allowed
    r = requests.post(node.url + "/api/twins/pulled/pull", json={"url": files.url + "/pulled.ttl"},
                      headers={"Authorization": f"Bearer {node.token}"})
    assert r.status_code == 201, r.text
    assert r.json()["twin"]["triples"] > 10
    r = requests.post(node.url + "/api/validate", params={"url": files.url + "/pulled.ttl"})
    assert r.status_code == 200 and r.json()["conforms"]


def test_redirects_from_an_allowed_host_to_a_forbidden_one_are_refused(allowed):
    node, _, forbidden, redirectors, peer_redirector = allowed
    for redirector in redirectors:
        for how in ("pull", "validate"):
            TRIED["redirect from an allowed host"] += 1
            if how == "pull":
                r = requests.post(node.url + "/api/twins/pulled/pull", json={"url": redirector.url + "/twin.ttl"},
                                  headers={"Authorization": f"Bearer {node.token}"})
            else:
                r = requests.post(node.url + "/api/validate", params={"url": redirector.url + "/twin.ttl"})
            assert r.status_code == 403, (redirector.target, r.status_code, r.text[:300])
        assert redirector.hits, "the allowed host was not even asked"
    # SERVICE and LOAD to a peer that redirects: the engine does not follow redirects
    TRIED["redirect from a peer (SERVICE, LOAD)"] += 2
    r = requests.get(node.url + "/sparql", params={
        "query": f"SELECT * WHERE {{ SERVICE <{peer_redirector.url}/sparql> {{ ?s ?p ?o }} }}"})
    assert r.status_code == 502 and r.json()["error"] == "service call failed", r.text
    r = requests.post(node.url + "/update", data={"update": f"LOAD <{peer_redirector.url}/sparql/x.ttl>"},
                      headers=node.admin)
    assert r.status_code == 400, r.text
    assert len(peer_redirector.hits) == 2
    time.sleep(0.2)
    assert forbidden.hits == []


def test_a_peer_admits_its_own_endpoint_only(allowed, peer):
    """Regression (dot segments): ``SERVICE <peer/sparql/../admin>`` passed the path-prefix check
    and was sent to the peer's host outside its endpoint."""
    node, _, forbidden, *_ = allowed
    before = list(peer.hits)
    for url in (f"{peer.url}/other", f"{peer.url}/sparqlx", f"{peer.url}/sparql/../admin",
                f"{peer.url}/sparql/%2e%2e/admin", f"{peer.url}/sparql/./../admin", f"{peer.url}/sparql/..",
                f"http://peer@127.0.0.1:{peer.port}/sparql", forbidden.url + "/sparql",
                f"http://localhost:{peer.port}/sparql", f"https://127.0.0.1:{peer.port}/sparql"):
        TRIED["SERVICE and LOAD beside a peer"] += 2
        r = requests.get(node.url + "/sparql", params={"query": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"})
        assert r.status_code == 403, (url, r.status_code, r.text[:300])
        r = requests.post(node.url + "/update", data={"update": f"LOAD <{url}>"}, headers=node.admin)
        assert r.status_code == 403, (url, r.status_code, r.text[:300])
    time.sleep(0.2)
    assert peer.hits == before and forbidden.hits == []


def test_peer_policy_refuses_dot_segments():
    from ecgraph.query.federate import PeerPolicy

    policy = PeerPolicy(["http://peer.example/gbn/sparql"])
    assert policy.admits("http://peer.example/gbn/sparql")
    assert policy.admits("http://peer.example/gbn/sparql/sub")
    for url in ("http://peer.example/gbn/sparql/../../admin", "http://peer.example/gbn/sparql/%2E%2E/x",
                "http://peer.example/gbn/sparql/./x", "http://peer.example/gbn/sparql/.."):
        assert not policy.admits(url), url


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    if TRIED:
        record("ssrf_spellings_tried", total=sum(TRIED.values()), **dict(sorted(TRIED.items())))

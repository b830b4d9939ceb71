"""Hostile input on every path that takes bytes: ``PUT /api/twins/<id>``, ``PUT`` and ``POST /store``,
``POST /api/validate``, the ``/validate`` page, ``ecgraph validate`` and ``ecgraph load``.

A real node over a real store; the documents are a named corpus of attacks (truncated, bit-flipped,
nested 10,000 levels deep in JSON, Turtle and RDF/XML, huge literals and IRIs, invalid UTF-8, NUL
bytes, entity expansion, external entities, billion laughs, JSON-LD context loops, numbers no
machine holds, RDF 1.2 triple terms, lying media types, ...) plus property-based mutation fuzzing
(hypothesis) of a twin in Turtle, JSON-LD, N-Triples and RDF/XML.

Every publishing answer is a 4xx with a JSON message (the documents are built so that none is a
conformant twin: the base twin lacks its required ``dcterms:conformsTo``, and no mutation can add it
back), the validator answers 200 with a report or a 4xx, nothing answers 5xx, the node stays
healthy, and its store and registry are unchanged (hashes of a full dump before and after).
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecgraph import standard
from ecgraph.publish import ingest
from tests.checks import record, state_digest
from tests.helpers import fingerprint, make_twin
from tests.servers import NodeProcess

LIMIT = 20 * 1024 * 1024     # the node's --max-upload-bytes here
MAX_TRIPLES = 50_000         # and its triple cap (ECGRAPH_MAX_TRIPLES)
TWIN = "fuzz"
GRAPH = standard.twin_graph(TWIN)
NEW = "fuzz-new"  # registered, never published: a Graph Store POST to it creates, with no merge
DEEP = 10_000
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

#: a twin that parses and breaks a MUST rule no mutation can repair (it lacks dcterms:conformsTo)
BAD_TURTLE = make_twin(TWIN, tag="hostile").replace(
    b"dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.0.0> ; ", b"")
assert BAD_TURTLE != make_twin(TWIN, tag="hostile")
_BAD_TRIPLES = [q.triple for q in ox.parse(BAD_TURTLE, format=ox.RdfFormat.TURTLE)]
BASES = {
    "turtle": ("text/turtle", ".ttl", BAD_TURTLE),
    "jsonld": ("application/ld+json", ".jsonld", json.dumps({
        "@context": standard.CONTEXT_URL,
        "@graph": json.loads(ox.serialize(_BAD_TRIPLES, format=ox.RdfFormat.JSON_LD))}).encode()),
    "ntriples": ("application/n-triples", ".nt", ox.serialize(_BAD_TRIPLES, format=ox.RdfFormat.N_TRIPLES)),
    "rdfxml": ("application/rdf+xml", ".rdf", ox.serialize(_BAD_TRIPLES, format=ox.RdfFormat.RDF_XML)),
}

#: inputs tried, per path (reported as a figure)
TRIED: Counter = Counter()
#: examples per fuzzed format in the default run and in the long run (-m slow)
SHORT = int(os.environ.get("ECGRAPH_FUZZ_EXAMPLES", "30"))
LONG = int(os.environ.get("ECGRAPH_FUZZ_EXAMPLES_LONG", "2000"))

# --- the corpus ------------------------------------------------------------------------------------

REFUSED = "refused"   # 4xx everywhere, the validator too
PARSES = "parses"     # well-formed, not a conformant twin: 4xx on publishing, a report from the validator


def _billion_laughs(prefix: str = "", root: str = "rdf:RDF", declare: str = "rdf") -> bytes:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    return (f'<?xml version="1.0"?>{prefix}<!DOCTYPE {root} [{entities}]>'
            f'<{root} xmlns:{declare}="{RDF_NS}" xmlns:e="http://e.example/">'
            f'<{declare}:Description {declare}:about="http://e.example/a"><e:p>&j;</e:p></{declare}:Description>'
            f'</{root}>').encode()


def corpus() -> list[tuple[str, str, str, bytes, str]]:
    """(name, media type, file extension, bytes, expectation)."""
    ttl, jsonld, nt, xml = (BASES[k][2] for k in ("turtle", "jsonld", "ntriples", "rdfxml"))
    twin_ttl = BAD_TURTLE
    items = [
        # truncated and bit-flipped
        ("turtle truncated mid-IRI", "text/turtle", ".ttl", ttl[: ttl.index(b"fuzz.example") + 5], REFUSED),
        ("turtle truncated mid-literal", "text/turtle", ".ttl", ttl[: ttl.index(b"Test twin") + 4], REFUSED),
        ("json-ld truncated", "application/ld+json", ".jsonld", jsonld[: len(jsonld) // 2], REFUSED),
        ("n-triples truncated mid-line", "application/n-triples", ".nt", nt[: nt.index(b"\n", 200) - 7], REFUSED),
        ("rdf/xml truncated", "application/rdf+xml", ".rdf", xml[: len(xml) // 2], REFUSED),
        ("turtle bit-flipped into invalid UTF-8", "text/turtle", ".ttl", _flip(ttl, ttl.index(b"<twin>") + 2, 7),
         REFUSED),
        ("turtle bit-flipped bracket", "text/turtle", ".ttl", _flip(ttl, ttl.index(b"<twin>"), 1), REFUSED),
        ("json-ld bit-flipped brace", "application/ld+json", ".jsonld", _flip(jsonld, 0, 2), REFUSED),
        ("rdf/xml bit-flipped tag", "application/rdf+xml", ".rdf", _flip(xml, xml.index(b"<rdf:RDF") + 1, 6), REFUSED),
        # deeply nested
        ("json 10,000 nested arrays", "application/ld+json", ".jsonld", b"[" * DEEP + b"]" * DEEP, REFUSED),
        ("json-ld 10,000 nested objects", "application/ld+json", ".jsonld",
         b'{"@id": "http://e.example/a", "http://e.example/p": ' * DEEP + b"1" + b"}" * DEEP, REFUSED),
        ("json-ld 10,000 nested @list", "application/ld+json", ".jsonld",
         b'{"@id": "http://e.example/a", "http://e.example/p": ' + b'{"@list": [' * DEEP + b"]}" * DEEP + b"}",
         REFUSED),
        ("json-ld 10,000 nested scoped contexts", "application/ld+json", ".jsonld",
         b'{"@context": ' + b'{"t": {"@id": "http://e.example/t", "@context": ' * DEEP + b"{}" + b"}}" * DEEP
         + b', "@id": "http://e.example/a"}', REFUSED),
        ("turtle 10,000 nested collections", "text/turtle", ".ttl",
         twin_ttl + b"<member/0> t:p " + b"( " * DEEP + b")" * DEEP + b" .\n", PARSES),
        ("turtle 10,000 nested blank nodes", "text/turtle", ".ttl",
         twin_ttl + b"<member/0> t:p " + b"[ t:p " * DEEP + b"1" + b" ]" * DEEP + b" .\n", PARSES),
        ("turtle 10,000 unclosed collections", "text/turtle", ".ttl", twin_ttl + b"<member/0> t:p " + b"( " * DEEP,
         REFUSED),
        ("rdf/xml 10,000 nested elements", "application/rdf+xml", ".rdf",
         (f'<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:e="http://e.example/">'.encode()
          + b"<rdf:Description><e:p>" * DEEP + b"</e:p></rdf:Description>" * DEEP + b"</rdf:RDF>"), REFUSED),
        # huge literals and IRIs (the parser's buffer holds 16 MB; the node takes 20 MB here)
        ("turtle 17 MB literal", "text/turtle", ".ttl",
         twin_ttl + b'<member/0> t:p "' + b"x" * (17 << 20) + b'" .\n', REFUSED),
        ("n-triples 17 MB literal", "application/n-triples", ".nt",
         b'<http://e.example/a> <http://e.example/p> "' + b"x" * (17 << 20) + b'" .\n', REFUSED),
        ("json-ld 17 MB literal", "application/ld+json", ".jsonld",
         b'{"@id": "http://e.example/a", "http://e.example/p": "' + b"x" * (17 << 20) + b'"}', REFUSED),
        ("turtle 17 MB IRI", "text/turtle", ".ttl",
         twin_ttl + b"<member/0> t:p <http://e.example/" + b"a" * (17 << 20) + b"> .\n", REFUSED),
        ("turtle 8 MB literal", "text/turtle", ".ttl", twin_ttl + b'<member/0> t:p "' + b"x" * (8 << 20) + b'" .\n',
         PARSES),
        ("rdf/xml 17 MB literal", "application/rdf+xml", ".rdf",
         (f'<rdf:RDF xmlns:rdf="{RDF_NS}"><rdf:Description rdf:about="http://e.example/a">'
          f'<p xmlns="http://e.example/">').encode() + b"x" * (17 << 20) + b"</p></rdf:Description></rdf:RDF>",
         PARSES),
        ("body over the size limit", "text/turtle", ".ttl", twin_ttl + b"#" + b"x" * LIMIT + b"\n", REFUSED),
        ("more triples than the cap", "application/n-triples", ".nt", b"".join(
            b"<http://e.example/s%d> <http://e.example/p> <http://e.example/o> .\n" % i
            for i in range(MAX_TRIPLES + 1)), REFUSED),
        # encodings
        ("turtle invalid UTF-8", "text/turtle", ".ttl", twin_ttl + b'<member/0> t:p "a\xff\xfeb" .\n', REFUSED),
        ("turtle overlong UTF-8", "text/turtle", ".ttl", twin_ttl + b'<member/0> t:p "\xc0\xaf" .\n', REFUSED),
        ("turtle UTF-8 surrogate", "text/turtle", ".ttl", twin_ttl + b'<member/0> t:p "\xed\xa0\x80" .\n', REFUSED),
        ("json-ld invalid UTF-8", "application/ld+json", ".jsonld", jsonld.replace(b"Test twin", b"Test \xff twin"),
         REFUSED),
        ("rdf/xml invalid UTF-8", "application/rdf+xml", ".rdf", xml.replace(b"Test twin", b"Test \xff twin"), REFUSED),
        ("n-triples invalid UTF-8", "application/n-triples", ".nt", nt.replace(b"Test twin", b"Test \xff twin"),
         REFUSED),
        ("rdf/xml in UTF-16", "application/rdf+xml", ".rdf", xml.decode().encode("utf-16"), REFUSED),
        ("turtle with a UTF-8 BOM and NUL", "text/turtle", ".ttl", b"\xef\xbb\xbf\x00" + twin_ttl, REFUSED),
        # NUL bytes
        ("turtle NUL outside a string", "text/turtle", ".ttl", twin_ttl + b"<member/0> t:p \x00 .\n", REFUSED),
        ("turtle NUL inside a string", "text/turtle", ".ttl", twin_ttl + b'<member/0> t:p "a\x00b" .\n', PARSES),
        ("turtle NUL inside an IRI", "text/turtle", ".ttl", twin_ttl + b"<member/0> t:p <a\x00b> .\n", REFUSED),
        ("json-ld raw NUL", "application/ld+json", ".jsonld", jsonld.replace(b"Test twin", b"Test \x00 twin"), REFUSED),
        # (XML 1.0 forbids a raw NUL; pyoxigraph reads it as a character, the node's expat pre-scan refuses it)
        ("rdf/xml raw NUL", "application/rdf+xml", ".rdf", xml.replace(b"Test twin", b"Test \x00 twin"), REFUSED),
        ("n-triples escaped NUL", "application/n-triples", ".nt",
         nt + b'<http://e.example/a> <http://e.example/p> "\\u0000" .\n',
         PARSES),
        # XML entities
        ("billion laughs", "application/rdf+xml", ".rdf", _billion_laughs(), REFUSED),
        ("billion laughs behind a comment naming rdf:RDF", "application/rdf+xml", ".rdf",
         _billion_laughs(prefix="<!-- <rdf:RDF -->", root="r:RDF", declare="r"), REFUSED),
        ("billion laughs with another root prefix", "application/rdf+xml", ".rdf",
         _billion_laughs(root="x:RDF", declare="x"), REFUSED),
        ("quadratic blowup", "application/rdf+xml", ".rdf",
         (f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY a "{"a" * 100_000}">]>'
          f'<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:e="http://e.example/"><rdf:Description rdf:about="http://e.example/a">'
          f'<e:p>{"&a;" * 10_000}</e:p></rdf:Description></rdf:RDF>').encode(), REFUSED),
        ("external entity", "application/rdf+xml", ".rdf",
         (f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
          f'<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:e="http://e.example/"><rdf:Description rdf:about="http://e.example/a">'
          f'<e:p>&x;</e:p></rdf:Description></rdf:RDF>').encode(), REFUSED),
        ("external parameter entity", "application/rdf+xml", ".rdf",
         (f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY % x SYSTEM "http://127.0.0.1:9/x.dtd"> %x;]>'
          f'<rdf:RDF xmlns:rdf="{RDF_NS}"/>').encode(), REFUSED),
        ("entity reference without a declaration", "application/rdf+xml", ".rdf",
         xml.replace(b"Test twin", b"Test &x; twin"), REFUSED),
        # JSON-LD contexts
        ("json-ld @context loop (cyclic IRI mapping)", "application/ld+json", ".jsonld",
         b'{"@context": {"a": "b:x", "b": "a:y"}, "@id": "http://e.example/s", "a": "1"}', REFUSED),
        ("json-ld @context importing itself", "application/ld+json", ".jsonld",
         b'{"@context": {"@import": "http://127.0.0.1:9/self.jsonld"}, "@id": "http://e.example/s"}', REFUSED),
        ("json-ld @context naming a remote context twice", "application/ld+json", ".jsonld",
         b'{"@context": ["http://127.0.0.1:9/c.jsonld", "http://127.0.0.1:9/c.jsonld"], "@id": "http://e.example/s"}',
         REFUSED),
        ("json-ld local file context", "application/ld+json", ".jsonld",
         b'{"@context": "/etc/passwd", "@id": "http://e.example/s"}', REFUSED),
        ("json-ld scoped context that redefines itself", "application/ld+json", ".jsonld",
         json.dumps({"@context": {"@vocab": "http://e.example/", "t": {"@id": "t", "@context": {"t": {"@id": "t"}}}},
                     "@id": "http://e.example/s", "t": {"t": {"t": {"t": "1"}}}}).encode(), PARSES),
        ("json-ld standard context imported by itself", "application/ld+json", ".jsonld",
         json.dumps({"@context": [standard.CONTEXT_URL, {"@import": standard.CONTEXT_URL}],
                     "@id": "http://e.example/s"}).encode(), PARSES),
        # JSON values
        ("json integer of 5,000 digits", "application/ld+json", ".jsonld",
         b'{"@id": "http://e.example/a", "http://e.example/p": ' + b"9" * 5000 + b"}", REFUSED),
        ("json-ld lone surrogate beside the standard context", "application/ld+json", ".jsonld",
         b'{"@context": "' + standard.CONTEXT_URL.encode() + b'", "@id": "http://e.example/\\ud800"}', REFUSED),
        ("json-ld 1.5E999999999 as a decimal", "application/ld+json", ".jsonld",
         (f'{{"@context": {{"n": {{"@id": "http://e.example/n", "@type": "{XSD}decimal"}}}}, '
          '"@id": "http://e.example/a", "n": 1.5E999999999}').encode(), PARSES),
        ("json-ld 1E-999999999 as an integer", "application/ld+json", ".jsonld",
         (f'{{"@context": {{"n": {{"@id": "http://e.example/n", "@type": "{XSD}integer"}}}}, '
          '"@id": "http://e.example/a", "n": 1E-999999999}').encode(), PARSES),
        ("json top-level string", "application/ld+json", ".jsonld", b'"hello"', PARSES),
        # values no machine number holds, where the shapes check them
        ("xsd:integer of 100,000 digits in a checked property", "text/turtle", ".ttl",
         twin_ttl + b'<membership/0> ec:groupSize "' + b"9" * 100_000 + b'"^^xsd:integer .\n', PARSES),
        ("xsd:date in the year 999999999999", "text/turtle", ".ttl",
         twin_ttl.replace(b'"2022-01-01"', b'"999999999999-01-01"'), PARSES),
        ("xsd:date with a 5,000-digit year before its end date", "text/turtle", ".ttl",
         twin_ttl.replace(b'ec:startDate "2022-01-01"^^xsd:date',
                          b'ec:startDate "' + b"9" * 5000 + b'-01-01"^^xsd:date ; ec:endDate "2020-01-01"^^xsd:date'),
         PARSES),
        ("xsd:dateTime at 24:00 on the last day", "text/turtle", ".ttl",
         twin_ttl + b'<twin> dcterms:modified "9999-12-31T24:00:00"^^xsd:dateTime .\n', PARSES),
        # RDF 1.2
        ("turtle triple term", "text/turtle", ".ttl",
         twin_ttl + b"<member/0> t:says <<( <member/1> t:p <member/2> )>> .\n",
         REFUSED),
        ("turtle reified triple", "text/turtle", ".ttl", twin_ttl + b"<< <member/0> t:p <member/1> >> t:q 1 .\n",
         REFUSED),
        ("turtle annotation", "text/turtle", ".ttl", twin_ttl + b"<member/0> t:p <member/1> {| t:q 1 |} .\n", REFUSED),
        # other graphs, other syntaxes, lies
        ("trig with a foreign graph", "application/trig", ".trig",
         b"<http://e.example/g> { <http://e.example/a> <http://e.example/p> 1 . }", REFUSED),
        ("n-quads into the catalog graph", "application/n-quads", ".nq",
         f'<http://e.example/a> <http://e.example/p> "1" <{standard.CATALOG_GRAPH}> .\n'.encode(), REFUSED),
        ("json-ld sent as turtle", "text/turtle", ".ttl", jsonld, REFUSED),
        ("turtle sent as rdf/xml", "application/rdf+xml", ".rdf", ttl, REFUSED),
        ("an unsupported media type", "application/x-evil", ".bin", ttl, REFUSED),
        ("invalid language tag", "text/turtle", ".ttl", twin_ttl + b'<member/0> t:p "x"@123456789 .\n', REFUSED),
        ("relative IRI escaping its base", "text/turtle", ".ttl",
         twin_ttl + b"<member/0> t:p <../../../../etc/passwd> .\n",
         PARSES),
        ("1,000 prefixes redefined", "text/turtle", ".ttl",
         b"".join(b"@prefix p: <http://e.example/%d#> .\n" % i for i in range(1000)) + twin_ttl, PARSES),
    ]
    return items


def _flip(data: bytes, position: int, bit: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 1 << bit
    return bytes(out)


# --- the node and its byte-taking paths ---------------------------------------------------------------

class Hostile:
    def __init__(self, node: NodeProcess, token: str, new_token: str):
        self.node = node
        self.url = node.url
        self.token = token
        self.new_token = new_token
        self.session = requests.Session()

    def send(self, path: str, media_type: str, data: bytes, filename: str) -> requests.Response:
        TRIED[path] += 1
        headers = {"Authorization": f"Bearer {self.token}"}
        if path == "PUT /api/twins/<id>":
            return self.session.put(f"{self.url}/api/twins/{TWIN}", data=data,
                                    headers={**headers, "Content-Type": media_type}, timeout=120)
        if path in ("PUT /store", "POST /store", "POST /store (merge)"):
            method = self.session.put if path.startswith("PUT") else self.session.post
            graph = standard.twin_graph(NEW) if path == "POST /store" else GRAPH
            token = self.new_token if path == "POST /store" else self.token
            return method(self.url + "/store", params={"graph": graph}, data=data,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": media_type}, timeout=120)
        if path == "POST /api/validate":
            return self.session.post(self.url + "/api/validate", data=data, headers={"Content-Type": media_type},
                                     timeout=120)
        if path == "POST /validate (page)":
            return self.session.post(self.url + "/validate", files={"file": ("upload" + filename, data, media_type)},
                                     data={"profile": "core"}, timeout=120)
        raise AssertionError(path)

    def digest(self):
        return state_digest(self.url, self.node.data)

    def healthy(self) -> bool:
        return requests.get(self.url + "/health", timeout=30).status_code == 200


#: POST /store (merge) adds the upload to the stored twin, so a well-formed document may well make a
#: conformant twin there: it is sent only what must be refused before any merge
PUBLISHING = ("PUT /api/twins/<id>", "PUT /store", "POST /store", "POST /store (merge)")
VALIDATING = ("POST /api/validate", "POST /validate (page)")


def check_answer(path: str, response: requests.Response, expectation: str | None, name: str) -> None:
    """``expectation`` None: a fuzzed document, either outcome of the validator is right."""
    status = response.status_code
    assert status < 500, f"{path} answered {status} to {name!r}: {response.text[:500]}"
    if path in VALIDATING and expectation == PARSES:
        assert status == 200, f"{path} refused {name!r}, a well-formed document: {response.text[:500]}"
    if path == "POST /validate (page)":
        if status != 200 or expectation == REFUSED:
            assert 400 <= status < 500 and "Could not validate" in response.text, (path, name, status)
        return
    refused = path in PUBLISHING or expectation == REFUSED
    if refused or status != 200:
        assert 400 <= status < 500, f"{path} answered {status} to {name!r}: {response.text[:500]}"
        body = response.json()
        assert body.get("error") and body.get("detail"), (path, name, body)
    else:
        assert response.json()["conforms"] is False, (path, name)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile") / "data"
    node = NodeProcess(data, "--no-demo", "--max-upload-bytes", str(LIMIT), "--publish-timeout", "60",
                       "--max-result-rows", "1000000", env={"ECGRAPH_MAX_TRIPLES": str(MAX_TRIPLES)}).start()
    r = requests.post(node.url + "/api/twins", json={"id": TWIN}, headers=node.admin)
    token = r.json()["token"]
    r = requests.put(f"{node.url}/api/twins/{TWIN}", data=make_twin(TWIN, tag="stored"),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"})
    assert r.status_code == 201, r.text
    new_token = requests.post(node.url + "/api/twins", json={"id": NEW}, headers=node.admin).json()["token"]
    yield Hostile(node, token, new_token)
    node.stop()
    # no request failed unexpectedly and no worker died (rdflib's own warnings may show tracebacks)
    assert not re.search(r"ERROR ecgraph\.", node.log()), re.findall(r".*ERROR ecgraph\..*", node.log())
    record("hostile_inputs_per_path", **dict(sorted(TRIED.items())))


@pytest.mark.parametrize("name,media_type,extension,data,expectation", corpus(), ids=[c[0] for c in corpus()])
def test_hostile_document_on_every_path(hostile, name, media_type, extension, data, expectation):
    before = hostile.digest()
    for path in PUBLISHING + VALIDATING:
        if path == "POST /store (merge)" and expectation != REFUSED:
            continue
        response = hostile.send(path, media_type, data, extension)
        check_answer(path, response, expectation, name)
    assert hostile.healthy()
    assert hostile.digest() == before, f"{name!r} changed the node's state"


# --- regressions, named after what they found --------------------------------------------------------

def test_billion_laughs_behind_a_comment_is_refused_before_parsing():
    """Regression: entity declarations were looked for only before the first ``<rdf:RDF``; a
    comment spelling it before the DOCTYPE let a billion-laughs document through to the parser,
    which tried to allocate gigabytes and aborted the worker (500 WorkerDied)."""
    for document in (_billion_laughs(prefix="<!-- <rdf:RDF -->", root="r:RDF", declare="r"),
                     _billion_laughs(root="x:RDF", declare="x")):
        with pytest.raises(ingest.IngestError) as caught:
            ingest.parse(document, "application/rdf+xml")
        assert caught.value.status == 400 and "ENTITY" in caught.value.message


def test_a_term_longer_than_the_parser_buffer_is_413_not_500():
    """Regression: a literal or IRI over pyoxigraph's 16 MB buffer raised MemoryError (500)."""
    for media_type, document in (
            ("text/turtle", b'<http://e.example/a> <http://e.example/p> "' + b"x" * (17 << 20) + b'" .'),
            ("application/ld+json",
             b'{"@id": "http://e.example/a", "http://e.example/p": "' + b"x" * (17 << 20) + b'"}'),
            ("text/turtle", b"<http://e.example/" + b"a" * (17 << 20) + b"> <http://e.example/p> 1 .")):
        with pytest.raises(ingest.IngestError) as caught:
            ingest.parse(document, media_type)
        assert caught.value.status == 413


def test_rdf12_triple_terms_are_refused_not_500():
    """Regression: a triple term passed validation, then broke the commit (the store's N-Triples
    reader refused it: 500) and the pyshacl engine (TypeError: 500)."""
    for document in (b"<http://e.example/a> <http://e.example/p> <<( <http://e.example/s> <http://e.example/p> 1 )>> .",
                     b"<< <http://e.example/s> <http://e.example/p> 1 >> <http://e.example/q> 2 ."):
        with pytest.raises(ingest.IngestError) as caught:
            ingest.parse(document, "text/turtle")
        assert caught.value.status == 400 and "triple term" in caught.value.message


def test_json_numbers_and_surrogates_python_cannot_hold_are_400_not_500():
    """Regression: an integer of more than 4300 digits (ValueError) and an unpaired surrogate
    escape beside the standard context (UnicodeEncodeError) were 500s."""
    for document in (b'{"@id": "http://e.example/a", "http://e.example/p": ' + b"9" * 5000 + b"}",
                     b'{"@context": "' + standard.CONTEXT_URL.encode() + b'", "@id": "http://e.example/\\ud800"}'):
        with pytest.raises(ingest.IngestError) as caught:
            ingest.parse(document, "application/ld+json")
        assert caught.value.status == 400


def test_json_number_with_a_huge_exponent_is_not_written_out():
    """Regression: ``1.5E999999999`` coerced to xsd:integer or xsd:decimal was normalised by
    writing all its digits out: a tiny upload pinned a worker for hours (then a 503 timeout)."""
    import time

    for datatype, number in (("integer", "1.5E999999999"), ("decimal", "1E-999999999"), ("integer", "1.0E5000")):
        document = (f'{{"@context": {{"n": {{"@id": "http://e.example/n", "@type": "{XSD}{datatype}"}}}}, '
                    f'"@id": "http://e.example/a", "n": {number}}}').encode()
        started = time.perf_counter()
        parsed = ingest.parse(document, "application/ld+json")
        assert time.perf_counter() - started < 1
        from decimal import Decimal

        assert Decimal(parsed.triples[0].object.value) == Decimal(number)  # kept as written (canonical form)


def test_numbers_and_dates_beyond_python_are_judged_not_crashed():
    """Regression: the SHACL engine raised on an xsd:integer of more than 4300 digits (ValueError)
    and on dates past year 9999 (OverflowError): 500 instead of a report."""
    from ecgraph.validation import shacl

    assert shacl.well_typed(ox.Literal("9" * 100_000, datatype=ox.NamedNode(XSD + "integer")))
    assert not shacl.well_typed(ox.Literal("9" * 100_000, datatype=ox.NamedNode(XSD + "int")))
    assert not shacl.well_typed(ox.Literal("999999999999-01-01", datatype=ox.NamedNode(XSD + "date")))
    assert not shacl.well_typed(ox.Literal("9" * 5000 + "-01-01T00:00:00", datatype=ox.NamedNode(XSD + "dateTime")))
    assert not shacl.well_typed(ox.Literal("9999-12-31T24:00:00", datatype=ox.NamedNode(XSD + "dateTime")))


def test_pyshacl_engine_failure_is_a_422_not_a_500(hostile):
    """Regression: the reference engine (``?engine=pyshacl``) raised TypeError on an ill-typed date
    compared with sh:lessThanOrEquals: 500. Since 1.1 both engines judge ill-typed values as SHACL
    says, with the same report, and a 5,000-digit year is shown cut in the messages; where pyshacl
    still raises (a blank node compared with sh:lessThanOrEquals) the answer is a 422 naming it."""
    document = BAD_TURTLE.replace(b'ec:startDate "2022-01-01"^^xsd:date', b'ec:startDate "' + b"9" * 5000
                                  + b'-01-01"^^xsd:date ; ec:endDate "2020-01-01"^^xsd:date')
    reports = {}
    for engine in ("pyshacl", "fast"):
        TRIED["POST /api/validate"] += 1
        r = requests.post(hostile.url + "/api/validate", params={"engine": engine}, data=document,
                          headers={"Content-Type": "text/turtle"})
        assert r.status_code == 200 and r.json()["conforms"] is False, r.text[:500]
        reports[engine] = r.json()
        assert all(len(x["message"]) < 1000 for x in reports[engine]["results"]), engine
        assert any(x["message"].count("(5006 characters)") == 1 for x in reports[engine]["results"])
    assert [x["message"] for x in reports["fast"]["results"]] == [x["message"] for x in reports["pyshacl"]["results"]]
    document = BAD_TURTLE.replace(b'ec:startDate "2022-01-01"^^xsd:date',
                                  b'ec:startDate [ ] ; ec:endDate "2020-01-01"^^xsd:date')
    assert document != BAD_TURTLE
    TRIED["POST /api/validate"] += 1
    r = requests.post(hostile.url + "/api/validate", params={"engine": "pyshacl"}, data=document,
                      headers={"Content-Type": "text/turtle"})
    assert r.status_code == 422 and "pyshacl" in r.json()["detail"], r.text
    r = requests.post(hostile.url + "/api/validate", params={"engine": "fast"}, data=document,
                      headers={"Content-Type": "text/turtle"})
    assert r.status_code == 200 and r.json()["conforms"] is False


def test_deep_but_valid_twin_is_stored_whole(hostile):
    """A conformant twin carrying a 10,000-level collection is stored, archived and served whole."""
    r = requests.post(hostile.url + "/api/twins", json={"id": "deep"}, headers=hostile.node.admin)
    token = r.json()["token"]
    body = make_twin("deep") + b"<member/0> <http://example.org/test#p> " + b"( " * DEEP + b")" * DEEP + b" .\n"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"}
    assert requests.put(hostile.url + "/api/twins/deep", data=body, headers=headers).status_code == 201
    assert requests.put(hostile.url + "/api/twins/deep", data=make_twin("deep"), headers=headers).status_code == 200
    info = requests.get(hostile.url + "/api/twins/deep").json()
    old = requests.get(hostile.url + "/api/twins/deep/versions/1", headers={"Accept": "application/n-triples"})
    assert len(old.text.strip().splitlines()) == len(list(ox.parse(body, format=ox.RdfFormat.TURTLE,
                                                                   base_iri="https://deep.example/")))
    assert info["version"] == 2
    assert requests.delete(hostile.url + "/api/twins/deep", headers=hostile.node.admin).status_code == 204


# --- property-based and mutation fuzzing ---------------------------------------------------------------

SNIPPETS = [b"\x00", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"<!ENTITY x 'y'>", b"&x;", b'"', b"'",
            b"<", b">", b"{", b"}", b"[", b"]", b"(", b")", b"\\", b"\\u0000", b"\\U0010FFFF", b"<<(", b")>>",
            b"@prefix", b"@base <file:///etc/> .", b'"@context": "http://127.0.0.1:9/c"', b'"@import"', b"\r\n",
            b"^^", b"@", b"_:", b":", b"#", b"\"\"\"", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"1e999999999"]
NESTERS = [b"[", b"(", b"{", b"[ <http://e.example/p> ", b'{"@list": [', b'{"@context": ', b"<rdf:Description><e:p>"]


@st.composite
def mutants(draw, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "nest", "swap"]))
        i = draw(st.integers(0, len(data) - 1))
        if op == "truncate":
            del data[i:]
        elif op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[i:i] = draw(st.one_of(st.binary(min_size=1, max_size=24), st.sampled_from(SNIPPETS)))
        elif op == "delete":
            del data[i:draw(st.integers(i, min(len(data), i + 200)))]
        elif op == "duplicate":
            data[i:i] = data[i:draw(st.integers(i, min(len(data), i + 200)))]
        elif op == "nest":
            data[i:i] = draw(st.sampled_from(NESTERS)) * draw(st.integers(1, 12_000))
        else:
            j = draw(st.integers(0, len(data) - 1))
            data[i], data[j] = data[j], data[i]
    return bytes(data)


FUZZ_PATHS = ("PUT /api/twins/<id>", "PUT /store", "POST /store", "POST /api/validate")


def _fuzz(hostile, fmt: str, examples: int):
    media_type, extension, base = BASES[fmt]
    before = hostile.digest()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(document=mutants(base))
    def run(document):
        for path in FUZZ_PATHS:
            check_answer(path, hostile.send(path, media_type, document, extension), None, f"{fmt} mutant")

    run()
    assert hostile.healthy()
    assert hostile.digest() == before


@pytest.mark.parametrize("fmt", sorted(BASES))
def test_mutation_fuzzing(hostile, fmt):
    _fuzz(hostile, fmt, examples=SHORT)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(BASES))
def test_mutation_fuzzing_long(hostile, fmt):
    _fuzz(hostile, fmt, examples=LONG)


def _terms_test(hostile, examples: int):
    before = hostile.digest()

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(iri=st.text(max_size=60), literal=st.text(max_size=200), language=st.text(max_size=20),
           datatype=st.text(max_size=40))
    def run(iri, literal, language, datatype):
        escaped = literal.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        document = BAD_TURTLE + (f'<member/0> <http://example.org/test#p> <{iri}> , "{escaped}"@{language} , '
                                 f'"{escaped}"^^<{datatype}> .\n').encode("utf-8", "surrogatepass")
        for path in FUZZ_PATHS:
            check_answer(path, hostile.send(path, "text/turtle", document, ".ttl"), None, "generated terms")

    run()
    assert hostile.healthy()
    assert hostile.digest() == before


def test_generated_terms(hostile):
    """Property: IRIs, literals, language tags and datatypes made of any characters never get a
    5xx, and never change the store of a node that refuses them."""
    _terms_test(hostile, examples=SHORT)


@pytest.mark.slow
def test_generated_terms_long(hostile):
    _terms_test(hostile, examples=LONG)


# --- the command line ------------------------------------------------------------------------------------

def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a runaway parser fails fast, not the host


def _inputs(directory: Path, mutants_per_format: int, seed: int) -> dict[str, tuple[str, str]]:
    """The corpus and some mutants as files named h-NNNN.<ext>; returns name -> (description, expectation)."""
    import random

    rng = random.Random(seed)
    out = {}
    items = [(name, ext, data, expectation) for name, _, ext, data, expectation in corpus()]
    for fmt, (_, ext, base) in sorted(BASES.items()):
        for k in range(mutants_per_format):
            items.append((f"{fmt} mutant {k}", ext, _random_mutant(rng, base), None))
    for i, (name, ext, data, expectation) in enumerate(items):
        path = directory / f"h-{i:04d}{ext}"
        path.write_bytes(data)
        out[path.name] = (name, expectation)
    return out


def _random_mutant(rng, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(rng.randint(1, 4)):
        if not data:
            break
        i = rng.randrange(len(data))
        op = rng.choice(["truncate", "flip", "insert", "delete", "nest"])
        if op == "truncate":
            del data[i:]
        elif op == "flip":
            data[i] ^= 1 << rng.randrange(8)
        elif op == "insert":
            data[i:i] = rng.choice(SNIPPETS)
        elif op == "delete":
            del data[i:i + rng.randrange(200)]
        else:
            data[i:i] = rng.choice(NESTERS) * rng.randint(1, 12_000)
    return bytes(data)


def _cli(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecgraph.cli", *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_limit_memory)


def test_cli_validate_hostile_inputs(tmp_path):
    _cli_validate(tmp_path, SHORT)


@pytest.mark.slow
def test_cli_validate_hostile_inputs_long(tmp_path):
    _cli_validate(tmp_path, LONG // 5)


def _cli_validate(tmp_path, count: int):
    files = _inputs(tmp_path, count, seed=count)
    out = _cli("validate", "--format", "json", "--max-bytes", str(LIMIT), "--max-triples", str(MAX_TRIPLES),
               "--timeout", "120", *sorted(str(tmp_path / f) for f in files))
    assert "Traceback" not in out.stderr and "panicked" not in out.stderr, out.stderr[-3000:]
    assert out.returncode == 2, (out.returncode, out.stderr[-3000:])
    reported = {Path(r["input"]).name for r in json.loads(out.stdout)["reports"]}
    errors = {Path(line.split(":", 1)[0]).name for line in out.stderr.splitlines() if line.startswith(str(tmp_path))}
    for name, (description, expectation) in files.items():
        assert (name in reported) != (name in errors), (description, name in reported, name in errors)
        if expectation == REFUSED:
            assert name in errors, f"{description} was not refused"
        elif expectation == PARSES:
            assert name in reported, f"{description} was refused"
    TRIED["ecgraph validate"] += len(files)


def test_cli_load_hostile_inputs(tmp_path):
    _cli_load(tmp_path, SHORT)


@pytest.mark.slow
def test_cli_load_hostile_inputs_long(tmp_path):
    _cli_load(tmp_path, LONG // 5)


def _cli_load(tmp_path, count: int):
    data = tmp_path / "data"
    good = tmp_path / "fuzz.ttl"
    good.write_bytes(make_twin(TWIN, tag="stored"))
    assert _cli("load", "--data", str(data), str(good)).returncode == 0
    from ecgraph.store.embedded import open_read_only

    before = fingerprint(open_read_only(data))
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    files = _inputs(inputs, count, seed=count + 1)
    out = _cli("load", "--data", str(data), *sorted(str(inputs / f) for f in files))
    assert "Traceback" not in out.stderr and "panicked" not in out.stderr, out.stderr[-3000:]
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-3000:]
    assert not re.search(r"^h-\d+: version", out.stdout, re.M), out.stdout
    named = set(re.findall(r"^(h-\d{4}): ", out.stderr, re.M))
    assert named == {Path(f).stem for f in files}, {Path(f).stem for f in files} ^ named
    assert out.stderr.count("nothing stored") == len(files), out.stderr[-3000:]
    assert fingerprint(open_read_only(data)) == before
    TRIED["ecgraph load"] += len(files)

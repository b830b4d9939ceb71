"""A runner for the W3C's executable HTTP test suites of SPARQL 1.1: the Protocol
(tests/w3c/sparql-protocol, 34 tests) and the Graph Store HTTP Protocol (tests/w3c/graph-store-protocol,
indirect and direct identification), copied unchanged from github.com/w3c/rdf-tests.

Each manifest entry is a list of HTTP exchanges (``ht:Request`` with its expected ``ht:Response``);
the runner sends each request as written (method, headers, body in its declared character
encoding: no header is added but ``Host``, ``Content-Length`` and, on an endpoint's write paths, its
credentials) to a real server, in order, and checks the answer:

* ``mf:expectedStatus``: an exact code (``hts:Created``) or a class (``hts:StatusCode4xx``); an
  expected 4xx answered 401 or 403 does not count (the runner sends the credentials, so such a
  refusal says nothing about the protocol);
* ``mf:expectedFormat`` ``"boolean"`` / ``"tabular"`` / ``"RDF"``: the response's Content-Type is a
  SPARQL results format (XML or JSON; CSV and TSV too for tabular) or an RDF syntax, and the body
  parses in it; ``mf:expectedBoolean``: the ASK answer;
* response headers (the Graph Store tests name ``text/turtle; charset=utf-8``): the same media type,
  and a charset, when given, that is the expected one;
* a response body (Graph Store): the graph is isomorphic to the expected one (blank nodes matched);
* ``mf:expectedLocation``: the response has a ``Location``, whose IRI (resolved against the request)
  replaces the template variable in the later requests of the test (percent-encoded in a query
  string, as any client would send it).

The manifests' paths start with ``/sparql/`` (Protocol) and ``/gsp`` (Graph Store): they are mapped
onto the endpoint's query, update and graph-store paths. A Protocol request goes to the update path
when it is one (``application/sparql-update``, an ``update`` parameter, or, for a body that says
nothing, a test named after updates), else to the query path. A test's ``ut:graphData`` (Protocol)
is loaded before it through the endpoint's update path; every test starts from the graphs the
endpoint held when it was first seen (the graphs a test created are dropped, and the default graph
is cleared when the endpoint has a default graph of its own).

    python tests/w3c_protocol.py protocol|gsp URL [--query /sparql --update /update --store /store]
                                 [--token TOKEN] [--own-default-graph] [-v]

prints the pass counts (``-v``: every test with why it failed); ``tests/test_w3c_protocol.py`` and
``tests/test_w3c_graph_store.py`` run the suites under pytest against ``ecgraph serve`` and
``oxigraph serve``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

W3C = Path(__file__).resolve().parent / "w3c"
PROTOCOL = W3C / "sparql-protocol" / "manifest.ttl"
GRAPH_STORE = W3C / "graph-store-protocol" / "manifest.ttl"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
HT = "http://www.w3.org/2011/http#"
HTS = "http://www.w3.org/2011/http-statusCodes#"
CNT = "http://www.w3.org/2011/content#"
UT = "http://www.w3.org/2009/sparql/tests/test-update#"

#: the status names the manifests use: an exact code, or a class written as its first digit
STATUSES = {"OK": 200, "Created": 201, "NoContent": 204, "NotFound": 404,
            "StatusCode2xx": 2, "StatusCode3xx": 3, "StatusCode4xx": 4, "StatusCode5xx": 5}

RESULTS_FORMATS = {"boolean": (ox.QueryResultsFormat.JSON, ox.QueryResultsFormat.XML),
                   "tabular": (ox.QueryResultsFormat.JSON, ox.QueryResultsFormat.XML,
                               ox.QueryResultsFormat.CSV, ox.QueryResultsFormat.TSV)}


@dataclass
class Exchange:
    """One ``ht:Request`` of a test and what its response must be."""

    method: str
    path: str                                   # as written in the manifest (``/sparql/...``, ``/gsp...``)
    headers: list[tuple[str, str]]
    body: bytes | None
    statuses: list[int]                         # exact codes (>= 100) or classes (2 = any 2xx)
    boolean: bool | None = None
    result_format: str | None = None            # "boolean", "tabular" or "RDF"
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str | None = None            # Turtle, compared as a graph
    location_variable: str | None = None


@dataclass
class Test:
    id: str                                     # the entry's local name: ``query_post_form``
    name: str
    manifest: str                               # the manifest file's name
    exchanges: list[Exchange]
    requires: set[str] = field(default_factory=set)
    graph_data: list[tuple[Path, str]] = field(default_factory=list)   # (file, graph IRI)


@dataclass
class Endpoint:
    """A server under test: where its query, update and graph-store services are, the headers its
    writes need, and whether its default graph is a graph of its own (not the union of all)."""

    name: str
    url: str                                    # http://127.0.0.1:PORT
    query: str = "/sparql"
    update: str = "/update"
    store: str = "/store"
    write_headers: dict[str, str] = field(default_factory=dict)
    own_default_graph: bool = False
    initial_graphs: set[str] | None = None      # the named graphs it held when first seen

    @property
    def authority(self) -> str:
        return urllib.parse.urlsplit(self.url).netloc


# --- the manifests -------------------------------------------------------------------------------

class _Graph:
    """The triples of a manifest and the files it includes, indexed by subject."""

    def __init__(self, path: Path):
        self.out: dict = {}
        self._load(path)

    def _load(self, path: Path) -> None:
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.as_uri()):
            t = quad.triple
            self.out.setdefault(t.subject, {}).setdefault(t.predicate.value, []).append(t.object)

    def all(self, node, predicate: str) -> list:
        return self.out.get(node, {}).get(predicate, [])

    def one(self, node, predicate: str):
        values = self.all(node, predicate)
        return values[0] if values else None

    def items(self, head) -> list:
        """The members of an RDF list."""
        out = []
        while head is not None and not (isinstance(head, ox.NamedNode) and head.value == RDF + "nil"):
            out.append(self.one(head, RDF + "first"))
            head = self.one(head, RDF + "rest")
        return out


def _value(term) -> str | None:
    return None if term is None else term.value


def _headers(graph: _Graph, node) -> list[tuple[str, str]]:
    out = []
    for headers in graph.all(node, HT + "headers"):
        for header in graph.items(headers):
            out.append((_value(graph.one(header, HT + "fieldName")), _value(graph.one(header, HT + "fieldValue"))))
    return out


def _body(graph: _Graph, node) -> tuple[str, str] | None:
    body = graph.one(node, HT + "body")
    if body is None:
        return None
    return _value(graph.one(body, CNT + "chars")), _value(graph.one(body, CNT + "characterEncoding")) or "UTF-8"


def _exchange(graph: _Graph, request) -> Exchange:
    response = graph.one(request, HT + "resp")
    body = _body(graph, request)
    statuses = []
    for status in graph.all(response, MF + "expectedStatus"):
        name = status.value.rpartition("#")[2]
        if name not in STATUSES:
            raise ValueError(f"unknown status {status.value} in the manifest")
        statuses.append(STATUSES[name])
    boolean = graph.one(response, MF + "expectedBoolean")
    expected_body = _body(graph, response)
    return Exchange(
        method=_value(graph.one(request, HT + "methodName")),
        path=_value(graph.one(request, HT + "absolutePath")),
        headers=_headers(graph, request),
        body=None if body is None else body[0].encode(body[1]),
        statuses=statuses,
        boolean=None if boolean is None else boolean.value == "true",
        result_format=_value(graph.one(response, MF + "expectedFormat")),
        response_headers=_headers(graph, response),
        response_body=None if expected_body is None else expected_body[0],
        location_variable=_value(graph.one(response, MF + "expectedLocation")),
    )


def load(manifest: Path) -> list[Test]:
    """The tests of a manifest (its ``mf:entries``, and those of the manifests it includes), in order."""
    graph = _Graph(manifest)
    root = ox.NamedNode(manifest.as_uri())
    tests = []
    for included in graph.items(graph.one(root, MF + "include")):
        tests.extend(load(Path(urllib.parse.urlsplit(included.value).path)))
    for entry in graph.items(graph.one(root, MF + "entries")):
        action = graph.one(entry, MF + "action")
        data = []
        for item in graph.all(entry, UT + "graphData"):
            data.append((Path(urllib.parse.urlsplit(graph.one(item, UT + "graph").value).path),
                         graph.one(item, RDFS + "label").value))
        tests.append(Test(
            id=entry.value.rpartition("#")[2],
            name=_value(graph.one(entry, MF + "name")),
            manifest=manifest.name,
            exchanges=[_exchange(graph, r) for r in graph.items(graph.one(action, HT + "requests"))],
            requires={r.value.rpartition("#")[2] for r in graph.all(entry, MF + "requires")},
            graph_data=data,
        ))
    return tests


def protocol_tests() -> list[Test]:
    return load(PROTOCOL)


def graph_store_tests() -> list[Test]:
    return load(GRAPH_STORE)


# --- running a test ------------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def media_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    def excerpt(self) -> str:
        text = self.body[:300].decode("utf-8", "replace").replace("\n", " ")
        return f"{self.status} {self.media_type or '(no Content-Type)'} {text!r}"


def send(endpoint: Endpoint, method: str, path: str, headers: list[tuple[str, str]], body: bytes | None,
         timeout: float = 60) -> Answer:
    """One HTTP request, exactly as given (a fresh connection each time: a failed test must not
    leave a half-read response behind for the next one)."""
    parts = urllib.parse.urlsplit(endpoint.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        elif method in ("POST", "PUT"):
            connection.putheader("Content-Length", "0")
        connection.endheaders(body)
        response = connection.getresponse()
        data = b"" if method == "HEAD" else response.read()
        return Answer(response.status, response.msg, data)
    finally:
        connection.close()


def _parameters(exchange: Exchange) -> set[str]:
    query = urllib.parse.urlsplit(exchange.path).query
    names = {name for name, _ in urllib.parse.parse_qsl(query, keep_blank_values=True)}
    if exchange.body is not None:
        try:
            names |= {name for name, _ in urllib.parse.parse_qsl(exchange.body.decode("utf-8"),
                                                                   keep_blank_values=True)}
        except (UnicodeDecodeError, ValueError):
            pass
    return names


def _content_type(exchange: Exchange) -> str:
    return next((v.split(";")[0].strip().lower() for n, v in exchange.headers if n.lower() == "content-type"), "")


def _target(test: Test, exchange: Exchange, endpoint: Endpoint) -> tuple[str, bool]:
    """The request path on ``endpoint`` and whether it is a write (which carries the credentials)."""
    path = exchange.path
    if path.startswith("/sparql/"):
        rest = path[len("/sparql/"):]
        media = _content_type(exchange)
        if media == "application/sparql-query":
            update = False
        elif media == "application/sparql-update":
            update = True
        elif "update" in _parameters(exchange):
            update = True
        elif "query" in _parameters(exchange):
            update = False
        else:
            update = "update" in test.id
        return (endpoint.update if update else endpoint.query) + rest, update
    if path.startswith("/gsp"):
        return endpoint.store + path[len("/gsp"):], True
    raise ValueError(f"{test.id}: a path the runner cannot map: {path}")


def _status_ok(status: int, expected: list[int]) -> bool:
    return any(status == code if code >= 100 else status // 100 == code for code in expected)


def _media_and_charset(value: str) -> tuple[str, str | None]:
    media, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip('"').lower()
    return media.strip().lower(), charset


def _graph_of(text: bytes, media_type: str, base: str):
    import rdflib

    fmt = ox.RdfFormat.from_media_type(media_type)
    if fmt is None:
        raise ValueError(f"{media_type!r} is not an RDF syntax")
    triples = [q.triple for q in ox.parse(text, format=fmt, base_iri=base)]
    graph = rdflib.Graph()
    graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode(), format="nt")
    return graph


def check(exchange: Exchange, answer: Answer, request_url: str, expects_auth_refusal: bool = False) -> str | None:
    """Why ``answer`` is not what ``exchange`` expects, or None."""
    if not _status_ok(answer.status, exchange.statuses):
        return f"expected status {exchange.statuses}, got {answer.excerpt()}"
    if answer.status in (401, 403) and exchange.statuses == [4] and not expects_auth_refusal:
        return f"refused for its credentials, not for the protocol: {answer.excerpt()}"
    if exchange.result_format in RESULTS_FORMATS or exchange.boolean is not None:
        allowed = RESULTS_FORMATS.get(exchange.result_format, RESULTS_FORMATS["boolean"])
        fmt = ox.QueryResultsFormat.from_media_type(answer.media_type) if answer.media_type else None
        if fmt not in allowed:
            return f"expected {exchange.result_format or 'boolean'} results, got {answer.excerpt()}"
        try:
            parsed = ox.parse_query_results(answer.body, format=fmt)
        except (SyntaxError, ValueError) as exc:
            return f"the {fmt} results do not parse: {exc}"
        is_boolean = isinstance(parsed, ox.QueryBoolean)
        if (exchange.result_format == "tabular") == is_boolean:
            return f"expected {exchange.result_format} results, got {'a boolean' if is_boolean else 'solutions'}"
        if not is_boolean:
            list(parsed)
        elif exchange.boolean is not None and bool(parsed) != exchange.boolean:
            return f"expected the answer {str(exchange.boolean).lower()}, got {str(bool(parsed)).lower()}"
    if exchange.result_format == "RDF":
        fmt = ox.RdfFormat.from_media_type(answer.media_type) if answer.media_type else None
        if fmt is None:
            return f"expected RDF, got {answer.excerpt()}"
        try:
            list(ox.parse(answer.body, format=fmt, base_iri=request_url))
        except SyntaxError as exc:
            return f"the {fmt} does not parse: {exc}"
    for name, value in exchange.response_headers:
        got = answer.header(name)
        if got is None:
            return f"no {name} header in the response"
        (want_media, want_charset), (got_media, got_charset) = _media_and_charset(value), _media_and_charset(got)
        if got_media != want_media or (got_charset is not None and got_charset != want_charset):
            return f"expected {name}: {value}, got {got}"
    if exchange.response_body is not None and exchange.method != "HEAD":
        try:
            got = _graph_of(answer.body, answer.media_type, request_url)
        except (SyntaxError, ValueError) as exc:
            return f"the response body is no graph: {exc}; {answer.excerpt()}"
        from rdflib.compare import isomorphic

        want = _graph_of(exchange.response_body.encode(), "text/turtle", request_url)
        if not isomorphic(got, want):
            return (f"the graph differs from the expected one: got {len(got)} triples "
                    f"{answer.body[:400].decode('utf-8', 'replace')!r}, expected {len(want)}")
    if exchange.location_variable is not None and not answer.header("Location"):
        return "expected a Location header"
    return None


# --- the endpoint's state between tests -----------------------------------------------------------

def _ask(endpoint: Endpoint, query: str) -> ox.QuerySolutions:
    answer = send(endpoint, "POST", endpoint.query,
                  [("Content-Type", "application/sparql-query"), ("Accept", "application/sparql-results+json")],
                  query.encode())
    if answer.status != 200:
        raise RuntimeError(f"{endpoint.name}: {query!r} answered {answer.excerpt()}")
    return ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)


def _update(endpoint: Endpoint, text: str) -> None:
    answer = send(endpoint, "POST", endpoint.update,
                  [("Content-Type", "application/sparql-update"), *endpoint.write_headers.items()], text.encode())
    if answer.status // 100 != 2:
        raise RuntimeError(f"{endpoint.name}: the update {text[:200]!r} answered {answer.excerpt()}")


def named_graphs(endpoint: Endpoint) -> set[str]:
    return {s["g"].value for s in _ask(endpoint, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}


def reset(endpoint: Endpoint) -> None:
    """Back to the graphs the endpoint held when first seen (the graphs tests made are dropped)."""
    if endpoint.initial_graphs is None:
        endpoint.initial_graphs = named_graphs(endpoint)
    extra = sorted(named_graphs(endpoint) - endpoint.initial_graphs)
    operations = [f"DROP SILENT GRAPH <{g}>" for g in extra]
    if endpoint.own_default_graph:
        operations.append("CLEAR SILENT DEFAULT")
    if operations:
        _update(endpoint, " ;\n".join(operations))


def load_graph_data(endpoint: Endpoint, test: Test) -> None:
    for path, graph in test.graph_data:
        triples = path.read_text()
        _update(endpoint, f"DROP SILENT GRAPH <{graph}> ;\nINSERT DATA {{ GRAPH <{graph}> {{\n{triples}\n}} }}")


def run(test: Test, endpoint: Endpoint) -> tuple[bool, str]:
    """Run ``test`` against ``endpoint``: (passed, why not, or a one-line summary of the exchange)."""
    reset(endpoint)
    load_graph_data(endpoint, test)
    variables: dict[str, str] = {}
    for number, exchange in enumerate(test.exchanges, 1):
        path, write = _target(test, exchange, endpoint)
        body = exchange.body
        for variable, value in variables.items():
            path = path.replace(variable, urllib.parse.quote(value, safe=""))
            if body is not None:
                body = body.replace(variable.encode(), value.encode())
        headers = list(exchange.headers) + (list(endpoint.write_headers.items()) if write else [])
        try:
            answer = send(endpoint, exchange.method, path, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            return False, f"request {number} ({exchange.method} {path}): no answer: {exc!r}"
        request_url = endpoint.url + path
        why = check(exchange, answer, request_url)
        if why:
            return False, f"request {number} ({exchange.method} {path}): {why}"
        if exchange.location_variable:
            variables[exchange.location_variable] = urllib.parse.urljoin(request_url, answer.header("Location"))
    return True, f"{len(test.exchanges)} exchange(s) as expected"


def applies(test: Test, own_default_graph: bool) -> bool:
    """Whether a Graph Store test applies to a node whose default graph is (not) its own: where the
    default graph is the union of all graphs, it cannot be written, and a test that writes it
    does not apply."""
    writes_default = any(e.method in ("PUT", "POST", "DELETE") and urllib.parse.urlsplit(e.path).query == "default"
                         for e in test.exchanges)
    return own_default_graph or not writes_default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=["protocol", "gsp"])
    parser.add_argument("url", help="the server's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--query", default="/sparql")
    parser.add_argument("--update", default="/update")
    parser.add_argument("--store", default="/store")
    parser.add_argument("--token", help="a bearer token sent with updates and graph-store requests")
    parser.add_argument("--own-default-graph", action="store_true",
                        help="the server's default graph is a graph of its own (not the union of all)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    endpoint = Endpoint("server", args.url.rstrip("/"), args.query, args.update, args.store,
                        {"Authorization": f"Bearer {args.token}"} if args.token else {}, args.own_default_graph)
    tests = protocol_tests() if args.suite == "protocol" else graph_store_tests()
    tests = [t for t in tests if applies(t, args.own_default_graph)]
    outcomes = {t.id: run(t, endpoint) for t in tests}
    for test in tests:
        ok, why = outcomes[test.id]
        if args.verbose or not ok:
            print(f"{'PASS' if ok else 'FAIL'} {test.manifest} {test.id}: {why}")
    passed = sum(ok for ok, _ in outcomes.values())
    print(json.dumps({"suite": args.suite, "passed": passed, "total": len(tests)}))
    return 0 if passed == len(tests) else 1


if __name__ == "__main__":
    sys.exit(main())

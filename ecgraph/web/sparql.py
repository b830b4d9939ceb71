"""The SPARQL 1.1 Protocol: ``/sparql`` for everyone's queries, ``/update`` for the admin.

Queries run in killable workers with a deadline (a lookup or DESCRIBE of one IRI in this process,
stopped between rows at the same deadline: :mod:`ecgraph.query.bounded`); ``SERVICE`` only reaches
configured peers; results come in every W3C format by content negotiation, capped at the row limit
(the cut is announced in ``X-ECGraph-Truncated``). Called with no query, ``/sparql`` describes itself (SPARQL Service
Description).
"""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qsl

import pyoxigraph as ox
from flask import Blueprint, Response, request
from werkzeug.http import unquote_etag

from ecgraph import errors, formats, standard
from ecgraph.node import Caller
from ecgraph.publish import linked
from ecgraph.query import dataset, results
from ecgraph.query.pool import QueryRequest, QueryResult
from ecgraph.web import ops
from ecgraph.web.common import SECURITY_HEADERS, by_accept, caller, iri_list, multi, negotiate, node, node_url, url_of
from ecgraph.web.face.views import triples_page

bp = Blueprint("sparql", __name__)

#: on every answer of the endpoint: any page may read it, and the headers it reads it by
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": ("X-ECGraph-Rows, X-ECGraph-Truncated, X-ECGraph-Elapsed, X-ECGraph-Cache, ETag, "
                                      "ECGraph-Partial, ECGraph-Freshness"),
}
#: on the answer to a preflight only: a browser reads these there and nowhere else (Fetch, CORS)
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept, Authorization",
    "Access-Control-Max-Age": "86400",
}

#: the shortest time limit a client may ask for: stopping a query costs a worker restart, which a
#: client must not be able to order for free with a limit no query can meet (timeout=0.0001)
MIN_REQUEST_TIMEOUT = 1.0


@bp.after_request
def _cors(response: Response) -> Response:
    if request.path in ("/sparql", "/sparql/network"):
        response.headers.update(CORS_HEADERS)
    return response


@bp.route("/sparql", methods=["OPTIONS"])
@bp.route("/sparql/network", methods=["OPTIONS"])
def preflight():
    return Response(status=204, headers=PREFLIGHT_HEADERS)


def _too_long(size: int, what: str) -> errors.TooLarge:
    limit = node().config.max_query_bytes
    return errors.TooLarge(f"the {what} is {size:,} bytes; this node accepts at most {limit:,} (its operator "
                           "sets that with --max-query-bytes / ECGRAPH_MAX_QUERY_BYTES)")


def oversize(text: str, limit: int) -> int | None:
    """The text's size in bytes when it is over ``limit``, else None."""
    if len(text) > limit // 4:  # cheap bound first
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            return size
    return None


def sized(text: str | None, what: str = "query") -> str | None:
    """The query or update text, refused with a 413 above the node's limit."""
    if text is not None and (size := oversize(text, node().config.max_query_bytes)) is not None:
        raise _too_long(size, what)
    return text


def _body_text(what: str) -> str:
    """A body sent as the query or update itself, refused from its declared length before it is
    read when it is too long."""
    limit = node().config.max_query_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _too_long(request.content_length, what)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise _too_long(len(data), what)
    return data.decode("utf-8", "replace")


def _one(name: str) -> None:
    """Refuse a request that gives a parameter the protocol allows once more than once."""
    if len(multi(name)) > 1:
        raise errors.BadRequest(f"the request gives '{name}' more than once; the SPARQL 1.1 Protocol takes "
                                f"exactly one {name} per request")


def _query_text() -> str | None:
    _one("query")
    if request.method in ("GET", "HEAD"):
        return sized(request.args.get("query"))
    if request.mimetype == "application/sparql-query":
        return _body_text("query")
    if request.mimetype == "application/x-www-form-urlencoded":
        return sized(request.form.get("query"))
    if request.mimetype == "application/sparql-update" or "update" in request.form:
        raise errors.BadRequest("SPARQL updates are not accepted on /sparql; the admin sends them to /update")
    raise errors.UnsupportedMediaType("POST a query as application/sparql-query or as the form field 'query'")


def _timeout(value: str | None, ceiling: float) -> float:
    if value is None or value == "":
        return ceiling
    try:
        seconds = float(value)
    except ValueError:
        raise errors.BadRequest(f"timeout {value!r} is not a number of seconds") from None
    if not seconds > 0:  # negative, zero or NaN
        raise errors.BadRequest("timeout must be a positive number of seconds")
    return min(max(seconds, MIN_REQUEST_TIMEOUT), ceiling)


def _limit(value: str | None, ceiling: int) -> int:
    if value is None or value == "":
        return ceiling
    try:
        rows = int(value)
    except ValueError:
        raise errors.BadRequest(f"limit {value!r} is not a whole number") from None
    if rows <= 0:
        raise errors.BadRequest("limit must be positive")
    return min(rows, ceiling)


def result_headers(result: QueryResult, limit: int | None) -> list[tuple[str, str]]:
    """What an answer says about itself beside its body: rows, time, the row cap's cut, whether it
    came from the answer cache, its ``ETag``; and that it depends on ``Accept``."""
    headers = [("X-ECGraph-Rows", str(result.rows)), ("X-ECGraph-Elapsed", f"{result.elapsed:.4f}")]
    if result.truncated:
        headers.append(("X-ECGraph-Truncated", f"true; limit={limit}"))
    headers.append(("X-ECGraph-Cache", "hit" if result.cached else "miss"))
    if result.etag:
        headers.append(("ETag", result.etag))
    headers.append(("Vary", "Accept"))
    return headers


def result_response(result: QueryResult, limit: int | None) -> Response:
    return Response(result.body, content_type=result.media_type, headers=result_headers(result, limit))


def not_modified(tag: str | None) -> Response | None:
    """``304 Not Modified`` when the request's ``If-None-Match`` names ``tag`` (weakly, as RFC 9110
    compares for GET), else None."""
    if not tag or not request.if_none_match:
        return None
    value, _weak = unquote_etag(tag)
    if value is None or not request.if_none_match.contains_weak(value):
        return None
    response = Response(status=304)
    response.headers["ETag"] = tag
    response.vary.add("Accept")
    return response


@bp.route("/sparql", methods=["GET", "POST"])
@bp.route("/sparql/network", methods=["GET", "POST"], defaults={"scope": "network"})
def sparql(scope: str | None = None):
    """The SPARQL endpoint; ``/sparql/network`` is ``/sparql?scope=network`` for clients that take an
    endpoint URL without a query string."""
    text = _query_text()
    if text is None or not text.strip():
        if "update" in request.values:
            raise errors.BadRequest("SPARQL updates are not accepted on /sparql; the admin sends them to /update")
        return service_description()
    n = node()
    base = node_url() + "/sparql"  # relative IRIs are resolved against the endpoint (protocol, 2.1.4)
    inspection = n.inspect(text, base_iri=base)
    if inspection.form == "UPDATE":
        raise errors.BadRequest("this is a SPARQL update: /sparql only answers queries; the admin sends "
                                "updates to /update")
    offers = formats.RESULTS if inspection.form in ("SELECT", "ASK") else formats.GRAPH
    query_request = QueryRequest(
        query=text,
        result_format=negotiate(offers).key,
        default_graphs=iri_list(multi("default-graph-uri"), "default-graph-uri"),
        named_graphs=iri_list(multi("named-graph-uri"), "named-graph-uri"),
        max_rows=_limit(request.values.get("limit"), n.config.max_result_rows),
        services=list(inspection.services),
        base_iri=base,
        union_default=n.config.default_graph == "union",
    )
    timeout = _timeout(request.values.get("timeout"), n.config.query_timeout)
    scope = scope or request.values.get("scope") or "local"
    if scope not in ("local", "network"):
        raise errors.BadRequest(f"scope {scope!r} is not known: 'local' (this node) or 'network' (every peer too)")
    if scope == "network":
        from ecgraph.web.network import network_answer

        return network_answer(query_request, timeout)
    unchanged = not_modified(n.answer_etag(query_request))
    if unchanged is not None:  # the client holds this answer already: nothing runs
        return unchanged
    return result_response(n.query(query_request, timeout=timeout, caller=caller()), query_request.max_rows)


@bp.route("/update", methods=["POST"])
def update():
    n = node()
    n.require_admin(caller(), "a SPARQL update")
    _one("update")
    if request.mimetype == "application/sparql-update":
        text = _body_text("update")
    elif request.mimetype == "application/x-www-form-urlencoded":
        text = sized(request.form.get("update"), "update")
    else:
        raise errors.UnsupportedMediaType("POST an update as application/sparql-update or as the form field 'update'")
    if not text or not text.strip():
        raise errors.BadRequest("no update given")
    base = node_url() + "/update"  # relative IRIs are resolved against the endpoint (protocol, 2.2.4)
    # the protocol's dataset becomes USING clauses; the check then sees the text that will run
    text = dataset.with_dataset(text, iri_list(multi("using-graph-uri"), "using-graph-uri"),
                                iri_list(multi("using-named-graph-uri"), "using-named-graph-uri"))
    if n.inspect(text, base_iri=base, update=True).form != "UPDATE":
        raise errors.BadRequest("this is a query; send it to /sparql")
    n.update(text, caller=caller(), base_iri=base)
    return Response(status=204)


# --- service description ------------------------------------------------------------------------

SD = "http://www.w3.org/ns/sparql-service-description#"
DCT = "http://purl.org/dc/terms/"


def service_description() -> Response:
    """The endpoint described in the SPARQL Service Description vocabulary, as triples. It names
    the node's own graphs; each twin's two graphs are in the catalog (``dcat:dataset``,
    ``ec:inferredGraph``), which it links: listed here, the 20,000 graphs of 10,000 twins made every
    ``GET /sparql`` 7.3 MB of JSON-LD and a quarter of a second of the web process."""
    n = node()
    fmt = negotiate((*formats.GRAPH, formats.HTML))  # browsers get a page; other clients RDF as before
    endpoint = ox.NamedNode(node_url() + "/sparql")
    sd = {name: ox.NamedNode(SD + name) for name in (
        "Service", "endpoint", "supportedLanguage", "SPARQL11Query", "feature", "UnionDefaultGraph",
        "BasicFederatedQuery", "resultFormat", "defaultDataset", "Dataset", "defaultGraph", "Graph",
        "namedGraph", "NamedGraph", "name")}
    rdf_type = standard.RDF_TYPE
    triples = [
        ox.Triple(endpoint, rdf_type, sd["Service"]),
        ox.Triple(endpoint, sd["endpoint"], endpoint),
        ox.Triple(endpoint, ox.NamedNode(DCT + "title"),
                  ox.Literal("ecgraph: energy communities' digital twins as one knowledge graph")),
        ox.Triple(endpoint, sd["supportedLanguage"], sd["SPARQL11Query"]),
        ox.Triple(endpoint, sd["feature"], sd["BasicFederatedQuery"]),
        # what the node's dataset holds (VoID), and the limits every query meets
        ox.Triple(endpoint, ox.NamedNode(linked.RDFS + "seeAlso"), ox.NamedNode(node_url() + "/void")),
        ox.Triple(endpoint, ox.NamedNode(linked.RDFS + "seeAlso"), ox.NamedNode(node_url() + "/catalog")),
        *linked.limits(endpoint, {
            "queryTimeout": (n.config.query_timeout, "decimal", "seconds a query may run before it is stopped"),
            "maxResultRows": (n.config.max_result_rows, "integer", "rows or triples an answer holds at most; the "
                              "cut is announced in the X-ECGraph-Truncated header"),
            "maxQueryBytes": (n.config.max_query_bytes, "integer", "the largest query or update text accepted"),
            "maxUploadBytes": (n.config.max_upload_bytes, "integer", "the largest upload a write accepts"),
            "federatesOnlyWithPeers": (str(bool(n.config.peers)).lower(), "boolean", "SERVICE reaches only "
                                       "the node's configured peers (none: no SERVICE at all)"),
        }),
    ]
    if n.config.default_graph == "union":
        triples.append(ox.Triple(endpoint, sd["feature"], sd["UnionDefaultGraph"]))
    for f in (*formats.RESULTS, *formats.GRAPH):
        library_format = f.results or f.rdf
        if library_format is not None:
            triples.append(ox.Triple(endpoint, sd["resultFormat"], ox.NamedNode(library_format.iri)))
    dataset, default = ox.BlankNode("dataset"), ox.BlankNode("default")
    triples += [
        ox.Triple(endpoint, sd["defaultDataset"], dataset),
        ox.Triple(dataset, rdf_type, sd["Dataset"]),
        ox.Triple(dataset, sd["defaultGraph"], default),
        ox.Triple(default, rdf_type, sd["Graph"]),
        ox.Triple(default, ox.NamedNode(DCT + "description"),
                  ox.Literal("the union of every named graph" if n.config.default_graph == "union"
                             else "a graph of its own, which the admin writes (--default-graph own)")),
        ox.Triple(dataset, ox.NamedNode(DCT + "description"),
                  ox.Literal("the node's own graphs below, and two graphs for each twin, its data and its "
                             "inferences, which the catalog lists (dcat:dataset, ec:inferredGraph)")),
    ]
    graphs = [standard.ONTOLOGY_GRAPH, standard.ONTOLOGY_GRAPH + standard.INFERRED_SUFFIX,
              standard.VOCABULARY_GRAPH, standard.CATALOG_GRAPH]
    for i, graph in enumerate(graphs):
        named = ox.BlankNode(f"g{i}")
        triples += [ox.Triple(dataset, sd["namedGraph"], named), ox.Triple(named, rdf_type, sd["NamedGraph"]),
                    ox.Triple(named, sd["name"], ox.NamedNode(graph))]
    if fmt is formats.HTML:
        return triples_page("Service description", triples, "/sparql")
    out = results.graph(triples, fmt.key, None)
    return Response(out.body, content_type=out.media_type)


# --- the protocol's common request, answered before the framework --------------------------------

#: where :class:`PlainQueries` leaves, in the WSGI environ, what it hands to the app to render: a
#: failure to raise, or a finished answer with its row cap
HANDED_OVER = "ecgraph.sparql.handed_over"

_FORM = "application/x-www-form-urlencoded"
_QUERY_BODY = "application/sparql-query"


class PlainQueries:
    """WSGI middleware before the Flask app: the SPARQL Protocol's common request, a query and
    nothing else, answered without the framework's request machinery (the request context, the
    form parser, the hooks), which cost more than the engine on a cold lookup
    (``bench/overhead.py``).

    *Plain* is ``GET /sparql?query=...``, or a ``POST /sparql`` of the form field ``query`` or of
    an ``application/sparql-query`` body, with no other parameter, no ``Authorization`` and no
    ``If-None-Match``, of a query (not an update) that calls no ``SERVICE``, asked in a format
    the endpoint answers as data. Every other request goes to the app untouched (a read body is
    given back to it), and so does everything this path does not render itself: a failure (the
    app raises it again, so every error has one rendering) and an answer without an ``ETag`` to
    a ``GET`` (the app adds the digest one). What it does is the view's, through the same
    functions: :meth:`Node.inspect`, :func:`formats.negotiate`, :meth:`Node.query`,
    :func:`result_headers`; the headers every answer carries are the app's constants, and the
    access log and metrics are :func:`ops.record`'s, once the answer is sent."""

    def __init__(self, app, flask_app):
        self.app = app
        self.node = flask_app.extensions["ecgraph.node"]
        self.metrics = flask_app.extensions["ecgraph.metrics"]
        self.fixed = [*CORS_HEADERS.items(), *SECURITY_HEADERS.items()]

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != "/sparql" or "HTTP_AUTHORIZATION" in environ or "HTTP_IF_NONE_MATCH" in environ:
            return self.app(environ, start_response)
        started = environ[ops.STARTED] = time.perf_counter()
        text = self._plain_text(environ)
        if text is None:
            return self.app(environ, start_response)
        try:
            request = self._request(environ, text)
            if request is None:
                return self.app(environ, start_response)
            n = self.node
            result = n.query(request, timeout=n.config.query_timeout,
                             caller=Caller(token=None, address=environ.get("REMOTE_ADDR") or ""))
        except Exception as exc:  # noqa: BLE001 - the app renders it, as it renders every failure
            environ[HANDED_OVER] = exc
            return self.app(environ, start_response)
        if result.etag is None and environ["REQUEST_METHOD"] == "GET":
            environ[HANDED_OVER] = (result, request.max_rows)
            return self.app(environ, start_response)
        body = result.body
        start_response("200 OK", [("Content-Type", result.media_type), ("Content-Length", str(len(body))),
                                  *result_headers(result, request.max_rows), *self.fixed])
        return _Sent(body, lambda: ops.record(self.metrics, environ, "/sparql", "/sparql", 200, len(body), started))

    def _plain_text(self, environ) -> str | None:
        """The query of a plain request, or None (the app takes the request)."""
        method = environ.get("REQUEST_METHOD")
        if method == "GET":
            if environ.get("CONTENT_TYPE") or environ.get("CONTENT_LENGTH", "0") not in ("", "0"):
                return None  # a body beside the query string: the app reads both
            try:  # WSGI gives the query string's bytes as latin-1
                pairs = _pairs(environ.get("QUERY_STRING", "").encode("latin-1").decode())
            except UnicodeError:
                return None
        elif method == "POST" and not environ.get("QUERY_STRING"):
            media_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
            length = environ.get("CONTENT_LENGTH", "")
            if (media_type not in (_FORM, _QUERY_BODY) or not length.isdigit() or "HTTP_TRANSFER_ENCODING" in environ
                    or int(length) > self.node.config.max_query_bytes):
                return None  # the app reads it, and refuses it if it is too long
            body = environ["wsgi.input"].read(int(length))
            environ["wsgi.input"] = io.BytesIO(body)  # the app may read it again
            environ["CONTENT_LENGTH"] = str(len(body))
            if media_type == _QUERY_BODY:  # not longer than the limit: its length was checked
                return body.decode("utf-8", "replace") if body.strip() else None
            try:
                pairs = _pairs(body.decode())
            except UnicodeDecodeError:
                return None
        else:
            return None
        if pairs is None or len(pairs) != 1 or pairs[0][0] != "query" or not pairs[0][1].strip():
            return None
        if oversize(pairs[0][1], self.node.config.max_query_bytes) is not None:
            return None  # the app refuses it
        return pairs[0][1]

    def _request(self, environ, text: str) -> QueryRequest | None:
        """The request the view would build for ``text``; None where the app must take it."""
        n = self.node
        base = url_of(n, environ) + "/sparql"
        inspection = n.inspect(text, base_iri=base)
        if inspection.form == "UPDATE" or inspection.services:
            return None
        offers = formats.RESULTS if inspection.form in ("SELECT", "ASK") else formats.GRAPH
        fmt = by_accept(offers, environ.get("HTTP_ACCEPT"))
        return QueryRequest(query=text, result_format=fmt.key, max_rows=n.config.max_result_rows, base_iri=base,
                            union_default=n.config.default_graph == "union")


def _pairs(encoded: str) -> list[tuple[str, str]] | None:
    """Form fields as werkzeug reads them (invalid bytes stay percent-encoded); None for more than
    two: the request is not plain."""
    try:
        return parse_qsl(encoded, keep_blank_values=True, errors="werkzeug.url_quote", max_num_fields=2)
    except ValueError:
        return None


class _Sent:
    """An answer's body for the server, with what is done once the server has sent it."""

    __slots__ = ("body", "after")

    def __init__(self, body: bytes, after):
        self.body = body
        self.after = after

    def __iter__(self):
        return iter((self.body,))

    def close(self) -> None:
        self.after()


@bp.before_request  # the endpoint's routes only: the app's own hooks (its clock) have run
def _handed_over():
    """What :class:`PlainQueries` hands over: a failure, raised here so that the app renders it
    like any other, or a finished answer to render."""
    handed = request.environ.pop(HANDED_OVER, None)
    if handed is None:
        return None
    if isinstance(handed, BaseException):
        raise handed
    result, limit = handed
    return result_response(result, limit)

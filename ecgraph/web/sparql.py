"""The SPARQL 1.1 Protocol: ``/sparql`` for everyone's queries, ``/update`` for the admin.

Queries run in killable workers with a deadline; ``SERVICE`` only reaches configured peers; results
come in every W3C format by content negotiation, capped at the row limit (the cut is announced in
``X-ECGraph-Truncated``). Called with no query, ``/sparql`` describes itself (SPARQL Service
Description).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from .. import results, standard
from ..federate import QueryRefused, inspect
from ..query import QueryFailed, QueryRequest, ServiceFailed
from ..workers import MemoryCeiling, PoolBusy, TaskTimeout, WorkerDied
from .common import ApiError, client_key, iri_list, multi, negotiate, node, node_url, require_admin

bp = Blueprint("sparql", __name__)

SELECT_OFFERS = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_OFFERS = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/n-triples": "ntriples",
    "text/plain": "ntriples",
    "application/ld+json": "jsonld",
    "application/json": "jsonld",
    "application/rdf+xml": "rdfxml",
    "application/xml": "rdfxml",
}
FORMAT_ALIASES = {"ttl": "turtle", "nt": "ntriples", "json-ld": "jsonld", "rdf": "rdfxml", "text": "tsv"}

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept, Authorization",
    "Access-Control-Expose-Headers": "X-ECGraph-Rows, X-ECGraph-Truncated, X-ECGraph-Elapsed",
    "Access-Control-Max-Age": "86400",
}


@bp.after_request
def _cors(response: Response) -> Response:
    if request.path == "/sparql":
        response.headers.update(CORS_HEADERS)
    return response


@bp.route("/sparql", methods=["OPTIONS"])
def preflight():
    return Response(status=204)


def _too_long(size: int, what: str) -> ApiError:
    limit = node().config.max_query_bytes
    return ApiError(413, "too large", f"the {what} is {size:,} bytes; this node accepts at most {limit:,} "
                                      "(its operator sets that with --max-query-bytes / ECGRAPH_MAX_QUERY_BYTES)")


def sized(text: str | None, what: str = "query") -> str | None:
    """The query or update text, refused with a 413 above the node's limit."""
    if text is not None and len(text) > node().config.max_query_bytes // 4:  # cheap bound first
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > node().config.max_query_bytes:
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


def _query_text() -> str | None:
    if request.method in ("GET", "HEAD"):
        return sized(request.args.get("query"))
    if request.mimetype == "application/sparql-query":
        return _body_text("query")
    if request.mimetype == "application/x-www-form-urlencoded":
        return sized(request.form.get("query"))
    if request.mimetype == "application/sparql-update" or "update" in request.form:
        raise ApiError(400, "bad request", "SPARQL updates are not accepted on /sparql; the admin sends them to /update")
    raise ApiError(415, "unsupported media type",
                   "POST a query as application/sparql-query or as the form field 'query'")


@bp.route("/sparql", methods=["GET", "POST"])
def sparql():
    text = _query_text()
    if text is None or not text.strip():
        if "update" in request.values:
            raise ApiError(400, "bad request", "SPARQL updates are not accepted on /sparql; the admin "
                                               "sends them to /update")
        return service_description()
    n = node()
    try:
        inspection = inspect(text, update=False)
        if inspection.form == "UPDATE":
            raise ApiError(400, "bad request", "this is a SPARQL update: /sparql only answers queries; "
                                               "the admin sends updates to /update")
        n.peers.check(inspection)
    except QueryRefused as exc:
        raise ApiError(exc.status, "query refused" if exc.status == 403 else "query syntax error",
                       str(exc)) from None
    if inspection.form in ("SELECT", "ASK"):
        fmt = negotiate(SELECT_OFFERS, "json", format_param=request.values.get("format"), aliases=FORMAT_ALIASES)
    else:
        fmt = negotiate(GRAPH_OFFERS, "turtle", format_param=request.values.get("format"), aliases=FORMAT_ALIASES)
    query_request = QueryRequest(
        query=text,
        result_format=fmt,
        default_graphs=iri_list(multi("default-graph-uri"), "default-graph-uri"),
        named_graphs=iri_list(multi("named-graph-uri"), "named-graph-uri"),
        max_rows=_limit(request.values.get("limit"), n.config.max_result_rows),
        services=list(inspection.services),
    )
    timeout = _timeout(request.values.get("timeout"), n.config.query_timeout)
    result = run_query(query_request, timeout)
    response = Response(result.body, mimetype=None, content_type=result.media_type)
    response.headers["X-ECGraph-Rows"] = str(result.rows)
    response.headers["X-ECGraph-Elapsed"] = f"{result.elapsed:.4f}"
    if result.truncated:
        response.headers["X-ECGraph-Truncated"] = f"true; limit={query_request.max_rows}"
    response.vary.add("Accept")
    return response


def run_query(query_request: QueryRequest, timeout: float):
    n = node()
    try:
        return n.query(query_request, timeout=timeout, client=client_key())
    except TaskTimeout:
        metrics_timeout()
        raise ApiError(503, "query timeout",
                       f"the query ran past the {timeout:g} s time limit and was stopped; "
                       "narrow it (LIMIT, more selective patterns) or ask the node's operator",
                       retry_after=1) from None
    except PoolBusy as exc:
        raise ApiError(503, "busy", f"{exc}; try again shortly", retry_after=2) from None
    except MemoryCeiling as exc:
        raise ApiError(503, "query too large", f"{exc}: narrow it (LIMIT, fewer joins, no ORDER BY over "
                                               "everything); the ceiling is the node's --query-memory-mb "
                                               "(ECGRAPH_QUERY_MEMORY_MB)", retry_after=1) from None
    except WorkerDied as exc:
        raise ApiError(500, "query failed", str(exc)) from None
    except ServiceFailed as exc:
        raise ApiError(502, "service call failed", exc.message) from None
    except QueryFailed as exc:
        if exc.syntax:
            raise ApiError(400, "query syntax error", exc.message) from None
        raise ApiError(400, "query evaluation error", exc.message[:2000]) from None


def metrics_timeout() -> None:
    from flask import current_app

    metrics = current_app.extensions.get("ecgraph.metrics")
    if metrics is not None:
        metrics.query_timeouts.inc()


#: the shortest time limit a client may ask for: stopping a query costs a worker restart, which a
#: client must not be able to order for free with a limit no query can meet (timeout=0.0001)
MIN_REQUEST_TIMEOUT = 1.0


def _timeout(value: str | None, ceiling: float) -> float:
    if value is None or value == "":
        return ceiling
    try:
        seconds = float(value)
    except ValueError:
        raise ApiError(400, "bad request", f"timeout {value!r} is not a number of seconds") from None
    if not seconds > 0:  # negative, zero or NaN
        raise ApiError(400, "bad request", "timeout must be a positive number of seconds")
    return min(max(seconds, MIN_REQUEST_TIMEOUT), ceiling)


def _limit(value: str | None, ceiling: int) -> int:
    if value is None or value == "":
        return ceiling
    try:
        rows = int(value)
    except ValueError:
        raise ApiError(400, "bad request", f"limit {value!r} is not a whole number") from None
    if rows <= 0:
        raise ApiError(400, "bad request", "limit must be positive")
    return min(rows, ceiling)


@bp.route("/update", methods=["POST"])
def update():
    require_admin()
    if request.mimetype == "application/sparql-update":
        text = _body_text("update")
    elif request.mimetype == "application/x-www-form-urlencoded":
        text = sized(request.form.get("update"), "update")
    else:
        raise ApiError(415, "unsupported media type",
                       "POST an update as application/sparql-update or as the form field 'update'")
    if not text or not text.strip():
        raise ApiError(400, "bad request", "no update given")
    n = node()
    try:
        inspection = inspect(text, update=True)
        n.peers.check(inspection)
    except QueryRefused as exc:
        raise ApiError(exc.status, "update refused", str(exc)) from None
    if inspection.form != "UPDATE":
        raise ApiError(400, "bad request", "this is a query; send it to /sparql")
    try:
        n.update(text)
    except SyntaxError as exc:
        raise ApiError(400, "update syntax error", str(exc)) from None
    except (RuntimeError, OSError, ValueError) as exc:
        raise ApiError(400, "update failed", str(exc)[:2000]) from None
    return Response(status=204)


# --- service description ------------------------------------------------------------------------

def service_description() -> Response:
    n = node()
    offers = dict(GRAPH_OFFERS)
    offers.update({"application/json": "jsonld"})
    fmt = negotiate(offers, "turtle", format_param=request.args.get("format"), aliases=FORMAT_ALIASES)
    base = node_url()
    graphs = [standard.ONTOLOGY_GRAPH, standard.ONTOLOGY_GRAPH + standard.INFERRED_SUFFIX,
              standard.VOCABULARY_GRAPH, standard.CATALOG_GRAPH]
    for entry in n.entries().values():
        graphs.extend([entry.graph, entry.inferred_graph])
    formats = ["SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
               "Turtle", "N-Triples", "JSON-LD", "RDF_XML"]
    lines = [
        "@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .",
        "@prefix void: <http://rdfs.org/ns/void#> .",
        "@prefix dcterms: <http://purl.org/dc/terms/> .",
        f"<{base}/sparql> a sd:Service ;",
        f"  sd:endpoint <{base}/sparql> ;",
        "  dcterms:title \"ecgraph: energy communities' digital twins as one knowledge graph\" ;",
        "  sd:supportedLanguage sd:SPARQL11Query ;",
        "  sd:feature sd:UnionDefaultGraph, sd:BasicFederatedQuery ;",
        "  sd:resultFormat " + ", ".join(f"<http://www.w3.org/ns/formats/{f}>" for f in formats) + " ;",
        "  sd:defaultDataset [ a sd:Dataset ;",
        "    sd:defaultGraph [ a sd:Graph ; dcterms:description \"the union of every named graph\" ] ;",
    ]
    lines.extend(f"    sd:namedGraph [ a sd:NamedGraph ; sd:name <{g}> ] ;" for g in graphs)
    lines.append("  ] .")
    turtle = "\n".join(lines) + "\n"
    if fmt == "turtle":
        return Response(turtle, content_type="text/turtle; charset=utf-8")
    import pyoxigraph as ox

    triples = [q.triple for q in ox.parse(turtle, format=ox.RdfFormat.TURTLE)]
    out = results.graph(triples, fmt, None)
    return Response(out.body, content_type=out.media_type)

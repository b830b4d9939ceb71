"""The SPARQL 1.1 Graph Store HTTP Protocol on ``/store``.

Reads are public. A twin's graph is written through the same publishing pipeline as the REST API
(validated, inferred, archived, committed atomically), by its publisher token or the admin token.
The node's own graphs (ontology, vocabularies, catalog, inferences) are read-only here, and the
default graph, being the union of all graphs, cannot be written.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .. import standard
from ..authority import ClaimConflict, NotAuthoritative
from ..ingest import IngestError
from ..node import NotFound, PreconditionFailed, etag
from ..pipeline import NotConformant
from ..query import QueryRequest
from ..registry import valid_twin_id
from ..workers import PoolBusy, TaskTimeout, WorkerDied
from .common import (ApiError, from_ingest, iri_list, negotiate, node, precondition, request_body,
                     require_writer)
from .sparql import FORMAT_ALIASES, GRAPH_OFFERS, run_query

bp = Blueprint("graphstore", __name__)

DATASET_OFFERS = {"application/trig": "trig", "application/n-quads": "nquads", "application/ld+json": "jsonld"}


def twin_of(graph: str) -> str | None:
    """The twin id a graph IRI names, if it names a twin's own (writable) graph."""
    if graph.startswith(standard.TWIN_GRAPH_BASE):
        candidate = graph[len(standard.TWIN_GRAPH_BASE):]
        if valid_twin_id(candidate):
            return candidate
    return None


def _target() -> tuple[str, str | None]:
    graphs = request.args.getlist("graph")
    has_default = "default" in request.args
    if graphs and has_default:
        raise ApiError(400, "bad request", "give either ?graph=IRI or ?default, not both")
    if len(graphs) > 1:
        raise ApiError(400, "bad request", "give one ?graph=IRI")
    if has_default:
        return "default", None
    if graphs:
        return "graph", iri_list(graphs, "graph")[0]
    return "dataset", None


@bp.route("/store", methods=["GET", "HEAD"])
def read():
    n = node()
    kind, graph = _target()
    limit = n.config.max_result_rows
    timeout = n.config.query_timeout
    if kind == "dataset":
        fmt = negotiate(DATASET_OFFERS, "trig", format_param=request.args.get("format"),
                        aliases={"nq": "nquads", "json-ld": "jsonld"})
        result = run_query(QueryRequest(query="", result_format=fmt, max_rows=limit, dataset_dump=True), timeout)
    else:
        fmt = negotiate(GRAPH_OFFERS, "turtle", format_param=request.args.get("format"), aliases=FORMAT_ALIASES)
        if kind == "default":
            text = "CONSTRUCT WHERE { ?s ?p ?o }"
        else:
            if not n.store.has_graph(graph):
                raise ApiError(404, "not found", f"no graph <{graph}> on this node")
            text = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
        request_ = QueryRequest(query=text, result_format=fmt, max_rows=limit)
        if kind == "graph":
            # The graph is bound through the dataset, never pasted into the query text.
            request_.named_graphs = [graph]
        result = run_query(request_, timeout)
    response = Response(result.body, content_type=result.media_type)
    response.headers["X-ECGraph-Rows"] = str(result.rows)
    if result.truncated:
        response.headers["X-ECGraph-Truncated"] = f"true; limit={limit}"
    if kind == "graph":
        twin_id = twin_of(graph)
        tag = etag(n.entry(twin_id)) if twin_id else None
        if tag:
            response.headers["ETag"] = tag
    response.vary.add("Accept")
    return response


def _writable_twin(graph: str | None, kind: str) -> str:
    if kind != "graph":
        error = ApiError(405, "method not allowed",
                         "the default graph is the union of every twin and is read-only; "
                         "write a twin's graph with ?graph=IRI")
        error.headers["Allow"] = "GET, HEAD"
        raise error
    twin_id = twin_of(graph)
    if twin_id is None:
        raise ApiError(403, "forbidden", f"<{graph}> is not a twin's graph; the node's own graphs "
                                         f"are read-only and twins live under {standard.TWIN_GRAPH_BASE}<id>")
    return twin_id


@bp.route("/store", methods=["PUT", "POST"])
def write():
    kind, graph = _target()
    twin_id = _writable_twin(graph, kind)
    admin = require_writer(twin_id)
    n = node()
    if n.registry.twin(twin_id) is None:
        raise ApiError(404, "not found", f"twin {twin_id!r} is not registered; register it with POST /api/twins")
    data, path = request_body()
    upload = n.upload_for(twin_id, data, media_type=request.content_type, path=path)
    published = publish_or_error(twin_id, upload, admin, merge=request.method == "POST")
    body = jsonify({"twin": n.twin_info(twin_id), "report": published.report})
    body.status_code = 201 if published.created else 200
    body.headers["ETag"] = etag(published.entry)
    return body


def publish_or_error(twin_id: str, upload, admin: bool, merge: bool = False):
    """Publish and turn every pipeline failure into the contract's error answer."""
    n = node()
    try:
        return n.publish(twin_id, upload, admin=admin, merge=merge, precondition=precondition())
    except IngestError as exc:
        raise from_ingest(exc) from None
    except NotConformant as exc:
        raise ApiError(422, "not conformant", str(exc), report=exc.report) from None
    except NotAuthoritative as exc:
        raise ApiError(422, "not authoritative", exc.message, subjects=exc.subjects) from None
    except ClaimConflict as exc:
        raise ApiError(409, "namespace conflict", exc.message + "; nothing was stored") from None
    except PreconditionFailed as exc:
        error = ApiError(412, "precondition failed", f"{exc}; nothing was stored", etag=exc.etag)
        if exc.etag:
            error.headers["ETag"] = exc.etag
        raise error from None
    except NotFound as exc:
        raise ApiError(404, "not found", str(exc)) from None
    except TaskTimeout:
        raise ApiError(503, "timeout", f"preparing the upload took longer than {n.config.publish_timeout:g} s; "
                                       "nothing was stored") from None
    except PoolBusy as exc:
        raise ApiError(503, "busy", f"{exc}; nothing was stored, try again shortly", retry_after=5) from None
    except WorkerDied as exc:
        raise ApiError(500, "upload failed", f"{exc}; nothing was stored") from None


@bp.route("/store", methods=["DELETE"])
def delete():
    kind, graph = _target()
    twin_id = _writable_twin(graph, kind)
    require_writer(twin_id)
    try:
        node().unpublish(twin_id, precondition())
    except NotFound:
        raise ApiError(404, "not found", f"no graph <{graph}> on this node") from None
    except PreconditionFailed as exc:
        raise ApiError(412, "precondition failed", f"{exc}; nothing was removed", etag=exc.etag) from None
    return Response(status=204)

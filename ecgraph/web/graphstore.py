"""The SPARQL 1.1 Graph Store HTTP Protocol on ``/store``.

Reads are public. A twin's graph is written through the same publishing pipeline as the REST API
(validated, inferred, archived, committed atomically), by its publisher token or the admin token;
``POST`` adds to it (a merge, under the twin's lock). The node's own graphs (ontology,
vocabularies, catalog, inferences) are read-only here, and the default graph, being the union of
all graphs, cannot be written.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ecgraph import errors, formats, standard
from ecgraph.node import etag
from ecgraph.query.pool import QueryRequest
from ecgraph.store.registry import valid_twin_id
from ecgraph.web.common import caller, iri_list, negotiate, node, precondition, request_body
from ecgraph.web.sparql import not_modified, result_response

bp = Blueprint("graphstore", __name__)


def twin_of(graph: str | None) -> str | None:
    """The twin id a graph IRI names, if it names a twin's own (writable) graph."""
    if graph and graph.startswith(standard.TWIN_GRAPH_BASE):
        candidate = graph[len(standard.TWIN_GRAPH_BASE):]
        if valid_twin_id(candidate):
            return candidate
    return None


def _target() -> tuple[str, str | None]:
    graphs = request.args.getlist("graph")
    has_default = "default" in request.args
    if graphs and has_default:
        raise errors.BadRequest("give either ?graph=IRI or ?default, not both")
    if len(graphs) > 1:
        raise errors.BadRequest("give one ?graph=IRI")
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
    if kind == "dataset":
        query = QueryRequest(query="", result_format=negotiate(formats.DATASET).key, max_rows=limit,
                             dataset_dump=True)
    elif kind == "default":
        query = QueryRequest(query="CONSTRUCT WHERE { ?s ?p ?o }", result_format=negotiate(formats.GRAPH).key,
                             max_rows=limit)
    else:
        assert graph is not None
        if not n.has_graph(graph):
            raise errors.NotFound(f"no graph <{graph}> on this node")
        # The graph is bound through the dataset, never pasted into the query text.
        query = QueryRequest(query="CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
                             result_format=negotiate(formats.GRAPH).key, max_rows=limit, named_graphs=[graph])
    response = result_response(n.query(query, caller=caller()), limit)
    tag = etag(n.entry(twin_of(graph) or "")) if kind == "graph" else None
    if tag:
        response.headers["ETag"] = tag
    return not_modified(response.headers.get("ETag")) or response


def _writable_twin(graph: str | None, kind: str) -> str:
    if kind != "graph":
        raise errors.MethodNotAllowed("the default graph is the union of every twin and is read-only; write a "
                                      "twin's graph with ?graph=IRI", headers={"Allow": "GET, HEAD"})
    twin_id = twin_of(graph)
    if twin_id is None:
        raise errors.Forbidden(f"<{graph}> is not a twin's graph; the node's own graphs are read-only and twins "
                               f"live under {standard.TWIN_GRAPH_BASE}<id>")
    return twin_id


@bp.route("/store", methods=["PUT", "POST"])
def write():
    kind, graph = _target()
    twin_id = _writable_twin(graph, kind)
    n = node()
    n.check_writer(twin_id, caller())  # before reading what may be a large body
    data, path = request_body()
    upload = n.upload_for(twin_id, data, media_type=request.content_type, path=path)
    published = n.publish(twin_id, upload, caller=caller(), merge=request.method == "POST",
                          precondition=precondition())
    body = jsonify({"twin": n.twin_info(twin_id), "report": published.report})
    body.status_code = 201 if published.created else 200
    body.headers["ETag"] = etag(published.entry)
    return body


@bp.route("/store", methods=["DELETE"])
def delete():
    kind, graph = _target()
    twin_id = _writable_twin(graph, kind)
    node().unpublish(twin_id, caller=caller(), precondition=precondition())
    return Response(status=204)

"""The SPARQL 1.1 Graph Store HTTP Protocol on ``/store``: a graph named by ``?graph=IRI`` (indirect
identification), by ``?default``, or by the request URL itself, ``/store/<path>`` (direct
identification: the graph's IRI is that URL).

Reads are public. A twin's graph is written through the same publishing pipeline as the REST API
(validated, inferred, archived, committed atomically), by its publisher token or the admin token;
``POST`` adds to it (a merge, under the twin's lock). The node's own graphs (ontology,
vocabularies, catalog, inferences) are read-only here. Any other named graph is reference data
(regions, another body's code lists) that the admin manages as in a plain store: ``PUT``,
``POST`` (also ``multipart/form-data``, one document a part), ``DELETE``, and ``POST /store``
creates a graph with an IRI of the node's choosing (201 with ``Location``). The default graph is
the union of all graphs and cannot be written (405, naming the setting), unless the node runs
with ``--default-graph own``, where it is a graph of its own that the admin writes.
"""

from __future__ import annotations

import urllib.parse
import uuid

from flask import Blueprint, Response, jsonify, request

from ecgraph import errors, formats, standard
from ecgraph.node import etag
from ecgraph.publish import ingest
from ecgraph.query.pool import QueryRequest
from ecgraph.store.registry import valid_twin_id
from ecgraph.web.common import caller, iri_list, negotiate, node, node_url, precondition, request_body
from ecgraph.web.sparql import not_modified, result_response

bp = Blueprint("graphstore", __name__)

#: the characters a path keeps as they are when it becomes a graph IRI (RFC 3986 pchar and "/")
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def twin_of(graph: str | None) -> str | None:
    """The twin id a graph IRI names, if it names a twin's own (writable) graph."""
    if graph and graph.startswith(standard.TWIN_GRAPH_BASE):
        candidate = graph[len(standard.TWIN_GRAPH_BASE):]
        if valid_twin_id(candidate):
            return candidate
    return None


def _target(rest: str | None = None) -> tuple[str, str | None]:
    """("graph", IRI), ("default", None) or ("dataset", None): what the request names."""
    if rest is not None:
        if "graph" in request.args or "default" in request.args:
            raise errors.BadRequest("a graph named by its URL (/store/<path>) takes no ?graph= or ?default")
        return "graph", node_url() + urllib.parse.quote(request.path, safe=_PATH_SAFE)
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
@bp.route("/store/<path:rest>", methods=["GET", "HEAD"])
def read(rest: str | None = None):
    n = node()
    kind, graph = _target(rest)
    limit = n.config.max_result_rows
    if kind == "dataset":
        query = QueryRequest(query="", result_format=negotiate(formats.DATASET).key, max_rows=limit,
                             dataset_dump=True)
    elif kind == "default":
        query = QueryRequest(query="CONSTRUCT WHERE { ?s ?p ?o }", result_format=negotiate(formats.GRAPH).key,
                             max_rows=limit, union_default=n.config.default_graph == "union")
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


def _documents() -> list[tuple[bytes, str | None, str | None]]:
    """The RDF documents of a write: the body, or each file of a ``multipart/form-data`` body,
    as (data, media type, file name)."""
    if request.mimetype == "multipart/form-data":
        parts = [(f.read(), f.mimetype if f.mimetype != "application/octet-stream" else None, f.filename)
                 for f in request.files.values()]
        if not parts:
            raise errors.BadRequest("the multipart/form-data body has no file part; send each RDF document as a "
                                    "part with its Content-Type (or a file name that says its syntax)")
        return parts
    data, path = request_body()
    if path is not None:
        with open(path, "rb") as fh:
            data = fh.read()
    return [(data, request.content_type, None)]


def _triples(graph: str | None) -> list:
    """The triples of every document of the request, each read with the graph's IRI as its base
    (blank nodes of different documents stay apart)."""
    n = node()
    triples: list = []
    for data, media_type, filename in _documents():
        parsed = ingest.parse(data, media_type, filename, base_iri=graph or node_url() + "/store",
                              max_bytes=n.config.max_upload_bytes, max_triples=n.config.max_triples)
        triples.extend(parsed.triples)
        if len(triples) > n.config.max_triples:
            raise errors.TooLarge(f"the documents hold more than {n.config.max_triples:,} triples, the limit")
    return triples


@bp.route("/store", methods=["PUT", "POST"])
@bp.route("/store/<path:rest>", methods=["PUT", "POST"])
def write(rest: str | None = None):
    kind, graph = _target(rest)
    n = node()
    if kind == "dataset":
        if request.method != "POST":
            raise errors.MethodNotAllowed("PUT needs a graph: ?graph=IRI, ?default or /store/<path>; POST /store "
                                          "creates a new graph", headers={"Allow": "GET, HEAD, POST"})
        return _create()
    twin_id = twin_of(graph) if kind == "graph" else None
    if twin_id is None:
        return _write_other(graph if kind == "graph" else None)
    n.check_writer(twin_id, caller())  # before reading what may be a large body
    if request.mimetype == "multipart/form-data":
        documents = _documents()
        if len(documents) != 1:
            raise errors.BadRequest("a twin's graph takes one document per request (each write is one validated "
                                    "version of the twin); send the parts one by one, or as one document")
        data, media_type, filename = documents[0]
        upload = n.upload_for(twin_id, data, media_type=media_type, filename=filename)
    else:
        data, path = request_body()
        upload = n.upload_for(twin_id, data, media_type=request.content_type, path=path)
    published = n.publish(twin_id, upload, caller=caller(), merge=request.method == "POST",
                          precondition=precondition())
    body = jsonify({"twin": n.twin_info(twin_id), "report": published.report})
    body.status_code = 201 if published.created else 200
    body.headers["ETag"] = etag(published.entry)
    return body


def _write_other(graph: str | None) -> Response:
    """A reference graph, or the default graph where it is the node's own: the admin's."""
    n = node()
    n.check_graph_writer(graph, caller())  # refused before the body is read
    created = n.write_graph(graph, _triples(graph), caller=caller(), merge=request.method == "POST")
    return Response(status=201 if created else 204)


def _create() -> Response:
    """``POST /store``: a new graph, named by the node (under ``/store/``, so that its IRI is also
    its URL), answered 201 with its ``Location``."""
    n = node()
    graph = f"{node_url()}/store/{uuid.uuid4()}"
    n.check_graph_writer(graph, caller())
    n.write_graph(graph, _triples(graph), caller=caller())
    response = Response(status=201)
    response.headers["Location"] = graph
    return response


@bp.route("/store", methods=["DELETE"])
@bp.route("/store/<path:rest>", methods=["DELETE"])
def delete(rest: str | None = None):
    kind, graph = _target(rest)
    if kind == "dataset":
        raise errors.MethodNotAllowed("DELETE needs a graph: ?graph=IRI, ?default or /store/<path>",
                                      headers={"Allow": "GET, HEAD, POST"})
    twin_id = twin_of(graph) if kind == "graph" else None
    if twin_id is None:
        node().drop_graph(graph, caller=caller())
    else:
        node().unpublish(twin_id, caller=caller(), precondition=precondition())
    return Response(status=204)

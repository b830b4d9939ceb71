"""The REST API for publishers and operators: ``/api/twins``.

Register a twin (admin; the publisher token is shown once), publish or replace its data (its
token), read its metadata, versions and last conformance report, rotate or revoke its token,
publish it from a URL the node pulls, unpublish it (its token) or remove it (admin). Everything a
publisher does here goes through the same pipeline as the Graph Store Protocol.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ecgraph import errors, formats, standard
from ecgraph.node import etag
from ecgraph.query import results
from ecgraph.web.common import caller, negotiate, node, node_url, precondition, request_body, text, whole

bp = Blueprint("api", __name__, url_prefix="/api")


def _links(twin_id: str) -> dict:
    base = node_url()
    return {
        "self": f"{base}/api/twins/{twin_id}",
        "data": f"{base}/api/twins/{twin_id}/data",
        "versions": f"{base}/api/twins/{twin_id}/versions",
        "report": f"{base}/api/twins/{twin_id}/report",
        "badge": f"{base}/api/twins/{twin_id}/badge.svg",
        "graph_store": f"{base}/store?graph={standard.twin_graph(twin_id)}",
    }


def _with_links(info: dict) -> dict:
    info["links"] = _links(info["id"])
    return info


@bp.get("/twins")
def list_twins():
    limit = whole(request.args.get("limit"), "limit", 1000, minimum=1, maximum=10000)
    offset = whole(request.args.get("offset"), "offset", 0)
    total, twins = node().twins(offset, limit)
    return jsonify({"total": total, "offset": offset, "limit": limit, "twins": [_with_links(t) for t in twins]})


@bp.post("/twins")
def register():
    n = node()
    n.require_admin(caller(), "registering a twin")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise errors.BadRequest('send JSON like {"id": "my-community", "title": "My community"}')
    twin_id = body.get("id")
    if not isinstance(twin_id, str):
        raise errors.BadRequest("id must be a slug: [a-z0-9][a-z0-9-]{0,62}")
    title = text(body.get("title") or twin_id, "title", 500)
    namespaces = body.get("namespaces", [])
    if not isinstance(namespaces, list) or len(namespaces) > 100:
        raise errors.BadRequest('namespaces must be a list of IRI prefixes, like ["https://zonnewijk.example/id/"]')
    token = n.register(twin_id, title, [text(ns, "each namespace", 2000) for ns in namespaces], caller=caller())
    out = jsonify({"id": twin_id, "title": title, "graph": standard.twin_graph(twin_id), "token": token,
                   "namespaces": n.twin_info(twin_id)["namespaces"],
                   "note": "the token is shown once; keep it secret", "links": _links(twin_id)})
    out.status_code = 201
    out.headers["Location"] = f"/api/twins/{twin_id}"
    return out


@bp.get("/twins/<twin_id>")
def twin(twin_id: str):
    info = _with_links(node().twin_info(twin_id))
    out = jsonify(info)
    if info.get("etag"):
        out.headers["ETag"] = info["etag"]
    return out


@bp.put("/twins/<twin_id>")
def publish(twin_id: str):
    n = node()
    n.twin_info(twin_id)  # 404 for what is no twin id at all
    n.check_writer(twin_id, caller())  # before reading what may be a large body
    data, path = request_body()
    upload = n.upload_for(twin_id, data, media_type=request.content_type,
                          format_name=request.args.get("format"), path=path)
    published = n.publish(twin_id, upload, caller=caller(), precondition=precondition())
    out = jsonify({"twin": n.twin_info(twin_id), "report": published.report,
                   "timings": {k: round(v, 4) for k, v in published.timings.items()}})
    out.status_code = 201 if published.created else 200
    out.headers["ETag"] = etag(published.entry)
    return out


@bp.post("/twins/<twin_id>/pull")
def pull(twin_id: str):
    n = node()
    n.twin_info(twin_id)
    n.check_writer(twin_id, caller())
    body = request.get_json(silent=True)
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url:
        raise errors.BadRequest('send JSON like {"url": "https://example.org/twin.ttl"}')
    published, source = n.publish_from_url(twin_id, url, caller=caller())
    out = jsonify({"twin": n.twin_info(twin_id), "report": published.report, "source": source})
    out.status_code = 201 if published.created else 200
    return out


@bp.delete("/twins/<twin_id>")
def remove(twin_id: str):
    """Only the admin, who creates registrations, removes them; a publisher unpublishes its data
    with DELETE /api/twins/<id>/data."""
    node().twin_info(twin_id)
    node().delete(twin_id, caller=caller())
    return Response(status=204)


@bp.get("/twins/<twin_id>/data")
def data(twin_id: str):
    node().twin_info(twin_id)
    version = request.args.get("version")
    return _graph_response(twin_id, whole(version, "version", 0, minimum=1) if version else None)


@bp.delete("/twins/<twin_id>/data")
def unpublish(twin_id: str):
    """Unpublish: the twin's data leaves the graph; its registration, token and versions stay."""
    node().twin_info(twin_id)
    node().unpublish(twin_id, caller=caller(), precondition=precondition())
    return Response(status=204)


@bp.get("/twins/<twin_id>/versions")
def versions(twin_id: str):
    node().twin_info(twin_id)
    base = node_url()
    items = node().versions(twin_id)
    for item in items:
        item["links"] = {"data": f"{base}/api/twins/{twin_id}/versions/{item['version']}"}
    return jsonify({"id": twin_id, "versions": items})


@bp.get("/twins/<twin_id>/versions/<int:version>")
def version(twin_id: str, version: int):
    node().twin_info(twin_id)
    entry = node().entry(twin_id)
    return _graph_response(twin_id, None if entry is not None and entry.version == version else version)


def _graph_response(twin_id: str, version: int | None) -> Response:
    fmt = negotiate(formats.GRAPH)
    out = results.graph(node().twin_data(twin_id, version), fmt.key, None)
    response = Response(out.body, content_type=out.media_type)
    if version is None:
        tag = etag(node().entry(twin_id))
        if tag:
            response.headers["ETag"] = tag
    response.vary.add("Accept")
    return response


@bp.get("/twins/<twin_id>/report")
def report(twin_id: str):
    node().twin_info(twin_id)
    return jsonify(node().report(twin_id))


@bp.post("/twins/<twin_id>/token")
def rotate(twin_id: str):
    node().twin_info(twin_id)
    token = node().rotate_token(twin_id, caller=caller())
    return jsonify({"id": twin_id, "token": token, "note": "the previous token no longer works"})


@bp.delete("/twins/<twin_id>/token")
def revoke(twin_id: str):
    node().twin_info(twin_id)
    node().revoke_token(twin_id, caller=caller())
    return Response(status=204)

"""The REST API for publishers and operators: ``/api/twins``.

Register a twin (admin; the publisher token is shown once), publish or replace its data (its
token), read its metadata, versions and last conformance report, rotate or revoke its token,
publish it from a URL the node pulls, remove it. Everything a publisher does here goes through the
same pipeline as the Graph Store Protocol.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

import re

from .. import results, standard
from ..authority import ClaimConflict
from ..fetch import FetchRefused
from ..node import Conflict, NotFound, PreconditionFailed, etag
from ..registry import valid_twin_id
from .common import (ApiError, negotiate, node, node_url, precondition, request_body, require_admin,
                     require_writer)
from .graphstore import publish_or_error
from .sparql import FORMAT_ALIASES, GRAPH_OFFERS

bp = Blueprint("api", __name__, url_prefix="/api")


def _twin_or_404(twin_id: str) -> dict:
    if not valid_twin_id(twin_id):
        raise ApiError(404, "not found", f"{twin_id!r} is not a twin id")
    info = node().twin_info(twin_id)
    if info is None:
        raise ApiError(404, "not found", f"no twin {twin_id!r} on this node")
    return info



def _registered_or_404(twin_id: str) -> None:
    """Token operations: the caller may write the twin, and the twin has a registry record (data
    loaded by an admin's update can exist without one)."""
    info = _twin_or_404(twin_id)
    require_writer(twin_id)
    if not info["registered"]:
        raise ApiError(404, "not found", f"twin {twin_id!r} is not registered")

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


@bp.get("/twins")
def list_twins():
    n = node()
    limit = _whole(request.args.get("limit"), "limit", 1000, minimum=1)
    offset = _whole(request.args.get("offset"), "offset", 0, minimum=0)
    limit = min(limit, 10000)
    ids = sorted({t.id for t in n.registry.twins()} | set(n.entries()))
    page = ids[offset:offset + limit]
    twins = []
    for twin_id in page:
        info = n.twin_info(twin_id)
        if info is not None:
            info["links"] = _links(twin_id)
            twins.append(info)
    return jsonify({"total": len(ids), "offset": offset, "limit": limit, "twins": twins})


_WHOLE = re.compile(r"[0-9]{1,40}")


def _whole(value: str | None, name: str, default: int, minimum: int) -> int:
    """A whole-number query parameter (ASCII digits only: ``int()`` also takes ``²`` and ``٣``)."""
    if value is None or value == "":
        return default
    if not _WHOLE.fullmatch(value) or int(value) < minimum:
        raise ApiError(400, "bad request", f"{name} must be a whole number of at least {minimum}, not {value!r}")
    return int(value)


def _text(value, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ApiError(400, "bad request", f"{name} must be a non-empty string of at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "bad request", f"{name} holds a character that is not valid Unicode text "
                                           "(a lone surrogate); send it as UTF-8 text") from None
    return value


@bp.post("/twins")
def register():
    require_admin()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad request", 'send JSON like {"id": "my-community", "title": "My community"}')
    twin_id = body.get("id")
    if not isinstance(twin_id, str) or not valid_twin_id(twin_id):
        raise ApiError(400, "bad request", "id must be a slug: [a-z0-9][a-z0-9-]{0,62}")
    title = _text(body.get("title") or twin_id, "title", 500)
    namespaces = body.get("namespaces", [])
    if not isinstance(namespaces, list) or len(namespaces) > 100:
        raise ApiError(400, "bad request", 'namespaces must be a list of IRI prefixes, like '
                                           '["https://zonnewijk.example/id/"]')
    namespaces = [_text(ns, "each namespace", 2000) for ns in namespaces]
    try:
        token = node().register(twin_id, title, namespaces)
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except ClaimConflict as exc:
        raise ApiError(409, "namespace conflict", exc.message) from None
    out = jsonify({"id": twin_id, "title": title, "graph": standard.twin_graph(twin_id), "token": token,
                   "namespaces": node().registry.namespaces(twin_id),
                   "note": "the token is shown once; keep it secret",
                   "links": _links(twin_id)})
    out.status_code = 201
    out.headers["Location"] = f"/api/twins/{twin_id}"
    return out


@bp.get("/twins/<twin_id>")
def twin(twin_id: str):
    info = _twin_or_404(twin_id)
    info["links"] = _links(twin_id)
    out = jsonify(info)
    if info.get("etag"):
        out.headers["ETag"] = info["etag"]
    return out


@bp.put("/twins/<twin_id>")
def publish(twin_id: str):
    if not valid_twin_id(twin_id):
        raise ApiError(404, "not found", f"{twin_id!r} is not a twin id")
    admin = require_writer(twin_id)
    n = node()
    if n.registry.twin(twin_id) is None:
        raise ApiError(404, "not found", f"twin {twin_id!r} is not registered; the admin registers it first")
    data, path = request_body()
    upload = n.upload_for(twin_id, data, media_type=request.content_type,
                          format_name=request.args.get("format"), path=path)
    published = publish_or_error(twin_id, upload, admin)
    out = jsonify({"twin": n.twin_info(twin_id), "report": published.report,
                   "timings": {k: round(v, 4) for k, v in published.timings.items()}})
    out.status_code = 201 if published.created else 200
    out.headers["ETag"] = etag(published.entry)
    return out


@bp.post("/twins/<twin_id>/pull")
def pull(twin_id: str):
    if not valid_twin_id(twin_id):
        raise ApiError(404, "not found", f"{twin_id!r} is not a twin id")
    admin = require_writer(twin_id)
    body = request.get_json(silent=True)
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url:
        raise ApiError(400, "bad request", 'send JSON like {"url": "https://example.org/twin.ttl"}')
    n = node()
    if n.registry.twin(twin_id) is None:
        raise ApiError(404, "not found", f"twin {twin_id!r} is not registered")
    from ..fetch import fetch

    try:
        fetched = fetch(url, n.fetch_policy)
    except FetchRefused as exc:
        raise ApiError(exc.status, "fetch refused" if exc.status in (400, 403) else "fetch failed",
                       exc.message) from None
    upload = n.upload_for(twin_id, fetched.data, media_type=fetched.media_type,
                          filename=fetched.url.split("?", 1)[0].rsplit("/", 1)[-1])
    published = publish_or_error(twin_id, upload, admin)
    out = jsonify({"twin": n.twin_info(twin_id), "report": published.report, "source": fetched.url})
    out.status_code = 201 if published.created else 200
    return out


@bp.delete("/twins/<twin_id>")
def remove(twin_id: str):
    """Only the admin, who creates registrations, removes them; a publisher unpublishes its data
    with DELETE /api/twins/<id>/data."""
    _twin_or_404(twin_id)
    require_admin()
    try:
        node().delete(twin_id)
    except NotFound as exc:
        raise ApiError(404, "not found", str(exc)) from None
    return Response(status=204)


@bp.get("/twins/<twin_id>/data")
def data(twin_id: str):
    _twin_or_404(twin_id)
    version = request.args.get("version")
    return _graph_response(twin_id, _whole(version, "version", 0, minimum=1) if version else None)


@bp.delete("/twins/<twin_id>/data")
def unpublish(twin_id: str):
    """Unpublish: the twin's data leaves the graph; its registration, token and versions stay."""
    _twin_or_404(twin_id)
    require_writer(twin_id)
    try:
        node().unpublish(twin_id, precondition())
    except NotFound as exc:
        raise ApiError(404, "not found", str(exc)) from None
    except PreconditionFailed as exc:
        raise ApiError(412, "precondition failed", f"{exc}; nothing was removed", etag=exc.etag) from None
    return Response(status=204)


@bp.get("/twins/<twin_id>/versions")
def versions(twin_id: str):
    _twin_or_404(twin_id)
    base = node_url()
    items = node().versions(twin_id)
    for item in items:
        item["links"] = {"data": f"{base}/api/twins/{twin_id}/versions/{item['version']}"}
    return jsonify({"id": twin_id, "versions": items})


@bp.get("/twins/<twin_id>/versions/<int:version>")
def version(twin_id: str, version: int):
    _twin_or_404(twin_id)
    entry = node().entry(twin_id)
    return _graph_response(twin_id, None if entry is not None and entry.version == version else version)


def _graph_response(twin_id: str, version: int | None) -> Response:
    fmt = negotiate(GRAPH_OFFERS, "turtle", format_param=request.args.get("format"), aliases=FORMAT_ALIASES)
    try:
        triples = node().twin_data(twin_id, version)
    except NotFound as exc:
        raise ApiError(404, "not found", str(exc)) from None
    out = results.graph(triples, fmt, None)
    response = Response(out.body, content_type=out.media_type)
    if version is None:
        tag = etag(node().entry(twin_id))
        if tag:
            response.headers["ETag"] = tag
    response.vary.add("Accept")
    return response


@bp.get("/twins/<twin_id>/report")
def report(twin_id: str):
    _twin_or_404(twin_id)
    saved = node().registry.report(twin_id)
    if saved is None:
        raise ApiError(404, "not found", f"twin {twin_id!r} has no report yet: publish it first")
    return jsonify(saved)


@bp.post("/twins/<twin_id>/token")
def rotate(twin_id: str):
    _registered_or_404(twin_id)
    token = node().registry.rotate_token(twin_id)
    return jsonify({"id": twin_id, "token": token, "note": "the previous token no longer works"})


@bp.delete("/twins/<twin_id>/token")
def revoke(twin_id: str):
    _registered_or_404(twin_id)
    node().registry.revoke_token(twin_id)
    return Response(status=204)

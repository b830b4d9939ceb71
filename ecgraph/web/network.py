"""The network's HTTP face: the change stream, the peers, harvest, join requests, and the answer to
``/sparql?scope=network`` (the SPARQL blueprint hands such queries here); peer health in
``/metrics``. Everything goes through :class:`ecgraph.node.Node`."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from prometheus_client.core import GaugeMetricFamily

from ecgraph import errors, formats
from ecgraph.discovery import feeds
from ecgraph.network.netquery import mark_partial
from ecgraph.query.pool import QueryRequest
from ecgraph.web.common import caller, negotiate, node, node_url, whole

bp = Blueprint("network", __name__, url_prefix="/api")

#: the change stream: JSON for machines (the default), Atom for feed readers
CHANGES_FORMATS = (formats.PAGE_JSON, formats.ATOM)
PARTIAL_HEADER = "ECGraph-Partial"
FRESHNESS_HEADER = "ECGraph-Freshness"


@bp.get("/changes")
def changes():
    """The change stream, as JSON (paged) or, for feed readers, Atom (``Accept: application/atom+xml``
    or ``?format=atom``)."""
    chosen = negotiate(CHANGES_FORMATS)
    limit = whole(request.args.get("limit"), "limit", 100, minimum=1, maximum=1000)
    if chosen is formats.ATOM:
        given = request.args.get("since")
        since_or_newest = None if given is None else whole(given, "since", 0)
        body = feeds.atom(node().changes_feed(node_url(), since_or_newest, limit))
        return Response(body, content_type=chosen.media_type, headers={"Vary": "Accept"})
    since = whole(request.args.get("since"), "since", 0)
    page = node().changes(since, limit)
    page["links"] = {"self": f"{node_url()}/api/changes?since={since}&limit={limit}",
                     "next": f"{node_url()}/api/changes?since={page['next']}&limit={limit}"}
    out = jsonify(page)
    out.headers["Vary"] = "Accept"
    return out


def _with_links(peer: dict) -> dict:
    peer["links"] = {"self": f"{node_url()}/api/peers/{peer['id']}"}
    return peer


@bp.get("/peers")
def peers():
    return jsonify({"node": node_url(), "peers": [_with_links(p) for p in node().peers_status()]})


def _url_from_body() -> str:
    body = request.get_json(silent=True)
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not url:
        raise errors.BadRequest('send JSON like {"url": "https://node.example.org"}')
    return url


@bp.post("/peers")
def add_peer():
    n = node()
    n.require_admin(caller(), "adding a peer")
    peer, created = n.add_peer(_url_from_body(), caller=caller())
    out = jsonify(_with_links(peer))
    out.status_code = 201 if created else 200
    out.headers["Location"] = f"/api/peers/{peer['id']}"
    return out


@bp.delete("/peers/<int:peer_id>")
def remove_peer(peer_id: int):
    node().remove_peer(peer_id, caller=caller())
    return Response(status=204)


@bp.post("/peers/check")
def check_peers():
    return jsonify({"peers": [_with_links(p) for p in node().check_peers(caller=caller())]})


@bp.post("/peers/harvest")
def harvest():
    n = node()
    n.require_admin(caller(), "harvesting the peers")
    body = request.get_json(silent=True)
    peer = body.get("peer") if isinstance(body, dict) else None
    if peer is not None and not isinstance(peer, int):
        raise errors.BadRequest('"peer" is a peer id from GET /api/peers')
    return jsonify({"harvests": n.harvest(peer, caller=caller())})


@bp.post("/peers/requests")
def request_join():
    peer = node().request_join(_url_from_body(), caller=caller())
    out = jsonify({**peer, "note": "the node's admin decides; nothing is harvested or federated before"})
    out.status_code = 202
    return out


@bp.get("/peers/requests")
def join_requests():
    return jsonify({"requests": node().peers_status(pending=True, caller=caller())})


@bp.post("/peers/requests/<int:peer_id>")
def decide(peer_id: int):
    body = request.get_json(silent=True)
    decision = body.get("decision") if isinstance(body, dict) else None
    if decision not in ("approve", "refuse"):
        raise errors.BadRequest('send JSON like {"decision": "approve"} or {"decision": "refuse"}')
    peer = node().decide_join(peer_id, decision == "approve", caller=caller())
    if peer is None:
        return Response(status=204)
    return jsonify(_with_links(peer))


@bp.post("/twins/<twin_id>/refresh")
def refresh(twin_id: str):
    """Refresh a twin that stays at home from its source now (the admin)."""
    return jsonify({"id": twin_id, "source": node().refresh_source(twin_id, caller=caller())})


def network_answer(query_request: QueryRequest, timeout: float) -> Response:
    """``/sparql?scope=network``: the answer, its freshness, and what is missing from it."""
    from ecgraph.web.sparql import result_response

    answer = node().network_query(query_request, timeout, caller=caller())
    result = answer.result
    warning = f"{node_url()}/api/peers"
    if answer.missing:
        result.body = mark_partial(result.body, result.media_type, warning)
    response = result_response(result, query_request.max_rows)
    if answer.missing:
        response.headers[PARTIAL_HEADER] = ", ".join(answer.missing)
        response.headers["Link"] = f'<{warning}>; rel="describedby"'
    response.headers[FRESHNESS_HEADER] = ", ".join(f"{url}={when}" for url, when in answer.freshness.items()) or "local"
    return response


class PeerHealth:
    """Peer health for Prometheus, read from the peers table at each scrape."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        n = self.app.extensions["ecgraph.node"]
        up = GaugeMetricFamily("ecgraph_peer_up", "1 when the peer answered its last contact", labels=["peer", "kind"])
        latency = GaugeMetricFamily("ecgraph_peer_latency_seconds", "Time the peer took at its last check",
                                    labels=["peer"])
        copies = GaugeMetricFamily("ecgraph_peer_harvested_twins", "Twins harvested from the peer", labels=["peer"])
        harvest_ok = GaugeMetricFamily("ecgraph_peer_last_harvest_ok", "1 when the last harvest succeeded",
                                       labels=["peer"])
        for peer in n.peers_status():
            up.add_metric([peer["url"], peer["kind"]], 1.0 if peer["reachable"] else 0.0)
            if peer["latency_ms"] is not None:
                latency.add_metric([peer["url"]], peer["latency_ms"] / 1000)
            copies.add_metric([peer["url"]], float(peer["harvested_twins"] or 0))
            if peer["last_harvest"]:
                harvest_ok.add_metric([peer["url"]], 0.0 if peer["last_harvest"].get("error") else 1.0)
        yield from (up, latency, copies, harvest_ok)


@bp.record_once
def _metrics(state) -> None:
    metrics = state.app.extensions.get("ecgraph.metrics")
    if metrics is not None:
        metrics.registry.register(PeerHealth(state.app))


def openapi_paths(errors: dict, twin_id: dict, bearer: list) -> dict:
    """The network's paths for ``/api/openapi.json`` (:mod:`ecgraph.web.openapi` merges them)."""
    peer_id = {"name": "peer_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    url_body = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["url"], "properties": {"url": {"type": "string", "format": "uri"}}}}}}
    ok = {"description": "JSON"}
    admin = {"401": errors["401"], "403": errors["403"]}
    return {
        "/api/changes": {"get": {
            "summary": "The node's changes as a stream (sequence, time, twin, version, hash, kind), paged; "
                       "Atom with Accept: application/atom+xml or format=atom (newest first without since)",
            "parameters": [{"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
            "responses": {"200": ok, "400": errors["400"]}}},
        "/api/peers": {
            "get": {"summary": "The peers: kind, reachability, last contact, latency, twins, last harvest, refused "
                               "twins, unsupported profiles, namespace conflicts", "responses": {"200": ok}},
            "post": {"summary": "Add a peer (a node's base URL or a SPARQL endpoint's URL)", "security": bearer,
                     "requestBody": url_body, "responses": {"200": ok, "201": ok, "400": errors["400"], **admin}}},
        "/api/peers/{peer_id}": {"parameters": [peer_id], "delete": {
            "summary": "Remove a peer and every copy harvested from it", "security": bearer,
            "responses": {"204": {"description": "Removed"}, "404": errors["404"], **admin}}},
        "/api/peers/check": {"post": {"summary": "Contact every peer once", "security": bearer,
                                      "responses": {"200": ok, **admin}}},
        "/api/peers/harvest": {"post": {"summary": "Harvest every peer (or one: {\"peer\": id}) now",
                                        "security": bearer, "responses": {"200": ok, **admin}}},
        "/api/peers/requests": {
            "get": {"summary": "Join requests waiting for the admin", "security": bearer,
                    "responses": {"200": ok, **admin}},
            "post": {"summary": "Ask this node to add yours as a peer (rate-limited)", "requestBody": url_body,
                     "responses": {"202": ok, "400": errors["400"], "429": {"description": "Too many requests"}}}},
        "/api/peers/requests/{peer_id}": {"parameters": [peer_id], "post": {
            "summary": "Approve or refuse a join request ({\"decision\": \"approve\"|\"refuse\"})", "security": bearer,
            "responses": {"200": ok, "204": {"description": "Refused"}, "404": errors["404"], **admin}}},
        "/api/twins/{id}/refresh": {"parameters": [twin_id], "post": {
            "summary": "Refresh a twin registered with a source from its source now", "security": bearer,
            "responses": {"200": ok, "404": errors["404"], **admin}}},
    }

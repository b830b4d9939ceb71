"""The network's HTTP face: the change stream, the peers, harvest, join requests, and the answer to
``/sparql?scope=network`` (the SPARQL blueprint hands such queries here); peer health in
``/metrics``. Everything goes through :class:`ecgraph.node.Node`."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from prometheus_client.core import GaugeMetricFamily

from ecgraph import errors
from ecgraph.network.netquery import mark_partial
from ecgraph.query.pool import QueryRequest
from ecgraph.web.common import caller, node, node_url, whole

bp = Blueprint("network", __name__, url_prefix="/api")

PARTIAL_HEADER = "ECGraph-Partial"
FRESHNESS_HEADER = "ECGraph-Freshness"


@bp.get("/changes")
def changes():
    since = whole(request.args.get("since"), "since", 0)
    limit = whole(request.args.get("limit"), "limit", 100, minimum=1, maximum=1000)
    page = node().changes(since, limit)
    page["links"] = {"self": f"{node_url()}/api/changes?since={since}&limit={limit}",
                     "next": f"{node_url()}/api/changes?since={page['next']}&limit={limit}"}
    return jsonify(page)


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


def openapi_paths(errors: dict) -> dict:
    """This blueprint's part of the node's OpenAPI description (:mod:`.openapi`)."""
    json_ok = {"description": "JSON", "content": {"application/json": {"schema": {"type": "object"}}}}
    admin = [{"bearer": []}]
    peer_id = {"name": "peer_id", "in": "path", "required": True, "schema": {"type": "integer"}}

    def op(summary: str, *, codes: tuple[str, ...] = ("400",), parameters: tuple = (), secured: bool = False,
           body: bool = False) -> dict:
        out: dict = {"summary": summary, "responses": {"200": json_ok, **{k: errors[k] for k in codes}}}
        if parameters:
            out["parameters"] = list(parameters)
        if secured:
            out["security"] = admin
        if body:
            out["requestBody"] = {"content": {"application/json": {"schema": {"type": "object"}}}}
        return out

    since = {"name": "since", "in": "query", "schema": {"type": "integer"},
             "description": "Sequence number after which changes are listed"}
    return {
        "/api/changes": {"get": op("The node's changes as a stream (sequence, time, twin, version, hash, kind)",
                                   parameters=(since,))},
        "/api/peers": {"get": op("The peers and their health, last harvest and refusals"),
                       "post": op("Add a peer by its URL (the admin)", secured=True, body=True)},
        "/api/peers/{peer_id}": {"delete": op("Remove a peer and its harvested copies (the admin)",
                                              parameters=(peer_id,), secured=True, codes=("404",))},
        "/api/peers/check": {"post": op("Contact every peer now (the admin)", secured=True)},
        "/api/peers/harvest": {"post": op("Harvest every peer now, or one (the admin)", secured=True, body=True)},
        "/api/peers/requests": {"get": op("Join requests waiting for the admin", secured=True),
                                "post": op("Ask this node to add yours as a peer (anyone, rate-limited)",
                                           body=True, codes=("400",))},
        "/api/peers/requests/{peer_id}": {"post": op("Approve or refuse a join request (the admin)",
                                                     parameters=(peer_id,), secured=True, body=True,
                                                     codes=("400", "404"))},
        "/api/twins/{id}/refresh": {"post": op("Refresh a twin that stays at home from its source now (the admin)",
                                               parameters=({"name": "id", "in": "path", "required": True,
                                                            "schema": {"type": "string"}},),
                                               secured=True, codes=("404",))},
    }

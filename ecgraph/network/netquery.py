"""Network queries: ``/sparql?scope=network``, one endpoint for the whole network.

The node federates by itself, with its own HTTP client under the URL-safety rules, not through the
engine's ``SERVICE``. Before it answers, it brings its copies of every ecgraph peer up to date, all
peers at once, within a deadline: half of the query's time limit, at most ``--peer-timeout``. With
no changes that is one request to each peer's change stream. The query then runs once over this
node's twins and the fresh copies, on one engine, so that joins and aggregates that span nodes
give what one store holding all the data would give.

A peer that does not answer within the deadline (down, slow, dripping) is **left out**: its copies
are not part of this answer's dataset, and the answer is marked partial: the ``ECGraph-Partial``
header names the missing peers, and a SPARQL JSON answer links (``head.link``) the warning document,
``/api/peers``, which says why. Every answer states its freshness in ``ECGraph-Freshness``: the
time each peer's data was confirmed current.

Copies kept as **unsupported profile** (their twin claims a release of the profiles this node does
not know: :mod:`ecgraph.network.harvest`) are left out of every network answer's dataset too.

Tracing: each copy is a named graph whose name says which node and which twin it comes from (see
:mod:`ecgraph.network.harvest`); ``GRAPH ?g`` in a query gives it for each row, and the network graph
says where each ``?g`` comes from (``prov:wasAttributedTo``).

SPARQL endpoints that are not ecgraph nodes (a foreign store) take part the same way: their named
graphs are harvested by comparison (:mod:`ecgraph.network.harvest`) before the query, within the
same deadline, and an endpoint that is down or slow is named in ``ECGraph-Partial`` like any peer.
A query may still reach one directly with ``SERVICE`` (the allowlist is the peers table).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ecgraph import formats, standard
from ecgraph.network.harvest import Harvester, Outcome, peer_graphs_prefix
from ecgraph.network.peers import PeerCall, check
from ecgraph.query.pool import QueryRequest, QueryResult

if TYPE_CHECKING:
    from ecgraph.node import Caller, Node

#: a peer confirmed current this recently is not asked again for the next network query
FRESH_SECONDS = 1.0


@dataclass
class NetworkAnswer:
    result: QueryResult
    missing: list[str] = field(default_factory=list)
    freshness: dict[str, str] = field(default_factory=dict)


def synchronise(node: Node, harvester: Harvester, peers: list[dict], deadline: float) -> tuple[list[str], dict]:
    """Bring every peer's copies up to date in parallel within ``deadline`` seconds: the peers that
    could not be confirmed current in time, and the time each other one was."""
    results: dict[int, Outcome | None] = {}
    end = time.monotonic() + deadline

    def one(peer: dict) -> None:
        lock = harvester.lock(peer["id"])
        if not lock.acquire(timeout=max(0.0, end - time.monotonic())):
            results[peer["id"]] = None
            return
        try:
            if peer["state"].get("kind") not in ("ecgraph", "sparql"):  # never contacted (a --peer): what is it?
                call = PeerCall(peer["url"], node.fetch_policy, max(0.05, end - time.monotonic()))
                peer["state"] = check(call, peer["state"])
                node.registry.set_peer_state(peer["id"], peer["state"])
                if not peer["state"].get("reachable"):
                    results[peer["id"]] = None
                    return
            last = (peer["state"].get("last_harvest") or {})
            if peer["state"].get("synced_at", 0) > time.time() - FRESH_SECONDS and not last.get("error"):
                results[peer["id"]] = Outcome(peer["url"], started=last.get("time", ""))
                return
            outcome = harvester.harvest(peer, max(0.05, end - time.monotonic()))
            if outcome.error is None:
                peer["state"]["synced_at"] = time.time()
                node.registry.set_peer_state(peer["id"], peer["state"])
            results[peer["id"]] = outcome
        finally:
            lock.release()

    threads = [threading.Thread(target=one, args=(p,), daemon=True, name="ecgraph-sync") for p in peers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    missing, freshness = [], {}
    for peer in peers:
        outcome = results.get(peer["id"])
        if outcome is None or outcome.error is not None:
            missing.append(peer["url"])
        else:
            freshness[peer["url"]] = outcome.started
    return missing, freshness


def run(node: Node, harvester: Harvester, request: QueryRequest, timeout: float, caller: Caller) -> NetworkAnswer:
    started = time.monotonic()
    peers = [p for p in node.registry.peers() if p["approved"]]
    missing, freshness = synchronise(node, harvester, peers, min(node.config.peer_timeout, timeout / 2))
    unsupported = {graph for peer in peers for graph in unsupported_graphs(node, peer)}
    if (missing or unsupported) and not request.default_graphs:
        prefixes = tuple(peer_graphs_prefix(url) for url in missing)
        kept = [g for g in node.store.named_graphs() if not g.startswith(prefixes) and g not in unsupported]
        request.default_graphs = kept
        request.named_graphs = request.named_graphs or kept
    remaining = max(1.0, timeout - (time.monotonic() - started))
    result = node.query(request, timeout=remaining, caller=caller)
    return NetworkAnswer(result, missing, freshness)


def unsupported_graphs(node: Node, peer: dict) -> list[str]:
    """The graphs of ``peer``'s copies kept as unsupported profile (and their inferences): left out."""
    graphs = [copy["graph"] for copy in node.registry.harvested(peer["id"]).values() if copy.get("unsupported")]
    return graphs + [g + standard.INFERRED_SUFFIX for g in graphs]


def mark_partial(body: bytes, media_type: str, warning: str) -> bytes:
    """A SPARQL JSON answer with ``head.link`` to the warning document (other formats carry the header
    only)."""
    if formats.of_media_type(media_type.split(";")[0].strip(), formats.RESULTS) is not formats.JSON:
        return body
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    head = answer.setdefault("head", {})
    head["link"] = [*head.get("link", []), warning]
    return json.dumps(answer).encode("utf-8")

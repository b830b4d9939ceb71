"""The network of nodes: peers, the change stream, harvest and network queries.

* :mod:`.peers`: the peers table (``--peer``, the admin's additions, approved join requests), what
  each peer is (an ecgraph node or a SPARQL endpoint) and how it is called (confined to it, under the
  URL-safety rules, within a deadline);
* :mod:`.changes`: the node's changes as a stream (``/api/changes?since=N``);
* :mod:`.harvest`: copies of the peers' twins, incremental, validated, with provenance;
* :mod:`.netquery`: ``/sparql?scope=network``, over this node and every peer's fresh copies.

:class:`Network` holds them together for one node; :class:`ecgraph.node.Node` exposes its methods
(the one API the web layer and the command line use).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ecgraph import errors, standard
from ecgraph.network import changes, harvest, netquery, sources
from ecgraph.network.harvest import Harvester, Outcome
from ecgraph.network.peers import MAX_PENDING_REQUESTS, JoinLimiter, PeerCall, check, normalise
from ecgraph.publish import catalog

if TYPE_CHECKING:
    from ecgraph.node import Caller, Node
    from ecgraph.query.pool import QueryRequest

log = logging.getLogger("ecgraph.network")

#: a namespace a twin claims, in the catalog (VoID: a common prefix of the dataset's resource IRIs)
VOID_URI_SPACE = "http://rdfs.org/ns/void#uriSpace"


class Network:
    def __init__(self, node: Node):
        self.node = node
        self.harvester = Harvester(node)
        self.limiter = JoinLimiter()
        self._stop = threading.Event()
        self._schedule: threading.Thread | None = None

    def install_configured(self) -> None:
        """Put the ``--peer`` URLs in the peers table (their kind is found at the first check)."""
        for url in self.node.config.peers:
            self.node.registry.add_peer(normalise(url), "config")
        self.node.peers.changed()
        self.sync_claims()
        self.sync_copies()
        for row in self.node.registry.peers():  # conflicts found before they were kept in the store
            if row["state"].get("conflicts"):
                self.harvester.store_conflicts(row["url"], {}, row["state"]["conflicts"])

    # --- the change stream ---------------------------------------------------------------------------

    def changes(self, since: int = 0, limit: int = 100) -> dict:
        return changes.page(self.node.registry, since, limit)

    # --- peers -------------------------------------------------------------------------------------

    def _row(self, peer_id: int) -> dict:
        for row in self.node.registry.peers():
            if row["id"] == peer_id:
                return row
        raise errors.NotFound(f"no peer {peer_id} on this node; GET /api/peers lists them")

    @staticmethod
    def describe(row: dict) -> dict:
        state = row["state"]
        return {"id": row["id"], "url": row["url"], "kind": state.get("kind", "unknown"),
                "origin": row["origin"], "added": row["added"], "approved": row["approved"],
                "reachable": state.get("reachable"), "last_contact": state.get("last_contact"),
                "latency_ms": state.get("latency_ms"), "twins": state.get("twins"),
                "profiles": state.get("profiles", []), "harvested_twins": state.get("harvested_twins", 0),
                "last_harvest": state.get("last_harvest"), "error": state.get("error"),
                "refused": [{"twin": t, **r} for t, r in sorted((state.get("refused") or {}).items())],
                "not_harvested": [{"twin": t, **r} for t, r in sorted((state.get("skipped") or {}).items())],
                "unsupported": state.get("unsupported", []),
                "conflicts": [{"twin": t, **c} for t, found in sorted((state.get("conflicts") or {}).items())
                              for c in found]}

    def peers(self, *, pending: bool = False) -> list[dict]:
        return [self.describe(r) for r in self.node.registry.peers() if r["approved"] != pending]

    def add(self, url: str) -> tuple[dict, bool]:
        """Add a peer (approved) and contact it once: its description, and whether it is new."""
        url = normalise(url)
        peer_id, created = self.node.registry.add_peer(url, "admin")
        if not created:
            self.node.registry.approve_peer(peer_id)
        self.node.peers.changed()
        return self.check_one(peer_id), created

    def remove(self, peer_id: int) -> None:
        """Remove a peer and every copy harvested from it; SERVICE stops reaching it."""
        row = self._row(peer_id)
        with self.harvester.lock(peer_id):
            self.harvester.drop_peer(row)
            self.harvester.store_conflicts(row["url"], row["state"].get("conflicts") or {}, {})
            self.node.registry.remove_peer(peer_id)
        self.node.peers.changed()

    def check_one(self, peer_id: int) -> dict:
        row = self._row(peer_id)
        call = PeerCall(row["url"], self.node.fetch_policy, self.node.config.peer_timeout)
        state = check(call, row["state"])
        self.node.registry.set_peer_state(peer_id, state)
        row["state"] = state
        return self.describe(row)

    def check_all(self) -> list[dict]:
        return [self.check_one(r["id"]) for r in self.node.registry.peers() if r["approved"]]

    def catalog_triples(self) -> list[ox.Triple]:
        """For ``/catalog``: the namespaces claimed by this node's twins that have no catalog entry
        (registered, not published). A published twin's claims are in its catalog entry, and the
        namespace conflicts with peers' twins in the network graph, both in the store, where
        ``/sparql`` finds them too."""
        published = self.node.entries()
        return [ox.Triple(ox.NamedNode(standard.twin_graph(twin_id)), ox.NamedNode(VOID_URI_SPACE), ox.Literal(prefix))
                for prefix, twin_id in self.node.registry.claims() if twin_id not in published]

    def sync_claims(self) -> None:
        """Bring the catalog entries' claims in line with the registry's (a store written before
        entries stated them, or a claim fixed after an interrupted write): one commit, at start.
        A twin this registry does not hold (a new ``--data`` over a store other nodes write) keeps
        the claims its entry states: they are the registering node's, not this one's to erase."""
        node = self.node
        registered = {twin.id: twin for twin in node.registry.twins()}
        stale = {}
        for twin_id, entry in node.entries().items():
            twin = registered.get(twin_id)
            if twin is None:
                continue
            claimed = sorted(twin.namespaces)
            if sorted(entry.namespaces) != claimed:
                stale[twin_id] = replace(entry, namespaces=claimed)
        if not stale:
            return
        subjects = [s for e in stale.values() for s in e.subjects()]
        with node._write_lock:
            node.store.commit(delete_subjects={standard.CATALOG_GRAPH: subjects},
                              insert={standard.CATALOG_GRAPH: [t for e in stale.values() for t in e.to_triples()]})
            node._entries.update(stale)
        log.info("stated the namespace claims of %d twins in their catalog entries", len(stale))

    def sync_copies(self) -> None:
        """Restate the catalog entries of copies kept before entries gave a copy's size and what
        this node's validation found (``void:triples``, ``ec:warningCount``: see
        :func:`ecgraph.network.harvest.provenance`): one query, and one commit if any, at start;
        an unchanged copy is otherwise never written again."""
        node = self.node
        found = node.store.query(
            "SELECT ?g WHERE { GRAPH <" + harvest.NETWORK_GRAPH + "> { ?g a <" + harvest.HARVESTED_TWIN + "> "
            "FILTER NOT EXISTS { ?g <" + catalog.VOID + "triples> ?n } } }")
        stale = {row["g"].value for row in found}
        if not stale:
            return
        held = {}
        for peer in node.registry.peers():
            for twin_id, record in node.registry.harvested(peer["id"]).items():
                graph = record.get("graph") or harvest.copy_graph(peer["url"], twin_id)
                if graph in stale and record.get("triples") is not None:
                    held[graph] = harvest.provenance(peer["url"], twin_id, {**record, "graph": graph})
        if not held:
            return
        subjects = [ox.NamedNode(g + suffix) for g in held for suffix in ("", "#checksum")]
        with node._write_lock:
            node.store.commit(delete_subjects={harvest.NETWORK_GRAPH: subjects},
                              insert={harvest.NETWORK_GRAPH: [t for triples in held.values() for t in triples]})
        log.info("stated the size and verdict of %d harvested copies in their catalog entries", len(held))

    # --- joining -----------------------------------------------------------------------------------

    def request_join(self, url: str, address: str) -> dict:
        """Someone asks that ``url`` become a peer: kept pending until the admin decides."""
        self.limiter.admit(address)
        url = normalise(url)
        known = {r["url"]: r for r in self.node.registry.peers()}
        if url in known:
            return self.describe(known[url])
        if sum(1 for r in known.values() if not r["approved"]) >= MAX_PENDING_REQUESTS:
            raise errors.Unavailable("this node has too many join requests waiting for its admin; try later")
        peer_id, _ = self.node.registry.add_peer(url, "request", approved=False)
        return self.describe(self._row(peer_id))

    def decide(self, peer_id: int, approve: bool) -> dict | None:
        row = self._row(peer_id)
        if row["approved"]:
            raise errors.Conflict(f"peer {peer_id} is already approved; DELETE /api/peers/{peer_id} removes it")
        if not approve:
            self.node.registry.remove_peer(peer_id)
            return None
        self.node.registry.approve_peer(peer_id)
        self.node.peers.changed()
        return self.check_one(peer_id)

    # --- harvest -----------------------------------------------------------------------------------

    def harvest(self, peer_id: int | None = None) -> list[dict]:
        """Harvest every approved peer (or one), each within the harvest deadline: ecgraph nodes by their
        catalogs and change streams, SPARQL endpoints by their named graphs."""
        rows = [self._row(peer_id)] if peer_id is not None else [r for r in self.node.registry.peers() if r["approved"]]
        out = []
        for row in rows:
            if row["state"].get("kind") not in ("ecgraph", "sparql"):
                self.check_one(row["id"])
                row = self._row(row["id"])
            if row["state"].get("kind") not in ("ecgraph", "sparql"):
                out.append({"peer": row["url"], "outcome": "skipped",
                            "error": row["state"].get("error") or "neither an ecgraph node nor a SPARQL endpoint"})
                continue
            with self.harvester.lock(row["id"]):
                outcome: Outcome = self.harvester.harvest(row, self.node.config.harvest_timeout)
            out.append({"peer": row["url"], **outcome.to_dict()})
        return out

    def start_schedule(self, interval: float) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.harvest()
                except Exception:  # one bad round must not end the schedule
                    log.exception("scheduled harvest failed")

        self._schedule = threading.Thread(target=loop, daemon=True, name="ecgraph-harvest")
        self._schedule.start()

    def start_refresher(self, tick: float = 1.0) -> None:
        """Refresh the twins registered with a source when they are due (checked every ``tick`` s)."""
        def loop() -> None:
            while not self._stop.wait(tick):
                for twin_id in sources.due(self.node):
                    try:
                        sources.refresh(self.node, twin_id)
                    except Exception:  # one bad source must not end the schedule
                        log.exception("refreshing twin %s failed", twin_id)

        threading.Thread(target=loop, daemon=True, name="ecgraph-refresh").start()

    def close(self) -> None:
        self._stop.set()

    # --- network queries ---------------------------------------------------------------------------

    def query(self, request: QueryRequest, timeout: float, caller: Caller) -> netquery.NetworkAnswer:
        return netquery.run(self.node, self.harvester, request, timeout, caller)

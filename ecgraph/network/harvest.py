"""Harvest: copies of the peers' twins in this node's store, so that the network is one large-scale
twin, queryable here (joins and aggregates across nodes run on one engine).

Which twins: those whose **home is the peer** (its catalog's ``ec:PublishedTwin`` entries; its
change rows without a ``home``). What a node harvested from a third node is never harvested again,
so A harvesting B harvesting A neither duplicates nor ping-pongs.

Plain SPARQL 1.1 endpoints (a foreign store, such as ``oxigraph serve``) serve neither a catalog nor
a change stream: they are harvested **by catalog comparison of their named graphs**. Each named
graph is one twin (its id: the last segment of an ecgraph twin graph's IRI, else a slug of the
graph's IRI), read with a ``CONSTRUCT`` over the endpoint (the same confined, deadline-bound calls
as any peer call), and kept only when its content hash differs from the copy held. The default
graph of such a store is not harvested. The rest (validation, the authority rule, named graphs of
their own, provenance) is as for an ecgraph peer.

How, incrementally: the first harvest compares the peer's DCAT catalog (``/catalog``) with the
copies held (an unchanged twin costs nothing more); later harvests read the peer's change stream
from the last sequence number seen (``/api/changes?since=N``: nothing changed costs one request). A
changed twin's data is fetched from its per-twin data URL (``/api/twins/<id>/data``) with
``If-None-Match`` (304: one conditional request). A peer that serves no change stream is compared
by catalog every time.

What is kept: each copy is validated by the same pipeline as an upload (parse, limits, SHACL,
inference), in the same workers, then checked against the authority rule *as seen from this node*:
a copy that states facts about resources of a local twin, of the node, or of another copy is
refused (a harvested twin cannot override what local twins or the node say). A refused or
non-conformant twin keeps its last good copy, and the reason is in the peer's status
(``/api/peers``). A twin deleted at its home is dropped from the copies.

Where: each copy is a named graph of its own, ``https://w3id.org/ecgraph/graph/harvested/<peer>/<id>``
(``<peer>`` a slug of the peer's URL, so two nodes' ``zonnewijk`` stay apart), with its inferences
beside it and its provenance in the graph ``https://w3id.org/ecgraph/graph/network``: the twin at its
home (``prov:wasDerivedFrom``), the home node (``prov:wasAttributedTo``), the harvest time
(``prov:generatedAtTime``), the version and the SHA-256 of the copy, and, as a published twin's
entry says them, its size (``void:triples``) and what this node's validation of it found
(``ec:warningCount``, ``ec:conformanceStatus``), so that a network question over the catalog ("the
twins with the most warnings") counts every twin. The node's ``/catalog`` lists them beside its own
twins.
Discovery (:mod:`ecgraph.discovery`) indexes each copy under its graph's IRI as it is kept and
removes it as it is dropped, so similar communities, lessons and comparisons cover the network.

Profile versions: a copy is validated against the release it claims (``dcterms:conformsTo``) when
this node knows it. A twin that claims only releases this node does not know (its home runs a newer
standard) cannot be judged here: it is kept as an **unsupported profile** copy (checked against the
authority rule, not refused for what the node's releases say), listed as such in ``/api/peers``
(``unsupported``) and in its catalog entry (``a ec:UnsupportedProfileTwin``, with a comment saying
which release), claims no namespace, and is left out of network answers (:mod:`.netquery`).

Erasure: a person's data erased at a twin's home (:meth:`ecgraph.node.Node.erase`) is announced in
its change stream (an ``erased`` row with the digests of the erased value). A harvest that reads it
erases the same data from the copy at once (:meth:`Harvester.erase_copy`), before and whatever the
fetch of the twin's next version brings (a next version refused here would otherwise leave the last
good copy, with the data, in place).

Licences: only twins under an **open licence** are harvested (:func:`ecgraph.publish.licences.is_open_licence`
decides, on the ``dcterms:license`` the copy's ``ec:DigitalTwin`` states). A twin with none, or with
a licence that is not open (NonCommercial, NoDerivatives, all rights reserved), is skipped after it
is read: nothing of it is stored, a copy held from before is removed, and the reason, in words, is
in the harvest's report (``skipped``) and in ``/api/peers`` until that changes at home. The licence
of a copy stays in its data and is stated in its catalog entry (``dct:license``).

Namespace claims across nodes: each copy's claims are published in its catalog entry
(``void:uriSpace``), as this node's own twins' are. A copy whose claim overlaps a claim of a local
twin, of the node or of another node's copy (one prefix extends the other) is a **conflict**: the
claims are kept apart and neither overrides the other. The claim already held stays as it was; the
copy's overlapping claim is recorded, never enforced (and the copy is refused, as above, if it
states facts about the other claim's resources). Each conflict is shown in ``/api/peers``
(``conflicts``) and in the catalog (an ``ec:NamespaceConflict`` naming both claims and their
owners) until the copy is harvested without it or deleted at home.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pyoxigraph as ox

from ecgraph import errors, formats, standard
from ecgraph.network.peers import DCAT, DCT, NTRIPLES, RDF_TYPE, PeerCall
from ecgraph.publish import authority, licences, personal
from ecgraph.publish import catalog as catalog_module
from ecgraph.publish import dump as dump_module
from ecgraph.publish.fetch import FetchRefused
from ecgraph.publish.pipeline import Prepared
from ecgraph.store.registry import now, valid_twin_id
from ecgraph.workers import PoolBusy, TaskTimeout

if TYPE_CHECKING:
    from ecgraph.node import Node

log = logging.getLogger("ecgraph.network.harvest")

NETWORK_GRAPH = standard.NODE_GRAPH_BASE + "network"
HARVESTED_BASE = standard.NODE_GRAPH_BASE + "harvested/"
PROV = "http://www.w3.org/ns/prov#"
XSD = "http://www.w3.org/2001/XMLSchema#"
HARVESTED_TWIN = standard.EC + "HarvestedTwin"
UNSUPPORTED_TWIN = standard.EC + "UnsupportedProfileTwin"
DCT_DESCRIPTION = DCT + "description"
_CLAIM = re.compile(r"<http://purl\.org/dc/terms/conformsTo>\s*<" + re.escape(standard.PROFILE_BASE)
                    + r"(?:core|recommended)/([0-9]+\.[0-9]+\.[0-9]+)>")
#: change-stream pages read in one harvest at most (1000 rows each)
MAX_PAGES = 100
#: copies written in one commit (one flush of the store: about 0.2 s of a harvest's 0.6 s per twin)
BATCH = 50


def peer_key(url: str) -> str:
    """A slug naming a peer inside graph IRIs: its host, port and path."""
    rest = url.split("://", 1)[-1]
    return re.sub(r"[^a-z0-9]+", "-", rest.lower()).strip("-")[:120] or "peer"


def unknown_releases(text: str) -> list[str]:
    """The profile releases an N-Triples document claims when it claims some and this node knows none
    of them (an unsupported profile); else ``[]``."""
    claimed = sorted(set(_CLAIM.findall(text)))
    return [] if not claimed or any(v in standard.VERSIONS for v in claimed) else claimed


def foreign_id(graph: str) -> str:
    """The twin id a foreign store's named graph is kept under: an ecgraph twin graph's own id, else
    a slug of the graph's IRI (shortened with a hash when too long)."""
    last = graph.removeprefix(standard.TWIN_GRAPH_BASE)
    if last != graph and valid_twin_id(last):
        return last
    slug = re.sub(r"[^a-z0-9]+", "-", graph.split("://", 1)[-1].lower()).strip("-") or "graph"
    if len(slug) > 63 or not valid_twin_id(slug):
        slug = slug[:54].strip("-") + "-" + hashlib.sha256(graph.encode("utf-8")).hexdigest()[:8]
    return slug


#: characters an IRI written between angle brackets in a query may not hold
_UNSAFE_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _is_iri(text: str) -> bool:
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def copy_graph(peer_url: str, twin_id: str) -> str:
    return f"{HARVESTED_BASE}{peer_key(peer_url)}/{twin_id}"


def peer_graphs_prefix(peer_url: str) -> str:
    return f"{HARVESTED_BASE}{peer_key(peer_url)}/"


@dataclass
class Outcome:
    """What one harvest of one peer did."""

    peer: str
    started: str = field(default_factory=now)
    harvested: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    #: twins not harvested because they state no open licence (each with its licence and the reason)
    skipped: list[dict] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    #: copies a person's data was erased from, as their home asked in its change stream
    erased: list[str] = field(default_factory=list)
    requests: int = 0
    error: str | None = None
    method: str = ""
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        if self.error:
            return "failed"
        return "refused some" if self.refused else "ok"

    def to_dict(self) -> dict:
        return {"time": self.started, "outcome": self.outcome, "method": self.method,
                "harvested": self.harvested, "unchanged": self.unchanged, "removed": self.removed,
                "refused": self.refused, "skipped": self.skipped, "conflicts": self.conflicts,
                "erased": self.erased, "requests": self.requests, "error": self.error,
                "seconds": round(self.seconds, 3)}


class Harvester:
    """Harvests peers into ``node``'s store; one harvest per peer at a time."""

    def __init__(self, node: Node):
        self.node = node
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, peer_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(peer_id, threading.Lock())

    # --- one peer ----------------------------------------------------------------------------------

    def harvest(self, peer: dict, timeout: float) -> Outcome:
        """Bring the copies of ``peer``'s twins up to date within ``timeout`` seconds (every call to
        the peer has the time that is left; work that would start after it is left for next time)."""
        started = time.monotonic()
        end = started + timeout
        outcome = Outcome(peer["url"])
        node = self.node
        call = PeerCall(peer["url"], node.fetch_policy, timeout)

        def left() -> float:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise FetchRefused(f"harvesting {peer['url']} ran past its {timeout:g} s deadline", 504)
            return remaining

        copies = node.registry.harvested(peer["id"])
        state = dict(peer["state"])
        gone: list[str] = []
        cursor = state.get("cursor")
        todo: dict[str, dict | None] = {}
        erasures: dict[str, set[str]] = {}
        try:
            if state.get("kind") == "sparql":
                self._compare_graphs(call, copies, todo, outcome, left)
                outcome.method = "catalog comparison (named graphs)"
            stream = state.get("kind") != "sparql" and cursor is not None and state.get("stream", True)
            if stream and cursor is not None:
                try:
                    cursor = self._read_stream(call, cursor, todo, outcome, left, erasures)
                    outcome.method = "change stream"
                except FetchRefused as exc:
                    if exc.upstream != 404:
                        raise
                    state["stream"] = stream = False
            if not stream and state.get("kind") != "sparql":
                cursor = self._compare_catalog(call, copies, todo, outcome, left)
                outcome.method = "catalog comparison"
                if cursor is None:
                    state["stream"] = False
            # erasures first, on the copies held, whatever becomes of the twins' next versions here
            for twin_id, digests in erasures.items():
                if twin_id in copies and self.erase_copy(peer, twin_id, copies[twin_id], digests):
                    outcome.erased.append(twin_id)
            pending: list[_Ready] = []
            try:
                for twin_id, hint in todo.items():
                    left()
                    if hint is None:
                        gone.append(twin_id)
                        if twin_id in copies:
                            self.drop(peer, twin_id, copies[twin_id])
                            outcome.removed.append(twin_id)
                        continue
                    if state.get("kind") == "sparql":
                        ready = self._one_graph(peer, call, twin_id, hint["graph"], copies.get(twin_id), outcome,
                                                left)
                    else:
                        ready = self._one(peer, call, twin_id, copies.get(twin_id), outcome, left)
                    if ready is not None:
                        pending.append(ready)
                    if len(pending) >= BATCH:
                        self._keep_all(peer, pending, outcome)
                        pending = []
            finally:  # what was fetched and validated before a deadline or a failure is kept
                self._keep_all(peer, pending, outcome)
            state["cursor"] = cursor
        except FetchRefused as exc:
            outcome.error = exc.detail
        outcome.seconds = time.monotonic() - started
        state["last_harvest"] = outcome.to_dict()
        # why a twin is refused stays said until it is harvested or deleted at home
        refused = dict(state.get("refused") or {})
        for twin_id in (*outcome.harvested, *outcome.removed, *gone, *(r["twin"] for r in outcome.skipped)):
            refused.pop(twin_id, None)
        for item in outcome.refused:
            refused[item["twin"]] = {"reason": item["reason"], "kept": item["kept"], "since": outcome.started}
        state["refused"] = refused
        # why a twin is not harvested (no open licence) stays said until that changes at its home
        skipped = dict(state.get("skipped") or {})
        for twin_id in (*outcome.harvested, *gone, *(r["twin"] for r in outcome.refused)):
            skipped.pop(twin_id, None)
        for item in outcome.skipped:
            skipped[item["twin"]] = {"licence": item["licence"], "reason": item["reason"], "since": outcome.started}
        state["skipped"] = skipped
        held_conflicts = dict(state.get("conflicts") or {})
        conflicts = dict(held_conflicts)
        for twin_id in (*outcome.harvested, *outcome.removed, *gone, *(r["twin"] for r in outcome.refused)):
            conflicts.pop(twin_id, None)
        for item in outcome.conflicts:
            conflicts.setdefault(item["twin"], []).append({k: v for k, v in item.items() if k != "twin"})
        state["conflicts"] = conflicts
        self.store_conflicts(peer["url"], held_conflicts, conflicts)
        if outcome.error is None:
            state.update(reachable=True, last_contact=now(), error=None)
        else:
            state.update(reachable=False, error=outcome.error)
        # what the copies hold now, for /api/peers
        held = node.registry.harvested(peer["id"])
        state["harvested_twins"] = len(held)
        state["unsupported"] = [{"twin": t, "profile": c["unsupported"], "since": c["harvested"]}
                                for t, c in sorted(held.items()) if c.get("unsupported")]
        node.registry.set_peer_state(peer["id"], state)
        peer["state"] = state
        return outcome

    def _read_stream(self, call: PeerCall, cursor: int, todo: dict, outcome: Outcome, left,
                     erasures: dict[str, set[str]]) -> int:
        for _ in range(MAX_PAGES):
            outcome.requests += 1
            page = call.json(f"/api/changes?since={int(cursor)}&limit=1000", timeout=left())
            rows = page.get("changes")
            if not isinstance(rows, list):
                raise FetchRefused(f"{call.url}/api/changes did not answer a change stream", 502)
            for row in rows:
                if not isinstance(row, dict) or row.get("home") or not isinstance(row.get("twin"), str):
                    continue  # a copy the peer harvested elsewhere: its home is not the peer
                todo[row["twin"]] = None if row.get("kind") == "deleted" else row
                digests = row.get("erase")
                if row.get("kind") == "erased" and isinstance(digests, list):
                    erasures.setdefault(row["twin"], set()).update(d for d in digests if isinstance(d, str))
            following = page.get("next")
            if not isinstance(following, int) or following <= cursor:
                break
            cursor = following
            if not page.get("more"):
                break
        return cursor

    def _compare_catalog(self, call: PeerCall, copies: dict, todo: dict, outcome: Outcome, left) -> int | None:
        # the stream's position first: what changes while the catalog is read is read again next time
        cursor: int | None = None
        try:
            outcome.requests += 1
            last = call.json("/api/changes?since=0&limit=1", timeout=left()).get("last")
            cursor = last if isinstance(last, int) else None
        except FetchRefused as exc:
            if exc.upstream != 404:
                raise
        outcome.requests += 1
        listed = call.catalog(timeout=left())
        ids = {t["id"] for t in listed}
        for twin_id in copies:
            if twin_id not in ids:
                todo[twin_id] = None
        for twin in listed:
            copy = copies.get(twin["id"])
            if copy and copy.get("version") == twin["version"] and copy.get("source_hash") == twin["hash"]:
                outcome.unchanged += 1
            else:
                todo[twin["id"]] = twin
        return cursor

    def _compare_graphs(self, call: PeerCall, copies: dict, todo: dict, outcome: Outcome, left) -> None:
        """A foreign store's named graphs, each a twin to read again (its hash decides, once read)."""
        outcome.requests += 1
        fetched = call.get("?query=" + quote("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"),
                           accept=formats.JSON.media_types[0], timeout=left())
        try:
            bindings = json.loads(fetched.data)["results"]["bindings"]
            graphs = sorted({b["g"]["value"] for b in bindings if b.get("g", {}).get("type") == "uri"})
        except (ValueError, KeyError, TypeError):
            raise FetchRefused(f"{call.url} did not answer the list of its named graphs in SPARQL JSON", 502) \
                from None
        found: dict[str, str] = {}
        for graph in graphs:
            if graph.endswith(standard.INFERRED_SUFFIX) or _UNSAFE_IRI.search(graph) or not _is_iri(graph):
                continue  # what a store inferred is inferred again here; an IRI that is not one is skipped
            found.setdefault(foreign_id(graph), graph)
        for twin_id in copies:
            if twin_id not in found:
                todo[twin_id] = None
        for twin_id, graph in found.items():
            todo[twin_id] = {"graph": graph}

    def _one_graph(self, peer: dict, call: PeerCall, twin_id: str, graph: str, copy: dict | None,
                   outcome: Outcome, left) -> _Ready | None:
        """Read one named graph of a foreign store, ready to keep when it changed (or say why not)."""
        outcome.requests += 1
        term = str(ox.NamedNode(graph))  # validates and escapes: no string formatting of what a peer sent
        query = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH " + term + " { ?s ?p ?o } }"
        fetched = call.get("?query=" + quote(query), accept=NTRIPLES, timeout=left())
        source_hash = "sha256:" + hashlib.sha256(fetched.data).hexdigest()
        if copy and copy.get("source_hash") == source_hash:
            outcome.unchanged += 1
            return None
        info = {"version": int((copy or {}).get("version") or 0) + 1, "content_hash": source_hash, "title": graph}
        prepared = self._prepare_copy(peer, twin_id, fetched, copy, outcome)
        if prepared is None:
            return None
        return _Ready(twin_id, prepared[0], None, info, copy, prepared[1], derived_from=graph)

    def _one(self, peer: dict, call: PeerCall, twin_id: str, copy: dict | None, outcome: Outcome,
             left) -> _Ready | None:
        """Fetch and validate one twin of the peer, ready to keep (or record why not)."""
        if not valid_twin_id(twin_id):
            outcome.refused.append({"twin": twin_id[:100], "reason": "not a twin id"})
            return None
        headers = {"If-None-Match": copy["etag"]} if copy and copy.get("etag") else {}
        try:
            outcome.requests += 1
            fetched = call.get(f"/api/twins/{twin_id}/data", accept=NTRIPLES, headers=headers, timeout=left())
        except FetchRefused as exc:
            if exc.upstream == 404:  # unpublished at home since the change we read
                if copy is not None:
                    self.drop(peer, twin_id, copy)
                    outcome.removed.append(twin_id)
                return None
            raise
        if fetched.status == 304:
            outcome.unchanged += 1
            return None
        outcome.requests += 1
        info = call.json(f"/api/twins/{twin_id}", timeout=left())
        prepared = self._prepare_copy(peer, twin_id, fetched, copy, outcome)
        if prepared is None:
            return None
        return _Ready(twin_id, prepared[0], fetched.etag, info, copy, prepared[1])

    def _prepare_copy(self, peer: dict, twin_id: str, fetched, copy: dict | None,
                      outcome: Outcome) -> tuple[Prepared, str] | None:
        """Run a fetched copy through the upload pipeline as a graph of its own; returns it with the
        releases it claims that this node does not know (or None, the refusal recorded)."""
        upload = self.node.upload_for(twin_id, fetched.data, media_type=fetched.media_type or NTRIPLES)
        upload.base_iri = copy_graph(peer["url"], twin_id)
        upload.twin_id = None  # the copy is no twin of this node's
        unknown = unknown_releases(fetched.data.decode("utf-8", "replace"))
        if unknown:  # a release this node cannot judge by: kept, not refused for what older ones say
            upload.refuse_violations = False
        try:
            prepared = self.node.prepare(upload)
        except errors.Error as exc:
            if isinstance(exc, TaskTimeout | PoolBusy):
                raise FetchRefused(exc.detail, 504) from None
            refuse(outcome, twin_id, exc, copy)
            return None
        if not licences.is_open_licence(prepared.license):
            self._skip(peer, twin_id, prepared.license, copy, outcome)
            return None
        unknown = unknown or unknown_releases(prepared.data_ntriples)
        return prepared, ", ".join(unknown)

    def _skip(self, peer: dict, twin_id: str, licence: str, copy: dict | None, outcome: Outcome) -> None:
        """A twin that states no open licence is not harvested; a copy held from when it had one is
        removed (the home no longer offers these data openly), and the reason is said."""
        stated = f"its licence <{licence}> is not an open licence" if licence else "it states no licence"
        reason = (f"not harvested: {stated} (dcterms:license on its ec:DigitalTwin); this node harvests only "
                  "twins under an open licence (CC0, CC BY, CC BY-SA, or an open data licence by its SPDX IRI)")
        if copy is not None:
            self.drop(peer, twin_id, copy)
            outcome.removed.append(twin_id)
            reason += "; the copy harvested earlier was removed"
        outcome.skipped.append({"twin": twin_id, "licence": licence or None, "reason": reason})

    # --- the store ---------------------------------------------------------------------------------

    def claims(self) -> authority.Claims:
        """The authority rule as this node sees it: its twins, itself, and every copy's namespaces."""
        node = self.node
        copy_claims: list[tuple[str, str]] = []
        for peer in node.registry.peers():
            for twin_id, copy in node.registry.harvested(peer["id"]).items():
                if copy.get("unsupported"):  # left out of network answers: it claims nothing either
                    continue
                owner = copy_graph(peer["url"], twin_id)
                copy_claims.extend((prefix, owner) for prefix in copy.get("namespaces", []))
        return authority.Claims.build(node.registry.claims() + copy_claims,
                                      authority.reserved(node.config.public_url))

    def overlaps(self, graph: str, namespaces: list[str], claims: authority.Claims) -> list[dict]:
        """The claims of others that the copy's ``namespaces`` overlap: each with its owner's IRI."""
        out = []
        for prefix in namespaces:
            clash = claims.overlapping(prefix, graph)
            if clash:
                other, owner = clash
                if owner == authority.NODE:
                    holder = self.node.config.public_url or "this node"
                elif owner.startswith(HARVESTED_BASE):
                    holder = owner
                else:
                    holder = standard.twin_graph(owner)
                out.append({"namespace": prefix, "overlaps": other, "claimed_by": holder,
                            "outcome": "kept apart: the claim held first stays, this one is not enforced"})
        return out

    def _keep_all(self, peer: dict, ready: list[_Ready], outcome: Outcome) -> None:
        """Check validated twins against the authority rule and store those that pass as copies of
        their own, all in one commit (one flush of the store for a whole batch)."""
        if not ready:
            return
        node = self.node
        with node._write_lock:
            claims = self.claims()
            replace: dict[str, str] = {}
            subjects: list[ox.NamedNode] = []
            provenance_triples: list[ox.Triple] = []
            records: list[tuple[str, dict]] = []
            kept: list[tuple[str, Prepared]] = []
            for item in ready:
                graph = copy_graph(peer["url"], item.twin_id)
                prepared = item.prepared
                speaks_for = sorted({line[1:line.index(">")] for line in prepared.data_ntriples.split("\n")
                                     if line.startswith("<")})
                clashes = self.overlaps(graph, prepared.namespaces, claims)
                try:
                    authority.refuse_foreign(graph, speaks_for, claims)
                except authority.NotAuthoritative as exc:
                    refuse(outcome, item.twin_id, exc, item.copy)
                    outcome.conflicts += [{"twin": item.twin_id, **c, "copy": "refused"} for c in clashes]
                    continue
                outcome.conflicts += [{"twin": item.twin_id, **c, "copy": "kept"} for c in clashes]
                # the claim already held stays; the copy's overlapping claim is recorded, not enforced
                overlapping = {c["namespace"] for c in clashes}
                namespaces = [p for p in prepared.namespaces if p not in overlapping]
                unsupported = item.unsupported
                if not unsupported:
                    claims.add(graph, namespaces)
                info = item.info
                version = info.get("version") if isinstance(info.get("version"), int) else 0
                record = {"version": version, "source_hash": info.get("content_hash"), "namespaces": namespaces,
                          "derived_from": item.derived_from,
                          "hash": "sha256:" + hashlib.sha256(prepared.data_ntriples.encode("utf-8")).hexdigest(),
                          "etag": item.etag, "harvested": now(), "graph": graph,
                          "title": str(info.get("title") or item.twin_id)[:500], "triples": prepared.triples,
                          "profile": info.get("profile") or "", "warnings": prepared.warnings,
                          "license": prepared.license,
                          "unsupported": unsupported}
                replace[graph] = prepared.data_ntriples
                kept.append((graph, prepared))
                subjects += [ox.NamedNode(graph), ox.NamedNode(graph + "#checksum")]
                provenance_triples += provenance(peer["url"], item.twin_id, record)
                records.append((item.twin_id, record))
            if not records:
                return
            # inferences are judged once every claim of the batch is known, so a copy's inferred
            # graph does not depend on the order the peer lists its twins in (a community listed
            # before its network's twin would otherwise keep inferences about the network)
            for graph, prepared in kept:
                replace[graph + standard.INFERRED_SUFFIX] = authority.keep_inferred(
                    prepared.inferred_ntriples, graph, prepared.namespaces, claims)
            node.store.commit(replace=replace, delete_subjects={NETWORK_GRAPH: subjects},
                              insert={NETWORK_GRAPH: provenance_triples})
            for twin_id, record in records:
                node.registry.set_harvested(peer["id"], twin_id, record)
                node.registry.record_change(twin_id, record["version"], record["hash"], "harvested", home=peer["url"])
                node.index_copy(record["graph"], record, replace[record["graph"]],
                                replace[record["graph"] + standard.INFERRED_SUFFIX])
                outcome.harvested.append(twin_id)

    def erase_copy(self, peer: dict, twin_id: str, copy: dict, digests: set[str]) -> bool:
        """Erase from a copy what its home erased (:func:`ecgraph.publish.personal.erase_digests`):
        its data rewritten without it, its inferences made again, its checksum updated, and the
        store compacted so that no old copy stays on disk. A node keeps no archived versions of
        copies, so the copy is all there is to erase here. Whether anything was erased."""
        node = self.node
        graph = copy_graph(peer["url"], twin_id)
        with node._write_lock:
            kept, removed = personal.erase_digests(node.store.graph_triples(graph), digests)
            if not removed:
                return False
            data = formats.ntriples(kept)
            claims = self.claims()
            namespaces = list(copy.get("namespaces", []))
            inferred = authority.keep_inferred(formats.ntriples(node.pipeline.reasoner.infer(kept)), graph,
                                               namespaces, claims)
            record = {**copy, "hash": "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest(),
                      "triples": len(kept), "etag": None, "harvested": now()}
            node.store.commit(replace={graph: data, graph + standard.INFERRED_SUFFIX: inferred},
                              delete_subjects={NETWORK_GRAPH: [ox.NamedNode(graph), ox.NamedNode(graph + "#checksum")]},
                              insert={NETWORK_GRAPH: provenance(peer["url"], twin_id, record)})
            node.registry.set_harvested(peer["id"], twin_id, record)
            node.registry.record_change(twin_id, record.get("version"), record["hash"], "erased", home=peer["url"])
            dump_module.discard(node.dump_dir)  # the next request writes a dump without it
            node.store.optimize()
        log.info("erased %d statements from the copy of %s from %s", removed, twin_id, peer["url"])
        return True

    def store_conflicts(self, peer_url: str, held: dict, now_found: dict) -> None:
        """Write a peer's namespace conflicts into the network graph (where ``/sparql`` and
        ``/catalog`` find them) when they changed: ``held`` replaced by ``now_found``."""
        old, new = conflict_triples(peer_url, held), conflict_triples(peer_url, now_found)
        if old == new:
            return
        with self.node._write_lock:
            self.node.store.commit(delete={NETWORK_GRAPH: old}, insert={NETWORK_GRAPH: new})

    def drop(self, peer: dict, twin_id: str, copy: dict) -> None:
        node = self.node
        graph = copy_graph(peer["url"], twin_id)
        with node._write_lock:
            listing = ox.Triple(ox.NamedNode(standard.CATALOG_GRAPH), ox.NamedNode(DCAT + "dataset"),
                                ox.NamedNode(graph))
            node.store.commit(drop=[graph, graph + standard.INFERRED_SUFFIX],
                              delete_subjects={NETWORK_GRAPH: [ox.NamedNode(graph), ox.NamedNode(graph + "#checksum")]},
                              delete={NETWORK_GRAPH: [listing]})
            node.registry.set_harvested(peer["id"], twin_id, None)
            node.registry.record_change(twin_id, copy.get("version"), copy.get("hash"), "unharvested",
                                        home=peer["url"])
            node.unindex_copy(graph)

    def drop_peer(self, peer: dict) -> None:
        for twin_id, copy in self.node.registry.harvested(peer["id"]).items():
            self.drop(peer, twin_id, copy)


@dataclass
class _Ready:
    """A peer's twin, fetched and validated, waiting for the batch's commit."""

    twin_id: str
    prepared: Prepared
    etag: str | None
    info: dict
    copy: dict | None
    #: the profile releases it claims when this node knows none of them ("" when it knows one)
    unsupported: str = ""
    #: the twin at its home when it is not ``<peer>/api/twins/<id>`` (a foreign store's named graph)
    derived_from: str | None = None


def refuse(outcome: Outcome, twin_id: str, exc: errors.Error, copy: dict | None) -> None:
    outcome.refused.append({"twin": twin_id, "reason": f"{exc.title}: {exc.detail}"[:2000],
                            "kept": "the last good copy" if copy else "nothing"})


def provenance(peer_url: str, twin_id: str, record: dict[str, Any]) -> list[ox.Triple]:
    """Where a copy comes from, in DCAT and PROV-O (in the network graph, listed in /catalog)."""
    g = ox.NamedNode(record["graph"])
    checksum = ox.NamedNode(record["graph"] + "#checksum")
    catalog = ox.NamedNode(standard.CATALOG_GRAPH)

    def lit(value: object, datatype: str | None = None) -> ox.Literal:
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + datatype)) if datatype else ox.Literal(str(value))

    spdx = "http://spdx.org/rdf/terms#"
    out = [
        ox.Triple(catalog, ox.NamedNode(DCAT + "dataset"), g),
        ox.Triple(g, ox.NamedNode(RDF_TYPE), ox.NamedNode(DCAT + "Dataset")),
        ox.Triple(g, ox.NamedNode(RDF_TYPE), ox.NamedNode(HARVESTED_TWIN)),
        ox.Triple(g, ox.NamedNode(DCT + "identifier"), lit(twin_id)),
        ox.Triple(g, ox.NamedNode(DCT + "title"), lit(record["title"])),
        ox.Triple(g, ox.NamedNode(DCAT + "version"), lit(record["version"])),
        # the twin at its home: its API resource, or the named graph of a foreign store
        ox.Triple(g, ox.NamedNode(PROV + "wasDerivedFrom"),
                  ox.NamedNode(record.get("derived_from") or f"{peer_url}/api/twins/{twin_id}")),
        ox.Triple(g, ox.NamedNode(PROV + "wasAttributedTo"), ox.NamedNode(peer_url)),
        ox.Triple(g, ox.NamedNode(PROV + "generatedAtTime"), lit(record["harvested"], "dateTime")),
        ox.Triple(g, ox.NamedNode(standard.EC + "inferredGraph"),
                  ox.NamedNode(record["graph"] + standard.INFERRED_SUFFIX)),
        ox.Triple(g, ox.NamedNode(spdx + "checksum"), checksum),
        ox.Triple(checksum, ox.NamedNode(spdx + "algorithm"), ox.NamedNode(spdx + "checksumAlgorithm_sha256")),
        ox.Triple(checksum, ox.NamedNode(spdx + "checksumValue"), lit(record["hash"].split(":", 1)[-1], "hexBinary")),
    ]
    # what this node's validation of the copy found, as a published twin's entry says it (size,
    # warnings, status), so that a network question over the catalog counts every twin; a copy of
    # an unsupported profile was not judged here: it has a size, no verdict
    if record.get("triples") is not None:
        out.append(ox.Triple(g, ox.NamedNode(catalog_module.VOID + "triples"), lit(record["triples"], "integer")))
    if not record.get("unsupported") and record.get("warnings") is not None:
        status = catalog_module.STATUS[catalog_module.conformance(record["warnings"], 0)]  # a kept copy conforms
        out += [ox.Triple(g, ox.NamedNode(standard.EC + "warningCount"), lit(record["warnings"], "integer")),
                ox.Triple(g, ox.NamedNode(standard.EC + "violationCount"), lit(0, "integer")),
                ox.Triple(g, ox.NamedNode(standard.EC + "conformanceStatus"), ox.NamedNode(status))]
    if record.get("profile"):
        out.append(ox.Triple(g, ox.NamedNode(DCT + "conformsTo"), ox.NamedNode(record["profile"])))
    if record.get("license"):  # the licence travels with the copy (it is also in the copy's own data)
        out.append(ox.Triple(g, ox.NamedNode(DCT + "license"), ox.NamedNode(record["license"])))
    claim = ox.NamedNode("http://rdfs.org/ns/void#uriSpace")
    out += [ox.Triple(g, claim, lit(prefix)) for prefix in record.get("namespaces", [])]
    if record.get("unsupported"):
        out += [ox.Triple(g, ox.NamedNode(RDF_TYPE), ox.NamedNode(UNSUPPORTED_TWIN)),
                ox.Triple(g, ox.NamedNode(DCT_DESCRIPTION), ox.Literal(
                    f"unsupported profile: the twin claims release {record['unsupported']} of the ecgraph profiles, "
                    f"which this node does not know; kept, but left out of network answers", language="en"))]
    return out


def conflict_triples(peer_url: str, conflicts: dict) -> list[ox.Triple]:
    """A peer's namespace conflicts (its state's ``conflicts``: twin -> conflicts found), as the
    catalog states them: the catalog ``ec:namespaceConflict`` each ``ec:NamespaceConflict``, which
    names the copy's claim and its owner, and the claim it overlaps and that claim's owner."""
    ec = standard.EC
    catalog = ox.NamedNode(standard.CATALOG_GRAPH)
    out: list[ox.Triple] = []
    found = [(twin, c) for twin, items in sorted(conflicts.items()) for c in items]
    for n, (twin, item) in enumerate(found):
        home = f"{peer_url}/api/twins/{twin}"
        conflict = ox.NamedNode(f"{copy_graph(peer_url, twin)}#namespace-conflict-{n}")
        try:
            holder: ox.NamedNode | ox.Literal = ox.NamedNode(item["claimed_by"])
        except ValueError:
            holder = ox.Literal(item["claimed_by"])
        out += [ox.Triple(catalog, ox.NamedNode(ec + "namespaceConflict"), conflict),
                ox.Triple(conflict, standard.RDF_TYPE, ox.NamedNode(ec + "NamespaceConflict")),
                ox.Triple(conflict, ox.NamedNode(ec + "claim"), ox.Literal(item["namespace"])),
                ox.Triple(conflict, ox.NamedNode(ec + "claimedBy"), ox.NamedNode(home)),
                ox.Triple(conflict, ox.NamedNode(PROV + "wasAttributedTo"), ox.NamedNode(peer_url)),
                ox.Triple(conflict, ox.NamedNode(ec + "overlaps"), ox.Literal(item["overlaps"])),
                ox.Triple(conflict, ox.NamedNode(ec + "overlapsClaimOf"), holder),
                ox.Triple(conflict, ox.NamedNode(DCT_DESCRIPTION), ox.Literal(
                    f"{item['outcome']} (the copy was {item['copy']})", language="en"))]
    return out

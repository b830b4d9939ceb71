"""Peers: the other nodes and SPARQL endpoints this node talks to, kept in the registry.

A peer is added by ``--peer`` (on every start), by the admin at run time (``POST /api/peers``,
``ecgraph peers add``) or by its own join request once the admin approves it; the table is in the
registry (SQLite), so peers persist across restarts. The SERVICE allowlist and the URL-safety rules
(:mod:`ecgraph.publish.fetch`) read the approved peers from that table (:class:`LivePeers`), so a
peer added or removed anywhere is allowed or refused everywhere within a second.

What a peer is, the node finds out by asking: an ecgraph node publishes its DCAT catalog at
``/catalog``; anything else that answers a SPARQL ``ASK`` is a SPARQL endpoint. Every call to a peer
goes through :func:`ecgraph.publish.fetch.fetch` (the URL-safety rules, one wall-clock deadline)
and is confined to that peer: a redirect elsewhere is refused, so a peer cannot make this node call a
third address.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

import pyoxigraph as ox

from ecgraph import errors, formats
from ecgraph.publish.fetch import Fetched, FetchPolicy, FetchRefused, fetch
from ecgraph.query.federate import Peer, PeerPolicy
from ecgraph.store.registry import Registry, now

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
EC = "https://w3id.org/ecgraph/ns#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
NTRIPLES = formats.NTRIPLES.media_types[0]
HYDRA_NEXT = "http://www.w3.org/ns/hydra/core#next"
#: the most parts of a peer's catalog read (at the default 1,000 resources a part, a million twins)
MAX_CATALOG_PARTS = 1000

#: join requests one address may send in an hour, and the pending requests the node keeps at most
JOIN_PER_HOUR = 5
MAX_PENDING_REQUESTS = 100


def normalise(url: str) -> str:
    """A peer's URL as the table keeps it: http(s), no credentials, no query, no trailing slash."""
    if not isinstance(url, str) or len(url) > 2000:
        raise errors.BadRequest("a peer is given by its URL: a node's base URL or a SPARQL endpoint's URL")
    try:
        Peer.parse(url)
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise errors.BadRequest(f"{url!r} is not a peer URL ({exc}); give an http(s) URL such as "
                                "https://node.example.org") from None
    if parts.query or parts.fragment:
        raise errors.BadRequest(f"{url!r}: a peer URL has no query or fragment")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


class LivePeers(PeerPolicy):
    """The peers a node may reach: ``--peer`` and the approved rows of the peers table, read again
    at most once a second (or at once after :meth:`changed`)."""

    def __init__(self, registry: Registry, configured: list[str] | tuple[str, ...] = ()):
        self._registry = registry
        self._configured = [Peer.parse(u) for u in configured]
        self._cached: list[Peer] = list(self._configured)
        self._read_at = 0.0
        self._guard = threading.Lock()

    @property
    def peers(self) -> list[Peer]:
        with self._guard:
            if time.monotonic() - self._read_at > 1.0:
                urls = {p.url for p in self._configured}
                found = list(self._configured)
                for row in self._registry.peers():
                    if row["approved"] and row["url"] not in urls:
                        try:
                            found.append(Peer.parse(row["url"]))
                        except ValueError:
                            continue
                self._cached = found
                self._read_at = time.monotonic()
            return self._cached

    @peers.setter
    def peers(self, value: list[Peer]) -> None:
        self._configured = list(value)
        self.changed()

    def changed(self) -> None:
        with self._guard:
            self._read_at = 0.0


@dataclass
class PeerCall:
    """Calls to one peer: confined to it, under the node's fetch policy, each within ``timeout``."""

    url: str
    policy: FetchPolicy
    timeout: float

    def get(self, path: str, *, accept: str = "application/json", headers: dict | None = None,
            timeout: float | None = None) -> Fetched:
        peer = Peer.parse(self.url)
        seconds = self.timeout if timeout is None else max(0.05, min(timeout, self.timeout))
        return fetch(self.url + path, self.policy, headers={"Accept": accept, **(headers or {})},
                     timeout=seconds, confine=peer.admits)

    def json(self, path: str, **kwargs) -> dict:
        fetched = self.get(path, **kwargs)
        try:
            out = json.loads(fetched.data)
        except ValueError:
            raise FetchRefused(f"{self.url}{path} did not answer JSON", 502) from None
        if not isinstance(out, dict):
            raise FetchRefused(f"{self.url}{path} did not answer a JSON object", 502)
        return out

    def catalog(self, timeout: float | None = None) -> list[dict]:
        """The twins whose home is the peer, from its DCAT catalog: id, version, hash, profile. A
        large catalog comes in parts, each naming the next (``hydra:next``,
        :mod:`ecgraph.publish.catalog_pages`): they are read in turn, all within ``timeout``."""
        return self.read_catalog(timeout)[0]

    def read_catalog(self, timeout: float | None = None, *, partial: bool = False) -> tuple[list[dict], bool]:
        """:meth:`catalog`, and whether it was read to its end: with ``partial``, a deadline that
        passes once the first part is in ends the reading (what the first parts say of the peer)
        instead of failing it."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        by_subject: dict[str, dict[str, list[str]]] = {}
        path: str | None = "/catalog"
        parts = 0
        while path is not None:
            parts += 1
            if parts > MAX_CATALOG_PARTS:
                raise FetchRefused(f"{self.url}/catalog has more than {MAX_CATALOG_PARTS} parts", 502)
            left = deadline - time.monotonic()
            if left <= 0:
                if partial and parts > 1:
                    break
                raise FetchRefused(f"reading {self.url}/catalog ran past its deadline ({parts - 1} parts read)", 504)
            try:
                fetched = self.get(path, accept=NTRIPLES, timeout=left)
            except FetchRefused as exc:
                if partial and parts > 1 and exc.status == 504 and exc.upstream is None:
                    break  # the deadline passed during a later part
                raise
            try:
                quads = list(ox.parse(fetched.data, format=ox.RdfFormat.N_TRIPLES))
            except (SyntaxError, ValueError) as exc:
                raise FetchRefused(f"{self.url}{path} is not an RDF catalog this node can read: {exc}", 502) from None
            following = None
            for q in quads:
                if q.predicate.value == HYDRA_NEXT:
                    following = q.object.value
                elif isinstance(q.subject, ox.NamedNode):
                    by_subject.setdefault(q.subject.value, {}).setdefault(q.predicate.value, []).append(
                        q.object.value)
            path = self._next_part(path, following)
        twins = []
        for subject, props in by_subject.items():
            # a twin published there (not a copy it harvested from someone else: no loops)
            if EC + "PublishedTwin" not in props.get(RDF_TYPE, []):
                continue
            checksum = by_subject.get(subject + "#checksum", {})
            version = props.get(DCAT + "version", ["0"])[0]
            if not (version.isascii() and version.isdigit()):
                raise FetchRefused(f"{self.url}/catalog gives {subject[:200]} a version that is not a whole number: "
                                   f"{version[:50]!r}", 502)
            twins.append({"id": props.get(DCT + "identifier", [""])[0],
                          "version": int(version),
                          "hash": "sha256:" + checksum.get("http://spdx.org/rdf/terms#checksumValue", [""])[0],
                          "profile": props.get(DCT + "conformsTo", [""])[0],
                          "title": props.get(DCT + "title", [""])[0]})
        return sorted(twins, key=lambda t: t["id"]), path is None

    def _next_part(self, path: str, following: str | None) -> str | None:
        """The path of the catalog's next part, or None. Only the link's key is taken (``?after=``)
        and asked of this peer's own ``/catalog`` (its public URL may name it otherwise): a link
        cannot send this node elsewhere. One whose key does not move forward (a peer that would
        keep this node reading in circles) is refused."""
        if following is None:
            return None
        after, before = _after(following), _after(path)
        if after is None or (before is not None and after <= before):
            raise FetchRefused(f"{self.url}/catalog's next part does not follow the one before: {following[:200]}",
                               502)
        return "/catalog?after=" + quote(after, safe="")


def _after(url: str) -> str | None:
    """The key a part of a catalog follows (``?after=``), None for the first."""
    values = parse_qs(urlsplit(url).query).get("after")
    return values[0] if values else None


def detect(call: PeerCall) -> tuple[str, dict]:
    """Ask a peer what it is: ``("ecgraph", {twins, profiles})`` when it publishes a catalog,
    ``("sparql", {})`` when it answers an ASK; raises :class:`FetchRefused` when it is neither."""
    try:
        # a catalog larger than the check's time: its first parts say what the peer is; how many
        # twins it has is then not known ("twins": None) until a check reads it whole
        twins, whole = call.read_catalog(partial=True)
        return "ecgraph", {"twins": len(twins) if whole else None,
                           "profiles": sorted({t["profile"] for t in twins if t["profile"]})}
    except FetchRefused as exc:
        # refused, too slow or too large (a catalog past the fetch limit is still a catalog: read as
        # a plain SPARQL store's named graphs, the node's copies would be its inferences and records)
        if exc.upstream is None and exc.status in (403, 413, 504):
            raise
    fetched = call.get("?query=" + quote("ASK {}"), accept=formats.JSON.media_types[0])
    try:
        answer = json.loads(fetched.data)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or "boolean" not in answer:
        raise FetchRefused(f"{call.url} publishes no ecgraph catalog and does not answer SPARQL queries", 502)
    return "sparql", {}


def check(call: PeerCall, state: dict) -> dict:
    """Contact a peer once: its kind, reachability, latency, twins and profile versions."""
    started = time.monotonic()
    out = dict(state, last_check=now())
    try:
        kind, facts = detect(call)
    except FetchRefused as exc:
        out.update(reachable=False, error=exc.detail)
        return out
    out.update(kind=kind, reachable=True, last_contact=now(),
               latency_ms=round((time.monotonic() - started) * 1000, 1), error=None, **facts)
    return out


class TooManyJoinRequests(errors.Error):
    status = 429
    title = "too many requests"
    retry_after = 3600


class JoinLimiter:
    """Join requests per client address: at most :data:`JOIN_PER_HOUR` in any hour."""

    def __init__(self, per_hour: int = JOIN_PER_HOUR):
        self.per_hour = per_hour
        self._seen: dict[str, deque] = {}
        self._guard = threading.Lock()

    def admit(self, address: str) -> None:
        moment = time.monotonic()
        with self._guard:
            if len(self._seen) > 10_000:  # forget the oldest addresses, not the limit
                self._seen = {a: d for a, d in self._seen.items() if d and moment - d[-1] < 3600}
            recent = self._seen.setdefault(address, deque())
            while recent and moment - recent[0] > 3600:
                recent.popleft()
            if len(recent) >= self.per_hour:
                raise TooManyJoinRequests(f"at most {self.per_hour} join requests an hour are accepted from one "
                                          "address; try again later")
            recent.append(moment)

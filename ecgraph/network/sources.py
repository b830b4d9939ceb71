"""Twins that stay at home: a twin registered with the URL where its platform publishes it (a
Turtle or JSON-LD document), refreshed on a schedule instead of being copied in once.

A refresh is a conditional GET (``If-None-Match`` with the ETag the source gave last time,
``If-Modified-Since`` with its ``Last-Modified``) under the URL-safety rules of pulls
(:func:`ecgraph.publish.fetch.fetch`: public addresses, peers or allowed hosts only, one wall-clock
deadline). A 304, or a document whose bytes hash as the published one, changes nothing. Anything
else is published through the same pipeline as an upload (validation, inference, the authority
rule, an atomic replace, a new version) and appears in the change stream as ``refreshed``. A
refresh that fails or does not conform keeps the last good version, records why, and backs off: the
next attempt waits the interval times 2^failures (at most a day).

The twin's JSON (``GET /api/twins/<id>``) shows its ``source``: URL, interval, last success, last
attempt, the outcome and the error; its catalog entry (``/catalog``) says the same in DCAT and
PROV-O (:func:`catalog_triples`): ``<twin graph> dct:source <url>`` and ``ec:sourceRefresh``, a
``prov:Activity`` that ``prov:used`` the source, with ``prov:startedAtTime`` (the last attempt),
``ec:lastSuccess``, ``ec:refreshOutcome`` and ``ec:refreshError``. They are read from the registry
when the catalog is served, so they are never behind the twin's JSON.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ecgraph import errors, standard
from ecgraph.publish.fetch import fetch
from ecgraph.publish.pipeline import content_hash
from ecgraph.query.federate import Peer
from ecgraph.store.registry import now

if TYPE_CHECKING:
    from ecgraph.node import Node

log = logging.getLogger("ecgraph.network.sources")

#: the longest a failing source waits between attempts
MAX_BACKOFF = 24 * 3600.0


def check_source(url: object) -> str:
    """A source URL as the registry keeps it (refused before anything is registered)."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise errors.BadRequest('"source" is the URL where the twin lives, like "https://community.example/twin.ttl"')
    try:
        Peer.parse(url)
    except ValueError as exc:
        raise errors.BadRequest(f"source {url!r} is not usable: {exc}; give an http(s) URL without credentials") \
            from None
    return url


def refresh(node: Node, twin_id: str) -> dict:
    """Refresh one twin from its source now; its source state after the attempt."""
    source = node.registry.source(twin_id)
    if source is None:
        raise errors.NotFound(f"twin {twin_id!r} has no source URL; register it with one (\"source\")")
    state = dict(source["state"])
    interval = source["interval"] or node.config.refresh_interval
    state["last_attempt"] = now()
    headers = {}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    try:
        fetched = fetch(source["url"], node.fetch_policy, headers=headers)
        entry = node.entry(twin_id)
        if fetched.status == 304 or (entry is not None and entry.content_hash == content_hash(fetched.data)):
            state.update(outcome="unchanged")
        else:
            upload = node.upload_for(twin_id, fetched.data, media_type=fetched.media_type,
                                     filename=Path(fetched.url.split("?", 1)[0]).name)
            published = node.publish(twin_id, upload, change="refreshed")
            state.update(outcome="refreshed", version=published.entry.version)
        if fetched.status != 304:
            state.update(etag=fetched.etag, last_modified=fetched.last_modified)
        state.update(last_success=now(), error=None, failures=0)
    except errors.Error as exc:
        state.update(outcome="failed", error=f"{exc.title}: {exc.detail}"[:2000],
                     failures=int(state.get("failures", 0)) + 1)
    wait = min(interval * 2 ** min(int(state.get("failures", 0)), 20), MAX_BACKOFF)
    state["next_attempt"] = time.time() + wait
    node.registry.set_source_state(twin_id, state)
    return describe(source["url"], source["interval"], state)


def describe(url: str, interval: float | None, state: dict) -> dict:
    return {"url": url, "interval": interval, "last_success": state.get("last_success"),
            "last_attempt": state.get("last_attempt"), "outcome": state.get("outcome"),
            "error": state.get("error"), "failures": state.get("failures", 0)}


def due(node: Node) -> list[str]:
    """The twins whose next refresh is due (never attempted: at once)."""
    moment = time.time()
    return [twin_id for twin_id, s in node.registry.sources().items()
            if s["state"].get("next_attempt", 0) <= moment]


def catalog_triples(node: Node) -> list[ox.Triple]:
    """Each sourced twin's source and the state of its refreshes, for the twin's catalog entry."""
    dct, prov, xsd, ec = "http://purl.org/dc/terms/", "http://www.w3.org/ns/prov#", \
        "http://www.w3.org/2001/XMLSchema#", standard.EC
    out: list[ox.Triple] = []
    for twin_id, source in node.registry.sources().items():
        graph = ox.NamedNode(standard.twin_graph(twin_id))
        activity = ox.NamedNode(standard.twin_graph(twin_id) + "#refresh")
        try:
            url: ox.NamedNode | ox.Literal = ox.NamedNode(source["url"])
        except ValueError:
            url = ox.Literal(source["url"])
        state = source["state"]
        out += [ox.Triple(graph, ox.NamedNode(dct + "source"), url),
                ox.Triple(graph, ox.NamedNode(ec + "sourceRefresh"), activity),
                ox.Triple(activity, standard.RDF_TYPE, ox.NamedNode(prov + "Activity")),
                ox.Triple(activity, ox.NamedNode(prov + "used"), url)]
        stamps = (("last_attempt", prov + "startedAtTime"), ("last_success", ec + "lastSuccess"))
        for key, predicate in stamps:
            if state.get(key):
                out.append(ox.Triple(activity, ox.NamedNode(predicate),
                                     ox.Literal(state[key], datatype=ox.NamedNode(xsd + "dateTime"))))
        if state.get("outcome"):
            out.append(ox.Triple(activity, ox.NamedNode(ec + "refreshOutcome"), ox.Literal(state["outcome"])))
        if state.get("error"):
            out.append(ox.Triple(activity, ox.NamedNode(ec + "refreshError"), ox.Literal(state["error"])))
    return out

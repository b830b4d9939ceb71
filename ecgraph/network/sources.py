"""Twins that stay at home: a twin registered with the URL where its platform publishes it (a
Turtle or JSON-LD document) or with the SPARQL endpoint that holds it, refreshed on a schedule
instead of being copied in once.

A SPARQL endpoint source is given as ``{"sparql": ENDPOINT, "graph": IRI}`` (the twin is that named
graph) or ``{"sparql": ENDPOINT, "construct": QUERY}`` (the twin is what the CONSTRUCT or DESCRIBE
query builds). It is kept as what it is in the SPARQL 1.1 Protocol: the GET request of that query at
the endpoint (``ENDPOINT?query=...``), a URL like any document's, so that refreshing it is the same
conditional GET under the same URL-safety rules, asking for N-Triples or Turtle. A query that could
call another endpoint (``SERVICE``) is refused at registration. Endpoints rarely send validators for
query results (``oxigraph serve`` sends none): then the bytes' hash decides, and an unchanged graph
changes nothing here (an endpoint that labels blank nodes afresh at each answer makes a new version
each time).

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
from urllib.parse import parse_qs, quote, urlsplit

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


#: what a refresh asks a SPARQL endpoint for (the results of a CONSTRUCT)
SPARQL_ACCEPT = "application/n-triples, text/turtle;q=0.9"
_SOURCE_HELP = ('"source" is the URL where the twin lives, like "https://community.example/twin.ttl", or a SPARQL '
                'endpoint holding it, like {"sparql": "https://platform.example/sparql", "graph": '
                '"https://platform.example/graph/twin"} or {"sparql": ..., "construct": "CONSTRUCT ..."}')


def check_source(source: object) -> str:
    """A source as the registry keeps it (refused before anything is registered): a document's URL,
    or a SPARQL endpoint's query as its protocol GET request."""
    if isinstance(source, dict):
        return sparql_source(source)
    if not isinstance(source, str) or not source or len(source) > 2000:
        raise errors.BadRequest(_SOURCE_HELP)
    return _check_url(source, "source")


def _check_url(url: str, what: str) -> str:
    try:
        Peer.parse(url)
    except ValueError as exc:
        raise errors.BadRequest(f"{what} {url!r} is not usable: {exc}; give an http(s) URL without credentials") \
            from None
    return url


def sparql_source(spec: dict) -> str:
    """``{"sparql": endpoint, "graph": IRI}`` or ``{"sparql": endpoint, "construct": query}`` as the
    SPARQL 1.1 Protocol GET request of its query."""
    from ecgraph.query.federate import QueryRefused, inspect

    endpoint, graph, construct = spec.get("sparql"), spec.get("graph"), spec.get("construct")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > 2000 or set(spec) - {"sparql", "graph",
                                                                                            "construct"}:
        raise errors.BadRequest(_SOURCE_HELP)
    _check_url(endpoint, "SPARQL endpoint")
    if (graph is None) == (construct is None):
        raise errors.BadRequest('give the SPARQL source either "graph" (the named graph that is the twin) or '
                                '"construct" (a CONSTRUCT query that builds it), not both')
    if graph is not None:
        try:
            term = str(ox.NamedNode(graph)) if isinstance(graph, str) else None
        except ValueError:
            term = None
        if term is None:
            raise errors.BadRequest(f'"graph" must be the IRI of a named graph, like "https://platform.example/g/1", '
                                    f"not {str(graph)[:200]!r}")
        query = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH " + term + " { ?s ?p ?o } }"
    else:
        if not isinstance(construct, str) or not construct.strip() or len(construct) > 10000:
            raise errors.BadRequest('"construct" is a SPARQL CONSTRUCT query of at most 10,000 characters')
        query = construct
        try:
            found = inspect(query)
        except QueryRefused as exc:
            raise errors.BadRequest(f'"construct" is not a usable query: {exc}') from None
        if found.form not in ("CONSTRUCT", "DESCRIBE"):
            raise errors.BadRequest(f'"construct" must be a CONSTRUCT (or DESCRIBE) query, not a {found.form}')
        if found.calls:
            raise errors.BadRequest('"construct" may not call other endpoints (SERVICE): the source is the endpoint')
        try:  # the syntax, on an empty store (no SERVICE, so nothing leaves this process)
            ox.Store().query(query)
        except SyntaxError as exc:
            raise errors.BadRequest(f'"construct" is not valid SPARQL: {exc}') from None
    return endpoint + ("&" if "?" in endpoint else "?") + "query=" + quote(query, safe="")


def sparql_of(url: str) -> dict | None:
    """The endpoint and query of a source that is a SPARQL query's GET request, else None."""
    parts = urlsplit(url)
    query = parse_qs(parts.query).get("query")
    if not query:
        return None
    rest = "&".join(p for p in parts.query.split("&") if not p.startswith("query="))
    endpoint = parts._replace(query=rest, fragment="").geturl()
    return {"endpoint": endpoint, "query": query[0]}


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
    if sparql_of(source["url"]) is not None:
        headers["Accept"] = SPARQL_ACCEPT
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
    sparql = sparql_of(url)
    return {"url": url, "interval": interval, "last_success": state.get("last_success"),
            "last_attempt": state.get("last_attempt"), "outcome": state.get("outcome"),
            "error": state.get("error"), "failures": state.get("failures", 0),
            **({"sparql": sparql} if sparql else {})}


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

"""The node's changes as a stream: ``GET /api/changes?since=N``.

Every write that changes what a twin holds appends one row to the registry's ``changes`` table
under the node's write lock, right after the store's commit (the same logical step: no other write
comes between): a twin ``published``, ``replaced`` or ``deleted``; a copy ``harvested`` or
``unharvested`` from a peer (those rows name the copy's ``home`` node, and harvesters skip them:
a node harvests only twins whose home is the peer); a person's data ``erased`` from a twin (with
``erase``: the SHA-256 digests of the erased value's forms, so that peers erase it from their
copies; see :func:`ecgraph.publish.personal.erasure_digests`). Sequence numbers only grow, so a reader keeps
the last one it saw and asks for what came after; a page holds at most ``limit`` rows and links the
next. Discovery feeds (Atom) read the same rows through :meth:`ecgraph.node.Node.changes`.

For people and feed readers, :func:`feed` renders a page as Atom (``Accept:
application/atom+xml`` or ``?format=atom`` on ``/api/changes``), written by the one Atom writer
(:func:`ecgraph.discovery.feeds.atom`): without ``since``, the newest changes first; each entry one
change, its id the URL of that change in the stream, its link the twin (or the copy's home).
"""

from __future__ import annotations

from urllib.parse import quote

from ecgraph.store.registry import Registry, now

MAX_PAGE = 1000

#: what each kind of change says, for people (the Atom rendering)
_SAID = {"published": "published", "replaced": "replaced by a new version", "deleted": "deleted",
         "refreshed": "refreshed from its source", "harvested": "harvested from its home node",
         "unharvested": "no longer harvested from its home node",
         "erased": "a person's data erased from it (and from every archived version)"}


def page(registry: Registry, since: int = 0, limit: int = 100) -> dict:
    """One page of changes after ``since``: the rows, the last sequence number the node has, and
    ``next`` (the ``since`` to ask for next; equal to ``since`` when nothing came)."""
    limit = max(1, min(limit, MAX_PAGE))
    last = registry.last_change()
    rows = registry.changes(since, limit)
    following = rows[-1]["seq"] if rows else since
    return {"since": since, "last": last, "changes": rows, "next": following,
            "more": bool(rows) and following < last}


def feed(registry: Registry, base_url: str, since: int | None, limit: int = 100) -> dict:
    """A page of changes as a feed (see :func:`ecgraph.discovery.feeds.atom`): after ``since``, or
    the newest ``limit`` when ``since`` is None, newest first."""
    limit = max(1, min(limit, MAX_PAGE))
    last = registry.last_change()
    start = max(0, last - limit) if since is None else since
    rows = registry.changes(start, limit)
    self_url = f"{base_url}/api/changes?format=atom&limit={limit}" + ("" if since is None else f"&since={since}")
    items = []
    for row in reversed(rows):
        home = row.get("home")
        twin = quote(row["twin"], safe="")
        url = f"{home}/api/twins/{twin}" if home else f"{base_url}/api/twins/{twin}"
        version = f" (version {row['version']})" if row.get("version") is not None else ""
        where = f" Its home is {home}." if home else ""
        items.append({"id": f"{base_url}/api/changes?since={row['seq'] - 1}&limit=1",
                      "title": f"{row['twin']}: {row['kind']}{version}", "updated": row["time"], "url": url,
                      "summary": f"Change {row['seq']}: twin {row['twin']} {_SAID.get(row['kind'], row['kind'])}"
                                 f"{version}.{where}" + (f" Content hash {row['hash']}." if row.get("hash") else ""),
                      "tags": [row["kind"]]})
    return {"id": f"{base_url}/api/changes", "title": f"Changes of the ecgraph node {base_url}",
            "updated": rows[-1]["time"] if rows else now(), "feed_url": self_url, "home_page_url": base_url + "/",
            "author": base_url, "items": items}

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
"""

from __future__ import annotations

from ecgraph.store.registry import Registry

MAX_PAGE = 1000


def page(registry: Registry, since: int = 0, limit: int = 100) -> dict:
    """One page of changes after ``since``: the rows, the last sequence number the node has, and
    ``next`` (the ``since`` to ask for next; equal to ``since`` when nothing came)."""
    limit = max(1, min(limit, MAX_PAGE))
    last = registry.last_change()
    rows = registry.changes(since, limit)
    following = rows[-1]["seq"] if rows else since
    return {"since": since, "last": last, "changes": rows, "next": following,
            "more": bool(rows) and following < last}

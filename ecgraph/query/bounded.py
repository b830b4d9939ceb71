"""Queries the node can prove cheap, answered in the web process without a worker hand-off.

Every public query runs in a killable worker because pyoxigraph cannot stop a running query; the
hand-off (a pipe each way, a worker woken) is most of what a lookup pays over ``oxigraph serve``.
Two shapes cannot run long: everything said about one IRI (``SELECT ?p ?o WHERE { <iri> ?p ?o }``,
one scan of the subject index) and ``DESCRIBE <iri>``. Their answers stream and stop at the row
cap, so their cost is bounded by the row cap, not by the store. They are recognised on the whole
text (whitespace aside, nothing else: no prefixes, no dataset, no other pattern) and run on the
node's own store only while no write is in flight, keeping the answer only if none began meanwhile:
so the answer holds exactly one acknowledged generation, as a worker's would
(:mod:`ecgraph.query.pool`). Anything else, or a write under way, goes to the workers.
"""

from __future__ import annotations

import re

from ecgraph.query.pool import QueryRequest

_IRI = r'<[^\x00-\x20<>"{}|^`\\]*>'
_VAR = r"[?$][A-Za-z_][A-Za-z0-9_]*"
_LOOKUP = re.compile(rf"SELECT\s+(?:\*|{_VAR}\s+{_VAR})\s+WHERE\s*\{{\s*{_IRI}\s+{_VAR}\s+{_VAR}\s*\.?\s*\}}",
                     re.IGNORECASE)
_DESCRIBE = re.compile(rf"DESCRIBE\s+{_IRI}", re.IGNORECASE)


def bounded(request: QueryRequest) -> bool:
    """Whether ``request`` is one of the shapes that cannot run long (see the module's doc)."""
    if request.dataset_dump or request.services or request.default_graphs or request.named_graphs:
        return False
    text = request.query.strip()
    if len(text) > 4096:
        return False
    return _LOOKUP.fullmatch(text) is not None or _DESCRIBE.fullmatch(text) is not None

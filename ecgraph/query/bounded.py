"""Queries the node can prove cheap, answered in the web process without a worker hand-off.

Every public query runs in a killable worker because pyoxigraph cannot stop a running query. For a
cold lookup the hand-off (the request pickled into a pipe, a worker process woken, the answer
pickled back, the web thread woken) costs more than the query, and with two workers eight clients
queue for them while the web process's threads, which can run the engine side by side (it releases
the GIL), wait. Two shapes cannot run long:

* everything said about one IRI, ``SELECT ?p ?o WHERE { <iri> ?p ?o }`` (or ``SELECT *``): one
  prefix scan of the subject index, every key it reads is an answer;
* ``DESCRIBE <iri>``: the same scan, plus the blank nodes hanging off it.

They are recognised on the whole text (whitespace and whole comment lines aside, as clients and
the example queries send them with a ``# title:``; nothing else: no prefixes, no dataset, no other
pattern, no ``SERVICE``, so they cannot reach the network), and their answers stream: so
the work is bounded by the row cap, and it is also stopped cooperatively at the request's
deadline (:func:`ecgraph.query.results` checks it between rows), which the workers' kill cannot
do better for a streaming answer. They run on the node's own store only while no write is in
flight, and the answer is kept only if none began meanwhile: it holds exactly one acknowledged
generation, as a worker's would (:mod:`ecgraph.query.pool`). Anything else, or a write under way,
goes to the workers.

An earlier version of this path (taken out in 664b6e1) measured no better than the workers; it was
measured while the node built its network figures in the web process at start, which held the
GIL. ``bench/overhead.py`` now waits for that build, and measures cold lookups one at a time and
with eight clients.
"""

from __future__ import annotations

import re
import time
import traceback

from ecgraph.query.pool import QueryRequest, QueryResult, execute
from ecgraph.query.results import DeadlinePassed
from ecgraph.workers import TaskTimeout

_IRI = r'<[^\x00-\x20<>"{}|^`\\]*>'
_VAR = r"[?$][A-Za-z_][A-Za-z0-9_]*"
_LOOKUP = re.compile(rf"SELECT\s+(?:\*|{_VAR}\s+{_VAR})\s+WHERE\s*\{{\s*{_IRI}\s+{_VAR}\s+{_VAR}\s*\.?\s*\}}",
                     re.IGNORECASE)
_DESCRIBE = re.compile(rf"DESCRIBE\s+{_IRI}", re.IGNORECASE)
#: longer texts are never one of the shapes worth the check
LONGEST = 4096


def bounded(request: QueryRequest) -> bool:
    """Whether ``request`` is one of the shapes that cannot run long (see the module's doc)."""
    if request.dataset_dump or request.services or request.default_graphs or request.named_graphs:
        return False
    text = request.query
    if len(text) > LONGEST:
        return False
    # A line whose first mark is "#" is a comment: neither shape has a string that could span lines
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")).strip()
    return _LOOKUP.fullmatch(text) is not None or _DESCRIBE.fullmatch(text) is not None


def run(store, request: QueryRequest, timeout: float) -> QueryResult:
    """Answer a bounded request on ``store`` in this thread, stopped between two rows once it
    has run ``timeout`` seconds (503 ``query timeout``, as a worker's would be)."""
    try:
        return execute(store, request, deadline=time.monotonic() + timeout)
    except DeadlinePassed as passed:
        _release(passed)
        raise TaskTimeout(f"the query ran past the {timeout:g} s time limit and was stopped",
                          title="query timeout") from None
    except BaseException as failure:
        _release(failure)
        raise


def _release(failure: BaseException) -> None:
    """Let go of the engine's objects that a failure's tracebacks hold (the answer being written,
    in the frames it passed through). pyoxigraph's results may only be dropped by the thread that
    made them: kept by a failure that ends up in a reference cycle (a test's ``pytest.raises``, a
    framework's error state), they are collected later by whichever thread runs the garbage
    collector, which pyoxigraph refuses ("unsendable, but is being dropped on another thread"),
    leaking the result and the store snapshot under it."""
    seen: set[int] = set()
    chained: BaseException | None = failure
    while chained is not None and id(chained) not in seen:
        seen.add(id(chained))
        traceback.clear_frames(chained.__traceback__)  # skips the frames still running
        chained = chained.__cause__ or chained.__context__

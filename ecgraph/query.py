"""Running public queries with a hard time limit, on read-only snapshots in worker processes.

pyoxigraph has no query timeout and no cancel, so public queries run in a :class:`WorkerPool`
(see :mod:`ecgraph.workers`): a query past its deadline has its worker killed and the client gets
a clear 503 while the other workers keep answering.

Snapshots: a read-only pyoxigraph store does not see later writes, so the writer bumps a shared
*generation* after every commit and a worker reopens its snapshot (about 10 ms) when it holds an
older one. A reader therefore sees each commit whole or not at all, and a client that got its
upload acknowledged sees it in its next query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import results
from .store import open_read_only, vanished_file
from .workers import WorkerPool, shared_counter


class QueryFailed(Exception):
    """The engine rejected the query; ``syntax`` tells a parse error from an evaluation error."""

    def __init__(self, message: str, syntax: bool):
        super().__init__(message)
        self.message = message
        self.syntax = syntax

    def __reduce__(self):
        return (QueryFailed, (self.message, self.syntax))


@dataclass
class QueryRequest:
    query: str
    result_format: str             # a key of results.SELECT_FORMATS or results.GRAPH_FORMATS
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    max_rows: int | None = None
    base_iri: str | None = None
    #: no query: dump every quad of the store (the Graph Store Protocol's dataset GET)
    dataset_dump: bool = False


@dataclass
class QueryResult:
    body: bytes
    media_type: str
    rows: int
    truncated: bool
    elapsed: float = 0.0


def execute(store, request: QueryRequest) -> QueryResult:
    """Evaluate one request against an open pyoxigraph store (in a worker, or in-process)."""
    import pyoxigraph as ox

    options: dict = {}
    if request.default_graphs:
        options["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs]
    else:
        options["use_default_graph_as_union"] = True
    if request.named_graphs:
        options["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs]
    if request.base_iri:
        options["base_iri"] = request.base_iri
    started = time.perf_counter()
    if request.dataset_dump:
        out = results.quads(store.quads_for_pattern(None, None, None, None), request.result_format,
                            request.max_rows)
        return QueryResult(out.body, out.media_type, out.rows, out.truncated, time.perf_counter() - started)
    try:
        answer = store.query(request.query, **options)
        if isinstance(answer, ox.QuerySolutions):
            out = results.solutions_native(answer, request.result_format, request.max_rows)
            if out is None:  # over the row cap: run it again and stop exactly at the cap
                answer = store.query(request.query, **options)
                out = results.solutions(answer, request.result_format, request.max_rows)
        elif isinstance(answer, ox.QueryBoolean):
            out = results.boolean(bool(answer), request.result_format)
        else:
            out = results.graph(answer, request.result_format, request.max_rows)
    except SyntaxError as exc:
        raise QueryFailed(str(exc), syntax=True) from None
    except (RuntimeError, ValueError, OSError) as exc:
        raise QueryFailed(str(exc), syntax=False) from None
    return QueryResult(out.body, out.media_type, out.rows, out.truncated, time.perf_counter() - started)


# --- worker side ------------------------------------------------------------------------------

class _Snapshot:
    def __init__(self, store_path: str, generation):
        self.store_path = store_path
        self.generation = generation
        self.store = None
        self.held = None

    def current(self):
        generation = self.generation.value
        if self.store is None or generation != self.held:
            self.store = None  # release the old snapshot's files first
            self.store = open_read_only(self.store_path)
            self.held = generation
        return self.store

    def reopen(self):
        self.held = None
        return self.current()


def _init(store_path: str, generation) -> _Snapshot:
    return _Snapshot(store_path, generation)


def _handle(snapshot: _Snapshot, request: QueryRequest) -> QueryResult:
    store = snapshot.current()
    for attempt in range(3):
        try:
            return execute(store, request)
        except QueryFailed as exc:
            if attempt == 2 or exc.syntax or not vanished_file(exc):
                raise
            store = snapshot.reopen()
    raise AssertionError("unreachable")


class QueryPool(WorkerPool):
    """Query workers over the store at ``store_path``."""

    def __init__(self, store_path: str, *, workers: int = 2, timeout: float = 10.0):
        self.generation = shared_counter()
        super().__init__(_init, (str(store_path), self.generation), _handle, size=workers,
                         timeout=timeout, name="ecgraph-query")

    def bump(self) -> None:
        """Tell the workers the store changed (the writer calls this after each commit)."""
        with self.generation.get_lock():
            self.generation.value += 1

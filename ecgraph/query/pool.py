"""Running public queries with a hard time limit, on read-only snapshots in worker processes.

pyoxigraph has no query timeout and no cancel, so public queries run in a :class:`WorkerPool`
(see :mod:`ecgraph.workers`): a query past its deadline has its worker killed and the client gets
a clear 503 while the other workers keep answering. (Two shapes that cannot run long, a lookup or a
DESCRIBE of one IRI, are answered in the web process instead: :mod:`ecgraph.query.bounded`.)

Snapshots: a read-only pyoxigraph store does not see later writes, so the writer moves a shared
*generation* around every commit (odd while it writes, even once it is durable) and a worker
reopens its snapshot (about 10 ms) when it holds an older one, at an even generation only
(:class:`Snapshot`). A reader therefore sees each commit whole or not at all, a client that got
its upload acknowledged sees it in its next query, and no answer is older than one that finished
before it was asked. Each answer says which generation it was computed at, which keys the answer
cache of :mod:`ecgraph.query.cache`.

Two kinds of query workers: the ones that answer the public (cut off from the network, see
:mod:`ecgraph.sandbox`), and, only when peers are configured, a small pool that keeps the network
for the queries whose every ``SERVICE`` names an allowed peer (the check in
:mod:`ecgraph.query.federate` decides which pool a query goes to). A failed SERVICE call answers one
uniform error that says nothing about the target, so that the endpoint cannot be used to tell a
closed port from an open one.
"""

from __future__ import annotations

import errno
import logging
import time
from dataclasses import dataclass, field

from ecgraph import errors
from ecgraph.query import explain, results
from ecgraph.store import open_snapshot
from ecgraph.store.embedded import vanished_file
from ecgraph.workers import WorkerPool, shared_counter


class QueryFailed(errors.BadRequest):
    """The engine rejected the query; ``syntax`` tells a parse error from an evaluation error."""

    def __init__(self, message: str, syntax: bool):
        super().__init__(message, title="query syntax error" if syntax else "query evaluation error")
        self.syntax = syntax


#: The one answer to every failed SERVICE call, whatever the reason: the engine's own messages
#: echo the remote server's answer and tell "connection refused" from "not SPARQL".
SERVICE_FAILED = ("a SERVICE call to a peer failed (the peer could not be reached in time or did not "
                  "answer with SPARQL results); details are not shown. Use SERVICE SILENT to go on "
                  "without that peer's answer.")


class ServiceFailed(errors.BadGateway):
    title = "service call failed"

    def __init__(self, message: str = SERVICE_FAILED):
        super().__init__(message)


@dataclass
class QueryRequest:
    query: str
    #: the key of a results format (if the query is a SELECT or ASK) or a graph format (CONSTRUCT,
    #: DESCRIBE), see :mod:`ecgraph.formats`
    result_format: str
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    max_rows: int | None = None
    base_iri: str | None = None
    #: the default graph is the union of all graphs (``--default-graph union``); else the store's
    #: own default graph (``own``)
    union_default: bool = True
    #: no query: dump every quad of the store (the Graph Store Protocol's dataset GET)
    dataset_dump: bool = False
    #: the SERVICE targets the check found (all allowed peers); non-empty means the query goes to
    #: a worker that can reach the network
    services: list[str] = field(default_factory=list)


@dataclass
class QueryResult:
    body: bytes
    media_type: str
    rows: int
    truncated: bool
    elapsed: float = 0.0
    #: the store generation the answer was computed at (its snapshot's), when known
    generation: int | None = None
    #: served from the answer cache (:mod:`ecgraph.query.cache`)
    cached: bool = False
    #: the weak ETag of the answer, from (generation, cache key)
    etag: str | None = None


log = logging.getLogger("ecgraph.query.pool")

_NETWORK_ERRNOS = {errno.EPERM, errno.EACCES, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED,
                   errno.ECONNRESET, errno.ETIMEDOUT, errno.EAFNOSUPPORT}


def _network_error(exc: OSError) -> bool:
    text = str(exc)
    return exc.errno in _NETWORK_ERRNOS or "os error" in text and ("network" in text.lower()
                                                                   or "not permitted" in text)


def execute(store, request: QueryRequest, deadline: float | None = None) -> QueryResult:
    """Evaluate one request against an open pyoxigraph store (in a worker, or in-process).
    ``deadline`` (``time.monotonic()``) stops a streaming answer between rows
    (:class:`results.DeadlinePassed`): for the queries :mod:`ecgraph.query.bounded` answers in
    the web process, where no worker can be killed."""
    import pyoxigraph as ox

    options: dict = {}
    if request.default_graphs:
        options["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs]
    elif request.union_default:
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
            native = results.solutions_native(answer, request.result_format, request.max_rows, deadline)
            if native is not None:
                out = native
            else:  # rare: a quoted CSV line break at the cap, or a huge output
                answer = store.query(request.query, **options)
                out = results.solutions(answer, request.result_format, request.max_rows, deadline)
        elif isinstance(answer, ox.QueryBoolean):
            out = results.boolean(bool(answer), request.result_format)
        else:
            native_graph = None
            if isinstance(answer, ox.QueryTriples) and request.result_format in results.NATIVE_GRAPH:
                native_graph = results.graph_native(answer, request.result_format, request.max_rows, deadline)
                if native_graph is None:  # past the cap: ask again, stop at it exactly
                    answer = store.query(request.query, **options)
            out = native_graph or results.graph(answer, request.result_format, request.max_rows, deadline)
    except SyntaxError as exc:
        raise QueryFailed(explain.syntax_error(str(exc), request.query), syntax=True) from None
    except (RuntimeError, ValueError, OSError) as exc:
        if request.services:
            raise ServiceFailed() from None
        if isinstance(exc, OSError) and _network_error(exc):
            # The query reached for the network although the check found no SERVICE in it: the
            # worker's isolation stopped it. Say nothing about the target; the node logs it.
            log.error("blocked a network call from a query the SERVICE check passed: %r", request.query[:500])
            raise ServiceFailed() from None
        raise QueryFailed(str(exc), syntax=False) from None
    return QueryResult(out.body, out.media_type, out.rows, out.truncated, time.perf_counter() - started)


# --- worker side ------------------------------------------------------------------------------

class Snapshot:
    """A worker's read-only view, labelled with the generation it holds exactly.

    The writer makes the generation odd before a write and even once it is durable
    (:meth:`ecgraph.store.GraphStore._committing`). A snapshot is opened only while the counter is
    even and kept only if the counter did not move while it opened, so it holds the state of that
    commit and no later one: two workers never show one generation with different data, and a read
    never shows less than a read that finished before it (monotonic reads across clients). While a
    write is in flight, a worker that holds the last acknowledged generation goes on answering from
    it; one that holds an older one waits for the write to be acknowledged (under its deadline)."""

    def __init__(self, spec: tuple[str, str], generation):
        self.spec = spec
        self.generation = generation
        self.store = None
        self.held: int | None = None

    def current(self):
        pause = 0.001
        while True:
            generation = self.generation.value
            if generation & 1:  # a write is in flight
                if self.store is not None and self.held == generation - 1 and not getattr(self.store, "live", False):
                    return self.store
                time.sleep(pause)
                pause = min(pause * 2, 0.02)
                continue
            if self.store is not None and self.held == generation:
                return self.store
            self.store = None  # release the old snapshot's files first
            store = open_snapshot(self.spec)
            if self.generation.value == generation:
                self.store, self.held = store, generation
                return store
            del store  # a write began while it opened: it may hold that write or not; open again

    def reopen(self):
        self.held = None
        return self.current()


def _init(spec: tuple[str, str], generation) -> Snapshot:
    return Snapshot(spec, generation)


def _handle(snapshot: Snapshot, request: QueryRequest) -> QueryResult:
    store = snapshot.current()
    attempt = 0
    while True:
        try:
            result = execute(store, request)
            if getattr(store, "live", False) and snapshot.generation.value != snapshot.held:
                # a live view of a store written in steps (ecgraph.store.stepwise): a write began
                # before the answer was in, so it may show part of it; ask again once it is whole
                store = snapshot.current()
                continue
            result.generation = snapshot.held
            return result
        except QueryFailed as exc:
            attempt += 1
            if attempt == 3 or exc.syntax or not vanished_file(exc):
                raise
            store = snapshot.reopen()


class QueryPool(WorkerPool):
    """Query workers over snapshots of a store (``spec``, from :meth:`GraphStore.snapshot_spec`),
    sharing the store's ``generation`` counter (one counter for every pool over the same store).
    ``isolate_network`` cuts the workers off the network (the public pool); the federation pool
    keeps it."""

    def __init__(self, spec: tuple[str, str], generation=None, *, workers: int = 2, timeout: float = 10.0,
                 isolate_network: bool = True, memory_limit_mb: int | None = None,
                 name: str = "ecgraph-query"):
        self.generation = generation if generation is not None else shared_counter()
        super().__init__(_init, (spec, self.generation), _handle, size=workers,
                         timeout=timeout, name=name, isolate_network=isolate_network,
                         memory_limit_mb=memory_limit_mb)


def bump(generation, by: int = 2) -> None:
    """Move the generation on: to odd before a write, to even once it is durable (see
    :meth:`ecgraph.store.GraphStore._committing`); by 2 (the default) after a commit from a store that
    only says it committed."""
    with generation.get_lock():
        generation.value += by

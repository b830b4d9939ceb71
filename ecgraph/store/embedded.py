"""The embedded store: pyoxigraph on disk in the node's data directory (the default), and the only
code that opens one.

Layout (see :mod:`ecgraph.standard` for the IRIs): one named graph per twin, the twin's inferred
triples in a graph beside it, the ontology, the vocabularies and the catalog in graphs of their
own. Queries take the union of all named graphs as their default graph. Writes go through
:meth:`ecgraph.store.GraphStore.commit` (one SPARQL Update); after each the store is flushed and the
node's *generation* goes up, and query workers, which hold read-only snapshots
(:func:`open_read_only`), reopen when the generation they hold is stale.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable
from concurrent.futures import wait
from pathlib import Path

import pyoxigraph as ox

from ecgraph import errors
from ecgraph.store import PyoxigraphStore
from ecgraph.workers import on_thread

LOCK_HINT = ("the data directory is in use by another ecgraph process (a running node?); stop it, "
             "or use the node's HTTP API instead")


class StoreLocked(errors.Conflict):
    title = "store in use"


class EmbeddedStore(PyoxigraphStore):
    """A pyoxigraph store over a data directory: read-write, or ``read_only`` (a snapshot beside a
    running node, for the command line's reads)."""

    manages_generation = True

    def __init__(self, path: str | os.PathLike, *, on_commit: Callable[[], None] | None = None,
                 read_only: bool = False):
        super().__init__()
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            if not (self.path / "oxigraph").exists():
                raise errors.NotFound(f"no store in {self.path}: start a node there or load twins first")
            self._store = open_read_only(self.path)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            try:
                self._store = ox.Store(str(self.path / "oxigraph"))
            except OSError as exc:
                if "lock" in str(exc).lower():
                    raise StoreLocked(f"{self.path}: {LOCK_HINT}") from None
                raise
        self._on_commit = on_commit

    # --- reads ------------------------------------------------------------------------------


    # --- writes -----------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise errors.Conflict("this is a read-only view of the store; write through the running node")

    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        """Run one SPARQL Update as one transaction, then make it visible to query workers.

        The engine holds a whole transaction in memory (about 2.5 KB a quad at its peak: a twin of
        400,000 triples with its inferences peaks near 3 GB), so a large write is followed by
        handing the freed memory back to the system, which glibc does not do by itself."""
        self._update(sparql, base_iri, None)

    def _apply(self, sparql: str, meanwhile: Callable[[], None] | None) -> None:
        self._update(sparql, None, meanwhile)

    def _update(self, sparql: str, base_iri: str | None, meanwhile: Callable[[], None] | None) -> None:
        """The update, then the flush that makes it durable (the engine releases the GIL for it:
        at 10,000 triples 27 ms, in which ``meanwhile`` runs on another thread)."""
        self._writable()
        with self._write_lock, self._committing():
            self._store.update(sparql, base_iri=base_iri)
            beside = on_thread(meanwhile, "ecgraph-commit-meanwhile") if meanwhile is not None else None
            try:
                self._store.flush()
            finally:
                if beside is not None:
                    wait([beside])
            if len(sparql) > LARGE_WRITE:
                release_memory()
        if self._on_commit:
            self._on_commit()
        if beside is not None:
            beside.result()  # what went wrong beside the flush, once the commit is complete

    def bulk_load(self, nquads: bytes) -> None:
        """pyoxigraph's bulk loader: several times faster than a transaction, but NOT atomic (an
        interrupted load leaves part of its quads). Only for ``ecgraph load --bulk`` of new twins,
        whose catalog entries are written last (see :meth:`ecgraph.node.Node.bulk_publish`)."""
        self._writable()
        with self._write_lock, self._committing():
            self._store.bulk_load(nquads, format=ox.RdfFormat.N_QUADS)
            self._store.flush()
        if self._on_commit:
            self._on_commit()

    def bulk_load_file(self, path: Path) -> None:
        """The whole file with ONE call of pyoxigraph's bulk loader, which builds every table file
        first and ingests them together: the store comes out laid out as ``oxigraph load`` lays it
        out. Loaded in batches (one call each), the same quads were ingested again and again over
        each other and compacted into other files, and read slower: the same 15.7 million quads of
        the N=10,000 benchmark network answered its self-consumption query in 871 ms after 50 batch
        loads and in 686 ms after one (in process, medians of six)."""
        self._writable()
        with self._write_lock, self._committing():
            self._store.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
            self._store.flush()
        if self._on_commit:
            self._on_commit()

    def optimize(self) -> None:
        self._store.optimize()

    def close(self) -> None:
        if not self.read_only:
            self._store.flush()
        del self._store

    def snapshot_spec(self) -> tuple[str, str]:
        return ("embedded", str(self.path))


#: writes larger than this (characters of update text) give freed memory back to the system
LARGE_WRITE = 4 * 1024 * 1024


def release_memory() -> None:
    """Return the heap's free pages to the operating system (glibc's malloc_trim; a no-op where
    there is no glibc)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def open_read_only(path: str | os.PathLike, attempts: int = 10) -> ox.Store:
    """A snapshot of the store as of now, usable beside the writer (for query workers).

    Opening races with the writer's background compactions, which delete files the snapshot's
    manifest still names (seen: about one open in six under constant writes). Such an open fails
    cleanly; it is retried after a short pause.
    """
    location = str(Path(path) / "oxigraph")
    delay = 0.005
    for attempt in range(attempts):
        try:
            return ox.Store.read_only(location)
        except (OSError, RuntimeError) as exc:
            if attempt == attempts - 1 or not (isinstance(exc, OSError) or vanished_file(exc)):
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
    raise AssertionError("unreachable")


def vanished_file(exc: Exception) -> bool:
    """Whether an error means a snapshot named a file the writer has since compacted away."""
    text = str(exc)
    return "No such file" in text or "IO error" in text or "Corruption" in text



"""A store in memory: pyoxigraph without a disk, behind the same interface as the embedded store.

For unit tests and scratch nodes (``Node(config, workers=False, store=MemoryStore())``): every
promise of :class:`ecgraph.store.GraphStore` holds (one update per commit, the same N-Triples text),
but no other process can open a snapshot of it, so a node over it runs without worker processes.
"""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox

from ecgraph.store import PyoxigraphStore


class MemoryStore(PyoxigraphStore):
    manages_generation = True

    def __init__(self, *, on_commit: Callable[[], None] | None = None):
        super().__init__()
        self._store = ox.Store()
        self._on_commit = on_commit


    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        with self._write_lock, self._committing():
            self._store.update(sparql, base_iri=base_iri)
        if self._on_commit:
            self._on_commit()

    def bulk_load(self, nquads: bytes) -> None:
        with self._write_lock, self._committing():
            self._store.bulk_load(nquads, format=ox.RdfFormat.N_QUADS)
        if self._on_commit:
            self._on_commit()

    def close(self) -> None:
        pass

    def snapshot_spec(self) -> tuple[str, str]:
        return ("memory", "")

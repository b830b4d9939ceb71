"""A store in memory: pyoxigraph without a disk, behind the same interface as the embedded store.

For unit tests and scratch nodes (``Node(config, workers=False, store=MemoryStore())``): every
promise of :class:`ecgraph.store.GraphStore` holds (one update per commit, the same N-Triples text),
but no other process can open a snapshot of it, so a node over it runs without worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pyoxigraph as ox

from ecgraph.store import GraphStore


class MemoryStore(GraphStore):
    manages_generation = True

    def __init__(self, *, on_commit: Callable[[], None] | None = None):
        super().__init__()
        self._store = ox.Store()
        self._on_commit = on_commit

    def query(self, sparql: str, *, union: bool = True, substitutions: Mapping | None = None, **options: Any):
        if union and "default_graph" not in options:
            options["use_default_graph_as_union"] = True
        return self._store.query(sparql, substitutions=dict(substitutions or {}), **options)

    def graph_ntriples(self, graph: str) -> str:
        data = self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
        assert data is not None  # no output file given: pyoxigraph returns the bytes
        return data.decode("utf-8").rstrip("\n")

    def has_graph(self, graph: str) -> bool:
        return self._store.contains_named_graph(ox.NamedNode(graph))

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def subjects_triples(self, graph: str, subject: ox.NamedNode) -> list[ox.Triple]:
        return [q.triple for q in self._store.quads_for_pattern(subject, None, None, ox.NamedNode(graph))]

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        return self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph) if graph else None)

    def __len__(self) -> int:
        return len(self._store)

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

    def engine(self):
        return self._store

    def snapshot_spec(self) -> tuple[str, str]:
        return ("memory", "")

"""The on-disk graph store: the only code that opens a pyoxigraph Store.

Layout (see :mod:`ecgraph.standard` for the IRIs): one named graph per twin, the twin's inferred
triples in a graph beside it, the ontology, the vocabularies and the catalog in graphs of their
own. Queries take the union of all named graphs as their default graph.

Every write is **one** SPARQL Update, so it is atomic as a whole: a reader sees a twin, its
inferences and its catalog entry either all before or all after a change, never a twin that is
empty or half-replaced. (``remove_graph()`` then ``extend()`` would show readers an empty graph in
between.) After each write the store is flushed and its *generation* goes up; query workers hold
read-only snapshots and reopen when the generation they hold is stale.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import pyoxigraph as ox

LOCK_HINT = ("the data directory is in use by another ecgraph process (a running node?); stop it, "
             "or use the node's HTTP API instead")


class StoreLocked(RuntimeError):
    pass


class Store:
    """A read-write store over a data directory."""

    def __init__(self, path: str | os.PathLike, *, on_commit: Callable[[], None] | None = None):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._store = ox.Store(str(self.path / "oxigraph"))
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreLocked(f"{self.path}: {LOCK_HINT}") from None
            raise
        self._on_commit = on_commit
        self._write_lock = threading.RLock()

    # --- reads ------------------------------------------------------------------------------

    def query(self, sparql: str, *, union: bool = True, substitutions: Mapping | None = None, **options):
        """Run a query in this process (for the CLI and the node's own bookkeeping; the public
        endpoint runs queries in killable workers, see :mod:`ecgraph.query`)."""
        if union and "default_graph" not in options:
            options["use_default_graph_as_union"] = True
        return self._store.query(sparql, substitutions=dict(substitutions or {}), **options)

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        return [q.triple for q in self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph))]

    def graph_ntriples(self, graph: str) -> str:
        """A graph as N-Triples text, one triple per line (the writer the pipeline uses too, so
        lines compare equal when triples do), without the final newline."""
        data = self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
        return data.decode("utf-8").rstrip("\n")

    def graph_size(self, graph: str) -> int:
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def has_graph(self, graph: str) -> bool:
        return self._store.contains_named_graph(ox.NamedNode(graph))

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def subjects_triples(self, graph: str, subject: ox.NamedNode) -> list[ox.Triple]:
        return [q.triple for q in self._store.quads_for_pattern(subject, None, None, ox.NamedNode(graph))]

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        return self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph) if graph else None)

    def quads_for_pattern(self, subject, predicate, object, graph) -> Iterator[ox.Quad]:
        return self._store.quads_for_pattern(subject, predicate, object, graph)

    def dump(self, output, format: ox.RdfFormat) -> None:
        self._store.dump(output, format=format)

    def __len__(self) -> int:
        return len(self._store)

    # --- writes -----------------------------------------------------------------------------

    def commit(self, *, replace: Mapping[str, Sequence[ox.Triple] | str] = (),
               drop: Iterable[str] = (),
               delete_subjects: Mapping[str, Iterable[ox.NamedNode]] = (),
               delete: Mapping[str, Sequence[ox.Triple]] = (),
               insert: Mapping[str, Sequence[ox.Triple] | str] = ()) -> None:
        """Apply one change atomically: all of it is one SPARQL Update.

        ``replace`` maps graph IRIs to their new content; ``drop`` removes graphs;
        ``delete_subjects`` removes every triple of the given subjects from a graph (how a catalog
        entry is rewritten); ``delete`` and ``insert`` remove and add triples. Content is a
        sequence of triples or N-Triples text as :func:`ecgraph.pipeline.ntriples` writes it.

        A replace writes only the difference with what the graph holds (a twin re-published with
        a few changes costs a few writes, not a full rewrite). Triples with blank nodes cannot be
        matched across uploads, so those are always removed and written anew. The difference is
        taken on N-Triples lines, not on terms: a large twin costs its text, not millions of
        small objects.
        """
        with self._write_lock:
            operations: list[str] = []
            removals: list[tuple[str, list[str]]] = [(g, _lines(t)) for g, t in dict(delete).items()]
            additions: list[tuple[str, list[str]]] = []
            for graph in drop:
                operations.append(f"DROP SILENT GRAPH {_iri(graph)}")
            for graph, content in dict(replace).items():
                new = _lines(content)
                if not self.has_graph(graph):
                    additions.append((graph, new))
                    continue
                old = [line for line in self.graph_ntriples(graph).split("\n") if line]
                new_set = set(new)
                old_ground = {line for line in old if _ground(line)}
                removals.append((graph, [line for line in old_ground if line not in new_set]))
                if len(old_ground) != len(old):
                    operations.append(f"DELETE {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {_iri(graph)} "
                                      "{ ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) } }")
                additions.append((graph, [line for line in new if not _ground(line) or line not in old_ground]))
            for graph, subjects in dict(delete_subjects).items():
                for subject in subjects:
                    operations.append(f"DELETE WHERE {{ GRAPH {_iri(graph)} {{ {_named(subject)} ?p ?o }} }}")
            blocks = [f"GRAPH {_iri(g)} {{\n" + "\n".join(lines) + "\n}" for g, lines in removals if lines]
            if blocks:
                operations.append("DELETE DATA {\n" + "\n".join(blocks) + "\n}")
            additions.extend((g, _lines(t)) for g, t in dict(insert).items())
            blocks = [f"GRAPH {_iri(g)} {{\n" + "\n".join(lines) + "\n}" for g, lines in additions if lines]
            if blocks:
                operations.append("INSERT DATA {\n" + "\n".join(blocks) + "\n}")
            if operations:
                self.update(" ;\n".join(operations))

    def update(self, sparql: str) -> None:
        """Run one SPARQL Update as one transaction, then make it visible to query workers.

        The engine holds a whole transaction in memory (about 2.5 KB a quad at its peak: a twin of
        400,000 triples with its inferences peaks near 3 GB), so a large write is followed by
        handing the freed memory back to the system, which glibc does not do by itself."""
        with self._write_lock:
            self._store.update(sparql)
            self._store.flush()
            if len(sparql) > LARGE_WRITE:
                release_memory()
        if self._on_commit:
            self._on_commit()

    def bulk_load(self, nquads: bytes) -> None:
        """pyoxigraph's bulk loader: several times faster than a transaction, but NOT atomic (an
        interrupted load leaves part of its quads). Only for ``ecgraph load --bulk`` of new twins,
        whose catalog entries are written last (see :meth:`ecgraph.node.Node.bulk_publish`)."""
        with self._write_lock:
            self._store.bulk_load(nquads, format=ox.RdfFormat.N_QUADS)
            self._store.flush()
        if self._on_commit:
            self._on_commit()

    def optimize(self) -> None:
        self._store.optimize()

    def close(self) -> None:
        self._store.flush()
        del self._store


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


def _iri(value: str) -> str:
    return str(ox.NamedNode(value))  # validates and escapes: no string formatting of raw input


#: a line whose object is a blank node: `` _:label .`` at its end (a literal cannot end so: it
#: ends with a quote, a language tag after a quote, or a datatype IRI)
_BLANK_OBJECT = re.compile(r' _:[^\s"<>]+ \.$')


def _ground(line: str) -> bool:
    return not line.startswith("_:") and _BLANK_OBJECT.search(line) is None


_IRI = r'<[^\x00-\x20<>"{}|^`\\]*+>'
_BLANK = r'_:[^\s<>"{};,]++'
_LITERAL = r'"[^"\\\n\r]*+(?:\\.[^"\\\n\r]*+)*+"(?:@[a-zA-Z]++(?:-[a-zA-Z0-9]++)*+|\^\^' + _IRI + ')?'
_LINE = f'(?:{_IRI}|{_BLANK}) {_IRI} (?:{_IRI}|{_BLANK}|{_LITERAL}) \\.'
#: N-Triples as the store's writer produces it, one triple per line: checked in one pass of the
#: regex engine (about 7 ns a byte) before text goes into an update, so that nothing in it can
#: close the data block and run as SPARQL
_NTRIPLES = re.compile(f"(?:{_LINE}\n)*+(?:{_LINE})?")


def _lines(content: Sequence[ox.Triple] | str) -> list[str]:
    """N-Triples lines. Text (from the pipeline's writer, in a worker) must be N-Triples exactly
    as the store writes it, one triple per line, or it is refused with a SyntaxError; terms are
    written with the same writer."""
    if isinstance(content, str):
        text = content.strip("\n")
        if _NTRIPLES.fullmatch(text) is None:
            raise SyntaxError("the text to store is not N-Triples, one triple per line; nothing was written")
        return [line for line in text.split("\n") if line]
    if not content:
        return []
    return ox.serialize(content, format=ox.RdfFormat.N_TRIPLES).decode("utf-8").rstrip("\n").split("\n")


def _named(term: ox.NamedNode) -> str:
    if not isinstance(term, ox.NamedNode):
        raise TypeError(f"expected a NamedNode, not {type(term).__name__}")
    return str(term)

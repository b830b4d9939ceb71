"""Where the graph lives, behind one interface: what everything above the store uses.

:class:`GraphStore` is that interface. Its reads are a few primitives (a graph as N-Triples text,
whether a graph exists, the named graphs, a subject's triples, any SPARQL query); its one write
that matters is :meth:`GraphStore.commit`, a change of several graphs applied as **one** SPARQL
Update, so that a reader sees a twin, its inferences and its catalog entry all before or all after
a change, never a twin that is empty or half-replaced. The commit is written once, here, from the
primitives; an implementation supplies the primitives and how its workers open a snapshot.

Implementations: :mod:`ecgraph.store.embedded` (pyoxigraph on disk, the default),
:mod:`ecgraph.store.memory` (pyoxigraph in memory, for unit tests and scratch nodes) and
:mod:`ecgraph.store.remote` (a SPARQL 1.1 store over HTTP, ``--store URL``). ``registry`` keeps
tokens, versions, reports and namespaces in SQLite in the data directory, whichever the store.
"""

from __future__ import annotations

import abc
import contextlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ecgraph.formats import ntriples

#: how much of an N-Quads file :meth:`GraphStore.bulk_load_file` hands :meth:`GraphStore.bulk_load` at once
BULK_FILE_PIECE = 64 * 1024 * 1024


class GraphStore(abc.ABC):
    """A read-write graph store; query workers read it through :meth:`snapshot_spec`."""

    #: whether query workers reach the store over the network (and so cannot be cut off from it)
    remote = False
    #: the node's generation counter (:func:`ecgraph.workers.shared_counter`), when the node hands
    #: it over; a store that moves it itself around each write (:meth:`_committing`) says so here
    generation: Any = None
    manages_generation = False

    def __init__(self) -> None:
        self._write_lock = threading.RLock()

    @contextlib.contextmanager
    def _committing(self) -> Iterator[None]:
        """Around every write (under the write lock): the generation is odd while the write is in
        flight and even again once it is durable, before anyone is told. Query workers open
        snapshots only at an even generation that did not move while they opened
        (:mod:`ecgraph.query.pool`), and the answer cache keys on it (:mod:`ecgraph.query.cache`):
        so no answer mixes a commit in without its number, and none outlives it."""
        counter = self.generation
        if counter is None:
            yield
            return
        with counter.get_lock():
            counter.value += 1 + (counter.value & 1)  # odd (a failed write before may have left it odd)
        try:
            yield
        finally:
            with counter.get_lock():
                counter.value += 1

    # --- reads -----------------------------------------------------------------------------------

    def consistent(self, read: Callable[[], Any]) -> Any:
        """``read()``, made to see no write half-done: a store whose writes are transactions needs
        nothing; one written in steps runs it between writes (:meth:`RemoteStore.consistent`)."""
        return read()

    @abc.abstractmethod
    def query(self, sparql: str, *, union: bool = True, substitutions: Mapping | None = None, **options: Any):
        """Run a query in this process (the node's own bookkeeping, the command line; public
        queries run in killable workers over a snapshot)."""

    @abc.abstractmethod
    def graph_ntriples(self, graph: str) -> str:
        """A graph as N-Triples text, one triple per line as pyoxigraph writes it (so that lines
        compare equal when triples do), without the final newline."""

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        return [q.triple for q in self.quads(graph)]

    @abc.abstractmethod
    def has_graph(self, graph: str) -> bool: ...

    @abc.abstractmethod
    def named_graphs(self) -> list[str]: ...

    @abc.abstractmethod
    def subjects_triples(self, graph: str, subject: ox.NamedNode) -> list[ox.Triple]: ...

    def subjects_of(self, graph: str, listed_by: Sequence[ox.NamedNode] = ()) -> list:
        """Every subject of ``graph``, each once (named and blank nodes), and every IRI that a
        statement of one of the predicates ``listed_by`` names as its object."""
        return [row["s"] for row in self.query(
            f"SELECT DISTINCT ?s WHERE {{ GRAPH {_iri(graph)} {{ {_resources(listed_by)} }} }}")]

    @abc.abstractmethod
    def triples_about(self, graph: str, subjects: Sequence[ox.NamedNode],
                      listed_by: Sequence[ox.NamedNode] = ()) -> list[ox.Triple]:
        """Every triple of ``graph`` whose subject is one of ``subjects`` (a part of the catalog),
        but for the predicates ``listed_by``: their statements with an IRI as object are those
        whose *object* is one of ``subjects`` (a catalog's ``dcat:dataset`` goes with the dataset
        it lists: see :mod:`ecgraph.publish.catalog_pages`)."""

    @abc.abstractmethod
    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]: ...

    @abc.abstractmethod
    def __len__(self) -> int: ...

    # --- writes ----------------------------------------------------------------------------------

    def commit(self, *, replace: Mapping[str, Sequence[ox.Triple] | str] | None = None,
               drop: Iterable[str] = (),
               delete_subjects: Mapping[str, Iterable[ox.NamedNode]] | None = None,
               delete: Mapping[str, Sequence[ox.Triple]] | None = None,
               insert: Mapping[str, Sequence[ox.Triple] | str] | None = None,
               known: Mapping[str, str] | None = None, meanwhile: Callable[[], None] | None = None) -> None:
        """Apply one change atomically: all of it is one SPARQL Update.

        ``replace`` maps graph IRIs to their new content; ``drop`` removes graphs;
        ``delete_subjects`` removes every triple of the given subjects from a graph (how a catalog
        entry is rewritten); ``delete`` and ``insert`` remove and add triples. Content is a
        sequence of triples or N-Triples text as :func:`ecgraph.publish.pipeline.ntriples` writes it.
        ``known`` gives graphs' current text when the caller has just read it (under its lock:
        a publish reads the old twin once, for the archive and for this difference).

        A replace writes only the difference with what the graph holds (a twin re-published with
        a few changes costs a few writes, not a full rewrite). Triples with blank nodes cannot be
        matched across uploads, so those are always removed and written anew. The difference is
        taken on N-Triples lines, not on terms: a large twin costs its text, not millions of
        small objects.

        Whatever goes by pattern (the old triples with blank nodes, the subjects of
        ``delete_subjects``) is one ``DELETE ... WHERE`` before the data operations: an update whose
        only pattern operation comes first is applied by oxigraph without reading its own writes
        back, which at a 10,000-triple republish is 43 ms instead of 73 to 125 ms for the same
        change with six pattern operations (timed on a copy of the store; the states compared equal).

        ``meanwhile()`` runs once the change is applied, while the store makes it durable (reads
        of what it wrote that must be done before anyone is told: a twin's share of the network
        figures); its exception, if any, is raised after the commit is complete.
        """
        with self._write_lock:
            operations: list[str] = []
            patterns: list[str] = []  # what goes by pattern (see _PATTERN_DELETE): one operation, first
            removals: list[tuple[str, list[str]]] = [(g, _lines(t)) for g, t in dict(delete or {}).items()]
            additions: list[tuple[str, list[str]]] = []
            for graph in drop:
                operations.append(f"DROP SILENT GRAPH {_iri(graph)}")
            for graph, content in dict(replace or {}).items():
                new = _lines(content)
                if not self.has_graph(graph):
                    additions.append((graph, new))
                    continue
                text = dict(known or {}).get(graph)
                old = [line for line in (self.graph_ntriples(graph) if text is None else text).split("\n") if line]
                new_set = set(new)
                old_blank = _blank_lines(old)
                old_ground = set(old).difference(old_blank)
                removals.append((graph, [line for line in old if line not in new_set and line in old_ground]))
                if old_blank:
                    patterns.extend(_delete_blank(graph, old_blank, len(old)))
                # a line with a blank node is never among the old ground lines: it is always added
                additions.append((graph, [line for line in new if line not in old_ground]))
            for graph, subjects in dict(delete_subjects or {}).items():
                subjects = list(subjects)  # the f-string names the checking helper: the injection scan sees it
                if subjects:
                    patterns.append(f"{{ VALUES ?s {{ {_named_list(subjects)} }} GRAPH {_iri(graph)} {{ ?s ?p ?o }} "
                                    f"BIND({_iri(graph)} AS ?g) }}")
            if patterns:
                operations.append(_PATTERN_DELETE + " UNION ".join(patterns) + " }")
            blocks = [f"GRAPH {_iri(g)} {{\n" + "\n".join(lines) + "\n}" for g, lines in removals if lines]
            if blocks:
                operations.append("DELETE DATA {\n" + "\n".join(blocks) + "\n}")
            additions.extend((g, _lines(t)) for g, t in dict(insert or {}).items())
            blocks = [f"GRAPH {_iri(g)} {{\n" + "\n".join(lines) + "\n}" for g, lines in additions if lines]
            if blocks:
                operations.append(self.insert_data(blocks, blank=any(_blank_lines(lines) for _, lines in additions)))
            if operations:
                self._apply(" ;\n".join(operations), meanwhile)
            elif meanwhile is not None:
                meanwhile()

    def _apply(self, sparql: str, meanwhile: Callable[[], None] | None) -> None:
        """A commit's update, then ``meanwhile()`` (a store that makes a write durable in a step
        of its own runs it beside that step)."""
        self.update(sparql)
        if meanwhile is not None:
            meanwhile()

    def insert_data(self, blocks: list[str], *, blank: bool) -> str:
        """The operation that adds ``blocks`` (``GRAPH <g> { ... }``); ``blank``: some triples have
        blank nodes (a store whose dialect refuses them in INSERT DATA says it another way)."""
        return "INSERT DATA {\n" + "\n".join(blocks) + "\n}"

    def put_graph(self, graph: str | None, content: Sequence[ox.Triple] | str, *, merge: bool = False) -> bool:
        """Replace a whole graph (``merge``: add to it) as one update, the graph created even when
        empty; ``graph=None`` is the default graph. For reference data, which is written as sent
        (a twin's graph goes through :meth:`commit`). Returns whether the graph is new."""
        lines = _lines(content)
        data = "\n".join(lines)
        with self._write_lock:
            if graph is None:
                created = not bool(self.query("ASK { ?s ?p ?o }", union=False))
                operations = [] if merge else ["CLEAR SILENT DEFAULT"]
                if lines:
                    operations.append("INSERT DATA {\n" + data + "\n}")
            else:
                created = not self.has_graph(graph)
                operations = [] if merge else [f"DROP SILENT GRAPH {_iri(graph)}"]
                operations.append(f"CREATE SILENT GRAPH {_iri(graph)}")
                if lines:
                    operations.append(f"INSERT DATA {{ GRAPH {_iri(graph)} {{\n" + data + "\n} }")
            if operations:
                self.update(" ;\n".join(operations))
        return created

    def drop_graph(self, graph: str | None) -> None:
        """Remove a named graph, or empty the default graph (``None``)."""
        self.update("CLEAR DEFAULT" if graph is None else f"DROP GRAPH {_iri(graph)}")

    @abc.abstractmethod
    def update(self, sparql: str, *, base_iri: str | None = None) -> None:
        """Run one SPARQL Update as one transaction, and make it visible to readers; ``base_iri``
        resolves its relative IRIs (none: they are an error)."""

    @abc.abstractmethod
    def bulk_load(self, nquads: bytes) -> None:
        """A fast, NOT atomic load of new quads (``ecgraph load --bulk`` of new twins only)."""

    def bulk_load_file(self, path: Path) -> None:
        """:meth:`bulk_load` of an N-Quads file, however large: by default in pieces of about
        :data:`BULK_FILE_PIECE` bytes cut at line ends (a store whose loader takes a file in one
        call overrides this)."""
        with open(path, "rb") as f:
            while True:
                piece = f.read(BULK_FILE_PIECE)
                if not piece:
                    return
                if not piece.endswith(b"\n"):
                    piece += f.readline()  # to the line's end: an N-Quads line holds no raw newline
                self.bulk_load(piece)

    def optimize(self) -> None:  # noqa: B027 - a hook: a store with nothing to compact keeps it empty
        """Compact after a bulk load, where the store has anything to compact."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # --- snapshots for workers -------------------------------------------------------------------

    @abc.abstractmethod
    def engine(self):
        """What :func:`ecgraph.query.pool.execute` runs a query on in this process (the command
        line, a node without workers): the same API as a worker's snapshot."""

    @abc.abstractmethod
    def snapshot_spec(self) -> tuple[str, str]:
        """How a worker process opens a read-only view of this store: a picklable (kind, where)
        for :func:`open_snapshot`."""


def open_snapshot(spec: tuple[str, str]):
    """A read-only view of a store, in a worker process (pyoxigraph's ``Store`` API)."""
    kind, where = spec
    if kind == "embedded":
        from ecgraph.store.embedded import open_read_only

        return open_read_only(where)
    if kind == "remote":
        from ecgraph.store.remote import open_engine

        return open_engine(where)
    raise ValueError(f"a {kind} store has no snapshots for worker processes; run the node without workers")


class PyoxigraphStore(GraphStore):
    """The reads of a store that is a pyoxigraph ``Store`` in this process (``self._store``): the
    embedded store on disk and the in-memory one share them."""

    _store: ox.Store

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

    def triples_about(self, graph: str, subjects: Sequence[ox.NamedNode],
                      listed_by: Sequence[ox.NamedNode] = ()) -> list[ox.Triple]:
        g = ox.NamedNode(graph)
        out = [q.triple for subject in subjects for q in self._store.quads_for_pattern(subject, None, None, g)
               if not (isinstance(q.object, ox.NamedNode) and q.predicate in listed_by)]
        return out + [q.triple for subject in subjects for predicate in listed_by
                      for q in self._store.quads_for_pattern(None, predicate, subject, g)]

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        return self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph) if graph else None)

    def __len__(self) -> int:
        return len(self._store)

    def engine(self):
        return self._store


def _iri(value: str) -> str:
    return str(ox.NamedNode(value))  # validates and escapes: no string formatting of raw input


def _resources(listed_by: Sequence[ox.NamedNode]) -> str:
    """A graph pattern binding ``?s`` to each subject, and to each IRI a statement of the
    predicates ``listed_by`` names as its object (:meth:`GraphStore.subjects_of`)."""
    if not listed_by:
        return "?s ?p ?o"
    return f"{{ ?s ?p ?o }} UNION {{ VALUES ?q {{ {_named_list(listed_by)} }} ?o ?q ?s FILTER(isIRI(?s)) }}"


#: a line whose object is a blank node: `` _:label .`` at its end (a literal cannot end so: it
#: ends with a quote, a language tag after a quote, or a datatype IRI)
_BLANK_OBJECT = re.compile(r' _:[^\s"<>]+ \.$')


def _ground(line: str) -> bool:
    return "_:" not in line or (not line.startswith("_:") and _BLANK_OBJECT.search(line) is None)


def _blank_lines(lines: list[str]) -> list[str]:
    """The lines with a blank node, in order (the few lines that hold ``_:`` at all are tested)."""
    return [line for line in lines if "_:" in line and not _ground(line)]


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
    return ntriples(content).split("\n")


def _values(rows: dict[str, None]) -> str:
    """VALUES rows of terms that pyoxigraph wrote (``str`` of parsed terms: valid and escaped)."""
    return " ".join(rows)


#: the head of a commit's one pattern operation: each of its UNION's groups binds the graph
#: (``?g``) and the triple (``?s ?p ?o``) to remove, and matches one stored triple (no join
#: between triples), so their union removes what the same groups would as operations of their own
_PATTERN_DELETE = "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { "


def _delete_blank(graph: str, lines: list[str], size: int) -> list[str]:
    """Groups of :data:`_PATTERN_DELETE` that remove a graph's triples with blank nodes, given them
    as the graph's own N-Triples ``lines`` (of ``size``). A blank node cannot be named in an
    update, so they are found by what else they state: a blank subject by its predicate and
    object, a blank object by its subject and predicate, through the store's indexes (at 10,000
    triples, 19 ms instead of 120 ms for a scan of the whole graph with a FILTER, which is kept for
    graphs that are mostly blank nodes). Each pattern matches only triples with a blank node, and
    every such triple of the graph is among ``lines``: exactly those go."""
    bind = f"BIND({_iri(graph)} AS ?g) }}"
    if len(lines) * 4 > size:
        return [f"{{ GRAPH {_iri(graph)} {{ ?s ?p ?o FILTER(isBlank(?s) || isBlank(?o)) }} " + bind]
    by_object: dict[str, None] = {}
    by_subject: dict[str, None] = {}
    both: dict[str, None] = {}
    for t in ox.parse("\n".join(lines), format=ox.RdfFormat.N_TRIPLES):  # terms written back by the writer
        s, p, o = t.subject, t.predicate, t.object
        if isinstance(s, ox.BlankNode) and isinstance(o, ox.BlankNode):
            both[str(p)] = None
        elif isinstance(s, ox.BlankNode):
            by_object[f"({p} {o})"] = None
        else:
            by_subject[f"({s} {p})"] = None
    out = []
    if by_object:
        out.append(f"{{ VALUES (?p ?o) {{ {_values(by_object)} }} "
                   f"GRAPH {_iri(graph)} {{ ?s ?p ?o FILTER(isBlank(?s)) }} " + bind)
    if by_subject:
        out.append(f"{{ VALUES (?s ?p) {{ {_values(by_subject)} }} "
                   f"GRAPH {_iri(graph)} {{ ?s ?p ?o FILTER(isBlank(?o)) }} " + bind)
    if both:
        out.append(f"{{ VALUES ?p {{ {_values(both)} }} "
                   f"GRAPH {_iri(graph)} {{ ?s ?p ?o FILTER(isBlank(?s) && isBlank(?o)) }} " + bind)
    return out


def _named_list(terms: Iterable[ox.NamedNode], sep: str = " ") -> str:
    """IRIs for a VALUES row (or, with ``sep`` ", ", an ``IN`` list), each checked by
    :func:`_named`, once each."""
    return sep.join(dict.fromkeys(_named(term) for term in terms))


def _named(term: ox.NamedNode) -> str:
    if not isinstance(term, ox.NamedNode):
        raise TypeError(f"expected a NamedNode, not {type(term).__name__}")
    return str(term)

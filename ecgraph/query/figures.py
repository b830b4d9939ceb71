"""Network figures kept up to date at publishing: the aggregates pages and example questions ask
of the whole network, answered from a small store instead of every twin's triples.

At 10,000 communities "PV capacity per network" takes the engine about 2 s and the GROUP BY over
every indicator value about 5 s, because each reads every matching triple of every twin. Yet each
twin's share of those figures changes only when that twin does. So each :class:`Aggregate` has two
queries: ``part``, run over one twin's own graphs (its data, its inferences and the node's shared
graphs: ontology and vocabularies) when it is published, which yields that twin's share as a few
rows. The shares are kept as Python tuples of terms per twin, replaced under a lock (an in-memory
pyoxigraph store of them, a named graph per twin, held 168 MiB at 10,000 twins where the tuples hold
56). Combining every share at each question is still a query over a few rows per twin (at 10,000
twins, 70,000 indicator rows: 0.4 to 1.2 s), so the shares are partitioned, and each partition keeps
its partial answer (``middle``): "PV capacity per network" by network (a network's answer row comes
from its own rows alone), the indicators by a bucket of twins (one of :data:`BUCKETS`: partial
counts, sums and maxima). A change recomputes the partials of the partitions its twin's old and new
rows are in, and ``combine`` answers from the partials: a few hundred to a couple of thousand rows,
whatever the number of twins. A partition's partial is computed by ``middle`` over a small store
that holds only that partition's share rows. The combined answer equals the raw query's (tests
compare them on the demo network and on generated ones; sums of sums are exact for the integers and
decimals the standard asks for) as long as no row of the raw query joins triples of two different
twins: the authority rule keeps each twin to statements about its own IRIs, so a twin's PV
installation and its power, or an indicator value and its number, are in that twin.

Kept in step with commits: the node updates a twin's share after each commit that touches it and
before the write is acknowledged, so an acknowledged write is in the figures, and records the
store generation the shares now hold (``at``): in the moment between a commit and that update, the
raw query answers instead, so the figures never show less than the store does. They carry a
``version`` that moves with every change, which keys their own memo of answers and their ETags. The
shares are rebuilt from the store in a background thread at start (and after an admin's SPARQL
update, which may change anything); until that finishes, a named aggregate is answered by its raw
query (slower, never different).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from ecgraph import standard
from ecgraph.query import results
from ecgraph.query.cache import TextMemo

log = logging.getLogger("ecgraph.query.figures")

FIG = "https://w3id.org/ecgraph/figures#"
_PREFIXES = ("PREFIX ec: <https://w3id.org/ecgraph/ns#>\nPREFIX qudt: <http://qudt.org/schema/qudt/>\n"
             "PREFIX fig: <https://w3id.org/ecgraph/figures#>\n")


@dataclass(frozen=True)
class Aggregate:
    name: str
    title: str
    #: the query the figure answers, over the whole network (what a client would send to /sparql)
    raw: str
    #: over one twin's graphs: its share, as (subject row IRI) fig:* value triples
    part: str
    #: the variables of a share row (``part``'s), each kept as ``fig:<variable>``
    row: tuple[str, ...]
    #: the share row's variable that is its partition; None: the twin's bucket (:data:`BUCKETS`)
    partition: str | None
    #: over the share rows of one partition (``?part`` bound) or of all (grouped by ``?part``): the
    #: partition's partial answer, its variables kept as ``fig:<variable>`` of one subject per row
    middle: str
    #: the variables of a partial row (``middle``'s, without ``?part``)
    middle_row: tuple[str, ...]
    #: over every partition's partial rows: the answer, with the raw query's variables, in its order
    combine: str
    #: the node's shared graphs ``part`` reads besides the twin's own two (each graph more in a
    #: query's default graph costs every pattern a lookup more: at 10,000 triples 2.7 ms against
    #: 6.9 over all five); tests check that ``part`` over every shared graph answers the same
    shared: tuple[str, ...] = ()


AGGREGATES: dict[str, Aggregate] = {a.name: a for a in (
    Aggregate(
        name="pv-capacity-per-network",
        title="total PV capacity per community network (kW), units normalised",
        raw=_PREFIXES.replace("PREFIX fig: <" + FIG + ">\n", "") + """\
SELECT ?network (COUNT(?pv) AS ?installations) (SUM(?kw) AS ?totalKW) WHERE {
  { SELECT DISTINCT ?network ?pv ?kw WHERE {
      ?community ec:network ?network ; ec:hasAsset ?pv .
      ?pv a ec:PVInstallation ; ec:peakPower ?power .
      ?power qudt:numericValue ?value ; qudt:unit ?unit .
      ?unit qudt:conversionMultiplier ?toWatt .
      BIND (?value * ?toWatt / 1000 AS ?kw) } }
} GROUP BY ?network ORDER BY ?network
""",
        part=_PREFIXES + """\
SELECT DISTINCT ?network ?pv ?kw WHERE {
  ?community ec:network ?network ; ec:hasAsset ?pv .
  ?pv a ec:PVInstallation ; ec:peakPower ?power .
  ?power qudt:numericValue ?value ; qudt:unit ?unit .
  ?unit qudt:conversionMultiplier ?toWatt .
  BIND (?value * ?toWatt / 1000 AS ?kw) }
""",
        row=("network", "pv", "kw"),
        partition="network",  # a network's answer row is computed from its own rows alone
        middle=_PREFIXES + """\
SELECT ?part ?network (COUNT(?pv) AS ?installations) (SUM(?kw) AS ?totalKW) WHERE {
  { SELECT DISTINCT ?part ?network ?pv ?kw WHERE {
      ?row fig:part ?part ; fig:network ?network ; fig:pv ?pv ; fig:kw ?kw } }
} GROUP BY ?part ?network
""",
        middle_row=("network", "installations", "totalKW"),
        combine=_PREFIXES + """\
SELECT ?network ?installations ?totalKW WHERE {
  ?row fig:network ?network ; fig:installations ?installations . OPTIONAL { ?row fig:totalKW ?totalKW }
} ORDER BY ?network
""",
        shared=(standard.VOCABULARY_GRAPH,)),  # the units' conversion multipliers
    Aggregate(
        name="indicators",
        title="every indicator: how many values, their average and maximum",
        raw=_PREFIXES.replace("PREFIX fig: <" + FIG + ">\n", "") + """\
SELECT ?kpi (COUNT(*) AS ?values) (AVG(?v) AS ?average) (MAX(?v) AS ?max) WHERE {
  ?iv ec:indicator ?kpi ; qudt:numericValue ?v .
} GROUP BY ?kpi ORDER BY ?kpi
""",
        part=_PREFIXES + """\
SELECT ?kpi (COUNT(*) AS ?n) (SUM(?v) AS ?sum) (MAX(?v) AS ?max) WHERE {
  ?iv ec:indicator ?kpi ; qudt:numericValue ?v .
} GROUP BY ?kpi
""",
        row=("kpi", "n", "sum", "max"),
        partition=None,  # every twin has every indicator: partial sums per bucket of twins
        middle=_PREFIXES + """\
SELECT ?part ?kpi (SUM(?n0) AS ?n) (SUM(?sum0) AS ?sum) (MAX(?max0) AS ?max) WHERE {
  ?row fig:part ?part ; fig:kpi ?kpi ; fig:n ?n0 ; fig:sum ?sum0 ; fig:max ?max0 .
} GROUP BY ?part ?kpi
""",
        middle_row=("kpi", "n", "sum", "max"),
        combine=_PREFIXES + """\
SELECT ?kpi (SUM(?n) AS ?values) (SUM(?sum) / SUM(?n) AS ?average) (MAX(?max) AS ?max) WHERE {
  ?row fig:kpi ?kpi ; fig:n ?n ; fig:sum ?sum ; fig:max ?max .
} GROUP BY ?kpi ORDER BY ?kpi
"""),
)}

#: the buckets of twins whose partial answers an aggregate without a partition variable keeps
BUCKETS = 256
_PART = ox.NamedNode(FIG + "part")
#: a share row's IRI: this, the aggregate's name, ":" and a hash of the row's values
_ROW = "urn:ecgraph:figure:"
_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
#: per aggregate, the predicates of its share rows' values (``fig:<variable>``)
_PREDICATES = {a.name: tuple(ox.NamedNode(FIG + v) for v in a.row) for a in AGGREGATES.values()}
#: the buckets' terms, one object each (every share row of a bucketed aggregate holds one)
_BUCKET_TERMS = [ox.Literal(str(b), datatype=_INTEGER) for b in range(BUCKETS)]

#: a twin's share: per aggregate, its rows as (the ``row`` variables' values, the row's partition)
Share = dict[str, list[tuple[tuple, ox.NamedNode | ox.Literal]]]


#: the node's graphs every twin's share could read: the ontology, its closure, the vocabularies
SHARED_GRAPHS = (standard.ONTOLOGY_GRAPH, standard.ONTOLOGY_GRAPH + standard.INFERRED_SUFFIX,
                 standard.VOCABULARY_GRAPH)


def dataset(twin_id: str, shared: Iterable[str] = SHARED_GRAPHS) -> list[ox.NamedNode]:
    """What a twin's share is read from: its data, its inferences and the ``shared`` graphs."""
    return [ox.NamedNode(g) for g in (standard.twin_graph(twin_id), standard.inferred_graph(twin_id), *shared)]


def _bucket(twin_id: str) -> ox.Literal:
    return _BUCKET_TERMS[int(hashlib.sha256(twin_id.encode()).hexdigest()[:8], 16) % BUCKETS]


def _normal(text: str) -> str:
    """A query's text without comment lines and with whitespace runs as one space."""
    return " ".join(" ".join(line for line in text.splitlines() if not line.lstrip().startswith("#")).split())


_RAW_TEXTS = {_normal(a.raw): a.name for a in AGGREGATES.values()}


def _recognise(query: str) -> str | None:
    return _RAW_TEXTS.get(_normal(query))


#: the aggregate a query text is (comment lines and whitespace aside), or None
recognise = TextMemo(_recognise)


def _partial_graph(part: ox.NamedNode | ox.Literal) -> ox.NamedNode:
    return ox.NamedNode(f"urn:ecgraph:partial:{hashlib.sha256(str(part).encode()).hexdigest()[:32]}")


def _term(value: ox.NamedNode | ox.Literal | ox.BlankNode) -> str:
    return str(value)


class Figures:
    """The shares of every twin, in memory; ``engine`` runs ``part`` queries on the node's store."""

    def __init__(self, engine: Callable[[], object], twin_ids: Callable[[], Iterable[str]],
                 generation: Callable[[], int] = lambda: 0):
        self._engine = engine
        self._twin_ids = twin_ids
        self._generation = generation
        #: the store generation the shares hold (set by the node after each commit's update): the
        #: figures answer only while it is the store's, never in the moment between a commit and
        #: the update of its shares
        self.at: int | None = None
        #: every twin's share (see :data:`Share`)
        self._shares: dict[str, Share] = {}
        #: per aggregate, the twins with rows in each partition
        self._members: dict[str, dict[ox.NamedNode | ox.Literal, set[str]]] = {name: {} for name in AGGREGATES}
        #: per aggregate, the partial answers of each partition (a network; a bucket of twins), so
        #: that a change recomputes only its partitions and an answer combines a few rows each
        self._middle = {name: ox.Store() for name in AGGREGATES}
        self._lock = threading.RLock()
        self.version = 0
        self.ready = False
        self._building: threading.Thread | None = None
        self._build = 0
        self._answers: dict[tuple, results.Serialized] = {}
        #: per twin, how many commits updated its share: a rebuild's read, made outside the lock,
        #: is written only if no commit updated the twin since it began
        self._changed: dict[str, int] = {}

    def _share(self, twin_id: str, parts: dict[str, set]) -> Share:
        """One twin's share, from the store as it is now; the partitions its rows are in are added
        to ``parts`` (aggregate name -> partition terms)."""
        store = self._engine()
        share: Share = {}
        for name, aggregate in AGGREGATES.items():
            rows = share[name] = []
            answer = store.query(aggregate.part,  # type: ignore[attr-defined]
                                 default_graph=dataset(twin_id, aggregate.shared))
            for solution in answer:
                values = tuple(solution[v] for v in aggregate.row)
                if any(v is None for v in values):
                    continue
                part = (_bucket(twin_id) if aggregate.partition is None
                        else values[aggregate.row.index(aggregate.partition)])
                rows.append((values, part))
                parts[name].add(part)
        return share

    def _row_quads(self, name: str, part: ox.NamedNode | ox.Literal) -> list[ox.Quad]:
        """The share rows of one partition of an aggregate, as ``middle`` reads them: a subject per
        row (rows equal in every value are one, as in the raw query's DISTINCT; a bucketed
        aggregate's rows are partial sums, so its twins' are never merged), ``fig:<variable>``
        its values and ``fig:part`` its partition."""
        aggregate = AGGREGATES[name]
        quads: list[ox.Quad] = []
        for twin_id in self._members[name].get(part, ()):
            for values, where in self._shares[twin_id].get(name, ()):
                if where != part:
                    continue
                key = "\x1f".join(_term(v) for v in values)
                if aggregate.partition is None:
                    key = twin_id + "\x1f" + key
                row = ox.NamedNode(f"{_ROW}{name}:{hashlib.sha256(key.encode()).hexdigest()[:32]}")
                quads.extend(ox.Quad(row, predicate, value)
                             for predicate, value in zip(_PREDICATES[name], values, strict=True))
                quads.append(ox.Quad(row, _PART, part))
        return quads

    def _partial(self, name: str, part: ox.NamedNode | ox.Literal | None = None) -> None:
        """Compute the partial rows of one partition of an aggregate (of all, with ``part`` None)
        from the share rows, replacing those kept: a graph per partition."""
        aggregate = AGGREGATES[name]
        middle = self._middle[name]
        if part is None:
            middle.clear()
            for each in list(self._members[name]):
                self._partial(name, each)
            return
        graph = _partial_graph(part)
        if middle.contains_named_graph(graph):
            middle.remove_graph(graph)
        rows = ox.Store()  # this partition's rows only: a few hundred, whatever the number of twins
        rows.extend(self._row_quads(name, part))
        solutions = rows.query(aggregate.middle, substitutions={ox.Variable("part"): part})
        quads: list[ox.Quad] = []
        for solution in solutions:  # type: ignore[union-attr]
            key = "\x1f".join(_term(solution[v]) for v in ("part", *aggregate.middle_row[:1]))
            row = ox.NamedNode(f"urn:ecgraph:partial:{hashlib.sha256(key.encode()).hexdigest()[:32]}")
            quads.extend(ox.Quad(row, ox.NamedNode(FIG + v), solution[v], graph)
                         for v in aggregate.middle_row if solution[v] is not None)
        middle.extend(quads)

    def update(self, twin_ids: Iterable[str], *, gone: Iterable[str] = ()) -> None:
        """Recompute the shares of ``twin_ids`` from the store (after their commit) and drop those
        of ``gone`` twins, then the partial answers of every partition they were or are in, then a
        new version. Every read of the shares holds the same lock, so nobody sees a share half
        replaced (no SPARQL text is built: terms go in as terms).

        Shares no build has started for are never read (until :meth:`rebuild`, which reads every
        twin again): a node without workers (the command line's ``load --bulk``) computes none."""
        with self._lock:
            if self._build == 0:
                return
            twin_ids, gone = list(twin_ids), list(gone)
            for twin_id in [*twin_ids, *gone]:
                self._changed[twin_id] = self._changed.get(twin_id, 0) + 1
            parts: dict[str, set] = {name: set() for name in AGGREGATES}
            self._update({t: self._share(t, parts) for t in twin_ids}, gone, parts, partials=True)

    def _update(self, shares: dict[str, Share], gone: list[str], parts: dict[str, set], *,
                partials: bool) -> None:
        """Replace the shares of these twins by ``shares`` (read from the store), drop those of
        ``gone``; ``parts`` holds the partitions of the new rows, and gets those of the old."""
        for twin_id in [*gone, *shares]:
            for name, rows in self._shares.pop(twin_id, {}).items():
                for _values, part in rows:
                    parts[name].add(part)
                    members = self._members[name].get(part)
                    if members is not None:
                        members.discard(twin_id)
                        if not members:
                            del self._members[name][part]
        for twin_id, share in shares.items():
            self._shares[twin_id] = share
            for name, rows in share.items():
                for _values, part in rows:
                    self._members[name].setdefault(part, set()).add(twin_id)
        if partials:
            for name, touched in parts.items():
                for part in touched:
                    self._partial(name, part)
        self.version += 1

    def rebuild(self, background: bool = True) -> None:
        """Rebuild every share from the store (at start; after an admin's update). Until it is
        done, :meth:`answer` gives None and the raw query answers."""
        with self._lock:
            self.ready = False
            self.version += 1
            self._build += 1
            mine = self._build  # a newer rebuild stops this one
        started_at = self._generation()

        def build() -> None:
            # Batch by batch, so that answers and the updates of commits go on meanwhile; a share
            # a commit updated while its batch was read stays as the commit wrote it.
            try:
                ids = list(self._twin_ids())
                with self._lock:
                    if self._build != mine:
                        return
                    self._shares.clear()
                    for members in self._members.values():
                        members.clear()
                for start in range(0, len(ids), 100):
                    # Read outside the lock (over a remote store a batch is seconds of requests,
                    # which a commit's update must not wait for); write only the shares of the
                    # twins no commit updated meanwhile (the commit wrote a share as new or newer).
                    batch = ids[start:start + 100]
                    with self._lock:
                        if self._build != mine:
                            return
                        stamps = {t: self._changed.get(t, 0) for t in batch}
                    parts: dict[str, set] = {name: set() for name in AGGREGATES}
                    shares = {t: self._share(t, parts) for t in batch}
                    with self._lock:
                        if self._build != mine:
                            return
                        self._update({t: q for t, q in shares.items() if self._changed.get(t, 0) == stamps[t]},
                                     [], parts, partials=False)
                with self._lock:
                    if self._build != mine:
                        return
                    for name in AGGREGATES:  # every partition at once, from the complete shares
                        self._partial(name)
                    if self._generation() == started_at and not started_at & 1:
                        self.at = started_at  # no commit since: the shares hold this generation
                    self.ready = True
                    self.version += 1
            except Exception:  # the raw query keeps answering; say why in the log
                if self._build != mine:  # stopped meanwhile (the node closing its store): not a failure
                    return
                log.exception("could not build the network figures; named aggregates run their raw query")

        if background:
            self._building = threading.Thread(target=build, name="ecgraph-figures", daemon=True)
            self._building.start()
        else:
            build()

    def stop(self, seconds: float = 10) -> None:
        """Stop a rebuild under way before the store closes (the node is closing): it returns at its
        next batch, and a read that the closing store breaks is not reported as a failure."""
        with self._lock:
            self._build += 1
        if self._building is not None:
            self._building.join(seconds)

    def current(self) -> bool:
        """Whether the shares are built and hold the store's current generation."""
        return self.ready and self.at == self._generation()

    def wait(self, seconds: float = 60) -> bool:
        if self._building is not None:
            self._building.join(seconds)
        return self.ready

    def answer(self, name: str, result_format: str, max_rows: int | None):
        """The aggregate's answer from the shares, or None while they are being built."""
        aggregate = AGGREGATES[name]
        if not self.current():
            return None
        with self._lock:
            if not self.current():
                return None
            memo = (self.version, name, result_format, max_rows)
            if memo in self._answers:
                return self._answers[memo]
            solutions = self._middle[name].query(aggregate.combine, use_default_graph_as_union=True)
            assert isinstance(solutions, ox.QuerySolutions)
            out = results.solutions_native(solutions, result_format, max_rows)
            if out is None:
                solutions = self._middle[name].query(aggregate.combine, use_default_graph_as_union=True)
                assert isinstance(solutions, ox.QuerySolutions)
                out = results.solutions(solutions, result_format, max_rows)
            self._answers = {k: v for k, v in self._answers.items() if k[0] == self.version}
            self._answers[memo] = out
            return out

    def __len__(self) -> int:
        """How many share rows are kept."""
        with self._lock:
            return sum(len(rows) for share in self._shares.values() for rows in share.values())

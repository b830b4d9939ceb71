"""Network figures kept up to date at publishing: the aggregates pages and example questions ask
of the whole network, answered from a small store instead of every twin's triples.

At 10,000 communities "PV capacity per network" takes the engine about 2 s and the GROUP BY over
every indicator value about 5 s, because each reads every matching triple of every twin. Yet each
twin's share of those figures changes only when that twin does. So each :class:`Aggregate` has two
queries: ``part``, run over one twin's own graphs (its data, its inferences and the node's shared
graphs: ontology and vocabularies) when it is published, which yields that twin's share as a few
rows. The shares are kept as Python tuples of terms per twin, replaced under a lock (an in-memory
pyoxigraph store of them, a named graph per twin, held 168 MiB at 10,000 twins where the tuples hold
56, for two aggregates; equal terms in them are one object, see ``Figures._terms``). Combining
every share at each question is still a query over a few rows per twin (at 10,000 twins, 70,000
indicator rows: 0.4 to 1.2 s), so the shares are partitioned, and each partition keeps
its partial answer (``middle``): the aggregates by network by network (a network's answer rows come
from its communities' rows alone), the indicators by a bucket of twins (one of :data:`BUCKETS`:
partial counts, sums and maxima). A change recomputes the partials of the partitions its twin's old
and new rows are in, and ``combine`` answers from the partials: a few hundred to a couple of
thousand rows, whatever the number of twins. A partition's partial is computed by ``middle`` over a
small store that holds only that partition's share rows.

An aggregate may have parameters (:class:`Parameter`): one indicator per community in one year is a
question for any indicator and year, in either order, of any length. Its ``template`` is recognised
with those parts free (and nothing else), its share rows are keyed by the values a question fixes
(an indicator and a year), and an answer combines the rows of that key alone: a row per community,
so no partials; the rows of the communities that can be in the list are found first, from each
community's average, which is kept up to date for the keys asked last (:class:`_Keyed`).

Which network a community is in is read apart from its rows (:data:`LINKS`), from every twin: a
community's twin may name its network (ec:network), or the network's twin may list it
(ec:includesCommunity, whose inverse the node infers in the network's twin). A row of a community
goes to each network some twin links it to, and a twin whose links change moves the rows of the
communities it links or unlinks, though their twins did not change.

The combined answer equals the raw query's (tests compare them on the demo network, whose network
twins list communities of other twins, and on generated ones, through every kind of write; and an
independent computation in Python checks what the titles say; sums of sums are exact for the
integers and decimals the standard asks for) as long as no row of the raw query joins triples of two
different twins other than by a community's network: the authority rule keeps each twin to
statements about its own IRIs, so a twin's assets and their capacities, its memberships and its
indicator values with their numbers, are in that twin. Units are read as the standard gives them:
qudt:hasUnit, or the qudt:unit of twins judged by release 1.0.0. An indicator value has one
qudt:numericValue, an xsd:decimal or xsd:integer, and one xsd:date ec:periodStart (the core
shapes refuse others); a value that is no number, which only an admin's SPARQL update could store,
gives the raw query a community without an average where the kept figure leaves the community out.

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

import decimal
import gc
import hashlib
import heapq
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from string import Template
from typing import NamedTuple

import pyoxigraph as ox

from ecgraph import errors, standard
from ecgraph.query import results
from ecgraph.query.cache import TextMemo

log = logging.getLogger("ecgraph.query.figures")

FIG = "https://w3id.org/ecgraph/figures#"
_BASE_PREFIXES = "PREFIX ec: <https://w3id.org/ecgraph/ns#>\nPREFIX qudt: <http://qudt.org/schema/qudt/>\n"
_PREFIXES = _BASE_PREFIXES + "PREFIX fig: <https://w3id.org/ecgraph/figures#>\n"
_SKOS = "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
_RAW_PREFIXES = _BASE_PREFIXES + _SKOS

#: the installed capacity (kW) of an asset that states it: a PV installation's peak power, else
#: its rated power, each in the unit it was given, converted by the unit's multiplier to watts
_CAPACITY = """\
      ?community ec:hasAsset ?asset .
      ?asset a ?technology . ?technology skos:inScheme ec:AssetTypes .
      OPTIONAL { ?asset ec:peakPower ?peak . ?peak qudt:numericValue ?peakValue ;
                   qudt:hasUnit|qudt:unit ?peakUnit . ?peakUnit qudt:conversionMultiplier ?peakToWatt }
      OPTIONAL { ?asset ec:ratedPower ?rated . ?rated qudt:numericValue ?ratedValue ;
                   qudt:hasUnit|qudt:unit ?ratedUnit . ?ratedUnit qudt:conversionMultiplier ?ratedToWatt }
      BIND (COALESCE(?peakValue * ?peakToWatt, ?ratedValue * ?ratedToWatt) / 1000 AS ?kw)
      FILTER (BOUND(?kw))"""

#: a membership of a community of a network, by each member type (ec:MemberTypes) its member has,
#: counting as its ec:groupSize members (one without it)
_MEMBERSHIPS = """\
      ?membership ec:community ?community ; ec:member ?member .
      ?member a ?type . ?type skos:inScheme ec:MemberTypes .
      OPTIONAL { ?membership ec:groupSize ?given }
      BIND (COALESCE(?given, 1) AS ?size)"""


#: how a parameter's value is written in a question, by kind: an indicator's IRI (absolute, or
#: ``ec:`` and its local name), a non-negative integer, an ordering direction
_KINDS = {"iri": r"(<[A-Za-z][A-Za-z0-9+.-]*:[^<>\"{}|^`\\\s?]*>|ec:[A-Za-z0-9_][A-Za-z0-9_-]*)",
          "integer": r"(\d{1,9})", "order": r"(ASC|DESC)"}


@dataclass(frozen=True)
class Parameter:
    """A value a question of a parameterised aggregate fixes, written ``$name`` in its template."""
    name: str
    kind: str  # a key of _KINDS
    #: as written in the aggregate's example question (its ``raw``)
    example: str
    #: the share row variable whose value it fixes (None: it shapes the answer: order, how many)
    row: str | None = None
    #: the greatest integer it may be (its kind "integer")
    most: int = 10**9 - 1

    def value(self, written: str) -> str:
        """The parameter's value in one spelling (an IRI in full, an integer without leading
        zeros, ASC or DESC), or :class:`errors.BadRequest` that says what is wrong."""
        text = written.strip()
        if re.fullmatch(_KINDS[self.kind], text) is None and not (
                self.kind == "iri" and re.fullmatch(_KINDS["iri"], f"<{text}>")):
            raise errors.BadRequest(f"{self.name}={written[:80]!r} is not {_SAYS[self.kind]}; "
                                    f"for example {self.name}={self.example}")
        if self.kind == "iri":
            return text[1:-1] if text.startswith("<") else standard.EC + text[3:] if text.startswith("ec:") else text
        if self.kind == "integer":
            if int(text) > self.most:
                raise errors.BadRequest(f"{self.name}={text} is more than {self.most}; "
                                        f"for example {self.name}={self.example}")
            return str(int(text))
        return text

    def written(self, value: str) -> str:
        return f"<{value}>" if self.kind == "iri" else value

    def term(self, value: str) -> ox.NamedNode | ox.Literal:
        return ox.NamedNode(value) if self.kind == "iri" else ox.Literal(value, datatype=_INTEGER)


_SAYS = {"iri": "an IRI (ec:kpi-... or <https://...>)", "integer": "a whole number", "order": "ASC or DESC"}


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
    #: "network": a share row's partition is each network its ``?community`` (the row's first
    #: variable) belongs to, as every twin says (:data:`LINKS`: a network's twin may list
    #: communities of other twins); None: the twin's bucket (:data:`BUCKETS`); "asked": none, the
    #: rows are found by the values a question fixes (``parameters``), and no partials are kept
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
    #: how many of ``middle_row``'s first variables name a partial row (its group)
    group: int = 1
    #: share rows are rows of the raw query's DISTINCT, so rows equal in every value are one
    #: whichever twins gave them; False: each twin's rows are its own partial counts and sums
    #: (always the case for a bucketed aggregate)
    distinct: bool = True
    #: what a question of this aggregate fixes (an indicator, a year...): ``template`` is its text
    #: with ``$name`` where each is written, ``raw`` its example; the answer combines the share
    #: rows of the fixed values alone (``partition`` "asked": a row's key is the values of the
    #: parameters' row variables; no partials are kept), ``combine`` is a template too
    parameters: tuple[Parameter, ...] = ()
    template: str = ""

    def values(self, given: dict[str, str] | None = None) -> tuple[str, ...]:
        """The parameters' values from ``given`` (by name; the example's where absent)."""
        given = given or {}
        return tuple(p.value(given.get(p.name, p.example)) for p in self.parameters)

    def text(self, values: tuple[str, ...] = ()) -> str:
        """The question with these parameter values (the example: ``raw``)."""
        if not self.parameters or not values:
            return self.raw
        return Template(self.template).substitute(
            {p.name: p.written(v) for p, v in zip(self.parameters, values, strict=True)})


#: a kept figure's question for one indicator's values per community in one year (a community
#: page's figures; the example questions compare the communities on one)
_PER_YEAR = _BASE_PREFIXES + """\
SELECT ?community (AVG(?value) AS ?average) (MIN(?value) AS ?lowest) (MAX(?value) AS ?highest) WHERE {
  ?community a ec:EnergyCommunity ; ec:hasIndicator ?iv .
  ?iv ec:indicator $indicator ; ec:periodStart ?start ; qudt:numericValue ?value .
  FILTER (YEAR(?start) = $year)
} GROUP BY ?community ORDER BY $order(?average) LIMIT $first
"""
_PER_YEAR_PARAMETERS = (Parameter("indicator", "iri", "ec:kpi-self-consumption-rate", row="kpi"),
                        Parameter("year", "integer", "2024", row="year", most=9999),
                        Parameter("order", "order", "DESC"), Parameter("first", "integer", "50"))


AGGREGATES: dict[str, Aggregate] = {a.name: a for a in (
    Aggregate(
        name="pv-capacity-per-network",
        title="total PV capacity per community network (kW), units normalised",
        raw=_BASE_PREFIXES + """\
SELECT ?network (COUNT(?pv) AS ?installations) (SUM(?kw) AS ?totalKW) WHERE {
  { SELECT DISTINCT ?network ?pv ?kw WHERE {
      ?community ec:network ?network ; ec:hasAsset ?pv .
      ?pv a ec:PVInstallation ; ec:peakPower ?power .
      ?power qudt:numericValue ?value ; qudt:hasUnit|qudt:unit ?unit .
      ?unit qudt:conversionMultiplier ?toWatt .
      BIND (?value * ?toWatt / 1000 AS ?kw) } }
} GROUP BY ?network ORDER BY ?network
""",
        part=_PREFIXES + """\
SELECT DISTINCT ?community ?pv ?kw WHERE {
  ?community ec:hasAsset ?pv .
  ?pv a ec:PVInstallation ; ec:peakPower ?power .
  ?power qudt:numericValue ?value ; qudt:hasUnit|qudt:unit ?unit .
  ?unit qudt:conversionMultiplier ?toWatt .
  BIND (?value * ?toWatt / 1000 AS ?kw) }
""",
        row=("community", "pv", "kw"),
        partition="network",  # a network's answer row is computed from its communities' rows alone
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
        raw=_BASE_PREFIXES + """\
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
    Aggregate(
        name="capacity-per-technology-and-network",
        title="installed capacity per technology and community network (kW), units normalised",
        raw=_RAW_PREFIXES + """\
SELECT ?network ?technology (COUNT(?asset) AS ?assets) (SUM(?kw) AS ?totalKW) WHERE {
  { SELECT DISTINCT ?network ?technology ?asset ?kw WHERE {
      ?community ec:network ?network .
""" + _CAPACITY + """ } }
} GROUP BY ?network ?technology ORDER BY ?network ?technology
""",
        part=_PREFIXES + _SKOS + """\
SELECT DISTINCT ?community ?technology ?asset ?kw WHERE {
""" + _CAPACITY + """ }
""",
        row=("community", "technology", "asset", "kw"),
        partition="network",
        middle=_PREFIXES + """\
SELECT ?part ?network ?technology (COUNT(?asset) AS ?assets) (SUM(?kw) AS ?totalKW) WHERE {
  { SELECT DISTINCT ?part ?network ?technology ?asset ?kw WHERE {
      ?row fig:part ?part ; fig:network ?network ; fig:technology ?technology ; fig:asset ?asset ;
           fig:kw ?kw } }
} GROUP BY ?part ?network ?technology
""",
        middle_row=("network", "technology", "assets", "totalKW"),
        combine=_PREFIXES + """\
SELECT ?network ?technology ?assets ?totalKW WHERE {
  ?row fig:network ?network ; fig:technology ?technology ; fig:assets ?assets ; fig:totalKW ?totalKW
} ORDER BY ?network ?technology
""",
        shared=(standard.ONTOLOGY_GRAPH, standard.VOCABULARY_GRAPH),  # the asset types; the units
        group=2),
    Aggregate(
        name="members-per-type-and-network",
        title="members per member type and community network: the communities that have them, "
              "and how many (a membership counts as its ec:groupSize)",
        raw=_RAW_PREFIXES + """\
SELECT ?network ?type (COUNT(DISTINCT ?community) AS ?communities) (SUM(?size) AS ?members) WHERE {
  { SELECT DISTINCT ?network ?type ?community ?membership ?size WHERE {
      ?community ec:network ?network .
""" + _MEMBERSHIPS + """ } }
} GROUP BY ?network ?type ORDER BY ?network ?type
""",
        # a twin's memberships are its own (the authority rule): their counts add up
        part=_PREFIXES + _SKOS + """\
SELECT ?community ?type (SUM(?size) AS ?members) WHERE {
  { SELECT DISTINCT ?type ?community ?membership ?size WHERE {
""" + _MEMBERSHIPS + """ } }
} GROUP BY ?community ?type
""",
        row=("community", "type", "members"),
        partition="network",
        middle=_PREFIXES + """\
SELECT ?part ?network ?type (COUNT(DISTINCT ?community) AS ?communities) (SUM(?m) AS ?members) WHERE {
  ?row fig:part ?part ; fig:network ?network ; fig:type ?type ; fig:community ?community ; fig:members ?m .
} GROUP BY ?part ?network ?type
""",
        middle_row=("network", "type", "communities", "members"),
        combine=_PREFIXES + """\
SELECT ?network ?type ?communities ?members WHERE {
  ?row fig:network ?network ; fig:type ?type ; fig:communities ?communities ; fig:members ?members
} ORDER BY ?network ?type
""",
        shared=(standard.ONTOLOGY_GRAPH,),  # the member types
        group=2, distinct=False),
    Aggregate(
        name="indicator-per-community-and-year",
        title="one indicator's values in one year, per community: average, lowest, highest "
              "(the communities with the highest averages first, or the lowest)",
        raw=Template(_PER_YEAR).substitute({p.name: p.example for p in _PER_YEAR_PARAMETERS}),
        template=_PER_YEAR,
        parameters=_PER_YEAR_PARAMETERS,
        # a community's values of each indicator in each year: how many, their sum, lowest, highest
        part=_PREFIXES + """\
SELECT ?community ?kpi ?year (COUNT(?value) AS ?n) (SUM(?value) AS ?sum) (MIN(?value) AS ?min)
       (MAX(?value) AS ?max) WHERE {
  ?community a ec:EnergyCommunity ; ec:hasIndicator ?iv .
  ?iv ec:indicator ?kpi ; ec:periodStart ?start ; qudt:numericValue ?value .
  BIND (YEAR(?start) AS ?year)
} GROUP BY ?community ?kpi ?year
""",
        row=("community", "kpi", "year", "n", "sum", "min", "max"),
        partition="asked",
        middle="", middle_row=(),
        # over the rows of the asked indicator and year (each twin's partial counts and sums)
        combine=_PREFIXES + """\
SELECT ?community (SUM(?sum) / SUM(?n) AS ?average) (MIN(?min) AS ?lowest) (MAX(?max) AS ?highest) WHERE {
  ?row fig:community ?community ; fig:n ?n ; fig:sum ?sum ; fig:min ?min ; fig:max ?max .
} GROUP BY ?community ORDER BY $order(?average) LIMIT $first
""",
        distinct=False),
)}

#: the buckets of twins whose partial answers an aggregate without a partition variable keeps
BUCKETS = 256
_PART = ox.NamedNode(FIG + "part")
#: a share row's IRI: this, the aggregate's name, ":" and a hash of the row's values
_ROW = "urn:ecgraph:figure:"
_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
#: per aggregate, the predicates of its share rows' values (``fig:<variable>``)
_PREDICATES = {a.name: tuple(ox.NamedNode(FIG + v) for v in a.row) for a in AGGREGATES.values()}
#: per aggregate by asked values, the positions in its share rows of the values its parameters fix
_ASKED = {a.name: tuple(a.row.index(p.row) for p in a.parameters if p.row) for a in AGGREGATES.values()}
#: the answers of the current version kept (a question with parameters has many)
_ANSWERS_KEPT = 256
#: the asked keys (an indicator and a year) whose rows and averages are kept up to date
#: (:class:`_Keyed`; the key asked longest ago goes): at 10,000 communities about 4 MB each
_KEYS_KEPT = 4
#: the buckets' terms, one object each (every share row of a bucketed aggregate holds one)
_BUCKET_TERMS = [ox.Literal(str(b), datatype=_INTEGER) for b in range(BUCKETS)]

#: a twin's share: per aggregate, its rows as (the ``row`` variables' values, the row's key: its
#: ``?community`` for an aggregate by network, the twin's bucket for a bucketed one, the values a
#: question fixes for one with parameters)
Share = dict[str, list[tuple[tuple, ox.NamedNode | ox.Literal]]]

#: over one twin's graphs: the networks it says communities belong to (its own, and those a
#: network's twin lists with ec:includesCommunity, whose inverse the node infers in that twin)
LINKS = _PREFIXES + "SELECT DISTINCT ?community ?network WHERE { ?community ec:network ?network }"
_NETWORK = ox.NamedNode(FIG + "network")


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


class Asked(NamedTuple):
    """A question a kept aggregate answers: its name, and its parameters' values (in order)."""
    name: str
    values: tuple[str, ...] = ()


_RAW_TEXTS = {_normal(a.raw): a.name for a in AGGREGATES.values() if not a.parameters}


def _pattern(aggregate: Aggregate) -> re.Pattern:
    pieces = re.split(r"\$(\w+)", _normal(aggregate.template))
    kinds = {p.name: p.kind for p in aggregate.parameters}
    return re.compile("".join(re.escape(piece) if i % 2 == 0 else _KINDS[kinds[piece]]
                              for i, piece in enumerate(pieces)))


_TEMPLATES = [(a, _pattern(a)) for a in AGGREGATES.values() if a.parameters]


def _recognise(query: str) -> Asked | None:
    text = _normal(query)
    if text in _RAW_TEXTS:
        return Asked(_RAW_TEXTS[text])
    for aggregate, pattern in _TEMPLATES:
        found = pattern.fullmatch(text)
        if found is not None:
            try:
                return Asked(aggregate.name, tuple(p.value(v) for p, v in zip(
                    aggregate.parameters, found.groups(), strict=True)))
            except errors.BadRequest:  # out of range (a year past 9999): the raw query answers
                return None
    return None


#: the aggregate a query text asks (comment lines and whitespace aside), or None
recognise = TextMemo(_recognise)


def _partial_graph(part: ox.NamedNode | ox.Literal) -> ox.NamedNode:
    return ox.NamedNode(f"urn:ecgraph:partial:{hashlib.sha256(str(part).encode()).hexdigest()[:32]}")


def _term(value: ox.NamedNode | ox.Literal | ox.BlankNode) -> str:
    return str(value)


#: threads that read the twins' shares in a rebuild: the engine evaluates a query without the GIL,
#: so on two cores two readers build the figures in about half the time (at start, a node answers
#: the aggregates by their raw queries until they are built)
_READERS = 2

#: the fewest terms :meth:`Figures._interned` pools before it may start again
_TERMS_LIMIT = 100_000

#: the fewest twins whose built figures are taken out of the garbage collector's generations
#: (:func:`_kept_for_good`): below, a full collection walks little, and a process that opens many
#: small nodes (the tests) keeps its collector as it was
FREEZE_FROM = 1_000

#: the layout of :meth:`Figures.saved`'s file; a file of another is not read
_SAVED_FORMAT = 1


class _Saved(NamedTuple):
    """What a saved file holds: every twin's share and links, the terms' pool, the partials."""
    shares: dict[str, tuple[Share, set[tuple]]]
    pool: dict
    #: None in a file saved before the partials were (they are computed from the shares)
    middle: dict[str, list[ox.Quad]] | None


class _NotSaved(Exception):
    """A share holds what a saved file cannot keep (a blank node)."""


def definitions() -> str:
    """What decides the shares (every aggregate's ``part`` query, its row, partition and shared
    graphs; the links query; the buckets; the engine's version): a saved file of other
    definitions is not read."""
    digest = hashlib.sha256()
    for a in AGGREGATES.values():
        digest.update("\0".join((a.name, a.part, ",".join(a.row), str(a.partition), ",".join(a.shared))).encode())
    digest.update(f"\0{LINKS}\0{BUCKETS}\0{ox.__version__}".encode())
    return digest.hexdigest()[:16]


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
        #: per aggregate, the twins with rows of each key (a community; a bucket)
        self._holders: dict[str, dict[object, set[str]]] = {name: {} for name in AGGREGATES}
        #: every twin's network links (:data:`LINKS`), and per community the twins that link it to
        #: each network, per network its communities: what puts a community's rows in a partition
        self._links: dict[str, set[tuple]] = {}
        self._networks: dict[object, dict[object, set[str]]] = {}
        self._communities: dict[object, set] = {}
        #: per aggregate, the partial answers of each partition (a network; a bucket of twins), so
        #: that a change recomputes only its partitions and an answer combines a few rows each
        self._middle = {name: ox.Store() for name in AGGREGATES}
        self._lock = threading.RLock()
        self.version = 0
        self.ready = False
        #: how the last build went: from "store" or "saved" (the file of the last close), how many
        #: twins, in how many seconds
        self.built: dict | None = None
        self._building: threading.Thread | None = None
        self._build = 0
        self._answers: dict[tuple, results.Serialized] = {}
        #: per twin, how many commits updated its share: a rebuild's read, made outside the lock,
        #: is written only if no commit updated the twin since it began
        self._changed: dict[str, int] = {}
        #: one object for each term the shares hold: the same community, type, unit or number in
        #: many rows is one object, not one per row (at 10,000 twins and four aggregates the
        #: figures' Python objects 64 MiB instead of 116, the process 190 MiB less; see
        #: :meth:`_interned`)
        self._terms: dict = {}
        self._terms_limit = _TERMS_LIMIT
        #: per (aggregate, asked key) asked last, its rows by community and their averages
        self._keyed: dict[tuple, _Keyed] = {}

    def _share(self, twin_id: str) -> tuple[Share, set[tuple]]:
        """One twin's share and network links, from the store as it is now."""
        store = self._engine()
        share: Share = {}
        bucket = self._interned(_bucket(twin_id))  # once per twin, not per row (a SHA-256 each)
        for name, aggregate in AGGREGATES.items():
            rows = share[name] = []
            answer = store.query(aggregate.part,  # type: ignore[attr-defined]
                                 default_graph=dataset(twin_id, aggregate.shared))
            for solution in answer:
                values = tuple(solution[v] for v in aggregate.row)
                if any(v is None for v in values):
                    continue
                values = tuple(map(self._interned, values))
                rows.append((values, self._key(name, values, bucket)))
        links = {(s["community"], s["network"]) for s in store.query(  # type: ignore[attr-defined]
            LINKS, default_graph=dataset(twin_id, ()))}
        return share, links

    def _key(self, name: str, values: tuple, bucket: ox.Literal, interned: Callable | None = None):
        """A share row's key (see :data:`Share`), from its values and its twin's bucket."""
        partition = AGGREGATES[name].partition
        if partition is None:
            return bucket
        if partition == "network":
            return values[0]
        return (interned or self._interned)(tuple(values[i] for i in _ASKED[name]))

    def _interned(self, term):
        """The one object kept for an equal term. The pool is only a way to share objects: when it
        holds more than twice the terms it held after the last rebuild (new numbers that
        publishes brought in, terms of rows since replaced), it starts again, and rows that hold
        older objects keep them (equal terms, not shared). So it never grows without bound."""
        terms = self._terms
        if len(terms) > self._terms_limit:
            terms.clear()
        return terms.setdefault(term, term)

    def _partitions(self, name: str, key) -> set:
        """The partitions rows of this key are in: a community's networks; a bucket itself; none
        for rows of asked values (no partials are kept of them)."""
        partition = AGGREGATES[name].partition
        if partition is None:
            return {key}
        return set(self._networks.get(key, ())) if partition == "network" else set()

    def _row_quads(self, name: str, part: ox.NamedNode | ox.Literal) -> list[ox.Quad]:
        """The share rows of one partition of an aggregate, as ``middle`` reads them: a subject per
        row (rows equal in every value are one, as in the raw query's DISTINCT, unless they are
        partial counts and sums: then each twin's are its own), ``fig:<variable>`` its values,
        ``fig:part`` its partition and, by network, ``fig:network`` the network."""
        aggregate = AGGREGATES[name]
        keys = [part] if aggregate.partition is None else list(self._communities.get(part, ()))
        quads: list[ox.Quad] = []
        for key in keys:
            for twin_id in self._holders[name].get(key, ()):
                for values, where in self._shares[twin_id].get(name, ()):
                    if where != key:
                        continue
                    text = "\x1f".join(_term(v) for v in values)
                    if aggregate.partition is None or not aggregate.distinct:
                        text = twin_id + "\x1f" + text
                    row = ox.NamedNode(f"{_ROW}{name}:{hashlib.sha256(text.encode()).hexdigest()[:32]}")
                    quads.extend(ox.Quad(row, predicate, value)
                                 for predicate, value in zip(_PREDICATES[name], values, strict=True))
                    quads.append(ox.Quad(row, _PART, part))
                    if aggregate.partition is not None:
                        quads.append(ox.Quad(row, _NETWORK, part))
        return quads

    def _all_partitions(self, name: str) -> set:
        partition = AGGREGATES[name].partition
        if partition is None:
            return set(self._holders[name])
        if partition != "network":
            return set()
        return {n for key in self._holders[name] for n in self._networks.get(key, ())}

    def _partial(self, name: str, part: ox.NamedNode | ox.Literal | None = None) -> None:
        """Compute the partial rows of one partition of an aggregate (of all, with ``part`` None)
        from the share rows, replacing those kept: a graph per partition."""
        aggregate = AGGREGATES[name]
        middle = self._middle[name]
        if part is None:
            middle.clear()
            for each in self._all_partitions(name):
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
            key = "\x1f".join(_term(solution[v]) for v in ("part", *aggregate.middle_row[:aggregate.group]))
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
            self._update({t: self._share(t) for t in twin_ids}, gone, partials=True)

    def _update(self, shares: dict[str, tuple[Share, set[tuple]]], gone: list[str], *, partials: bool) -> None:
        """Replace the shares and links of these twins by ``shares`` (read from the store), drop
        those of ``gone``; then recompute the partials of every partition a changed row or link
        was or is in."""
        touched: dict[str, set] = {name: set() for name in AGGREGATES}
        keys: dict[str, set] = {name: set() for name in AGGREGATES}  # the row keys that changed
        linked: set = set()  # the communities whose networks may have changed

        def note(share: Share, links: Iterable[tuple]) -> None:
            for name, rows in share.items():
                keys[name].update(key for _values, key in rows)
            linked.update(c for c, _n in links)

        def touch() -> None:  # the partitions of every noted key, as the links are now
            for name in AGGREGATES:
                for key in keys[name] | (linked if AGGREGATES[name].partition == "network" else set()):
                    touched[name].update(self._partitions(name, key))

        for twin_id in [*gone, *shares]:  # the old rows and links
            note(self._shares.get(twin_id, {}), self._links.get(twin_id, ()))
        for share, links in shares.values():  # the new
            note(share, links)
        if partials:  # the partitions the old rows were in
            touch()
        for (name, key), keyed in self._keyed.items():  # the asked keys' rows and averages
            for twin_id in [*gone, *shares]:
                old, new = self._shares.get(twin_id, {}), shares[twin_id][0] if twin_id in shares else {}
                keyed.replace(twin_id, [row for row, where in old.get(name, ()) if where == key],
                              [row for row, where in new.get(name, ()) if where == key])
        for twin_id in [*gone, *shares]:
            for name, rows in self._shares.pop(twin_id, {}).items():
                for _values, key in rows:
                    holders = self._holders[name].get(key)
                    if holders is not None:
                        holders.discard(twin_id)
                        if not holders:
                            del self._holders[name][key]
            for community, network in self._links.pop(twin_id, set()):
                by = self._networks.get(community, {}).get(network)
                if by is not None:
                    by.discard(twin_id)
                    if not by:
                        del self._networks[community][network]
                        self._communities[network].discard(community)
                        if not self._communities[network]:
                            del self._communities[network]
                        if not self._networks[community]:
                            del self._networks[community]
        for twin_id, (share, links) in shares.items():
            self._shares[twin_id] = share
            for name, rows in share.items():
                for _values, key in rows:
                    self._holders[name].setdefault(key, set()).add(twin_id)
            self._links[twin_id] = links
            for community, network in links:
                self._networks.setdefault(community, {}).setdefault(network, set()).add(twin_id)
                self._communities.setdefault(network, set()).add(community)
        if partials:  # and the partitions the new rows are in
            touch()
            for name, parts in touched.items():
                for part in parts:
                    self._partial(name, part)
        self.version += 1

    def rebuild(self, background: bool = True, saved: bytes | None = None) -> None:
        """Rebuild every share from the store (at start; after an admin's update). Until it is
        done, :meth:`answer` gives None and the raw query answers. ``saved`` is what :meth:`saved`
        gave at the node's last close, if the store has not changed since: the shares are read
        from it instead of the store (seconds instead of minutes at 10,000 twins), unless it does
        not hold the twins the node lists now or was written by other aggregates' definitions."""
        with self._lock:
            self.ready = False
            self.version += 1
            self._build += 1
            mine = self._build  # a newer rebuild stops this one
        started_at = self._generation()

        def build() -> None:
            # Batch by batch, so that answers and the updates of commits go on meanwhile; a share
            # a commit updated while its batch was read stays as the commit wrote it.
            readers = ThreadPoolExecutor(_READERS, thread_name_prefix="ecgraph-figures-read")
            began = time.monotonic()
            try:
                ids = list(self._twin_ids())
                restored = self._restored(saved, ids) if saved is not None else None
                if restored is not None:
                    def read(batch: list[str]) -> Iterable[tuple[Share, set[tuple]]]:
                        return [restored.shares.pop(t) for t in batch]
                else:
                    def read(batch: list[str]) -> Iterable[tuple[Share, set[tuple]]]:
                        return readers.map(self._share, batch)
                with self._lock:
                    if self._build != mine:
                        return
                    self._shares.clear()
                    self._terms.clear()  # the pool then holds the terms of the rows read from here on
                    if restored is not None:
                        self._terms.update(restored.pool)
                    self._links.clear()
                    self._networks.clear()
                    self._communities.clear()
                    self._keyed.clear()
                    for holders in self._holders.values():
                        holders.clear()
                for start in range(0, len(ids), 100):
                    # Read outside the lock (over a remote store a batch is seconds of requests,
                    # which a commit's update must not wait for); write only the shares of the
                    # twins no commit updated meanwhile (the commit wrote a share as new or newer).
                    batch = ids[start:start + 100]
                    with self._lock:
                        if self._build != mine:
                            return
                        stamps = {t: self._changed.get(t, 0) for t in batch}
                    shares = dict(zip(batch, read(batch), strict=True))
                    with self._lock:
                        if self._build != mine:
                            return
                        self._update({t: q for t, q in shares.items() if self._changed.get(t, 0) == stamps[t]},
                                     [], partials=False)
                    _kept_for_good(len(ids))
                with self._lock:
                    if self._build != mine:
                        return
                    if restored is not None and restored.middle is not None and self._generation() == started_at:
                        for name, quads in restored.middle.items():  # the partials saved with the shares
                            self._middle[name].clear()
                            self._middle[name].extend(quads)
                    else:
                        for name in AGGREGATES:  # every partition at once, from the complete shares
                            self._partial(name)
                    self._terms_limit = max(_TERMS_LIMIT, 2 * len(self._terms))
                    if self._generation() == started_at and not started_at & 1:
                        self.at = started_at  # no commit since: the shares hold this generation
                    self.ready = True
                    self.version += 1
                    self.built = {"from": "store" if restored is None else "saved", "twins": len(ids),
                                  "seconds": round(time.monotonic() - began, 3)}
                _kept_for_good(len(ids))
                log.info("network figures %s: %d twins in %.1f s",
                         "restored from the file saved at the last close" if restored is not None
                         else "built from the store", len(ids), self.built["seconds"])
            except Exception:  # the raw query keeps answering; say why in the log
                if self._build != mine:  # stopped meanwhile (the node closing its store): not a failure
                    return
                log.exception("could not build the network figures; named aggregates run their raw query")
            finally:
                readers.shutdown(wait=False, cancel_futures=True)

        if background:
            self._building = threading.Thread(target=build, name="ecgraph-figures", daemon=True)
            self._building.start()
        else:
            build()

    def saved(self) -> bytes | None:
        """The shares and links as :meth:`rebuild` can read them back (the node writes this at
        its close and gives it to the rebuild at its next start, if nothing wrote the store
        between), or None if they are not built, not the store's current generation, or hold a
        blank node (whose label another parse need not keep). JSON: every term once, in
        N-Triples syntax, and per twin its rows and links as positions in that list; and each
        aggregate's partial answers (``middle``, a few thousand rows) as N-Quads, read back only
        if no commit came while the shares were (else they are computed again from the shares)."""
        with self._lock:
            if not self.current():
                return None
            positions: dict = {}
            terms: list[str] = []

            def at(term) -> int:
                position = positions.get(term)
                if position is None:
                    if isinstance(term, ox.BlankNode):
                        raise _NotSaved
                    position = positions[term] = len(terms)
                    terms.append(str(term))
                return position

            middle = {name: (self._middle[name].dump(format=ox.RdfFormat.N_QUADS) or b"").decode()
                      for name in AGGREGATES}
            try:
                twins = {twin_id: {"rows": {name: [[at(v) for v in values] for values, _key in rows]
                                            for name, rows in share.items()},
                                   "links": [[at(c), at(n)] for c, n in self._links.get(twin_id, ())]}
                         for twin_id, share in self._shares.items()}
            except _NotSaved:
                return None
        return json.dumps({"format": _SAVED_FORMAT, "definitions": definitions(), "terms": terms,
                           "twins": twins, "middle": middle}, separators=(",", ":")).encode()

    def _restored(self, saved: bytes, ids: list[str]) -> _Saved | None:
        """What :meth:`saved` wrote, or None (logged) if it is not the shares of ``ids`` or of
        these aggregates, or cannot be read: then the store is read instead."""
        try:
            data = json.loads(saved)
            if data.get("format") != _SAVED_FORMAT or data.get("definitions") != definitions():
                log.info("the saved network figures are of other aggregates; building them from the store")
                return None
            if set(data["twins"]) != set(ids):
                log.info("the saved network figures hold other twins than the node lists; building them")
                return None
            written = data["terms"]
            document = "".join(f"<urn:t> <urn:t> {t} .\n" for t in written).encode()
            terms = [quad.object for quad in ox.parse(document, format=ox.RdfFormat.N_TRIPLES)]
            if len(terms) != len(written) or any(isinstance(t, ox.BlankNode) for t in terms):
                raise ValueError("a term is not one N-Triples term")
            pool = {t: t for t in terms}  # each term is written once: the pool is the terms themselves

            def interned(key: tuple) -> tuple:
                return pool.setdefault(key, key)

            middle = {name: list(ox.parse(data["middle"][name].encode(), format=ox.RdfFormat.N_QUADS))
                      for name in AGGREGATES} if "middle" in data else None
            restored = _Saved({}, pool, middle)
            for twin_id, held in data["twins"].items():
                bucket = _bucket(twin_id)
                bucket = pool.setdefault(bucket, bucket)
                share: Share = {}
                for name, rows in held["rows"].items():
                    width = len(AGGREGATES[name].row)
                    share[name] = []
                    for row in rows:
                        if len(row) != width:
                            raise ValueError(f"a row of {name} has {len(row)} values")
                        values = tuple(terms[i] for i in row)
                        share[name].append((values, self._key(name, values, bucket, interned)))
                if set(share) != set(AGGREGATES):
                    raise ValueError(f"twin {twin_id} lacks the rows of an aggregate")
                restored.shares[twin_id] = (share, {(terms[c], terms[n]) for c, n in held["links"]})
            return restored
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, SyntaxError, OSError) as exc:
            log.warning("the saved network figures cannot be read (%s); building them from the store", exc)
            return None

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

    def answer(self, name: str, result_format: str, max_rows: int | None, values: tuple[str, ...] = ()):
        """The aggregate's answer from the shares (with its parameters' ``values``, which
        :meth:`ecgraph.node.Node.aggregate` gives), or None while they are being built."""
        aggregate = AGGREGATES[name]
        if not self.current():
            return None
        if aggregate.partition == "asked":
            return self._asked(aggregate, values, result_format, max_rows)
        with self._lock:
            if not self.current():
                return None
            memo = (self.version, name, values, result_format, max_rows)
            if memo in self._answers:
                return self._answers[memo]
            out = _serialised(self._middle[name], aggregate.combine, result_format, max_rows, union=True)
            self._keep(memo, out)
            return out

    def _keep(self, memo: tuple, out) -> None:
        """Keep an answer of the current version (those of older versions go, and the oldest past
        :data:`_ANSWERS_KEPT`: questions with parameters are many)."""
        if any(k[0] != self.version for k in self._answers):
            self._answers = {k: v for k, v in self._answers.items() if k[0] == self.version}
        self._answers[memo] = out
        while len(self._answers) > _ANSWERS_KEPT:
            del self._answers[next(iter(self._answers))]

    def _asked(self, aggregate: Aggregate, values: tuple[str, ...], result_format: str, max_rows: int | None):
        """A parameterised aggregate's answer: ``combine`` over the share rows of the asked values.
        Under the lock, only the rows are gathered (references to the kept tuples), or the short
        list is read from the averages kept; the rest is done outside it, so that a commit's
        update does not wait for it. At 10,000 communities a
        question has 10,000 rows: a store of them all took 0.23 s to build and 0.07 s to ask, so
        the rows of the communities that can be in the answer are found first, from the averages
        kept for the keys asked last (:class:`_Keyed`), and only they go into the store
        ``combine`` asks."""
        name = aggregate.name
        given = dict(zip((p.name for p in aggregate.parameters), values, strict=True))
        key = tuple(p.term(v) for p, v in zip(aggregate.parameters, values, strict=True) if p.row)
        with self._lock:
            if not self.current():
                return None
            version = self.version
            memo = (version, name, values, result_format, max_rows)
            if memo in self._answers:
                return self._answers[memo]
            keyed = self._keyed.pop((name, key), None)
            if keyed is not None:
                self._keyed[(name, key)] = keyed  # the last asked
                rows = keyed.leading(given["order"] == "DESC", int(given["first"]))
            else:  # asked first: its rows now (references to the kept tuples), their averages below
                held = [(twin_id, [row for row, where in self._shares[twin_id].get(name, ()) if where == key])
                        for twin_id in self._holders[name].get(key, ())]
        if keyed is None:  # outside the lock: a commit's update need not wait for the sums
            keyed = _Keyed(aggregate)
            for twin_id, twin_rows in held:
                keyed.replace(twin_id, [], twin_rows)
            rows = keyed.leading(given["order"] == "DESC", int(given["first"]))
            with self._lock:  # kept if no update came meanwhile (it would not be in these averages)
                if self.version == version:
                    self._keyed[(name, key)] = keyed
                    while len(self._keyed) > _KEYS_KEPT:
                        del self._keyed[next(iter(self._keyed))]
        kept = [i for i in range(len(aggregate.row)) if i not in _ASKED[name]]
        predicates = [_PREDICATES[name][i] for i in kept]
        quads: list[ox.Quad] = []
        for row in rows:  # each twin's partial counts and sums: a subject per row
            subject = ox.BlankNode()
            quads.extend(ox.Quad(subject, predicate, row[i]) for predicate, i in zip(predicates, kept, strict=True))
        store = ox.Store()
        store.extend(quads)
        text = Template(aggregate.combine).substitute({p.name: p.written(given[p.name])
                                                       for p in aggregate.parameters if not p.row})
        out = _serialised(store, text, result_format, max_rows)
        with self._lock:
            if self.version == version:
                self._keep(memo, out)
        return out

    def __len__(self) -> int:
        """How many share rows are kept."""
        with self._lock:
            return sum(len(rows) for share in self._shares.values() for rows in share.values())


def _kept_for_good(twins: int) -> None:
    """Take every object alive now out of the garbage collector's generations (``gc.freeze``), if
    the figures are of :data:`FREEZE_FROM` ``twins`` or more.
    The figures are millions of tuples at 10,000 twins, which live as long as the node and form no
    cycles; left in the oldest generation, each full collection walks them all, in whichever
    request's allocation set it off: a publish, an answer. Measured at 10,000 twins with
    ``gc.callbacks`` in the web process: a 0.39 s pass within 40 publishes (the indicator GROUP BY's
    p95 after a publish was 124 ms in a full run, against a p50 of 35); frozen, none in 60, and a
    start that reads the saved figures back takes 3.1 s instead of 3.7. Frozen objects are still
    freed by their reference counts when a share is replaced; a collection walks only what was made
    since. Nothing is collected first: a full collection here would set the collector's measure of
    the long-lived objects to the few not frozen, and full collections would come after every few
    publishes (measured: every 0.7 s, 40 ms each)."""
    if twins >= FREEZE_FROM:
        gc.freeze()


def _serialised(store: ox.Store, text: str, result_format: str, max_rows: int | None, *, union: bool = False):
    solutions = store.query(text, use_default_graph_as_union=union)
    assert isinstance(solutions, ox.QuerySolutions)
    out = results.solutions_native(solutions, result_format, max_rows)
    if out is None:  # a format the engine does not write: through rdflib's terms
        solutions = store.query(text, use_default_graph_as_union=union)
        assert isinstance(solutions, ox.QuerySolutions)
        out = results.solutions(solutions, result_format, max_rows)
    return out


_EXACT = {ox.NamedNode("http://www.w3.org/2001/XMLSchema#" + t) for t in (
    "decimal", "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
    "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte")}


def _exact(value) -> decimal.Decimal | None:
    """A share row's sum as an exact decimal, or None if it is not an exact number (a double, which
    the engine adds in its own order; something no number)."""
    if not isinstance(value, ox.Literal) or value.datatype not in _EXACT:
        return None
    try:
        return decimal.Decimal(value.value)
    except decimal.InvalidOperation:  # not a number the engine summed as one: it decides
        return None


def _average(rows: Iterable[tuple], n: int, total: int) -> decimal.Decimal | None:
    """The exact average of these rows of one community (the sum of their sums over the sum of their
    counts, divided to 60 digits), or None if a sum is not an exact number."""
    count, summed = 0, decimal.Decimal(0)
    for row in rows:
        value = _exact(row[total])
        if value is None:
            return None
        summed += value
        count += int(row[n].value)
    if count == 0:
        return None
    with decimal.localcontext() as exact:
        exact.prec = 60
        return summed / count


def _chosen(averages: dict, descending: bool, first: int) -> set:
    """The communities whose average is among the ``first`` highest (``descending``) or lowest, and
    every one tied with the last of them."""
    if first <= 0:
        return set()
    pick = heapq.nlargest if descending else heapq.nsmallest
    bound = pick(first, averages.values())[-1]
    return {c for c, a in averages.items() if (a >= bound if descending else a <= bound)}


class _Keyed:
    """The share rows of one asked key of a parameterised aggregate (an indicator and a year), by
    community and twin, and each community's exact average (:func:`_average`: decimals divided to
    60 digits; the engine's are cut at 18, so averages it sees as equal are kept together, and it
    orders them; a sum that is no exact number, a double the engine adds in its own order, sends
    every row to the engine), kept up to date by
    every update of a twin's share: after a publish, an answer finds its short list among the
    averages (:func:`_chosen`) instead of reading and summing every row of the key again (at 10,000
    communities, 10,000 rows: about 0.1 s)."""

    __slots__ = ("rows", "averages", "inexact", "_community", "_n", "_total")

    def __init__(self, aggregate: Aggregate):
        self._community, self._n, self._total = (aggregate.row.index(v) for v in ("community", "n", "sum"))
        #: community -> twin -> that twin's rows of the key
        self.rows: dict = {}
        #: community -> its exact average (communities a sum of which is no exact number: ``inexact``)
        self.averages: dict = {}
        self.inexact: set = set()

    def replace(self, twin_id: str, old: list[tuple], new: list[tuple]) -> None:
        """A twin's rows of the key were ``old`` and are ``new``."""
        c = self._community
        touched = {row[c] for row in old} | {row[c] for row in new}
        for community in {row[c] for row in old}:
            twins = self.rows.get(community)
            if twins is not None:
                twins.pop(twin_id, None)
                if not twins:
                    del self.rows[community]
        for row in new:
            self.rows.setdefault(row[c], {}).setdefault(twin_id, []).append(row)
        for community in touched:
            self.averages.pop(community, None)
            self.inexact.discard(community)
            if community in self.rows:
                average = _average((row for rows in self.rows[community].values() for row in rows),
                                   self._n, self._total)
                if average is None:
                    self.inexact.add(community)
                else:
                    self.averages[community] = average

    def leading(self, descending: bool, first: int) -> list[tuple]:
        """The rows of the communities whose average (the sum of their sums over the sum of their
        counts) is among the ``first`` highest (``descending``) or lowest, and of every community
        tied with the last of them: the only ones ``combine``'s ORDER BY and LIMIT can keep."""
        if first == 0:
            return []
        if self.inexact or first >= len(self.rows):
            return [row for twins in self.rows.values() for rows in twins.values() for row in rows]
        return [row for community in _chosen(self.averages, descending, first)
                for rows in self.rows[community].values() for row in rows]

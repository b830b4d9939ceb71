"""What the pages for people read: the directory of communities with its facets, one community's
or network's page, any resource's description, and the labels of the standard's terms.

Everything here is SPARQL run on the node's store (the union of every twin and its inferences,
the ontology and the code lists): the pages see exactly what a query sees. :class:`Node` calls it
(``node.directory``); the web layer never reaches the store.

The directory is built once per store generation (a commit bumps it) as one summary per community,
from a handful of queries that each return one attribute for every community; search, facets and
pages are then plain Python over that list. Measured at 1,000 communities: ``bench/pages.py``.
A page's reads stop at its wall-clock deadline (:mod:`ecgraph.page_deadline`); the index is then
built apart from the reader, who waits for it until that deadline only.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from ecgraph import heap, page_deadline, standard
from ecgraph.publish.licences import is_open_licence

if TYPE_CHECKING:
    from ecgraph.node import Node

EC = standard.EC
log = logging.getLogger("ecgraph.directory")
LANGUAGES = ("en", "fr", "nl")

PREFIXES = """PREFIX ec: <https://w3id.org/ecgraph/ns#>
PREFIX schema: <https://schema.org/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX geo: <http://www.opengis.net/ont/geosparql#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
PREFIX vcard: <http://www.w3.org/2006/vcard/ns#>
PREFIX prov: <http://www.w3.org/ns/prov#>
"""

#: the texts a page shows about a thing, by what they are
TEXT_PATHS = {"purpose": "ec:purpose|schema:description|dcterms:description",
              "description": "schema:description|dcterms:description"}

#: the name of a thing, in the order a page prefers them
NAME_PATH = "schema:name|dcterms:title|skos:prefLabel|rdfs:label|vcard:fn"

#: the generic legal-form kinds (tops of ec:LegalForms)
LEGAL_KINDS = ("legalform-cooperative", "legalform-non-profit", "legalform-association", "legalform-foundation",
               "legalform-company", "legalform-public-body")

#: short unit names for people (QUDT unit local names)
UNITS = {"KiloW": "kW", "MegaW": "MW", "GigaW": "GW", "W": "W", "KiloW-HR": "kWh", "MegaW-HR": "MWh",
         "GigaW-HR": "GWh", "W-HR": "Wh", "PERCENT": "%", "TONNE": "t", "KiloGM": "kg", "NUM": "",
         "KiloM": "km", "M": "m", "EUR": "€", "HR": "h"}
#: energy and power in one unit, so that a network's communities add up
TO_BASE = {"KiloW-HR": ("MegaW-HR", 0.001), "GigaW-HR": ("MegaW-HR", 1000.0), "W-HR": ("MegaW-HR", 1e-6),
           "KiloW": ("MegaW", 0.001), "GigaW": ("MegaW", 1000.0), "W": ("MegaW", 1e-6), "KiloGM": ("TONNE", 0.001)}

_POINT = re.compile(r"POINT\s*\(\s*(-?[0-9.]+)\s+(-?[0-9.]+)\s*\)", re.IGNORECASE)

#: the facets of the directory: URL parameter, what it is called (a key of the message catalogue)
FACETS = (("network", "Network"), ("country", "Country"), ("region", "Region"), ("legal", "Legal form"),
          ("member", "Member types"), ("tech", "Technologies"), ("activity", "Activities"),
          ("size", "Size"), ("conformance", "Conformance"))

SIZE_BANDS = ((0, 9, "1-9"), (10, 49, "10-49"), (50, 249, "50-249"), (250, 10**12, "250+"))

PAGE_SIZE = 20


def local(iri: str) -> str:
    """The part of an IRI after its last ``#`` or ``/``."""
    return re.split(r"[#/]", iri.rstrip("/#"))[-1] or iri


def fold(text: str) -> str:
    """Lower case without accents, for search ("ecole" finds "École")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def pick(labels: dict[str, str] | None, lang: str, fallback: str = "") -> str:
    """The label in the reader's language, else English, else untagged, else any."""
    if not labels:
        return fallback
    for key in (lang, "en", ""):
        if labels.get(key):
            return labels[key]
    return next(iter(labels.values()))


def _value(term) -> str:
    return term.value if term is not None else ""


def _lang(term) -> str:
    return (getattr(term, "language", None) or "") if isinstance(term, ox.Literal) else ""


@dataclass
class Community:
    iri: str
    twin: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    networks: set[str] = field(default_factory=set)
    country: str = ""
    region: str = ""
    locality: str = ""
    legal_forms: set[str] = field(default_factory=set)
    legal_kinds: set[str] = field(default_factory=set)
    member_types: set[str] = field(default_factory=set)
    technologies: set[str] = field(default_factory=set)
    activities: set[str] = field(default_factory=set)
    members: int = 0
    conformance: str = ""
    point: tuple[float, float] | None = None  # (latitude, longitude)
    text: str = ""  # what search looks in, folded

    #: the values of each facet, fixed once the index is built (search reads them thousands of times)
    facets: dict[str, frozenset[str]] = field(default_factory=dict)

    def facet_values(self, facet: str) -> frozenset[str]:
        return self.facets[facet]

    def freeze(self, shared: dict[frozenset[str], frozenset[str]]) -> None:
        """Fix the facets once the index is built. ``shared`` holds one frozenset per combination of
        values, reused by every community that has it: at 10,000 communities a frozenset of each
        facet of each community was 119,355 of them, 24 MiB, for a few hundred combinations."""
        self.facets = {}
        for name, values in self._facet_sets().items():
            frozen = frozenset(values)
            self.facets[name] = shared.setdefault(frozen, frozen)

    def _facet_sets(self) -> dict[str, set[str]]:
        return {
            "network": self.networks, "country": {self.country} if self.country else set(),
            "region": {self.region} if self.region else set(), "legal": self.legal_kinds,
            "member": self.member_types, "tech": self.technologies, "activity": self.activities,
            "size": {size_band(self.members)} if self.members else set(),
            "conformance": {self.conformance} if self.conformance else set(),
        }


def size_band(members: int) -> str:
    return next(label for low, high, label in SIZE_BANDS if low <= members <= high)


#: the most communities the directory's map gets (an even sample of the results past it): at 10,000
#: communities every point made the directory page 1.4 MB, and its map 10,000 markers
MAP_POINTS = 2000


@dataclass
class Index:
    key: Any
    communities: list[Community]
    by_iri: dict[str, Community]
    labels: dict[str, dict[str, str]]


class Directory:
    """The pages' reads over a node's store (see the module's docstring)."""

    def __init__(self, node: Node):
        self.node = node
        self._index: Index | None = None
        self._lock = threading.Lock()
        self._build_seconds = 0.0
        #: rebuilds that took longer than this many seconds happen in the background
        self.wait_below = 1.0
        #: told of every finished build attempt (readers with a deadline wait on it)
        self._built = threading.Condition()
        self._attempts = 0
        #: community and network pages' data of the current key (:meth:`_kept`)
        self._pages: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._searches: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._pages_key: Any = None
        self._pages_lock = threading.Lock()

    # --- queries ----------------------------------------------------------------------------------

    def _select(self, body: str, **bind: str) -> list[dict[str, Any]]:
        """Run a SELECT; ``s=IRI`` writes the IRI in place of ``?s`` (pyoxigraph's substitutions
        require the variable to be projected). An IRI that cannot be written as it is matches
        nothing."""
        return list(self._rows(body, **bind))

    def _rows(self, body: str, **bind: str) -> Iterator[dict[str, Any]]:
        """:meth:`_select`'s rows one at a time: the index's build reads every membership and
        every member's type (700,000 rows each at N=10,000), which held as lists took 400 MB."""
        for name, iri in bind.items():
            if not _safe_iri(iri):
                return
            ox.NamedNode(iri)  # raises ValueError for what is not an IRI
            body = re.sub(r"\?" + name + r"\b", _iri(iri).replace("\\", "\\\\"), body)
        page_deadline.check()  # a page's reads stop at its deadline (ecgraph.page_deadline)
        result = self.node.store.query(PREFIXES + body)
        names = [v.value for v in result.variables]
        for count, row in enumerate(result, 1):
            if count % 256 == 0:
                page_deadline.check()
            yield {n: row[n] for n in names}
        page_deadline.check()

    def _key(self) -> Any:
        return (self.node.generation.value, self.node.entries_version)

    #: how many community and network pages' data are kept for the current key
    KEPT_PAGES = 256
    #: and how many directory searches (each holds up to MAP_POINTS points: about 0.4 MB at 10,000)
    KEPT_SEARCHES = 32

    def _kept(self, kind: str, what: tuple, build: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        """A community's or network's page data, or a directory search, built once per key (the
        store's generation and the catalog entries' version: any commit, harvest or admin update
        moves it, before it is acknowledged) and kept for the next readers: the same page is asked
        again and again over data that changes a few times a day; a network's page reads its
        members' every indicator value (3,100 rows at 1,000 communities, a third of a second), the
        directory counts every facet over every community (240 ms at 10,000). Built data is kept
        only if the key did not move while it was read (then it may hold a newer state than the key
        says; the next reader builds it again). Each reader gets its own copy of the top level
        (:mod:`ecgraph.web.face.privacy` replaces keys of it); nothing below is changed. The
        provenance is read for each reader: a refresh that finds a twin unchanged at home moves
        no key but changes what it says (when it was last checked). While a large directory's
        index is rebuilt after a change, readers get the previous index (:meth:`index`): what is
        built from it then is not kept."""
        key = self.index().key
        if key != self._key():
            return self._reader_copy(build())
        kept, bound = (self._searches, self.KEPT_SEARCHES) if kind == "search" else (self._pages, self.KEPT_PAGES)
        with self._pages_lock:
            if self._pages_key != key:
                self._pages.clear()
                self._searches.clear()
                self._pages_key = key
            page = kept.get((kind, *what))
            if page is not None:
                kept.move_to_end((kind, *what))
        if page is None:
            page = build()
            if page is None:
                return None
            with self._pages_lock:
                if self._pages_key == key == self._key():
                    kept[(kind, *what)] = page
                    while len(kept) > bound:
                        kept.popitem(last=False)
        return self._reader_copy(page)

    def _reader_copy(self, page: dict[str, Any] | None) -> dict[str, Any] | None:
        if page is None:
            return None
        out = dict(page)
        if out.get("provenance"):
            out["provenance"] = self.provenance(out["provenance"]["twin"])
        return out

    # --- labels -----------------------------------------------------------------------------------

    def _labels(self) -> dict[str, dict[str, str]]:
        """Labels of every term the ontology and the code lists name, by language."""
        labels: dict[str, dict[str, str]] = defaultdict(dict)
        for graph in (standard.ONTOLOGY_GRAPH, standard.VOCABULARY_GRAPH):
            query = f"SELECT ?s ?l WHERE {{ GRAPH {_iri(graph)} {{ ?s skos:prefLabel|rdfs:label ?l }} }}"
            for row in self._rows(query):
                labels[row["s"].value].setdefault(_lang(row["l"]), row["l"].value)
        return dict(labels)

    def label(self, iri: str, lang: str) -> str:
        """The label of a term of the standard or a network's name. Every public read checks the
        index is current first; a page's many labels then reuse it."""
        index = self._index or self.index()
        return pick(index.labels.get(iri), lang, local(iri))

    # --- the directory ------------------------------------------------------------------------------

    def index(self) -> Index:
        """The directory as of the store's current state. A build that took longer than
        :attr:`wait_below` seconds is redone in a background thread after a change while readers
        get the previous one (a large node must not make every reader after a publish wait for
        the rebuild); a quick one is redone at once, so a small node never shows stale data."""
        key = self._key()
        index = self._index
        if index is not None and index.key == key:
            return index
        if index is not None and self._build_seconds >= self.wait_below:
            self._rebuild_in_background()
            return index
        if page_deadline.remaining() is not None:  # a page: the build runs apart, the reader waits its deadline
            return self._wait_for_build(key)
        with self._lock:
            if self._index is not None and self._index.key == key:
                return self._index
            return self._rebuild(key)

    def _wait_for_build(self, key: Any) -> Index:
        """The index for a reader with a deadline: built in a thread of its own, which goes on when
        the reader's time is up (it is then told to come back); the next reader finds it ready."""
        with self._built:
            attempts = self._attempts
        self._rebuild_in_background()
        with self._built:
            self._built.wait_for(lambda: self._attempts > attempts or (
                self._index is not None and self._index.key == key), timeout=max(0.0, page_deadline.remaining() or 0))
            if self._index is not None:
                return self._index
        raise page_deadline.timeout(building=True)

    def _rebuild(self, key: Any) -> Index:
        started = time.perf_counter()
        try:
            index = self._build(key)
            self._build_seconds = time.perf_counter() - started
            self._index = index
            heap.give_back("the directory's index")  # the build's rows and joins are freed by now
        finally:
            with self._built:
                self._attempts += 1
                self._built.notify_all()
        return index

    def _rebuild_in_background(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # one is on its way
        def run():
            try:
                self._rebuild(self._key())
            except Exception:  # the next reader tries again; the old index keeps serving
                log.exception("rebuilding the directory failed")
            finally:
                self._lock.release()
        threading.Thread(target=run, name="ecgraph-directory", daemon=True).start()

    def _build(self, key: Any) -> Index:
        labels = self._labels()
        found: dict[str, Community] = {}
        base = standard.TWIN_GRAPH_BASE
        for row in self._rows("SELECT ?c ?g WHERE { GRAPH ?g { ?c a ec:EnergyCommunity } }"):
            graph = row["g"].value
            if not isinstance(row["c"], ox.NamedNode) or not graph.startswith(base):
                continue
            twin = graph[len(base):]
            community = found.setdefault(row["c"].value, Community(row["c"].value))
            if not twin.endswith(standard.INFERRED_SUFFIX) and community.twin is None:
                community.twin = twin
        # the twin that describes a community is its home
        for row in self._rows("SELECT ?c ?g WHERE { GRAPH ?g { ?t ec:describes ?c } ?c a ec:EnergyCommunity }"):
            graph, iri = row["g"].value, row["c"].value
            if iri in found and graph.startswith(base) and not graph.endswith(standard.INFERRED_SUFFIX):
                found[iri].twin = graph[len(base):]

        def each(query: str):
            for row in self._rows(query):
                community = found.get(_value(row["c"]))
                if community is not None:
                    yield community, row["v"]

        for c, v in each(f"SELECT ?c ?v WHERE {{ ?c a ec:EnergyCommunity ; {NAME_PATH} ?v }}"):
            c.names.setdefault(_lang(v), v.value)
        for c, v in each("SELECT ?c ?v WHERE { { ?c ec:network ?v } UNION { ?v ec:includesCommunity ?c } }"):
            c.networks.add(v.value)
        for c, v in each("SELECT ?c ?v WHERE { ?c a ec:EnergyCommunity ; schema:address/schema:addressCountry ?v }"):
            c.country = v.value.strip().upper()
        for c, v in each("SELECT ?c ?v WHERE { ?c a ec:EnergyCommunity ; schema:address/schema:addressRegion ?v }"):
            c.region = v.value.strip()
        for c, v in each("SELECT ?c ?v WHERE { ?c a ec:EnergyCommunity ; schema:address/schema:addressLocality ?v }"):
            c.locality = v.value.strip()
        for c, v in each("SELECT ?c ?v WHERE { ?c a ec:EnergyCommunity ; geo:hasGeometry/geo:asWKT ?v }"):
            match = _POINT.search(v.value)
            if match:
                c.point = (float(match.group(2)), float(match.group(1)))
        broader: dict[str, set[str]] = defaultdict(set)
        for row in self._rows("SELECT ?s ?b WHERE { ?s skos:inScheme ec:LegalForms ; skos:broader+ ?b }"):
            broader[row["s"].value].add(row["b"].value)
        kinds = {EC + k for k in LEGAL_KINDS}
        for c, v in each("SELECT ?c ?v WHERE { ?c a ec:EnergyCommunity ; ec:legalForm ?v }"):
            c.legal_forms.add(v.value)
            c.legal_kinds.update(k for k in ({v.value} | broader.get(v.value, set())) if k in kinds)
        # Joins of every community with every member's types took 21 s at 1,000 communities in
        # pyoxigraph 0.5.13; two scans joined here take well under one. The node's reasoner
        # derives ec:hasMember from every way a twin states a membership.
        def typed(scheme: str) -> dict[str, frozenset[str]]:
            # one shared frozenset per combination of types (a few dozen), not one set per member
            out: dict[str, frozenset[str]] = {}
            shared: dict[frozenset[str], frozenset[str]] = {}
            for row in self._rows(f"SELECT ?x ?t WHERE {{ ?t skos:inScheme {_iri(EC + scheme)} . ?x a ?t }}"):
                x = row["x"].value
                types = out.get(x, frozenset()) | {row["t"].value}
                out[x] = shared.setdefault(types, types)
            return out

        member_types = typed("MemberTypes")
        for c, v in each("SELECT ?c ?v WHERE { ?c ec:hasMember ?v }"):
            c.member_types.update(member_types.get(v.value, ()))
        asset_types = typed("AssetTypes")
        for c, v in each("SELECT ?c ?v WHERE { ?c ec:hasAsset ?v }"):
            c.technologies.update(asset_types.get(v.value, ()))
        supers: dict[str, set[str]] = defaultdict(set)
        for row in self._rows("SELECT ?t ?s WHERE { ?t skos:inScheme ec:AssetTypes ; rdfs:subClassOf+ ?s }"):
            supers[row["t"].value].add(row["s"].value)
        for c in found.values():  # a battery is an energy storage: say battery
            c.technologies -= {s for t in c.technologies for s in supers.get(t, ())}
        extra: dict[str, list[str]] = defaultdict(list)  # more words to search in: asset names, purpose
        for c, v in each("SELECT ?c ?v WHERE { ?c a ec:EnergyCommunity ; ec:hasAsset/schema:name|ec:purpose ?v }"):
            extra[c.iri].append(v.value)
        for c, v in each("SELECT ?c ?v WHERE { ?c a ec:EnergyCommunity ; ec:activity ?v }"):
            c.activities.add(v.value)
        group_sizes = {r["x"].value: r["n"].value for r in self._rows("SELECT ?x ?n WHERE { ?x ec:groupSize ?n }")}
        for c, v in each("SELECT ?c ?v WHERE { ?c ec:hasMembership ?v }"):  # a group counts its size
            size = group_sizes.get(v.value)
            c.members += int(float(size)) if size is not None and _is_number(size) else 1
        entries = self.node.entries()
        network_names: dict[str, dict[str, str]] = defaultdict(dict)
        for row in self._rows(f"SELECT ?c ?v WHERE {{ ?c a ec:CommunityNetwork ; {NAME_PATH} ?v }}"):
            network_names[row["c"].value].setdefault(_lang(row["v"]), row["v"].value)
        for iri, names in network_names.items():
            labels.setdefault(iri, names)
        shared: dict[frozenset[str], frozenset[str]] = {}
        for c in found.values():
            entry = entries.get(c.twin or "")
            c.conformance = entry.conformance if entry is not None else ""
            words = [*c.names.values(), c.locality, c.region, c.country, *extra.get(c.iri, ())]
            for term in (*c.networks, *c.legal_forms, *c.legal_kinds, *c.member_types, *c.technologies,
                         *c.activities):
                words.extend(labels.get(term, {}).values())
                words.append(local(term).replace("-", " "))
            c.text = fold(" ".join(words))
            c.freeze(shared)
        ordered = sorted(found.values(), key=lambda c: (fold(pick(c.names, "en", local(c.iri))), c.iri))
        return Index(key, ordered, {c.iri: c for c in ordered}, labels)

    def search(self, text: str = "", filters: dict[str, list[str]] | None = None, page: int = 1,
               page_size: int = PAGE_SIZE, lang: str = "en") -> dict[str, Any]:
        """One page of the communities matching ``text`` (every word, in any language) and the
        filters (values of one facet: any of them; several facets: all), with each facet's counts
        as they would be if that facet's own choice were left out (so that a reader can widen a
        choice), in a stable order (by name, then IRI). Kept until the next commit (:meth:`_kept`)."""
        self.index()  # past the reader's deadline while it is built: 503 before anything is kept
        filters = {k: v for k, v in (filters or {}).items() if v}
        what = (text, tuple(sorted((k, tuple(v)) for k, v in filters.items())), page, page_size, lang)
        found = self._kept("search", what, lambda: self._search(text, filters, page, page_size, lang))
        assert found is not None
        return found

    def _search(self, text: str, filters: dict[str, list[str]], page: int, page_size: int,
                lang: str) -> dict[str, Any]:
        index = self.index()
        words = fold(text).split()
        matching = [c for c in index.communities if all(w in c.text for w in words)]

        wanted = {f: frozenset(values) for f, values in filters.items()}

        def passes(c: Community, skip: str | None = None) -> bool:
            return all(not c.facets[f].isdisjoint(values) for f, values in wanted.items() if f != skip)

        results = [c for c in matching if passes(c)]
        facets = []
        for name, title in FACETS:
            counts: Counter[str] = Counter()
            for c in (results if name not in wanted else [c for c in matching if passes(c, skip=name)]):
                counts.update(c.facets[name])
            values: list[dict[str, Any]] = [
                {"value": v, "label": self.facet_label(name, v, lang), "count": n,
                 "selected": v in filters.get(name, [])} for v, n in counts.items()]
            values.sort(key=lambda x: (-x["count"], fold(x["label"])))
            if name == "member":  # schools first: the question the directory is asked most
                values.sort(key=lambda x: x["value"] != EC + "School")
            if name == "size":
                order = [label for _, _, label in SIZE_BANDS]
                values.sort(key=lambda x: order.index(x["value"]))
            facets.append({"name": name, "title": title, "values": values})
        pages = max(1, -(-len(results) // page_size))
        page = min(max(1, page), pages)
        shown = results[(page - 1) * page_size: page * page_size]
        placed = [(c, c.point) for c in results if c.point]
        # an even sample of them, over the whole order of the results, when they are too many to send
        step = -(-len(placed) // MAP_POINTS)
        return {"total": len(results), "page": page, "pages": pages, "page_size": page_size,
                "results": [self.card(c, lang) for c in shown],
                "points": [{"iri": c.iri, "name": pick(c.names, lang, local(c.iri)), "lat": point[0],
                            "lon": point[1]} for c, point in placed[::max(1, step)]],
                "points_total": len(placed),
                "facets": facets, "countries": sorted({c.country for c in index.communities if c.country})}

    def facet_label(self, facet: str, value: str, lang: str) -> str:
        if facet in ("country", "region", "size", "conformance"):
            return value
        return self.label(value, lang)

    def card(self, c: Community, lang: str) -> dict[str, Any]:
        return {"iri": c.iri, "name": pick(c.names, lang, local(c.iri)), "twin": c.twin,
                "locality": c.locality, "region": c.region, "country": c.country,
                "networks": [{"iri": n, "name": self.label(n, lang)} for n in sorted(c.networks)],
                "legal_form": [self.label(v, lang) for v in sorted(c.legal_forms)],
                "member_types": [{"iri": t, "label": self.label(t, lang), "school": t == EC + "School"}
                                 for t in sorted(c.member_types, key=lambda t: (t != EC + "School", t))],
                "technologies": [self.label(t, lang) for t in sorted(c.technologies)],
                "members": c.members, "conformance": c.conformance,
                "lat": c.point[0] if c.point else None, "lon": c.point[1] if c.point else None}

    # --- one resource -----------------------------------------------------------------------------

    def names(self, iris: Iterable[str]) -> dict[str, dict[str, str]]:
        """The names the data gives the IRIs (any graph), by language; code-list labels first."""
        labels = self.index().labels
        out: dict[str, dict[str, str]] = {i: dict(labels[i]) for i in iris if i in labels}
        wanted = [i for i in set(iris) if i not in out]
        for start in range(0, len(wanted), 200):
            chunk = wanted[start:start + 200]
            if not any(_safe_iri(i) for i in chunk):
                continue
            for row in self._select(f"SELECT ?s ?l WHERE {{ VALUES ?s {{ {_iris(chunk)} }} ?s {NAME_PATH} ?l }}"):
                out.setdefault(row["s"].value, {}).setdefault(_lang(row["l"]), row["l"].value)
        return out

    #: the statements about one resource its page reads at most
    DESCRIBE_ROWS = 5000

    def describe(self, iri: str) -> dict[str, Any]:
        """Every statement about ``iri`` (by graph, inferred ones marked) and the statements that
        point to it, for the generic resource page."""
        # in SPARQL's order (blank nodes, IRIs, literals), sorted here: the engine's ORDER BY took
        # 590 ms over the catalog resource's 10,000 statements, reading them 45 ms
        outgoing = self._select(f"SELECT ?p ?o ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT {int(self.DESCRIBE_ROWS)}",
                                s=iri)
        outgoing.sort(key=lambda r: (r["p"].value, _KIND_ORDER.get(type(r["o"]), 3), str(r["o"])))
        incoming = self._select("SELECT DISTINCT ?x ?p WHERE { ?x ?p ?s } LIMIT 200", s=iri)
        return {"outgoing": outgoing, "incoming": incoming}

    def described_by(self, twin: str, lang: str) -> list[dict[str, str]]:
        """What a twin says it describes (its communities, its network), with their names."""
        graph = standard.twin_graph(twin)
        rows = self._select("SELECT DISTINCT ?x WHERE { GRAPH ?g { ?t ec:describes ?x } }", g=graph)
        iris = [r["x"].value for r in rows if isinstance(r["x"], ox.NamedNode)]
        names = self.names(iris)
        return [{"iri": i, "name": pick(names.get(i), lang, local(i))} for i in sorted(iris)]

    def personal(self, iris: Iterable[str]) -> set[str]:
        """Which of ``iris`` are personal data: instances of a class the standard marks (a person,
        a household) or values of a marked property (a contact point). Pages show none of them."""
        from ecgraph.publish.personal import installed_marks

        wanted = [i for i in set(iris) if _safe_iri(i)]
        if not wanted:
            return set()
        marks = sorted(installed_marks())
        out: set[str] = set()
        for start in range(0, len(wanted), 200):
            chunk = wanted[start:start + 200]
            # the marks as a FILTER, not a second VALUES: with two VALUES the engine scanned every
            # typed resource (85 ms a call at 1,000 communities, most of a community page; 0.8 ms so)
            rows = self._select(f"SELECT DISTINCT ?s WHERE {{ {{ VALUES ?s {{ {_iris(chunk)} }} ?s a ?m "
                                f"FILTER(?m IN ({_iri_list(marks)})) }} UNION {{ VALUES ?s {{ {_iris(chunk)} }} "
                                f"?x ?m ?s FILTER(?m IN ({_iri_list(marks)})) }} }}")
            out.update(r["s"].value for r in rows)
        return out

    def public_contacts(self, iri: str) -> list[dict]:
        """The contact points of ``iri`` that pages may show: an organisation's (``vcard:Organization``)
        or a role held in public (``ec:basis-public-role`` on the contact point or on its twin); a
        person's contact point is personal data and stays off the pages."""
        rows = self._select(
            "SELECT DISTINCT ?n ?e ?t ?u WHERE { GRAPH ?g { ?s ec:contactPoint ?c "
            "{ ?c a vcard:Organization } UNION { ?c ec:personalDataBasis ec:basis-public-role } "
            "UNION { ?twin a ec:DigitalTwin ; ec:personalDataBasis ec:basis-public-role } } "
            "OPTIONAL { ?c vcard:fn ?n } OPTIONAL { ?c vcard:hasEmail ?e } OPTIONAL { ?c vcard:hasTelephone ?t } "
            "OPTIONAL { ?c vcard:hasURL ?u } }", s=iri)
        return [{"name": _value(r["n"]), "email": _value(r["e"]), "telephone": _value(r["t"]), "url": _value(r["u"])}
                for r in rows]

    def types(self, iri: str) -> set[str]:
        return {r["t"].value for r in self._select("SELECT ?t WHERE { ?s a ?t }", s=iri)}

    def triples(self, iri: str) -> list[ox.Triple]:
        """The resource's own triples and those of the blank nodes it points to (its concise
        bounded description, two levels deep), from every graph."""
        rows = self._select("SELECT DISTINCT ?p ?o ?p2 ?o2 ?p3 ?o3 WHERE { ?s ?p ?o "
                            "OPTIONAL { FILTER(isBlank(?o)) ?o ?p2 ?o2 "
                            "OPTIONAL { FILTER(isBlank(?o2)) ?o2 ?p3 ?o3 } } } LIMIT "
                            + str(self.node.config.max_result_rows), s=iri)
        subject = ox.NamedNode(iri)
        out: set[ox.Triple] = set()
        for row in rows:
            out.add(ox.Triple(subject, row["p"], row["o"]))
            if row["p2"] is not None:
                out.add(ox.Triple(row["o"], row["p2"], row["o2"]))
            if row["p3"] is not None:
                out.add(ox.Triple(row["o2"], row["p3"], row["o3"]))
        return sorted(out, key=str)

    # --- a community ------------------------------------------------------------------------------

    def community(self, iri: str, lang: str) -> dict[str, Any] | None:
        """Everything the community page shows, or None when no twin describes ``iri`` as an
        energy community (kept: :meth:`_kept`)."""
        return self._kept("community", (iri, lang), lambda: self._community(iri, lang))

    def _community(self, iri: str, lang: str) -> dict[str, Any] | None:
        c = self.index().by_iri.get(iri)
        if c is None:
            return None
        out = self.card(c, lang)
        out["names"] = c.names
        members = self._select(
            "SELECT ?m ?r ?n ?start WHERE { { ?s ec:hasMembership ?ms . ?ms ec:member ?m "
            "OPTIONAL { ?ms ec:role ?r } OPTIONAL { ?ms ec:groupSize ?n } OPTIONAL { ?ms ec:startDate ?start } } "
            "UNION { ?s ec:hasMember ?m } UNION { ?m ec:memberOf ?s } }", s=iri)
        member_iris = sorted({_value(r["m"]) for r in members if isinstance(r["m"], ox.NamedNode)})
        listed = _iris(member_iris)
        type_rows = self._select(f"SELECT ?m ?t WHERE {{ VALUES ?m {{ {_iris(member_iris)} }} ?m a ?t }}") \
            if listed else []
        member_types = {r["t"].value for r in self._select("SELECT ?t WHERE { ?t skos:inScheme ec:MemberTypes }")}
        types: dict[str, set[str]] = defaultdict(set)
        for row in type_rows:
            if row["t"].value in member_types:
                types[row["m"].value].add(row["t"].value)
        roles: dict[str, set[str]] = defaultdict(set)
        sizes: dict[str, int] = {}
        for row in members:
            if row["r"] is not None:
                roles[_value(row["m"])].add(row["r"].value)
            if row["n"] is not None:
                sizes[_value(row["m"])] = int(float(row["n"].value))
        names = self.names(member_iris)
        by_type: dict[str, list[dict]] = defaultdict(list)
        for m in member_iris:
            kinds = sorted(types.get(m) or {""}, key=lambda t: (t != EC + "School", t))
            by_type[kinds[0]].append({"iri": m, "name": pick(names.get(m), lang, local(m)),
                                      "types": [{"label": self.label(t, lang), "school": t == EC + "School"}
                                                for t in kinds if t],
                                      "roles": sorted(self.label(r, lang) for r in roles.get(m, ())),
                                      "size": sizes.get(m), "school": EC + "School" in kinds})
        out["members_by_type"] = [
            {"type": t, "label": self.label(t, lang) if t else "", "school": t == EC + "School",
             "members": sorted(ms, key=lambda m: fold(m["name"]))}
            for t, ms in sorted(by_type.items(), key=lambda kv: (kv[0] != EC + "School", kv[0] == "", kv[0]))]
        out["assets"] = self._assets(iri, lang)
        out["indicators"] = self.indicators([iri], lang)
        out["lessons"] = self._lessons(iri, lang)
        out["initiatives"] = self._things("?s ec:hasInitiative ?x", iri, lang)
        out["events"] = self._things("?x ec:organizer|ec:participant|ec:host|ec:visitor ?s", iri, lang, dated=True)
        out["tools"] = self._things("?s ec:usesTool ?x", iri, lang)
        out["funding"] = self._funding(iri, lang)
        out["contact"] = self._contact(iri)
        out["purpose"] = self._text(iri, "purpose", lang)
        out["url"] = [_value(r["u"]) for r in self._select("SELECT ?u WHERE { ?s schema:url ?u }", s=iri)]
        out["provenance"] = self.provenance(c.twin)
        return out

    def _text(self, iri: str, kind: str, lang: str) -> str:
        texts: dict[str, str] = {}
        for row in self._select(f"SELECT ?t WHERE {{ ?s {TEXT_PATHS[kind]} ?t }}", s=iri):
            texts.setdefault(_lang(row["t"]), row["t"].value)
        return pick(texts, lang)

    def _assets(self, iri: str, lang: str) -> list[dict]:
        rows = self._select(
            "SELECT ?a ?t ?cap ?v ?u ?host WHERE { ?s ec:hasAsset ?a . "
            "OPTIONAL { ?a a ?t . ?t skos:inScheme ec:AssetTypes } "
            "OPTIONAL { ?a ?cap ?q . FILTER(?cap IN (ec:peakPower, ec:ratedPower, ec:storageCapacity, ec:length)) "
            "?q qudt:numericValue ?v OPTIONAL { ?q qudt:hasUnit ?u } } OPTIONAL { ?a ec:hostedBy ?host } }", s=iri)
        assets: dict[str, dict[str, Any]] = {}
        for row in rows:
            asset = assets.setdefault(_value(row["a"]), {"iri": _value(row["a"]), "types": set(),
                                                          "capacities": {}, "host": None})
            if row["t"] is not None:
                asset["types"].add(self.label(row["t"].value, lang))
            if row["cap"] is not None:
                unit = local(_value(row["u"])) if row["u"] is not None else ""
                asset["capacities"][self.label(row["cap"].value, lang)] = \
                    f"{_number(row['v'].value)} {UNITS.get(unit, unit)}".strip()
            if row["host"] is not None:
                asset["host"] = row["host"].value
        names = self.names(list(assets) + [a["host"] for a in assets.values() if a["host"]])
        out = []
        for a in assets.values():
            a["name"] = pick(names.get(a["iri"]), lang, local(a["iri"]))
            a["types"] = sorted(a["types"])
            a["capacities"] = sorted(a["capacities"].items())
            if a["host"]:
                a["host"] = {"iri": a["host"], "name": pick(names.get(a["host"]), lang, local(a["host"]))}
            out.append(a)
        return sorted(out, key=lambda a: fold(a["name"]))

    def indicators(self, iris: list[str], lang: str) -> list[dict]:
        """Indicator series of one or more subjects (a network's communities add up, in one unit
        per indicator), as points over periods for a chart."""
        if not _iris(iris):
            return []
        rows = self._select(
            f"SELECT ?k ?start ?end ?v ?u WHERE {{ VALUES ?s {{ {_iris(iris)} }} ?s ec:hasIndicator ?i . "
            "?i ec:indicator ?k ; ec:periodStart ?start ; qudt:numericValue ?v OPTIONAL { ?i ec:periodEnd ?end } "
            "OPTIONAL { ?i qudt:hasUnit ?u } }")
        series: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for row in rows:
            unit = local(_value(row["u"])) if row["u"] is not None else ""
            try:
                number = float(row["v"].value)
            except ValueError:
                continue
            if unit in TO_BASE:
                unit, factor = TO_BASE[unit]
                number *= factor
            start, end = row["start"].value[:10], _value(row["end"])[:10]
            period = start[:4] if (start[5:] == "01-01" and end[5:] == "12-31" and start[:4] == end[:4]) \
                else f"{start}/{end}" if end else start
            series[(row["k"].value, unit)][period] += number
        out = []
        for (kpi, unit), points in series.items():
            ordered = sorted(points.items())
            out.append({"iri": kpi, "label": self.label(kpi, lang), "unit": UNITS.get(unit, unit),
                        "points": [{"period": p, "value": round(v, 3)} for p, v in ordered]})
        return sorted(out, key=lambda s: fold(s["label"]))

    def _lessons(self, iri: str, lang: str) -> list[dict]:
        # FILTER IN, not VALUES ?p: pyoxigraph 0.5.13 planned the VALUES form as a scan of every
        # triple (2 s at 1,000 communities against 1 ms)
        rows = self._select("SELECT ?l ?p ?t WHERE { ?s ec:hasLesson ?l . ?l ?p ?t . "
                            "FILTER(?p IN (schema:name, ec:summary, ec:whatWorked, ec:whatDidNotWork)) }", s=iri)
        lessons: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
        for row in rows:
            lessons[_value(row["l"])][local(row["p"].value)].setdefault(_lang(row["t"]), row["t"].value)
        return [{"iri": lesson, "name": pick(parts.get("name"), lang, local(lesson)),
                 "summary": pick(parts.get("summary"), lang), "worked": pick(parts.get("whatWorked"), lang),
                 "did_not_work": pick(parts.get("whatDidNotWork"), lang)}
                for lesson, parts in sorted(lessons.items())]

    def _things(self, pattern: str, iri: str, lang: str, *, dated: bool = False) -> list[dict]:
        rows = self._select("SELECT DISTINCT ?x ?date ?t WHERE { " + pattern + " OPTIONAL { ?x ec:startDate|"
                            "schema:startDate ?date } OPTIONAL { ?x a ?t FILTER(STRSTARTS(STR(?t), STR(ec:))) } }",
                            s=iri)
        things: dict[str, dict] = {}
        for row in rows:
            x = _value(row["x"])
            thing = things.setdefault(x, {"iri": x, "date": "", "types": set()})
            if row["date"] is not None:
                thing["date"] = row["date"].value[:10]
            if row["t"] is not None:
                thing["types"].add(self.label(row["t"].value, lang))
        names = self.names([x for x in things if not x.startswith("_:")])
        out = []
        for thing in things.values():
            thing["name"] = pick(names.get(thing["iri"]), lang, local(thing["iri"]))
            thing["types"] = sorted(thing["types"])
            out.append(thing)
        return sorted(out, key=lambda t: (t["date"], fold(t["name"])), reverse=dated)

    def _funding(self, iri: str, lang: str) -> list[dict]:
        rows = self._select("SELECT ?k ?a ?f ?d WHERE { ?s ec:hasFunding ?x OPTIONAL { ?x ec:fundingType ?k } "
                            "OPTIONAL { ?x ec:amountInEuro ?a } OPTIONAL { ?x ec:funder ?f } "
                            "OPTIONAL { ?x ec:startDate ?d } }", s=iri)
        names = self.names([r["f"].value for r in rows if isinstance(r["f"], ox.NamedNode)])
        return [{"type": self.label(r["k"].value, lang) if r["k"] is not None else "",
                 "amount": _number(r["a"].value) if r["a"] is not None else "",
                 "funder": {"iri": r["f"].value, "name": pick(names.get(r["f"].value), lang, local(r["f"].value))}
                 if isinstance(r["f"], ox.NamedNode) else None,
                 "date": _value(r["d"])[:10]} for r in rows]

    def _contact(self, iri: str) -> list[dict]:
        rows = self._select("SELECT ?n ?e ?t ?u WHERE { ?s ec:contactPoint ?c OPTIONAL { ?c vcard:fn ?n } "
                            "OPTIONAL { ?c vcard:hasEmail ?e } OPTIONAL { ?c vcard:hasTelephone ?t } "
                            "OPTIONAL { ?c vcard:hasURL ?u } }", s=iri)
        return [{"name": _value(r["n"]), "email": _value(r["e"]), "telephone": _value(r["t"]), "url": _value(r["u"])}
                for r in rows]

    def provenance(self, twin: str | None) -> dict[str, Any] | None:
        """Which twin says it, its version, when and from which node."""
        if not twin:
            return None
        entry = self.node.entry(twin)
        if entry is None:
            return None
        return {"twin": twin, "graph": entry.graph, "version": entry.version, "modified": entry.modified,
                "issued": entry.issued, "profile": entry.profile, "conformance": entry.conformance,
                "content_hash": entry.content_hash, "published_by": entry.published_by,
                "license": entry.license, "open": is_open_licence(entry.license),
                "source": self.node.twin_source(twin),
                "node": self.node.config.public_url or ""}

    # --- a network --------------------------------------------------------------------------------

    def network(self, iri: str, lang: str) -> dict[str, Any] | None:
        """Everything the network page shows, or None when ``iri`` is no community network (kept:
        :meth:`_kept`)."""
        return self._kept("network", (iri, lang), lambda: self._network(iri, lang))

    def _network(self, iri: str, lang: str) -> dict[str, Any] | None:
        if EC + "CommunityNetwork" not in self.types(iri):
            return None
        index = self.index()
        members = [c for c in index.communities if iri in c.networks]
        cards = [self.card(c, lang) for c in members]
        home = self._select("SELECT ?g WHERE { GRAPH ?g { ?t ec:describes ?s } }", s=iri)
        twin = next((r["g"].value[len(standard.TWIN_GRAPH_BASE):] for r in home
                     if r["g"].value.startswith(standard.TWIN_GRAPH_BASE)), None)
        return {"iri": iri, "name": self.label(iri, lang), "twin": twin,
                "description": self._text(iri, "description", lang),
                "communities": cards, "points": [c for c in cards if c["lat"] is not None],
                "indicators": self.indicators([c.iri for c in members], lang),
                "own_indicators": self.indicators([iri], lang),
                "events": self._things("?x ec:organizer|ec:participant|ec:host|ec:visitor ?s", iri, lang, dated=True),
                "tools": self._things("?s ec:offersTool|ec:usesTool ?x", iri, lang),
                "contact": self._contact(iri), "provenance": self.provenance(twin)}


def _number(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}".rstrip("0").rstrip(".")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


#: how SPARQL's ORDER BY ranks terms of different kinds
_KIND_ORDER = {ox.BlankNode: 0, ox.NamedNode: 1, ox.Literal: 2}


def _iri(iri: str) -> str:
    """An IRI as a SPARQL term, as pyoxigraph writes it (raises ValueError for what is not one)."""
    return str(ox.NamedNode(iri))


def _iris(iris: Iterable[str]) -> str:
    """IRIs as SPARQL terms for a VALUES block; those that cannot be written as they are left out."""
    return " ".join(_iri(i) for i in iris if _safe_iri(i))


def _iri_list(iris: Iterable[str]) -> str:
    """IRIs as SPARQL terms for an ``IN (...)`` list; those that cannot be written as they are left out."""
    return ", ".join(_iri(i) for i in iris if _safe_iri(i))


def _safe_iri(iri: str) -> bool:
    """An IRI that can be written between ``<>`` in a query as it is."""
    return bool(iri) and not any(ch in iri for ch in '<>"{}|^`\\ \n\t')

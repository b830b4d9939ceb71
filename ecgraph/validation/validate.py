"""Conformance of a twin with the standard's SHACL profiles, and reports a vendor can act on.

One implementation behind every entrance (the publishing pipeline, ``ecgraph validate``,
``POST /api/validate`` and the ``/validate`` page), so the same input gets the same report
everywhere.

What is validated: the twin's own triples plus the ontology's ``rdfs:subClassOf`` axioms (so that
``sh:class`` and ``sh:targetClass`` see subclasses, as SHACL defines them), and nothing else. No
inference runs first: a domain or range inference could otherwise "repair" a missing type that
the profile exists to catch.

Which release judges a twin: the newest one it claims (``dcterms:conformsTo``), or the one asked
for; each report says which (:mod:`ecgraph.standard`).

Two engines give the same results: ``fast`` (:mod:`ecgraph.validation.shacl`, the default) and ``pyshacl``
(the reference), both judging literals as SHACL says (see :func:`_rdflib_data`); the checks SHACL
Core cannot express run beside either (:mod:`ecgraph.validation.rules`). Messages come from our shapes and
:mod:`ecgraph.validation.messages`, not from the engine (pyshacl keeps ``{$this}`` templates literally and
shows Python reprs): each result says what failed on which value, names the shape (label, rule and
documentation link), the focus node and the path, in English, French or Dutch, and one mistake is
reported once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import pyoxigraph as ox

from ecgraph import standard
from ecgraph.standard import RDFS_SUBCLASS
from ecgraph.validation import messages, shacl
from ecgraph.validation import rules as checks
from ecgraph.validation.messages import in_language, render, render_path  # noqa: F401 - where reports and pages find them

VALIDATOR_NAME = "ecgraph"
PROFILE_CHOICES = ("core", "recommended", "all")
ENGINES = ("fast", "pyshacl")
SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}

RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
SH_MESSAGE = ox.NamedNode(shacl.SH + "message")

#: Prefixes used when a report writes an IRI.
PREFIXES = standard.PREFIXES


@lru_cache(maxsize=1)
def _version() -> str:
    """ecgraph's installed version, read once: importlib.metadata parses packages' METADATA files
    with the e-mail parser at each call (1.7 ms, a ninth of preparing a 1,000-triple twin)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ecgraph")
    except PackageNotFoundError:
        return "0+source"


@dataclass
class Result:
    severity: str
    shape: str
    shape_label: str
    focus: str                      # the focus node in Turtle, prefixes applied
    path: str | None
    value: str | None
    message: str
    component: str
    docs: str
    focus_nt: str = ""              # the same terms in N-Triples, for machines and RDF reports
    path_nt: str | None = None      # set when the path is a single property
    value_nt: str | None = None
    #: for JSON-LD input, the focus node's @id exactly as the document wrote it
    written_id: str | None = None
    #: for other input, the focus node's triples as the document stated them (Turtle)
    focus_triples: str | None = None
    #: the rule the shape states (its sh:message), the lead ``message`` says what broke it
    rule: str = ""
    #: the results this one explains (the same malformed value failing comparisons or an sh:or)
    also: list = field(default_factory=list)

    def sort_key(self):
        return (SEVERITY_ORDER.get(self.severity, 9), self.shape, self.focus, self.path or "", self.value or "")


@dataclass
class Report:
    conforms: bool
    profile: str
    profile_version: str
    shapes_hash: str
    validator: str
    input_hash: str
    triples: int
    elapsed: float
    results: list[Result] = field(default_factory=list)
    engine: str = "fast"
    #: the release whose profiles judged, and the releases the twin claims
    version: str = standard.STANDARD_VERSION
    claimed: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"Violation": 0, "Warning": 0, "Info": 0}
        for r in self.results:
            counts[r.severity] = counts.get(r.severity, 0) + 1
        return counts

    @property
    def warnings(self) -> int:
        return self.counts["Warning"]

    @property
    def violations(self) -> int:
        return self.counts["Violation"]

    def groups(self) -> list[dict]:
        """One row per rule with its count (the ITB-style aggregated view)."""
        rows: dict[tuple, dict] = {}
        for r in self.results:
            key = (r.severity, r.shape, r.rule or r.message)
            row = rows.get(key)
            if row is None:
                rows[key] = row = {"severity": r.severity, "shape": r.shape, "shape_label": r.shape_label,
                                   "message": key[2], "docs": r.docs, "count": 0}
            row["count"] += 1
        return sorted(rows.values(), key=lambda g: (SEVERITY_ORDER.get(g["severity"], 9), g["shape"], g["message"]))

    def outcome(self) -> set:
        """(shape, severity) of every result, folded ones included: what SHACL reported."""
        out = set()
        for r in self.results:
            out.add((r.shape, r.severity))
            out.update((a["shape"], a["severity"]) for a in r.also)
        return out

    def blocking(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Violation"]

    def to_dict(self, max_results: int | None = None) -> dict:
        shown = self.results if max_results is None else self.results[:max_results]
        return {
            "conforms": self.conforms,
            # what refuses the twin, first: a 422 answer must not bury it under warnings
            "blocking": [{"focus": r.focus, "path": r.path, "message": r.message, "shape": r.shape}
                         for r in self.blocking()[:20]],
            "summary": {
                "profile": self.profile,
                "profile_version": self.profile_version,
                "standard_version": self.version,
                "claimed_versions": list(self.claimed),
                "shapes_hash": self.shapes_hash,
                "validator": self.validator,
                "engine": self.engine,
                "input_hash": self.input_hash,
                "triples": self.triples,
                "elapsed_seconds": round(self.elapsed, 4),
                "counts": self.counts,
                "results_total": len(self.results),
                "results_shown": len(shown),
                "truncated": len(shown) < len(self.results),
            },
            "groups": self.groups(),
            "results": [asdict(r) for r in shown],
        }


class Profiles:
    """The shapes of each profile of each release, read once, in the form each engine needs."""

    def __init__(self):
        self._lock = threading.Lock()
        self._triples: dict[tuple, list] = {}
        self._compiled: dict[tuple, shacl.ShapesGraph] = {}
        self._rdflib: dict[tuple, object] = {}
        self._hashes: dict[tuple, str] = {}
        self._axioms: dict[str, list] = {}

    @staticmethod
    def files(profile: str) -> tuple[str, ...]:
        if profile not in PROFILE_CHOICES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILE_CHOICES)}")
        # recommended is a profile of core: checking it means checking core too
        return ("core",) if profile == "core" else ("core", "recommended")

    def _key(self, profile: str, version: str) -> tuple:
        """"all" is another name of "recommended": one key, so their shapes are read and compiled once."""
        return (self.files(profile), version)

    def triples(self, profile: str, version: str = standard.STANDARD_VERSION) -> list[ox.Triple]:
        key = self._key(profile, version)
        with self._lock:
            found = self._triples.get(key)
            if found is None:
                found = []
                digest = hashlib.sha256()
                for name in self.files(profile):
                    content = standard.shapes_file(name, version).read_bytes()
                    digest.update(content)
                    found.extend(q.triple for q in ox.parse(content, format=ox.RdfFormat.TURTLE))
                self._triples[key] = found
                self._hashes[key] = "sha256:" + digest.hexdigest()
            return found

    def compiled(self, profile: str, version: str = standard.STANDARD_VERSION) -> shacl.ShapesGraph:
        triples = self.triples(profile, version)
        key = self._key(profile, version)
        with self._lock:
            found = self._compiled.get(key)
            if found is None:
                found = self._compiled[key] = shacl.ShapesGraph(triples)
            return found

    def rdflib_shapes(self, profile: str, version: str = standard.STANDARD_VERSION):
        from ecgraph.terms import to_rdflib_graph

        triples = self.triples(profile, version)
        key = self._key(profile, version)
        with self._lock:
            found = self._rdflib.get(key)
            if found is None:
                found = self._rdflib[key] = to_rdflib_graph(triples)
            return found

    def shapes_hash(self, profile: str, version: str = standard.STANDARD_VERSION) -> str:
        self.triples(profile, version)
        return self._hashes[self._key(profile, version)]

    @staticmethod
    def profile_version(profile: str, version: str = standard.STANDARD_VERSION) -> str:
        return standard.profile_version_iri("core" if profile == "core" else "recommended", version)

    def subclass_axioms(self, version: str = standard.STANDARD_VERSION) -> list[ox.Triple]:
        """The ontology's rdfs:subClassOf axioms of a release: the only schema a twin is validated with."""
        with self._lock:
            found = self._axioms.get(version)
            if found is None:
                found = self._axioms[version] = [
                    q.triple for q in ox.parse(path=str(standard.ontology_file(version)), format=ox.RdfFormat.TURTLE)
                    if q.predicate == RDFS_SUBCLASS]
            return found


@lru_cache(maxsize=1)
def default_profiles() -> Profiles:
    return Profiles()


def validate(triples: list[ox.Triple], profile: str = "core", *, engine: str = "fast",
             profiles: Profiles | None = None, input_hash: str = "", version: str | None = None,
             problems=(), lang: str = "en", today=None) -> Report:
    """Validate a twin's triples against a profile with the chosen engine, under the release the
    twin claims (``version`` None) or the release asked for. ``problems`` are what ingest found
    that never reached the graph (dropped JSON-LD values); ``today`` fixes the day of validation
    (the checks of dates ahead use it)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    profiles = profiles or default_profiles()
    claimed = standard.claimed_versions(triples)
    version = version or standard.judging_version(triples)
    graph_triples = list(triples) + profiles.subclass_axioms(version)
    started = time.perf_counter()
    shapes = profiles.compiled(profile, version)
    data = shacl.DataIndex(graph_triples)
    if engine == "fast":
        found = shacl.Engine(shapes, data).run()
    else:
        found = findings(engine, graph_triples, shapes, profiles.rdflib_shapes(profile, version))
    found = found + checks.run(shapes, data, problems=problems, today=today, version=version)
    engine_version = ""
    if engine == "pyshacl":
        import pyshacl

        engine_version = f", pyshacl {pyshacl.__version__}"
    elapsed = time.perf_counter() - started
    words = messages.Messages(shapes, data, lang)
    pairs = sorted(((_result(f, shapes, words), f) for f in found), key=lambda rf: rf[0].sort_key())
    results = messages.fold([r for r, _ in pairs], [f for _, f in pairs], shapes, data)
    return Report(
        conforms=not any(r.severity == "Violation" for r in results),
        profile=profile,
        profile_version=profiles.profile_version(profile, version),
        shapes_hash=profiles.shapes_hash(profile, version),
        validator=f"{VALIDATOR_NAME} {_version()} ({engine} engine{engine_version})",
        input_hash=input_hash,
        triples=len(triples),
        elapsed=elapsed,
        results=results,
        engine=engine,
        version=version,
        claimed=claimed,
    )


def findings(engine: str, data: list[ox.Triple], shapes: list[ox.Triple] | shacl.ShapesGraph,
             rdflib_shapes=None) -> list[shacl.Finding]:
    """SHACL Core validation of any data graph against any shapes graph, with either engine, as
    SHACL defines it (what the W3C SHACL Core test suite checks). Each finding's path is the
    path as the shapes graph writes it."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    compiled = shapes if isinstance(shapes, shacl.ShapesGraph) else shacl.ShapesGraph(shapes)
    if engine == "fast":
        return shacl.validate(compiled, data)
    if rdflib_shapes is None:
        from ecgraph.terms import to_rdflib_graph

        rdflib_shapes = to_rdflib_graph(shapes if not isinstance(shapes, shacl.ShapesGraph) else
                                        [ox.Triple(s, p, o) for s, props in shapes.out.items()
                                         for p, objs in props.items() for o in objs])
    return _pyshacl_findings(data, rdflib_shapes, compiled)


def _rdflib_data(triples: list[ox.Triple]):
    """The data graph for pyshacl, every literal in it ordered and typed as SHACL says.

    SHACL follows XSD and SPARQL: a literal whose lexical form is not valid for its datatype
    ("2024-02-30"^^xsd:date, "NaN"^^xsd:decimal, "300"^^xsd:byte, a dateTime typed xsd:date) is
    ill-typed: it fails sh:datatype and cannot be compared; values of types SPARQL cannot compare
    (a date and a dateTime, a date and a number) cannot be compared either; and every comparison
    that cannot be made gives a result (sh:minInclusive, sh:lessThan, ...). rdflib reads some
    ill-typed literals leniently (a dateTime typed as a date becomes a date: pyshacl passes it),
    orders what SPARQL cannot compare by datatype IRI, and raises on NaN. Handing pyshacl literals
    that compare with :func:`ecgraph.validation.shacl.compare` and know whether they are well-typed
    (:func:`ecgraph.validation.shacl.well_typed`) makes both engines judge literals by the same rule."""
    import rdflib

    from ecgraph.terms import to_rdflib

    graph = rdflib.Graph()
    cache: dict = {}

    def conv(term):
        found = cache.get(term)
        if found is None:
            found = cache[term] = _literal(term) if isinstance(term, ox.Literal) else to_rdflib(term)
        return found

    for t in triples:
        graph.add((conv(t.subject), conv(t.predicate), conv(t.object)))
    return graph


@lru_cache(maxsize=1)
def _literal_class():
    import rdflib

    from ecgraph.terms import from_rdflib

    class Literal(rdflib.Literal):
        """An rdflib literal that compares as SHACL says (see :func:`_rdflib_data`); equal as an
        RDF term to the plain rdflib literal (sh:in, sh:hasValue, sh:equals are unchanged)."""

        __slots__ = ()

        def _compare(self, other):
            if not isinstance(other, rdflib.Literal):
                return None
            return shacl.compare(from_rdflib(self), from_rdflib(other))

        def eq(self, other):
            found = self._compare(other)
            if found is None:
                raise TypeError(f"{self!s} and {other!s} cannot be compared")
            return found == 0

        def __lt__(self, other):
            found = self._compare(other)
            return found is not None and found < 0

        def __le__(self, other):
            found = self._compare(other)
            return found is not None and found <= 0

        def __gt__(self, other):
            found = self._compare(other)
            return found is not None and found > 0

        def __ge__(self, other):
            found = self._compare(other)
            return found is not None and found >= 0

        __hash__ = rdflib.Literal.__hash__
        __eq__ = rdflib.Literal.__eq__

    return Literal


def _literal(term: ox.Literal):
    import rdflib

    cls = _literal_class()
    if term.language:
        return cls(term.value, lang=term.language)
    if term.datatype.value == "http://www.w3.org/2001/XMLSchema#string":
        return cls(term.value)
    if shacl.well_typed(term):
        return cls(term.value, datatype=rdflib.URIRef(term.datatype.value), normalize=False)
    literal = cls(term.value)  # built without its datatype: rdflib would read it leniently or log
    literal._datatype = rdflib.URIRef(term.datatype.value)
    literal._value = None
    literal._ill_typed = True
    return literal


class _QuietIllTyped(logging.Filter):
    """rdflib logs a traceback for every ill-typed literal it meets; ecgraph reports them itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal lexical form")


logging.getLogger("rdflib.term").addFilter(_QuietIllTyped())


def _pyshacl_findings(triples: list[ox.Triple], shapes, compiled: shacl.ShapesGraph) -> list[shacl.Finding]:
    """Run pyshacl (the reference) and read its report graph back as findings."""
    import pyshacl
    import rdflib
    from rdflib.namespace import RDF, SH

    from ecgraph.terms import from_rdflib

    data = _rdflib_data(triples)
    try:
        _, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=False, inplace=True,
                                        abort_on_first=False, allow_infos=True, allow_warnings=True,
                                        meta_shacl=False, js=False)
    except (TypeError, ValueError, ArithmeticError, RuntimeError) as exc:
        # pyshacl raises where SHACL wants a result on some inputs (a blank node compared with
        # sh:lessThan): a fact about this document and this engine, not a fault of the node
        from ecgraph.publish.ingest import IngestError

        raise IngestError(422, f"the pyshacl reference engine cannot evaluate this document "
                               f"({type(exc).__name__}: {exc}); the default engine (fast) can") from None
    out = []
    top = report.value(predicate=RDF.type, object=SH.ValidationReport)
    for node in report.objects(top, SH.result):  # not the nested sh:detail results of sh:node
        path = report.value(node, SH.resultPath)
        value = report.value(node, SH.value)
        component = report.value(node, SH.sourceConstraintComponent)
        shape = from_rdflib(report.value(node, SH.sourceShape))
        if isinstance(path, rdflib.URIRef):
            path = from_rdflib(path)
        elif path is not None:  # a complex path is copied into the report: it is the shape's own
            path = compiled.value(shape, shacl.SH_PATH)
        value = from_rdflib(value) if value is not None else None
        focus = from_rdflib(report.value(node, SH.focusNode))
        out.append(shacl.Finding(
            focus=focus,
            path=path,
            value=value,
            shape=shape,
            component=str(component).rsplit("#", 1)[-1],
            severity=from_rdflib(report.value(node, SH.resultSeverity)),
        ))
    return out


# --- rendering ----------------------------------------------------------------------------------

def _result(f: shacl.Finding, shapes: shacl.ShapesGraph, words: messages.Messages) -> Result:
    path = f.path
    shape = f.shape
    path_text = render_path(shapes, path) if path is not None else None
    rule = shape_message(shapes, shape, lang=words.lang) or ""
    lead = words.lead(f, path_text)
    text = lead or rule or _COMPONENT_TEXT.get(f.component, "constraint not met")
    if f.value is not None and f.value != f.focus:  # a node shape's value is its focus: nothing to add
        shown = messages.describe(f.value, words.data)
        if shown not in text:  # the value once: the lead may have named it already
            text = f"{text} ({messages.word('found', words.lang)} {shown})"
    return Result(
        severity=f.severity.value.rsplit("#", 1)[-1],  # type: ignore[attr-defined]
        shape=shape.value if isinstance(shape, ox.NamedNode) else str(shape),
        shape_label=shape_label(shapes, shape, words.lang),
        focus=render(f.focus),
        path=path_text,
        value=render(f.value) if f.value is not None else None,
        message=text,
        component=f.component,
        docs=shape_docs_url(shape.value) if isinstance(shape, ox.NamedNode) else "",
        focus_nt=str(f.focus),
        path_nt=str(path) if isinstance(path, ox.NamedNode) else None,
        value_nt=str(f.value) if f.value is not None else None,
        rule=rule,
    )


def shape_docs_url(shape: str, base: str | None = None) -> str:
    """Where a shape is documented: a node's /shapes page when a node renders the report, else
    the shape's own IRI (which the standard's site resolves to the same documentation)."""
    if base is None:
        return shape
    return f"{base.rstrip('/')}/shapes#{shape_anchor(shape)}"


def shape_anchor(shape: str) -> str:
    profile = "recommended" if shape.startswith(standard.SHAPES_NS["recommended"]) else "core"
    return f"{profile}-{shape.rsplit('#', 1)[-1]}"


def shape_label(shapes: shacl.ShapesGraph, shape, lang: str = "en") -> str:
    found = _worded(shapes.values(shape, RDFS_LABEL), lang)
    if found:
        return found
    return shape.value.rsplit("#", 1)[-1] if isinstance(shape, ox.NamedNode) else str(shape)


def shape_message(shapes: shacl.ShapesGraph, shape, seen=None, lang: str = "en") -> str | None:
    found = _worded(shapes.values(shape, SH_MESSAGE), lang)
    if found:
        return found
    # A property shape without a message of its own speaks through the node shape using it.
    seen = seen or set()
    seen.add(shape)
    for parent, props in shapes.out.items():
        if shape in props.get(shacl.SH_PROPERTY, ()) and parent not in seen:
            found = shape_message(shapes, parent, seen, lang)
            if found:
                return found
    return None


def _worded(literals: list, lang: str) -> str | None:
    """A shape's label or message in ``lang``. An older release's shapes were published with English
    only; where its English sentence is word for word one of the current release's, that
    sentence's translation is used (the rule is the same), else the English stays."""
    found = in_language(literals, lang)
    if found and lang != "en" and not any(isinstance(t, ox.Literal) and t.language == lang for t in literals):
        return _current_translations().get(found, {}).get(lang, found)
    return found


@lru_cache(maxsize=1)
def _current_translations() -> dict[str, dict[str, str]]:
    """Each English label and message of the current release's shapes, with its other languages."""
    by_term: dict[tuple, dict[str, str]] = {}
    for profile in standard.PROFILES:
        for quad in ox.parse(path=str(standard.shapes_file(profile)), format=ox.RdfFormat.TURTLE):
            if quad.predicate in (SH_MESSAGE, RDFS_LABEL) and isinstance(quad.object, ox.Literal) and \
                    quad.object.language:
                by_term.setdefault((quad.subject, quad.predicate), {})[quad.object.language] = quad.object.value
    out: dict[str, dict[str, str]] = {}
    for languages in by_term.values():
        if "en" in languages:
            out.setdefault(languages["en"], {}).update(languages)
    return out


_COMPONENT_TEXT = {
    "MinCountConstraintComponent": "too few values",
    "MaxCountConstraintComponent": "too many values",
    "DatatypeConstraintComponent": "wrong datatype",
    "ClassConstraintComponent": "value is not of the expected class",
    "InConstraintComponent": "value is not in the allowed list",
    "PatternConstraintComponent": "value does not match the expected pattern",
    "MinInclusiveConstraintComponent": "value is below the minimum",
    "MaxInclusiveConstraintComponent": "value is above the maximum",
    "MinExclusiveConstraintComponent": "value is not above the minimum",
    "MaxExclusiveConstraintComponent": "value is not below the maximum",
    "NodeKindConstraintComponent": "wrong kind of node",
    "LessThanOrEqualsConstraintComponent": "value is after the value it must not exceed",
    "LessThanConstraintComponent": "value is not before the value it must precede",
    "OrConstraintComponent": "value matches none of the allowed alternatives",
    "NodeConstraintComponent": "value does not conform to the expected shape",
    "HasValueConstraintComponent": "required value missing",
    "QualifiedMinCountConstraintComponent": "too few values of the required kind",
    "ClosedConstraintComponent": "property not allowed here",
}

"""Conformance of a twin with the standard's SHACL profiles, and reports a vendor can act on.

One implementation behind every entrance (the publishing pipeline, ``ecgraph validate``,
``POST /api/validate`` and the ``/validate`` page), so the same input gets the same report
everywhere.

What is validated: the twin's own triples plus the ontology's ``rdfs:subClassOf`` axioms (so that
``sh:class`` and ``sh:targetClass`` see subclasses, as SHACL defines them), and nothing else. No
inference runs first: a domain or range inference could otherwise "repair" a missing type that
the profile exists to catch.

Messages come from our shapes, not from pyshacl: pyshacl keeps ``{$this}`` templates literally and
shows Python reprs in its core-constraint messages. Each result names the shape (with its label and
documentation link), the focus node, the path, the value found and what was expected.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Iterable

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH

from . import standard

VALIDATOR_NAME = "ecgraph"
PROFILE_CHOICES = ("core", "recommended", "all")
SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}
DOCS_BASE = "https://w3id.org/ecgraph/docs/shapes"


def _version() -> str:
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
    focus: str
    path: str | None
    value: str | None
    message: str
    component: str
    docs: str

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
        """One row per shape and message with its count (the ITB-style aggregated view)."""
        rows: dict[tuple, dict] = {}
        for r in self.results:
            key = (r.severity, r.shape, r.message)
            row = rows.get(key)
            if row is None:
                rows[key] = row = {"severity": r.severity, "shape": r.shape, "shape_label": r.shape_label,
                                   "message": r.message, "docs": r.docs, "count": 0}
            row["count"] += 1
        return sorted(rows.values(), key=lambda g: (SEVERITY_ORDER.get(g["severity"], 9), g["shape"], g["message"]))

    def to_dict(self, max_results: int | None = None) -> dict:
        shown = self.results if max_results is None else self.results[:max_results]
        return {
            "conforms": self.conforms,
            "summary": {
                "profile": self.profile,
                "profile_version": self.profile_version,
                "shapes_hash": self.shapes_hash,
                "validator": self.validator,
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

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        s = data["summary"]
        return cls(conforms=data["conforms"], profile=s["profile"], profile_version=s["profile_version"],
                   shapes_hash=s["shapes_hash"], validator=s["validator"], input_hash=s["input_hash"],
                   triples=s["triples"], elapsed=s["elapsed_seconds"],
                   results=[Result(**r) for r in data["results"]])


class Profiles:
    """The shapes of each profile, parsed once, and the schema axioms validation needs."""

    def __init__(self):
        self._lock = threading.Lock()
        self._shapes: dict[str, rdflib.Graph] = {}
        self._hashes: dict[str, str] = {}
        self._subclass_axioms: list | None = None

    def shapes(self, profile: str) -> rdflib.Graph:
        if profile not in PROFILE_CHOICES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILE_CHOICES)}")
        with self._lock:
            graph = self._shapes.get(profile)
            if graph is None:
                graph = rdflib.Graph()
                digest = hashlib.sha256()
                for name in self._files(profile):
                    path = standard.shapes_file(name)
                    content = path.read_bytes()
                    digest.update(content)
                    graph.parse(data=content, format="turtle", publicID=path.as_uri())
                self._shapes[profile] = graph
                self._hashes[profile] = "sha256:" + digest.hexdigest()
            return graph

    def shapes_hash(self, profile: str) -> str:
        self.shapes(profile)
        return self._hashes[profile]

    @staticmethod
    def _files(profile: str) -> tuple[str, ...]:
        return ("core", "recommended") if profile == "all" else (profile,)

    def profile_version(self, profile: str) -> str:
        names = self._files(profile)
        return " + ".join(standard.profile_version_iri(n) for n in names)

    def subclass_axioms(self) -> list:
        with self._lock:
            if self._subclass_axioms is None:
                ontology = rdflib.Graph()
                ontology.parse(standard.ontology_file(), format="turtle")
                self._subclass_axioms = list(ontology.triples((None, RDFS.subClassOf, None)))
            return self._subclass_axioms


@lru_cache(maxsize=1)
def default_profiles() -> Profiles:
    return Profiles()


def validation_graph(data: rdflib.Graph, profiles: Profiles | None = None) -> rdflib.Graph:
    """Add the ontology's subclass axioms to ``data`` (in place) and return it."""
    profiles = profiles or default_profiles()
    add = data.add
    for triple in profiles.subclass_axioms():
        add(triple)
    return data


def validate(data: rdflib.Graph, profile: str = "core", *, profiles: Profiles | None = None,
             input_hash: str = "", triples: int | None = None) -> Report:
    """Validate ``data`` (an rdflib Graph that this call may extend in place) against a profile."""
    import pyshacl

    profiles = profiles or default_profiles()
    shapes = profiles.shapes(profile)
    count = len(data) if triples is None else triples
    graph = validation_graph(data, profiles)
    started = time.perf_counter()
    _, report_graph, _ = pyshacl.validate(
        graph, shacl_graph=shapes, inference="none", advanced=False, inplace=True,
        abort_on_first=False, allow_infos=True, allow_warnings=True, meta_shacl=False, js=False)
    elapsed = time.perf_counter() - started
    results = sorted(_results(report_graph, shapes, graph), key=Result.sort_key)
    return Report(
        conforms=not any(r.severity == "Violation" for r in results),
        profile=profile,
        profile_version=profiles.profile_version(profile),
        shapes_hash=profiles.shapes_hash(profile),
        validator=f"{VALIDATOR_NAME} {_version()} (pyshacl {pyshacl.__version__})",
        input_hash=input_hash,
        triples=count,
        elapsed=elapsed,
        results=results,
    )


# --- turning pyshacl's report graph into results ----------------------------------------------

def _results(report: rdflib.Graph, shapes: rdflib.Graph, data: rdflib.Graph) -> Iterable[Result]:
    nm = shapes.namespace_manager
    for node in report.subjects(RDF.type, SH.ValidationResult):
        severity_iri = report.value(node, SH.resultSeverity)
        severity = str(severity_iri).rsplit("#", 1)[-1] if severity_iri else "Violation"
        shape = report.value(node, SH.sourceShape)
        focus = report.value(node, SH.focusNode)
        path = report.value(node, SH.resultPath)
        value = report.value(node, SH.value)
        component = report.value(node, SH.sourceConstraintComponent)
        component_name = str(component).rsplit("#", 1)[-1] if component else ""
        message = _message(shapes, shape, focus, path, value, component_name, nm, report, node)
        yield Result(
            severity=severity,
            shape=str(shape) if shape is not None else "",
            shape_label=_label(shapes, shape),
            focus=_render(focus, nm),
            path=_render_path(report, path, nm) if path is not None else None,
            value=_render(value, nm) if value is not None else None,
            message=message,
            component=component_name,
            docs=shape_docs_url(str(shape)) if shape is not None else "",
        )


def shape_docs_url(shape: str) -> str:
    fragment = shape.rsplit("#", 1)[-1]
    profile = "recommended" if shape.startswith(standard.SHAPES_NS["recommended"]) else "core"
    return f"{DOCS_BASE}#{profile}-{fragment}"


def _label(shapes: rdflib.Graph, shape) -> str:
    if shape is None:
        return ""
    labels = list(shapes.objects(shape, RDFS.label))
    for label in labels:
        if getattr(label, "language", None) in (None, "en"):
            return str(label)
    return str(labels[0]) if labels else str(shape).rsplit("#", 1)[-1]


def _shape_message(shapes: rdflib.Graph, shape) -> str | None:
    if shape is None:
        return None
    messages = list(shapes.objects(shape, SH.message))
    for m in messages:
        if getattr(m, "language", None) in (None, "en"):
            return str(m)
    if messages:
        return str(messages[0])
    # A property shape without a message of its own speaks through the node shape using it.
    for parent in shapes.subjects(SH.property, shape):
        found = _shape_message(shapes, parent)
        if found:
            return found
    return None


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
    "MinLengthConstraintComponent": "value is too short",
    "MaxLengthConstraintComponent": "value is too long",
    "LanguageInConstraintComponent": "language tag not allowed",
    "UniqueLangConstraintComponent": "more than one value for the same language",
    "QualifiedMinCountConstraintComponent": "too few values of the required kind",
    "QualifiedMaxCountConstraintComponent": "too many values of the given kind",
    "ClosedConstraintComponent": "property not allowed here",
}


def _message(shapes, shape, focus, path, value, component, nm, report, node) -> str:
    text = _shape_message(shapes, shape)
    if text is None:
        fallback = next((str(m) for m in report.objects(node, SH.resultMessage)), "")
        text = _COMPONENT_TEXT.get(component) or fallback or "constraint not met"
    if "{" in text:  # SHACL message templates, which pyshacl leaves as written
        text = (text.replace("{$this}", _render(focus, nm) if focus is not None else "")
                .replace("{?this}", _render(focus, nm) if focus is not None else "")
                .replace("{$value}", _render(value, nm) if value is not None else "")
                .replace("{?value}", _render(value, nm) if value is not None else "")
                .replace("{$path}", _render(path, nm) if isinstance(path, rdflib.URIRef) else "")
                .replace("{?path}", _render(path, nm) if isinstance(path, rdflib.URIRef) else ""))
    if value is not None and component not in ("ClosedConstraintComponent",):
        text = f"{text} (found {_render(value, nm)})"
    return text


def _render(term, nm) -> str:
    if term is None:
        return ""
    if isinstance(term, rdflib.Literal):
        lexical = str(term).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        if term.language:
            return f'"{lexical}"@{term.language}'
        if term.datatype is not None:
            return f'"{lexical}"^^{_render(term.datatype, nm)}'
        return f'"{lexical}"'
    if isinstance(term, rdflib.BNode):
        return f"_:{term}"
    try:
        return term.n3(nm)
    except Exception:
        return f"<{term}>"


def _render_path(report: rdflib.Graph, path, nm) -> str:
    if isinstance(path, rdflib.URIRef):
        return _render(path, nm)
    inverse = report.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _render_path(report, inverse, nm)
    items = list(Collection(report, path)) if report.value(path, RDF.first) else []
    if items:
        return "/".join(_render_path(report, i, nm) for i in items)
    for key, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = report.value(path, key)
        if inner is not None:
            return f"({_render_path(report, inner, nm)}){suffix}"
    alternatives = report.value(path, SH.alternativePath)
    if alternatives is not None:
        return "|".join(_render_path(report, i, nm) for i in Collection(report, alternatives))
    return _render(path, nm)


"""Shared helpers for the tests of the standard (ontology, vocabularies, shapes, demo network, kit).

Everything expensive is computed once per test session (``functools.lru_cache``), so the test files
can share it without a conftest fixture. Validation follows the procedure the standard documents
for vendors (shapes/core.ttl): the data graph is the twin plus every ``rdfs:subClassOf`` triple of
the ontology, and pyshacl runs with ``inference="none"`` and ``advanced=False``. Files are read
with the node's own ingestion (``ecgraph.publish.ingest``), which resolves the published JSON-LD context
to the local file and never fetches anything.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS, XSD

from ecgraph import standard
from ecgraph.publish import ingest
from ecgraph.terms import from_rdflib, to_rdflib_graph

EC = rdflib.Namespace(standard.EC)
QUDT = rdflib.Namespace("http://qudt.org/schema/qudt/")
UNIT = rdflib.Namespace("http://qudt.org/vocab/unit/")
SCHEMA = rdflib.Namespace("https://schema.org/")
DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")
PROF = rdflib.Namespace("http://www.w3.org/ns/dx/prof/")
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = rdflib.Namespace("http://www.w3.org/ns/shacl-test#")

CORE_NS = standard.SHAPES_NS["core"]
RECOMMENDED_NS = standard.SHAPES_NS["recommended"]

#: Namespaces whose terms need no declaration in the ontology (the languages we write in).
BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD), str(SH))

ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = ROOT / "docs" / "queries"


# --- reading files ----------------------------------------------------------------------------

def parse_file(path: Path) -> rdflib.Graph:
    """A Turtle or JSON-LD file as an rdflib Graph, read the way the node reads uploads."""
    parsed = ingest.parse(path.read_bytes(), filename=path.name, base_iri=path.as_uri())
    return to_rdflib_graph(parsed.triples)


def parse_triples(path: Path) -> list[ox.Triple]:
    return ingest.parse(path.read_bytes(), filename=path.name, base_iri=path.as_uri()).triples


@lru_cache(maxsize=1)
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(standard.ontology_file(), format="turtle")


@lru_cache(maxsize=1)
def vocabularies() -> rdflib.Graph:
    return rdflib.Graph().parse(standard.vocabularies_file(), format="turtle")


@lru_cache(maxsize=1)
def standard_graph() -> rdflib.Graph:
    """Ontology and vocabularies together (the schemes' members are declared across both)."""
    graph = rdflib.Graph()
    graph += ontology()
    graph += vocabularies()
    return graph


@cache
def shapes(name: str) -> rdflib.Graph:
    path = standard.shapes_file(name)
    return rdflib.Graph().parse(path, format="turtle", publicID=path.as_uri())


@cache
def profile_shapes(profile: str) -> rdflib.Graph:
    """The shapes graph of a profile: recommended is a profile of core, so it includes core."""
    graph = rdflib.Graph()
    graph += shapes("core")
    if profile == "recommended":
        graph += shapes("recommended")
    elif profile != "core":
        raise ValueError(profile)
    return graph


@lru_cache(maxsize=1)
def local_context() -> dict:
    return json.loads(standard.context_file().read_text(encoding="utf-8"))["@context"]


# --- validation (the documented reference procedure) -------------------------------------------

@lru_cache(maxsize=1)
def subclass_axioms() -> tuple:
    return tuple(ontology().triples((None, RDFS.subClassOf, None)))


def validation_graph(data: rdflib.Graph) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph += data
    for triple in subclass_axioms():
        graph.add(triple)
    return graph


def shacl(data: rdflib.Graph, profile: str = "core", version: str | None = None,
          problems=()) -> tuple[bool, set[tuple[str, str]], list[dict]]:
    """Validate like the standard says a vendor should: SHACL Core on the twin plus the ontology's
    subclass axioms (here with pyshacl, handed literals as SHACL reads them: see
    ecgraph.validation.validate._rdflib_data), no inference, plus the checks beside the shapes
    (ecgraph.validation.rules). Returns (sh:conforms, {(source shape, severity)}, results)."""
    from ecgraph.validation import rules as checks
    from ecgraph.validation import shacl as engine
    from ecgraph.validation.validate import default_profiles, findings

    triples = [ox.Triple(*(from_rdflib(x) for x in triple)) for triple in data]
    version = version or standard.judging_version(triples)
    name = {"core": "core", "recommended": "all"}[profile]
    profiles = default_profiles()
    graph = triples + profiles.subclass_axioms(version)
    shapes = profiles.compiled(name, version)
    found = findings("pyshacl", graph, shapes, profiles.rdflib_shapes(name, version))
    found += checks.run(shapes, engine.DataIndex(graph), version=version, problems=problems)
    results = [{"shape": f.shape.value, "severity": f.severity.value.rsplit("#", 1)[-1],
                "focus": f.focus.value if isinstance(f.focus, ox.NamedNode) else None,
                "value": f.value, "component": f.component} for f in found]
    return not results, {(r["shape"], r["severity"]) for r in results}, results


def raw_pyshacl(data: rdflib.Graph, profile: str = "core") -> tuple[bool, set[tuple[str, str]]]:
    """pyshacl exactly as the standard's files describe it (no help with literals, no checks beside
    the shapes): what a vendor with pyshacl alone gets."""
    import pyshacl

    conforms, report, _ = pyshacl.validate(
        validation_graph(data), shacl_graph=profile_shapes(profile), inference="none", advanced=False,
        allow_warnings=False, meta_shacl=False)
    top = report.value(predicate=RDF.type, object=SH.ValidationReport)
    found = {(str(report.value(n, SH.sourceShape)), str(report.value(n, SH.resultSeverity)).rsplit("#", 1)[-1])
             for n in report.objects(top, SH.result)}
    return bool(conforms), found


def node_validate(path: Path, profile: str = "core"):
    """The node's own validator (ecgraph.validation.validate) on a file, for cross-checking the reference
    procedure. The node names core + recommended together "all"."""
    from ecgraph.validation.validate import validate

    parsed = ingest.parse(path.read_bytes(), filename=path.name, base_iri=path.as_uri())
    return validate(parsed.triples, {"core": "core", "recommended": "all"}[profile], problems=parsed.problems)


# --- the demo network -------------------------------------------------------------------------

def demo_files() -> list[Path]:
    return sorted(p for p in standard.demo_twins_dir().iterdir() if p.suffix in (".ttl", ".jsonld"))


@lru_cache(maxsize=1)
def demo_twins() -> dict[str, rdflib.Graph]:
    return {path.stem: parse_file(path) for path in demo_files()}


@lru_cache(maxsize=1)
def demo_union() -> rdflib.Graph:
    graph = rdflib.Graph()
    for twin in demo_twins().values():
        graph += twin
    return graph


@lru_cache(maxsize=1)
def owlrl_closure() -> rdflib.Graph:
    """OWL-RL closure of ontology + vocabularies + every demo twin (the slow part: once)."""
    import owlrl

    graph = rdflib.Graph()
    graph += standard_graph()
    graph += demo_union()
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    return graph


def demo_store(*, inferred: bool = False) -> ox.Store:
    """The demo network in an in-memory store, one named graph per twin, the standard in graphs of
    its own, queried with the union of all graphs as default graph. With ``inferred``, what the
    node's reasoner (ecgraph.publish.reason) derives for each twin is added beside it."""
    store = ox.Store()
    quads = []
    for path in demo_files():
        graph = ox.NamedNode(standard.twin_graph(path.stem))
        triples = parse_triples(path)
        quads.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)
        if inferred:
            inferred_graph = ox.NamedNode(standard.inferred_graph(path.stem))
            quads.extend(ox.Quad(t.subject, t.predicate, t.object, inferred_graph)
                         for t in node_reasoner().infer(triples))
    for name, path in ((standard.ONTOLOGY_GRAPH, standard.ontology_file()),
                       (standard.VOCABULARY_GRAPH, standard.vocabularies_file())):
        for triple in ox.parse(path.read_bytes(), format=ox.RdfFormat.TURTLE):
            quads.append(ox.Quad(triple.subject, triple.predicate, triple.object, ox.NamedNode(name)))
    if inferred:
        for triple in node_reasoner().schema_closure():
            quads.append(ox.Quad(triple.subject, triple.predicate, triple.object,
                                 ox.NamedNode(standard.ONTOLOGY_GRAPH)))
    store.extend(quads)
    return store


@lru_cache(maxsize=1)
def node_reasoner():
    from ecgraph.publish.reason import Reasoner

    return Reasoner(ox.parse(standard.ontology_file().read_bytes(), format=ox.RdfFormat.TURTLE))


def query_file(name: str) -> str:
    return (QUERIES_DIR / f"{name}.rq").read_text(encoding="utf-8")


def run_select(store: ox.Store, query: str) -> list[dict]:
    solutions = store.query(query, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [{name: (sol[name].value if sol[name] is not None else None) for name in names} for sol in solutions]


# --- reading the shapes -------------------------------------------------------------------------

SHAPE_PREDICATES = (SH.property, SH.node, SH.qualifiedValueShape, SH["not"])


def all_shapes(graph: rdflib.Graph) -> set:
    """Every node that is a shape: typed as one, with a target, or used where a shape is expected."""
    found = set(graph.subjects(RDF.type, SH.NodeShape)) | set(graph.subjects(RDF.type, SH.PropertyShape))
    for target in (SH.targetClass, SH.targetNode, SH.targetObjectsOf, SH.targetSubjectsOf, SH.path):
        found |= set(graph.subjects(target, None))
    for pred in SHAPE_PREDICATES:
        found |= set(graph.objects(None, pred))
    for pred in (SH["or"], SH["and"], SH.xone):
        for head in graph.objects(None, pred):
            found |= set(Collection(graph, head))
    return found


def reporting_shapes(graph: rdflib.Graph) -> set:
    """Shapes whose failures are reported under their own IRI: the node shapes with targets and
    the property shapes they hold directly (shapes referenced through sh:or, sh:not, sh:node or
    sh:qualifiedValueShape only contribute to their referrer's result)."""
    targeted = set()
    for target in (SH.targetClass, SH.targetNode, SH.targetObjectsOf, SH.targetSubjectsOf):
        targeted |= set(graph.subjects(target, None))
    out = set(targeted)
    for shape in targeted:
        out |= set(graph.objects(shape, SH.property))
    return out


def in_lists(graph: rdflib.Graph) -> dict:
    """shape -> list of the sh:in values."""
    return {shape: list(Collection(graph, head)) for shape, head in graph.subject_objects(SH["in"])}


def scheme_members(scheme: rdflib.URIRef) -> set:
    g = standard_graph()
    if (scheme, RDF.type, SKOS.ConceptScheme) in g:
        return set(g.subjects(SKOS.inScheme, scheme))
    if (scheme, RDF.type, SKOS.Collection) in g:
        return set(g.objects(scheme, SKOS.member))
    raise AssertionError(f"{scheme} is neither a concept scheme nor a collection")


def iri_in_namespaces(term, namespaces) -> bool:
    return isinstance(term, rdflib.URIRef) and any(str(term).startswith(ns) for ns in namespaces)



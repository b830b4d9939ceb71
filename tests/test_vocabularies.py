"""Every external IRI the standard uses exists in its owner's vocabulary and is used as its owner
declares it, checked against pinned copies of the owners' files (tests/vocabularies/, see its
README): the ontology's local declarations, the code lists and units, the JSON-LD context, the
shapes, the kit cases and the demo twins."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

import pyoxigraph as ox

from ecgraph import standard
from tests import standard_support as s

HERE = Path(__file__).resolve().parent / "vocabularies"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SCHEMA = "https://schema.org/"
QUDT = "http://qudt.org/schema/qudt/"

#: namespace -> pinned index
PINNED = {
    "https://schema.org/": "schemaorg", "http://www.w3.org/ns/dcat#": "dcat", "http://purl.org/dc/terms/": "dcterms",
    "http://www.w3.org/ns/org#": "org", "http://www.w3.org/ns/prov#": "prov",
    "http://www.w3.org/2006/vcard/ns#": "vcard",
    "http://www.opengis.net/ont/geosparql#": "geo", "http://www.w3.org/2004/02/skos/core#": "skos",
    "http://rdfs.org/ns/void#": "void", "http://www.w3.org/ns/dqv#": "dqv", "http://www.w3.org/ns/earl#": "earl",
    "http://www.w3.org/ns/sosa/": "sosa", QUDT: "qudt-schema", "http://qudt.org/vocab/unit/": "qudt-units",
    "http://qudt.org/vocab/quantitykind/": "qudt-quantitykinds",
}

#: Vocabularies the standard uses but of which no copy is pinned: their terms cannot be checked here.
NOT_PINNED = {
    "https://saref.etsi.org/core/": "SAREF is published by ETSI (saref.etsi.org), not pinned",
    "https://saref.etsi.org/saref4ener/": "SAREF4ENER, not pinned",
    "https://saref.etsi.org/saref4city/": "SAREF4CITY, not pinned",
    "https://saref.etsi.org/saref4bldg/": "SAREF4BLDG, not pinned",
    "http://www.w3.org/ns/dx/prof/": "W3C PROF (the profile declarations), not pinned",
    "http://spdx.org/rdf/terms#": "SPDX (DCAT 3's checksums), not pinned",
    "http://xmlns.com/foaf/0.1/": "FOAF, not pinned",
}

#: Terms their owner removed that 1.0 twins still use (see the ontology's declaration).
REMOVED = {QUDT + "unit": "removed in QUDT 3 (2025): qudt:hasUnit replaces it; 1.1.0 accepts it with a warning"}


@cache
def index(name: str) -> dict:
    out: dict = {}
    for q in ox.parse(path=str(HERE / f"{name}.nt"), format=ox.RdfFormat.N_TRIPLES):
        out.setdefault(q.subject.value, {}).setdefault(q.predicate.value, set()).add(q.object)
    return out


def owner(iri: str):
    for ns, name in PINNED.items():
        if iri.startswith(ns):
            return index(name).get(iri)
    return None


def vocabulary_of(iri: str) -> str | None:
    for ns in list(PINNED) + list(NOT_PINNED):
        if iri.startswith(ns) and len(iri) > len(ns):
            return ns
    return None


def _iris(triples) -> set[str]:
    out = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode):
                out.add(term.value)
    return out


def _file_triples(path: Path) -> list:
    return [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]


def _context_iris() -> set[str]:
    ctx = json.loads(standard.context_file().read_text())["@context"]
    out = set()

    def expand(value, scope):
        if ":" in value and not value.startswith("http"):
            prefix, local = value.split(":", 1)
            if isinstance(scope.get(prefix), str):
                return scope[prefix] + local
        return value

    for term, definition in ctx.items():
        if term.startswith("@"):
            continue
        iri = definition if isinstance(definition, str) else definition.get("@id", "")
        out.add(expand(iri, ctx))
        if isinstance(definition, dict):
            for kind in (definition.get("@type", ""),):
                out.add(expand(kind, ctx))
            for value in definition.get("@context", {}).values():
                out.add(expand(value if isinstance(value, str) else value.get("@id", ""), ctx))
    return {i for i in out if i.startswith("http")}


@lru_cache(maxsize=1)
def used() -> dict[str, set[str]]:
    """Every external vocabulary IRI the standard's files use, with where."""
    sources = {
        "ontology/ecgraph.ttl": _iris(_file_triples(standard.ontology_file())),
        "ontology/vocabularies.ttl": _iris(_file_triples(standard.vocabularies_file())),
        "ontology/context.jsonld": _context_iris(),
        "shapes/core.ttl": _iris(_file_triples(standard.shapes_file("core"))),
        "shapes/recommended.ttl": _iris(_file_triples(standard.shapes_file("recommended"))),
    }
    for path in sorted((standard.kit_manifest().parent / "cases").iterdir()):
        sources[f"kit/{path.name}"] = _iris(s.parse_triples(path))
    for path in s.demo_files():
        sources[f"data/{path.name}"] = _iris(s.parse_triples(path))
    out: dict[str, set[str]] = {}
    for where, iris in sources.items():
        for iri in iris:
            if vocabulary_of(iri):
                out.setdefault(iri, set()).add(where)
    return out


def test_the_pinned_indexes_are_there_and_full():
    assert len(index("schemaorg")) > 2500
    assert len(index("qudt-units")) > 1500
    assert owner(SCHEMA + "name") is not None and owner(QUDT + "hasUnit") is not None


def test_every_external_iri_exists_in_its_vocabulary():
    missing = {}
    for iri, where in sorted(used().items()):
        ns = vocabulary_of(iri)
        if ns in NOT_PINNED:
            continue
        if iri in REMOVED:
            assert owner(iri) is None, f"{iri} is back in its vocabulary: take it off REMOVED"
            continue
        if owner(iri) is None:
            missing[iri] = sorted(where)[:3]
    assert not missing, f"not in the owner's vocabulary: {missing}"


def test_unpinned_vocabularies_are_the_known_few():
    """What cannot be checked is listed, with why; nothing else slips through."""
    unchecked = {vocabulary_of(iri) for iri in used() if vocabulary_of(iri) in NOT_PINNED}
    assert unchecked <= set(NOT_PINNED)


def test_no_term_the_owner_deprecated_is_used():
    true = ox.Literal("true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))
    deprecated = []
    for iri in used():
        decl = owner(iri) or {}
        if true in decl.get(OWL + "deprecated", set()) or decl.get(SCHEMA + "supersededBy"):
            deprecated.append(iri)
    assert not deprecated, deprecated


_DATATYPES = {SCHEMA + x for x in ("Text", "Date", "DateTime", "Number", "Integer", "Boolean", "Float", "Time",
                                    "URL", "CssSelectorType", "XPathType", "PronounceableText")}


def _compatible(ours: str, theirs: dict) -> bool:
    types = {t.value for t in theirs.get(RDF + "type", set())}
    if ours == OWL + "Class":
        return bool(types & {OWL + "Class", RDFS + "Class"})
    if ours == RDFS + "Datatype":
        return RDFS + "Datatype" in types
    if ours == OWL + "AnnotationProperty":
        return OWL + "AnnotationProperty" in types
    # what the owner says its values are: schema.org's rangeIncludes, or rdfs:range (Dublin Core)
    ranges = {r.value for r in theirs.get(SCHEMA + "rangeIncludes", set()) | theirs.get(RDFS + "range", set())}
    literal = {r for r in ranges if r in _DATATYPES or r == RDFS + "Literal"
               or r.startswith("http://www.w3.org/2001/XMLSchema#")}
    plain = RDF + "Property" in types and not types & {OWL + "ObjectProperty", OWL + "DatatypeProperty",
                                                         OWL + "AnnotationProperty"}
    if ours == OWL + "ObjectProperty":
        # (a schema.org URL is written as an IRI in RDF)
        return OWL + "ObjectProperty" in types or plain and (not ranges or bool(ranges - literal)
                                                             or SCHEMA + "URL" in ranges)
    if ours == OWL + "DatatypeProperty":
        return OWL + "DatatypeProperty" in types or plain and (not ranges or bool(literal))
    return False


def test_local_declarations_are_what_the_owners_declare():
    """An external term declared as an object property must be one for its owner (skos:closeMatch
    is an object property in SKOS, not an annotation; qudt:numericValue an annotation property in
    QUDT 3, not a datatype property)."""
    g = s.ontology()
    from rdflib.namespace import OWL as O
    from rdflib.namespace import RDF as R
    from rdflib.namespace import RDFS as RS

    wrong = []
    for kind in (O.Class, O.ObjectProperty, O.DatatypeProperty, O.AnnotationProperty, RS.Datatype):
        for term in g.subjects(R.type, kind):
            iri = str(term)
            if vocabulary_of(iri) in PINNED and iri not in REMOVED:
                theirs = owner(iri)
                assert theirs is not None, iri
                if not _compatible(str(kind), theirs):
                    their_types = sorted(t.value for t in theirs.get(RDF + "type", ()))
                    wrong.append((iri, str(kind).rsplit("#")[-1], their_types))
    assert not wrong, "\n".join(map(str, wrong))


def test_subclass_axioms_between_external_terms_are_the_owners():
    g = s.ontology()
    from rdflib.namespace import RDFS as RS

    for a, b in g.subject_objects(RS.subClassOf):
        if vocabulary_of(str(a)) in PINNED:
            assert ox.NamedNode(str(b)) in owner(str(a)).get(RDFS + "subClassOf", set()), (str(a), str(b))


def test_unit_conversions_are_qudts():
    from rdflib.namespace import SKOS

    g = s.standard_graph()
    checked = 0
    for unit in {u for coll in g.subjects(None, SKOS.Collection) for u in g.objects(coll, SKOS.member)
                 if str(u).startswith("http://qudt.org/vocab/unit/")}:
        ours = Decimal(str(g.value(unit, s.QUDT.conversionMultiplier)))
        theirs = {Decimal(v.value.replace("E", "e")) for v in owner(str(unit))[QUDT + "conversionMultiplier"]}
        assert ours in theirs, (str(unit), ours, theirs)
        checked += 1
    assert checked >= 14

"""The ontology and its code lists as sections for ``/ns``: one per class, property and code list,
with the labels and definitions the standard gives in English, French and Dutch. Read once from the
standard's files (they do not change while a node runs)."""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import pyoxigraph as ox

from ecgraph import standard

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"


@lru_cache(maxsize=1)
def triples() -> tuple[ox.Triple, ...]:
    out: list[ox.Triple] = []
    for path in (standard.ontology_file(), standard.vocabularies_file()):
        out.extend(q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    return tuple(out)


@lru_cache(maxsize=1)
def _model() -> dict:
    about: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for t in triples():
        if isinstance(t.subject, ox.NamedNode):
            about[t.subject.value][t.predicate.value].append(t.object)
    return about


def _texts(values: list, lang: str) -> str:
    by_lang: dict[str, str] = {}
    for v in values:
        if isinstance(v, ox.Literal):
            by_lang.setdefault(v.language or "", v.value)
    for key in (lang, "en", ""):
        if by_lang.get(key):
            return by_lang[key]
    return next(iter(by_lang.values()), "")


def _labels(values: list) -> dict[str, str]:
    return {v.language or "": v.value for v in values if isinstance(v, ox.Literal)}


def sections(lang: str) -> dict[str, list[dict]]:
    """Classes, properties and code lists (with their concepts), each with its anchor, labels in
    every language, definition in the reader's, and the IRIs it relates to."""
    about = _model()
    ec = standard.EC

    def entry(iri: str) -> dict:
        props = about[iri]
        return {"iri": iri, "anchor": iri[len(ec):] if iri.startswith(ec) else iri,
                "labels": _labels(props.get(RDFS + "label", []) or props.get(SKOS + "prefLabel", [])),
                "comment": _texts(props.get(SKOS + "definition", []), lang) if lang != "en" and
                props.get(SKOS + "definition") else _texts(props.get(RDFS + "comment", []) or
                                                           props.get(SKOS + "definition", []), lang),
                "superclasses": [v.value for v in props.get(RDFS + "subClassOf", []) if isinstance(v, ox.NamedNode)],
                "domain": [v.value for v in props.get(RDFS + "domain", []) if isinstance(v, ox.NamedNode)],
                "range": [v.value for v in props.get(RDFS + "range", []) if isinstance(v, ox.NamedNode)],
                "notation": _texts(props.get(SKOS + "notation", []), lang)}

    def typed(kind: str) -> list[str]:
        return sorted(i for i, p in about.items() if i.startswith(ec) and
                      any(isinstance(v, ox.NamedNode) and v.value == kind for v in p.get(RDF + "type", [])))

    classes = [entry(i) for i in typed(OWL + "Class")]
    properties = [entry(i) for i in sorted(set(typed(OWL + "ObjectProperty")) | set(typed(OWL + "DatatypeProperty")))]
    schemes = []
    for scheme in typed(SKOS + "ConceptScheme"):
        concepts = sorted(i for i, p in about.items() if i.startswith(ec) and
                          any(isinstance(v, ox.NamedNode) and v.value == scheme for v in p.get(SKOS + "inScheme", [])))
        schemes.append({**entry(scheme), "concepts": [entry(c) for c in concepts]})
    return {"classes": classes, "properties": properties, "schemes": schemes}

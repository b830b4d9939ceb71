"""owlrl as the reference reasoner, restricted to the rules ecgraph's reasoner claims.

Used by the test suite (the node's inferences must equal these on the demo network) and by the
benchmarks (same twin, both reasoners, time and equality). Too slow for the upload path (owlrl
needs ~80 s for 100k triples), which is why :mod:`ecgraph.publish.reason` exists.

owlrl's OWL-RL closure also adds axiomatic triples, ``owl:sameAs`` reflexivity, ``owl:Thing``
types and the schema's own closure; the node materialises none of those per twin (the schema's
closure lives in the ontology's own graph). What remains, the facts about the data's own nodes,
must be exactly what :class:`ecgraph.publish.reason.Reasoner` infers.
"""

from __future__ import annotations

import owlrl
import pyoxigraph as ox
import rdflib

from ecgraph.standard import RDF_TYPE
from ecgraph.terms import to_rdflib

SCHEMA_PREDICATES = {rdflib.RDFS.subClassOf, rdflib.RDFS.subPropertyOf, rdflib.OWL.equivalentClass,
                     rdflib.OWL.equivalentProperty, rdflib.OWL.sameAs, rdflib.RDFS.domain, rdflib.RDFS.range,
                     rdflib.OWL.inverseOf}
SKIP_CLASSES = {rdflib.OWL.Thing, rdflib.RDFS.Resource, rdflib.OWL.NamedIndividual}


def rdflib_triples(triples) -> set:
    return {tuple(to_rdflib(x) for x in (t.subject, t.predicate, t.object)) for t in triples}


def owlrl_entailed(schema, data) -> set:
    graph = rdflib.Graph()
    for t in rdflib_triples(list(schema) + list(data)):
        graph.add(t)
    before = set(graph)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    return set(graph) - before


def restrict(entailed: set, data) -> set:
    """Keep the entailments about the data's own nodes that the claimed rules produce."""
    nodes = {to_rdflib(t.subject) for t in data} | {
        to_rdflib(t.object) for t in data if not isinstance(t.object, ox.Literal) and t.predicate != RDF_TYPE}
    out = set()
    for s, p, o in entailed:
        if s not in nodes or p in SCHEMA_PREDICATES:
            continue
        if p == rdflib.RDF.type and o in SKIP_CLASSES:
            continue
        out.add((s, p, o))
    return out


def reference_from_ntriples(data_ntriples: bytes) -> set:
    """:func:`reference_inferences` of a twin's data (N-Triples) under the standard's schema, the
    way the node's pipeline loads it: picklable in and out, for a pool of processes."""
    from ecgraph.publish.pipeline import load_schema

    data = [q.triple for q in ox.parse(data_ntriples, format=ox.RdfFormat.N_TRIPLES)]
    return reference_inferences(load_schema(), data)


def reference_inferences(schema, data) -> set:
    """owlrl's entailments of ``data`` under ``schema``, restricted to the claimed rules (rdflib
    triples, to compare with :func:`rdflib_triples` of what the node infers)."""
    return restrict(owlrl_entailed(schema, data), data)

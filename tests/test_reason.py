"""The reasoner implements its declared OWL 2 RL rules exactly: owlrl is the reference."""

import pyoxigraph as ox
import pytest

from ecgraph.publish.reason import Reasoner
from tests.reference import owlrl_entailed, rdflib_triples, restrict

ONTOLOGY = """
@prefix : <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
:School rdfs:subClassOf :PublicBody . :PublicBody rdfs:subClassOf :Organisation .
:Org owl:equivalentClass :Organisation .
:hasMember a owl:ObjectProperty ; rdfs:subPropertyOf :involves ; owl:inverseOf :memberOf ;
    rdfs:domain :Community ; owl:propertyChainAxiom ( :hasMembership :member ) .
:hasMembership a owl:ObjectProperty ; owl:inverseOf :community .
:member a owl:ObjectProperty ; rdfs:range :Agent .
:name owl:equivalentProperty :label .
:near a owl:SymmetricProperty, owl:ObjectProperty .
:partOf a owl:TransitiveProperty, owl:ObjectProperty .
:memberOf rdfs:subPropertyOf :relatedTo .
"""

DATA = """
@prefix : <http://example.org/> .
:c1 :hasMembership :m1 . :m1 :member :s1 . :s1 a :School .
:m2 :community :c2 ; :member :h1 .
:c1 :name "One" ; :near :c2 .
:n1 :partOf :n2 . :n2 :partOf :n3 . :n3 :partOf :n4 .
:c2 :hasMember [ a :Org ] .
:x a :Org .
"""

EX = "http://example.org/"


def parse(text):
    return [q.triple for q in ox.parse(text, format=ox.RdfFormat.TURTLE)]


def test_every_rule_matches_owlrl():
    ontology, data = parse(ONTOLOGY), parse(DATA)
    ours = rdflib_triples(Reasoner(ontology).infer(data))
    # rename our blank nodes onto rdflib's (the same labels, since both come from one parse)
    reference = restrict(owlrl_entailed(ontology, data), data)
    assert ours == reference


@pytest.mark.parametrize("triple", [
    (EX + "s1", "type", EX + "PublicBody"),        # cax-sco
    (EX + "s1", "type", EX + "Organisation"),      # cax-sco, transitively
    (EX + "x", "type", EX + "Organisation"),       # cax-eqc
    (EX + "c1", EX + "hasMember", EX + "s1"),      # prp-spo2 (chain)
    (EX + "s1", EX + "memberOf", EX + "c1"),       # prp-inv
    (EX + "s1", EX + "relatedTo", EX + "c1"),      # prp-spo1 after prp-inv
    (EX + "c2", EX + "hasMembership", EX + "m2"),  # prp-inv
    (EX + "c2", EX + "hasMember", EX + "h1"),      # chain through an inverse
    (EX + "c1", "type", EX + "Community"),         # prp-dom
    (EX + "s1", "type", EX + "Agent"),             # prp-rng
    (EX + "c2", EX + "near", EX + "c1"),           # prp-symp
    (EX + "n1", EX + "partOf", EX + "n4"),         # prp-trp
])
def test_named_entailments(triple):
    ontology, data = parse(ONTOLOGY), parse(DATA)
    inferred = {(t.subject.value, t.predicate.value, t.object.value) for t in Reasoner(ontology).infer(data)
                if isinstance(t.subject, ox.NamedNode)}
    s, p, o = triple
    p = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" if p == "type" else p
    assert (s, p, o) in inferred


def test_literal_values_copy_through_equivalent_properties():
    ontology, data = parse(ONTOLOGY), parse(DATA)
    inferred = Reasoner(ontology).infer(data)
    assert ox.Triple(ox.NamedNode(EX + "c1"), ox.NamedNode(EX + "label"), ox.Literal("One")) in inferred


def test_nothing_asserted_is_repeated():
    ontology, data = parse(ONTOLOGY), parse(DATA)
    assert not set(Reasoner(ontology).infer(data)) & set(data)


def test_twin_schema_does_not_change_the_rules():
    ontology = parse(ONTOLOGY)
    data = parse("@prefix : <http://example.org/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> ."
                 ":Cat rdfs:subClassOf :School . :tom a :Cat .")
    inferred = Reasoner(ontology).infer(data)
    assert not any(t.object == ox.NamedNode(EX + "School") for t in inferred)


def test_longer_chains_are_refused_loudly():
    with pytest.raises(ValueError):
        Reasoner(parse("@prefix : <http://example.org/> . @prefix owl: <http://www.w3.org/2002/07/owl#> ."
                       ":p owl:propertyChainAxiom ( :a :b :c ) ."))

"""Materialise what the ontology licenses for one twin, fast enough for the upload path.

owlrl is the reference, but its OWL-RL closure of 100k triples takes ~80 s, so it cannot sit on
the upload path. This reasoner implements a fixed, declared subset of OWL 2 RL, the rules the
standard's ontology actually uses, and nothing else:

==================  =============================================================  ===========
rule (OWL 2 RL)     what it derives                                                ontology term
==================  =============================================================  ===========
cax-sco             x a C, C ⊑ D  ⟹  x a D                                          rdfs:subClassOf
cax-eqc1/2          x a C, C ≡ D  ⟹  x a D (both ways)                              owl:equivalentClass
prp-spo1            x p y, p ⊑ q  ⟹  x q y                                          rdfs:subPropertyOf
prp-eqp1/2          x p y, p ≡ q  ⟹  x q y (both ways)                              owl:equivalentProperty
prp-inv1/2          x p y, p inverse q  ⟹  y q x (both ways)                        owl:inverseOf
prp-symp            x p y, p symmetric  ⟹  y p x                                    owl:SymmetricProperty
prp-trp             x p y, y p z, p transitive  ⟹  x p z                            owl:TransitiveProperty
prp-spo2            x p1 y, y p2 z, (p1 p2) chain of q  ⟹  x q z                    owl:propertyChainAxiom
prp-dom             x p y, p domain C  ⟹  x a C                                     rdfs:domain
prp-rng             x p y, p range C  ⟹  y a C (y not a literal)                    rdfs:range
==================  =============================================================  ===========

The schema (TBox) comes from the standard only: a twin cannot change what a term means for
everyone else, so schema triples inside a twin are kept as data but not used as rules. The result
is the twin's closure minus what it already asserted; the test suite checks that it equals owlrl's
OWL-RL closure restricted to these rules on the demo network.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox

from ecgraph.standard import RDF_FIRST, RDF_NIL, RDF_REST, RDF_TYPE, RDFS_SUBCLASS

RDFS_SUBPROPERTY = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subPropertyOf")
RDFS_DOMAIN = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#domain")
RDFS_RANGE = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#range")
OWL = "http://www.w3.org/2002/07/owl#"
OWL_EQ_CLASS = ox.NamedNode(OWL + "equivalentClass")
OWL_EQ_PROPERTY = ox.NamedNode(OWL + "equivalentProperty")
OWL_INVERSE = ox.NamedNode(OWL + "inverseOf")
OWL_SYMMETRIC = ox.NamedNode(OWL + "SymmetricProperty")
OWL_TRANSITIVE = ox.NamedNode(OWL + "TransitiveProperty")
OWL_CHAIN = ox.NamedNode(OWL + "propertyChainAxiom")

#: Predicates whose triples are schema, not data: the reasoner reads them from the ontology only.
SCHEMA_PREDICATES = frozenset({RDFS_SUBCLASS, RDFS_SUBPROPERTY, RDFS_DOMAIN, RDFS_RANGE, OWL_EQ_CLASS,
                               OWL_EQ_PROPERTY, OWL_INVERSE, OWL_CHAIN})


def _closure(edges: dict) -> dict:
    """Reflexive-transitive closure of a directed graph given as node -> set of successors."""
    closed: dict = {}
    for start in list(edges):
        seen = {start}
        todo = [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        closed[start] = frozenset(seen)
    return closed


class Reasoner:
    """The ontology compiled into lookup tables; :meth:`infer` then runs in time linear in the
    twin (plus the joins that transitive properties and chains need)."""

    def __init__(self, ontology: Iterable[ox.Triple]):
        triples = list(ontology)
        sub_class: dict = defaultdict(set)
        sub_prop: dict = defaultdict(set)
        self.domains: dict = defaultdict(set)
        self.ranges: dict = defaultdict(set)
        inverses: dict = defaultdict(set)
        self.symmetric: set = set()
        self.transitive: set = set()
        lists: dict = {}
        chain_heads: list = []
        for t in triples:
            s, p, o = t.subject, t.predicate, t.object
            if p == RDFS_SUBCLASS:
                sub_class[s].add(o)
            elif p == OWL_EQ_CLASS:
                sub_class[s].add(o)
                sub_class[o].add(s)
            elif p == RDFS_SUBPROPERTY:
                sub_prop[s].add(o)
            elif p == OWL_EQ_PROPERTY:
                sub_prop[s].add(o)
                sub_prop[o].add(s)
            elif p == RDFS_DOMAIN:
                self.domains[s].add(o)
            elif p == RDFS_RANGE:
                self.ranges[s].add(o)
            elif p == OWL_INVERSE:
                inverses[s].add(o)
                inverses[o].add(s)
            elif p == RDF_TYPE and o == OWL_SYMMETRIC:
                self.symmetric.add(s)
            elif p == RDF_TYPE and o == OWL_TRANSITIVE:
                self.transitive.add(s)
            elif p == OWL_CHAIN:
                chain_heads.append((s, o))
            elif p in (RDF_FIRST, RDF_REST):
                lists.setdefault(s, {})[p] = o
        #: class -> every class it entails (itself included)
        self.superclasses = _closure(sub_class)
        #: property -> every property it entails (itself included)
        self.superproperties = _closure(sub_prop)
        self.inverses = {p: frozenset(q) for p, q in inverses.items()}
        #: (first, second) -> properties the two-step chain entails
        self.chains: dict = defaultdict(set)
        for prop, head in chain_heads:
            steps = _read_list(lists, head)
            if len(steps) != 2:
                raise ValueError(f"property chain of {prop} has {len(steps)} steps; this reasoner "
                                 "implements chains of exactly two")
            self.chains[(steps[0], steps[1])].add(prop)
        self.chain_firsts = {first: [(second, props) for (f, second), props in self.chains.items() if f == first]
                             for first, _ in self.chains}
        self.chain_seconds = {second: [(first, props) for (first, s), props in self.chains.items() if s == second]
                              for _, second in self.chains}

    def infer(self, triples: Iterable[ox.Triple]) -> list[ox.Triple]:
        """The triples the ontology entails from ``triples`` that ``triples`` does not state."""
        asserted = set()
        facts: set = set()
        # Indexes for the rules that join two data triples (transitivity, chains).
        by_subject: dict = defaultdict(lambda: defaultdict(set))  # p -> s -> {o}
        by_object: dict = defaultdict(lambda: defaultdict(set))   # p -> o -> {s}
        joined = self.transitive | set(self.chain_firsts) | set(self.chain_seconds)
        queue: list = []

        def add(s, p, o):
            key = (s, p, o)
            if key not in facts:
                facts.add(key)
                queue.append(key)

        for t in triples:
            key = (t.subject, t.predicate, t.object)
            asserted.add(key)
            add(*key)

        superclasses = self.superclasses
        superproperties = self.superproperties
        inverses = self.inverses
        domains = self.domains
        ranges = self.ranges
        symmetric = self.symmetric
        transitive = self.transitive
        chain_firsts = self.chain_firsts
        chain_seconds = self.chain_seconds

        while queue:
            s, p, o = queue.pop()
            if p == RDF_TYPE:
                for c in superclasses.get(o, ()):
                    add(s, RDF_TYPE, c)
                continue
            if p in SCHEMA_PREDICATES:
                continue
            is_resource = not isinstance(o, ox.Literal)
            for q in superproperties.get(p, ()):
                add(s, q, o)
            for c in domains.get(p, ()):
                add(s, RDF_TYPE, c)
            if is_resource:
                for c in ranges.get(p, ()):
                    add(o, RDF_TYPE, c)
                for q in inverses.get(p, ()):
                    add(o, q, s)
                if p in symmetric:
                    add(o, p, s)
            if p in joined and is_resource:
                by_subject[p][s].add(o)
                by_object[p][o].add(s)
                if p in transitive:
                    for z in list(by_subject[p].get(o, ())):
                        add(s, p, z)
                    for x in list(by_object[p].get(s, ())):
                        add(x, p, o)
                for second, props in chain_firsts.get(p, ()):
                    for z in list(by_subject[second].get(o, ())):
                        for q in props:
                            add(s, q, z)
                for first, props in chain_seconds.get(p, ()):
                    for x in list(by_object[first].get(s, ())):
                        for q in props:
                            add(x, q, o)

        return [ox.Triple(s, p, o) for (s, p, o) in facts - asserted if not isinstance(s, ox.Literal)]

    def schema_closure(self) -> list[ox.Triple]:
        """The ontology's own entailed subclass and subproperty links, so that queries over the
        default graph see `ec:School rdfs:subClassOf org:Organization` without a property path."""
        out = []
        for c, supers in self.superclasses.items():
            for d in supers:
                if d != c:
                    out.append(ox.Triple(c, RDFS_SUBCLASS, d))
        for p, supers in self.superproperties.items():
            for q in supers:
                if q != p:
                    out.append(ox.Triple(p, RDFS_SUBPROPERTY, q))
        return out


def _read_list(lists: dict, head) -> list:
    items = []
    seen = set()
    while head != RDF_NIL:
        if head in seen or head not in lists:
            raise ValueError("malformed RDF list in the ontology")
        seen.add(head)
        cell = lists[head]
        items.append(cell.get(RDF_FIRST))
        head = cell.get(RDF_REST, RDF_NIL)
    return items

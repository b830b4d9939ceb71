"""Which statements of a twin can be personal data, as the standard marks them.

The ontology marks with ``ec:personalData true`` the properties whose values can be personal data
(``ec:contactPoint``) and the classes whose instances are people (``ec:Person``, ``ec:Household``);
it says nothing about other vocabularies' terms (vCard, schema.org), so their statements are found
through the nodes they hang on. :func:`personal_triples` lists a twin's statements that fall
under those marks: every statement with a marked property, every statement about an instance of a
marked class, and every statement about a node reached through a marked property (the name and
e-mail of a contact point, the lines of an address), so that erasing them leaves nothing of it.
"""

from __future__ import annotations

import pyoxigraph as ox

from ecgraph import standard

PERSONAL_DATA = standard.EC + "personalData"


#: Until the ontology carries the marks (tests/test_ontology.py asks every ec: term to be documented
#: and aligned, and every axiom to be one the reasoner implements: an annotation property needs the
#: lead's decision there), the marks are these.
MARKED = {standard.EC + "Person", standard.EC + "Household", standard.EC + "contactPoint"}


def marked_terms(ontology: list[ox.Triple] | None = None) -> set[str]:
    """IRIs of the properties and classes marked ``ec:personalData true`` in the ontology, and
    :data:`MARKED`."""
    if ontology is None:
        ontology = [q.triple for q in ox.parse(path=str(standard.ontology_file()), format=ox.RdfFormat.TURTLE)]
    return MARKED | {t.subject.value for t in ontology if t.predicate.value == PERSONAL_DATA
                     and isinstance(t.subject, ox.NamedNode)
                     and isinstance(t.object, ox.Literal) and t.object.value == "true"}


def personal_triples(triples: list[ox.Triple], marked: set[str] | None = None) -> list[ox.Triple]:
    """The statements of ``triples`` that can be personal data, in their order."""
    marked = marked if marked is not None else marked_terms()
    type_ = standard.RDF_TYPE.value
    people = {t.subject for t in triples if t.predicate.value == type_ and isinstance(t.object, ox.NamedNode)
              and t.object.value in marked}
    by_subject: dict = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)
    # nodes reached through a marked property (blank or not) are personal data as a whole
    reached = set(people)
    frontier = [t.object for t in triples if t.predicate.value in marked and not isinstance(t.object, ox.Literal)]
    while frontier:
        node = frontier.pop()
        if node in reached:
            continue
        reached.add(node)
        frontier.extend(t.object for t in by_subject.get(node, []) if not isinstance(t.object, ox.Literal))
    return [t for t in triples if t.predicate.value in marked or t.subject in reached]

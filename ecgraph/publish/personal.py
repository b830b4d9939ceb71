"""Personal data in twins: which statements can be personal data, which of them a twin states a
basis for, and what a node publishes.

The ontology marks with ``ec:personalData true`` the properties whose values can be personal data
(``ec:contactPoint``) and the classes whose instances are people (``ec:Person``, ``ec:Household``);
it says nothing about other vocabularies' terms (vCard, schema.org), so their statements are found
through the nodes they hang on. :func:`personal_triples` lists a twin's statements that fall
under those marks: every statement with a marked property, every statement about an instance of a
marked class, and every statement about a node reached through a marked property (the name and
e-mail of a contact point, the lines of an address), so that erasing them leaves nothing of it.

**A basis.** A twin states why it may publish such data with ``ec:personalDataBasis`` and a
concept of the ``ec:PersonalDataBases`` code list (``ec:basis-consent``: the people concerned
agreed; ``ec:basis-public-role``: the data names a role held in public, such as a cooperative's
contact officer). Stated on the ``ec:DigitalTwin``, it covers every personal statement of the twin;
stated on a person, household or contact point, it covers that one. :func:`withhold` returns the
personal statements no basis covers: the node publishes the rest only (the publishing pipeline
drops these before validation and inference, and the report counts them). Dumps leave out every
personal statement unless the node's operator opts in (``--dump-personal-data``).
"""

from __future__ import annotations

import pyoxigraph as ox

from ecgraph import standard

PERSONAL_DATA = standard.EC + "personalData"
BASIS = standard.EC + "personalDataBasis"
#: the concepts of ec:PersonalDataBases (ontology/vocabularies.ttl)
BASES = frozenset({standard.EC + "basis-consent", standard.EC + "basis-public-role"})
_TWIN_CLASS = standard.EC + "DigitalTwin"


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


_MARKED: set[str] | None = None


def _marked() -> set[str]:
    global _MARKED
    if _MARKED is None:
        _MARKED = marked_terms()
    return _MARKED


def personal_triples(triples: list[ox.Triple], marked: set[str] | None = None) -> list[ox.Triple]:
    """The statements of ``triples`` that can be personal data, in their order."""
    marked = marked if marked is not None else _marked()
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


def _based(triples: list[ox.Triple]) -> set:
    """Subjects that state a basis (ec:personalDataBasis with a concept of the code list)."""
    return {t.subject for t in triples if t.predicate.value == BASIS and isinstance(t.object, ox.NamedNode)
            and t.object.value in BASES}


def withhold(triples: list[ox.Triple], marked: set[str] | None = None) -> list[ox.Triple]:
    """The personal statements of a twin that no basis covers: none when its ec:DigitalTwin states
    a basis; otherwise every personal statement except those about a node that states a basis
    (and the nodes reached from it) or pointing at such a node."""
    personal = personal_triples(triples, marked)
    if not personal:
        return []
    based = _based(triples)
    twins = {t.subject for t in triples if t.predicate == standard.RDF_TYPE and isinstance(t.object, ox.NamedNode)
             and t.object.value == _TWIN_CLASS}
    if twins & based:
        return []
    # a basis on a person, household or contact point covers it and the nodes reached from it
    covered = set(based)
    by_subject: dict = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)
    frontier = list(covered)
    while frontier:
        node = frontier.pop()
        for t in by_subject.get(node, []):
            if not isinstance(t.object, ox.Literal) and t.object not in covered and t.predicate != standard.RDF_TYPE:
                covered.add(t.object)
                frontier.append(t.object)
    return [t for t in personal if t.subject not in covered
            and not (isinstance(t.object, (ox.NamedNode, ox.BlankNode)) and t.object in covered)]


def without(triples: list[ox.Triple], drop: list[ox.Triple]) -> list[ox.Triple]:
    """``triples`` minus ``drop``, in their order."""
    if not drop:
        return triples
    gone = set(drop)
    return [t for t in triples if t not in gone]

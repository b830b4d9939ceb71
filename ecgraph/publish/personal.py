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

**Erasure across nodes.** An erasure is announced in the node's change stream without the erased
value: :func:`erasure_digests` gives the SHA-256 of each form the value may take, and a node holding
a harvested copy erases, with :func:`erase_digests`, each personal value of the copy whose digest is
among them, exactly as :func:`erase` does at home. (A digest is a pseudonym, not an anonymisation:
whoever guesses the value can check the guess. The value itself was public until the erasure.)
"""

from __future__ import annotations

import hashlib

import pyoxigraph as ox

from ecgraph import standard

PERSONAL_DATA = standard.EC + "personalData"
BASIS = standard.EC + "personalDataBasis"
#: the concepts of ec:PersonalDataBases (ontology/vocabularies.ttl)
BASES = frozenset({standard.EC + "basis-consent", standard.EC + "basis-public-role"})
_TWIN_CLASS = standard.EC + "DigitalTwin"
#: the first release in which a twin can state a basis: twins judged by an earlier one (1.0.0)
#: cannot, and are published as they were before (see docs/standard.md, "Personal data")
FIRST_RELEASE = "1.1.0"


def enforced(version: str) -> bool:
    """Whether twins judged by release ``version`` publish personal data only with a basis."""
    if version not in standard.VERSIONS:
        return True
    return standard.VERSIONS.index(version) >= standard.VERSIONS.index(FIRST_RELEASE)


def withheld_note(count: int) -> dict:
    """What a publishing report says of the personal statements it left out."""
    return {"withheld": count,
            "detail": f"{count} statement{'s' if count != 1 else ''} of personal data (members typed ec:Person or "
                      "ec:Household, contact points) were not published: the twin states no basis for them. State "
                      "one with ec:personalDataBasis ec:basis-consent or ec:basis-public-role on the ec:DigitalTwin, "
                      "or on the person, household or contact point."}


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


def installed_marks() -> set[str]:
    global _MARKED
    if _MARKED is None:
        _MARKED = marked_terms()
    return _MARKED


def personal_nodes(triples: list[ox.Triple], marked: set[str] | None = None) -> set:
    """The nodes of a twin that are personal data as a whole: instances of a marked class, nodes
    reached through a marked property, and the blank nodes reached from those."""
    marked = marked if marked is not None else installed_marks()
    type_ = standard.RDF_TYPE.value
    people = {t.subject for t in triples if t.predicate.value == type_ and isinstance(t.object, ox.NamedNode)
              and t.object.value in marked}
    by_subject: dict = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)
    reached: set = set()
    frontier = list(people) + [t.object for t in triples
                               if t.predicate.value in marked and not isinstance(t.object, ox.Literal)]
    while frontier:
        node = frontier.pop()
        if node in reached:
            continue
        reached.add(node)
        # what hangs on it as blank nodes (an address, a telephone entry) is part of it; a named
        # node it points at (the community a person is a member of) is not
        frontier.extend(t.object for t in by_subject.get(node, []) if isinstance(t.object, ox.BlankNode))
    return reached


def personal_triples(triples: list[ox.Triple], marked: set[str] | None = None) -> list[ox.Triple]:
    """The statements of ``triples`` that can be personal data, in their order."""
    marked = marked if marked is not None else installed_marks()
    reached = personal_nodes(triples, marked)
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
    # a basis on a person, household or contact point covers it and the blank nodes reached from it
    covered = set(based)
    by_subject: dict = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)
    frontier = list(covered)
    while frontier:
        node = frontier.pop()
        for t in by_subject.get(node, []):
            if isinstance(t.object, ox.BlankNode) and t.object not in covered:
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


def _values(target: str) -> set[str]:
    """The forms a person's value may take in a twin: as given, and an e-mail or a telephone
    number as the mailto: or tel: IRI the standard asks for."""
    value = target.strip()
    out = {value}
    if "@" in value and not value.startswith("mailto:"):
        out.add("mailto:" + value)
        out.add("mailto:" + value.replace("@", "%40"))  # as an IRI template writes it
    if value.startswith("mailto:"):
        out.add(value[len("mailto:"):])
    if value.startswith("+") or value.replace(" ", "").isdigit():
        out.add("tel:" + value.replace(" ", ""))
    return out


def erase(triples: list[ox.Triple], target: str) -> tuple[list[ox.Triple], int]:
    """A twin without a person's data: ``target`` is the IRI of a person, household or contact
    point, or a value of one (a name, an e-mail address, a telephone number). Every personal node
    that is the target or holds the value goes whole (with what hangs on it), with every statement
    pointing at it, and any other personal statement with the value. Returns the triples kept and
    how many were removed. Only personal data is erased: the same value on a node that is not
    personal data (a community's own name or e-mail) stays."""
    values = _values(target)
    personal = personal_nodes(triples)
    doomed: set = {n for n in personal if isinstance(n, ox.NamedNode) and n.value in values}
    for t in triples:
        if t.subject in personal and isinstance(t.object, (ox.Literal, ox.NamedNode)) and t.object.value in values:
            doomed.add(t.subject)
    # what hangs on an erased node goes with it (its blank nodes: an address, a telephone entry)
    by_subject: dict = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)
    frontier: list = list(doomed)
    while frontier:
        node = frontier.pop()
        for t in by_subject.get(node, []):
            if isinstance(t.object, ox.BlankNode) and t.object not in doomed:
                doomed.add(t.object)
                frontier.append(t.object)
    statements = set(personal_triples(triples))
    kept = [t for t in triples if t.subject not in doomed and t.object not in doomed
            and not (t in statements and isinstance(t.object, (ox.Literal, ox.NamedNode))
                     and t.object.value in values and t.predicate != standard.RDF_TYPE)]
    return kept, len(triples) - len(kept)


def _digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def erasure_digests(target: str) -> list[str]:
    """What the change stream says of an erasure of ``target``: the SHA-256 of each of its forms."""
    return sorted(_digest(v) for v in _values(target))


def erase_digests(triples: list[ox.Triple], digests: list[str] | set[str]) -> tuple[list[ox.Triple], int]:
    """:func:`erase` where only :func:`erasure_digests` are known (a harvested copy, erased at its
    home): every personal value of ``triples`` whose digest is among ``digests`` is erased. Returns
    the triples kept and how many were removed."""
    wanted = set(digests)
    personal = personal_nodes(triples)
    candidates = {n.value for n in personal if isinstance(n, ox.NamedNode)}
    candidates |= {t.object.value for t in triples
                   if t.subject in personal and isinstance(t.object, ox.Literal | ox.NamedNode)}
    candidates |= {t.object.value for t in personal_triples(triples) if isinstance(t.object, ox.Literal | ox.NamedNode)}
    removed = 0
    for value in sorted(candidates):
        if _digest(value) in wanted:
            triples, count = erase(triples, value)
            removed += count
    return triples, removed

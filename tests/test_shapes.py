"""The SHACL profiles: declared as W3C PROF profiles, SHACL Core only, every shape named, labelled
and explained, code lists equal to the SKOS schemes, and severities as the profile says."""

from __future__ import annotations

import pytest
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH

from ecgraph import standard
from tests import standard_support as s

SEVERITY = {"core": SH.Violation, "recommended": SH.Warning}

#: SHACL Core vocabulary the profiles may use (no SHACL-SPARQL, no SHACL-AF rules or functions).
CORE_SHACL = {SH[x] for x in (
    "NodeShape PropertyShape targetClass targetNode targetObjectsOf targetSubjectsOf path inversePath "
    "alternativePath zeroOrMorePath oneOrMorePath zeroOrOnePath property node not or and xone in class "
    "datatype nodeKind minCount maxCount minInclusive maxInclusive minExclusive maxExclusive minLength "
    "maxLength pattern flags languageIn uniqueLang equals disjoint lessThan lessThanOrEquals hasValue "
    "qualifiedValueShape qualifiedMinCount qualifiedMaxCount closed ignoredProperties message severity "
    "Violation Warning Info IRI BlankNode Literal BlankNodeOrIRI BlankNodeOrLiteral IRIOrLiteral name "
    "description deactivated").split()}


@pytest.mark.parametrize("profile", standard.PROFILES)
def test_profile_declaration(profile):
    g = s.shapes(profile)
    iri = rdflib.URIRef(standard.profile_iri(profile))
    assert (iri, RDF.type, s.PROF.Profile) in g
    assert (iri, s.PROF.isProfileOf, rdflib.URIRef(standard.ONTOLOGY_IRI)) in g
    assert str(g.value(iri, OWL.versionInfo)) == standard.STANDARD_VERSION
    assert g.value(iri, OWL.versionIRI) == rdflib.URIRef(standard.profile_version_iri(profile))
    assert any(t.language == "en" for t in g.objects(iri, DCTERMS.title))
    if profile == "recommended":
        assert (iri, s.PROF.isProfileOf, rdflib.URIRef(standard.profile_iri("core"))) in g


@pytest.mark.parametrize("profile", standard.PROFILES)
def test_only_shacl_core(profile):
    g = s.shapes(profile)
    used = {t for triple in g for t in triple if isinstance(t, rdflib.URIRef) and str(t).startswith(str(SH))}
    used -= {rdflib.URIRef(str(SH))}  # the namespace IRI itself appears as the profile's dcterms:conformsTo
    assert used <= CORE_SHACL, used - CORE_SHACL


@pytest.mark.parametrize("profile", standard.PROFILES)
def test_every_shape_has_an_iri_label_and_message(profile):
    g = s.shapes(profile)
    shapes = s.all_shapes(g)
    assert len(shapes) > (60 if profile == "core" else 25)
    ns = standard.SHAPES_NS[profile]
    for shape in shapes:
        assert isinstance(shape, rdflib.URIRef), f"blank-node shape in {profile}: {list(g.predicate_objects(shape))}"
        assert str(shape).startswith(ns), shape
        assert any(label.language == "en" for label in g.objects(shape, RDFS.label)), f"{shape}: no rdfs:label@en"
        messages = [m for m in g.objects(shape, SH.message) if m.language == "en"]
        assert len(messages) == 1, f"{shape}: needs exactly one English sh:message"


@pytest.mark.parametrize("profile", standard.PROFILES)
def test_messages_name_the_property(profile):
    """A vendor reading a report can act without the shapes: the message of a property shape
    names its property, and says what is expected."""
    g = s.shapes(profile)
    nm = g.namespace_manager
    for shape, path in g.subject_objects(SH.path):
        message = next(str(m) for m in g.objects(shape, SH.message) if m.language == "en")
        terms = [t for t in _simple_terms(g, path) if t != RDF.type]
        if terms:  # for an alternative path, naming one of the alternatives is enough
            assert any(t.n3(nm) in message for t in terms), f"{shape}: message does not name {terms[0].n3(nm)}"
        assert any(w in message for w in ("must", "should", "Expected", "may")), shape


def _simple_terms(g, path):
    if isinstance(path, rdflib.URIRef):
        return [path]
    inverse = g.value(path, SH.inversePath)
    if inverse is not None:
        return _simple_terms(g, inverse)
    alternatives = g.value(path, SH.alternativePath)
    if alternatives is not None:
        return [t for item in Collection(g, alternatives) for t in _simple_terms(g, item)]
    return []


@pytest.mark.parametrize("profile", standard.PROFILES)
def test_severities(profile):
    g = s.shapes(profile)
    severities = set(g.objects(None, SH.severity))
    if profile == "core":
        assert severities <= {SH.Violation}  # the default
    else:
        for shape in s.reporting_shapes(g):
            assert g.value(shape, SH.severity) == SH.Warning, shape


def test_code_lists_equal_the_skos_schemes():
    """Every sh:in list names its scheme or unit collection (rdfs:seeAlso) and equals its members:
    validation does not see vocabularies.ttl, so the lists are the code lists."""
    found = 0
    for profile in standard.PROFILES:
        g = s.shapes(profile)
        for shape, values in s.in_lists(g).items():
            scheme = g.value(shape, RDFS.seeAlso)
            assert scheme is not None, f"{shape}: sh:in without rdfs:seeAlso to its scheme"
            assert set(values) == s.scheme_members(scheme), f"{shape}: list differs from {scheme}"
            assert len(values) == len(set(values))
            found += 1
    assert found >= 20


def test_core_checks_each_code_list_property():
    """Each code-list property is checked against its list (sh:in) or, since 1.1, against the list
    or a local code linked to it (sh:or of a code shape with sh:in and a local-code shape)."""
    core = s.shapes("core")

    def checks_a_list(shape):
        if (shape, SH["in"], None) in core:
            return True
        for head in core.objects(shape, SH["or"]):
            if any((alternative, SH["in"], None) in core for alternative in Collection(core, head)):
                return True
        return False

    checked = {path for shape, path in core.subject_objects(SH.path) if checks_a_list(shape)}
    for prop in ("legalForm", "euType", "status", "activity", "role", "indicator", "topic", "vehicleType",
                 "toolCategory", "fundingType", "ownershipModel"):
        assert s.EC[prop] in checked, prop


def test_every_message_is_in_english_french_and_dutch():
    for profile in standard.PROFILES:
        g = s.shapes(profile)
        for shape in s.all_shapes(g):
            assert {m.language for m in g.objects(shape, SH.message)} == {"en", "fr", "nl"}, shape


def test_checks_beside_the_shapes_are_declared_and_skipped_by_shacl_engines():
    """A check SHACL Core cannot express is a deactivated shape that says how it is checked."""
    from ecgraph.validation import rules as checks

    declared = set()
    for profile in standard.PROFILES:
        g = s.shapes(profile)
        for shape in g.subjects(SH.deactivated, rdflib.Literal(True)):
            declared.add(str(shape))
            assert "beside SHACL" in str(g.value(shape, RDFS.comment)), shape
    assert declared == set(checks.CHECKS)


def test_validation_needs_no_vocabulary_or_inference():
    """A twin valid only thanks to inference must fail: untyped members are not 'repaired' by the
    range of a property, and the subclass axioms are the only schema triples used."""
    data = rdflib.Graph().parse(data="""
        @prefix ec: <https://w3id.org/ecgraph/ns#> . @prefix dcterms: <http://purl.org/dc/terms/> .
        @prefix schema: <https://schema.org/> .
        <https://t.example/twin> a ec:DigitalTwin ; dcterms:title "t" ; dcterms:publisher <https://t.example/c> ;
            dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.0.0> ; ec:describes <https://t.example/c> .
        <https://t.example/c> a ec:EnergyCommunity ; schema:name "c" ; ec:legalForm ec:legalform-cooperative ;
            ec:hasMember <https://t.example/m> .
    """, format="turtle")
    conforms, found, _ = s.shacl(data)
    assert not conforms and found == {(s.CORE_NS + "MemberShape-type", "Violation")}
    # ...and subclasses are seen thanks to the ontology's subclass axioms only: a school is a
    # public body for sh:targetClass, without any rdf:type ec:PublicBody in the data.
    data.add((rdflib.URIRef("https://t.example/m"), RDF.type, s.EC.School))
    assert s.shacl(data)[0]


@pytest.mark.parametrize("profile", standard.PROFILES)
def test_shapes_are_valid_shacl(profile):
    """The shapes graph itself validates against the SHACL-for-SHACL shapes."""
    import pyshacl

    data = s.parse_file(standard.kit_manifest().parent / "cases" / "full-community.ttl")
    conforms, _, _ = pyshacl.validate(s.validation_graph(data), shacl_graph=s.profile_shapes(profile),
                                      inference="none", advanced=False, meta_shacl=True)
    assert conforms

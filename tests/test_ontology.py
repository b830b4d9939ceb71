"""The ontology and its code lists: they parse, declare every term the standard uses (with English,
French and Dutch labels), say nothing of their own about other vocabularies' terms, stay inside
what an ecgraph node's reasoner implements, and are consistent with the whole demo network under
OWL-RL. (That external terms exist and are declared as their owners declare them is
tests/test_vocabularies.py.)"""

from __future__ import annotations

import re
from functools import cache

import pytest
import rdflib
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, SKOS

from ecgraph import standard
from tests import standard_support as s

EC = s.EC
DECLARATION_TYPES = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDFS.Datatype}
ALIGNMENT_PREDICATES = {RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass, OWL.equivalentProperty,
                        SKOS.closeMatch, SKOS.exactMatch, SKOS.relatedMatch, SKOS.broadMatch, SKOS.narrowMatch}


def declared(g=None) -> set:
    g = g or s.ontology()
    return {t for t in g.subjects(RDF.type, None) if any((t, RDF.type, c) in g for c in DECLARATION_TYPES)}


def is_builtin(term) -> bool:
    return s.iri_in_namespaces(term, s.BUILTIN_NAMESPACES)


def labels(g, term, lang):
    return [label for label in g.objects(term, RDFS.label) if getattr(label, "language", None) == lang]


# --- parsing and metadata -----------------------------------------------------------------------

def test_files_parse():
    assert len(s.ontology()) > 500
    assert len(s.vocabularies()) > 500
    for name in standard.PROFILES:
        assert len(s.shapes(name)) > 100


def test_ontology_header():
    g = s.ontology()
    onto = rdflib.URIRef(standard.ONTOLOGY_IRI)
    assert (onto, RDF.type, OWL.Ontology) in g
    assert g.value(onto, OWL.versionIRI) == rdflib.URIRef(standard.ONTOLOGY_VERSION_IRI)
    assert str(g.value(onto, OWL.versionInfo)) == standard.STANDARD_VERSION
    assert g.value(onto, DCTERMS.license) == rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert {title.language for title in g.objects(onto, DCTERMS.title)} >= {"en", "fr", "nl"}
    assert not list(g.objects(None, OWL.imports)), "alignments are declared locally, never imported"


# --- declarations -------------------------------------------------------------------------------

def _terms_used_by_shapes() -> set:
    used = set()
    for name in standard.PROFILES:
        g = s.shapes(name)
        for pred in (SH.targetClass, SH.targetObjectsOf, SH.targetSubjectsOf, SH.targetNode, SH["class"], SH.datatype):
            used |= set(g.objects(None, pred))
        for path in g.objects(None, SH.path):
            used |= _path_terms(g, path)
        for head in g.objects(None, SH["in"]):
            used |= {t for t in Collection(g, head) if (t, RDF.type, OWL.Class) in s.ontology()}
        # the profile declarations (prof:, dcterms:) are data of the shapes file too
        profile_nodes = set(g.subjects(RDF.type, s.PROF.Profile)) | set(g.subjects(RDF.type, s.PROF.ResourceDescriptor))
        for node in profile_nodes:
            used |= {p for p, _ in g.predicate_objects(node)}
            used |= set(g.objects(node, RDF.type))
    return {t for t in used if isinstance(t, rdflib.URIRef) and not is_builtin(t)}


def _path_terms(g, path) -> set:
    if isinstance(path, rdflib.URIRef):
        return {path}
    out = set()
    for key in (SH.inversePath, SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath):
        inner = g.value(path, key)
        if inner is not None:
            out |= _path_terms(g, inner)
    alternatives = g.value(path, SH.alternativePath)
    if alternatives is not None:
        for item in Collection(g, alternatives):
            out |= _path_terms(g, item)
    if g.value(path, RDF.first) is not None:
        for item in Collection(g, path):
            out |= _path_terms(g, item)
    return out


def _terms_used_by_data(graph) -> set:
    used = set(graph.predicates()) | set(graph.objects(None, RDF.type))
    return {t for t in used if not is_builtin(t)}


def _terms_used_by_vocabularies() -> set:
    g = s.vocabularies()
    used = set(g.predicates()) | set(g.objects(None, RDF.type))
    return {t for t in used if not is_builtin(t)}


def test_every_term_used_is_declared_with_labels():
    used = _terms_used_by_shapes() | _terms_used_by_data(s.demo_union()) | _terms_used_by_vocabularies()
    from ecgraph.standard import kit

    for case in kit.cases():
        # cases about terms the standard does not define use such terms on purpose
        if not any(shape.endswith(("#DeclaredTermCheck", "#JsonLdValueCheck")) for _, shape, _ in case.expected):
            used |= _terms_used_by_data(s.parse_file(case.path))
    # Code-list concepts used as classes are declared in the ontology (member and asset types).
    g = s.ontology()
    used -= {t for t in used if str(t).startswith(("urn:", "https://kit.example/"))}  # a kit case's own terms
    missing = sorted(str(t) for t in used - declared())
    assert not missing, f"terms used but not declared in ontology/ecgraph.ttl: {missing}"
    for term in used:
        _assert_documented(g, term)


def test_nothing_is_said_about_other_vocabularies_terms_but_their_declaration():
    """A local declaration of an external term states its kind, where it is defined and labels in
    our languages; its meaning is its owner's: no comment of ours, no axiom its owner does not state
    (the few subclass axioms kept, such as saref:Meter under saref:Device, are the owners')."""
    g = s.ontology()
    allowed = {RDF.type, RDFS.label, RDFS.isDefinedBy, RDFS.subClassOf, OWL.inverseOf, OWL.deprecated}
    for term in declared():
        if not str(term).startswith(standard.EC):
            said = set(g.predicates(term, None))
            assert said <= allowed, f"{term}: ecgraph says {sorted(map(str, said - allowed))} about it"
            assert (term, RDFS.comment, None) not in g


def test_every_ec_term_of_the_ontology_is_documented_and_aligned():
    g = s.ontology()
    ours = {t for t in declared() if str(t).startswith(standard.EC)}
    assert len(ours) > 80
    for term in ours:
        _assert_documented(g, term)
    aligned = set()
    changed = True
    while changed:  # an ec term is aligned directly, or through an aligned ec super-term or inverse
        changed = False
        for term in ours - aligned:
            for pred in ALIGNMENT_PREDICATES | {OWL.inverseOf}:
                inverses = set(g.subjects(OWL.inverseOf, term)) if pred == OWL.inverseOf else set()
                for target in set(g.objects(term, pred)) | inverses:
                    if not str(target).startswith(standard.EC) or target in aligned:
                        aligned.add(term)
                        changed = True
                        break
                if term in aligned:
                    break
    assert ours - aligned == set(), f"not aligned with another vocabulary: {sorted(map(str, ours - aligned))}"


def _assert_documented(g, term):
    for lang in ("en", "fr", "nl"):
        assert labels(g, term, lang), f"{term} has no rdfs:label@{lang}"
    if str(term).startswith(standard.EC):
        comments = [c for c in g.objects(term, RDFS.comment) if getattr(c, "language", None) == "en"]
        assert comments and len(str(comments[0])) > 10, f"{term} has no English rdfs:comment"


def test_external_terms_say_where_they_come_from_and_superterms_are_declared():
    g = s.ontology()
    for term in declared():
        if not str(term).startswith(standard.EC):
            assert g.value(term, RDFS.isDefinedBy) is not None, f"{term}: no rdfs:isDefinedBy"
    for pred in (RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.inverseOf):
        for a, b in g.subject_objects(pred):
            assert isinstance(b, rdflib.URIRef), f"{a} {pred} a blank node: no anonymous classes"
            assert b in declared(), f"{a} {pred.n3(g.namespace_manager)} {b}: undeclared"


# --- what the reasoner may see ----------------------------------------------------------------

ALLOWED_TYPES = {OWL.Ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                 RDFS.Datatype, SKOS.Concept, OWL.SymmetricProperty, OWL.TransitiveProperty}
ALLOWED_PREDICATES = {RDF.type, RDF.first, RDF.rest, RDFS.label, RDFS.comment, RDFS.isDefinedBy, RDFS.seeAlso,
                      RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.inverseOf,
                      OWL.propertyChainAxiom, OWL.equivalentClass, OWL.equivalentProperty, OWL.versionIRI,
                      OWL.versionInfo, OWL.priorVersion, OWL.deprecated, SKOS.closeMatch, SKOS.relatedMatch,
                      SKOS.prefLabel, SKOS.definition,
                      SKOS.inScheme, SKOS.topConceptOf, SKOS.broader, DCTERMS.title, DCTERMS.description,
                      DCTERMS.license, DCTERMS.created, DCTERMS.modified}


def test_ontology_only_uses_axioms_the_node_reasoner_implements():
    """OWL 2 RL and nothing with entailments beyond subclass, subproperty, domain, range,
    equivalence, inverse, symmetric, transitive and two-step property chains; no functional
    properties, sameAs, cardinalities or restrictions that could make a reasoner infer
    owl:sameAs or owl:Nothing."""
    g = s.ontology()
    assert set(g.predicates()) <= ALLOWED_PREDICATES, set(g.predicates()) - ALLOWED_PREDICATES
    assert set(g.objects(None, RDF.type)) <= ALLOWED_TYPES, set(g.objects(None, RDF.type)) - ALLOWED_TYPES
    for head in g.objects(None, OWL.propertyChainAxiom):
        assert len(list(Collection(g, head))) == 2
    # The node's reasoner compiles it.
    assert s.node_reasoner().chains


def test_domains_and_ranges_are_sparing():
    g = s.ontology()
    for prop in g.subjects(RDF.type, OWL.DatatypeProperty):
        assert g.value(prop, RDFS.range) is None, f"{prop}: datatype ranges are checked by SHACL, not inferred"
    for cls in g.objects(None, RDFS.range):
        assert (cls, RDF.type, OWL.Class) in g
    for prop in set(g.subjects(RDFS.domain, None)) | set(g.subjects(RDFS.range, None)):
        assert str(prop).startswith(standard.EC), f"{prop}: no domain or range on external terms"


def test_membership_and_one_line_school_question_axioms():
    g = s.ontology()
    assert (EC.Membership, RDFS.subClassOf, rdflib.URIRef("http://www.w3.org/ns/org#Membership")) in g
    assert list(Collection(g, g.value(EC.hasMember, OWL.propertyChainAxiom))) == [EC.hasMembership, EC.member]
    assert (EC.hasMember, OWL.inverseOf, EC.memberOf) in g
    assert (EC.hasMembership, OWL.inverseOf, EC.community) in g
    # a school is a school whatever its legal status: not always a public body (1.1.0)
    assert (EC.School, RDFS.subClassOf, EC.PublicBody) not in g
    assert (EC.School, RDFS.subClassOf, s.SCHEMA.School) in g
    assert (EC.Municipality, RDFS.subClassOf, EC.PublicBody) in g
    assert (EC.DigitalTwin, RDFS.subClassOf, rdflib.URIRef("http://www.w3.org/ns/dcat#Dataset")) in g
    # an indicator value carries its number itself: related to a SOSA observation, not one
    assert (EC.IndicatorValue, SKOS.relatedMatch, rdflib.URIRef("http://www.w3.org/ns/sosa/Observation")) in g
    kpi_assessment = rdflib.URIRef("https://saref.etsi.org/saref4city/KeyPerformanceIndicatorAssessment")
    assert (EC.IndicatorValue, SKOS.closeMatch, kpi_assessment) in g


def test_naming_conventions():
    g = s.standard_graph()
    for term in declared(s.ontology()):
        if not str(term).startswith(standard.EC):
            continue
        local = str(term)[len(standard.EC):]
        if (term, RDF.type, OWL.Class) in g:
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", local), term
        else:
            assert re.fullmatch(r"[a-z][A-Za-z0-9]+", local), term


# --- code lists -----------------------------------------------------------------------------------

SCHEME_PREFIXES = {
    "LegalForms": "legalform", "EUCommunityTypes": "eutype", "Statuses": "status", "Activities": "activity",
    "Roles": "role", "KPIs": "kpi", "Topics": "topic", "VehicleTypes": "vehicle", "ToolCategories": "tool",
    "ConformanceStatuses": "conformance",
    "FundingTypes": "funding", "OwnershipModels": "ownership", "PersonalDataBases": "basis",
}
CLASS_SCHEMES = {"MemberTypes": {"Household", "Person", "School", "Municipality", "PublicBody", "Business", "NGO",
                                 "ResearchInstitution"},
                 "AssetTypes": {"PVInstallation", "WindTurbine", "Battery", "HeatPump", "EVCharger", "HeatNetwork",
                                "Meter", "SharedVehicle", "HydroPlant", "BiomassPlant", "BiogasPlant",
                                "LandfillGasPlant", "SolarThermalInstallation", "CHPPlant", "GeothermalInstallation",
                                "MixedGeneration", "EnergyStorage", "ThermalStorage"}}


def test_every_scheme_and_concept_is_well_formed():
    g = s.standard_graph()
    schemes = set(g.subjects(RDF.type, SKOS.ConceptScheme))
    assert {str(x)[len(standard.EC):] for x in schemes} == set(SCHEME_PREFIXES) | set(CLASS_SCHEMES)
    for scheme in schemes:
        assert {label.language for label in g.objects(scheme, SKOS.prefLabel)} >= {"en", "fr", "nl"}, scheme
        assert g.value(scheme, SKOS.definition) is not None
    for concept in g.subjects(RDF.type, SKOS.Concept):
        in_schemes = set(g.objects(concept, SKOS.inScheme))
        assert len(in_schemes) == 1, concept
        scheme = str(next(iter(in_schemes)))[len(standard.EC):]
        local = str(concept)[len(standard.EC):]
        if scheme in CLASS_SCHEMES:
            assert local in CLASS_SCHEMES[scheme]
            assert (concept, RDF.type, OWL.Class) in g, f"{concept}: member and asset types are OWL classes too"
        else:
            assert re.fullmatch(SCHEME_PREFIXES[scheme] + r"-[a-z0-9]+(-[a-z0-9]+)*", local), concept
            assert g.value(concept, SKOS.notation) is not None, concept
        assert {label.language for label in g.objects(concept, SKOS.prefLabel)} >= {"en", "fr", "nl"}, concept
        definitions = g.objects(concept, SKOS.definition)
        assert {getattr(d, "language", None) for d in definitions} >= {"en", "fr", "nl"}, concept
    for scheme, members in CLASS_SCHEMES.items():
        assert {str(c)[len(standard.EC):] for c in g.subjects(SKOS.inScheme, EC[scheme])} == members


def test_notations_are_unique_within_a_scheme():
    g = s.standard_graph()
    for scheme in g.subjects(RDF.type, SKOS.ConceptScheme):
        notations = [str(g.value(c, SKOS.notation)) for c in g.subjects(SKOS.inScheme, scheme)
                     if g.value(c, SKOS.notation)]
        assert len(notations) == len(set(notations)), scheme


def test_kpi_families_partition_the_kpis_and_units_fit():
    g = s.standard_graph()
    families = [EC.EnergyKPIs, EC.RateKPIs, EC.MassKPIs, EC.CountKPIs, EC.DistanceKPIs]
    members = [set(g.objects(f, SKOS.member)) for f in families]
    assert set().union(*members) == s.scheme_members(EC.KPIs)
    assert sum(len(m) for m in members) == len(s.scheme_members(EC.KPIs)), "a KPI is in two families"
    units = [EC.EnergyUnits, EC.RateUnits, EC.MassUnits, EC.CountUnits, EC.DistanceUnits]
    in_families = set().union(*(set(g.objects(u, SKOS.member)) for u in units))
    assert set(g.objects(EC.IndicatorUnits, SKOS.member)) == in_families


def test_units_carry_their_conversion_to_si():
    g = s.standard_graph()
    expected = {  # value in the SI base unit of the dimension: W, J, kg, m, 1
        "W": 1, "KiloW": 1000, "MegaW": 10**6, "GigaW": 10**9,
        "W-HR": 3600, "KiloW-HR": 3.6e6, "MegaW-HR": 3.6e9, "GigaW-HR": 3.6e12,
        "PERCENT": 0.01, "KiloGM": 1, "TONNE": 1000, "NUM": 1, "M": 1, "KiloM": 1000,
    }
    units = set()
    for coll in g.subjects(RDF.type, SKOS.Collection):
        units |= {u for u in g.objects(coll, SKOS.member) if str(u).startswith(str(s.UNIT))}
    assert {str(u)[len(str(s.UNIT)):] for u in units} == set(expected)
    for unit in units:
        assert (unit, RDF.type, s.QUDT.Unit) in g
        multiplier = g.value(unit, s.QUDT.conversionMultiplier)
        assert multiplier.datatype == rdflib.URIRef("http://www.w3.org/2001/XMLSchema#decimal")
        assert float(multiplier.toPython()) == pytest.approx(expected[str(unit)[len(str(s.UNIT)):]])
        assert {label.language for label in g.objects(unit, RDFS.label)} >= {"en", "fr", "nl"}
        assert g.value(unit, SKOS.notation) is not None


# --- consistency ------------------------------------------------------------------------------------

def test_owl_rl_closure_of_standard_and_demo_network_is_consistent():
    closure = s.owlrl_closure()
    nothing = [x for x in closure.subjects(RDF.type, OWL.Nothing) if x != OWL.Nothing]
    assert nothing == [], f"typed owl:Nothing: {nothing[:5]}"
    errors = [str(m) for e in closure.subjects(RDF.type, rdflib.URIRef("http://www.daml.org/2002/03/agents/agent-ont#ErrorMessage"))
              for m in closure.objects(e, None) if isinstance(m, rdflib.Literal)]
    assert errors == [], errors[:5]
    for a, b in closure.subject_objects(OWL.sameAs):
        assert a == b, f"owl:sameAs inferred between {a} and {b}"
        assert (a, OWL.differentFrom, b) not in closure
    for a, b in closure.subject_objects(OWL.differentFrom):
        assert (a, OWL.sameAs, b) not in closure
    # and the closure makes the one-line school question work
    schools = {c for c, m in closure.subject_objects(EC.hasMember) if (m, RDF.type, EC.School) in closure}
    assert len(schools) >= 4


# --- what the 1.1 review found -----------------------------------------------------------------

S4ENER = rdflib.Namespace("https://saref.etsi.org/saref4ener/")
S4CITY = rdflib.Namespace("https://saref.etsi.org/saref4city/")
ORG = rdflib.Namespace("http://www.w3.org/ns/org#")
SCHEMA = rdflib.Namespace("https://schema.org/")
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
SOSA = rdflib.Namespace("http://www.w3.org/ns/sosa/")
QUDT = rdflib.Namespace("http://qudt.org/schema/qudt/")

#: every alignment of 1.0.0 that said the wrong thing (issue 11), and none is left
WRONG_ALIGNMENTS = [
    (EC.ratedPower, SKOS.closeMatch, S4ENER.PowerMax),                # a class
    (EC.periodStart, SKOS.closeMatch, S4CITY.hasCalculationPeriod),  # an object property to intervals
    (EC.periodEnd, SKOS.closeMatch, S4CITY.hasCalculationPeriod),
    (EC.startDate, SKOS.closeMatch, ORG.memberDuring),
    (EC.usesTool, SKOS.closeMatch, PROV.used),
    (EC.offersTool, SKOS.closeMatch, SCHEMA.makesOffer),
    (EC.contactPoint, RDFS.subPropertyOf, SCHEMA.contactPoint),      # its range is not vCard
    (EC.EnergyCommunity, RDFS.subClassOf, ORG.FormalOrganization),   # de facto associations are allowed
    (EC.activity, RDFS.subPropertyOf, ORG.purpose),                  # made initiatives organisations
    (EC.Initiative, RDFS.subClassOf, SCHEMA.Project),                # an Organization in schema.org
    (EC.Initiative, RDFS.subClassOf, PROV.Activity),
    (EC.IndicatorValue, RDFS.subClassOf, SOSA.Observation),          # carries its own number, no sosa:hasResult
    (EC.peakPower, RDFS.subPropertyOf, EC.ratedPower),               # DC peak is not AC rating
    (EC.partner, RDFS.subPropertyOf, PROV.wasAssociatedWith),        # an initiative is no prov:Activity
]


@cache
def _ontology_1_0_0():
    return rdflib.Graph().parse(standard.ontology_file("1.0.0"))


@pytest.mark.parametrize("triple", WRONG_ALIGNMENTS, ids=lambda t: f"{t[0].split('#')[-1]} {t[2].split('/')[-1]}")
def test_an_alignment_the_review_found_wrong_is_gone(triple):
    assert triple not in s.ontology(), triple
    assert triple in _ontology_1_0_0(), triple  # release 1.0.0 stays as it was published


def test_the_alignments_that_replace_them_say_the_right_thing():
    g = s.ontology()
    for triple in [(EC.contactPoint, RDFS.subPropertyOf, DCAT.contactPoint),
                   (EC.EnergyCommunity, RDFS.subClassOf, ORG.Organization),
                   (EC.Initiative, SKOS.closeMatch, SCHEMA.Project),
                   (EC.Initiative, SKOS.relatedMatch, PROV.Activity),
                   (EC.IndicatorValue, SKOS.relatedMatch, SOSA.Observation),
                   (EC.partner, RDFS.subPropertyOf, DCTERMS.contributor),
                   (EC.activity, SKOS.relatedMatch, ORG.purpose),
                   (SKOS.closeMatch, RDF.type, OWL.ObjectProperty)]:
        assert triple in g, triple
    assert (SKOS.closeMatch, RDF.type, OWL.AnnotationProperty) not in g
    # the unit of a quantity is qudt:hasUnit (qudt:unit is gone from QUDT 3): no ec: term uses qudt:unit
    assert not any(o == QUDT.unit for o in g.objects()) and not any(p == QUDT.unit for _, p, _ in g)


def test_the_translations_the_review_found_wrong_are_fixed():
    g = s.standard_graph()
    text = {str(o) for o in g.objects() if isinstance(o, rdflib.Literal) and o.language in ("fr", "nl")}
    for wrong in ("graden", "graadindicator", "voert initiatief", "taux d'autosuffisance", "leçon apprise"):
        assert not [t for t in text if wrong in t.lower()], wrong
    def label(term, lang, predicate=RDFS.label):
        return {str(o) for o in g.objects(term, predicate) if o.language == lang}
    assert label(EC["kpi-self-sufficiency-rate"], "fr", SKOS.prefLabel) == {"taux d'autoproduction"}
    assert label(EC.LessonLearned, "fr") == {"retour d'expérience"}
    assert label(EC.PublishedTwin, "nl") == {"gepubliceerde digitale tweeling"}
    assert label(EC.hasInitiative, "nl") == {"heeft initiatief"}
    # property labels are noun phrases in French, not sentences ("a pour ...", "est ...")
    for prop in g.subjects(RDF.type, OWL.ObjectProperty):
        if str(prop).startswith(str(EC)):
            for french in label(prop, "fr"):
                assert not re.match(r"(a |a pour|est |possède )", french), (prop, french)


def test_legal_forms_are_national_forms_under_the_generic_kinds():
    """The legal forms of real registers are in the scheme with notations and their national
    labels, each under one of the generic kinds of 1.0 (skos:broader), so a query can ask either
    way; the generic kinds stay the top concepts."""
    g = s.vocabularies()
    scheme = EC.LegalForms
    top = set(g.objects(scheme, SKOS.hasTopConcept)) | set(g.subjects(SKOS.topConceptOf, scheme))
    assert {EC["legalform-" + k] for k in ("cooperative", "non-profit", "association", "foundation", "company",
                                           "public-body")} <= top
    national = {c for c in g.subjects(SKOS.inScheme, scheme) if c not in top}
    wanted = {"uk-co-operative-society", "uk-community-benefit-society", "uk-industrial-and-provident-society",
              "uk-charitable-incorporated-organisation", "uk-community-interest-company",
              "uk-company-limited-by-guarantee", "uk-company-limited-by-shares", "nl-cooperatie", "nl-vereniging",
              "nl-stichting", "nl-vereniging-van-eigenaars", "de-eingetragene-genossenschaft",
              "de-eingetragener-verein", "de-gmbh-co-kg", "fr-scic", "fr-sas", "fr-association-loi-1901",
              "be-sc", "be-asbl"}
    assert {EC["legalform-" + w] for w in wanted} <= national
    for concept in national:
        assert set(g.objects(concept, SKOS.broader)) & top, concept
        assert g.value(concept, SKOS.notation) is not None, concept
        country = str(concept).split("legalform-")[1][:2]
        national_language = {"uk": "en", "nl": "nl", "de": "de", "fr": "fr", "be": "fr"}[country]
        assert any(name.language == national_language for name in g.objects(concept, SKOS.prefLabel)), concept
    asked_either_way = g.query("""PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?form WHERE { ?form skos:broader* <https://w3id.org/ecgraph/ns#legalform-cooperative> }""")
    forms = {r.form for r in asked_either_way}
    assert {EC["legalform-uk-community-benefit-society"], EC["legalform-nl-cooperatie"]} <= forms

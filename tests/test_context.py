"""The published JSON-LD context: plain-looking JSON-LD expands to the ontology's terms, code
short names equal the code lists, and JSON-LD twins expand offline through the local file."""

from __future__ import annotations

import json
import socket

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, SKOS

from ecgraph import standard
from ecgraph.publish import ingest
from tests import standard_support as s

CODE_PROPERTIES = {
    "legalForm": "LegalForms", "ownershipModel": "OwnershipModels", "euType": "EUCommunityTypes", "status": "Statuses",
    "activity": "Activities",
    "role": "Roles", "indicator": "KPIs", "topic": "Topics", "vehicleType": "VehicleTypes",
    "toolCategory": "ToolCategories", "fundingType": "FundingTypes", "personalDataBasis": "PersonalDataBases",
}


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate JSON keys: {sorted(k for k in keys if keys.count(k) > 1)}"
    return dict(pairs)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the JSON-LD path tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _expand(term: str, ctx: dict) -> str:
    value = ctx[term]
    iri = value if isinstance(value, str) else value.get("@id", term)
    if ":" in iri and not iri.startswith("http"):
        prefix, local = iri.split(":", 1)
        assert isinstance(ctx.get(prefix), str), f"{term}: prefix {prefix!r} is not a plain prefix term"
        iri = ctx[prefix] + local
    return iri


def test_context_is_clean_json_without_duplicate_terms():
    text = standard.context_file().read_text(encoding="utf-8")
    document = json.loads(text, object_pairs_hook=_no_duplicates)
    ctx = document["@context"]
    assert ctx["@version"] == 1.1
    assert ctx["@vocab"] == standard.EC
    prefixes = {k for k, v in ctx.items() if isinstance(v, str) and v.endswith(("/", "#")) and not k.startswith("@")}
    # a prefix must not be redefined as a property elsewhere (the "unit:" pitfall): every compact
    # IRI used in a definition resolves through a plain prefix term
    for term in ctx:
        if not term.startswith("@") and term not in ("id", "type"):
            _expand(term, ctx)
    assert {"ec", "schema", "dcterms", "dcat", "prov", "geo", "qudt", "vcard"} <= prefixes


def test_every_term_expands_to_a_declared_iri():
    ctx = s.local_context()
    g = s.standard_graph()
    known = {str(t) for t in g.subjects(RDF.type, None)}
    for term in ctx:
        if term.startswith("@") or term in ("id", "type"):
            continue
        iri = _expand(term, ctx)
        if iri.endswith(("/", "#")):
            continue  # a prefix
        assert iri in known, f"{term} -> {iri} is not declared in the ontology or vocabularies"
        definition = ctx[term]
        if isinstance(definition, dict):
            for scoped_term in definition.get("@context", {}):
                scoped_iri = _expand(scoped_term, {**ctx, **definition["@context"]})
                assert scoped_iri in known, f"{term}/{scoped_term} -> {scoped_iri} undeclared"


def test_every_ec_class_and_property_has_a_plain_term():
    ctx = s.local_context()
    expanded: dict = {}
    for t in ctx:
        if not t.startswith("@") and t not in ("id", "type"):
            expanded.setdefault(_expand(t, ctx), set()).add(t)
    g = s.ontology()
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        for term in g.subjects(RDF.type, kind):
            if str(term).startswith(standard.EC):
                assert str(term) in expanded, f"no JSON-LD term for {term}"
                # the term is the local name (a year or a time may have a second term: foundingYear)
                assert str(term)[len(standard.EC):] in expanded[str(term)], "terms are the local names"


def test_every_object_property_term_makes_strings_iris():
    """A term for a property whose values are resources turns a string into an IRI: without
    "@type": "@id" a JSON-LD processor makes it a string literal, which 1.0's context did for 18
    terms ("usesTool": "https://..." became a string and nobody noticed)."""
    ctx = s.local_context()
    g = s.ontology()
    objects = {str(p) for p in g.subjects(RDF.type, OWL.ObjectProperty)} - {str(RDF.type)}
    checked = 0
    for term, definition in ctx.items():
        if term.startswith("@") or term in ("id", "type") or not isinstance(definition, dict):
            continue
        if _expand(term, ctx) in objects:
            assert definition.get("@type") in ("@id", "@vocab"), term
            checked += 1
    assert checked >= 50


def test_code_short_names_equal_the_code_lists():
    ctx = s.local_context()
    g = s.standard_graph()
    for prop, scheme in CODE_PROPERTIES.items():
        definition = ctx[prop]
        assert definition["@type"] == "@vocab", prop
        scoped = definition["@context"]
        expected = {str(g.value(c, SKOS.notation)): str(c) for c in g.subjects(SKOS.inScheme, s.EC[scheme])}
        assert scoped == expected, prop
    units = ctx["unit"]["@context"]
    allowed = set()
    for coll in g.subjects(RDF.type, SKOS.Collection):
        allowed |= {u for u in g.objects(coll, SKOS.member) if str(u).startswith(str(s.UNIT))}
    assert units == {str(g.value(u, SKOS.notation)): str(u) for u in allowed}


def test_dates_numbers_and_links_are_typed():
    ctx = s.local_context()
    for term in ("foundingDate", "startDate", "endDate", "periodStart", "periodEnd", "installationDate", "modified",
                 "dissolutionDate"):
        assert ctx[term]["@type"] == "xsd:date", term
    for term in ("foundingYear", "installationYear", "dissolutionYear"):
        assert ctx[term]["@type"] == "xsd:gYear", term
    for term in ("startTime", "endTime", "generatedAtTime"):
        assert ctx[term]["@type"] == "xsd:dateTime", term
    for term in ("value", "amountInEuro"):
        assert ctx[term]["@type"] == "xsd:decimal", term
    for term in ("groupSize", "chargingPoints", "unitCount", "memberCount"):
        assert ctx[term]["@type"] == "xsd:integer", term
    for term in ("url", "network", "member", "community", "publisher", "conformsTo", "describes", "downloadURL",
                 "endpointURL", "email", "license", "hostedBy"):
        assert ctx[term]["@type"] == "@id", term
    assert ctx["wkt"]["@type"] == "geo:wktLiteral"


def _json_ld_files():
    files = [p for p in s.demo_files() if p.suffix == ".jsonld"]
    files += sorted((standard.kit_manifest().parent / "cases").glob("*.jsonld"))
    return files


def test_json_ld_twins_use_the_published_context_url():
    demo = [p for p in s.demo_files() if p.suffix == ".jsonld"]
    assert len(demo) >= 5
    for path in _json_ld_files():
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["@context"] == standard.CONTEXT_URL, path.name


@pytest.mark.parametrize("path", _json_ld_files(), ids=lambda p: p.name)
def test_json_ld_expands_offline_through_the_local_context(path, no_network):
    raw = path.read_bytes()
    # pyoxigraph alone refuses to fetch the remote context: nothing leaves this machine
    with pytest.raises(SyntaxError):
        list(ox.parse(raw, format=ox.RdfFormat.JSON_LD))
    # with the local context inlined (of the release the twin claims: the unversioned context URL
    # means that release's), it expands; and the node's ingestion does the same
    document = json.loads(raw)
    via_node = ingest.parse(raw, filename=path.name).triples
    document["@context"] = ingest.local_context(standard.judging_version(via_node))
    inline = list(ox.parse(json.dumps(document).encode(), format=ox.RdfFormat.JSON_LD))
    assert len(inline) >= 8
    assert isomorphic(_graph(inline), _graph(via_node))
    # every predicate is a declared term (a typo would expand to an undeclared ec: IRI via @vocab),
    # except in the kit case about exactly that
    if "unknown-keys" in path.name:
        return
    declared = set(s.ontology().subjects(RDF.type, None))
    for t in inline:
        assert rdflib.URIRef(t.predicate.value) in declared or t.predicate.value.startswith(str(RDF)), t.predicate


def _graph(items) -> rdflib.Graph:
    from ecgraph.terms import to_rdflib_graph

    return to_rdflib_graph(q.triple if isinstance(q, ox.Quad) else q for q in items)


def test_plain_json_example_expands_as_documented(no_network):
    document = {
        "@context": s.local_context(),
        "id": "https://x.example/id/c", "type": "EnergyCommunity",
        "name": {"fr": "Toit solaire", "nl": "Zonnedak"}, "legalForm": "cooperative",
        "hasMembership": {"member": {"id": "https://x.example/id/s", "type": "School"}, "role": "member",
                          "startDate": "2024-09-01", "groupSize": 1},
        "hasAsset": {"type": "PVInstallation", "peakPower": {"value": "12.5", "unit": "kW"}},
        "hasIndicator": {"indicator": "self-consumption-rate", "periodStart": "2024-01-01",
                         "periodEnd": "2024-12-31", "value": 55, "unit": "percent"},
        "topic": "education", "activity": "education",
    }
    triples = {(t.subject.value if not isinstance(t.subject, ox.BlankNode) else "_", t.predicate.value,
                t.object.value if not isinstance(t.object, ox.BlankNode) else "_")
               for t in ox.parse(json.dumps(document).encode(), format=ox.RdfFormat.JSON_LD)}
    ec = standard.EC
    assert ("https://x.example/id/c", ec + "legalForm", ec + "legalform-cooperative") in triples
    assert ("_", ec + "role", ec + "role-member") in triples  # "member" as a role, not the property
    assert ("_", "http://qudt.org/schema/qudt/hasUnit", "http://qudt.org/vocab/unit/KiloW") in triples
    assert ("_", "http://qudt.org/schema/qudt/hasUnit", "http://qudt.org/vocab/unit/PERCENT") in triples
    assert ("https://x.example/id/c", ec + "topic", ec + "topic-education") in triples
    assert ("https://x.example/id/c", ec + "activity", ec + "activity-education") in triples


def test_node_ingest_stores_json_numbers_as_valid_decimals():
    """A JSON number 12.5 coerced to xsd:decimal becomes the lexical form 1.25E1 under JSON-LD 1.1,
    which oxigraph treats as an invalid decimal (SUM and arithmetic give no result). The context
    invites plain numbers, so a node must canonicalise them (ecgraph.publish.ingest does)."""
    document = {"@context": standard.CONTEXT_URL, "id": "https://x.example/id/q", "value": 12.5}
    triples = ingest.parse(json.dumps(document).encode(), "application/ld+json").triples
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    (row,) = list(store.query("SELECT (SUM(?v) AS ?s) WHERE { ?x <http://qudt.org/schema/qudt/numericValue> ?v }"))
    assert row["s"] is not None and row["s"].value == "12.5"

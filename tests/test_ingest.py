"""Bytes to triples: formats, limits, errors with line/column, and JSON-LD that fetches nothing."""

import json

import pyoxigraph as ox
import pytest

from ecgraph import standard
from ecgraph.publish import ingest
from ecgraph.publish.ingest import IngestError, parse

TTL = b"@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:d \"x\" .\n"


def test_turtle_by_media_type_and_extension():
    assert len(parse(TTL, "text/turtle")) == 2
    assert len(parse(TTL, None, "twin.ttl")) == 2
    assert len(parse(TTL, "text/turtle; charset=utf-8")) == 2


@pytest.mark.parametrize("media_type,fmt", [
    ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ("application/ld+json", ox.RdfFormat.JSON_LD),
    ("application/trig", ox.RdfFormat.TRIG),
    ("application/n-quads", ox.RdfFormat.N_QUADS),
])
def test_every_format_round_trips(media_type, fmt):
    triples = parse(TTL, "text/turtle").triples
    data = ox.serialize(triples, format=fmt)
    assert set(parse(data, media_type).triples) == set(triples)


def test_unsupported_media_type_is_415():
    with pytest.raises(IngestError) as err:
        parse(TTL, "image/png")
    assert err.value.status == 415
    with pytest.raises(IngestError) as err:
        parse(TTL, None, "twin.docx")
    assert err.value.status == 415
    with pytest.raises(IngestError) as err:
        parse(TTL)
    assert err.value.status == 415


def test_parse_error_names_line_and_column():
    with pytest.raises(IngestError) as err:
        parse(b"@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b \"open .\n", "text/turtle")
    assert err.value.status == 400
    assert err.value.line == 3
    assert err.value.column is not None
    assert "Turtle" in err.value.message


def test_size_limit_is_413():
    with pytest.raises(IngestError) as err:
        parse(TTL, "text/turtle", max_bytes=10)
    assert err.value.status == 413


def test_triple_limit_is_413():
    with pytest.raises(IngestError) as err:
        parse(TTL, "text/turtle", max_triples=1)
    assert err.value.status == 413


def test_named_graphs_are_refused_unless_the_twins_own():
    quads = b"<http://a> <http://b> <http://c> <http://g> .\n"
    with pytest.raises(IngestError) as err:
        parse(quads, "application/n-quads")
    assert "named graph" in err.value.message
    assert len(parse(quads, "application/n-quads", allow_named_graphs=["http://g"])) == 1


def test_invalid_utf8_is_a_parse_error():
    with pytest.raises(IngestError) as err:
        parse(b'<http://a> <http://b> "\xff\xfe" .', "application/n-triples")
    assert err.value.status == 400
    with pytest.raises(IngestError) as err:
        parse(b'{"@id": "http://a", "http://b": "\xff"}', "application/ld+json")
    assert err.value.status == 400


def test_billion_laughs_is_refused_before_parsing():
    doc = (b'<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY a "aaaaaaaaaa">'
           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://e/">'
           b'<rdf:Description rdf:about="http://e/x"><ex:p>&b;</ex:p></rdf:Description></rdf:RDF>')
    with pytest.raises(IngestError) as err:
        parse(doc, "application/rdf+xml")
    assert "ENTITY" in err.value.message


def test_deep_json_is_refused_not_crashing():
    doc = ('{"@id":"http://a","http://p":' + '{"http://p":' * 10000 + "1" + "}" * 10000 + "}").encode()
    with pytest.raises(IngestError) as err:
        parse(doc, "application/ld+json")
    assert err.value.status == 400
    assert "nesting" in err.value.message


def _nested_rdf_xml(levels: int) -> bytes:
    """``levels`` elements deep, each level declaring a namespace (what made pyoxigraph slowest:
    20,000 levels took 8 s, 50,000 about a minute)."""
    opens = "".join(f'<e:p xmlns:n{i}="http://n{i}/"><rdf:Description>' for i in range((levels - 2) // 2))
    closes = "</rdf:Description></e:p>" * ((levels - 2) // 2)
    return (f'<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:e="http://e/"><rdf:Description rdf:about="http://e/a">'
            f"{opens}{closes}</rdf:Description></rdf:RDF>").encode()


RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def test_deep_rdf_xml_is_refused_before_parsing_naming_the_limit():
    with pytest.raises(IngestError) as err:
        parse(_nested_rdf_xml(50_000), "application/rdf+xml")
    assert err.value.status == 400
    assert f"{ingest.MAX_XML_DEPTH} levels" in err.value.message and "nesting" in err.value.message
    assert err.value.line == 1 and err.value.column > 1
    # at the limit it parses
    assert len(parse(_nested_rdf_xml(ingest.MAX_XML_DEPTH), "application/rdf+xml")) == ingest.MAX_XML_DEPTH // 2 - 1


def test_entity_declarations_are_refused_in_any_encoding():
    """The byte search for <!ENTITY cannot see it in UTF-16; the XML pre-scan reads the encoding."""
    doc = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE rdf:RDF [<!ENTITY a "aaaaaaaaaa">'
           '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
           f'<rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:ex="http://e/">'
           '<rdf:Description rdf:about="http://e/x"><ex:p>&b;</ex:p></rdf:Description></rdf:RDF>').encode("utf-16")
    with pytest.raises(IngestError) as err:
        parse(doc, "application/rdf+xml")
    assert err.value.status == 400 and "ENTITY" in err.value.message


def test_xml_that_is_not_well_formed_is_refused_with_its_line():
    doc = f'<rdf:RDF xmlns:rdf="{RDF_NS}">\n<rdf:Description rdf:about="http://e/x">\x00</rdf:Description></rdf:RDF>'
    with pytest.raises(IngestError) as err:
        parse(doc.encode(), "application/rdf+xml")
    assert err.value.status == 400 and err.value.line == 2 and "RDF/XML" in err.value.message


@pytest.mark.parametrize("context", [
    "http://127.0.0.1:9/context.jsonld",
    "https://example.org/context.jsonld",
    "file:///etc/passwd",
    "/etc/passwd",
    ["https://example.org/other.jsonld"],
    {"@import": "https://example.org/ctx.jsonld"},
])
def test_json_ld_never_fetches_other_contexts(context):
    doc = json.dumps({"@context": context, "@id": "http://a", "http://b": "c"}).encode()
    with pytest.raises(IngestError) as err:
        parse(doc, "application/ld+json")
    assert err.value.status == 400
    assert "refused" in err.value.message


def test_scoped_remote_context_is_refused():
    doc = json.dumps({"@context": {"knows": {"@id": "http://x/knows", "@context": "https://evil.example/c"}},
                      "@id": "http://a", "knows": {"@id": "http://b"}}).encode()
    with pytest.raises(IngestError):
        parse(doc, "application/ld+json")


def test_the_standard_context_url_resolves_locally():
    for url in (standard.CONTEXT_URL, standard.CONTEXT_VERSION_URL):
        doc = json.dumps({"@context": url, "@id": "https://c.example/#c", "@type": "EnergyCommunity"}).encode()
        triples = parse(doc, "application/ld+json").triples
        assert ox.Triple(ox.NamedNode("https://c.example/#c"),
                         ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                         ox.NamedNode(standard.EC + "EnergyCommunity")) in triples


def test_relative_iris_resolve_against_the_base():
    triples = parse(b'<#c> <http://e/p> "x" .', "text/turtle", base_iri="https://w3id.org/ecgraph/twin/t").triples
    assert triples[0].subject == ox.NamedNode("https://w3id.org/ecgraph/twin/t#c")


def test_ingest_error_survives_pickling():
    import pickle

    err = IngestError(400, "bad", line=3, column=4)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.status, copy.message, copy.line, copy.column) == (400, "bad", 3, 4)


def test_known_context_urls_are_the_standards():
    assert standard.CONTEXT_URL in ingest.known_context_urls()


def test_json_numbers_become_decimal_lexical_forms():
    """JSON-LD writes 12.5 as "1.25E1" even under an xsd:decimal coercion; the author meant 12.5."""
    doc = json.dumps({"@context": {"v": {"@id": "http://e/v", "@type": "http://www.w3.org/2001/XMLSchema#decimal"},
                                   "n": {"@id": "http://e/n", "@type": "http://www.w3.org/2001/XMLSchema#integer"}},
                      "@id": "http://e/a", "v": [12.5, 0.000125, 3], "n": [12.0, 7]}).encode()
    values = {(t.predicate.value, t.object.value) for t in parse(doc, "application/ld+json").triples}
    assert ("http://e/v", "12.5") in values
    assert ("http://e/v", "0.000125") in values
    assert ("http://e/n", "12") in values and ("http://e/n", "7") in values
    assert not any("E" in v for _, v in values)


def test_a_node_id_that_is_no_iri_does_not_break_the_search_for_dropped_values():
    """Regression (found by the long fuzzing): "@id": "https:[//x" made the search for dropped
    JSON-LD values raise ValueError (a 500 on upload); the values are still reported."""
    document = {"@context": standard.CONTEXT_URL,
                "@graph": [{"@id": "https:[//fuzz.example/id/c", "type": "EnergyCommunity",
                            "activity": "energy sharing"}]}
    parsed = parse(json.dumps(document).encode(), filename="x.jsonld")
    assert [(p.key, p.value) for p in parsed.problems] == [("activity", "energy sharing")]
    assert parsed.problems[0].focus is None


def test_an_xml_declaration_naming_an_unknown_encoding_is_a_400_that_says_what_to_declare():
    """Found by the mutation fuzz: encoding="TTF-8" made expat raise LookupError, a 500."""
    doc = (f'<?xml version="1.0" encoding="TTF-8"?><rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:ex="http://e/">'
           '<rdf:Description rdf:about="http://e/x"><ex:p>v</ex:p></rdf:Description></rdf:RDF>').encode()
    with pytest.raises(IngestError) as err:
        parse(doc, "application/rdf+xml")
    assert err.value.status == 400 and "TTF-8" in err.value.message and "UTF-8" in err.value.message

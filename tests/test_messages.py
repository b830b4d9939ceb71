"""What a report says: each message names the check that failed and the value that failed it (a
blank node by what it contains), suggests the nearest code, comes in English, French or Dutch,
reports one mistake once, and a refused upload's answer leads with what blocks it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ecgraph import standard
from ecgraph.cli import main
from ecgraph.publish import ingest
from ecgraph.standard import kit
from ecgraph.validation.validate import validate
from tests.helpers import ADMIN, auth

CASES = {c.id: c for c in kit.cases()}

TWIN = """@prefix ec: <https://w3id.org/ecgraph/ns#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> . @prefix schema: <https://schema.org/> .
@base <https://msg.example/id/> .
<twin> a ec:DigitalTwin ; dcterms:title "t" ; dcterms:publisher <c> ; ec:describes <c> ;
    dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.1.0> .
<c> a ec:EnergyCommunity ; schema:name "Message test community" .
"""


def report_of(text: str, profile: str = "core", lang: str = "en"):
    parsed = ingest.parse(text.encode(), "text/turtle")
    return validate(parsed.triples, profile, problems=parsed.problems, lang=lang)


def case_report(case_id: str, lang: str = "en"):
    case = CASES[case_id]
    parsed = ingest.parse(case.path.read_bytes(), filename=case.path.name, base_iri=case.path.as_uri())
    return validate(parsed.triples, {"core": "core", "recommended": "all"}[case.profile], problems=parsed.problems,
                    lang=lang)


def test_a_datatype_failure_says_datatype_not_cardinality():
    """1.0 answered a founding year written as a date with "may have at most one
    schema:foundingDate"; the message now says what is wrong and how to write it."""
    (result,) = case_report("year-as-date").results
    assert result.component == "OrConstraintComponent"
    assert result.message.startswith('"2012"^^xsd:date is not a valid xsd:date')
    assert '"2012"^^xsd:gYear' in result.message and "at most one" not in result.message
    assert "at most one" in result.rule  # the rule itself is kept beside the message


def test_a_cardinality_failure_lists_what_was_found():
    text = TWIN + '<c> schema:foundingDate "2001-01-01"^^xsd:date , "2002-02-02"^^xsd:date .\n'
    (result,) = report_of(text).results
    assert result.message.startswith("too many values of schema:foundingDate: at most 1 allowed")
    assert '"2001-01-01"^^xsd:date' in result.message and '"2002-02-02"^^xsd:date' in result.message


def test_a_blank_node_value_is_shown_by_what_it_says():
    """"(found _:b12)" told a vendor nothing; the node's own statements do."""
    text = TWIN + '<c> ec:network [ schema:name "Our network" ] .\n'
    (result,) = report_of(text).results
    assert result.shape.endswith("CommunityShape-network")
    assert '[ schema:name "Our network" ]' in result.message
    assert "_:b" not in result.message


def test_a_code_not_in_its_list_gets_the_nearest_code():
    messages = {r.message for r in case_report("jsonld-unknown-short-code").results}
    assert any("did you mean ec:legalform-cooperative?" in m for m in messages), messages
    report = report_of(TWIN + "<c> ec:activity ec:activity-energy-sharng .\n")
    assert "did you mean ec:activity-energy-sharing?" in report.results[0].message


def test_unknown_terms_and_dropped_json_ld_values_are_reported_with_the_nearest_term():
    messages = [r.message for r in case_report("jsonld-unknown-keys-and-dropped-values").results]
    assert any("ec:ratedPowr is not a term of the standard; did you mean ec:ratedPower?" in m for m in messages)
    assert any("ec:province" in m and "schema:addressRegion" in m for m in messages)
    assert any('"energy sharing"' in m and 'did you mean "energy-sharing"?' in m for m in messages)


def test_one_mistake_is_reported_once():
    """An ill-typed start date also fails the date order; NaN also fails "at least 0": each is one
    result, the consequences kept inside it."""
    report = case_report("ill-typed-values")
    assert len(report.results) == 2
    by_shape = {r.shape.rsplit("#", 1)[1]: r for r in report.results}
    also_dates = by_shape["MembershipShape-startDate"].also
    assert [a["shape"].rsplit("#", 1)[1] for a in also_dates] == ["MembershipShape-dateOrder"]
    also_quantities = by_shape["QuantityValueShape-numericValue"].also
    assert [a["component"] for a in also_quantities] == ["MinInclusiveConstraintComponent"]
    # and SHACL's own results are all still there for whoever counts them
    assert kit.Case.outcome(report.results) == CASES["ill-typed-values"].expected


def test_a_string_where_a_node_is_expected_is_one_mistake():
    report = case_report("register-fields-wrong")
    registration = next(r for r in report.results if r.shape.endswith("CommunityShape-registration"))
    assert {a["shape"].rsplit("#", 1)[1] for a in registration.also} == {"RegistrationShape-number"}
    assert all(r.focus_nt.startswith(("<", "_:")) for r in report.results)  # no literal as a focus


@pytest.mark.parametrize("lang,words", [("fr", "n'est pas un xsd:date valide"), ("nl", "is geen geldige xsd:date")])
def test_messages_and_rules_in_french_and_dutch(lang, words):
    (result,) = case_report("year-as-date", lang).results
    assert words in result.message
    english = case_report("year-as-date").results[0]
    assert result.rule != english.rule and result.rule  # the shape's own sh:message in that language


def test_the_cli_and_the_api_take_the_language():
    case = CASES["year-as-date"]
    out = CliRunner().invoke(main, ["validate", str(case.path), "--lang", "nl", "--format", "json"])
    assert "geen geldige" in json.loads(out.stdout)["results"][0]["message"]


def test_the_api_answers_in_the_asked_language(client):
    case = CASES["year-as-date"]
    for headers, query, words in (({}, {"lang": "fr"}, "valide"),
                                  ({"Accept-Language": "nl-BE,nl;q=0.9"}, {}, "geldige")):
        r = client.post("/api/validate", query_string=query, data=case.path.read_bytes(), content_type="text/turtle",
                        headers=headers)
        assert words in r.get_json()["results"][0]["message"]


def test_a_refused_upload_leads_with_what_blocks_it(client):
    """One violation among a dozen warnings: the 422 detail names it, and the report lists the
    blocking results first."""
    token = client.post("/api/twins", json={"id": "blocked"}, headers=auth(ADMIN)).get_json()["token"]
    body = (TWIN.replace("msg.example", "blocked.example")
            + '<c> schema:foundingDate "2012"^^xsd:date .\n').encode()
    r = client.put("/api/twins/blocked", data=body, content_type="text/turtle", headers=auth(token))
    assert r.status_code == 422
    answer = r.get_json()
    assert "breaks 1 rule of the core profile 1.1.0" in answer["detail"]
    assert "schema:foundingDate" in answer["detail"] and "xsd:gYear" in answer["detail"]
    report = answer["report"]
    assert report["summary"]["counts"]["Warning"] >= 10
    assert [b["shape"] for b in report["blocking"]] == [standard.SHAPES_NS["core"] + "CommunityShape-foundingDate"]
    assert report["results"][0]["severity"] == "Violation"
    assert list(report)[:2] == ["conforms", "blocking"]  # before the groups and the results

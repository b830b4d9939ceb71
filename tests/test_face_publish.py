"""Publishing from the web face without writing RDF: the twin form generated from the shapes, the
publish page, and personal data kept off the pages.

One node (on-disk store, no workers) and one Flask test client for the module; every twin has an
id of its own, so the tests do not depend on their order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from werkzeug.datastructures import MultiDict

from ecgraph import standard
from ecgraph.config import Config
from ecgraph.web.face import form as twin_form
from tests.helpers import ADMIN

EC = standard.EC
TEMPLATES = Path(__file__).resolve().parent.parent / "ecgraph" / "web" / "templates"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    from ecgraph.node import Node

    config = Config.load(environ={}, data=tmp_path_factory.mktemp("publish") / "data", admin_token=ADMIN,
                         no_demo=True, max_upload_bytes=200_000)
    n = Node(config, workers=False)
    yield n
    n.close()


@pytest.fixture(scope="module")
def client(node):
    from ecgraph.web import create_app

    app = create_app(node)
    app.testing = True
    return app.test_client()


def filled(twin: str, **extra: str) -> dict[str, str]:
    """A community as a person fills it in: name, place, a school member, a PV roof, an indicator,
    a lesson, a licence."""
    values = {
        "twin": twin, "community.name": "Zon op School", "community.legalForm": EC + "legalform-cooperative",
        "place.locality": "Gent", "place.country": "BE", "place.latitude": "51.05", "place.longitude": "3.72",
        "members.rows": "1", "members.0.name": "Basisschool De Regenboog", "members.0.memberType": EC + "School",
        "assets.rows": "1", "assets.0.assetType": EC + "PVInstallation", "assets.0.peakPower": "30",
        "indicators.rows": "1", "indicators.0.indicator": EC + "kpi-energy-produced",
        "indicators.0.periodStart": "2024-01-01", "indicators.0.periodEnd": "2024-12-31",
        "indicators.0.numericValue": "27500", "indicators.0.hasUnit": "http://qudt.org/vocab/unit/KiloW-HR",
        "lessons.rows": "1", "lessons.0.name": "Pupils read the meter", "lessons.0.topic": EC + "topic-schools",
        "lessons.0.summary": "A weekly meter reading made the roof part of the lessons.",
        "contact.license": "https://creativecommons.org/licenses/by/4.0/",
    }
    values.update(extra)
    return values


def register(node, twin: str) -> str:
    return node.register(twin)


def html(response) -> str:
    return response.get_data(as_text=True)


def error_text(response) -> str:
    import html as html_module

    found = re.search(r'id="error".*?<p>(.*?)</p>', html(response), re.S)
    return html_module.unescape(found.group(1)) if found else ""


# --- the form is generated from the shapes -----------------------------------------------------------

def test_the_form_has_a_field_per_property_shape_with_its_code_list_and_labels_in_three_languages():
    form = twin_form.current_form()
    community = {f.key: f for f in form.section("community").fields}
    legal = community["legalForm"]
    assert legal.kind == "select" and not legal.repeatable
    assert EC + "legalform-cooperative" in [iri for iri, _ in legal.options]
    assert community["name"].required
    assert community["activity"].repeatable  # no sh:maxCount
    assert community["memberCount"].kind == "integer" and community["foundingDate"].kind == "date"
    assert legal.label("fr") == "forme juridique" and legal.label("nl") != legal.label("en")
    members = {f.key: f for f in form.section("members").fields}
    assert members["memberType"].options[0][0] == EC + "School"  # schools first
    lessons = {f.key: f for f in form.section("lessons").fields}
    assert lessons["topic"].required and lessons["whatDidNotWork"].kind == "textarea"
    indicators = {f.key: f for f in form.section("indicators").fields}
    assert "http://qudt.org/vocab/unit/KiloW-HR" in [iri for iri, _ in indicators["hasUnit"].options]
    assets = {f.key: f for f in form.section("assets").fields}
    assert assets["peakPower"].kind == "quantity" and assets["peakPower"].unit.endswith("/KiloW")
    contact = {f.key: f for f in form.section("contact").fields}
    assert contact["contactName"].personal and contact["personalDataBasis"].kind == "select"


def test_a_new_profile_version_changes_the_form_without_code_changes(tmp_path, client, monkeypatch):
    core = standard.shapes_file("core").read_text(encoding="utf-8")
    core = core.replace("ecsh:CommunityShape-hasOwnership ;",
                        "ecsh:CommunityShape-hasOwnership , ecsh:CommunityShape-motto ;", 1)
    core += """
ecsh:CommunityShape-motto a sh:PropertyShape ;
    rdfs:label "community motto"@en ;
    sh:path ec:motto ;
    sh:minCount 1 ;
    sh:maxCount 1 ;
    sh:in ( ec:topic-schools ec:topic-heat ) .
"""
    (tmp_path / "core.ttl").write_text(core, encoding="utf-8")
    new = twin_form.Form(twin_form.Standard((tmp_path / "core.ttl", standard.shapes_file("recommended"))))
    fields = {f.key: f for f in new.section("community").fields}
    assert "motto" not in {f.key for f in twin_form.current_form().section("community").fields}
    motto = fields["motto"]
    assert motto.kind == "select" and motto.required and not motto.repeatable
    assert [iri for iri, _ in motto.options] == [EC + "topic-schools", EC + "topic-heat"]
    assert motto.label("en") == "community motto"
    values = twin_form.read_values(new, MultiDict({"community.name": "X", "community.motto": EC + "topic-heat"}))
    triples = twin_form.build(new, values, "x", "urn:ecgraph:form:x/")
    assert ox.Triple(ox.NamedNode("urn:ecgraph:form:x/community"), ox.NamedNode(EC + "motto"),
                     ox.NamedNode(EC + "topic-heat")) in triples
    monkeypatch.setattr(twin_form, "current_form", lambda: new)  # the node's profile is now the new one
    page = html(client.get("/publish/form"))
    assert 'name="community.motto"' in page and "community motto" in page


def test_the_form_page_lists_the_fields_in_the_readers_language(client):
    response = client.get("/publish/form", headers={"Accept-Language": "fr"})
    assert response.status_code == 200
    page = html(response)
    assert 'name="community.legalForm"' in page and "forme juridique" in page
    assert 'name="members.0.memberType"' in page
    assert page.index(f'value="{EC}School"') < page.index(f'value="{EC}Household"')


def test_every_word_of_the_publishing_pages_has_its_french_and_dutch():
    from ecgraph.web.face.publish import BASIS_NEEDED, DETECTED, HIDDEN_NOTE, INTRO_FORM, INTRO_PUBLISH, MESSAGES, PLAIN

    used = set()
    for name in ("form.html", "publish.html"):
        used |= set(re.findall(r't\("([^"]+)"\)', (TEMPLATES / "face" / name).read_text(encoding="utf-8")))
        used |= set(re.findall(r"t\('([^']+)'\)", (TEMPLATES / "face" / name).read_text(encoding="utf-8")))
    assert used
    used |= set(PLAIN.values()) | {BASIS_NEEDED, INTRO_FORM, INTRO_PUBLISH, DETECTED, HIDDEN_NOTE}
    used -= {"INTRO_FORM", "INTRO_PUBLISH", "DETECTED", "HIDDEN_NOTE"}
    for lang in ("fr", "nl"):
        assert used - set(MESSAGES[lang]) == set(), lang


# --- check, publish, edit, download -------------------------------------------------------------------

def test_check_shows_the_validators_report_and_stores_nothing(client, node):
    register(node, "form-check")
    response = client.post("/publish/form", data={**filled("form-check"), "action": "check"})
    assert response.status_code == 200
    page = html(response)
    assert 'id="checked"' in page and 'id="verdict" class="ok"' in page
    assert 'id="groups"' in page  # the validator's report table (warnings of the recommended profile)
    assert node.entry("form-check") is None


def test_a_mistake_is_reported_and_refused_with_nothing_published(client, node):
    token = register(node, "form-mistake")
    wrong = filled("form-mistake", **{"lessons.0.topic": ""})  # a lesson needs a topic
    checked = client.post("/publish/form", data={**wrong, "action": "check"})
    assert 'class="fail"' in html(checked) and "ec:topic" in html(checked)
    refused = client.post("/publish/form", data={**wrong, "action": "publish", "token": token})
    assert refused.status_code == 422
    assert "does not conform" in error_text(refused) and "Nothing was published" in error_text(refused)
    assert 'class="fail"' in html(refused)
    assert 'value="Zon op School"' in html(refused)  # what was typed is still there
    assert node.entry("form-mistake") is None


def test_the_form_publishes_with_the_twin_token_through_the_pipeline_and_edits_later(client, node):
    token = register(node, "form-school")
    wrong = client.post("/publish/form", data={**filled("form-school"), "action": "publish", "token": "ecg_wrong"})
    assert wrong.status_code == 403 and "not this twin's" in error_text(wrong)
    assert node.entry("form-school") is None
    published = client.post("/publish/form", data={**filled("form-school"), "action": "publish", "token": token})
    assert published.status_code == 303, error_text(published)
    community = "urn:ecgraph:form:form-school/community"
    assert published.headers["Location"].startswith("/resource?iri=urn")
    page = html(client.get(published.headers["Location"]))
    assert "Zon op School" in page and "Basisschool De Regenboog" in page and "Pupils read the meter" in page
    assert node.entry("form-school").version == 1
    data = node.twin_data("form-school")
    assert ox.Triple(ox.NamedNode(community), standard.RDF_TYPE, ox.NamedNode(EC + "EnergyCommunity")) in data

    # edit: the form shows the published twin, every statement of it
    edit = client.get("/publish/form?twin=form-school")
    page = html(edit)
    assert "Edit your twin" in page and 'value="Zon op School"' in page and 'value="27500"' in page
    assert 'id="hidden-note"' not in page
    values, namespace, hidden = twin_form.prefill(twin_form.current_form(), data)
    assert hidden == 0 and namespace == "urn:ecgraph:form:form-school/"
    assert set(twin_form.build(twin_form.current_form(), values, "form-school", namespace)) == set(data)
    again = client.post("/publish/form", data={**filled("form-school", **{"community.name": "Zon op School Gent"}),
                                               "action": "publish", "token": token, "editing": "1"})
    assert again.status_code == 303
    assert node.entry("form-school").version == 2
    assert "Zon op School Gent" in html(client.get(again.headers["Location"]))


def test_editing_a_twin_with_statements_the_form_cannot_show_says_so(client, node):
    from tests.helpers import make_twin

    register(node, "form-extra")
    node.publish("form-extra", node.upload_for("form-extra", make_twin("form-extra", schools=1),
                                               media_type="text/turtle"))
    page = html(client.get("/publish/form?twin=form-extra"))
    assert 'value="Test community form-extra"' in page
    note = re.search(r'id="hidden-note"[^>]*>This twin has (\d+) statements the form does not show', page)
    assert note and int(note.group(1)) >= 4  # its t:version statements, which no shape describes


def test_the_community_downloads_what_the_form_made_as_turtle_and_json_ld(client):
    turtle = client.post("/publish/form", data={**filled("form-download"), "action": "turtle"})
    jsonld = client.post("/publish/form", data={**filled("form-download"), "action": "jsonld"})
    assert turtle.mimetype == "text/turtle" and "attachment" in turtle.headers["Content-Disposition"]
    assert jsonld.mimetype == "application/ld+json"
    a = set(q.triple for q in ox.parse(turtle.data, format=ox.RdfFormat.TURTLE))
    b = set(q.triple for q in ox.parse(jsonld.data, format=ox.RdfFormat.JSON_LD))
    assert a == b and len(a) > 30


def test_adding_a_row_keeps_what_was_typed(client):
    response = client.post("/publish/form", data={**filled("form-rows"), "action": "add:members"})
    page = html(response)
    assert 'name="members.1.name"' in page and 'value="Basisschool De Regenboog"' in page


def test_the_form_asks_for_a_basis_where_a_field_holds_personal_data(client, node):
    token = register(node, "form-basis")
    personal_data = {"members.rows": "2", "members.1.name": "Jan Peeters", "members.1.memberType": EC + "Person",
                     "contact.contactName": "Griet Janssens", "contact.contactEmail": "griet@example.org"}
    checked = client.post("/publish/form", data={**filled("form-basis", **personal_data), "action": "check"})
    page = html(checked)
    notice = page.split('id="basis-needed"')[1].split("</section>")[0]
    assert "Jan Peeters" not in notice  # the notice names the fields, not the people
    assert "2 (person)" in page and "personal data basis" in page
    refused = client.post("/publish/form", data={**filled("form-basis", **personal_data), "action": "publish",
                                                 "token": token})
    assert refused.status_code == 422 and "choose its basis" in error_text(refused)
    assert node.entry("form-basis") is None
    based = {**personal_data, "contact.personalDataBasis": EC + "basis-consent"}
    published = client.post("/publish/form", data={**filled("form-basis", **based), "action": "publish",
                                                   "token": token})
    assert published.status_code == 303, error_text(published)
    stored = node.twin_data("form-basis")
    assert {"Jan Peeters", "Griet Janssens"} <= {t.object.value for t in stored}  # published, with its basis
    assert ox.Triple(ox.NamedNode("urn:ecgraph:form:form-basis/twin"), ox.NamedNode(EC + "personalDataBasis"),
                     ox.NamedNode(EC + "basis-consent")) in stored
    shown = html(client.get(published.headers["Location"]))
    assert "Basisschool De Regenboog" in shown and "Jan Peeters" not in shown and "Griet" not in shown


# --- the publish page -------------------------------------------------------------------------------

def turtle_of(client, twin: str, **extra: str) -> str:
    return client.post("/publish/form", data={**filled(twin, **extra), "action": "turtle"}).get_data(as_text=True)


def test_the_publish_page_publishes_pasted_text_then_shows_the_community(client, node):
    token = register(node, "page-good")
    text = turtle_of(client, "page-good")
    response = client.post("/publish", data={"twin": "page-good", "token": token, "text": text})
    assert response.status_code == 303
    assert "Zon op School" in html(client.get(response.headers["Location"]))
    assert node.entry("page-good").format == "text/turtle"


def test_the_publish_page_says_what_is_wrong_in_plain_words_and_writes_nothing(client, node):
    token = register(node, "page-bad")
    good = turtle_of(client, "page-bad")
    wrong_token = client.post("/publish", data={"twin": "page-bad", "token": "ecg_nope", "text": good})
    assert wrong_token.status_code == 403 and "not this twin's" in error_text(wrong_token)
    assert 'id="verdict"' not in html(wrong_token)  # nothing read before the token was checked
    no_token = client.post("/publish", data={"twin": "page-bad", "text": good})
    assert no_token.status_code == 401 and "Give the twin's token" in error_text(no_token)
    unknown = client.post("/publish", data={"twin": "page-nobody", "token": token, "text": good})
    assert unknown.status_code in (403, 404)
    bad = turtle_of(client, "page-bad", **{"lessons.0.topic": ""})
    refused = client.post("/publish", data={"twin": "page-bad", "token": token, "text": bad})
    assert refused.status_code == 422 and "does not conform" in error_text(refused)
    assert 'id="verdict" class="fail"' in html(refused) and "ec:topic" in html(refused)
    assert "Read as <strong>turtle</strong>" in html(refused)  # the validator's format detection
    assert "Pupils read the meter" in html(refused)  # the pasted text is kept
    big = ("# padding\n" * 25_000).encode() + good.encode()
    too_large = client.post("/publish", data={"twin": "page-bad", "token": token,
                                              "file": (__import__("io").BytesIO(big), "twin.ttl")},
                            content_type="multipart/form-data")
    assert too_large.status_code == 413 and "too large" in error_text(too_large)
    pasted = client.post("/publish", data={"twin": "page-bad", "token": token, "text": big.decode()})
    assert pasted.status_code == 413 and pasted.mimetype == "text/html" and "too large" in error_text(pasted)
    assert node.entry("page-bad") is None  # nothing half-written by any of them


# --- personal data stays off the pages ------------------------------------------------------------------

PERSONAL = """@prefix ec: <https://w3id.org/ecgraph/ns#> . @prefix schema: <https://schema.org/> .
@prefix dcterms: <http://purl.org/dc/terms/> . @prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
<https://private.example/id/twin> a ec:DigitalTwin ; dcterms:title "Buurtstroom" ;
  dcterms:publisher <https://private.example/id/community> ; ec:describes <https://private.example/id/community> ;
  dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.1.0> ; ec:personalDataBasis ec:basis-consent .
<https://private.example/id/community> a ec:EnergyCommunity ; schema:name "Buurtstroom" ;
  ec:contactPoint <https://private.example/id/contact> .
<https://private.example/id/contact> a vcard:Kind ; vcard:fn "Griet Janssens" ;
  vcard:hasEmail <mailto:griet.janssens@private.example> .
<https://private.example/id/m1> a ec:Membership ; ec:community <https://private.example/id/community> ;
  ec:member <https://private.example/id/school> .
<https://private.example/id/school> a ec:School ; schema:name "GO! Atheneum" .
<https://private.example/id/m2> a ec:Membership ; ec:community <https://private.example/id/community> ;
  ec:member <https://private.example/id/jan> .
<https://private.example/id/jan> a ec:Person ; schema:name "Jan Peeters" ;
  schema:address [ schema:streetAddress "Kerkstraat 12" ] .
<https://private.example/id/m3> a ec:Membership ; ec:community <https://private.example/id/community> ;
  ec:member <https://private.example/id/home> .
<https://private.example/id/home> a ec:Household ; schema:name "Familie Claes" .
"""


def test_personal_data_published_with_a_basis_is_absent_from_the_rendered_pages(client, node):
    token = register(node, "private")
    published = client.post("/publish", data={"twin": "private", "token": token, "text": PERSONAL})
    assert published.status_code == 303, error_text(published)
    stored = {t.object.value for t in node.twin_data("private")}
    assert {"Jan Peeters", "Familie Claes", "Griet Janssens", "Kerkstraat 12"} <= stored  # published: it has a basis
    secrets = ("Jan Peeters", "Familie Claes", "Griet Janssens", "griet.janssens", "Kerkstraat")
    page = html(client.get("/resource?iri=https://private.example/id/community"))
    assert "Buurtstroom" in page and "GO! Atheneum" in page  # the school member is shown
    for secret in secrets:
        assert secret not in page
    for iri in ("jan", "home", "contact"):
        person = client.get(f"/resource?iri=https://private.example/id/{iri}")
        assert person.status_code == 404 and all(s not in html(person) for s in secrets)
    membership = html(client.get("/resource?iri=https://private.example/id/m2"))
    assert "Jan Peeters" not in membership and "/id/jan" not in membership
    rdf = client.get("/resource?iri=https://private.example/id/community", headers={"Accept": "text/turtle"})
    assert rdf.status_code == 200 and all(s not in rdf.get_data(as_text=True) for s in secrets)
    # discovery shows a community's contact on its cards and results: a person's is not shown there either
    listed = client.get("/api/discovery/communities").get_json()["communities"]
    mine = [c for c in listed if c.get("iri") == "https://private.example/id/community"]
    assert mine and all(s not in json.dumps(listed) for s in secrets)
    lessons = client.get("/discover/lessons")
    assert lessons.status_code == 200 and all(s not in html(lessons) for s in secrets)

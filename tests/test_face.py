"""The web face over a real node holding the demo network (Flask's test client, one node for the
module): the directory's search, facets, pages and shareable URLs; each page's machine twin by
content negotiation; every IRI a link; the three languages. The same journey in a browser, with
axe-core and a phone-sized run, is tests/test_face_browser.py."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest

from ecgraph.config import Config
from ecgraph.web.face import i18n
from tests.helpers import ADMIN, make_twin

EC = "https://w3id.org/ecgraph/ns#"
CANAL_SUD = "https://canal-sud-energie.example/id/community"
NETWORK = "https://canal-sud.example/id/network"
SCHOOL_QUERY = """PREFIX ec: <https://w3id.org/ecgraph/ns#>
SELECT DISTINCT ?c WHERE { ?c a ec:EnergyCommunity ; ec:hasMember ?m . ?m a ec:School }"""
TEMPLATES = Path(__file__).resolve().parent.parent / "ecgraph" / "web" / "templates"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_data):
    from ecgraph.node import Node

    config = Config.load(environ={}, data=demo_data(tmp_path_factory.mktemp("face") / "data"), admin_token=ADMIN,
                         no_demo=True)
    node = Node(config, workers=False)
    yield node
    node.close()


@pytest.fixture(scope="module")
def client(demo):
    from ecgraph.web import create_app

    app = create_app(demo)
    app.testing = True
    return app.test_client()


def _json(client, url: str) -> dict:
    response = client.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.data[:500]
    assert response.mimetype == "application/json"
    return response.get_json()


def _schools(demo) -> set[str]:
    return {row["c"].value for row in demo.store.query(SCHOOL_QUERY)}


# --- the directory ------------------------------------------------------------------------------------

def test_the_school_facet_comes_first_and_finds_what_the_school_question_finds(client, demo):
    body = _json(client, "/communities")
    member = next(f for f in body["facets"] if f["name"] == "member")
    assert member["values"][0]["value"] == EC + "School"
    assert member["values"][0]["count"] == len(_schools(demo))
    chosen = _json(client, "/communities?member=" + quote(EC + "School"))
    assert {c["iri"] for c in chosen["results"]} == _schools(demo)
    assert chosen["filters"]["member"] == [EC + "School"]


def test_searching_for_school_in_any_of_the_three_languages_finds_the_same_communities(client, demo):
    found = [{c["iri"] for c in _json(client, "/communities?q=" + quote(word))["results"]}
             for word in ("school", "école", "ECOLE")]
    assert found[0] == found[1] == found[2] == _schools(demo)


def test_facet_counts_leave_their_own_choice_out_and_every_choice_narrows(client):
    everything = _json(client, "/communities")
    facet = next(f for f in everything["facets"] if f["name"] == "country")
    countries = {v["value"]: v["count"] for v in facet["values"]}
    unplaced = [c for c in _json(client, "/communities?page_size=100")["results"] if not c["country"]]
    assert sum(countries.values()) == everything["total"] - len(unplaced)  # one demo twin gives no address
    be = _json(client, "/communities?country=BE")
    assert be["total"] == countries["BE"]
    assert {c["country"] for c in be["results"]} == {"BE"}
    # the country facet still offers the other countries, with their own counts
    assert {v["value"]: v["count"] for v in next(f for f in be["facets"] if f["name"] == "country")["values"]} \
        == countries
    both = _json(client, "/communities?country=BE&country=NL")
    assert both["total"] == countries["BE"] + countries["NL"]
    narrower = _json(client, "/communities?country=BE&member=" + quote(EC + "School"))
    assert 0 < narrower["total"] < be["total"]


def test_pages_are_stable_and_cover_every_result_once(demo):
    directory = demo.directory
    total = directory.search()["total"]
    seen = []
    for page in range(1, 10):
        found = directory.search(page=page, page_size=5)
        seen.extend(c["iri"] for c in found["results"])
        if page >= found["pages"]:
            break
    assert len(seen) == len(set(seen)) == total
    assert seen == [c["iri"] for c in directory.search(page_size=1000)["results"]]


def test_the_json_twin_links_the_next_page_with_the_same_filters(client):
    body = _json(client, "/communities?country=BE&page=1")
    assert body["links"]["self"] == "/communities?country=BE&page=1"
    assert body["links"]["prev"] is None
    if body["pages"] > 1:
        assert body["links"]["next"] == "/communities?country=BE&page=2"
    assert all(card["page"].startswith("/resource?iri=") for card in body["results"])


def test_the_directory_follows_a_new_publish(tmp_path):
    from ecgraph.node import Node

    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True)
    node = Node(config, workers=False)
    try:
        assert node.directory.search()["total"] == 0
        node.register("alpha", "Alpha")
        node.publish("alpha", node.upload_for("alpha", make_twin("alpha", schools=1), media_type="text/turtle"))
        found = node.directory.search("alpha")
        assert [c["iri"] for c in found["results"]] == ["https://alpha.example/id/community"]
        assert found["results"][0]["member_types"][0]["school"] is True
    finally:
        node.close()


def test_a_page_number_that_is_not_a_number_is_a_clear_400(client):
    response = client.get("/communities?page=two", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "page" in response.get_json()["detail"]


# --- pages and their machine twins -------------------------------------------------------------------

def test_a_community_page_shows_what_people_ask_for(client):
    page = client.get("/resource?iri=" + quote(CANAL_SUD), headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for expected in ("Canal-Sud Citizen Energy", "Institut Saint-Amand", 'data-school="yes"', "What worked",
                     "What did not work", "withdraw it within a day", "210 kW", "<svg class=\"chart\"",
                     "General assembly 2024", "cooperateurs@canal-sud-energie.example",
                     "/api/twins/canal-sud-energie/badge.svg",
                     'id="provenance"', 'data-format="turtle"', 'data-format="rdfxml"'):
        assert expected in html, expected


def test_every_iri_on_a_resource_page_is_a_link(client):
    html = client.get("/resource?iri=" + quote("https://institut-saint-amand.example/id/school"),
                      headers={"Accept": "text/html"}).get_data(as_text=True)
    table = html.split('id="statements"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<td>(.*?)</td>", table, re.S)
    assert cells
    for cell in cells:
        if "http" in cell and "<a " not in cell:
            pytest.fail(f"an IRI that is not a link: {cell}")


def test_a_resource_page_shows_at_most_a_screenful_of_each_property_and_counts_the_rest(client, monkeypatch):
    """The catalog's resource lists every dataset (10,000 at N=10,000: a page of 1.4 MB in 1.4 to
    2.4 s, each value's name and privacy looked up). A page shows TRIPLES_PAGE_ROWS values of a
    property and says how many more there are, with the RDF (which has them all) linked."""
    from ecgraph.web.face import views

    catalog = "https://w3id.org/ecgraph/graph/catalog"
    rdf = client.get("/resource?iri=" + quote(catalog), headers={"Accept": "application/n-triples"})
    listed = [t for t in ox.parse(rdf.data, format=ox.RdfFormat.N_TRIPLES)
              if t.predicate.value == "http://www.w3.org/ns/dcat#dataset"]
    assert len(listed) > 5
    monkeypatch.setattr(views, "TRIPLES_PAGE_ROWS", 3)
    html = client.get("/resource?iri=" + quote(catalog), headers={"Accept": "text/html"}).get_data(as_text=True)
    table = html.split('id="statements"', 1)[1].split("</table>", 1)[0]
    shown = [t for t in listed if f'href="/resource?iri={t.object.value}"' in table]
    assert len(shown) == 3
    more = html.split('id="more"', 1)[1].split("</ul>", 1)[0]
    assert f"… {len(listed) - 3} more, in the RDF" in more
    assert client.get("/resource?iri=" + quote(CANAL_SUD), headers={"Accept": "text/html"}).status_code == 200


@pytest.mark.parametrize("fmt,media_type", [("turtle", "text/turtle"), ("ntriples", "application/n-triples"),
                                             ("jsonld", "application/ld+json"), ("rdfxml", "application/rdf+xml")])
def test_a_resource_gives_its_rdf_in_every_graph_format(client, fmt, media_type):
    response = client.get("/resource?iri=" + quote(CANAL_SUD), headers={"Accept": media_type})
    assert response.status_code == 200 and response.mimetype == media_type
    rdf_format = ox.RdfFormat.from_media_type(media_type)
    triples = [q.triple for q in ox.parse(response.data, format=rdf_format)]
    assert ox.Triple(ox.NamedNode(CANAL_SUD), ox.NamedNode("https://schema.org/name"),
                     ox.Literal("Canal-Sud Citizen Energy", language="en")) in triples
    assert client.get(f"/resource?iri={quote(CANAL_SUD)}&format={fmt}").mimetype == media_type


def test_a_twin_graph_iri_resolves_to_the_twin(client, demo):
    iri = "https://w3id.org/ecgraph/twin/canal-sud-energie"
    page = client.get("/resource?iri=" + quote(iri), headers={"Accept": "text/html"}).get_data(as_text=True)
    assert CANAL_SUD in page
    data = client.get("/resource?iri=" + quote(iri), headers={"Accept": "application/n-triples"})
    assert {q.triple for q in ox.parse(data.data, format=ox.RdfFormat.N_TRIPLES)} == \
        set(demo.twin_data("canal-sud-energie"))


def test_the_network_page_adds_up_its_communities(client):
    html = client.get("/resource?iri=" + quote(NETWORK), headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="network"' in html and CANAL_SUD in html
    assert "<svg class=\"chart\"" in html.split('id="indicators"', 1)[1]


def test_the_network_page_shows_its_kept_capacity_per_technology_and_members_per_type(demo):
    """The network page's capacity and member tables are the network's rows of the kept
    aggregates (``/api/aggregates``), with the standard's labels in the reader's language; while
    the figures are not built the page leaves the tables out rather than wait for a raw query."""
    import re

    from ecgraph.web import create_app

    client = create_app(demo).test_client()  # its own: the language cookie stays here

    def page(lang):
        return client.get(f"/resource?lang={lang}&iri=" + quote(NETWORK),
                          headers={"Accept": "text/html"}).get_data(as_text=True)

    if not demo.figures.ready:  # a node without workers builds no figures by itself
        assert 'id="capacity"' not in page("en")
        demo.figures.rebuild(background=False)
    html, french = page("en"), page("fr")
    for section, name, columns in (("capacity", "capacity-per-technology-and-network", ("assets", "totalKW")),
                                   ("members", "members-per-type-and-network", ("communities", "members"))):
        rows = [b for b in client.get(f"/api/aggregates/{name}").get_json()["results"]["bindings"]
                if b["network"]["value"] == NETWORK]
        assert rows, name
        table = html.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
        shown = re.findall(r'<tr data-iri="([^"]+)"><th scope="row">.*?</th><td>([^<]*)</td><td>([^<]*)</td>', table)
        key = "technology" if section == "capacity" else "type"
        assert [(iri, int(a), float(b)) for iri, a, b in shown] == [
            (r[key]["value"], int(r[columns[0]]["value"]), round(float(r[columns[1]]["value"]), 1)) for r in rows]
    assert "batterie" in french.split('id="capacity"', 1)[1] and "Puissance installée" in french
    assert "école" in french.split('id="members"', 1)[1]


def test_an_unknown_or_invalid_iri_is_said_plainly(client):
    unknown = client.get("/resource?iri=" + quote("https://nowhere.example/x"), headers={"Accept": "text/html"})
    assert unknown.status_code == 404 and "Nothing is known" in unknown.get_data(as_text=True)
    assert client.get("/resource?iri=" + quote("https://nowhere.example/x"),
                      headers={"Accept": "text/turtle"}).status_code == 404
    bad = client.get("/resource?iri=not%20an%20iri", headers={"Accept": "application/json"})
    assert bad.status_code == 400 and "absolute IRI" in bad.get_json()["detail"]


def test_a_browser_gets_a_failure_as_a_page_in_its_language_and_programs_the_json_problem(client):
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    bad = client.get("/resource?lang=fr&iri=not%20an%20iri", headers=browser)
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and bad.mimetype == "text/html"
    assert "Quelque chose ne va pas dans cette demande" in page and "absolute IRI" in page  # the what and how
    assert 'id="way-on"' in page and "<nav" in page  # the site's chrome and a way on, not a dead end
    nowhere = client.get("/no-such-page?lang=nl", headers=browser)
    assert nowhere.status_code == 404 and "Niet gevonden" in nowhere.get_data(as_text=True)
    # programs keep the JSON problem: no HTML preference, or an API path whatever the browser says
    assert client.get("/resource?iri=not%20an%20iri", headers={"Accept": "*/*"}).get_json()["error"]
    api = client.get("/api/twins/no-such-twin", headers=browser)
    assert api.status_code == 404 and api.get_json()["error"]


def test_the_ontology_is_a_page_for_people_and_rdf_for_machines(client):
    html = client.get("/ns", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="School"' in html and "école" in html and "energiegemeenschap" in html
    for media_type in ("text/turtle", "application/ld+json", "application/rdf+xml"):
        response = client.get("/ns", headers={"Accept": media_type})
        assert response.mimetype == media_type
        triples = [q.triple for q in ox.parse(response.data, format=ox.RdfFormat.from_media_type(media_type))]
        assert ox.Triple(ox.NamedNode(EC + "School"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                         ox.Literal("école", language="fr")) in triples
    context = client.get("/context.jsonld")
    assert context.mimetype == "application/ld+json" and "@context" in context.get_json()
    assert client.get("/ns/School").headers["Location"].endswith("/ns#School")


def test_catalog_and_service_description_are_pages_for_browsers_and_rdf_for_everyone_else(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for path in ("/catalog", "/sparql"):
        assert client.get(path, headers={"Accept": browser}).mimetype == "text/html"
        assert client.get(path).mimetype == "text/turtle"  # no Accept: RDF as before
        assert client.get(path, headers={"Accept": "*/*"}).mimetype == "text/turtle"
        assert client.get(path, headers={"Accept": "application/ld+json"}).mimetype == "application/ld+json"


# --- languages ---------------------------------------------------------------------------------------

def test_accept_language_and_the_switch_choose_the_language(client):
    nl = client.get("/communities", headers={"Accept": "text/html", "Accept-Language": "nl-BE,nl;q=0.9"})
    assert '<html lang="nl">' in nl.get_data(as_text=True) and "Gemeenschappen" in nl.get_data(as_text=True)
    assert "Accept-Language" in nl.headers["Vary"]
    fr = client.get("/communities?lang=fr", headers={"Accept": "text/html", "Accept-Language": "nl"})
    assert '<html lang="fr">' in fr.get_data(as_text=True) and "école" in fr.get_data(as_text=True)
    assert "ecgraph_lang=fr" in fr.headers["Set-Cookie"]
    # the cookie keeps the choice on the next page
    kept = client.get("/ns", headers={"Accept": "text/html", "Accept-Language": "nl"})
    assert '<html lang="fr">' in kept.get_data(as_text=True)
    client.delete_cookie("ecgraph_lang")


def test_every_string_the_templates_translate_has_french_and_dutch():
    keys: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        keys |= set(re.findall(r"""_\(\s*["']([^"']+)["']\s*\)""", path.read_text(encoding="utf-8")))
    from ecgraph.directory import FACETS

    keys |= {title for _, title in FACETS}
    keys |= {"Data catalog", "Service description"}
    from ecgraph.web import PAGE_HEADINGS

    keys |= set(PAGE_HEADINGS.values())
    assert len(keys) > 50
    for lang in ("fr", "nl"):
        missing = sorted(k for k in keys if k not in i18n.MESSAGES[lang])
        assert missing == [], f"{lang}: {missing}"


def test_pages_load_nothing_from_elsewhere(client):
    for path in ("/", "/communities", "/resource?iri=" + quote(CANAL_SUD), "/ns"):
        html = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
        sources = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
        assert sources and all(s.startswith("/") for s in sources), (path, sources)
        assert " style=" not in html  # the Content-Security-Policy forbids inline styles


# --- the validator page ------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    (b"@prefix ec: <https://w3id.org/ecgraph/ns#> .\nec:a ec:b ec:c .", "turtle"),
    (b'  {"@context": "https://w3id.org/ecgraph/context.jsonld"}', "jsonld"),
    (b'[{"@id": "https://a.example/x"}]', "jsonld"),
    (b"[ a <https://a.example/T> ] .", "turtle"),
    (b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>', "rdfxml"),
    (b"<https://a.example/s> <https://a.example/p> <https://a.example/o> <https://a.example/g> .\n", "nquads"),
    (b"<https://a.example/s> <https://a.example/p> \"x\" .\n", "turtle"),  # N-Triples is Turtle
    (b"<https://a.example/g> { <https://a.example/s> <https://a.example/p> 1 }", "trig"),
])
def test_pasted_text_says_its_format(text, expected):
    from ecgraph import formats

    assert formats.sniff(text).key == expected


def test_pasted_turtle_is_validated_without_a_format_and_stays_in_the_form(client):
    text = make_twin("pasted").decode()
    page = client.post("/validate", data={"text": text, "profile": "core"}).get_data(as_text=True)
    assert 'id="verdict"' in page and "conforms" in page
    assert "no Content-Type" not in page
    assert 'id="detected"' in page and "<strong>turtle</strong>" in page
    assert "Test community pasted" in page.split('id="text"', 1)[1].split("</textarea>", 1)[0]


def test_pasted_json_ld_is_recognised_and_a_mistake_keeps_the_text(client):
    text = ('{"@context": "https://w3id.org/ecgraph/context.jsonld", "id": "https://x.example/c", '
            '"type": "EnergyCommunity"')  # no closing brace
    response = client.post("/validate", data={"text": text})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="error"' in page
    assert "no Content-Type" not in page
    assert "https://x.example/c" in page.split('id="text"', 1)[1].split("</textarea>", 1)[0]
    assert "<strong>jsonld</strong>" in page


def test_the_standard_s_own_terms_open_their_section_of_the_ontology(client):
    response = client.get("/resource?iri=" + quote(EC + "School"), headers={"Accept": "text/html"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/ns#School")
    rdf = client.get("/resource?iri=" + quote(EC + "School"), headers={"Accept": "text/turtle"})
    assert rdf.status_code == 200 and b"school" in rdf.data


def test_a_network_twin_names_the_network_it_describes(client):
    page = client.get("/resource?iri=" + quote("https://w3id.org/ecgraph/twin/gbn-canal-sud"),
                      headers={"Accept": "text/html"}).get_data(as_text=True)
    assert NETWORK in page and "Canal-Sud" in page


def test_a_slow_directory_is_rebuilt_in_the_background_while_readers_get_the_previous_one(tmp_path):
    import time

    from ecgraph.node import Node

    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True)
    node = Node(config, workers=False)
    try:
        node.register("alpha", "Alpha")
        node.publish("alpha", node.upload_for("alpha", make_twin("alpha"), media_type="text/turtle"))
        directory = node.directory
        assert directory.search()["total"] == 1
        directory.wait_below = 0.0  # as if the last build had been slow
        node.register("beta", "Beta")
        node.publish("beta", node.upload_for("beta", make_twin("beta"), media_type="text/turtle"))
        assert directory.search()["total"] == 1  # the previous directory, at once
        deadline = time.monotonic() + 30
        while directory.search()["total"] != 2:
            assert time.monotonic() < deadline, "the background rebuild never arrived"
            time.sleep(0.05)
    finally:
        node.close()


# --- the page deadline ---------------------------------------------------------------------------------

def test_a_page_whose_reads_pass_the_deadline_answers_503_in_the_reader_s_language(demo, client, monkeypatch):
    demo.directory.index()  # built already: what remains are the page's own reads
    page = "/resource?iri=" + quote(CANAL_SUD)
    monkeypatch.setattr(demo.config, "page_timeout", 0.001)  # far below the community page's dozens of reads
    late = client.get(page, headers={"Accept": "text/html", "Accept-Language": "fr"})
    assert late.status_code == 503 and late.mimetype == "text/html"
    html = late.get_data(as_text=True)
    assert '<html lang="fr">' in html and "Cette page a pris trop de temps" in html and "Réessayer" in html
    assert int(late.headers["Retry-After"]) > 0
    machine = client.get(page, headers={"Accept": "text/turtle"})  # the RDF twin reads under the same limit
    assert machine.status_code == 503 and machine.mimetype == "application/json"
    assert machine.get_json()["error"] == "page took too long" and "page_timeout" in machine.get_json()["detail"]
    monkeypatch.setattr(demo.config, "page_timeout", 10.0)
    assert client.get(page, headers={"Accept": "text/html"}).status_code == 200


def test_readers_past_their_deadline_are_not_held_by_the_directory_s_build_which_goes_on(demo, client, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    directory = demo.directory
    monkeypatch.setattr(demo.config, "page_timeout", 0.001)
    monkeypatch.setattr(directory, "_index", None)  # as after a start: the directory is not built yet
    attempts = directory._attempts

    def read(_):
        return client.get("/communities", headers={"Accept": "text/html", "Accept-Language": "nl"})

    with ThreadPoolExecutor(6) as pool:  # six readers at once: none waits for the whole build
        answers = list(pool.map(read, range(6)))
    assert [a.status_code for a in answers] == [503] * 6
    assert "wordt na een wijziging voorbereid" in answers[0].get_data(as_text=True)
    with directory._built:  # the build went on without them, once
        assert directory._built.wait_for(lambda: directory._attempts > attempts, timeout=120)
    assert directory._attempts == attempts + 1 and directory._index is not None
    ready = client.get("/communities", headers={"Accept": "text/html"})  # the next reader finds it ready
    assert ready.status_code == 200 and CANAL_SUD in ready.get_data(as_text=True)


@pytest.mark.parametrize("release", ["1.0.0", "1.1.0"])
def test_the_validator_page_and_its_report_speak_the_language_the_switch_chose(client, release):
    """The words of the page and of the report, and the rules from the shapes: a twin claiming the
    1.0.0 release (published with English rules only) gets the current release's French for the
    rules it words the same."""
    twin = make_twin("langue").replace(b"ec:status ec:status-active ;", b"ec:status ec:status-napping ;")
    twin = twin.replace(b"profile/core/1.0.0", f"profile/core/{release}".encode())
    client.set_cookie("ecgraph_lang", "fr")  # left by the language switch; the browser itself asks for English
    try:
        response = client.post("/validate", data={"text": twin.decode(), "profile": "core"},
                               headers={"Accept-Language": "en"})
    finally:
        client.delete_cookie("ecgraph_lang")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="fr">' in page
    for words in ("Validateur de conformité", "Valider", "texte collé", "n&#39;est pas conforme", "Par règle",
                  "Gravité", "Nœud concerné", "Télécharger le rapport", "Lu comme"):
        assert words in page, words
    assert "does not conform" not in page and "By rule" not in page and "Focus node" not in page
    by_rule = page.split('id="groups"', 1)[1].split("</table>", 1)[0]
    assert "Une ec:EnergyCommunity peut avoir au plus un ec:status" in by_rule  # the rule, from the shapes
    results = page.split('id="results"', 1)[1].split("</table>", 1)[0]
    assert "n&#39;est pas dans ec:Statuses" in results  # the result's own message
    assert 'data-severity="Violation"' in results  # what tools read stays as it is


def test_a_form_mistake_is_said_in_the_page_s_language(client):
    response = client.post("/validate?lang=nl", data={"text": "   "})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and '<html lang="nl">' in page
    assert "Valideren is niet gelukt" in page and "geef een bestand, tekst of een URL om te valideren" in page


def test_every_page_of_a_twin_s_data_shows_its_licence_and_whether_it_is_open(client, demo):
    for iri in (CANAL_SUD, NETWORK):
        page = client.get("/resource?lang=fr&iri=" + quote(iri), headers={"Accept": "text/html"})
        text = page.get_data(as_text=True)
        licence = re.search(r'<dd id="licence">(.*?)</dd>', text, re.S)
        assert licence, iri
        assert 'href="https://creativecommons.org/licenses/by/4.0/" rel="license"' in licence.group(1)
        assert "données ouvertes" in licence.group(1)


@pytest.mark.parametrize("licence, words", [
    (None, "none stated: ask the community before reusing"),
    ("https://creativecommons.org/licenses/by-nc/4.0/", "not an open licence: ask the community before reusing")])
def test_a_twin_without_an_open_licence_says_so_on_its_pages(node, licence, words):
    from ecgraph.web import create_app
    from tests.helpers import make_twin

    node.register("closed")
    node.publish("closed", node.upload_for("closed", make_twin("closed", licence=licence), media_type="text/turtle"))
    app = create_app(node)
    page = app.test_client().get("/resource?iri=" + quote("https://closed.example/id/community"),
                                 headers={"Accept": "text/html"})
    licence_line = re.search(r'<dd id="licence">(.*?)</dd>', page.get_data(as_text=True), re.S)
    assert licence_line and words in licence_line.group(1)


def test_the_directory_index_is_built_from_streamed_rows_and_equals_one_built_from_lists(demo, monkeypatch):
    """The build reads every membership and every member's type (700,000 rows each at N=10,000):
    held as lists of rows they took 400 MB of the web process at its peak. It reads them row by
    row; built so, the index is the one the listed rows give."""
    import dataclasses

    from ecgraph.directory import Directory

    listed = Directory(demo)
    streamed_rows = Directory._rows
    monkeypatch.setattr(Directory, "_rows", lambda self, body, **bind: iter(list(streamed_rows(self, body, **bind))))
    expected = listed.index()
    monkeypatch.setattr(Directory, "_rows", streamed_rows)

    def no_lists(self, body, **bind):
        raise AssertionError("the index build held a whole answer as a list: " + body[:80])

    monkeypatch.setattr(Directory, "_select", no_lists)
    built = Directory(demo).index()
    assert [c.iri for c in built.communities] == [c.iri for c in expected.communities] != []
    for a, b in zip(built.communities, expected.communities, strict=True):
        assert dataclasses.asdict(a) == dataclasses.asdict(b)
    schools = [c for c in built.communities if EC + "School" in c.member_types]
    assert schools  # the demo network's school communities keep their member types


def test_communities_with_the_same_values_of_a_facet_share_one_frozen_set_of_them(demo):
    """A frozenset per facet per community was 119,355 sets (24 MiB) at N=10,000 for a few
    hundred combinations of values: communities with equal values share one object, and each
    facet still holds exactly its community's values."""
    from ecgraph.directory import Directory

    communities = Directory(demo).index().communities
    assert len(communities) > 2
    by_value: dict[frozenset, set[int]] = {}
    for c in communities:
        assert c.facets == {name: frozenset(values) for name, values in c._facet_sets().items()}
        for values in c.facets.values():
            by_value.setdefault(values, set()).add(id(values))
    assert all(len(objects) == 1 for objects in by_value.values())
    shared = [values for values in by_value if sum(values is f for c in communities for f in c.facets.values()) > 1]
    assert shared  # the demo network's communities do share values (a country, a size band, ...)


def test_the_directory_knows_it_is_current_from_two_counters_and_any_change_of_an_entry_moves_one(demo, monkeypatch):
    """The pages' index was checked against a sort of every catalog entry at each read (seven
    reads a community page: 0.7 ms each at 1,000 twins, growing with the catalog). It is keyed by
    the store's generation and the entries' version, which every change of an entry moves, and
    which a new set of entries never repeats."""
    import dataclasses

    from ecgraph.publish.catalog import Entries

    entries = Entries({"a": 1})
    seen = {entries.version}
    changes = (lambda e: e.__setitem__("b", 2), lambda e: e.pop("b"), lambda e: e.update(c=3),
               lambda e: e.__delitem__("c"), lambda e: e.setdefault("d", 4), lambda e: e.__ior__({"e": 5}),
               lambda e: e.popitem(), lambda e: e.clear())
    for change in changes:
        change(entries)
        assert entries.version not in seen
        seen.add(entries.version)
    assert Entries().version not in seen
    monkeypatch.setattr(demo.directory, "wait_below", float("inf"))  # rebuilt at once, not in the background
    index = demo.directory.index()
    assert demo.directory.index() is index  # nothing changed: no rebuild
    twin_id, entry = next(iter(demo.entries().items()))
    # an entry changed without a commit (a remote store's write settled afterwards) or only in its
    # verdict (the version alone was compared before)
    demo._entries[twin_id] = dataclasses.replace(entry, warnings=entry.warnings + 1)
    try:
        assert demo.directory.index() is not index
    finally:
        demo._entries[twin_id] = entry


def test_a_community_and_a_network_page_are_read_once_per_commit_and_never_shown_stale(tmp_path):
    """A page's data is kept for the store's generation and the entries' version: the same page
    again reads nothing from the store; a publish that changes the community shows at once, on
    the community's page and on its network's; what privacy removes for one reader and the
    provenance (which a refresh changes without a commit) are each reader's own."""
    from ecgraph.node import Node
    from ecgraph.web.face import privacy

    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True)
    node = Node(config, workers=False)
    community, network = "https://alpha.example/id/community", "https://alpha.example/id/network"
    extra = (f"\n<{network}> a ec:CommunityNetwork ; schema:name \"Alpha network\"@en .\n"
             f"<community> ec:network <{network}> .\n")

    def publish(members: int) -> None:
        twin = make_twin("alpha", members=members, schools=1).decode().replace("<network>", "") + extra
        node.publish("alpha", node.upload_for("alpha", twin.encode(), media_type="text/turtle"))

    reads = []
    real_query = node.store.query

    def counted(*args, **kwargs):
        reads.append(args[0])
        return real_query(*args, **kwargs)

    try:
        node.register("alpha", "Alpha")
        publish(members=2)
        directory = node.directory
        first = directory.community(community, "en")
        net = directory.network(network, "en")
        assert [c["iri"] for c in net["communities"]] == [community]
        node.store.query = counted
        again = directory.community(community, "en")
        assert again == first and again is not first and directory.network(network, "en") == net
        assert reads == []  # both pages kept: not one query
        shown = privacy.community(directory, community, directory.community(community, "en"))
        assert shown["personal_withheld"] == 1  # the household is left off this reader's page...
        kept = directory.community(community, "en")
        assert sum(len(g["members"]) for g in kept["members_by_type"]) == 2  # ...not off the kept data
        assert "personal_withheld" not in kept
        assert directory.community(community, "fr") is not None and reads  # another language is read
        node.store.query = real_query
        publish(members=4)
        after = directory.community(community, "en")
        assert sum(len(g["members"]) for g in after["members_by_type"]) == 4
        assert after["provenance"]["version"] == first["provenance"]["version"] + 1
        assert directory.network(network, "en")["communities"] != net["communities"]  # its card counts 4 members
    finally:
        node.store.query = real_query
        node.close()


def test_the_directory_map_gets_an_even_sample_of_many_results_and_says_so(client, demo, monkeypatch):
    """Every result's point made the directory page 1.4 MB at 10,000 communities. Past
    MAP_POINTS the map gets an even sample over the results, and the page says how many of how many
    it shows; below it, every point and no note."""
    import json

    from ecgraph import directory

    def points(page: str) -> list[dict]:
        return json.loads(re.search(r'<script type="application/json" id="map-points">(.*?)</script>', page,
                                    re.S).group(1))

    whole = client.get("/communities?lang=en").get_data(as_text=True)
    every = points(whole)
    assert len(every) >= 4 and 'id="map-sample"' not in whole
    monkeypatch.setattr(directory, "MAP_POINTS", 3)
    sampled = client.get("/communities?lang=en&page_size=19").get_data(as_text=True)  # not the search kept above
    step = -(-len(every) // 3)
    assert points(sampled) == every[::step] and len(points(sampled)) <= 3
    assert f"The map shows {len(every[::step])} / {len(every)}" in sampled
    french = client.get("/communities?lang=fr&page_size=19").get_data(as_text=True)
    assert "La carte montre" in french


def test_the_catalog_page_shows_its_resources_a_page_at_a_time_and_all_of_them_over_the_pages(client, demo,
                                                                                               monkeypatch):
    """At 10,000 twins the catalog's page (every dataset with its publication, checksum and seven
    distributions) passed the page deadline. A page shows TRIPLES_PAGE_SUBJECTS resources (a
    dataset with its fragments), the pages together every subject of the RDF, each once; the RDF
    itself is unchanged: the catalog, each twin's distributions, the dump's links."""
    from ecgraph.publish import catalog_pages, dump, linked
    from ecgraph.web.face import views

    catalog = "https://w3id.org/ecgraph/graph/catalog"
    turtle = client.get("/catalog", headers={"Accept": "text/turtle"})
    got = {q.triple for q in ox.parse(turtle.data, format=ox.RdfFormat.TURTLE)}
    base = "http://localhost"
    made = demo.catalog_triples()
    expected = set(made + linked.distributions(made, base) + list(dump.catalog_links(base)))
    assert {t for t in got if not isinstance(t.subject, ox.BlankNode)} == \
        {t for t in expected if not isinstance(t.subject, ox.BlankNode)}
    named = {str(t.subject.value) for t in got if isinstance(t.subject, ox.NamedNode)}
    monkeypatch.setattr(views, "TRIPLES_PAGE_SUBJECTS", 5)
    html = {"Accept": "text/html"}
    first = client.get("/catalog?lang=en", headers=html).get_data(as_text=True)
    pages = int(re.search(r"Page 1 of (\d+)", first).group(1))
    resources = {catalog_pages.owner(t, {}) for t in got if not isinstance(t.subject, ox.BlankNode)}
    assert pages == -(-len(resources) // 5) and 'rel="next"' in first
    seen: list[str] = []
    for number in range(1, pages + 1):
        page = client.get(f"/catalog?lang=en&page={number}", headers=html).get_data(as_text=True)
        headings = re.findall(r'<h2 class="iri"><a href="/resource\?iri=([^"]+)">', page)
        from urllib.parse import unquote

        on_page = [unquote(h) for h in headings]
        # the catalog's heading is on each page that shows datasets: it lists those of the page
        own = [s for s in on_page if s != catalog]
        assert len({s.split("#", 1)[0] for s in own}) <= 5 and catalog in on_page
        seen += own
    assert sorted(seen) == sorted(named - {catalog})  # every subject, each on one page
    last = client.get(f"/catalog?lang=en&page={pages + 5}", headers=html).get_data(as_text=True)
    assert f"Page {pages} of {pages}" in last  # past the end: the last page
    monkeypatch.setattr(views, "TRIPLES_PAGE_ROWS", 3)  # at most 3 statements of a subject on a page
    capped = client.get("/catalog?lang=en&page=1", headers=html).get_data(as_text=True)
    first_keys = sorted({catalog_pages.owner(t, {}) for t in got if not isinstance(t.subject, ox.BlankNode)})[:5]
    rows = sum(1 for t in got if t.subject.value == catalog and catalog_pages.owner(t, {}) in first_keys)
    assert rows > 3 and f"… {rows - 3} more, in the RDF" in capped


def test_a_directory_search_is_counted_once_per_commit_and_its_cards_stay_as_kept(tmp_path, monkeypatch):
    """The directory counts every facet over every community (240 ms at 10,000): the same search
    (text, filters, page, size, language) is built once until the next commit; the JSON twin adds
    each card's page link to cards of its own, not to the kept ones."""
    from ecgraph.directory import Directory
    from ecgraph.node import Node
    from ecgraph.web import create_app

    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True)
    node = Node(config, workers=False)
    built = []
    real = Directory._search

    def counted(self, *args):
        built.append(args)
        return real(self, *args)

    monkeypatch.setattr(Directory, "_search", counted)
    try:
        node.register("alpha", "Alpha")
        node.publish("alpha", node.upload_for("alpha", make_twin("alpha", schools=1), media_type="text/turtle"))
        client = create_app(node).test_client()
        school = {"member": [EC + "School"]}
        first = node.directory.search("alpha", school)
        assert node.directory.search("alpha", {"member": [EC + "School"]}) == first and len(built) == 1
        node.directory.search("alpha", school, lang="fr")
        node.directory.search("alpha")
        assert len(built) == 3  # another language, other filters: their own
        page = client.get("/communities?q=alpha", headers={"Accept": "application/json"}).get_json()
        assert page["results"][0]["page"].startswith("/resource?iri=")
        assert "page" not in node.directory.search("alpha")["results"][0]  # the kept card is as it was
        node.register("beta", "Beta")
        node.publish("beta", node.upload_for("beta", make_twin("beta", schools=1), media_type="text/turtle"))
        assert node.directory.search("", school)["total"] == 2
    finally:
        node.close()


def test_a_community_page_read_from_the_previous_directory_is_not_kept_for_after_the_rebuild(tmp_path):
    """While a large directory's index is rebuilt after a change, readers get the previous one:
    a community page built then (its card from the previous index) is shown, not kept, so the
    page shows the change once the rebuild is done."""
    import time

    from ecgraph.node import Node

    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True)
    node = Node(config, workers=False)
    community = "https://alpha.example/id/community"
    try:
        node.register("alpha", "Alpha")
        node.publish("alpha", node.upload_for("alpha", make_twin("alpha", members=2), media_type="text/turtle"))
        directory = node.directory
        assert directory.community(community, "en")["members"] == 2
        directory.wait_below = 0.0  # as if the last build had been slow: rebuilt in the background
        node.publish("alpha", node.upload_for("alpha", make_twin("alpha", members=5), media_type="text/turtle"))
        deadline = time.monotonic() + 30
        while directory.community(community, "en")["members"] != 5:
            assert time.monotonic() < deadline, "the page kept what it read from the previous directory"
            time.sleep(0.05)
    finally:
        node.close()

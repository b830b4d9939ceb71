"""The web face in a real browser (headless Chromium driven by Playwright) against a real
``ecgraph serve`` holding the demo network: the school journey a teacher would take, the language
switch, a phone-sized run, and axe-core's accessibility rules on every page.

From a school community to communities like it, one of their lessons and its self-consumption
against its network (discovery's panels). One server and one browser for the whole module.
Screenshots of every page are kept in ``tests/artefacts/face/`` (git-ignored; the path is printed)
and the axe results beside them in ``axe.json``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pyoxigraph as ox
import pytest
import requests

from tests.helpers import BROWSER_MARKS, Watch
from tests.servers import NodeProcess

pytestmark = BROWSER_MARKS

ARTEFACTS = Path(__file__).resolve().parent / "artefacts" / "face"
NODE_DIR = Path(__file__).resolve().parent / ".node"
AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
EC = "https://w3id.org/ecgraph/ns#"
SCHOOL_QUERY = """PREFIX ec: <https://w3id.org/ecgraph/ns#>
SELECT DISTINCT ?c WHERE { ?c a ec:EnergyCommunity ; ec:hasMember ?m . ?m a ec:School }"""
CANAL_SUD = "https://canal-sud-energie.example/id/community"
CANAL_SUD_NETWORK = "https://canal-sud.example/id/network"
SCHOOL_COMMUNITY = "https://ecoles-en-transition.example/id/community"
SELF_CONSUMPTION = EC + "kpi-self-consumption-rate"


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_data):
    node = NodeProcess(demo_data(tmp_path_factory.mktemp("face") / "data")).start()  # with the demo network
    yield node
    node.stop()


@pytest.fixture(scope="module")
def artefacts():
    shutil.rmtree(ARTEFACTS, ignore_errors=True)
    ARTEFACTS.mkdir(parents=True)
    print(f"\nscreenshots and axe results: {ARTEFACTS}")
    return ARTEFACTS


@pytest.fixture(scope="module")
def axe_source():
    """axe-core from tests/.node (installed with ``npm ci`` from the committed lock file when it is
    not there yet)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("axe-core is an npm package: this machine has no npm (.ci/run installs it into tests/.node)")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    return AXE.read_text(encoding="utf-8")


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(accept_downloads=True, locale="en-GB")
    page = context.new_page()
    watch = Watch(page, server.url)
    yield page
    context.close()
    watch.check()


def _shot(page, artefacts: Path, name: str) -> None:
    page.screenshot(path=str(artefacts / f"{name}.png"), full_page=True)


def _school_communities(server) -> set[str]:
    answer = requests.get(server.url + "/sparql", params={"query": SCHOOL_QUERY},
                          headers={"Accept": "application/sparql-results+json"}, timeout=30).json()
    return {b["c"]["value"] for b in answer["results"]["bindings"]}


def test_a_teacher_finds_schools_their_lessons_and_network_and_the_same_data_as_turtle(page, server, artefacts):
    expected = _school_communities(server)
    assert len(expected) >= 3  # the demo network has several communities with a school

    page.goto(server.url + "/")
    _shot(page, artefacts, "01-home")
    page.fill("#home-q", "school")
    page.click("#home-search-button")
    page.wait_for_selector("#results")
    page.wait_for_selector("#map[data-outline-drawn]")
    _shot(page, artefacts, "02-directory-schools")
    listed = set(page.locator("#results li.card").evaluate_all("cards => cards.map(c => c.dataset.iri)"))
    assert listed == expected
    on_map = set(page.locator("#map path[data-iri]").evaluate_all("paths => paths.map(p => p.dataset.iri)"))
    assert on_map == expected
    assert int(page.get_attribute("#map", "data-outline-drawn")) >= 1  # the bundled outline, no tiles
    assert "q=school" in page.url  # the search is a URL to share

    # the member-type facet lists schools first, with the same count
    first = page.locator("#facet-member label").first
    assert first.locator("input").get_attribute("value") == EC + "School"
    assert int(first.locator(".count").inner_text()) == len(expected)

    page.click(f'#results li.card[data-iri="{CANAL_SUD}"] h3 a')
    page.wait_for_selector("#community")
    _shot(page, artefacts, "03-community")
    schools = page.locator('#members li.member[data-school="yes"]')
    assert schools.count() >= 1
    assert "Institut Saint-Amand" in schools.first.inner_text()
    assert "school" in page.locator("#members h3").first.inner_text().lower()  # schools come first
    lesson = page.locator("#lessons .lesson").first
    assert "general assembly approved" in lesson.locator(".worked").inner_text()
    assert "withdraw" in lesson.locator(".notworked").inner_text()
    assert page.locator("#indicators svg.chart").count() >= 3
    assert page.locator("#assets td").filter(has_text="210 kW").count() == 1

    page.click("#networks a")
    page.wait_for_selector("#network")
    page.wait_for_selector("#map[data-markers]")
    _shot(page, artefacts, "04-network")
    assert parse_qs(urlsplit(page.url).query)["iri"] == [CANAL_SUD_NETWORK]  # the page of its IRI
    members = set(page.locator("#results li.card").evaluate_all("cards => cards.map(c => c.dataset.iri)"))
    assert CANAL_SUD in members and len(members) >= 3
    assert int(page.get_attribute("#map", "data-markers")) == len(members)
    assert page.locator("#indicators svg.chart").count() >= 1

    page.go_back()
    page.wait_for_selector("#community")
    href = page.get_attribute('#raw-data a[data-format="turtle"]', "href")
    turtle = page.request.get(server.url + href)
    assert turtle.status == 200 and turtle.headers["content-type"].startswith("text/turtle")
    triples = [q.triple for q in ox.parse(turtle.body(), format=ox.RdfFormat.TURTLE)]
    assert ox.Triple(ox.NamedNode(CANAL_SUD), ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                     ox.NamedNode(EC + "EnergyCommunity")) in triples


def test_from_a_school_community_to_one_like_it_its_lessons_and_its_self_consumption_against_its_network(
        page, server, artefacts):
    page.goto(server.url + "/resource?iri=" + quote(SCHOOL_COMMUNITY, safe=""))
    page.wait_for_selector("#community")
    assert page.locator('#members li.member[data-school="yes"]').count() >= 1

    page.click('#on-this-page a[href="#similar"]')  # "communities like this one"
    assert urlsplit(page.url).fragment == "similar"
    panel = page.locator("#similar")
    assert panel.is_visible() and panel.locator("h2").inner_text() == "Communities like this one"
    _shot(page, artefacts, "09-similar")
    like = requests.get(server.url + "/api/similar", params={"iri": SCHOOL_COMMUNITY, "limit": 5}, timeout=30).json()
    cards = page.locator("#similar-results li.card")
    assert cards.evaluate_all("cards => cards.map(c => c.dataset.iri)") == [r["iri"] for r in like["results"]]
    first = like["results"][0]
    reasons = cards.first.locator(".reasons li").all_inner_texts()
    assert reasons == [r["text"] for r in first["reasons"]]
    assert any("a school" in r for r in reasons)  # why it is like a school community, in words

    cards.first.locator("h3 a").click()  # follow it
    page.wait_for_selector(f'#community[data-iri="{first["iri"]}"]')
    page.click('#on-this-page a[href="#lessons"]')
    lesson = page.locator("#lessons .lesson").first
    assert lesson.is_visible()
    assert lesson.locator(".worked p").inner_text().strip() not in ("", "–")
    assert lesson.locator(".notworked").is_visible()  # what did not work, beside it
    _shot(page, artefacts, "10-like-lessons")

    page.click('#on-this-page a[href="#compare"]')
    figure = page.locator(f'#compare figure[data-indicator="{SELF_CONSUMPTION}"]')
    assert figure.locator("svg.chart").is_visible()
    figure.scroll_into_view_if_needed()
    _shot(page, artefacts, "11-compare-self-consumption")
    compared = requests.get(server.url + "/api/compare", params={"iri": first["iri"], "indicator": SELF_CONSUMPTION},
                            timeout=30).json()["indicators"]
    latest = max(compared, key=lambda e: e["period_start"])
    row = figure.locator(f'tbody tr[data-period="{latest["period_start"]}"]')
    network = row.locator('td[data-group="network"]')
    assert float(network.get_attribute("data-median")) == latest["groups"]["network"]["median"]
    assert float(network.get_attribute("data-percentile")) == latest["groups"]["network"]["percentile"]
    assert "median" in network.inner_text() and "percentile" in network.inner_text()
    own = float(row.locator("td.own").inner_text().replace(",", ""))
    assert own == pytest.approx(latest["value"], abs=0.005)


def test_the_school_question_runs_in_the_editor_and_downloads_as_csv(page, server, artefacts):
    page.goto(server.url + "/")
    page.click("header nav >> text=Query")
    page.wait_for_selector("#yasgui .CodeMirror")
    query = page.evaluate("window.ecgraphYasgui.getTab().getQuery()")
    assert "ec:School" in query  # the editor opens with the school question
    page.click("#yasgui .yasqe_queryButton")
    page.wait_for_selector("#yasgui .yasr table.dataTable tbody tr td")
    _shot(page, artefacts, "05-query")
    links = set(page.locator("#yasgui .yasr table.dataTable tbody a").evaluate_all(
        "links => links.map(a => new URL(a.href).searchParams.get('iri'))"))
    assert _school_communities(server) <= links  # every community a link to its page on the node
    with page.expect_download() as download:
        page.click("#yasgui .yasr_downloadIcon")
    path = download.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert {r["community"] for r in rows} == _school_communities(server)
    assert download.value.suggested_filename.endswith(".csv")


def test_a_query_error_is_said_in_plain_words_in_the_editor(page, server):
    page.goto(server.url + "/query")
    page.wait_for_selector("#yasgui .CodeMirror")
    page.evaluate("window.ecgraphYasgui.getTab().setQuery('SELECT * WHERE { ?c a ec:School }'); undefined")
    page.click("#yasgui .yasqe_queryButton")
    page.wait_for_selector("#yasgui .yasr .errorResult")
    text = page.inner_text("#yasgui .yasr .errorResult")
    assert "prefix `ec:` is not declared" in text and "PREFIX ec: <https://w3id.org/ecgraph/ns#>" in text


def test_pasted_turtle_is_recognised_and_stays_in_the_validator_form(page, server, artefacts):
    from tests.helpers import make_twin

    page.goto(server.url + "/validate")
    text = make_twin("pasted").decode()
    page.fill("#text", text)  # no input format chosen: the page recognises it
    page.click("#validate-button")
    page.wait_for_selector("#verdict, #error")
    _shot(page, artefacts, "08-validator")
    assert page.locator("#error").count() == 0
    assert "conforms" in page.inner_text("#verdict")
    assert "turtle" in page.inner_text("#detected")
    assert page.input_value("#text") == text.replace("\r\n", "\n")


def test_the_language_switch_and_accept_language_choose_the_chrome_and_the_labels(browser, server, artefacts):
    context = browser.new_context(locale="nl-BE", extra_http_headers={"Accept-Language": "nl-BE,nl;q=0.9"})
    page = context.new_page()
    watch = Watch(page, server.url)
    page.goto(server.url + "/communities")
    assert page.get_attribute("html", "lang") == "nl"
    assert "Gemeenschappen" in page.inner_text("header nav")
    assert page.locator("#facet-member legend").inner_text() == "Soorten leden"
    page.click('.languages a[hreflang="fr"]')
    page.wait_for_selector('html[lang="fr"]')
    assert "Communautés" in page.inner_text("header nav")
    assert "école" in page.inner_text("#facet-member")  # the ontology's own French label
    _shot(page, artefacts, "06-directory-fr")
    page.click("header nav a >> nth=0")  # the choice is kept while browsing
    page.goto(server.url + "/resource?iri=" + quote(CANAL_SUD, safe=""))
    assert page.get_attribute("html", "lang") == "fr"
    assert "Ce qui a marché" in page.inner_text("#lessons")
    assert page.locator("#community h1").inner_text() == "Canal-Sud Énergie Citoyenne"  # its French name
    _shot(page, artefacts, "07-community-fr")
    context.close()
    watch.check()


PAGES = ["/", "/communities", "/query", "/communities?member=" + quote(EC + "School", safe=""),
         "/resource?iri=" + quote(CANAL_SUD, safe=""), "/resource?iri=" + quote(CANAL_SUD_NETWORK, safe=""),
         "/resource?iri=" + quote("https://institut-saint-amand.example/id/school", safe=""),
         "/resource?iri=" + quote("https://w3id.org/ecgraph/twin/canal-sud-energie", safe=""),
         "/ns", "/validate", "/catalog", "/sparql", "/publish", "/publish/form",
         # discovery's pages (a community's page above carries its panels; a network's comparison is
         # the same template as an area's)
         "/discover", "/discover/lessons?q=school", "/discover/tools", "/discover/areas",
         "/discover/compare?place=NL3", "/whats-new"]


def test_every_page_is_usable_390_px_wide(browser, server, artefacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    watch = Watch(page, server.url)
    too_wide, hidden = [], []
    for i, path in enumerate(PAGES):
        page.goto(server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide.append((path, width))
        for box in page.locator("header nav a, header .languages a").evaluate_all(
                "links => links.map(a => { const r = a.getBoundingClientRect(); return [r.left, r.right, r.width]; })"):
            if box[0] < 0 or box[1] > 390 or box[2] == 0:
                hidden.append((path, box))
        page.screenshot(path=str(artefacts / f"390-{i:02d}.png"), full_page=False)
    context.close()
    watch.check()
    assert too_wide == [], too_wide
    assert hidden == []


def test_axe_finds_no_serious_or_critical_issue_on_any_page(browser, server, artefacts, axe_source):
    context = browser.new_context()
    page = context.new_page()
    found, summary = {}, {}
    for path in PAGES:
        page.goto(server.url + path)
        page.evaluate(axe_source + "\n;undefined")  # through the DevTools protocol: the page's CSP does not apply
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        summary[path] = {v["id"]: {"impact": v["impact"], "nodes": len(v["nodes"])} for v in result["violations"]}
        bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]
        if bad:
            found[path] = bad
    # the query editor with its results drawn
    page.goto(server.url + "/query")
    page.click("#yasgui .yasqe_queryButton")
    page.wait_for_selector("#yasgui .yasr table.dataTable tbody tr td")
    page.evaluate(axe_source + "\n;undefined")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    summary["/query (results)"] = {v["id"]: {"impact": v["impact"], "nodes": len(v["nodes"])}
                                   for v in result["violations"]}
    bad = [(v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
    if bad:
        found["/query (results)"] = bad
    context.close()
    (artefacts / "axe.json").write_text(json.dumps(summary, indent=2))
    print("axe violations by page (all impacts):", json.dumps(summary))
    assert found == {}


def test_the_editor_completes_the_standard_s_prefixes(page, server):
    page.goto(server.url + "/query")
    page.wait_for_selector("#yasgui .CodeMirror")
    page.evaluate("window.ecgraphYasgui.getTab().setQuery(''); undefined")
    page.click("#yasgui .CodeMirror-lines")
    page.keyboard.type("PREFIX e")
    page.keyboard.press("Control+Space")
    hints = page.wait_for_selector(".CodeMirror-hints")
    assert "ec: <https://w3id.org/ecgraph/ns#>" in hints.inner_text()


# --- publishing without RDF: the twin form and the publish page -------------------------------------------

def _register(server, twin: str) -> str:
    answer = requests.post(server.url + "/api/twins", json={"id": twin, "title": twin}, headers=server.admin,
                           timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def _version(server, twin: str) -> int | None:
    return requests.get(server.url + f"/api/twins/{twin}", timeout=30).json().get("version")


def _serious(page, axe_source) -> list:
    """axe-core's serious or critical findings on the page as it is now (a report drawn, say)."""
    page.evaluate(axe_source + "\n;undefined")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def test_a_community_fills_in_the_form_sees_its_mistake_publishes_and_edits_its_twin(page, server, artefacts,
                                                                                     axe_source):
    token = _register(server, "form-walk")
    page.goto(server.url + "/publish/form?twin=form-walk")
    page.fill("#community-name", "Zon op School")
    # the draft stays in this browser: a reload offers it back
    page.reload()
    page.click("#draft-restore")
    page.wait_for_selector("#twin-form")
    assert page.input_value("#community-name") == "Zon op School"
    page.select_option("#community-legalForm", EC + "legalform-cooperative")
    page.fill("#place-locality", "Gent")
    page.fill("#place-latitude", "51.05")
    page.fill("#place-longitude", "3.72")
    page.fill("#members-0-name", "Basisschool De Regenboog")
    assert page.locator("#members-0-memberType option").nth(1).get_attribute("value") == EC + "School"
    page.select_option("#members-0-memberType", EC + "School")
    page.click("#add-members")  # a second member: the page comes back with one more row, nothing lost
    page.wait_for_selector("#members-1-name")
    assert page.input_value("#members-0-name") == "Basisschool De Regenboog"
    page.fill("#members-1-name", "Stad Gent")
    page.select_option("#members-1-memberType", EC + "Municipality")
    page.fill("#lessons-0-name", "Pupils read the meter")
    page.fill("#lessons-0-summary", "A weekly meter reading made the roof part of the lessons.")
    # the mistake: a lesson without its topic
    page.click("#check-button")
    page.wait_for_selector("#verdict")
    assert "fail" in page.get_attribute("#verdict", "class")
    assert page.locator("#results tr.result").filter(has_text="ec:topic").count() >= 1
    _shot(page, artefacts, "09-form-mistake")
    assert _serious(page, axe_source) == []  # the form with its report drawn
    page.select_option("#lessons-0-topic", [EC + "topic-schools"])
    page.click("#check-button")
    page.wait_for_selector("#verdict.ok")
    assert page.locator("#checked").count() == 1 and _version(server, "form-walk") is None  # checked, not stored
    _shot(page, artefacts, "10-form-report")
    with page.expect_download() as download:
        page.click("#download-turtle")
    made = [q.triple for q in ox.parse(Path(download.value.path()).read_bytes(), format=ox.RdfFormat.TURTLE)]
    assert any(t.object.value == "Basisschool De Regenboog" for t in made)
    page.fill("#token", token)
    page.click("#publish-button")
    page.wait_for_selector("#community")
    _shot(page, artefacts, "11-form-published")
    assert "Zon op School" in page.inner_text("#community h1")
    assert "Basisschool De Regenboog" in page.inner_text('#members li.member[data-school="yes"]')
    assert _version(server, "form-walk") == 1

    # later: the form opens with the published twin, and publishes the change
    page.goto(server.url + "/publish/form?twin=form-walk")
    assert page.input_value("#community-name") == "Zon op School"
    assert page.input_value("#members-1-name") == "Stad Gent"
    page.fill("#community-name", "Zon op School Gent")
    page.fill("#token", token)
    page.click("#publish-button")
    page.wait_for_selector("#community")
    assert "Zon op School Gent" in page.inner_text("#community h1")
    assert _version(server, "form-walk") == 2
    _shot(page, artefacts, "12-form-edited")


def test_the_publish_page_publishes_a_good_twin_then_refuses_one_with_a_mistake(page, server, artefacts,
                                                                               axe_source):
    from tests.helpers import make_twin

    token = _register(server, "page-walk")
    good = make_twin("page-walk", schools=1).decode()
    page.goto(server.url + "/publish")
    page.fill("#twin", "page-walk")
    page.fill("#token", token)
    page.fill("#text", good)
    page.click("#publish-button")
    page.wait_for_selector("#community")
    assert "Test community page-walk" in page.inner_text("#community h1")
    _shot(page, artefacts, "13-publish-good")
    assert _version(server, "page-walk") == 1

    wrong = good.replace("ec:legalform-cooperative", "ec:legalform-kibbutz")
    page.goto(server.url + "/publish?twin=page-walk")
    page.fill("#token", token)
    page.fill("#text", wrong)
    page.click("#publish-button")
    page.wait_for_selector("#error")
    assert "does not conform" in page.inner_text("#error")
    assert "fail" in page.get_attribute("#verdict", "class")
    assert page.locator("#results tr.result").filter(has_text="legalForm").count() >= 1
    assert page.input_value("#text") == wrong.replace("\r\n", "\n")  # the text is kept to fix it
    assert "turtle" in page.inner_text("#detected")
    _shot(page, artefacts, "14-publish-mistake")
    assert _serious(page, axe_source) == []
    assert _version(server, "page-walk") == 1  # nothing half-written: the good twin stays


def _run_in_editor(page, server, query: str | None = None) -> None:
    page.goto(server.url + "/query")
    page.wait_for_selector("#yasgui .CodeMirror")
    if query is not None:
        page.evaluate("q => { window.ecgraphYasgui.getTab().setQuery(q); }", query)
    page.click("#yasgui .yasqe_queryButton")
    page.wait_for_selector("#yasgui .yasr table.dataTable tbody tr td")
    page.wait_for_selector("#result-tools:not([hidden]) #download-links a")


def test_an_iri_in_the_editor_s_results_opens_the_node_s_page_of_it_and_languages_read_as_words(page, server):
    _run_in_editor(page, server)  # the school question
    table = page.locator("#yasgui .yasr table.dataTable tbody")
    assert "@en" not in table.inner_text() and "@fr" not in table.inner_text()
    english = table.locator('span[lang="en"] + .lang-tag').first
    assert english.inner_text() == "English" and english.get_attribute("title") == "@en"
    # a bar per community, from the count column
    chart = page.locator("#chart-figure svg.results-chart")
    assert chart.get_attribute("data-column") == "schools"
    assert int(chart.get_attribute("data-bars")) == len(_school_communities(server))
    assert chart.locator("rect.bar").count() == len(_school_communities(server))
    table.locator(f'a[data-iri="{CANAL_SUD}"]').click()
    page.wait_for_selector("#community")
    assert urlsplit(page.url).path == "/resource"
    assert parse_qs(urlsplit(page.url).query)["iri"] == [CANAL_SUD]


def test_the_editor_downloads_a_construct_in_every_graph_format_and_turtle_parses(page, server):
    from ecgraph import formats

    construct = ("PREFIX ec: <https://w3id.org/ecgraph/ns#>\n"
                 "CONSTRUCT { ?c a ec:EnergyCommunity } WHERE { ?c a ec:EnergyCommunity }")
    _run_in_editor(page, server, construct)
    offered = page.locator("#download-links a").evaluate_all("links => links.map(a => a.dataset.format)")
    assert offered == [f.key for f in formats.GRAPH]
    with page.expect_download() as download:
        page.click('#download-links a[data-format="turtle"]')
    assert download.value.suggested_filename == "results.ttl"
    triples = [q.triple for q in ox.parse(Path(download.value.path()).read_bytes(), format=ox.RdfFormat.TURTLE)]
    communities = {t.subject.value for t in triples}
    assert CANAL_SUD in communities and len(communities) == len(triples) >= 5
    # a SELECT offers the results formats instead
    _run_in_editor(page, server, SCHOOL_QUERY)
    offered = page.locator("#download-links a").evaluate_all("links => links.map(a => a.dataset.format)")
    assert offered == [f.key for f in formats.RESULTS]


def test_the_copy_link_button_gives_a_link_that_reopens_the_same_query(page, server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.goto(server.url + "/query")
    page.wait_for_selector("#yasgui .CodeMirror")
    query = "# mine\nPREFIX ec: <https://w3id.org/ecgraph/ns#>\nSELECT ?c WHERE { ?c a ec:School } # 100% & <this>"
    page.evaluate("q => { window.ecgraphYasgui.getTab().setQuery(q); }", query)
    page.click("#copy-link")
    page.wait_for_selector("#share-status:has-text('Link copied')")
    link = page.input_value("#share-link")
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert link.startswith(server.url + "/query?")
    page.goto("about:blank")
    page.goto(link)
    page.wait_for_selector("#yasgui .CodeMirror")
    assert page.evaluate("window.ecgraphYasgui.getTab().getQuery()") == query

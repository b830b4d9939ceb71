"""The /validate page in a real browser (headless Chromium driven by Playwright) against a real
``ecgraph serve``: every kit case, uploaded as a vendor would, gives its expected outcome; pasted
text and downloads work; nothing on the page comes from the internet, and nothing it needs is
blocked by the node's Content-Security-Policy."""

from __future__ import annotations

import json

import pytest
import requests

from ecgraph.standard import kit
from tests.helpers import BROWSER_MARKS, Watch, make_twin
from tests.servers import NodeProcess

pytestmark = BROWSER_MARKS

CASES = kit.cases()


def _sample(cases):
    """A few cases that exercise each way the page shows a result: a conformant twin, a violation,
    a warning of the recommended profile, a JSON-LD file and a result folded into its cause. The
    unit tests run every case through the same validator; the slow suite walks them all here."""
    picked: dict[str, object] = {}
    for case in cases:
        severities = {sev for _, _, sev in case.expected}
        kinds = [("conformant", not case.expected), ("violation", "Violation" in severities),
                 ("warning", "Warning" in severities and "Violation" not in severities),
                 ("json-ld", case.path.suffix == ".jsonld"), ("many", len(case.expected) > 2)]
        for kind, matches in kinds:
            if matches and kind not in picked:
                picked[kind] = case
    return list(dict.fromkeys(picked.values()))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    node = NodeProcess(tmp_path_factory.mktemp("browser") / "data", "--no-demo").start()
    yield node
    node.stop()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    watch = Watch(page, server.url)
    yield page
    context.close()
    watch.check()


def _validate_file(page, server, path, profile):
    page.goto(server.url + "/validate")
    page.set_input_files("#file", str(path))
    page.select_option("#profile", "core" if profile == "core" else "recommended")
    page.click("#validate-button")
    page.wait_for_selector("#verdict, #error")


def _walk(page, server, cases):
    failures = []
    for case in cases:
        _validate_file(page, server, case.path, case.profile)
        assert page.locator("#error").count() == 0, (case.id, page.inner_text("#error"))
        rows = page.locator("#results tr.result, #results li.also-result")  # consequences inside their cause
        got = {(rows.nth(i).get_attribute("data-shape"), rows.nth(i).get_attribute("data-severity"))
               for i in range(rows.count())}
        verdict = page.inner_text("#verdict")
        conforms = "does not conform" not in verdict
        if got != set(case.shapes) or conforms != (not any(s == "Violation" for _, _, s in case.expected)):
            failures.append((case.id, sorted(got ^ set(case.shapes)), verdict))
    assert failures == []


def test_a_sample_of_kit_cases_through_the_page(page, server):
    sample = _sample(CASES)
    assert len(sample) >= 4
    _walk(page, server, sample)


@pytest.mark.slow
def test_every_kit_case_through_the_page(page, server):
    _walk(page, server, CASES)


def test_pasted_text_and_downloads(page, server):
    page.goto(server.url + "/validate")
    broken = make_twin("pasted").replace(b"ec:status ec:status-active ;", b"ec:status ec:status-napping ;")
    page.fill("#text", broken.decode())
    page.select_option("#input-format", "turtle")
    page.click("#validate-button")
    page.wait_for_selector("#verdict")
    assert "does not conform" in page.inner_text("#verdict")
    assert "status-napping" in page.inner_text("#results")
    for fmt in ("json", "turtle", "jsonld", "csv", "junit", "sarif", "text"):
        link = page.locator(f'#downloads a[data-format="{fmt}"]')
        assert link.get_attribute("download") is not None
        # Fetched through the page's own session (headless Chromium cancels file downloads).
        response = page.request.get(server.url + link.get_attribute("href"))
        assert response.status == 200, fmt
        assert "attachment" in response.headers["content-disposition"]
        content = response.body()
        assert content, fmt
        if fmt == "json":
            report = json.loads(content)
            api = requests.post(server.url + "/api/validate", data=broken,
                                headers={"Content-Type": "text/turtle"}).json()
            assert [r["message"] for r in report["results"]] == [r["message"] for r in api["results"]]


def test_errors_are_shown_with_their_line(page, server):
    page.goto(server.url + "/validate")
    page.fill("#text", "@prefix x: <http://x/> .\nx:a x:b .\n")
    page.select_option("#input-format", "turtle")
    page.click("#validate-button")
    page.wait_for_selector("#error")
    assert "line 2" in page.inner_text("#error")


def test_the_query_editor_runs_a_question(page, server):
    page.goto(server.url + "/")
    page.fill("#query-text", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    page.click("#run")
    page.wait_for_selector("#result-table")
    assert "n" in page.inner_text("#result-table thead")

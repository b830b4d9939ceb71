"""The API explorer (issue 13): Swagger UI, vendored in the package with its licence, shows the
node's OpenAPI document at /api/docs, in a real browser, with nothing fetched from elsewhere and
nothing blocked by the node's Content-Security-Policy."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
import requests

import ecgraph
from tests.servers import NodeProcess

STATIC = Path(ecgraph.__file__).parent / "web" / "static"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_explorer_is_vendored_with_its_licence_and_shipped_in_the_package():
    vendored = STATIC / "swagger-ui"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"):
        assert (vendored / name).is_file(), name
    assert "Apache License" in (vendored / "LICENSE").read_text()
    patterns = tomllib.loads((Path(ecgraph.__file__).parent.parent / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["package-data"]["ecgraph"]
    assert "web/static/swagger-ui/*" in patterns


def test_the_page_loads_only_the_nodes_own_assets(client):
    r = client.get("/api/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    sources = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    assert "<script>" not in r.text  # no inline script: the CSP runs none
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert "img-src 'self' data:" in r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in r.headers["Content-Security-Policy"]


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_explorer_shows_every_path_of_the_document_in_a_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    node = NodeProcess(tmp_path / "data", "--no-demo").start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = browser.new_page()
            outside, refused, failed = [], [], []
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith(node.url) and not r.url.startswith("data:") else None)
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            page.on("pageerror", lambda e: failed.append(str(e)))
            page.goto(node.url + "/api/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=60_000)
            shown = set(page.locator(".opblock-summary-path").all_inner_texts())
            title = page.locator(".info .title").inner_text()
            browser.close()
        documented = set(requests.get(node.url + "/api/openapi.json", timeout=30).json()["paths"])
    finally:
        node.stop()
    assert outside == [] and refused == [] and failed == [], (outside, refused, failed)
    assert "ecgraph node" in title and ecgraph.__version__ in title
    assert {s.replace("\u200b", "") for s in shown} == documented

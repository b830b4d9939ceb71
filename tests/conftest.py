"""Shared fixtures: nodes over temporary stores, an app and its client, a loopback canary; and the
figures the long suites measured, printed at the end of the run (helpers live in tests.helpers)."""

from __future__ import annotations

import pytest

from ecgraph.config import Config
from tests.helpers import ADMIN, make_twin


@pytest.fixture()
def twin_bytes():
    return make_twin


@pytest.fixture()
def config(tmp_path) -> Config:
    return Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True,
                       query_workers=1, pipeline_workers=1)


@pytest.fixture()
def node(config):
    from ecgraph.node import Node

    n = Node(config, workers=False)
    yield n
    n.close()


@pytest.fixture()
def app(node):
    from ecgraph.web import create_app

    application = create_app(node)
    application.testing = True
    return application


@pytest.fixture()
def client(app):
    return app.test_client()




def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The figures the fault, load and fuzz suites measured (see tests/checks.py), also written to
    figures.json in pytest's temporary directory."""
    import json
    import sys

    checks = sys.modules.get("tests.checks")
    figures = getattr(checks, "FIGURES", None)
    if not figures:
        return
    terminalreporter.section("ecgraph figures")
    for name, values in figures.items():
        terminalreporter.write_line(f"{name}: {json.dumps(values, sort_keys=True)}")
    try:
        path = config._tmp_path_factory.getbasetemp() / "figures.json"
        path.write_text(json.dumps(figures, indent=2, sort_keys=True))
        terminalreporter.write_line(f"(written to {path})")
    except Exception as exc:  # the summary must never fail the run
        terminalreporter.write_line(f"(figures not written: {exc})")


@pytest.fixture(scope="module")
def canary():
    """A loopback HTTP server that records every hit: a request reaching it is an SSRF."""
    from tests.servers import Canary

    c = Canary()
    yield c
    c.close()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per module of browser tests (the module carries ``BROWSER_MARKS``)."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()

"""Shared fixtures: nodes over temporary stores, an app and its client, a loopback canary; and the
figures the long suites measured, printed at the end of the run (helpers live in tests.helpers)."""

from __future__ import annotations

import pytest

from ecgraph.config import Config
from tests.helpers import ADMIN, installed_copy, make_twin


@pytest.fixture()
def twin_bytes():
    return make_twin


@pytest.fixture(scope="session")
def installed_data(tmp_path_factory):
    """A data directory where a node installed the standard (ontology, vocabularies and their
    closure, written to a new store), made once per session: each test's ``config`` gets a copy,
    over which its node finds the standard installed, as a node does at every start after its
    first (0.35 s instead of 1.25 s per test, measured under load). Installing into an empty
    store stays tested by every node started over an empty directory (tests/servers.py and the
    tests that build their own Node)."""
    from ecgraph.node import Node

    template = tmp_path_factory.mktemp("installed") / "data"
    Node(Config.load(environ={}, data=template, admin_token=ADMIN, no_demo=True), workers=False).close()
    return template


@pytest.fixture()
def config(tmp_path, installed_data) -> Config:
    return installed_copy(installed_data, tmp_path / "data")


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


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """``demo_data(dest)`` makes ``dest`` a data directory holding the demo network, as a node
    loads it into an empty store (``ecgraph serve`` without ``--no-demo``; that path itself is
    tested in tests/test_e2e.py), and returns it. The 22 twins go through the pipeline once per
    session (about 3 s of CPU); each node that wants them gets a copy of its own to change."""
    import shutil

    from ecgraph.node import Node

    template = tmp_path_factory.mktemp("demo-template") / "data"
    node = Node(Config.load(environ={}, data=template, admin_token=ADMIN, no_demo=True), workers=False)
    try:
        assert len(node.load_demo()) >= 15
    finally:
        node.close()

    def copy(dest):
        shutil.copytree(template, dest)
        return dest

    return copy


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

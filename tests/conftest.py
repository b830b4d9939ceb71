"""Shared fixtures: conformant test twins, nodes over temporary stores, a state fingerprint."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyoxigraph as ox
import pytest

from ecgraph import standard
from ecgraph.config import Config

ADMIN = "ecg_admin_unit-test-token-000000000000"
TEST = "http://example.org/test#"


def make_twin(slug: str = "test-twin", tag: str = "A", members: int = 3, schools: int = 0) -> bytes:
    """A small twin that conforms to the core profile. Every member carries ``tag`` so a reader
    can tell which upload it sees; ``schools`` of the members are schools."""
    base = f"https://{slug}.example/id/"
    lines = [
        "@prefix ec: <https://w3id.org/ecgraph/ns#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "@prefix dcterms: <http://purl.org/dc/terms/> .",
        "@prefix schema: <https://schema.org/> .",
        "@prefix qudt: <http://qudt.org/schema/qudt/> .",
        "@prefix unit: <http://qudt.org/vocab/unit/> .",
        f"@prefix t: <{TEST}> .",
        f"@base <{base}> .",
        f'<twin> a ec:DigitalTwin ; dcterms:title "Test twin {slug}"@en ; dcterms:publisher <community> ;',
        "  dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.0.0> ; ec:describes <community> .",
        f'<community> a ec:EnergyCommunity ; schema:name "Test community {slug}"@en ;',
        "  ec:legalForm ec:legalform-cooperative ; ec:euType ec:eutype-renewable-energy-community ;",
        "  ec:status ec:status-active ; ec:activity ec:activity-energy-sharing ;",
        f'  t:version "{tag}" .',
    ]
    for i in range(members):
        kind = "ec:School" if i < schools else "ec:Household"
        lines.append(f'<membership/{i}> a ec:Membership ; ec:community <community> ; ec:member <member/{i}> ; '
                     f'ec:role ec:role-consumer ; ec:startDate "2022-01-01"^^xsd:date .')
        lines.append(f'<member/{i}> a {kind} ; t:version "{tag}" .')
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture()
def twin_bytes():
    return make_twin


def fingerprint(store) -> str:
    """A hash of every quad in the store (blank node labels included): equal means unchanged."""
    lines = sorted(str(q) for q in store.quads_for_pattern(None, None, None, None))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


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


def demo_files() -> list[Path]:
    return sorted(p for p in standard.demo_twins_dir().iterdir() if p.suffix in (".ttl", ".jsonld"))


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


__all__ = ["ADMIN", "TEST", "auth", "demo_files", "fingerprint", "make_twin", "ox"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The figures the fault, load and fuzz suites measured (see tests/checks.py), also written to
    figures.json in pytest's temporary directory."""
    import json
    import sys

    checks = sys.modules.get("checks")
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
    from servers import Canary

    c = Canary()
    yield c
    c.close()

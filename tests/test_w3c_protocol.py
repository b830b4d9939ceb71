"""The W3C SPARQL 1.1 Protocol test suite (tests/w3c/sparql-protocol, 34 tests), run as HTTP
requests (tests/w3c_protocol.py) against a real ``ecgraph serve`` node (the admin's token on
``/update``, where the data is loaded too) and against ``oxigraph serve``, the reference; both counts
are printed with the run's figures.

A test that fails today is an expected failure that names the cause (strict: once the node is
fixed it fails as "XPASS", and its entry in ``NODE_FAILS`` must go).
"""

from __future__ import annotations

import dataclasses

import pytest

from tests import checks, w3c_protocol
from tests.servers import NodeProcess, OxigraphProcess

TESTS = w3c_protocol.protocol_tests()

#: the tests the node fails today, and why (none: issue 13 made all 34 pass)
NODE_FAILS: dict[str, str] = {}

#: what oxigraph serve 0.5 fails, and why
OXIGRAPH_FAILS = {
    "bad_update_get": "oxigraph serve answers GET /update?update=... with its service description (200)",
}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    process = NodeProcess(tmp_path_factory.mktemp("protocol") / "data", "--no-demo").start()
    yield w3c_protocol.Endpoint("ecgraph serve", process.url, "/sparql", "/update", "/store",
                                write_headers=process.admin)
    process.stop()


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    server = OxigraphProcess(tmp_path_factory.mktemp("protocol-oxigraph") / "store")
    yield w3c_protocol.Endpoint("oxigraph serve", server.url, "/query", "/update", "/store",
                                own_default_graph=True)
    server.stop()


#: (server, test id) -> (passed, why): each test runs once, for its own test and for the counts
OUTCOMES: dict[tuple[str, str], tuple[bool, str]] = {}


def outcome(endpoint: w3c_protocol.Endpoint, test: w3c_protocol.Test) -> tuple[bool, str]:
    key = (endpoint.name, test.id)
    if key not in OUTCOMES:
        OUTCOMES[key] = w3c_protocol.run(test, endpoint)
    return OUTCOMES[key]


def cases(known: dict[str, str]) -> list:
    return [pytest.param(t, id=t.id, marks=checks.expected_failure(known.get(t.id))) for t in TESTS]


def test_the_suite_is_the_whole_protocol_manifest():
    assert len(TESTS) == 34
    assert len({t.id for t in TESTS}) == 34
    assert set(NODE_FAILS) <= {t.id for t in TESTS} and set(OXIGRAPH_FAILS) <= {t.id for t in TESTS}
    assert all(t.exchanges and all(e.statuses for e in t.exchanges) for t in TESTS)
    assert sum(len(t.exchanges) for t in TESTS) == 39   # five tests update, then ask what the update did
    assert sum(1 for t in TESTS if t.graph_data) == 6


@pytest.mark.parametrize("test", cases(NODE_FAILS))
def test_the_node_passes(node, test):
    ok, why = outcome(node, test)
    assert ok, why


@pytest.mark.parametrize("test", cases(OXIGRAPH_FAILS))
def test_oxigraph_serve_passes(oxigraph, test):
    ok, why = outcome(oxigraph, test)
    assert ok, why


def test_the_runner_notices_a_wrong_answer(oxigraph):
    """A runner that passes everything proves nothing: the same exchanges, expecting what the
    server does not answer, fail."""
    ask = next(t for t in TESTS if t.id == "query_post_direct")
    wrong = dataclasses.replace(ask, exchanges=[dataclasses.replace(ask.exchanges[0], boolean=False)])
    ok, why = w3c_protocol.run(wrong, oxigraph)
    assert not ok and "expected the answer false, got true" in why
    syntax = next(t for t in TESTS if t.id == "bad_query_syntax")
    wrong = dataclasses.replace(syntax, exchanges=[dataclasses.replace(syntax.exchanges[0], statuses=[2])])
    ok, why = w3c_protocol.run(wrong, oxigraph)
    assert not ok and "expected status [2], got 400" in why
    select = next(t for t in TESTS if t.id == "query_content_type_select")
    wrong = dataclasses.replace(select, exchanges=[dataclasses.replace(select.exchanges[0], result_format="boolean")])
    assert w3c_protocol.run(wrong, oxigraph)[0] is False


def test_the_counts_are_reported(node, oxigraph):
    counts = {}
    for endpoint, known in ((node, NODE_FAILS), (oxigraph, OXIGRAPH_FAILS)):
        failed = {t.id for t in TESTS if not outcome(endpoint, t)[0]}
        counts[endpoint.name] = len(TESTS) - len(failed)
        assert failed == set(known), f"{endpoint.name}: the expected failures are out of date"
    checks.record("w3c sparql 1.1 protocol", total=len(TESTS), ecgraph=counts["ecgraph serve"],
                  oxigraph=counts["oxigraph serve"])
    row = f"| SPARQL 1.1 Protocol | {counts['ecgraph serve']} | {counts['oxigraph serve']} "
    assert row in checks.readme(), "the README's conformance table is out of date"

"""The W3C SPARQL 1.1 Graph Store HTTP Protocol tests (tests/w3c/graph-store-protocol: 9 with indirect
identification, ``?graph=`` and ``?default``, and 4 with direct identification, the graph named by the
request URL), run as HTTP requests (tests/w3c_protocol.py) with the admin's token against a real
``ecgraph serve`` node in both settings of ``--default-graph``, and against ``oxigraph serve``, the
reference. The counts are printed with the run's figures.

``--default-graph union`` (the default): the default graph is the union of all graphs and cannot
be written, so the test that writes it does not apply (the node's refusal is checked instead);
``--default-graph own``: the default graph is a graph of its own, as in a plain store, and every test
applies. A test that fails is an expected failure that names the cause (strict: once the node is
fixed it fails as "XPASS", and its entry must go); the node has none.
"""

from __future__ import annotations

import dataclasses

import pytest
import requests

from tests import checks, w3c_protocol
from tests.servers import NodeProcess, OxigraphProcess

TESTS = w3c_protocol.graph_store_tests()

#: what the node fails with --default-graph union, and why (none since issue 13)
UNION_FAILS: dict[str, str] = {}

#: what the node fails with --default-graph own, and why (none since issue 13)
OWN_FAILS: dict[str, str] = {}

#: what oxigraph serve 0.5 fails, and why
OXIGRAPH_FAILS = {
    "post_get_post_get_direct": "oxigraph serve has no multipart/form-data POST (415)",
    "post_get_post_get_indirect": "oxigraph serve has no multipart/form-data POST (415)",
    "head_existing_direct": "oxigraph serve answers HEAD without a Content-Type",
    "head_existing_indirect": "oxigraph serve answers HEAD without a Content-Type",
}


def _node(tmp_path_factory, setting: str):
    # union is the default (CONTRACT.md): that node runs with the default settings
    option = ["--default-graph", setting] if setting != "union" else []
    process = NodeProcess(tmp_path_factory.mktemp(f"gsp-{setting}") / "data", "--no-demo", *option)
    try:
        process.start()
    except RuntimeError as exc:
        return process, str(exc).strip().splitlines()[-1]
    return process, w3c_protocol.Endpoint(f"ecgraph serve --default-graph {setting}", process.url, "/sparql",
                                          "/update", "/store", write_headers=process.admin,
                                          own_default_graph=setting == "own")


@pytest.fixture(scope="module")
def union(tmp_path_factory):
    """A node with the default --default-graph union: or why it did not start."""
    process, endpoint = _node(tmp_path_factory, "union")
    yield endpoint
    process.stop()


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """A node with --default-graph own: or why it did not start."""
    process, endpoint = _node(tmp_path_factory, "own")
    yield endpoint
    process.stop()


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    server = OxigraphProcess(tmp_path_factory.mktemp("gsp-oxigraph") / "store")
    yield w3c_protocol.Endpoint("oxigraph serve", server.url, "/query", "/update", "/store", own_default_graph=True)
    server.stop()


OUTCOMES: dict[tuple[str, str], tuple[bool, str]] = {}


def outcome(endpoint, test: w3c_protocol.Test) -> tuple[bool, str]:
    if isinstance(endpoint, str):
        return False, f"the node did not start: {endpoint}"
    key = (endpoint.name, test.id)
    if key not in OUTCOMES:
        OUTCOMES[key] = w3c_protocol.run(test, endpoint)
    return OUTCOMES[key]


def cases(known: dict[str, str], own_default_graph: bool) -> list:
    return [pytest.param(t, id=t.id, marks=checks.expected_failure(known.get(t.id)))
            for t in TESTS if w3c_protocol.applies(t, own_default_graph)]


def test_the_suites_are_the_whole_manifests():
    assert len(TESTS) == 13
    assert sorted(t.manifest for t in TESTS) == ["manifest-direct.ttl"] * 4 + ["manifest-indirect.ttl"] * 9
    assert [t.id for t in TESTS if not w3c_protocol.applies(t, own_default_graph=False)] == ["put_get_default"]
    assert all(w3c_protocol.applies(t, own_default_graph=True) for t in TESTS)
    for known in (UNION_FAILS, OWN_FAILS, OXIGRAPH_FAILS):
        assert set(known) <= {t.id for t in TESTS}


@pytest.mark.parametrize("test", cases(UNION_FAILS, own_default_graph=False))
def test_the_node_passes_with_the_union_default_graph(union, test):
    ok, why = outcome(union, test)
    assert ok, why


@pytest.mark.parametrize("test", cases(OWN_FAILS, own_default_graph=True))
def test_the_node_passes_with_its_own_default_graph(own, test):
    ok, why = outcome(own, test)
    assert ok, why


@pytest.mark.parametrize("test", cases(OXIGRAPH_FAILS, own_default_graph=True))
def test_oxigraph_serve_passes(oxigraph, test):
    ok, why = outcome(oxigraph, test)
    assert ok, why


def test_writing_the_union_default_graph_is_refused_and_names_the_setting(union):
    """Where the default graph is the union, the test that writes it does not apply: the node
    refuses the write with a 405 that says why and what to change, and nothing is written."""
    assert not isinstance(union, str), union
    before = checks.store_digest(union.url)
    for method in ("PUT", "POST", "DELETE"):
        r = requests.request(method, union.url + "/store?default", data=b"<http://example.org/s> "
                             b"<http://example.org/p> <http://example.org/o> .",
                             headers={**union.write_headers, "Content-Type": "application/n-triples"}, timeout=30)
        assert r.status_code == 405, (method, r.status_code, r.text)
        assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
        assert "union" in r.json()["detail"] and "--default-graph own" in r.json()["detail"], r.text
    assert checks.store_digest(union.url) == before


def test_the_runner_notices_a_wrong_graph(oxigraph):
    """A runner that passes everything proves nothing: the same exchanges, expecting another graph
    (or another status), fail."""
    test = next(t for t in TESTS if t.id == "put_get_repeat_indirect")
    get = test.exchanges[1]
    wrong = dataclasses.replace(test, exchanges=[test.exchanges[0], dataclasses.replace(
        get, response_body=get.response_body.replace("John Doe", "Jane Doe"))])
    ok, why = w3c_protocol.run(wrong, oxigraph)
    assert not ok and "the graph differs" in why
    wrong = dataclasses.replace(test, exchanges=[dataclasses.replace(test.exchanges[0], statuses=[204])])
    ok, why = w3c_protocol.run(wrong, oxigraph)
    assert not ok and "expected status [204], got 201" in why


def test_the_counts_are_reported(union, own, oxigraph):
    counts = {}
    for name, endpoint, known, own_default_graph in (("ecgraph_union", union, UNION_FAILS, False),
                                                      ("ecgraph_own", own, OWN_FAILS, True),
                                                      ("oxigraph", oxigraph, OXIGRAPH_FAILS, True)):
        tests = [t for t in TESTS if w3c_protocol.applies(t, own_default_graph)]
        failed = {t.id for t in tests if not outcome(endpoint, t)[0]}
        counts[name] = f"{len(tests) - len(failed)}/{len(tests)}"
        assert failed == set(known) & {t.id for t in tests}, f"{name}: the expected failures are out of date"
    checks.record("w3c graph store protocol", **counts)
    readme = checks.readme()
    own, total_own = counts["ecgraph_own"].split("/")
    union, total_union = counts["ecgraph_union"].split("/")
    oxigraph = counts["oxigraph"].split("/")[0]
    assert f"`--default-graph own` (indirect and direct identification) | {own} | {oxigraph} " in readme
    assert f"{total_own} |\n" in readme and f"its 405 is checked instead) | {union} | | {total_union} |" in readme

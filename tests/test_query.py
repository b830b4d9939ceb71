"""Query execution: result formats as the W3C specs define them, the row cap, and the hard
time limit of the worker pool (the slow query's CPU is freed; other queries keep answering)."""

import csv
import io
import json
import os
import threading
import time
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest

from ecgraph.query import results
from ecgraph.query.pool import QueryFailed, QueryPool, QueryRequest, bump, execute
from ecgraph.store.embedded import EmbeddedStore as Store
from ecgraph.workers import TaskTimeout

G = "https://w3id.org/ecgraph/twin/q"
DATA = """
@prefix ex: <http://example.org/> .
ex:a ex:name "Zonnewijk", "Zonnewijk"@nl ; ex:size 12 ; ex:knows ex:b, _:x .
ex:b ex:name "Quote \\" and, comma" .
_:x ex:name "tab\\there" .
"""


@pytest.fixture()
def memory_store():
    store = ox.Store()
    store.load(DATA.encode(), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(G))
    return store


def run(store, query, fmt, max_rows=None):
    return execute(store, QueryRequest(query, fmt, max_rows=max_rows))


SELECT = "SELECT ?s ?n WHERE { ?s <http://example.org/name> ?n } ORDER BY ?n"


def test_json_matches_pyoxigraphs_own_serializer(memory_store):
    ours = json.loads(run(memory_store, SELECT, "json").body)
    theirs = json.loads(memory_store.query(SELECT, use_default_graph_as_union=True)
                        .serialize(format=ox.QueryResultsFormat.JSON))
    assert ours == theirs


def test_xml_is_valid_sparql_results(memory_store):
    root = ET.fromstring(run(memory_store, SELECT, "xml").body)
    ns = "{http://www.w3.org/2005/sparql-results#}"
    assert [v.get("name") for v in root.iter(ns + "variable")] == ["s", "n"]
    assert len(list(root.iter(ns + "result"))) == 4
    assert any(lit.get("{http://www.w3.org/XML/1998/namespace}lang") == "nl" for lit in root.iter(ns + "literal"))


def test_csv_quotes_and_tsv_escapes(memory_store):
    rows = list(csv.reader(io.StringIO(run(memory_store, SELECT, "csv").body.decode())))
    assert rows[0] == ["s", "n"]
    assert ["http://example.org/b", 'Quote " and, comma'] in rows
    tsv = run(memory_store, SELECT, "tsv").body.decode().splitlines()
    assert tsv[0] == "?s\t?n"
    assert any("tab\\there" in line for line in tsv)


def test_row_cap_is_reported(memory_store):
    out = run(memory_store, SELECT, "json", max_rows=2)
    assert out.truncated and out.rows == 2
    assert len(json.loads(out.body)["results"]["bindings"]) == 2


def test_ask_and_construct(memory_store):
    assert json.loads(run(memory_store, "ASK { ?s ?p ?o }", "json").body)["boolean"] is True
    out = run(memory_store, "CONSTRUCT WHERE { ?s <http://example.org/size> ?o }", "ntriples")
    assert out.body.strip() == (b'<http://example.org/a> <http://example.org/size> '
                                b'"12"^^<http://www.w3.org/2001/XMLSchema#integer> .')


def test_syntax_error_is_marked(memory_store):
    with pytest.raises(QueryFailed) as err:
        run(memory_store, "SELEC * {}", "json")
    assert err.value.syntax


@pytest.fixture()
def pool(tmp_path):
    pool = QueryPool(("embedded", str(tmp_path)), workers=2, timeout=10)
    store = Store(tmp_path, on_commit=lambda: bump(pool.generation))
    quads = [ox.Triple(ox.NamedNode(f"http://example.org/s{i}"), ox.NamedNode("http://example.org/p"),
                       ox.Literal(str(i))) for i in range(2000)]
    store.commit(replace={G: quads})
    pool.start()
    yield pool
    pool.close()
    store.close()


CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def _cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_slow_query_is_stopped_and_its_cpu_freed(pool):
    pids = set(pool.pids())
    started = time.perf_counter()
    with pytest.raises(TaskTimeout):
        pool.run(QueryRequest(CARTESIAN, "json"), timeout=1.0)
    assert time.perf_counter() - started < 2.0
    time.sleep(0.3)
    # The worker that ran it is gone: no process is still burning CPU on it.
    for pid in pids - set(pool.pids()):
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    # ... and the pool is whole again.
    deadline = time.time() + 10
    while len(pool.pids()) < pool.size and time.time() < deadline:
        time.sleep(0.05)
    assert len(pool.pids()) == pool.size


def test_fast_query_answers_while_a_slow_one_runs(pool):
    errors = []

    slow_ended: list[float] = []

    def slow():
        try:
            pool.run(QueryRequest(CARTESIAN, "json"), timeout=5.0)
        except TaskTimeout:
            pass
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
        slow_ended.append(time.perf_counter())

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.3)
    for _ in range(10):
        out = pool.run(QueryRequest("ASK { ?s ?p ?o }", "json"))
        assert json.loads(out.body)["boolean"] is True
    fast_done = time.perf_counter()
    thread.join()
    assert not errors
    # not queued behind it: all ten answered while the slow query still held its worker
    assert slow_ended and fast_done < slow_ended[0]


def test_a_crashing_worker_is_replaced(pool):
    import signal

    victim = pool.pids()[0]
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.2)
    # A worker that died while idle is noticed before it is handed a query: nothing fails.
    for _ in range(6):
        assert json.loads(pool.run(QueryRequest("ASK { ?s ?p ?o }", "json"), timeout=5).body)["boolean"]
    deadline = time.time() + 10
    while len(pool.pids()) < pool.size and time.time() < deadline:
        time.sleep(0.05)
    assert len(pool.pids()) == pool.size
    assert victim not in pool.pids()


def test_results_module_offers_the_contracts_formats():
    from ecgraph import formats

    assert {f.key for f in formats.RESULTS} == {"json", "xml", "csv", "tsv"}
    assert {f.key for f in formats.GRAPH} == {"turtle", "ntriples", "jsonld", "rdfxml"}


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_native_and_capped_paths_agree(memory_store, fmt):
    """Results under the row cap come from pyoxigraph's serializer, results over it from the exact
    capped path; both count the same rows."""
    native = run(memory_store, SELECT, fmt, max_rows=100)
    assert native.rows == 4 and not native.truncated
    exact = results.solutions(memory_store.query(SELECT, use_default_graph_as_union=True), fmt, 100)
    assert exact.rows == 4
    capped = run(memory_store, SELECT, fmt, max_rows=3)
    assert capped.rows == 3 and capped.truncated
    empty = run(memory_store, "SELECT ?s WHERE { ?s <http://example.org/none> ?o }", fmt, max_rows=3)
    assert empty.rows == 0 and not empty.truncated


def _tricky_graph(seed: int) -> ox.Store:
    """Triples whose Turtle is hard to count by its text: literals with " , ", quotes, backslashes,
    line breaks, tabs and other scripts; language tags, datatypes, numbers that Turtle writes bare;
    blank nodes; several objects for one subject and predicate."""
    import random

    rng = random.Random(seed)
    pieces = [" , ", ",", " ; ", " . ", '"', '\\', "\n", "\r\n", "\t", "é", "日本", "a", " ", "<x>", "_:b", "#"]
    store = ox.Store()
    subjects = [ox.NamedNode(f"http://example.org/s{i}") for i in range(5)] + [ox.BlankNode(f"b{i}") for i in range(3)]
    predicates = [ox.NamedNode(f"http://example.org/p{i}") for i in range(4)] + [
        ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")]
    xsd = "http://www.w3.org/2001/XMLSchema#"
    for _ in range(rng.randint(1, 60)):
        kind = rng.randrange(7)
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        if kind == 0:
            obj = ox.Literal(text)
        elif kind == 1:
            obj = ox.Literal(text, language=rng.choice(["en", "nl", "de-ch"]))
        elif kind == 2:
            obj = ox.Literal(str(rng.randint(-5, 5)), datatype=ox.NamedNode(xsd + "integer"))
        elif kind == 3:
            obj = ox.Literal(rng.choice(["1.5", "-0.25", "1e3", "true", "false"]),
                             datatype=ox.NamedNode(xsd + rng.choice(["decimal", "double", "boolean"])))
        elif kind == 4:
            obj = ox.Literal(text, datatype=ox.NamedNode("http://example.org/dt"))
        elif kind == 5:
            obj = rng.choice(subjects)
        else:
            obj = ox.NamedNode(f"http://example.org/o{rng.randrange(5)}")
        store.add(ox.Quad(rng.choice(subjects), rng.choice(predicates), obj, ox.NamedNode(G)))
    return store


@pytest.mark.parametrize("fmt, rdf", [("turtle", ox.RdfFormat.TURTLE), ("ntriples", ox.RdfFormat.N_TRIPLES)])
def test_graph_rows_are_counted_from_pyoxigraphs_own_output(fmt, rdf):
    """CONSTRUCT and DESCRIBE answers in Turtle and N-Triples are pyoxigraph's output; their rows,
    counted from its text, are the triples a parser reads back, over 300 random graphs."""
    for seed in range(300):
        store = _tricky_graph(seed)
        query = "CONSTRUCT WHERE { ?s ?p ?o }"
        answer = store.query(query, use_default_graph_as_union=True)
        out = results.graph_native(answer, fmt, None)
        assert out is not None
        read = list(ox.parse(out.body, format=rdf))
        assert out.rows == len(read) == len(store), (seed, out.body)
        assert not out.truncated
        assert execute(store, QueryRequest(query, fmt)).body == out.body


@pytest.mark.parametrize("fmt, rdf", [("turtle", ox.RdfFormat.TURTLE), ("ntriples", ox.RdfFormat.N_TRIPLES)])
def test_a_graph_over_the_cap_is_cut_exactly(fmt, rdf):
    store = _tricky_graph(7)
    total = len(store)
    for cap in (1, total // 2, total - 1, total, total + 1):
        out = execute(store, QueryRequest("CONSTRUCT WHERE { ?s ?p ?o }", fmt, max_rows=cap))
        assert out.rows == min(cap, total) == len(list(ox.parse(out.body, format=rdf)))
        assert out.truncated == (cap < total)


def test_other_graph_formats_are_not_read_by_the_native_path(memory_store):
    answer = memory_store.query("CONSTRUCT WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
    assert results.graph_native(answer, "jsonld", None) is None
    assert len(list(answer)) == len(memory_store)  # nothing was read
    for fmt in ("jsonld", "rdfxml"):
        assert execute(memory_store, QueryRequest("CONSTRUCT WHERE { ?s ?p ?o }", fmt)).rows == len(memory_store)


def test_a_native_graph_answer_stops_at_its_deadline(memory_store):
    answer = memory_store.query("CONSTRUCT WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
    with pytest.raises(results.DeadlinePassed):
        results.graph_native(answer, "turtle", None, deadline=time.monotonic() - 1)

"""The on-disk store: atomic replaces, persistence, and snapshots for query workers."""

import random
import threading

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from ecgraph.query.pool import QueryPool, QueryRequest, bump
from ecgraph.store.embedded import EmbeddedStore as Store
from ecgraph.store.embedded import StoreLocked, open_read_only

G = "https://w3id.org/ecgraph/twin/t"


def triples(n, tag="a"):
    return [ox.Triple(ox.NamedNode(f"http://example.org/s{i}"), ox.NamedNode("http://example.org/p"),
                      ox.Literal(f"{tag}{i}")) for i in range(n)]


def count(store, graph=G):
    rows = list(store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"))
    return int(rows[0]["n"].value)


def test_reopening_gives_back_what_was_committed(tmp_path):
    store = Store(tmp_path)
    store.commit(replace={G: triples(50)}, insert={"http://example.org/other": triples(3, "b")})
    store.close()
    again = Store(tmp_path)
    assert set(again.graph_triples(G)) == set(triples(50))
    assert len(again.graph_triples("http://example.org/other")) == 3
    again.close()


def test_a_second_writer_is_told_the_store_is_in_use(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(StoreLocked) as err:
        Store(tmp_path)
    assert "in use" in str(err.value)
    store.close()


def test_a_failed_update_changes_nothing(tmp_path):
    store = Store(tmp_path)
    store.commit(replace={G: triples(10)})
    with pytest.raises(SyntaxError):
        store.update(f"DROP GRAPH <{G}> ; INSERT DATA {{ GRAPH <{G}> {{ <a:b> <a:c> }} }}")
    assert len(store.graph_triples(G)) == 10
    store.close()


def test_replace_is_atomic_for_a_concurrent_reader(tmp_path):
    """A reader never sees the twin empty or half-replaced (remove_graph + extend would)."""
    store = Store(tmp_path)
    small, large = triples(1000, "old"), triples(3000, "new")
    store.commit(replace={G: small})
    seen = set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            seen.add(count(store))

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(20):
        store.commit(replace={G: large if i % 2 == 0 else small})
    stop.set()
    thread.join()
    assert seen <= {1000, 3000}, seen
    assert len(seen) == 2
    store.close()


def test_catalog_subjects_are_rewritten_whole(tmp_path):
    store = Store(tmp_path)
    cat = "http://example.org/catalog"
    s = ox.NamedNode("http://example.org/entry")
    store.commit(insert={cat: [ox.Triple(s, ox.NamedNode("http://example.org/v"), ox.Literal("1"))]})
    store.commit(delete_subjects={cat: [s]},
                 insert={cat: [ox.Triple(s, ox.NamedNode("http://example.org/v"), ox.Literal("2"))]})
    assert [t.object.value for t in store.subjects_triples(cat, s)] == ["2"]
    store.close()


def test_snapshot_does_not_see_later_writes_until_reopened(tmp_path):
    store = Store(tmp_path)
    store.commit(replace={G: triples(5)})
    snapshot = open_read_only(tmp_path)
    store.commit(replace={G: triples(7)})
    assert count(snapshot) == 5
    assert count(open_read_only(tmp_path)) == 7
    store.close()


def test_query_workers_see_each_commit_whole(tmp_path):
    pool = QueryPool(("embedded", str(tmp_path)), workers=2, timeout=10)
    store = Store(tmp_path, on_commit=lambda: bump(pool.generation))
    store.commit(replace={G: triples(100)})
    pool.start()
    try:
        q = QueryRequest(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}", "csv")
        assert pool.run(q).body.split()[-1] == b"100"
        store.commit(replace={G: triples(250)})
        # Read-your-writes: the commit has returned, so the next query sees it.
        assert pool.run(q).body.split()[-1] == b"250"
    finally:
        pool.close()
        store.close()


def test_replace_writes_the_difference_and_keeps_blank_nodes_whole(tmp_path):
    store = Store(tmp_path)
    inferred = G + "/inferred"
    first = ('<http://example.org/c> <http://example.org/indicator> _:i .\n'
             '_:i <http://example.org/value> "1" .\n<http://example.org/c> <http://example.org/name> "A" .\n')
    store.commit(replace={G: first, inferred: "_:i <http://example.org/type> <http://example.org/Obs> .\n"})
    second = ('<http://example.org/c> <http://example.org/indicator> _:j .\n'
              '_:j <http://example.org/value> "2" .\n<http://example.org/c> <http://example.org/name> "A" .\n')
    store.commit(replace={G: second, inferred: "_:j <http://example.org/type> <http://example.org/Obs> .\n"})
    rows = list(store.query(f"""SELECT ?v WHERE {{
        GRAPH <{G}> {{ <http://example.org/c> <http://example.org/indicator> ?i . ?i <http://example.org/value> ?v }}
        GRAPH <{inferred}> {{ ?i <http://example.org/type> <http://example.org/Obs> }} }}"""))
    assert [r["v"].value for r in rows] == ["2"]  # the data and its inferences share the new node
    assert len(store.graph_triples(G)) == 3 and len(store.graph_triples(inferred)) == 1
    store.commit(replace={G: second})  # the same content again: nothing lost, nothing doubled
    assert len(store.graph_triples(G)) == 3
    store.close()


def _random_twin(rng, size: int, blank_share: float, previous: str = "") -> str:
    """N-Triples as the pipeline writes them: named subjects, blank nodes as subject, object or
    both, literals; about 70 % of ``previous``'s lines kept (a republish with changes), and terms
    drawn from small ranges, so that ground and blank lines often share a predicate and object
    or a subject and predicate."""
    lines = {line for line in previous.splitlines() if line and rng.random() < 0.7}
    blanks = [f"_:b{rng.randrange(10**6)}" for _ in range(max(1, size // 6))]
    while len(lines) < size:
        s = f"<http://example.org/s{rng.randrange(12)}>"
        p = f"<http://example.org/p{rng.randrange(3)}>"
        o = f'"{rng.randrange(8)}"' if rng.random() < 0.6 else f"<http://example.org/o{rng.randrange(6)}>"
        if rng.random() < blank_share:
            kind = rng.randrange(3)
            if kind == 0:
                s = rng.choice(blanks)
            elif kind == 1:
                o = rng.choice(blanks)
            else:
                s, o = rng.choice(blanks), rng.choice(blanks)
        lines.add(f"{s} {p} {o} .")
    return "\n".join(sorted(lines)) + "\n"


def _graph_of(store, graph):
    g = Graph()
    text = store.graph_ntriples(graph)
    if text.strip():
        g.parse(data=text, format="nt")
    return g


@pytest.mark.parametrize("blank_share", [0.05, 0.5, 0.9])
def test_a_replace_leaves_exactly_the_new_content_whatever_its_blank_nodes(tmp_path, blank_share):
    """Differential: after each commit (a replace of two graphs with blank nodes of every kind,
    catalog subjects deleted and rewritten in the same commit), each replaced graph is isomorphic
    to what was sent (rdflib's canonical comparison), the catalog holds exactly the new entries,
    and a graph the commit does not name is untouched; the line difference and the one pattern
    operation are checked against the plain meaning of a replace."""
    rng = random.Random(int(blank_share * 100))
    store = Store(tmp_path)
    data, inferred, catalog, other = G, G + "/inferred", "https://w3id.org/ecgraph/graph/catalog", G + "-other"
    store.commit(insert={other: "<http://example.org/x> <http://example.org/p> _:keep .\n"
                                "_:keep <http://example.org/p> \"kept\" .\n"})
    kept = _graph_of(store, other)
    new_data = new_inferred = ""
    for round_ in range(8):
        new_data = _random_twin(rng, 120, blank_share, new_data)
        new_inferred = _random_twin(rng, 60, blank_share, new_inferred)
        subjects = [ox.NamedNode(f"http://example.org/entry{i}") for i in range(3)]
        entry = "".join(f"{s} <http://example.org/round> \"{round_}\" .\n" for s in subjects)
        store.commit(replace={data: new_data, inferred: new_inferred}, delete_subjects={catalog: subjects},
                     insert={catalog: entry}, known={data: store.graph_ntriples(data)} if round_ % 2 else None)
        for graph, sent in ((data, new_data), (inferred, new_inferred)):
            assert isomorphic(_graph_of(store, graph), Graph().parse(data=sent, format="nt")), (round_, graph)
        assert isomorphic(_graph_of(store, catalog), Graph().parse(data=entry, format="nt"))
        assert isomorphic(_graph_of(store, other), kept)
    store.close()


def test_a_commit_removes_by_pattern_in_one_operation_before_its_data(tmp_path, monkeypatch):
    """oxigraph applies an update whose only pattern operation comes first without reading its
    own writes back (at a 10,000-triple republish, 43 ms instead of 73-125 ms): a commit that
    removes blank nodes of several kinds and catalog subjects sends one pattern operation,
    first, and then only DELETE DATA and INSERT DATA."""
    store = Store(tmp_path)
    first = ("<http://example.org/c> <http://example.org/q> _:i .\n_:i <http://example.org/v> \"1\" .\n"
             "_:i <http://example.org/next> _:j .\n<http://example.org/c> <http://example.org/n> \"A\" .\n"
             + "".join(f"<http://example.org/c> <http://example.org/m> \"{i}\" .\n" for i in range(20)))
    catalog = "https://w3id.org/ecgraph/graph/catalog"
    store.commit(replace={G: first}, insert={catalog: "<http://example.org/e> <http://example.org/p> \"1\" .\n"})
    sent = []
    monkeypatch.setattr(store, "_update", lambda sparql, base_iri, meanwhile: (sent.append(sparql),
                        type(store)._update(store, sparql, base_iri, meanwhile)))
    second = first.replace('"1"', '"2"').replace('"A"', '"B"')
    store.commit(replace={G: second}, delete_subjects={catalog: [ox.NamedNode("http://example.org/e")]},
                 insert={catalog: "<http://example.org/e> <http://example.org/p> \"2\" .\n"})
    operations = [op.split(None, 2)[:2] for op in sent[0].split(" ;\n")]
    assert operations == [["DELETE", "{"], ["DELETE", "DATA"], ["INSERT", "DATA"]], sent[0][:500]
    assert isomorphic(_graph_of(store, G), Graph().parse(data=second, format="nt"))
    store.close()

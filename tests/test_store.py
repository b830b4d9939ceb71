"""The on-disk store: atomic replaces, persistence, and snapshots for query workers."""

import threading

import pyoxigraph as ox
import pytest

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

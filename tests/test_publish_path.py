"""The publishing path made shorter (issue 19): the twin's current graphs read while the upload is
prepared, discovery indexing behind the acknowledgement with reads that wait for it, no figure
shares computed where nothing reads them, a bulk load's registry writes in one transaction, and
the worker's collector off during a request. Each test checks what must still hold: every read
after an acknowledged write sees it, and the stored graphs are exactly what was prepared."""

from __future__ import annotations

import contextlib
import gc
import threading
import time

import pyoxigraph as ox
import pytest

from ecgraph import standard
from ecgraph.discovery.behind import Behind
from ecgraph.node import Caller
from ecgraph.publish import pipeline as pipeline_module
from ecgraph.publish.pipeline import Upload
from ecgraph.query.figures import AGGREGATES
from tests.helpers import ADMIN, make_twin

COMMUNITY = "https://{}.example/id/community"


def _slow_index(node, seconds: float = 0.4) -> threading.Event:
    """Make the discovery index slow to write, and say when a write started."""
    started = threading.Event()
    original = node._discovery.index

    def index(*args, **kwargs):
        started.set()
        time.sleep(seconds)
        return original(*args, **kwargs)

    node._discovery.index = index
    return started


def _publish(node, twin_id: str, **twin) -> None:
    if node.registry.twin(twin_id) is None:
        node.register(twin_id, twin_id)
    node.publish(twin_id, node.upload_for(twin_id, make_twin(twin_id, **twin), filename="t.ttl"))


def test_a_read_right_after_a_publish_finds_the_twin_that_is_indexed_behind_the_acknowledgement(node):
    started = _slow_index(node)
    _publish(node, "alpha", schools=1)
    assert started.wait(5) and node._behind.waiting == 1  # answered while the index was still being written
    assert [c["iri"] for c in node.communities()[1]] == [COMMUNITY.format("alpha")]
    assert node._behind.waiting == 0
    assert node.discovery.db.indexed()["alpha"][0] == node.entry("alpha").version


def test_an_unpublish_right_after_a_publish_leaves_nothing_indexed(node):
    _slow_index(node)
    _publish(node, "alpha")
    node.unpublish("alpha")  # its removal waits for the index job queued before it
    node._behind.close()  # whatever is still queued has run
    assert node.communities() == (0, []) and "alpha" not in node._discovery.db.indexed()


def test_jobs_run_in_order_and_settle_waits_for_every_one_queued_before_it():
    behind = Behind(max_waiting_bytes=10)
    done: list[int] = []
    for i in range(5):  # beyond the byte bound: the caller waits for room, nothing is dropped
        behind.submit(lambda i=i: (time.sleep(0.02), done.append(i)), size=6)
    behind.settle()
    assert done == [0, 1, 2, 3, 4]
    behind.submit(lambda: (_ for _ in ()).throw(RuntimeError("logged, not raised")))
    behind.submit(lambda: done.append(5))
    behind.close()
    assert done[-1] == 5
    behind.submit(lambda: done.append(6))  # after close: run at once, never lost
    assert done[-1] == 6


def test_settle_with_a_timeout_says_whether_the_jobs_before_it_are_done():
    behind = Behind()
    release = threading.Event()
    behind.submit(lambda: release.wait(10))
    started = time.monotonic()
    assert behind.settle(timeout=0.2) is False and 0.15 < time.monotonic() - started < 5
    release.set()
    assert behind.settle(timeout=10) is True
    behind.close()


def _graph(node, graph: str) -> set[str]:
    return {line for line in node.store.graph_ntriples(graph).split("\n") if line}


def test_replacing_a_twin_back_and_forth_stores_exactly_what_each_upload_prepared(node):
    for tag, members, schools in (("A", 3, 1), ("B", 5, 0), ("A", 3, 1), ("C", 2, 2)):
        body = make_twin("alpha", tag=tag, members=members, schools=schools)
        if node.registry.twin("alpha") is None:
            node.register("alpha", "alpha")
        expected = node.pipeline.prepare(node.upload_for("alpha", body, filename="t.ttl"))
        node.publish("alpha", node.upload_for("alpha", body, filename="t.ttl"))
        entry = node.entry("alpha")
        assert _graph(node, entry.graph) == set(expected.data_ntriples.split("\n"))
        assert _graph(node, entry.inferred_graph) == set(expected.inferred_ntriples.split("\n"))


def test_an_admin_update_while_an_upload_is_prepared_is_not_overwritten_by_a_stale_read(node, monkeypatch):
    """The twin's graphs are read before the upload is prepared and handed to the commit as its
    current text; an admin's SPARQL update in between (it holds neither the twin's lock nor waits
    for the upload) makes that text stale, and the commit reads the graphs again."""
    _publish(node, "alpha")
    inferred = standard.inferred_graph("alpha")
    stray = "<https://alpha.example/id/community> <http://example.org/stray> <urn:stray>"
    prepare, read_current = node.prepare, node._read_current
    read = threading.Event()

    def read_and_say_so(entry):
        try:
            return read_current(entry)
        finally:
            read.set()

    def prepare_while_an_admin_writes(upload, **options):
        assert read.wait(10)  # the twin's graphs were read; now the admin writes
        node.update(f"INSERT DATA {{ GRAPH <{inferred}> {{ {stray} }} }}", caller=Caller(token=ADMIN))
        return prepare(upload, **options)

    monkeypatch.setattr(node, "_read_current", read_and_say_so)
    monkeypatch.setattr(node, "prepare", prepare_while_an_admin_writes)
    _publish(node, "alpha", tag="B")
    monkeypatch.undo()
    assert stray + " ." not in _graph(node, inferred)
    body = make_twin("alpha", tag="B")
    expected = node.pipeline.prepare(node.upload_for("alpha", body, filename="t.ttl"))
    assert _graph(node, inferred) == set(expected.inferred_ntriples.split("\n"))


def test_a_node_that_never_built_its_figures_computes_no_shares_until_it_does(node, tmp_path):
    from bench.generate import generate
    from tests.test_figures import kept, raw

    files = [p for p in generate(tmp_path / "net", 3, seed=3, triples_per_twin=300) if p.stem.startswith("community")]
    for path in files:
        node.register(path.stem, path.stem)
    first, *others = files
    node.publish(first.stem, node.upload_for(first.stem, first.read_bytes(), filename=first.name))
    assert len(node.figures) == 0  # the command line's node: nothing reads them
    node.figures.rebuild(background=False)
    for path in others:
        node.publish(path.stem, node.upload_for(path.stem, path.read_bytes(), filename=path.name))
    assert len(node.figures) > 0
    for name in AGGREGATES:
        assert kept(node, name) == raw(node, name) and raw(node, name), name


def test_the_worker_turns_the_collector_back_on_after_every_request_even_a_refused_one():
    pipeline = pipeline_module.init_worker()
    assert gc.isenabled()
    prepared = pipeline_module.handle(pipeline, ("prepare", Upload(data=make_twin("alpha"), filename="t.ttl")))
    assert prepared.triples > 0 and gc.isenabled()
    with pytest.raises(Exception, match="syntax"):
        pipeline_module.handle(pipeline, ("prepare", Upload(data=b"<a> <b> .", filename="t.ttl")))
    assert gc.isenabled()


def test_a_bulk_load_records_each_twin_s_change_and_namespaces_as_single_publishes_do(node):
    ids = ["alpha", "beta", "gamma"]
    for twin_id in ids:
        node.register(twin_id, twin_id)
    results = node.bulk_publish([(t, node.upload_for(t, make_twin(t), filename="t.ttl")) for t in ids], jobs=1)
    assert not [r for r in results.values() if isinstance(r, Exception)]
    changes = node.registry.changes(0, 100)
    assert sorted((c["twin"], c["version"], c["hash"], c["kind"]) for c in changes) == sorted(
        (t, node.entry(t).version, node.entry(t).content_hash, "published") for t in ids)
    for twin_id in ids:
        assert node.registry.namespaces(twin_id) == [f"https://{twin_id}.example/id/"]
    assert {c["iri"] for c in node.communities()[1]} == {COMMUNITY.format(t) for t in ids}
    assert ox.NamedNode(standard.twin_graph("alpha")) in set(node.store.engine().named_graphs())


def _blank_graph(tag: str, ground: int) -> str:
    """A graph with every kind of blank-node triple (blank subject, blank object, both), literals
    of every form as their objects, and ``ground`` triples without blank nodes."""
    ex = "http://example.org/"
    lines = [f'<{ex}c> <{ex}indicator> _:i{tag} .',
             f'_:i{tag} <{ex}value> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .',
             f'_:i{tag} <{ex}label> "say \\"hi\\"\\n"@en .',
             f'_:i{tag} <{ex}note> "plain {tag}" .',
             f'_:i{tag} <{ex}next> _:k{tag} .',
             f'_:k{tag} <{ex}type> <{ex}Obs> .']
    lines += [f'<{ex}c> <{ex}n{i}> "{tag}{i}" .' for i in range(ground)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("ground", [40, 2], ids=["few blank nodes: by the indexes", "mostly blank nodes: a scan"])
def test_a_replace_removes_every_old_blank_node_triple_and_nothing_else(tmp_path, ground):
    from ecgraph.store.embedded import EmbeddedStore

    store = EmbeddedStore(tmp_path)
    graph, other = standard.twin_graph("t"), standard.twin_graph("other")
    store.commit(replace={graph: _blank_graph("a", ground), other: _blank_graph("a", ground)})
    for known in (False, True):
        old = store.graph_ntriples(graph)
        store.commit(replace={graph: _blank_graph("b" if not known else "c", ground)},
                     known={graph: old} if known else None)
        stored = store.graph_triples(graph)
        assert len(stored) == 6 + ground
        assert {t.object.value for t in stored if isinstance(t.object, ox.Literal) and "plain" in t.object.value} == {
            "plain " + ("c" if known else "b")}
    assert len(store.graph_triples(other)) == 6 + ground  # another graph's blank nodes untouched
    store.close()


def _unlabelled(quads: set[str]) -> list[str]:
    """Quads with their blank nodes' labels taken out (each store labels them its own way)."""
    return sorted(q.replace(q.split("_:")[1].split(" ")[0], "") if "_:" in q else q for q in quads)


def _graph_quads(node, graph: str) -> set[str]:
    return {str(q) for q in node.store.engine().quads_for_pattern(None, None, None, ox.NamedNode(graph))}


@contextlib.contextmanager
def _bulk_and_single(installed_data, tmp_path, ids, workers=(False, False)):
    """Two fresh nodes with the same twins registered: one to bulk-load them, one to publish them
    one by one (``workers``: whether each runs worker processes); closed afterwards."""
    import shutil

    from ecgraph.config import Config
    from ecgraph.node import Node

    nodes = []
    try:
        for name, with_workers in zip(("bulk", "single"), workers, strict=True):
            shutil.copytree(installed_data, tmp_path / name)
            n = Node(Config.load(environ={}, data=tmp_path / name, admin_token=ADMIN, no_demo=True,
                                 query_workers=1, pipeline_workers=1), workers=with_workers)
            nodes.append(n)
            for t in ids:
                n.register(t, t)
        yield nodes[0], nodes[1]
    finally:
        for n in nodes:
            n.close()


def test_a_bulk_load_stores_exactly_the_graphs_single_publishes_store_even_for_tricky_literals(installed_data,
                                                                                                 tmp_path):
    """The bulk writer turns each twin's N-Triples into N-Quads with one text replace of the line
    ends: literals holding " ." and newlines (escaped in N-Triples), blank nodes and language tags
    must come out as the normal publishing path stores them."""
    tricky = ('<https://{0}.example/id/community> <https://schema.org/description> '
              '"ends with a dot .\\nand a line that ends with one too .\\n ." , '
              '"a > and a < inside" , "x ."@en ;\n'
              '  <https://schema.org/knowsAbout> [ <https://schema.org/name> "b ." ] .\n')
    ids = ["alpha", "beta"]
    bodies = {t: make_twin(t) + tricky.format(t).encode() for t in ids}
    with _bulk_and_single(installed_data, tmp_path, ids) as (bulk, single):
        results = bulk.bulk_publish([(t, bulk.upload_for(t, bodies[t], filename="t.ttl")) for t in ids], jobs=1)
        assert not [r for r in results.values() if isinstance(r, Exception)]
        for t in ids:
            single.publish(t, single.upload_for(t, bodies[t], filename="t.ttl"))
        for t in ids:
            for graph in (standard.twin_graph(t), standard.twin_graph(t) + standard.INFERRED_SUFFIX):
                ours, theirs = _graph_quads(bulk, graph), _graph_quads(single, graph)
                assert ours and len(ours) == len(theirs)
                assert _unlabelled(ours) == _unlabelled(theirs)
            assert bulk.entry(t).triples == single.entry(t).triples
            assert bulk.entry(t).inferred == single.entry(t).inferred


def test_a_bulk_load_refuses_a_twin_that_is_not_registered_and_loads_the_others(node):
    node.register("alpha", "alpha")
    results = node.bulk_publish([(t, node.upload_for(t, make_twin(t), filename="t.ttl")) for t in ("alpha", "ghost")],
                                jobs=1)
    assert "not registered" in str(results["ghost"])
    assert node.entry("ghost") is None and node.entry("alpha") is not None


def _discovery_rows(node) -> dict[str, list]:
    """What the discovery index holds, without what differs by when or in which order it was
    written (the indexing time, the items' row ids)."""
    node._behind.settle()
    db = node._discovery.db
    rows = {table: sorted(map(repr, db.read(f"SELECT * FROM {table}")))
            for table in ("communities", "facets", "networks", "indicators", "tools")}
    rows["twins"] = sorted(map(repr, db.read("SELECT twin_id, version, content_hash FROM twins")))
    rows["items"] = sorted(map(repr, db.read("SELECT twin_id, iri, kind, owner, data FROM items")))
    rows["item_topics"] = sorted(map(repr, db.read(
        "SELECT i.iri, t.topic FROM item_topics t JOIN items i ON i.id = t.item")))
    rows["items_fts"] = sorted(map(repr, db.read(
        "SELECT i.iri, f.title, f.summary, f.worked, f.did_not_work, f.topics, f.lang "
        "FROM items_fts f JOIN items i ON i.id = f.item")))
    return rows


def _network_files(tmp_path) -> list:
    """Generated twins with lessons, tools, indicators and networks, and a twin whose inferences
    say something about a resource nobody claims (kept)."""
    from bench.generate import generate

    files = generate(tmp_path / "net", 6, seed=3, triples_per_twin=300)
    extra = tmp_path / "net" / "extra.ttl"
    extra.write_bytes(make_twin("extra") + b"<https://extra.example/id/community> "
                      b"<http://www.w3.org/ns/org#hasMember> <https://elsewhere.example/m> .\n")
    return [*files, extra]


def _extracted_here(monkeypatch) -> list[str]:
    """The twins whose discovery features the node's own process extracts (from their stored text),
    recorded from now on."""
    import ecgraph.discovery as discovery_module

    extracted: list[str] = []
    original = discovery_module.extract
    monkeypatch.setattr(discovery_module, "extract", lambda *a, **k: extracted.append(a[0]) or original(*a, **k))
    return extracted


def _indexes_as_single_publishes(node, single, files) -> None:
    """``node`` holds ``files`` already; ``single`` publishes them one by one; both discovery
    indexes must hold exactly the same rows (and rows of every kind)."""
    for f in files:
        single.publish(f.stem, single.upload_for(f.stem, f.read_bytes(), filename=f.name))
    ours, theirs = _discovery_rows(node), _discovery_rows(single)
    assert ours["communities"] and ours["items"] and ours["indicators"] and ours["items_fts"]
    assert ours == theirs


def test_a_bulk_load_indexes_for_discovery_exactly_what_single_publishes_index(installed_data, tmp_path,
                                                                             monkeypatch):
    """A bulk load's workers extract each twin's discovery features from the triples they hold;
    the index must come out as the main process's extraction from the stored text makes it,
    for generated twins with lessons, tools, indicators and networks."""
    files = _network_files(tmp_path)
    with _bulk_and_single(installed_data, tmp_path, [f.stem for f in files]) as (bulk, single):
        extracted_here = _extracted_here(monkeypatch)
        uploads = [(f.stem, bulk.upload_for(f.stem, f.read_bytes(), filename=f.name)) for f in files]
        results = bulk.bulk_publish(uploads, jobs=1)
        assert not [r for r in results.values() if isinstance(r, Exception)]
        bulk._behind.settle()
        # the networks come first, so the communities' inferences about them are dropped: those
        # twins are indexed from their stored text; every other twin from the worker's features
        communities = {f.stem for f in files if f.stem.startswith("community-")}
        assert communities and set(extracted_here) == communities
        assert all(r.entry is not None for r in results.values())
        _indexes_as_single_publishes(bulk, single, files)


def test_a_publish_indexes_the_features_its_worker_extracted_while_the_node_committed(installed_data, tmp_path,
                                                                                     monkeypatch):
    """A single publish's worker answers with the prepared upload, then extracts the twin's
    discovery features from the triples it still holds while the node commits; the index must
    come out as the node's own extraction from the stored text makes it (a node without workers),
    and the node extracts only the twins whose inferences about others' resources were dropped."""
    files = _network_files(tmp_path)
    with _bulk_and_single(installed_data, tmp_path, [f.stem for f in files], workers=(True, False)) as (ours, plain):
        extracted_here = _extracted_here(monkeypatch)
        for f in files:
            ours.publish(f.stem, ours.upload_for(f.stem, f.read_bytes(), filename=f.name))
        ours._behind.settle()
        communities = {f.stem for f in files if f.stem.startswith("community-")}
        assert communities and set(extracted_here) == communities  # the others: the worker's features
        _indexes_as_single_publishes(ours, plain, files)


def test_a_publish_whose_worker_could_not_extract_the_features_is_indexed_from_its_text(installed_data, tmp_path,
                                                                                       monkeypatch, caplog):
    from concurrent.futures import Future

    from ecgraph.workers import WorkerDied

    with _bulk_and_single(installed_data, tmp_path, ["alpha"], workers=(True, False)) as (node, _plain):
        prepare = node.prepare

        def worker_lost_after_answering(upload, **options):
            prepared = prepare(upload, **options)
            assert isinstance(prepared.features, Future)  # the worker was asked for them
            prepared.features.result(timeout=30)
            failed: Future = Future()
            failed.set_exception(WorkerDied("the worker process stopped unexpectedly"))
            prepared.features = failed
            return prepared

        monkeypatch.setattr(node, "prepare", worker_lost_after_answering)
        with caplog.at_level("WARNING", logger="ecgraph.node"):
            _publish(node, "alpha", schools=1)
            assert [c["iri"] for c in node.communities()[1]] == [COMMUNITY.format("alpha")]
        assert "extracting them from its text" in caplog.text
        assert node.discovery.db.indexed()["alpha"][0] == node.entry("alpha").version


def test_a_commit_reads_what_it_wrote_while_the_store_makes_it_durable_and_fails_only_after(tmp_path):
    """``meanwhile`` (a publish's figure shares) runs once the update is applied, on another
    thread while the store flushes (the generation still odd: nobody told yet); an exception in
    it is raised after the commit is complete, never half-way."""
    from ecgraph.store.embedded import EmbeddedStore
    from ecgraph.workers import shared_counter

    store = EmbeddedStore(tmp_path)
    store.generation = shared_counter()
    graph = standard.twin_graph("t")
    seen = []

    def read_what_was_written():
        seen.append((store.generation.value & 1, threading.current_thread() is threading.main_thread(),
                     len(store.graph_triples(graph))))

    store.commit(replace={graph: '<urn:a> <urn:p> "1" .\n<urn:a> <urn:p> "2" .\n'}, meanwhile=read_what_was_written)
    assert seen == [(1, False, 2)] and store.generation.value % 2 == 0

    def fail():
        raise ValueError("the shares could not be read")

    with pytest.raises(ValueError, match="could not be read"):
        store.commit(replace={graph: '<urn:a> <urn:p> "3" .\n'}, meanwhile=fail)
    assert store.generation.value % 2 == 0 and [t.object.value for t in store.graph_triples(graph)] == ["3"]
    store.close()


def test_a_publish_whose_figure_shares_fail_is_acknowledged_and_the_figures_are_rebuilt(node, monkeypatch, caplog):
    from tests.test_figures import kept, raw

    _publish(node, "alpha")
    node.figures.rebuild(background=False)
    update = node.figures.update
    calls = []

    def fail_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("a share query failed")
        return update(*args, **kwargs)

    monkeypatch.setattr(node.figures, "update", fail_once)
    with caplog.at_level("ERROR", logger="ecgraph.node"):
        _publish(node, "alpha", tag="B")
    assert "rebuilding them" in caplog.text and node.entry("alpha").version == 2
    assert node.figures.wait(60)
    for name in AGGREGATES:
        assert kept(node, name) == raw(node, name), name


def test_a_bulk_load_writes_every_batch_with_one_load_of_the_store_and_leaves_no_spool(node, monkeypatch):
    """One call of the engine's loader for the whole load, whatever the batches (loaded one call
    a batch, the store came out laid out differently and read up to a fifth slower); the spool
    file it was written from is gone after it."""
    store_type = type(node.store)
    calls: list[tuple[str, int]] = []
    original_file, original_bytes = store_type.bulk_load_file, store_type.bulk_load
    monkeypatch.setattr(store_type, "bulk_load_file",
                        lambda self, path: calls.append(("file", path.stat().st_size)) or original_file(self, path))
    monkeypatch.setattr(store_type, "bulk_load",
                        lambda self, nquads: calls.append(("bytes", len(nquads))) or original_bytes(self, nquads))
    ids = [f"t{i}" for i in range(5)]
    for twin_id in ids:
        node.register(twin_id, twin_id)
    results = node.bulk_publish([(t, node.upload_for(t, make_twin(t), filename="t.ttl")) for t in ids],
                                jobs=1, batch=2)
    assert not [r for r in results.values() if isinstance(r, Exception)], results
    assert [kind for kind, _ in calls] == ["file"], calls
    engine = node.store.engine()
    for twin_id in ids:
        entry = node.entry(twin_id)
        assert entry.triples == sum(1 for _ in engine.quads_for_pattern(None, None, None, ox.NamedNode(entry.graph)))
        assert entry.inferred == sum(1 for _ in engine.quads_for_pattern(None, None, None,
                                                                          ox.NamedNode(entry.inferred_graph)))
    assert not list(node.tmp_dir.glob("bulk-*")), list(node.tmp_dir.iterdir())
    assert node.registry.bulk_pending() == []


def test_a_bulk_load_writes_its_catalog_entries_in_commits_of_a_bounded_number_of_twins(node, monkeypatch):
    """The engine holds a whole write in memory, and 10,000 twins' entries are about 265,000 quads:
    each commit holds the entries of at most BULK_CATALOG_TWINS twins, and every twin gets its
    entry."""
    import ecgraph.node as node_module
    from ecgraph.publish import catalog

    monkeypatch.setattr(node_module, "BULK_CATALOG_TWINS", 2)
    commits: list[int] = []
    store_type = type(node.store)
    original = store_type.commit

    def counting(self, *args, **kwargs):
        inserted = (kwargs.get("insert") or {}).get(standard.CATALOG_GRAPH)
        if inserted is not None:
            commits.append(sum(1 for t in inserted if t.predicate.value == catalog.VOID + "triples"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(store_type, "commit", counting)
    ids = [f"c{i}" for i in range(5)]
    for twin_id in ids:
        node.register(twin_id, twin_id)
    results = node.bulk_publish([(t, node.upload_for(t, make_twin(t), filename="t.ttl")) for t in ids], jobs=1)
    assert not [r for r in results.values() if isinstance(r, Exception)], results
    assert commits == [2, 2, 1], commits
    assert all(node.entry(t) is not None and node.entry(t).triples > 0 for t in ids)


def test_a_bulk_load_checks_each_twin_s_namespaces_against_the_twins_of_earlier_batches(node):
    """Claims are recorded only once the data is stored, at the end: a twin of a later batch that
    claims an earlier twin's namespace is refused all the same, and the earlier twin is loaded."""
    for twin_id in ("alpha", "beta", "gamma"):
        node.register(twin_id, twin_id)
    uploads = [("alpha", node.upload_for("alpha", make_twin("alpha"), filename="t.ttl")),
               ("beta", node.upload_for("beta", make_twin("alpha", tag="B"), filename="t.ttl")),  # alpha's IRIs
               ("gamma", node.upload_for("gamma", make_twin("gamma"), filename="t.ttl"))]
    results = node.bulk_publish(uploads, jobs=1, batch=1)
    assert isinstance(results["beta"], Exception) and "alpha" in str(results["beta"]), results["beta"]
    assert node.entry("beta") is None and node.entry("alpha") is not None and node.entry("gamma") is not None
    assert node.registry.namespaces("alpha") == ["https://alpha.example/id/"]
    assert node.registry.namespaces("beta") == []


def test_a_store_without_a_file_loader_takes_a_bulk_file_in_pieces_cut_at_line_ends(tmp_path, monkeypatch):
    """The default :meth:`GraphStore.bulk_load_file` (the in-memory and remote stores): pieces of a
    fixed size, each extended to its line's end, so that no line is split between two loads."""
    import ecgraph.store as store_module
    from ecgraph.store.memory import MemoryStore

    monkeypatch.setattr(store_module, "BULK_FILE_PIECE", 100)
    lines = [f'<http://example.org/s{i}> <http://example.org/p> "value {i} \\u00e9 ." <http://example.org/g{i % 3}> .'
             for i in range(50)]
    path = tmp_path / "quads.nq"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = MemoryStore()
    pieces: list[bytes] = []
    original = MemoryStore.bulk_load
    monkeypatch.setattr(MemoryStore, "bulk_load", lambda self, nquads: pieces.append(nquads) or original(self, nquads))
    store.bulk_load_file(path)
    assert len(pieces) > 10 and all(p.endswith(b"\n") for p in pieces)
    expected = set(ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS))
    assert set(store.engine().quads_for_pattern(None, None, None, None)) == expected


def test_a_bulk_load_that_fails_in_its_one_load_leaves_no_twin_and_the_next_start_no_trace(config, monkeypatch):
    """The load dies halfway through writing the spool into the store: nothing is published, and
    the next start removes the graphs it marked, the spool (with the tmp directory) and the
    discovery rows it had queued, so that the same load then runs whole."""
    from ecgraph.node import Node
    from ecgraph.store.embedded import EmbeddedStore

    ids = [f"t{i}" for i in range(4)]
    bodies = {t: make_twin(t) for t in ids}
    original = EmbeddedStore.bulk_load_file

    def dies_halfway(self, path):
        lines = path.read_bytes().splitlines(keepends=True)
        self.bulk_load(b"".join(lines[: len(lines) // 2]))
        raise OSError("the disk went away")

    node = Node(config, workers=False)
    try:
        for twin_id in ids:
            node.register(twin_id, twin_id)
        monkeypatch.setattr(EmbeddedStore, "bulk_load_file", dies_halfway)
        with pytest.raises(OSError, match="went away"):
            node.bulk_publish([(t, node.upload_for(t, bodies[t], filename="t.ttl")) for t in ids], jobs=1, batch=2)
        assert all(node.entry(t) is None for t in ids)
        assert not list(node.tmp_dir.glob("bulk-*"))
        node._behind.settle()
        assert sorted(node._discovery.db.indexed()) == ids  # queued as each batch was spooled
    finally:
        node.close()
    monkeypatch.setattr(EmbeddedStore, "bulk_load_file", original)
    node = Node(config, workers=False)
    try:
        twin_graphs = [g for g in node.store.engine().named_graphs() if g.value.startswith(standard.TWIN_GRAPH_BASE)]
        assert twin_graphs == [], twin_graphs
        assert node.registry.bulk_pending() == []
        node._behind.settle()
        assert node._discovery.db.indexed() == {}, node._discovery.db.indexed()
        results = node.bulk_publish([(t, node.upload_for(t, bodies[t], filename="t.ttl")) for t in ids], jobs=1)
        assert not [r for r in results.values() if isinstance(r, Exception)], results
        node._behind.settle()
        assert sorted(node._discovery.db.indexed()) == ids
    finally:
        node.close()

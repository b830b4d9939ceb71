"""Network aggregates kept at publishing (ecgraph.query.figures): always equal to their raw query's
answer over every twin, after publishes, replaces, unpublishes and an admin's update, in process
and over HTTP (with the acknowledged write already in them)."""

from __future__ import annotations

import json
import re

import pyoxigraph as ox
import pytest
import requests

from bench.generate import generate
from ecgraph.node import Caller
from ecgraph.query.figures import AGGREGATES, recognise
from ecgraph.query.pool import QueryRequest, execute
from tests.helpers import ADMIN
from tests.servers import NodeProcess


def raw(node, name: str) -> list[dict]:
    """The raw query's answer, run on the node's store directly (no cache, no figures)."""
    answer = execute(node.store.engine(), QueryRequest(AGGREGATES[name].raw, "json"))
    return json.loads(answer.body)["results"]["bindings"]


def kept(node, name: str) -> list[dict]:
    answer = node.aggregate(name, "json", raw=False)
    assert answer is not None, "the figures are not built"
    return json.loads(answer.body)["results"]["bindings"]


@pytest.fixture()
def network(tmp_path):
    files = generate(tmp_path / "net", 12, seed=3, triples_per_twin=300)
    return {p.stem: p for p in files}


def publish(node, twin_id: str, data: bytes) -> None:
    if node.registry.twin(twin_id) is None:
        node.register(twin_id)
    node.publish(twin_id, node.upload_for(twin_id, data, filename=f"{twin_id}.ttl"))


def test_the_kept_aggregates_equal_their_raw_queries_through_every_kind_of_write(node, network):
    for twin_id, path in network.items():
        publish(node, twin_id, path.read_bytes())
    node.figures.rebuild(background=False)
    for name in AGGREGATES:
        assert kept(node, name) == raw(node, name) and raw(node, name), name
    communities = sorted(t for t in network if t.startswith("community-"))
    # a replace that changes its PV capacity and indicators
    changed = network[communities[0]].read_text().replace("qudt:numericValue 1", "qudt:numericValue 7")
    assert changed != network[communities[0]].read_text()
    publish(node, communities[0], changed.encode())
    before = kept(node, "indicators")
    # an unpublish, then an admin's SPARQL update that adds a PV installation by hand
    node.unpublish(communities[1])
    for name in AGGREGATES:
        assert kept(node, name) == raw(node, name), name
    assert kept(node, "indicators") != before
    node.update("PREFIX ec: <https://w3id.org/ecgraph/ns#> PREFIX qudt: <http://qudt.org/schema/qudt/> "
                f"INSERT DATA {{ GRAPH <https://w3id.org/ecgraph/twin/{communities[2]}> {{ "
                f"<https://{communities[2]}.bench.example/id/community> ec:hasAsset <urn:pv:new> . "
                "<urn:pv:new> a ec:PVInstallation ; ec:peakPower <urn:pv:new-power> . "
                "<urn:pv:new-power> qudt:numericValue 3.5 ; qudt:unit <http://qudt.org/vocab/unit/MegaW> } }",
                caller=Caller(token=ADMIN))
    assert node.figures.wait(60)
    assert kept(node, "pv-capacity-per-network") == raw(node, "pv-capacity-per-network")


def test_each_share_reads_only_the_shared_graphs_its_part_query_needs(node, network):
    """A share is read over the twin's graphs and only the shared graphs its aggregate names
    (faster); over every shared graph it must answer the same, for every twin of the demo
    network and of a generated one (PV installations, units, indicators, networks)."""
    from ecgraph.query.figures import SHARED_GRAPHS, dataset
    from tests.helpers import demo_files

    twins = {**{p.stem: p for p in demo_files()}, **network}
    for twin_id, path in twins.items():
        node.register(twin_id)
        node.publish(twin_id, node.upload_for(twin_id, path.read_bytes(), filename=path.name))
    store, answered = node.store.engine(), set()

    def rows(query, graphs):
        return sorted(tuple(map(str, s)) for s in store.query(query, default_graph=graphs))

    for twin_id in twins:
        for name, aggregate in AGGREGATES.items():
            read = rows(aggregate.part, dataset(twin_id, aggregate.shared))
            assert read == rows(aggregate.part, dataset(twin_id, SHARED_GRAPHS)), (twin_id, name)
            if read:
                answered.add(name)
    assert answered == set(AGGREGATES)  # every aggregate had rows to compare


def test_only_the_exact_raw_queries_are_recognised():
    for name, aggregate in AGGREGATES.items():
        assert recognise("# a comment\n" + aggregate.raw.replace("\n", "\n\n  ")) == name
        assert recognise(aggregate.raw.replace("ORDER BY", "LIMIT 1 ORDER BY")) is None
    assert recognise("SELECT * WHERE { ?s ?p ?o }") is None


def test_over_http_an_aggregate_equals_its_raw_query_and_holds_an_acknowledged_publish(tmp_path, network):
    server = NodeProcess(tmp_path / "data", "--no-demo").start()
    try:
        ids = sorted(network)
        for twin_id in ids[:-1]:
            assert requests.post(server.url + "/api/twins", json={"id": twin_id}, headers=server.admin).ok
            r = requests.put(f"{server.url}/api/twins/{twin_id}", data=network[twin_id].read_bytes(),
                             headers={**server.admin, "Content-Type": "text/turtle"})
            assert r.status_code == 201, r.text
        listing = requests.get(server.url + "/api/aggregates").json()
        assert {a["name"] for a in listing["aggregates"]} == set(AGGREGATES)

        def both(name: str) -> tuple[list, list]:
            ours = requests.get(f"{server.url}/api/aggregates/{name}")
            assert ours.status_code == 200 and ours.headers.get("ETag"), ours.text
            theirs = requests.post(server.url + "/sparql", data={"query": AGGREGATES[name].raw + " # raw"},
                                   headers={"Accept": "application/sparql-results+json"})
            assert theirs.status_code == 200
            return ours.json()["results"]["bindings"], theirs.json()["results"]["bindings"]

        for name in AGGREGATES:
            ours, theirs = both(name)
            assert ours == theirs and ours, name
            # the same text on /sparql is answered from the kept figures (its ETag names them)
            kept = requests.post(server.url + "/sparql", data={"query": AGGREGATES[name].raw},
                                 headers={"Accept": "application/sparql-results+json"})
            assert name in kept.headers["ETag"] and kept.json()["results"]["bindings"] == theirs, name
        tag = requests.get(f"{server.url}/api/aggregates/indicators").headers["ETag"]
        assert requests.get(f"{server.url}/api/aggregates/indicators",
                            headers={"If-None-Match": tag}).status_code == 304
        last = ids[-1]
        assert requests.post(server.url + "/api/twins", json={"id": last}, headers=server.admin).ok
        r = requests.put(f"{server.url}/api/twins/{last}", data=network[last].read_bytes(),
                         headers={**server.admin, "Content-Type": "text/turtle"})
        assert r.status_code == 201
        after = requests.get(f"{server.url}/api/aggregates/indicators", headers={"If-None-Match": tag})
        assert after.status_code == 200  # the acknowledged publish is in the figures at once
        for name in AGGREGATES:
            ours, theirs = both(name)
            assert ours == theirs, name
        csv = requests.get(f"{server.url}/api/aggregates/pv-capacity-per-network", headers={"Accept": "text/csv"})
        assert csv.status_code == 200 and csv.text.startswith("network,installations,totalKW")
        assert requests.get(f"{server.url}/api/aggregates/nothing").status_code == 404
    finally:
        server.stop()


def test_between_a_commit_and_the_update_of_its_shares_the_raw_query_answers(node, network):
    for twin_id in sorted(network)[:4]:
        publish(node, twin_id, network[twin_id].read_bytes())
    node.figures.rebuild(background=False)
    assert node.aggregate("indicators", raw=False) is not None
    # a commit whose shares are not updated yet (as in the moment before the node updates them)
    community = next(t for t in sorted(network)[:4] if t.startswith("community-"))
    subject = ox.NamedNode(f"https://{community}.bench.example/id/indicator/extra")
    decimal = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    node.store.commit(insert={f"https://w3id.org/ecgraph/twin/{community}": [
        ox.Triple(subject, ox.NamedNode("https://w3id.org/ecgraph/ns#indicator"),
                  ox.NamedNode("https://w3id.org/ecgraph/ns#kpi-new")),
        ox.Triple(subject, ox.NamedNode("http://qudt.org/schema/qudt/numericValue"),
                  ox.Literal("5", datatype=decimal))]})
    assert node.aggregate("indicators", raw=False) is None
    answer = node.query(QueryRequest(AGGREGATES["indicators"].raw, "json"))
    assert "kpi-new" in answer.body.decode()
    assert json.loads(answer.body)["results"]["bindings"] == raw(node, "indicators")


def test_the_aggregates_texts_hold_no_relative_iri_so_a_base_cannot_change_them():
    for aggregate in AGGREGATES.values():
        for iri in re.findall(r"<([^<>\s]*)>", aggregate.raw):
            assert re.match(r"[a-z][a-z0-9+.-]*:", iri), (aggregate.name, iri)


def test_partitions_stay_equal_to_the_raw_queries_through_random_writes_and_an_emptied_network(node, network):
    """Each network's answer row and each bucket's partial sums are recomputed from the rows of that
    partition alone: after every random replace, unpublish and republish (twins of one network
    sharing its partition), and after a network loses its last twin, the kept answers are the raw
    query's."""
    import random

    rng = random.Random(5)
    communities = sorted(t for t in network if t.startswith("community-"))
    for twin_id in communities:
        publish(node, twin_id, network[twin_id].read_bytes())
    node.figures.rebuild(background=False)
    published = set(communities)
    for step in range(14):
        twin_id = rng.choice(communities)
        if twin_id in published and rng.random() < 0.4:
            node.unpublish(twin_id)
            published.discard(twin_id)
        else:
            text = network[twin_id].read_text().replace("qudt:numericValue 1", f"qudt:numericValue {step % 8 + 2}")
            publish(node, twin_id, text.encode())
            published.add(twin_id)
        for name in AGGREGATES:
            assert kept(node, name) == raw(node, name), (step, name)
    networks = {}
    for twin_id in communities:
        found = re.search(r"ec:network <([^>]+)>", network[twin_id].read_text())
        networks.setdefault(found.group(1), []).append(twin_id)
    emptied, members = min(networks.items(), key=lambda item: len(item[1]))
    for twin_id in members:
        if twin_id in published:
            node.unpublish(twin_id)
    rows = kept(node, "pv-capacity-per-network")
    assert rows == raw(node, "pv-capacity-per-network")
    assert emptied not in {row["network"]["value"] for row in rows}


def test_a_commit_updates_its_share_while_a_rebuild_reads_a_slow_store_and_wins_over_that_read():
    """Over a remote store a rebuild's batch of reads takes seconds: it reads outside the lock, so a
    commit's update never waits for it, and a share a commit updated meanwhile is not overwritten
    by the older read (a pyoxigraph store, whose reads of one twin wait for the test's signal)."""
    import threading

    from ecgraph import standard
    from ecgraph.query.figures import Figures
    from ecgraph.query.pool import execute

    ec, qudt = "https://w3id.org/ecgraph/ns#", "http://qudt.org/schema/qudt/"
    decimal = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    store = ox.Store()

    def twin(i: int, value: str) -> list[ox.Quad]:
        g = ox.NamedNode(standard.twin_graph(f"t{i}"))
        return [ox.Quad(ox.NamedNode(f"https://t{i}.example/id/iv{k}"), ox.NamedNode(ec + p), o, g)
                for k in range(3) for p, o in (("indicator", ox.NamedNode(ec + "kpi-x")),)] + \
               [ox.Quad(ox.NamedNode(f"https://t{i}.example/id/iv{k}"), ox.NamedNode(qudt + "numericValue"),
                        ox.Literal(value, datatype=decimal), g) for k in range(3)]

    for i in range(150):
        store.extend(twin(i, f"{i}.5"))
    held, release = threading.Event(), threading.Event()

    class Slow:  # the real store; a read of t120's graphs answers, once, as late as a slow store
        def query(self, text, **options):
            answer = store.query(text, **options)
            graphs = [str(g.value) for g in options.get("default_graph") or []]
            if standard.twin_graph("t120") in graphs and "?kpi" in text and not held.is_set():
                answer = list(answer)  # read now, delivered after the commit below: the older state
                held.set()
                release.wait(30)
            return answer

    figures = Figures(lambda: Slow(), lambda: [f"t{i}" for i in range(150)])
    figures.rebuild(background=True)
    assert held.wait(30)  # the rebuild is inside its second batch, reading t120
    store.remove_graph(ox.NamedNode(standard.twin_graph("t120")))
    store.extend(twin(120, "999"))  # committed while the rebuild's read of t120 waits
    done = threading.Thread(target=figures.update, args=(["t120"],))
    done.start()
    done.join(10)
    assert not done.is_alive(), "the commit's update waited for the rebuild's batch"
    release.set()
    assert figures.wait(30)
    kept = json.loads(figures.answer("indicators", "json", None).body)["results"]["bindings"]
    raw_answer = execute(store, QueryRequest(AGGREGATES["indicators"].raw, "json", union_default=True))
    assert kept == json.loads(raw_answer.body)["results"]["bindings"]
    assert kept[0]["max"]["value"] == "999"


def test_closing_the_node_while_the_figures_are_built_stops_the_build_without_an_error(config, network, caplog,
                                                                                      monkeypatch):
    """Stopping a node while it builds its figures at start logged "could not build the network
    figures" with a traceback (the build read a store that was closing). Close now stops the build
    first: no error, and close does not wait for the whole build."""
    import logging
    import threading
    import time

    from ecgraph.node import Node
    from ecgraph.query.figures import Figures

    reading, original = threading.Event(), Figures._share

    def slow_share(self, twin_id, parts):  # the real read, late: the build is under way at close
        reading.set()
        time.sleep(0.5)
        return original(self, twin_id, parts)

    node = Node(config, workers=False)
    for twin_id in sorted(network)[:3]:
        publish(node, twin_id, network[twin_id].read_bytes())
    monkeypatch.setattr(Figures, "_share", slow_share)
    caplog.set_level(logging.ERROR, logger="ecgraph")
    node.figures.rebuild(background=True)
    assert reading.wait(10)
    started = time.perf_counter()
    node.close()
    assert time.perf_counter() - started < 5
    assert not node.figures._building.is_alive()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text

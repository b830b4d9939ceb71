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
from ecgraph import errors
from ecgraph.node import Caller
from ecgraph.query.figures import AGGREGATES, recognise
from ecgraph.query.pool import QueryRequest, execute
from tests.helpers import ADMIN
from tests.servers import NodeProcess

#: what a parameterised aggregate is asked here: the generated networks' indicators are of 2015
#: (its example's year, 2024, is the demo network's)
ASKED = {name: a.values({"year": "2015"}) if a.parameters else () for name, a in AGGREGATES.items()}
ARGS = {name: "?year=2015" if a.parameters else "" for name, a in AGGREGATES.items()}


def raw(node, name: str, values: tuple | None = None) -> list[dict]:
    """The raw query's answer, run on the node's store directly (no cache, no figures)."""
    text = AGGREGATES[name].text(ASKED[name] if values is None else values)
    answer = execute(node.store.engine(), QueryRequest(text, "json"))
    return _rows(name, json.loads(answer.body)["results"]["bindings"])


def kept(node, name: str, values: tuple | None = None) -> list[dict]:
    answer = node.aggregate(name, "json", raw=False, values=ASKED[name] if values is None else values)
    assert answer is not None, "the figures are not built"
    return _rows(name, json.loads(answer.body)["results"]["bindings"])


def _rows(name: str, bindings: list[dict]) -> list[dict]:
    """An answer's rows; for a question ordered by an average, in a fixed order: rows tied on the
    average come in the engine's order, which differs between the raw query and the figure (the
    order itself is checked apart)."""
    if not AGGREGATES[name].parameters:
        return bindings
    return sorted(bindings, key=lambda b: json.dumps(b, sort_keys=True))


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
        assert recognise("# a comment\n" + aggregate.raw.replace("\n", "\n\n  ")) == (name, aggregate.values())
        assert recognise(aggregate.raw.replace("ORDER BY", "LIMIT 1 ORDER BY")) is None
    assert recognise("SELECT * WHERE { ?s ?p ?o }") is None


def test_a_parameterised_aggregate_is_recognised_with_its_values_and_nothing_else():
    """The question's indicator (ec: or in full), year, order and length are its values, in one
    spelling; any other change of the text (a variable renamed, a relative IRI, a pattern more, a
    year past 9999) is not that question, and the raw query answers it."""
    name = "indicator-per-community-and-year"
    aggregate = AGGREGATES[name]
    ec = "https://w3id.org/ecgraph/ns#"
    assert recognise(aggregate.raw) == (name, (ec + "kpi-self-consumption-rate", "2024", "DESC", "50"))
    text = aggregate.raw.replace("ec:kpi-self-consumption-rate", f"<{ec}kpi-co2-avoided>")
    text = text.replace("= 2024", "= 02017").replace("DESC(", "ASC(").replace("LIMIT 50", "LIMIT 7")
    assert recognise(text) == (name, (ec + "kpi-co2-avoided", "2017", "ASC", "7"))
    assert aggregate.text(recognise(text).values) == text.replace(
        "02017", "2017")  # written back as asked, in one spelling
    for other in (aggregate.raw.replace("?value", "?v"),
                  aggregate.raw.replace("ec:kpi-self-consumption-rate", "<kpi-self-consumption-rate>"),
                  aggregate.raw.replace("= 2024", "= 12024"),
                  aggregate.raw.replace("= 2024", "= ?year"),
                  aggregate.raw.replace("ec:kpi-self-consumption-rate", "?kpi"),
                  aggregate.raw.replace("FILTER", "?iv ec:periodEnd ?end . FILTER"),
                  aggregate.raw.replace("LIMIT 50", "")):
        assert recognise(other) is None, other
    with pytest.raises(errors.BadRequest, match="year='last' is not a whole number; for example year=2024"):
        aggregate.values({"year": "last"})
    with pytest.raises(errors.BadRequest, match="indicator="):
        aggregate.values({"indicator": "kpi> } INSERT DATA { <a> <b> <c>"})
    assert aggregate.values({"indicator": ec + "kpi-x"})[0] == ec + "kpi-x"


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
            ours = requests.get(f"{server.url}/api/aggregates/{name}{ARGS[name]}")
            assert ours.status_code == 200 and ours.headers.get("ETag"), ours.text
            text = AGGREGATES[name].text(ASKED[name])
            theirs = requests.post(server.url + "/sparql", data={"query": text + " # raw"},
                                   headers={"Accept": "application/sparql-results+json"})
            assert theirs.status_code == 200
            return ours.json()["results"]["bindings"], theirs.json()["results"]["bindings"]

        for name in AGGREGATES:
            ours, theirs = both(name)
            assert ours == theirs and ours, name
            # the same text on /sparql is answered from the kept figures (its ETag names them)
            kept = requests.post(server.url + "/sparql", data={"query": AGGREGATES[name].text(ASKED[name])},
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
        wrong = requests.get(f"{server.url}/api/aggregates/indicator-per-community-and-year?year=last")
        assert wrong.status_code == 400 and "year='last' is not a whole number" in wrong.json()["detail"]
        (listed,) = [a for a in listing["aggregates"] if a["name"] == "indicator-per-community-and-year"]
        assert [p["name"] for p in listed["parameters"]] == ["indicator", "year", "order", "first"]
        assert "$year" in listed["template"] and "2024" in listed["query"]
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

    from bench.common import same_answer

    rng = random.Random(5)
    per_year = AGGREGATES["indicator-per-community-and-year"]
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
        for order in ("DESC", "ASC"):  # a short list, from the averages kept since the step before
            asked = per_year.values({"year": "2015", "order": order, "first": "2"})
            ours = json.loads(node.aggregate(per_year.name, "json", raw=False, values=asked).body)
            theirs = json.loads(execute(node.store.engine(), QueryRequest(per_year.text(asked), "json")).body)
            assert same_answer(per_year.text(asked), ours["results"]["bindings"],
                               theirs["results"]["bindings"]), (step, order)
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

    def slow_share(self, twin_id):  # the real read, late: the build is under way at close
        reading.set()
        time.sleep(0.5)
        return original(self, twin_id)

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


def _independent_figures(twins: list[str]) -> tuple[dict, dict, dict]:
    """A network's PV capacity per network, capacity per technology and network, and members per
    type and network, computed in Python from each twin's stored triples (its data and its
    inferences, as N-Triples text), the ontology's skos:inScheme and the vocabularies' unit
    multipliers: no SPARQL; the check that
    the aggregates answer what their titles say, for twins of both releases (qudt:hasUnit, and the
    1.0.0 twins' qudt:unit)."""
    from collections import defaultdict
    from decimal import Decimal

    from ecgraph import standard

    qudt = "http://qudt.org/schema/qudt/"
    in_scheme = "http://www.w3.org/2004/02/skos/core#inScheme"

    def triples(path):
        return [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]

    schema = triples(standard.ontology_file()) + triples(standard.vocabularies_file())
    scheme = defaultdict(set)  # scheme -> its classes
    multiplier = {}
    for t in schema:
        if t.predicate.value == in_scheme:
            scheme[t.object.value].add(t.subject.value)
        elif t.predicate.value == qudt + "conversionMultiplier":
            multiplier[t.subject.value] = Decimal(t.object.value)

    networks = defaultdict(set)  # community -> its networks, as any twin says (a network's twin may list it)
    pv: dict = {}
    capacity: dict = {}
    members: list = []
    for text in twins:  # each twin on its own: a row joins no triples of two twins, but its network
        _add_twin([q.triple for q in ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES)],
                  scheme, multiplier, networks, pv, capacity, members)
    pv_out, capacity_out, members_out = defaultdict(dict), defaultdict(dict), defaultdict(lambda: [set(), 0])
    for (community, asset), power in pv.items():
        for network in networks[community]:
            pv_out[network][asset, power] = power
    for (community, kind, asset), power in capacity.items():
        for network in networks[community]:
            capacity_out[(network, kind)][asset, power] = power
    for community, kind, size in members:
        for network in networks[community]:
            members_out[(network, kind)][0].add(community)
            members_out[(network, kind)][1] += size
    return ({n: (len(a), sum(a.values())) for n, a in pv_out.items()},
            {k: (len(a), sum(a.values())) for k, a in capacity_out.items()},
            {k: (len(c), n) for k, (c, n) in members_out.items()})


def _add_twin(data, scheme, multiplier, networks, pv, capacity, members) -> None:
    from collections import defaultdict
    from decimal import Decimal

    from ecgraph import standard

    ec, qudt = standard.EC, "http://qudt.org/schema/qudt/"
    rdf_type = standard.RDF_TYPE.value
    objects = defaultdict(list)
    for t in data:
        objects[(t.subject, t.predicate.value)].append(t.object)

    def one(s, p):
        found = objects.get((s, p), [])
        return found[0] if found else None

    def kw(quantity) -> Decimal | None:
        value = one(quantity, qudt + "numericValue")
        unit = one(quantity, qudt + "hasUnit") or one(quantity, qudt + "unit")
        if value is None or unit is None or unit.value not in multiplier:
            return None
        return Decimal(value.value) * multiplier[unit.value] / 1000

    types = defaultdict(set)
    for t in data:
        if t.predicate.value == rdf_type:
            types[t.subject].add(t.object.value)
        elif t.predicate.value == ec + "network":
            networks[t.subject].add(t.object.value)
    for t in data:
        if t.predicate.value == ec + "hasAsset":
            community, asset = t.subject, t.object
            peak, rated = one(asset, ec + "peakPower"), one(asset, ec + "ratedPower")
            power = (kw(peak) if peak is not None else None) or (kw(rated) if rated is not None else None)
            if power is None:
                continue
            if ec + "PVInstallation" in types[asset] and peak is not None:
                pv[(community, asset)] = kw(peak)
            for kind in types[asset] & scheme[ec + "AssetTypes"]:
                capacity[(community, kind, asset)] = power
        elif t.predicate.value == ec + "community":
            membership, community = t.subject, t.object
            size = one(membership, ec + "groupSize")
            kinds = set().union(*(types[m] for m in objects.get((membership, ec + "member"), [])))
            for kind in kinds & scheme[ec + "MemberTypes"]:
                members.append((community, kind, int(size.value) if size is not None else 1))


def test_the_capacity_and_member_aggregates_answer_what_their_titles_say_for_both_releases(node):
    """An independent computation over the demo network's files (Python, no SPARQL) against the
    kept aggregates. The demo twins give units with qudt:hasUnit (release 1.1.0) and one with the
    1.0.0 qudt:unit: until both were read, PV capacity per network showed one network of five."""
    from decimal import Decimal

    from ecgraph import standard
    from tests.helpers import demo_files

    files = demo_files()
    for path in files:
        node.register(path.stem)
        node.publish(path.stem, node.upload_for(path.stem, path.read_bytes(), filename=path.name))
    node.figures.rebuild(background=False)
    pv, capacity, members = _independent_figures([
        node.store.graph_ntriples(standard.twin_graph(p.stem)) + "\n"
        + node.store.graph_ntriples(standard.inferred_graph(p.stem)) for p in files])
    assert len(pv) == 5 and len(capacity) > len(pv) and len(members) > 10  # the demo network has them

    def rows(name, *keys):
        return {tuple(b[k]["value"] for k in keys[:-2]): (int(b[keys[-2]]["value"]), Decimal(b[keys[-1]]["value"]))
                for b in kept(node, name)}

    assert rows("pv-capacity-per-network", "network", "installations", "totalKW") == {
        (n,): (count, total) for n, (count, total) in pv.items()}
    assert rows("capacity-per-technology-and-network", "network", "technology", "assets", "totalKW") == capacity
    assert rows("members-per-type-and-network", "network", "type", "communities", "members") == {
        k: (c, Decimal(n)) for k, (c, n) in members.items()}
    for name in AGGREGATES:
        assert kept(node, name) == raw(node, name), name


def test_the_bench_asks_the_aggregates_raw_queries():
    """The benchmark's PV, indicator and self-consumption questions are the kept aggregates' texts (so the bench
    measures the figures, and the anchor the same question raw)."""
    from bench.queries import query_set

    texts = dict(query_set())
    named = {asked.name for asked in map(recognise, texts.values()) if asked is not None}
    assert named == {"pv-capacity-per-network", "indicators", "indicator-per-community-and-year"}


def test_a_network_twin_that_lists_or_drops_a_community_moves_its_rows_between_networks(node):
    """jardins-du-canal does not name its network; the Canal-Sud network's twin lists it
    (ec:includesCommunity, whose inverse the node infers in that twin). Its PV, assets and members
    count in Canal-Sud only while that twin lists it: a republish without it updates the figures of
    a twin that did not change, equal to the raw queries; so do a republish with it (the node then
    keeps no inference about a twin that has claimed its namespace, so the store, and the figures
    with it, no longer link it) and an unpublish."""
    from tests.helpers import demo_files

    files = {p.stem: p for p in demo_files()}
    for twin_id, path in files.items():
        node.register(twin_id)
        node.publish(twin_id, node.upload_for(twin_id, path.read_bytes(), filename=path.name))
    node.figures.rebuild(background=False)

    def canal(name):
        return [b for b in kept(node, name) if b["network"]["value"] == "https://canal-sud.example/id/network"]

    def check():
        for name in AGGREGATES:
            example = AGGREGATES[name].values()  # the demo network's year
            assert kept(node, name, example) == raw(node, name, example), name
            assert raw(node, name, example), name

    check()
    with_it = {name: canal(name) for name in AGGREGATES if AGGREGATES[name].partition == "network"}
    gbn = files["gbn-canal-sud"]
    text = gbn.read_text()
    without = text.replace('        "https://jardins-du-canal.example/id/community",\n', "")
    assert without != text
    node.publish("gbn-canal-sud", node.upload_for("gbn-canal-sud", without.encode(), filename=gbn.name))
    check()
    for name, rows in with_it.items():
        assert canal(name) != rows, name  # jardins-du-canal's PV, assets and members left Canal-Sud
    node.publish("gbn-canal-sud", node.upload_for("gbn-canal-sud", text.encode(), filename=gbn.name))
    check()
    node.unpublish("gbn-canal-sud")
    check()


def test_the_shares_hold_one_object_for_equal_terms_and_its_pool_stays_bounded(node, network):
    """The same community, type, unit or number in many rows is one object (the shares' memory at
    10,000 twins: 116 MiB of Python objects without it); the pool that shares them starts again
    past its limit, and the figures stay equal to the raw queries through that."""
    communities = sorted(t for t in network if t.startswith("community-"))
    for twin_id in communities:
        publish(node, twin_id, network[twin_id].read_bytes())
    node.figures.rebuild(background=False)
    figures = node.figures
    seen: dict = {}
    terms = 0
    for share in figures._shares.values():
        for rows in share.values():
            for values, key in rows:
                for term in (*values, key):
                    terms += 1
                    assert seen.setdefault(term, term) is term, term
    assert len(seen) * 2 < terms  # the rows repeat their terms: shared, not copied
    figures._terms_limit = 20
    for step, twin_id in enumerate(communities[:6]):
        text = network[twin_id].read_text().replace("qudt:numericValue 1", f"qudt:numericValue {step % 8 + 2}")
        publish(node, twin_id, text.encode())
        assert len(figures._terms) <= 21
        for name in AGGREGATES:
            assert kept(node, name) == raw(node, name), (step, name)


def test_one_indicator_per_community_and_year_answers_what_its_title_says_for_every_question(node):
    """Every indicator and year of the demo network, both orders, a short and a long list: the kept
    answer against the raw query's, and against a computation in Python over each twin's stored
    triples (no SPARQL): a community's values of that indicator starting in that year, their
    average, lowest and highest, the communities in order of their average."""
    from collections import defaultdict
    from decimal import Decimal

    from bench.common import same_answer
    from ecgraph import standard
    from tests.helpers import demo_files

    files = demo_files()
    for path in files:
        node.register(path.stem)
        node.publish(path.stem, node.upload_for(path.stem, path.read_bytes(), filename=path.name))
    node.figures.rebuild(background=False)
    ec, qudt = standard.EC, "http://qudt.org/schema/qudt/"
    values = defaultdict(list)  # (indicator, year) -> [(community, value)]
    for path in files:
        text = (node.store.graph_ntriples(standard.twin_graph(path.stem)) + "\n"
                + node.store.graph_ntriples(standard.inferred_graph(path.stem)))
        objects = defaultdict(set)
        for t in (q.triple for q in ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES)):
            objects[(t.subject, t.predicate.value)].add(t.object)
        for (subject, predicate), indicator_values in list(objects.items()):
            if predicate != ec + "hasIndicator" or ox.NamedNode(ec + "EnergyCommunity") not in objects.get(
                    (subject, standard.RDF_TYPE.value), ()):
                continue
            for iv in indicator_values:
                for kpi in objects.get((iv, ec + "indicator"), ()):
                    for start in objects.get((iv, ec + "periodStart"), ()):
                        for value in objects.get((iv, qudt + "numericValue"), ()):
                            values[kpi.value, start.value[:4]].append((subject.value, Decimal(value.value)))
    assert len(values) > 10  # the demo network's indicators span several years
    aggregate = AGGREGATES["indicator-per-community-and-year"]
    for (kpi, year), found in values.items():
        by_community = defaultdict(list)
        for community, value in found:
            by_community[community].append(value)
        expected = {c: (sum(v) / len(v), min(v), max(v)) for c, v in by_community.items()}
        for order, first in (("DESC", "50"), ("ASC", "2")):
            asked = aggregate.values({"indicator": kpi, "year": year, "order": order, "first": first})
            answer = node.aggregate(aggregate.name, "json", raw=False, values=asked)
            ours = json.loads(answer.body)["results"]["bindings"]  # in its order
            # the same as the raw query's, up to which of the communities tied with the last one
            text = aggregate.text(asked)
            theirs = json.loads(execute(node.store.engine(), QueryRequest(text, "json")).body)["results"]["bindings"]
            assert same_answer(text, ours, theirs), (kpi, year, order)
            averages = [Decimal(b["average"]["value"]) for b in ours]
            assert averages == sorted(averages, reverse=order == "DESC")
            assert len(ours) == min(int(first), len(expected))
            for b in ours:
                average, lowest, highest = expected[b["community"]["value"]]
                assert abs(Decimal(b["average"]["value"]) - average) < Decimal("1e-9"), (kpi, year, b)
                assert (Decimal(b["lowest"]["value"]), Decimal(b["highest"]["value"])) == (lowest, highest)
    nothing = aggregate.values({"indicator": "ec:kpi-none", "year": "1999"})
    assert kept(node, aggregate.name, nothing) == [] == raw(node, aggregate.name, nothing)


def _leading(figures, aggregate, rows: list[tuple], descending: bool, first: int) -> list[tuple]:
    """Of ``rows`` (in their order), those a :class:`_Keyed` that holds them (each row its own
    twin's) keeps for the first ``first`` communities."""
    keyed = figures._Keyed(aggregate)
    for i, row in enumerate(rows):
        keyed.replace(str(i), [], [row])
    kept = {id(row) for row in keyed.leading(descending, first)}
    return [row for row in rows if id(row) in kept]


def test_the_rows_kept_for_a_short_list_give_the_engines_answer_over_every_row():
    """Only the communities that can be in the first few go to the engine (``_Keyed.leading``): with
    many tied averages, sums from two twins for one community, both orders and any length, the
    combine over them gives the averages the combine over every row gives; a double (summed in the
    engine's order) sends every row."""
    import random
    from string import Template

    from ecgraph.query import figures

    aggregate = AGGREGATES["indicator-per-community-and-year"]
    decimal_type = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
    integer = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    rng = random.Random(11)
    kpi, year = ox.NamedNode("https://w3id.org/ecgraph/ns#kpi-x"), ox.Literal("2016", datatype=integer)

    def answer(rows, order, first):
        store = ox.Store()
        for row in rows:
            subject = ox.BlankNode()
            store.extend(ox.Quad(subject, ox.NamedNode(figures.FIG + v), row[i])
                         for i, v in enumerate(aggregate.row) if v not in ("kpi", "year"))
        text = Template(aggregate.combine).substitute(order=order, first=first)
        return [tuple(str(s[v]) for v in ("average", "lowest", "highest")) for s in store.query(text)]

    rows = []
    for c in range(300):
        community = ox.NamedNode(f"https://c{c}.example/id/community")
        for _twin in range(rng.choice((1, 1, 2))):  # some communities' values come from two twins
            n = rng.randint(1, 4)
            values = [rng.choice(("1.5", "2", "2.25", "3", "7.125")) for _ in range(n)]
            total = sum(map(float, values))
            rows.append((community, kpi, year, ox.Literal(str(n), datatype=integer),
                         ox.Literal(repr(total), datatype=decimal_type),
                         ox.Literal(min(values, key=float), datatype=decimal_type),
                         ox.Literal(max(values, key=float), datatype=decimal_type)))
    for order in ("DESC", "ASC"):
        for first in (0, 1, 3, 10, 50, 299, 400):
            leading = _leading(figures, aggregate, rows, order == "DESC", first)
            ours, everything = answer(leading, order, first), answer(rows, order, first)
            # the same averages in the same order; among communities tied on the last average the
            # engine keeps any (so does the raw query), the others are the same rows
            assert [r[0] for r in ours] == [r[0] for r in everything], (order, first)
            last = everything[-1][0] if everything else None
            assert sorted(r for r in ours if r[0] != last) == sorted(r for r in everything if r[0] != last)
            if 0 < first < 50:
                assert len(leading) < len(rows) / 2  # the short list reads few rows
    double = [*rows[:-1], rows[-1][:4] + (ox.Literal("2.5E0", datatype=ox.NamedNode(
        "http://www.w3.org/2001/XMLSchema#double")),) + rows[-1][5:]]
    assert _leading(figures, aggregate, double, True, 3) == double


def test_the_averages_kept_for_an_asked_key_give_the_short_list_of_every_row_through_random_changes():
    """The rows and averages kept for a key asked last (``_Keyed``), changed twin by twin as shares
    are (a community's rows from one or two twins, rows gone, a twin's rows replaced, a double
    in and out again), always give the rows ``_leading`` finds over every current row, which the
    test above checks against the engine."""
    import random

    from ecgraph.query import figures

    aggregate = AGGREGATES["indicator-per-community-and-year"]
    xsd = "http://www.w3.org/2001/XMLSchema#"
    integer, decimal_type = ox.NamedNode(xsd + "integer"), ox.NamedNode(xsd + "decimal")
    kpi, year = ox.NamedNode("https://w3id.org/ecgraph/ns#kpi-x"), ox.Literal("2016", datatype=integer)
    rng = random.Random(19)

    def rows_of(twin: int) -> list[tuple]:
        out = []
        for c in rng.sample(range(60), rng.choice((0, 1, 1, 2))):  # a community may be in two twins
            n = rng.randint(1, 3)
            total = rng.choice(("1.5", "2", "4.5", "6", "7.125")) if rng.random() > 0.03 else "2.5E0"
            out.append((ox.NamedNode(f"https://c{c}.example/id/community"), kpi, year,
                        ox.Literal(str(n), datatype=integer),
                        ox.Literal(total, datatype=ox.NamedNode(xsd + ("double" if "E" in total else "decimal"))),
                        ox.Literal("1", datatype=decimal_type), ox.Literal("3", datatype=decimal_type)))
        return out

    keyed = figures._Keyed(aggregate)
    shares: dict[str, list[tuple]] = {}
    for step in range(400):
        twin = f"twin-{rng.randrange(80)}"
        new = [] if rng.random() < 0.2 else rows_of(step)
        keyed.replace(twin, shares.get(twin, []), new)
        shares[twin] = new
        every = [row for rows in shares.values() for row in rows]
        for descending in (True, False):
            for first in (0, 1, 3, 10, 100):
                ours = keyed.leading(descending, first)
                theirs = _leading(figures, aggregate, every, descending, first)
                assert sorted(map(str, ours)) == sorted(map(str, theirs)), (step, descending, first)
    assert keyed.inexact or keyed.averages  # both paths were taken on the way



def _equal_to_raw(node) -> None:
    assert node.figures.wait(60) and node.figures.current()
    for name in AGGREGATES:
        assert kept(node, name) == raw(node, name), name


def test_a_node_closed_cleanly_starts_from_its_saved_figures_and_any_write_between_discards_them(config, network):
    """At close a serving node saves its figures (``figures.json``); the next start reads them back
    instead of every twin's share, and removes the file before anything can write the store, so a
    node that crashes, or a command line that writes while the node is down, leaves none."""
    from ecgraph.node import FIGURES_FILE, Node

    saved = config.data / FIGURES_FILE
    cli = Node(config, workers=False)  # the command line's load: it builds no figures, saves none
    for twin_id, path in network.items():
        publish(cli, twin_id, path.read_bytes())
    cli.close()
    assert not saved.exists()

    node = Node(config)
    _equal_to_raw(node)
    assert node.figures.built["from"] == "store" and node.figures.built["twins"] == len(network)
    node.close()
    assert saved.exists()

    node = Node(config)
    assert not saved.exists()  # taken at start: a crash from here on leaves no file
    _equal_to_raw(node)
    assert node.figures.built["from"] == "saved"
    communities = sorted(t for t in network if t.startswith("community-"))
    changed = network[communities[0]].read_text().replace("qudt:numericValue 1", "qudt:numericValue 6")
    publish(node, communities[0], changed.encode())  # restored shares take a publish as built ones do
    _equal_to_raw(node)
    node.close()

    cli = Node(config, workers=False)  # a write while the node is down
    down = network[communities[1]].read_text().replace("qudt:numericValue 1", "qudt:numericValue 8")
    publish(cli, communities[1], down.encode())
    cli.close()
    assert not saved.exists()
    node = Node(config)
    _equal_to_raw(node)
    assert node.figures.built["from"] == "store"
    node.close()


def test_a_saved_file_of_other_twins_or_aggregates_or_not_whole_is_not_read(node, network, caplog):
    """What the next start is given is checked before it is used: another layout, other
    aggregates' definitions, other twins than the node lists, a term that is not one N-Triples
    term, a file cut short: the store is read instead, and the log says why."""
    import logging

    for twin_id, path in network.items():
        publish(node, twin_id, path.read_bytes())
    figures = node.figures
    figures.rebuild(background=False)
    text = figures.saved().decode()
    assert json.loads(text)["twins"].keys() == set(network)
    figures.rebuild(background=False, saved=text.encode())
    assert figures.built["from"] == "saved"
    _equal_to_raw(node)
    some = sorted(network)[2]
    data = json.loads(text)
    data["terms"][0] = data["terms"][0] + " . <urn:x> <urn:y> <urn:z>"
    for bad in ("{not json", text.replace(f'"{some}":', '"not-a-twin-of-this-node":'),
                text.replace('"format":1', '"format":0'), text.replace(f'"definitions":"{data["definitions"]}"',
                                                                       '"definitions":"0123456789abcdef"'),
                json.dumps(data, separators=(",", ":")), text[: len(text) // 2]):
        assert bad != text
        with caplog.at_level(logging.INFO, logger="ecgraph.query.figures"):
            figures.rebuild(background=False, saved=bad.encode())
        assert figures.built["from"] == "store", bad[:60]
        assert "building them" in caplog.text, bad[:60]
        caplog.clear()
        _equal_to_raw(node)


def test_a_served_node_stopped_by_sigterm_answers_from_its_saved_figures_and_after_a_kill_builds_them(
        tmp_path, network):
    """The real process: ``ecgraph serve`` stopped with SIGTERM saves its figures and the next
    ``serve`` lists them as read from the saved file; killed, it leaves none, and the next start
    builds them from the store. Both answer as the raw query does."""
    import subprocess
    import sys
    import time

    from ecgraph.node import FIGURES_FILE

    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "ecgraph.cli", "load", "--data", str(data), "--bulk",
                    str(next(iter(network.values())).parent)], check=True, capture_output=True)

    def started() -> tuple[NodeProcess, dict]:
        server = NodeProcess(data, "--no-demo").start()
        for _ in range(600):
            listing = requests.get(server.url + "/api/aggregates").json()
            if listing["ready"]:
                return server, listing
            time.sleep(0.1)
        raise AssertionError("the figures were not built in 60 s")

    def answers(server: NodeProcess) -> None:
        for name in AGGREGATES:
            ours = requests.get(f"{server.url}/api/aggregates/{name}{ARGS[name]}")
            text = AGGREGATES[name].text(ASKED[name]) + " # raw"
            theirs = requests.post(server.url + "/sparql", data={"query": text},
                                   headers={"Accept": "application/sparql-results+json"})
            assert _rows(name, ours.json()["results"]["bindings"]) == _rows(
                name, theirs.json()["results"]["bindings"]), name

    server, listing = started()
    try:
        assert listing["built"]["from"] == "store"
        server.stop()
        assert (data / FIGURES_FILE).exists()
        server, listing = started()
        assert listing["built"]["from"] == "saved" and listing["built"]["twins"] == len(network)
        answers(server)
        server.kill()  # no close: the file taken at start is not written again
        server.process.wait(60)
        assert not (data / FIGURES_FILE).exists()
        server, listing = started()
        assert listing["built"]["from"] == "store"
        answers(server)
    finally:
        server.stop()


def test_the_saved_partials_are_read_back_only_if_no_commit_came_while_the_shares_were(node, network):
    """The file holds each aggregate's partial answers too (read back, the start skips computing
    them: at 1,020 twins 0.4 s instead of 1.6-2.2). They are the shares' as they were saved: if a
    commit came while the shares were read back, the partials are computed from the shares."""
    for twin_id, path in network.items():
        publish(node, twin_id, path.read_bytes())
    figures = node.figures
    figures.rebuild(background=False)
    data = json.loads(figures.saved())
    data["middle"] = {name: "" for name in data["middle"]}  # partials that are not the shares'
    emptied = json.dumps(data).encode()
    figures.rebuild(background=False, saved=emptied)
    assert figures.built["from"] == "saved"
    assert kept(node, "pv-capacity-per-network") == [] != raw(node, "pv-capacity-per-network")  # they were read

    generation, calls = figures._generation, []

    def moving() -> int:  # a commit between the rebuild's start and its end
        calls.append(1)
        return generation() + (2 if len(calls) > 1 else 0)

    figures._generation = moving
    figures.rebuild(background=False, saved=emptied)
    figures._generation = generation
    figures.at = generation()
    assert figures.built["from"] == "saved"
    for name in AGGREGATES:  # computed from the shares, not read
        assert kept(node, name) == raw(node, name), name


def test_figures_of_a_large_network_leave_the_collectors_generations_and_a_small_ones_stay(node, network,
                                                                                          monkeypatch):
    """At 10,000 twins every full garbage collection walked the figures' millions of objects (a
    0.39 s pause in whichever request set it off); built for a network of FREEZE_FROM twins or
    more they are frozen (``gc.freeze``), and stay equal to the raw queries through publishes.
    A smaller build (the demo, every other test) leaves the collector as it was."""
    import gc

    from ecgraph.query import figures as figures_module

    def tracked(objects) -> set[int]:
        everything = {id(o) for o in gc.get_objects()}  # the frozen ones are not among them
        return {id(o) for o in objects} & everything

    communities = sorted(t for t in network if t.startswith("community-"))
    for twin_id in communities:
        publish(node, twin_id, network[twin_id].read_bytes())
    rows = lambda: [rows for share in node.figures._shares.values() for rows in share.values()]  # noqa: E731
    frozen_before = gc.get_freeze_count()
    try:
        node.figures.rebuild(background=False)  # the network is under FREEZE_FROM: nothing frozen
        assert gc.get_freeze_count() == frozen_before
        assert tracked(rows()) == {id(r) for r in rows()}

        monkeypatch.setattr(figures_module, "FREEZE_FROM", len(node.entries()))
        node.figures.rebuild(background=False)
        assert gc.get_freeze_count() > frozen_before
        assert rows() and not tracked(rows()), "the built figures are still in the collector's generations"
        for step, twin_id in enumerate(communities[:3]):  # replaced shares: freed, new ones tracked
            text = network[twin_id].read_text().replace("qudt:numericValue 1", f"qudt:numericValue {step + 2}")
            publish(node, twin_id, text.encode())
            for name in AGGREGATES:
                assert kept(node, name) == raw(node, name), (step, name)
        assert tracked(rows()), "a share replaced after the build is tracked as any new object"
    finally:
        gc.unfreeze()  # the rest of the test session's objects back in the collector's care

"""Discovery (issue 17): communities like mine with reasons, what others learned, how we compare,
tools and places; over real on-disk nodes, the demo network and the generator's networks, with
figures checked against values computed independently from the files (rdflib, statistics)."""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
from pathlib import Path

import pytest
import rdflib

from ecgraph import standard
from ecgraph.config import Config
from ecgraph.discovery import Pins
from ecgraph.node import Node
from tests.helpers import ADMIN, make_twin

EC = "https://w3id.org/ecgraph/ns#"
SCHOOL_COMMUNITY = "https://ecoles-en-transition.example/id/community"


def _config(data: Path) -> Config:
    return Config.load(environ={}, data=data, admin_token=ADMIN, no_demo=True, query_workers=1, pipeline_workers=1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_data):
    node = Node(_config(demo_data(tmp_path_factory.mktemp("discovery-demo") / "data")), workers=False)
    yield node
    node.close()


@pytest.fixture(scope="module")
def demo_client(demo):
    from ecgraph.web import create_app

    app = create_app(demo)
    app.testing = True
    return app.test_client()


# --- similar communities ------------------------------------------------------------------------

def test_communities_like_a_school_community_are_school_communities_with_reasons_in_words(demo):
    result = demo.similar(SCHOOL_COMMUNITY, limit=5)
    ranked = [r["twin"] for r in result["results"]]
    assert ranked[:2] == ["zonnedak-bleuet", "lycee-du-canal"], ranked
    assert "ecoles-en-transition" not in ranked
    first = result["results"][0]
    texts = [r["text"] for r in first["reasons"]]
    assert "in the same network" in texts
    assert "also involves 2 public bodies, a school and a municipality" in texts
    assert any(t.startswith("PV installation of a similar size (128 kW vs 156 kW)") for t in texts), texts
    assert "0.5 km away" in texts
    assert any(t.startswith("learned about the same topics:") and "schools" in t for t in texts)
    assert first["contact"]["email"] == "mailto:info@zonnedak-bleuet.example"
    scores = [r["score"] for r in result["results"]]
    assert scores == sorted(scores, reverse=True)


def test_reasons_are_worded_in_french_and_dutch(demo):
    fr = demo.similar(SCHOOL_COMMUNITY, limit=1, lang="fr")["results"][0]
    nl = demo.similar(SCHOOL_COMMUNITY, limit=1, lang="nl")["results"][0]
    assert "dans le même réseau" in [r["text"] for r in fr["reasons"]]
    assert "implique aussi 2 organismes publics, une école et une commune" in [r["text"] for r in fr["reasons"]]
    assert "in hetzelfde netwerk" in [r["text"] for r in nl["reasons"]]
    assert "betrekt ook 2 overheidsinstanties, een school en een gemeente" in [r["text"] for r in nl["reasons"]]


def test_a_community_is_never_its_own_neighbour_even_when_nothing_else_qualifies(demo):
    for c in demo.communities()[1]:
        result = demo.similar(c["iri"], limit=100)
        assert c["iri"] not in [r["iri"] for r in result["results"]]
        assert result["candidates"] == demo.communities()[0] - 1
    # a pin nobody else meets: an empty list, not the community itself
    alone = demo.similar(SCHOOL_COMMUNITY, pins=Pins(within_km=0))
    assert alone["results"] == [] and alone["candidates"] == 0 and alone["pins"] == {"within_km": 0}


def test_pins_keep_only_communities_with_a_school_within_the_distance(demo):
    pinned = demo.similar(SCHOOL_COMMUNITY, limit=50, pins=Pins(involves=[EC + "School"], within_km=50))
    twins = {r["twin"] for r in pinned["results"]}
    assert twins == {"zonnedak-bleuet", "lycee-du-canal", "canal-sud-energie"}
    assert all(r["distance_km"] <= 50 for r in pinned["results"])
    assert pinned["pins"] == {"involves": [EC + "School"], "within_km": 50}
    # without the distance pin, De Vlinder (a school, 51 km away) comes in
    wider = demo.similar(SCHOOL_COMMUNITY, limit=50, pins=Pins(involves=[EC + "School"]))
    assert "de-vlinder" in {r["twin"] for r in wider["results"]}


def test_weights_are_tunable_and_a_distance_only_ranking_orders_by_distance(demo):
    zero = {k: 0.0 for k in ("members", "activities", "technologies", "legal", "size", "network", "topics",
                             "mobility")}
    result = demo.similar(SCHOOL_COMMUNITY, limit=20, weights={**zero, "distance": 1.0})
    located = [r["distance_km"] for r in result["results"] if r["distance_km"] is not None]
    assert located == sorted(located)
    assert result["weights"]["distance"] == 1.0 and result["weights"]["members"] == 0.0
    assert all({x["feature"] for x in r["reasons"]} <= {"distance"} for r in result["results"])


def test_similar_over_http_echoes_weights_and_refuses_unknown_features_and_communities(demo_client):
    ok = demo_client.get("/api/similar", query_string={"iri": SCHOOL_COMMUNITY, "weight.network": "3",
                                                       "involves": "school", "within_km": "50", "lang": "nl"})
    assert ok.status_code == 200, ok.json
    assert ok.json["weights"]["network"] == 3.0
    assert {r["twin"] for r in ok.json["results"]} == {"zonnedak-bleuet", "lycee-du-canal", "canal-sud-energie"}
    bad = demo_client.get("/api/similar", query_string={"iri": SCHOOL_COMMUNITY, "weight.colour": "1"})
    assert bad.status_code == 400 and "members" in bad.json["detail"]
    out_of_range = demo_client.get("/api/similar", query_string={"iri": SCHOOL_COMMUNITY, "weight.members": "nan"})
    assert out_of_range.status_code == 400 and "0 to 10" in out_of_range.json["detail"]
    unknown = demo_client.get("/api/similar", query_string={"iri": "https://nowhere.example/id/community"})
    assert unknown.status_code == 404 and "/api/discovery/communities" in unknown.json["detail"]
    missing = demo_client.get("/api/similar")
    assert missing.status_code == 400 and "?iri=" in missing.json["detail"]
    not_a_type = demo_client.get("/api/similar", query_string={"iri": SCHOOL_COMMUNITY, "involves": "wizard"})
    assert not_a_type.status_code == 400 and "School" in not_a_type.json["detail"]
    assert demo_client.get("/api/similar/weights").json["weights"]["members"] == 2.0


# --- planted near-duplicates from the generator ---------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from bench.generate import generate

    out = tmp_path_factory.mktemp("discovery-generated")
    files = generate(out / "net", 150, seed=11, triples_per_twin=400, near_duplicates=15, copies=2)
    node = Node(_config(out / "data"), workers=False)
    items = []
    for path in files:
        node.register(path.stem, path.stem)
        items.append((path.stem, node.upload_for(path.stem, path.read_bytes(), filename=path.name)))
    results = node.bulk_publish(items, jobs=2)
    refused = {k: v for k, v in results.items() if isinstance(v, Exception)}
    assert not refused, refused
    answers = json.loads((out / "net" / "near-duplicates.json").read_text())
    yield node, answers, out / "net"
    node.close()


def _iri(twin_id: str) -> str:
    return f"https://{twin_id}.bench.example/id/community"


def test_planted_near_duplicates_are_found_in_the_top_five_with_the_right_reasons(generated):
    node, answers, _ = generated
    pairs = found = 0
    for seed, copies in answers.items():
        top = {r["twin"]: r for r in node.similar(_iri(seed), limit=5)["results"]}
        assert seed not in top
        for copy in copies:
            pairs += 1
            if copy in top:
                found += 1
                features = {x["feature"] for x in top[copy]["reasons"]}
                assert {"network", "activities", "legal", "distance"} <= features, top[copy]["reasons"]
                # installations within 10 % of the seed's: every shared kind is "of a similar size"
                techs = [x["text"] for x in top[copy]["reasons"] if x["feature"] == "technologies"]
                assert techs and all(" of a similar size (" in t for t in techs), techs
    assert pairs == 30
    assert found / pairs >= 0.9, f"recall@5 {found}/{pairs}"


# --- kept in step with publishing ------------------------------------------------------------------

def _facets(node: Node, twin_id: str) -> set[tuple[str, str]]:
    return {(f, v) for f, v in node.discovery.db.read("SELECT facet, value FROM facets WHERE twin_id = ?", (twin_id,))}


def test_the_index_follows_publish_replace_unpublish_and_delete(node):
    node.register("alpha", "Alpha")
    node.publish("alpha", node.upload_for("alpha", make_twin("alpha", schools=1), filename="a.ttl"))
    assert ("member", EC + "School") in _facets(node, "alpha")
    node.publish("alpha", node.upload_for("alpha", make_twin("alpha", tag="B", schools=0), filename="a.ttl"))
    assert ("member", EC + "School") not in _facets(node, "alpha")
    assert ("member", EC + "Household") in _facets(node, "alpha")
    assert node.discovery.db.indexed()["alpha"][0] == node.entry("alpha").version
    node.unpublish("alpha")
    assert _facets(node, "alpha") == set()
    assert node.communities() == (0, [])
    node.publish("alpha", node.upload_for("alpha", make_twin("alpha", schools=2), filename="a.ttl"))
    assert node.communities()[0] == 1
    node.delete("alpha")
    assert node.communities() == (0, []) and "alpha" not in node.discovery.db.indexed()


def test_the_ranking_follows_each_change_without_rereading_everything(node):
    for slug in ("a", "b", "c"):
        node.register(slug, slug)
        node.publish(slug, node.upload_for(slug, make_twin(slug), filename="t.ttl"))
    a = "https://a.example/id/community"
    school = Pins(involves=[EC + "School"])
    assert {r["twin"] for r in node.similar(a)["results"]} == {"b", "c"}
    assert node.similar(a, pins=school)["results"] == []
    reads = []
    original = node.discovery.db.communities_of
    node.discovery.db.communities_of = lambda ids: reads.append(set(ids)) or original(ids)  # count, not change
    node.publish("b", node.upload_for("b", make_twin("b", tag="B", schools=1), filename="t.ttl"))
    assert [r["twin"] for r in node.similar(a, pins=school)["results"]] == ["b"]
    assert reads == [{"b"}]
    node.unpublish("b")
    assert {r["twin"] for r in node.similar(a)["results"]} == {"c"}
    node.delete("c")
    assert node.similar(a)["results"] == []


def test_a_refused_upload_leaves_the_index_as_it_was(node):
    node.register("beta", "Beta")
    node.publish("beta", node.upload_for("beta", make_twin("beta", schools=1), filename="b.ttl"))
    before = _facets(node, "beta"), node.discovery.db.indexed()
    with pytest.raises(Exception):  # noqa: B017 - any refusal: a parse error
        node.publish("beta", node.upload_for("beta", b"<broken", filename="b.ttl"))
    assert (_facets(node, "beta"), node.discovery.db.indexed()) == before


def test_the_index_is_rebuilt_from_the_store_at_start_when_missing_or_stale(config):
    node = Node(config, workers=False)
    node.register("gamma", "Gamma")
    node.publish("gamma", node.upload_for("gamma", make_twin("gamma", schools=1), filename="g.ttl"))
    expected = node.communities()
    node.close()
    path = Path(config.data) / "discovery.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    node = Node(config, workers=False)
    try:
        assert node.communities() == expected
        # a crash between the store's commit and the index's: the index holds an older version
        node.discovery.db._db.execute("UPDATE twins SET version = 0")
        node.discovery.db._db.execute("DELETE FROM communities")
    finally:
        node.close()
    node = Node(config, workers=False)
    try:
        assert node.communities() == expected
    finally:
        node.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT version FROM twins").fetchall() == [(1,)]
    db.close()


def test_an_admin_update_reindexes_what_it_changed(node):
    node.register("delta", "Delta")
    node.publish("delta", node.upload_for("delta", make_twin("delta", schools=0), filename="d.ttl"))
    graph = standard.twin_graph("delta")
    node.update(f"INSERT DATA {{ GRAPH <{graph}> {{ <https://delta.example/id/member/0> a <{EC}School> }} }}")
    assert ("member", EC + "School") in _facets(node, "delta")


# --- what others learned ----------------------------------------------------------------------------

SCHOOL_LESSONS = {
    "https://ecoles-en-transition.example/id/lesson/holiday-sharing",
    "https://zonnedak-bleuet.example/id/lesson/pupils-read-the-meters",
    "https://lycee-du-canal.example/id/lesson/students-design",
    "https://de-vlinder.example/id/lesson/learning-from-brussels",
    "https://de-vlinder.example/id/lesson/battery-for-evenings",
}


@pytest.mark.parametrize("words, lang", [("school", "en"), ("écoles", "fr"), ("élèves", "fr"), ("scholen", "nl"),
                                         ("schoolgemeenschap", "nl")])
def test_school_lessons_are_found_in_english_french_and_dutch(demo, words, lang):
    result = demo.search_knowledge(words, lang=lang, kind=["lesson", "best-practice"], limit=200)
    found = {r["iri"] for r in result["results"]}
    if words == "élèves":  # the two lessons with a French title about pupils
        assert found == {"https://zonnedak-bleuet.example/id/lesson/pupils-read-the-meters",
                         "https://lycee-du-canal.example/id/lesson/students-design"}
    elif words == "schoolgemeenschap":  # the Dutch title of De Vlinder's lesson
        assert found == {"https://de-vlinder.example/id/lesson/learning-from-brussels"}
    else:
        assert SCHOOL_LESSONS <= found, found


def test_each_result_carries_its_community_contact_and_what_worked_beside_what_did_not(demo_client):
    answer = demo_client.get("/api/lessons", query_string={"q": "élèves", "lang": "fr"}).json
    by_iri = {r["iri"]: r for r in answer["results"]}
    meters = by_iri["https://zonnedak-bleuet.example/id/lesson/pupils-read-the-meters"]
    assert meters["title"] == "Les élèves relèvent les compteurs"
    assert meters["community"]["name"] == "Toit Solaire Bleuet"  # its French name, as asked
    assert meters["contact"]["email"] == "mailto:info@zonnedak-bleuet.example"
    assert meters["outcome"]["worked"].startswith("Pupils took ownership")
    assert meters["outcome"]["did_not_work"].startswith("Manual readings during holidays")
    assert {t["code"] for t in meters["topics"]} >= {EC + "topic-schools"}


def test_lessons_filter_by_member_type_topic_technology_and_place(demo):
    with_school = demo.search_knowledge(member=[EC + "School"], kind=["lesson", "best-practice"], limit=200)
    owners = {r["community"]["iri"] for r in with_school["results"]}
    assert owners == {"https://ecoles-en-transition.example/id/community",
                      "https://zonnedak-bleuet.example/id/community", "https://lycee-du-canal.example/id/community",
                      "https://de-vlinder.example/id/community", "https://canal-sud-energie.example/id/community"}
    topic = demo.search_knowledge(topic=[EC + "topic-schools"], kind=["lesson", "best-practice"], limit=200)
    assert {r["iri"] for r in topic["results"]} == SCHOOL_LESSONS
    battery = demo.search_knowledge(technology=[EC + "Battery"], kind=["best-practice"], limit=200)
    assert "https://boerenzon.example/id/lesson/milking-hours" in {r["iri"] for r in battery["results"]}
    assert "https://lycee-du-canal.example/id/lesson/students-design" not in {r["iri"] for r in battery["results"]}
    network = demo.search_knowledge(place="https://heidebeek.example/id/network", limit=200)
    assert {r["twin"] for r in network["results"]} >= {"de-vlinder", "boerenzon", "deelauto-heidebeek"}
    assert "zonnedak-bleuet" not in {r["twin"] for r in network["results"]}


def test_search_text_is_words_never_fts_syntax(demo_client):
    for q in ('"', "NEAR(", "*", "school OR", "a AND NOT b", "'); DROP TABLE items; --"):
        answer = demo_client.get("/api/lessons", query_string={"q": q})
        assert answer.status_code == 200, (q, answer.json)
    assert demo_client.get("/api/lessons", query_string={"kind": "poem"}).status_code == 400
    assert demo_client.get("/api/lessons", query_string={"lang": "de"}).status_code == 400


# --- how we compare: figures against an independent computation from the files ----------------------

#: the standard's units as multiples of the canonical ones (kWh, percent, t, number), typed here from
#: ontology/vocabularies.ttl's qudt:conversionMultiplier, so the check does not reuse the code's table
TO_CANONICAL = {"W-HR": 0.001, "KiloW-HR": 1.0, "MegaW-HR": 1000.0, "GigaW-HR": 1e6, "PERCENT": 1.0,
                "KiloGM": 0.001, "TONNE": 1.0, "NUM": 1.0, "KiloM": 1.0}
QUDT = rdflib.Namespace("http://qudt.org/schema/qudt/")
ECN = rdflib.Namespace(EC)
SCHEMA = rdflib.Namespace("https://schema.org/")


def _parse_file(path: Path) -> rdflib.Graph:
    g = rdflib.Graph()
    if path.suffix == ".jsonld":  # the local copy of the context: rdflib would fetch a remote one
        doc = json.loads(path.read_text())
        doc["@context"] = json.loads(standard.context_file().read_text())["@context"]
        g.parse(data=json.dumps(doc), format="json-ld", base=f"https://{path.stem}.example/")
    else:
        g.parse(path, format="turtle")
    return g


def reference_values(files: list[Path]) -> tuple[dict, dict]:
    """(community IRI -> network IRI, (community, indicator, start, end) -> value in canonical units)."""
    networks, values = {}, {}
    for path in files:
        g = _parse_file(path)
        for c in g.subjects(rdflib.RDF.type, ECN.EnergyCommunity):
            if (c, SCHEMA.name, None) not in g:
                continue
            networks[str(c)] = str(g.value(c, ECN.network)) if g.value(c, ECN.network) else None
            for v in set(g.objects(c, ECN.hasIndicator)) | set(g.subjects(ECN.indicatorOf, c)):
                unit = g.value(v, QUDT.hasUnit) or g.value(v, QUDT.unit)
                factor = TO_CANONICAL.get(str(unit).rsplit("/", 1)[-1])
                key = (str(c), str(g.value(v, ECN.indicator)), str(g.value(v, ECN.periodStart)),
                       str(g.value(v, ECN.periodEnd)))
                values[key] = float(g.value(v, QUDT.numericValue)) * factor if factor is not None else None
    return networks, values


def _expected(networks: dict, values: dict, community: str, kpi: str, start: str, end: str, group: str) -> dict:
    members = [c for c in networks if group == "all" or networks[c] == networks[community]]
    vals = [values[(c, kpi, start, end)] for c in members if values.get((c, kpi, start, end)) is not None]
    own = values[(community, kpi, start, end)]
    q1, _, q3 = statistics.quantiles(vals, n=4, method="inclusive") if len(vals) > 1 else (vals[0], 0, vals[0])
    below, equal = sum(v < own for v in vals), sum(v == own for v in vals)
    return {"n": len(vals), "median": statistics.median(vals), "q1": q1, "q3": q3,
            "percentile": round(100 * (below + 0.5 * equal) / len(vals), 2),
            "missing": sum(1 for c in members if (c, kpi, start, end) not in values)}


def _check_compare(node: Node, files: list[Path], community: str) -> int:
    networks, values = reference_values(files)
    answer = node.compare(community)
    checked = 0
    for row in answer["indicators"]:
        key = (community, row["indicator"], row["period_start"], row["period_end"])
        assert row["value"] == pytest.approx(values[key])
        for group in ("network", "all"):
            expected = _expected(networks, values, community, *key[1:], group)
            got = row["groups"][group]
            assert {k: got[k] for k in expected} == pytest.approx(expected), (row["indicator"], group)
            checked += 1
    return checked


def test_comparison_of_a_demo_community_equals_quantiles_computed_from_the_files(demo):
    community = "https://zonnedak-bleuet.example/id/community"
    assert _check_compare(demo, [p for p in standard.demo_twins_dir().iterdir()
                                 if p.suffix in (".ttl", ".jsonld")], community) >= 20
    # energy in MWh and kWh compared in kWh; rates in percent
    row = next(r for r in demo.compare(community)["indicators"]
               if r["indicator"] == EC + "kpi-energy-produced" and r["period_start"] == "2024-01-01")
    assert row["unit"] == "kWh" and row["groups"]["all"]["n"] >= 5


def test_comparison_over_a_generated_network_equals_quantiles_computed_from_the_files(generated):
    node, answers, net = generated
    files = sorted((net / "twins").glob("*.ttl"))
    for seed in list(answers)[:3]:
        assert _check_compare(node, files, _iri(seed)) > 0


def test_a_comparison_follows_each_publish_and_unpublish_and_latest_keeps_the_newest_periods(tmp_path):
    """The figures of all communities are kept between requests: a new twin, or one gone, changes them."""
    node = Node(_config(tmp_path / "data"), workers=False)
    zonnedak = "https://zonnedak-bleuet.example/id/community"
    rate = EC + "kpi-self-consumption-rate"

    def everyone() -> dict[str, int]:
        return {row["period_start"]: row["groups"]["all"]["n"] for row in node.compare(zonnedak, indicator=rate)[
            "indicators"]}

    def publish(name: str) -> None:
        path = standard.demo_twins_dir() / name
        twin_id = path.stem
        node.register(twin_id, twin_id)
        node.publish(twin_id, node.upload_for(twin_id, path.read_bytes(), filename=path.name))

    try:
        publish("zonnedak-bleuet.ttl")
        alone = everyone()
        assert alone and set(alone.values()) == {1}
        publish("lilas-solaires.ttl")
        together = everyone()
        assert any(together[p] == 2 for p in together)
        node.unpublish("lilas-solaires")
        assert everyone() == alone
        full = node.compare(zonnedak)["indicators"]
        kept = node.compare(zonnedak, latest=2)["indicators"]
        for kpi in {r["indicator"] for r in full}:
            periods = sorted(r["period_start"] for r in full if r["indicator"] == kpi)
            assert sorted(r["period_start"] for r in kept if r["indicator"] == kpi) == periods[-2:]
            assert [r for r in kept if r["indicator"] == kpi] == [r for r in full if r["indicator"] == kpi][-2:]
    finally:
        node.close()


def test_a_network_side_by_side_and_its_yearly_totals_equal_the_sums_of_the_files(demo):
    network = "https://bleuet-korenbloem.example/id/network"
    networks, values = reference_values([p for p in standard.demo_twins_dir().iterdir()
                                         if p.suffix in (".ttl", ".jsonld")])
    answer = demo.compare_network(network)
    members = {c for c, n in networks.items() if n == network}
    assert {c["iri"] for c in answer["communities"]} == members
    produced = next(e for e in answer["evolution"] if e["indicator"] == EC + "kpi-energy-produced")
    for year in produced["years"]:
        whole = [values[(c, EC + "kpi-energy-produced", f"{year['year']}-01-01", f"{year['year']}-12-31")]
                 for c in members
                 if (c, EC + "kpi-energy-produced", f"{year['year']}-01-01", f"{year['year']}-12-31") in values]
        assert year["total"] == pytest.approx(sum(whole))
        assert year["reporting"] + year["missing"] == len(members)
    assert any(e["mobility"] for e in answer["evolution"])  # the mobility indicators of Bleuet Mobilité


def test_compare_over_http_and_a_municipality_group_where_twins_give_lau_codes(demo_client):
    answer = demo_client.get("/api/compare", query_string={"iri": "https://vve-lindehof.example/id/community"}).json
    groups = answer["indicators"][0]["groups"]
    assert groups["municipality"]["key"] == "GM0999" and groups["region"]["key"] == "NL31"
    assert demo_client.get("/api/compare", query_string={"iri": "https://nowhere.example/x"}).status_code == 404
    network = demo_client.get("/api/compare/network", query_string={"iri": "https://canal-sud.example/id/network"})
    assert network.status_code == 200 and len(network.json["communities"]) == 3
    area = demo_client.get("/api/compare/area", query_string={"place": "TLG11"})
    assert {c["twin"] for c in area.json["communities"]} == {"wrekinfold-energy", "hollin-vale-renewables"}
    assert demo_client.get("/api/compare/area", query_string={"place": "XX99"}).status_code == 404


# --- tools and places -----------------------------------------------------------------------------------

def test_the_tools_directory_says_who_offers_and_who_uses_each_tool_with_their_contact(demo_client):
    answer = demo_client.get("/api/tools").json
    dashboard = next(t for t in answer["tools"] if t["iri"] == "https://bleuet-korenbloem.example/id/tool/dashboard")
    assert dashboard["name"] == "Bleuet energy dashboard"
    assert [o["iri"] for o in dashboard["offered_by"]] == ["https://bleuet-korenbloem.example/id/network"]
    users = {u["iri"]: u for u in dashboard["used_by"]}
    zonnedak = users["https://zonnedak-bleuet.example/id/community"]
    assert zonnedak["contact"]["email"] == "mailto:info@zonnedak-bleuet.example"
    assert "https://zonnedak-bleuet.example/id/lesson/pupils-read-the-meters" in {
        lesson["iri"] for lesson in dashboard["lessons_of_users"]}
    french = demo_client.get("/api/tools", query_string={"lang": "fr"}).json
    assert "Tableau de bord énergie Bleuet" in {t["name"] for t in french["tools"]}
    in_place = demo_client.get("/api/tools", query_string={"place": "https://heidebeek.example/id/network"}).json
    assert "https://bleuet-korenbloem.example/id/tool/dashboard" not in {t["iri"] for t in in_place["tools"]}


def test_areas_list_municipalities_and_regions_and_views_filter_by_them(demo_client):
    areas = demo_client.get("/api/areas").json
    assert {"code": "GM0999", "communities": 2} in areas["municipalities"]
    assert {"code": "NL3", "communities": 2} in areas["regions"]  # a coarser NUTS level too
    in_region = demo_client.get("/api/discovery/communities", query_string={"place": "NL31"}).json
    assert {c["twin"] for c in in_region["communities"]} == {"vve-lindehof", "zuiderveld-energie"}
    lessons_uk = demo_client.get("/api/lessons", query_string={"place": "TLG11"}).json
    assert {r["twin"] for r in lessons_uk["results"]} == {"wrekinfold-energy"}


def test_no_filter_of_the_lessons_search_makes_sqlite_search_again_for_each_item(demo, monkeypatch):
    """"Lessons in communities with a school" searched the school facet's rows once for each item
    (a correlated subquery): 180 s at 10,000 communities, under the index's lock, so every other
    discovery request waited. Each filter must be a set SQLite makes once: no plan of the search's
    statements holds a correlated subquery, whatever the filters."""
    index = demo.discovery
    asked: list[tuple[str, list]] = []
    real = type(index.db).read

    def recorded(self, sql, params=()):
        asked.append((sql, list(params)))
        return real(self, sql, params)

    monkeypatch.setattr(type(index.db), "read", recorded)
    network = demo.areas()["networks"][0]["code"]
    found = demo.search_knowledge("", member=[EC + "School"], technology=[EC + "PVInstallation"],
                                  topic=[EC + "topic-schools"], place=network, kind=["lesson"])
    assert found["total"] >= 0
    found = demo.search_knowledge("school", member=[EC + "School"], place="NL")
    searches = [(sql, params) for sql, params in asked if "FROM items" in sql or "JOIN items" in sql]
    assert len(searches) >= 4
    for sql, params in searches:
        plan = " ".join(str(row[-1]) for row in real(index.db, "EXPLAIN QUERY PLAN " + sql, params))
        assert "CORRELATED" not in plan, (sql, plan)


def test_the_communities_come_a_page_at_a_time_and_the_pages_together_are_all_of_them(demo_client):
    """At 10,000 communities the list was one answer of 2.3 MB made in 150 ms for any request; it
    has pages, as /api/twins has (1,000 by default)."""
    everything = demo_client.get("/api/discovery/communities").json
    assert everything["limit"] == 1000 and everything["offset"] == 0
    assert everything["total"] == len(everything["communities"]) > 5
    pages = [demo_client.get("/api/discovery/communities", query_string={"limit": 3, "offset": offset}).json
             for offset in range(0, everything["total"], 3)]
    assert all(page["total"] == everything["total"] and len(page["communities"]) <= 3 for page in pages)
    assert [c for page in pages for c in page["communities"]] == everything["communities"]
    in_region = demo_client.get("/api/discovery/communities", query_string={"place": "NL31", "limit": 1}).json
    assert in_region["total"] == 2 and len(in_region["communities"]) == 1
    for bad in ({"limit": 0}, {"offset": -1}, {"limit": "x"}):
        assert demo_client.get("/api/discovery/communities", query_string=bad).status_code == 400
    assert demo_client.get("/api/discovery/communities", query_string={"limit": 10**6}).json["limit"] == 10000


# --- what's new -------------------------------------------------------------------------------------

def test_whats_new_is_valid_atom_that_a_feed_reader_parses_and_follows_the_changes(demo_client, demo):
    import xml.etree.ElementTree as ET

    import feedparser

    response = demo_client.get("/api/whats-new", query_string={"place": "https://bleuet-korenbloem.example/id/network"})
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    twins = {e.link.rsplit("/", 1)[-1] for e in parsed.entries}
    assert twins == {"gbn-bleuet", "zonnedak-bleuet", "ecoles-en-transition", "bleuet-mobilite", "lilas-solaires"}
    detectives = next(e for e in parsed.entries if e.link.endswith("/ecoles-en-transition"))
    assert "initiative: Energy detectives" in detectives.summary
    # RFC 4287's required elements, read with another parser: feed and entries have id, title,
    # updated; the feed has an author; ids are unique
    atom = "{http://www.w3.org/2005/Atom}"
    root = ET.fromstring(response.data)
    assert root.tag == atom + "feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(atom + required) is not None, required
    entries = root.findall(atom + "entry")
    assert len(entries) == 5
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.find(atom + required).text, required
    assert len({e.find(atom + "id").text for e in entries}) == 5
    updated = [e.find(atom + "updated").text for e in entries]
    assert updated == sorted(updated, reverse=True)


def test_whats_new_as_json_feed_lists_a_republished_twin_first(tmp_path):
    from ecgraph.web import create_app

    node = Node(_config(tmp_path / "data"), workers=False)
    try:
        for slug in ("one", "two"):
            node.register(slug, slug)
            node.publish(slug, node.upload_for(slug, make_twin(slug), filename="t.ttl"))
        node.publish("one", node.upload_for("one", make_twin("one", tag="B"), filename="t.ttl"))
        client = create_app(node).test_client()
        doc = client.get("/api/whats-new", headers={"Accept": "application/feed+json"})
        assert doc.mimetype == "application/feed+json"
        feed = doc.json if doc.is_json else json.loads(doc.data)
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert [(i["_ecgraph"]["twin"], i["_ecgraph"]["version"]) for i in feed["items"]] == [("one", 2), ("two", 1)]
        assert client.get("/api/whats-new", query_string={"format": "rss"}).status_code == 406
        assert client.get("/api/whats-new", query_string={"since": "yesterday"}).status_code == 400
        since = node.entry("two").modified  # milliseconds: the republished "one" came after it
        later = client.get("/api/whats-new", query_string={"format": "jsonfeed", "since": since})
        assert [i["_ecgraph"]["twin"] for i in json.loads(later.data)["items"]] == ["one"]
    finally:
        node.close()


def test_the_feeds_follow_the_change_stream_so_a_deletion_and_a_refresh_appear(tmp_path):
    import feedparser

    from ecgraph.web import create_app

    node = Node(_config(tmp_path / "data"), workers=False)
    try:
        for slug in ("one", "two", "three"):
            node.register(slug, slug)
            node.publish(slug, node.upload_for(slug, make_twin(slug), filename="t.ttl"))
        node.unpublish("two")
        node.publish("three", node.upload_for("three", make_twin("three", tag="B"), filename="t.ttl"))
        client = create_app(node).test_client()
        feed = json.loads(client.get("/api/whats-new", query_string={"format": "jsonfeed"}).data)
        seen = [(i["_ecgraph"]["twin"], i["_ecgraph"]["version"], i["_ecgraph"]["change"]) for i in feed["items"]]
        assert seen == [("three", 2, "replaced"), ("two", 1, "deleted"), ("one", 1, "published")]
        gone = feed["items"][1]
        assert gone["title"] == "Test community two was removed"
        fr = json.loads(client.get("/api/whats-new", query_string={"format": "jsonfeed", "lang": "fr"}).data)
        assert fr["items"][1]["title"] == "Test community two a été retiré"
        atom = client.get("/api/whats-new")
        parsed = feedparser.parse(atom.data)
        assert parsed.bozo == 0 and parsed.version == "atom10"
        assert [e.title for e in parsed.entries][:2] == ["Test community three (version 2)",
                                                         "Test community two was removed"]
        assert len({e.id for e in parsed.entries}) == 3
        # published again: the twin is back, not removed
        node.publish("two", node.upload_for("two", make_twin("two"), filename="t.ttl"))
        feed = json.loads(client.get("/api/whats-new", query_string={"format": "jsonfeed"}).data)
        assert feed["items"][0]["_ecgraph"]["twin"] == "two" and feed["items"][0]["_ecgraph"]["change"] != "deleted"
        assert [i["_ecgraph"]["twin"] for i in feed["items"]].count("two") == 1
    finally:
        node.close()


# --- on the pages of the web face --------------------------------------------------------------------

def _page(client, url: str, lang: str = "en") -> str:
    client.delete_cookie("ecgraph_lang")  # an API call with ?lang= leaves the language switch's cookie
    response = client.get(url, headers={"Accept": "text/html", "Accept-Language": lang})
    assert response.status_code == 200, response.data[:500]
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    return html


def _section(html: str, id_: str) -> str:
    start = html.index(f'<section id="{id_}"')
    return html[start:html.index("</section>", start)]


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_the_community_page_ranks_communities_like_it_as_the_api_does_with_reasons_in_the_reader_s_language(
        demo, demo_client):
    from urllib.parse import quote

    for lang in ("en", "fr", "nl"):
        html = _page(demo_client, f"/resource?iri={quote(SCHOOL_COMMUNITY, safe='')}", lang)
        panel = _section(html, "similar")
        api = demo_client.get("/api/similar", query_string={"iri": SCHOOL_COMMUNITY, "limit": 5, "lang": lang}).json
        cards = re.findall(r'<li class="card" data-iri="([^"]+)"', panel)
        assert cards == [r["iri"] for r in api["results"]] and len(cards) == 5
        for r in api["results"]:  # each links to that community's page, with the API's reasons
            assert f'href="/resource?iri={r["iri"]}"' in panel
            card = panel[panel.index(f'data-iri="{r["iri"]}"'):]
            card = card[:card.index("</li>\n")]
            assert re.findall(r'<li data-feature="[^"]+">([^<]+)</li>', _unescape(card))[:len(r["reasons"])] == \
                [x["text"] for x in r["reasons"]]
        assert '"#similar"' in html and 'href="#compare"' in html  # reachable from the top of the page
    assert "dans le même réseau" in _unescape(_section(_page(demo_client, f"/resource?iri={quote(SCHOOL_COMMUNITY)}",
                                                             "fr"), "similar"))


def test_the_similar_panel_pins_what_matters_like_the_api(demo, demo_client):
    from urllib.parse import quote

    url = f"/resource?iri={quote(SCHOOL_COMMUNITY, safe='')}&like_involves=school&like_within_km=50"
    panel = _section(_page(demo_client, url), "similar")
    api = demo.similar(SCHOOL_COMMUNITY, pins=Pins(involves=[EC + "School"], within_km=50), limit=5)
    assert re.findall(r'<li class="card" data-iri="([^"]+)"', panel) == [r["iri"] for r in api["results"]]
    assert "/api/similar?iri=" in panel and "involves=school" in panel and "within_km=50" in panel
    assert 'value="School" selected' in panel and 'value="50"' in panel
    bad = demo_client.get(url.replace("=50", "=far"), headers={"Accept": "text/html"})
    assert bad.status_code == 400 and "like_within_km must be a number" in bad.get_data(as_text=True)


def test_the_comparison_panel_shows_each_indicator_per_period_against_network_and_everyone_as_the_api(
        demo, demo_client):
    from urllib.parse import quote

    zonnedak = "https://zonnedak-bleuet.example/id/community"
    panel = _section(_page(demo_client, f"/resource?iri={quote(zonnedak, safe='')}"), "compare")
    compared = demo.compare(zonnedak, latest=6)["indicators"]
    rate = [e for e in compared if e["indicator"] == EC + "kpi-self-consumption-rate"]
    assert rate
    figure = panel[panel.index(f'data-indicator="{EC}kpi-self-consumption-rate"'):]
    figure = figure[:figure.index("</figure>")]
    assert '<svg class="chart compare"' in figure
    for e in rate:
        row = figure[figure.index(f'data-period="{e["period_start"]}"'):]
        row = row[:row.index("</tr>")]
        for group in ("network", "all"):
            g = e["groups"][group]
            cell = re.search(rf'data-group="{group}" data-median="([^"]+)" data-q1="([^"]+)" data-q3="([^"]+)" '
                             r'data-percentile="([^"]+)"', row)
            assert cell, (group, row)
            assert [float(x) for x in cell.groups()] == [g["median"], g["q1"], g["q3"], g["percentile"]]
    # the figures are those of statistics over the values of every community for that period
    values = [v for (v,) in demo.discovery.db.read(
        "SELECT AVG(value) FROM indicators WHERE indicator = ? AND period_start = ? AND period_end = ? "
        "AND value IS NOT NULL GROUP BY community", (rate[-1]["indicator"], rate[-1]["period_start"],
                                                      rate[-1]["period_end"]))]
    assert rate[-1]["groups"]["all"]["median"] == statistics.median(values)
    # and the comparison of its network is a link away
    link = re.search(r'href="(/discover/compare\?network=[^"]+)"', panel)
    assert link
    network = _page(demo_client, _unescape(link.group(1)))
    assert 'id="side-by-side"' in network and 'id="evolution"' in network and zonnedak in network


def test_the_lessons_page_finds_the_school_lessons_in_three_languages_with_community_and_contact(demo_client):
    for lang, word in {"en": "school", "fr": "écoles", "nl": "scholen"}.items():
        html = _page(demo_client, f"/discover/lessons?q={word}", lang)
        results = html[html.index('id="lesson-results"'):]
        api = demo_client.get("/api/lessons", query_string={"q": word, "lang": lang, "limit": 20}).json["results"]
        assert re.findall(r'<li class="lesson card" data-iri="([^"]+)"', results) == [r["iri"] for r in api]
        assert SCHOOL_LESSONS & {r["iri"] for r in api}, lang
        for r in api:  # each with its community's page and its contact
            assert f'href="/resource?iri={r["community"]["iri"]}"' in results
            if r["contact"] and r["contact"].get("email"):
                assert r["contact"]["email"] in results
    # "in communities with a school": every result's community has a school member
    html = _page(demo_client, f"/discover/lessons?member={quote_iri(EC + 'School')}")
    owners = set(re.findall(r'data-community="([^"]+)"', html))
    api = demo_client.get("/api/lessons", query_string={"member": "school", "limit": 200}).json
    assert owners == {r["community"]["iri"] for r in api["results"]} and owners
    # what worked and what did not, side by side
    html = _page(demo_client, "/discover/lessons?kind=lesson")
    assert '<div class="worked">' in html and '<div class="notworked">' in html


def quote_iri(iri: str) -> str:
    from urllib.parse import quote

    return quote(iri, safe="")


def test_the_tools_areas_and_whats_new_pages_speak_three_languages_and_link_their_feeds(demo, demo_client):
    titles = {"en": ("Tools directory", "Compare by area", "What&#39;s new"),
              "fr": ("Annuaire des outils", "Comparer par territoire", "Quoi de neuf"),
              "nl": ("Overzicht van hulpmiddelen", "Vergelijken per gebied", "Wat is er nieuw")}
    for lang, (tools, areas, news) in titles.items():
        assert f"<h1>{tools}</h1>" in _page(demo_client, "/discover/tools", lang)
        assert f"<h1>{areas}</h1>" in _page(demo_client, "/discover/areas", lang)
        assert f"<h1>{news}</h1>" in _page(demo_client, "/whats-new", lang)
    tools = _page(demo_client, "/discover/tools")
    assert "Bleuet energy dashboard" in tools and "Pupils read the meters" in tools
    network = "https://bleuet-korenbloem.example/id/network"
    news = _page(demo_client, f"/whats-new?place={quote_iri(network)}")
    assert re.search(r'<link rel="alternate" type="application/atom\+xml" [^>]*href="/api/whats-new\?[^"]*place=', news)
    twins = set(re.findall(r'data-twin="([^"]+)"', news))
    assert twins == {"gbn-bleuet", "zonnedak-bleuet", "ecoles-en-transition", "bleuet-mobilite", "lilas-solaires"}
    areas = _page(demo_client, "/discover/areas")
    for code in ("NL3", "GM0999"):  # regions (NUTS) and municipalities (LAU) the twins give
        assert f'href="/discover/compare?place={code}"' in areas
        side = _page(demo_client, f"/discover/compare?place={code}")
        expected = {c["iri"] for c in demo.communities(place=code)[1]}
        assert set(re.findall(r'<tr data-iri="([^"]+)"', side)) == expected and expected


# --- through a real server ---------------------------------------------------------------------------

def test_a_served_node_answers_the_school_journey_over_http_and_keeps_its_index_across_restarts(tmp_path, demo_data):
    """From a school community: communities like it, a lesson of one of them, its self-consumption
    against its network; then a restart finds the index as it was (a re-indexed twin would get a
    new row)."""
    import requests

    from tests.servers import NodeProcess

    served = NodeProcess(demo_data(tmp_path / "data")).start()
    try:
        like = requests.get(served.url + "/api/similar", params={"iri": SCHOOL_COMMUNITY, "involves": "school",
                                                                 "within_km": "50"}, timeout=60).json()
        first = like["results"][0]
        assert first["twin"] == "zonnedak-bleuet"
        lessons = requests.get(served.url + "/api/lessons", params={"place": first["network"], "topic": "schools",
                                                                    "kind": "best-practice"}, timeout=60).json()
        assert "Pupils read the meters" in {r["title"] for r in lessons["results"]}
        compared = requests.get(served.url + "/api/compare", params={"iri": first["iri"],
                                                                     "indicator": "self-consumption-rate"},
                                timeout=60).json()
        assert compared["indicators"] and all("network" in r["groups"] for r in compared["indicators"])
        feed = requests.get(served.url + "/api/whats-new", timeout=60)
        assert feed.headers["Content-Type"].startswith("application/atom+xml")
    finally:
        served.stop()
    db = tmp_path / "data" / "discovery.sqlite3"
    rows = "SELECT rowid, twin_id, version, indexed FROM twins ORDER BY 1"
    before = sqlite3.connect(db).execute(rows).fetchall()
    assert len(before) >= 15
    again = NodeProcess(tmp_path / "data").start()
    try:
        assert requests.get(again.url + "/api/similar", params={"iri": SCHOOL_COMMUNITY},
                            timeout=60).json()["results"][0]["twin"] == "zonnedak-bleuet"
    finally:
        again.stop()
    assert sqlite3.connect(db).execute(rows).fetchall() == before


def test_two_nodes_indexing_the_same_twin_keep_the_same_names_whatever_order_their_store_gives_triples():
    """A community named in French and Dutch, asked for in German: every node says the same name
    (the N=10,000 bench once saw 'De Kanaaltuinen' on one node and 'Les Jardins du Canal' on the
    other, each store returning the twin's triples in its own order)."""
    import dataclasses

    import pyoxigraph as ox

    from ecgraph.discovery import _name
    from ecgraph.discovery.features import extract

    path = Path(__file__).parent.parent / "data" / "twins" / "jardins-du-canal.ttl"
    triples = list(ox.parse(path.read_bytes(), format=ox.RdfFormat.TURTLE))
    one, other = extract("jardins-du-canal", triples), extract("jardins-du-canal", triples[::-1])
    assert [c.iri for c in one.communities] == [c.iri for c in other.communities] != []
    for a, b in zip(one.communities, other.communities, strict=True):
        assert {"fr", "nl"} <= set(a.names)
        assert json.dumps(a.names) == json.dumps(b.names)  # the index stores this text
        assert _name(a.names, "de") == _name(b.names, "de") == _name(dict(reversed(b.names.items())), "de")
        assert json.dumps(dataclasses.asdict(a), sort_keys=True) == json.dumps(dataclasses.asdict(b), sort_keys=True)

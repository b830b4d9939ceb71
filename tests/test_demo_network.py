"""The demo network: shape and variety as the issue asks, every twin conformant, the warnings and
the answers that data/README.md announces, and the SPARQL questions of docs/queries."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlparse

import pytest
import rdflib
from rdflib.namespace import RDF

from ecgraph import standard
from tests import standard_support as s

EC = s.EC
README = standard.data_dir() / "README.md"
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

#: Power units to kW, written out here on purpose (independent of vocabularies.ttl).
TO_KW = {str(s.UNIT.W): Decimal("0.001"), str(s.UNIT.KiloW): Decimal(1), str(s.UNIT.MegaW): Decimal(1000),
         str(s.UNIT.GigaW): Decimal(1000000)}


def unit_of(g, quantity):
    """qudt:hasUnit, or qudt:unit in a twin of release 1.0.0."""
    return g.value(quantity, s.QUDT.hasUnit) or g.value(quantity, s.QUDT.unit)


def kw(g, quantity) -> Decimal:
    return Decimal(str(g.value(quantity, s.QUDT.numericValue))) * TO_KW[str(unit_of(g, quantity))]


def readme_table(marker: str) -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    block = text.split(f"<!-- expected: {marker} -->", 1)[1].strip().splitlines()
    rows = []
    for line in block:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("- "):
            continue
        rows.append(cells)
    return rows[1:]  # without the header


def communities(g: rdflib.Graph) -> set:
    return set(g.subjects(RDF.type, EC.EnergyCommunity))


def networks(g: rdflib.Graph) -> set:
    return set(g.subjects(RDF.type, EC.CommunityNetwork))


# --- shape of the network -------------------------------------------------------------------------

def test_twin_files_and_ids():
    files = s.demo_files()
    assert {p.suffix for p in files} == {".ttl", ".jsonld"}
    assert len(files) == len(list(standard.demo_twins_dir().iterdir())), "only twins in data/twins"
    for path in files:
        assert SLUG.fullmatch(path.stem), path.name
    kinds = {".ttl": 0, ".jsonld": 0}
    for path in files:
        kinds[path.suffix] += 1
    assert kinds[".ttl"] >= 5 and kinds[".jsonld"] >= 5


def test_at_least_three_networks_and_twelve_communities():
    twins = s.demo_twins()
    network_twins = [t for t, g in twins.items() if networks(g) and not communities(g)]
    community_twins = [t for t, g in twins.items() if communities(g)]
    assert len(network_twins) >= 3
    assert len(community_twins) >= 12
    for tid in community_twins:
        assert len(communities(twins[tid])) == 1, tid
    # every community belongs to a network described by a network twin
    described = set().union(*(networks(twins[t]) for t in network_twins))
    union = s.demo_union()
    for c in communities(union):
        nets = set(union.objects(c, EC.network)) | set(union.subjects(EC.includesCommunity, c))
        assert nets and nets <= described, c


def test_every_twin_describes_itself():
    for tid, g in s.demo_twins().items():
        (twin,) = g.subjects(RDF.type, EC.DigitalTwin)
        described = set(g.objects(twin, EC.describes))
        assert described and described <= communities(g) | networks(g), tid


def test_references_between_twins_resolve():
    union = s.demo_union()
    all_communities = communities(union)
    for c in union.objects(None, EC.includesCommunity):
        assert c in all_communities, c
    for net in union.objects(None, EC.network):
        assert net in networks(union), net
    for visit in union.subjects(RDF.type, EC.Visit):
        for p in (EC.host, EC.visitor):
            assert set(union.objects(visit, p)) <= all_communities
    visits = list(union.subjects(RDF.type, EC.Visit))
    hosts_networks = {n for v in visits for h in union.objects(v, EC.host) for n in union.objects(h, EC.network)}
    visitors_networks = {n for v in visits for h in union.objects(v, EC.visitor) for n in union.objects(h, EC.network)}
    assert len(hosts_networks | visitors_networks) >= 2, "visits connect communities of different networks"


def test_names_are_fictional_and_domains_are_example():
    union = s.demo_union()
    allowed = ("w3id.org", "schema.org", "purl.org", "www.w3.org", "www.opengis.net", "qudt.org",
               "creativecommons.org", "www.iana.org")
    for term in {t for triple in union for t in triple if isinstance(t, rdflib.URIRef)}:
        text = str(term)
        if text.startswith("mailto:"):
            host = text.split("@", 1)[-1]
        elif text.startswith("tel:"):
            continue
        else:
            host = urlparse(text).hostname or ""
        assert host.endswith(".example") or host in allowed, term
    for path in s.demo_files():
        assert "ictional" in path.read_text(encoding="utf-8"), f"{path.name} does not say it is fictional"


def _members(g, community) -> dict:
    """member -> (group size, end date) over every way of stating membership."""
    out = {}
    memberships = set(g.objects(community, EC.hasMembership)) | set(g.subjects(EC.community, community))
    for m in memberships:
        out[g.value(m, EC.member)] = (int(g.value(m, EC.groupSize) or 1), g.value(m, EC.endDate))
    for x in set(g.objects(community, EC.hasMember)) | set(g.subjects(EC.memberOf, community)):
        out.setdefault(x, (1, None))
    return out


def test_variety():
    twins = s.demo_twins()
    union = s.demo_union()
    sizes = []
    for g in twins.values():
        for c in communities(g):
            sizes.append(sum(n for n, end in _members(g, c).values() if end is None))
    assert min(sizes) <= 8 and max(sizes) >= 140
    legal_forms = {union.value(c, EC.legalForm) for c in communities(union)}
    assert len(legal_forms) >= 4
    units = {unit_of(union, q) for q in union.objects(None, EC.peakPower)}
    assert {s.UNIT.KiloW, s.UNIT.MegaW} <= units
    # indicators over several years and quarters
    starts = {str(v) for v in union.objects(None, EC.periodStart)}
    assert {"2021-01-01", "2022-01-01", "2023-01-01", "2024-01-01", "2025-01-01", "2025-04-01"} <= starts
    for cls in (EC.LessonLearned, EC.BestPractice, EC.Visit, EC.Event, EC.Tool, EC.Funding, EC.MobilityInitiative,
                EC.SharedVehicle, EC.EVCharger, EC.Battery, EC.WindTurbine, EC.HeatPump, EC.HeatNetwork):
        assert (list(union.subjects(RDF.type, cls))
                or cls == EC.Funding and list(union.objects(None, EC.hasFunding))), cls
    with_school, without_school = _school_communities_independently()
    assert len(with_school) >= 4 and len(without_school) >= 4


# --- conformance --------------------------------------------------------------------------------

@pytest.mark.parametrize("twin_id", [p.stem for p in s.demo_files()])
def test_every_demo_twin_conforms_to_core(twin_id):
    conforms, found, results = s.shacl(s.demo_twins()[twin_id], "core")
    assert conforms, results[:5]


def test_recommended_warnings_are_exactly_the_announced_ones():
    expected = {row[0]: {x.strip().replace("ecrec:", s.RECOMMENDED_NS) for x in row[1].split(",")}
                for row in readme_table("recommended-warnings")}
    assert len(expected) >= 3
    for tid, g in s.demo_twins().items():
        _, found, _ = s.shacl(g, "recommended")
        assert {sev for _, sev in found} <= {"Warning"}, tid
        assert {shape for shape, _ in found} == expected.get(tid, set()), tid
        # a twin that claims the recommended profile meets it
        (twin,) = g.subjects(RDF.type, EC.DigitalTwin)
        if rdflib.URIRef(standard.profile_version_iri("recommended")) in set(g.objects(twin, s.DCTERMS.conformsTo)):
            assert not found, tid


def test_the_node_validator_accepts_every_demo_twin():
    for path in s.demo_files():
        report = s.node_validate(path, "core")
        assert report.conforms, (path.stem, [r.message for r in report.results][:3])


# --- the questions ---------------------------------------------------------------------------------

def _school_communities_independently():
    """Walk the files in Python: communities with a member typed ec:School, and those without."""
    with_school, without = {}, set()
    for g in s.demo_twins().values():
        for c in communities(g):
            schools = {m for m in _members(g, c) if (m, RDF.type, EC.School) in g}
            if schools:
                with_school[str(c)] = len(schools)
            else:
                without.add(str(c))
    return with_school, without


def _owned(union, community, types) -> dict:
    """asset -> the kW ``community`` owns of it: in full when it owns it outright (ec:hasAsset),
    else its ec:ownedCapacity, else its ec:ownershipShare of the asset's capacity."""
    out = {}
    shared = {}
    for ownership in union.objects(community, EC.hasOwnership):
        shared[union.value(ownership, EC.ownedAsset)] = ownership
    for asset in set(union.objects(community, EC.hasAsset)) | set(shared):
        if not any((asset, RDF.type, t) in union for t in types):
            continue
        power = union.value(asset, EC.peakPower) or union.value(asset, EC.ratedPower)
        if asset not in shared:
            out[asset] = kw(union, power)
            continue
        ownership = shared[asset]
        owned = union.value(ownership, EC.ownedCapacity)
        share = union.value(ownership, EC.ownershipShare)
        out[asset] = kw(union, owned) if owned is not None else \
            kw(union, power) * Decimal(str(union.value(share, s.QUDT.numericValue))) / 100
    return out


def _pv_per_network_independently():
    union = s.demo_union()
    totals: dict[str, list] = {}
    for net in networks(union):
        members = set(union.subjects(EC.network, net)) | set(union.objects(net, EC.includesCommunity))
        pvs: dict = {}
        for c in members:
            pvs.update(_owned(union, c, [EC.PVInstallation]))
        totals[str(net)] = [len(pvs), sum(pvs.values(), Decimal(0))]
    return totals


def _capacity_per_region_independently():
    union = s.demo_union()
    totals: dict[str, list] = {}
    for c in communities(union):
        regions = {str(r) for a in union.objects(c, s.SCHEMA.address) for r in union.objects(a, s.SCHEMA.addressRegion)}
        for region in regions:
            row = totals.setdefault(region, [set(), Decimal(0)])
            row[0].add(c)
            row[1] += sum(_owned(union, c, [EC.PVInstallation, EC.WindTurbine, EC.HydroPlant]).values(), Decimal(0))
    return {region: [len(cs), total] for region, (cs, total) in totals.items()}


def test_which_communities_involve_a_school():
    expected = {row[0]: int(row[1]) for row in readme_table("communities-with-school")}
    assert _school_communities_independently()[0] == expected
    query = s.query_file("communities-with-school")
    for inferred in (False, True):
        rows = s.run_select(s.demo_store(inferred=inferred), query)
        assert {r["community"]: int(r["schools"]) for r in rows} == expected
    # the one-line question, once the node's reasoner has derived ec:hasMember from memberships
    one_liner = f"PREFIX ec: <{standard.EC}> SELECT DISTINCT ?c WHERE {{ ?c ec:hasMember/a ec:School }}"
    assert {r["c"] for r in s.run_select(s.demo_store(inferred=True), one_liner)} == set(expected)
    # and after the reference OWL-RL closure too
    closure = s.owlrl_closure()
    schools = {str(c) for c, m in closure.subject_objects(EC.hasMember) if (m, RDF.type, EC.School) in closure}
    assert schools == set(expected)


def test_total_pv_capacity_per_network():
    expected = {row[0]: [int(row[1]), Decimal(row[2])] for row in readme_table("pv-capacity-per-network")}
    assert _pv_per_network_independently() == expected
    query = s.query_file("pv-capacity-per-network")
    for inferred in (False, True):
        rows = s.run_select(s.demo_store(inferred=inferred), query)
        assert {r["network"]: [int(r["installations"]), Decimal(r["totalKW"])] for r in rows} == expected


def test_public_bodies_need_the_inferred_class_hierarchy():
    """A superclass question: municipalities are public bodies after inference only. A school is a
    public body only when its twin says so (a state school), not because it is a school."""
    query = s.query_file("public-bodies-involved")
    assert s.run_select(s.demo_store(), query) == []
    found = {r["community"] for r in s.run_select(s.demo_store(inferred=True), query)}
    union = s.demo_union()
    public_school_communities = {str(c) for g in s.demo_twins().values() for c in communities(g)
                                 if any((m, RDF.type, EC.PublicBody) in g and (m, RDF.type, EC.School) in g
                                        for m in _members(g, c))}
    assert public_school_communities and public_school_communities <= found
    assert "https://heidebeek-windkracht.example/id/community" in found  # through its municipality
    # the technical school of Lycée du Canal is run by a non-profit: a school, not a public body
    assert (rdflib.URIRef("https://lycee-du-canal.example/id/school"), RDF.type, EC.PublicBody) not in union
    assert "https://lycee-du-canal.example/id/community" not in found


def test_a_school_is_found_whatever_its_legal_status():
    """State schools, schools run by a non-profit or a charity, private schools: each is an
    ec:School, so the school question finds the communities of all of them."""
    with_school = _school_communities_independently()[0]
    union = s.demo_union()
    statuses = {}
    for school in union.subjects(RDF.type, EC.School):
        kinds = {t for t in union.objects(school, RDF.type) if t in (EC.PublicBody, EC.NGO, EC.Business)}
        statuses[school] = kinds
    assert {EC.PublicBody} in statuses.values() or any(EC.PublicBody in k for k in statuses.values())
    assert any(EC.NGO in k for k in statuses.values()) and any(EC.Business in k for k in statuses.values())
    for community in ("https://wrekinfold-energy.example/id/community",     # an independent school (charity)
                      "https://zuiderveld-energie.example/id/community",    # a private school (business)
                      "https://lycee-du-canal.example/id/community"):       # a school run by a non-profit
        assert community in with_school, community
    rows = s.run_select(s.demo_store(inferred=True),
                        f"PREFIX ec: <{standard.EC}> SELECT DISTINCT ?c WHERE {{ ?c ec:hasMember/a ec:School }}")
    assert set(with_school) == {r["c"] for r in rows}


def test_capacity_per_region_counts_what_communities_own():
    """A cooperative with 30 percent of a 9.2 MW wind farm owns 2.76 MW of it, not 9.2; a 25 percent
    share of a 12 MW solar park is 3 MW. The query gives what the files say, computed here in Python."""
    expected = {row[0]: [int(row[1]), Decimal(row[2])] for row in readme_table("capacity-per-region")}
    assert _capacity_per_region_independently() == expected
    query = s.query_file("capacity-per-region")
    for inferred in (False, True):
        rows = s.run_select(s.demo_store(inferred=inferred), query)
        assert {r["region"]: [int(r["communities"]), Decimal(r["ownedKW"])] for r in rows} == expected


def test_register_shaped_twins_of_the_uk_and_the_netherlands():
    """At least three twins shaped like real UK and Dutch organisations: national legal forms,
    registrations with their registrar, regions with NUTS/ITL and LAU codes."""
    union = s.demo_union()
    national = [c for c in communities(union)
                if str(union.value(c, EC.legalForm) or "").startswith((standard.EC + "legalform-uk-",
                                                                     standard.EC + "legalform-nl-"))]
    assert len(national) >= 3
    for c in national:
        registration = union.value(c, EC.registration)
        assert union.value(registration, EC.registrar) is not None
        address = union.value(c, s.SCHEMA.address)
        assert union.value(address, EC.nutsCode) is not None and union.value(address, EC.lauCode) is not None
    countries = {str(union.value(union.value(c, s.SCHEMA.address), s.SCHEMA.addressCountry)) for c in national}
    assert countries == {"GB", "NL"}


def test_a_twin_claiming_1_0_0_is_judged_by_1_0_0():
    boerenzon = next(p for p in s.demo_files() if p.stem == "boerenzon")
    report = s.node_validate(boerenzon, "core")
    assert report.conforms and report.version == "1.0.0"
    assert report.profile_version == standard.profile_version_iri("core", "1.0.0")


def test_every_documented_query_runs_and_answers():
    store = s.demo_store(inferred=True)
    names = sorted(p.stem for p in s.QUERIES_DIR.glob("*.rq"))
    assert len(names) >= 5
    for name in names:
        text = s.query_file(name)
        assert text.startswith("# title: "), name
        assert s.run_select(store, text), f"{name} answers nothing on the demo network"


def test_unions_of_graphs_give_the_same_answers_with_and_without_inference():
    for name in ("energy-produced-per-year", "mobility-per-network", "lessons-about-schools"):
        query = s.query_file(name)
        assert s.run_select(s.demo_store(), query) == s.run_select(s.demo_store(inferred=True), query), name

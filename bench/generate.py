"""A deterministic generator of energy-community networks shaped like the demo network.

    python -m bench.generate --communities 1000 --seed 7 --out /tmp/net
    python -m bench.generate --communities 1 --triples-per-twin 10000 --out /tmp/one

Writes one Turtle twin per community (``<out>/twins/<id>.ttl``) plus one per GBN, and, with
``--nquads``, the whole network as one N-Quads file with each twin in its named graph (for bulk
loads and for ``oxigraph load``). Every twin conforms to the core profile, except that
``--violations F`` breaks a fraction F of them on purpose (for the validator benchmarks): a missing
legal form, a PV capacity in the wrong unit, or a rate above 100 %. ``--near-duplicates N`` plants,
for N seed communities, ``--copies`` communities derived from each with small changes (the answers
a "communities like this one" ranking must find, in ``near-duplicates.json``).

Sizes: about ``--triples-per-twin`` triples per community (default 1,000), from members with their
memberships (a realistic share of them schools and public bodies), assets, indicators for several
periods and lessons learned. The same seed always writes the same bytes.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

PREFIXES = """@prefix ec: <https://w3id.org/ecgraph/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix geo: <http://www.opengis.net/ont/geosparql#> .
@prefix qudt: <http://qudt.org/schema/qudt/> .
@prefix unit: <http://qudt.org/vocab/unit/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
"""

#: every generated twin's licence (open: a node harvests only twins with an open licence)
LICENCE = "https://creativecommons.org/licenses/by/4.0/"
LEGAL_FORMS = ["cooperative", "association", "non-profit", "company", "foundation"]
ACTIVITIES = ["collective-self-consumption", "energy-sharing", "renewable-production", "energy-efficiency",
              "e-mobility", "education", "collective-purchasing"]
TOPICS = ["governance", "financing", "schools", "technology", "regulation", "member-engagement"]
MEMBER_KINDS = [("ec:Household", 70), ("ec:Person", 10), ("ec:School", 4), ("ec:Municipality", 2),
                ("ec:Business", 9), ("ec:NGO", 4), ("ec:ResearchInstitution", 1)]
PLACES = [("Brussels-{n} (fictional)", 4.35, 50.85), ("Gent-{n} (fictional)", 3.72, 51.05),
          ("Namur-{n} (fictional)", 4.87, 50.47), ("Leuven-{n} (fictional)", 4.70, 50.88)]


def _weighted(rng: random.Random, items):
    total = sum(w for _, w in items)
    pick = rng.uniform(0, total)
    for item, weight in items:
        pick -= weight
        if pick <= 0:
            return item
    return items[-1][0]


def gbn_twin(k: int) -> tuple[str, str]:
    twin_id = f"gbn-{k:03d}"
    base = f"https://gbn-{k:03d}.bench.example/id/"
    place, lon, lat = PLACES[k % len(PLACES)]
    body = [
        PREFIXES, f"@base <{base}> .",
        f'<twin> a ec:DigitalTwin ; dcterms:title "Benchmark network {k}"@en ; dcterms:publisher <network> ;',
        "  dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.0.0> ; ec:describes <network> ;",
        f"  dcterms:license <{LICENCE}> .",
        f'<network> a ec:CommunityNetwork ; schema:name "Benchmark network {k} ({place.format(n=k)})"@en ;',
        f'  geo:hasGeometry [ geo:asWKT "POINT({lon + k * 0.001:.4f} {lat:.4f})"^^geo:wktLiteral ] .',
    ]
    return twin_id, "\n".join(body) + "\n"


def community_plan(i: int, rng: random.Random, gbns: int, target: int, violation: str | None) -> dict:
    """Every random choice of one community, drawn in a fixed order (the same seed, the same bytes)."""
    gbn = rng.randrange(gbns)
    _, lon, lat = PLACES[gbn % len(PLACES)]
    plan: dict = {"i": i, "name": f"Benchmark community {i}", "gbn": gbn, "violation": violation,
                  "legal": rng.choice(LEGAL_FORMS)}
    plan["activities"] = rng.sample(ACTIVITIES, rng.randint(1, 4))
    plan["lon"] = lon + rng.uniform(-0.05, 0.05)
    plan["lat"] = lat + rng.uniform(-0.05, 0.05)
    # Roughly: a member with its membership ~9 triples, an indicator ~7, an asset ~8, a lesson ~7.
    budget = max(target - 25, 20)
    n_indicators = max(4, budget * 45 // 100 // 7)
    n_members = max(3, budget * 45 // 100 // 9)
    n_assets = max(1, budget * 6 // 100 // 8)
    n_lessons = max(1, budget * 4 // 100 // 7)
    plan["members"] = []
    for _ in range(n_members):
        kind = _weighted(rng, MEMBER_KINDS)
        plan["members"].append((kind, rng.choice(["consumer", "prosumer", "producer", "investor"])))
    plan["assets"] = []
    for a in range(n_assets):
        kind = rng.choice(["pv", "pv", "pv", "battery", "charger"])
        if violation == "unit" and a == 0:
            kind = "pv"  # the broken capacity needs a PV installation to sit on
        if kind == "pv":
            if violation == "unit" and a == 0:
                plan["assets"].append(("pv-broken", 12.5))
            elif rng.random() < 0.1:
                plan["assets"].append(("pv-mw", rng.uniform(0.1, 2.0)))
            else:
                plan["assets"].append(("pv", rng.uniform(3, 400)))
        elif kind == "battery":
            plan["assets"].append(("battery", rng.uniform(10, 500), rng.uniform(5, 250)))
        else:
            plan["assets"].append(("charger", rng.randint(1, 8)))
    plan["indicators"] = []
    for k in range(n_indicators):
        _, _, low, high = KPIS[k % len(KPIS)]
        plan["indicators"].append(rng.uniform(low, high))
    plan["topics"] = [rng.choice(TOPICS) for _ in range(n_lessons)]
    return plan


KPIS = [("energy-produced", "unit:MegaW-HR", 50, 900), ("energy-consumed", "unit:MegaW-HR", 80, 1500),
        ("energy-shared", "unit:MegaW-HR", 10, 400), ("self-consumption-rate", "unit:PERCENT", 20, 95),
        ("self-sufficiency-rate", "unit:PERCENT", 10, 80), ("co2-avoided", "unit:TONNE", 5, 300),
        ("number-of-members", "unit:NUM", 5, 300)]


def community_twin(i: int, rng: random.Random, gbns: int, target: int, violation: str | None) -> tuple[str, str]:
    return render_community(community_plan(i, rng, gbns, target, violation))


def render_community(plan: dict) -> tuple[str, str]:
    i, violation = plan["i"], plan["violation"]
    twin_id = plan.get("twin_id") or f"community-{i:05d}"
    base = f"https://{twin_id}.bench.example/id/"
    gbn = plan["gbn"]
    out = [PREFIXES, f"@base <{base}> ."]
    out.append(f'<twin> a ec:DigitalTwin ; dcterms:title "{plan["name"]}"@en ; '
               'dcterms:publisher <community> ;')
    out.append('  dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.0.0> ; ec:describes <community> ;')
    out.append(f'  dcterms:modified "2025-0{1 + i % 9}-1{i % 10}"^^xsd:date ; prov:wasAttributedTo <community> ;')
    out.append(f"  dcterms:license <{LICENCE}> .")
    community = [f'<community> a ec:EnergyCommunity ; schema:name "{plan["name"]}"@en ;']
    if violation != "legal-form":
        community.append(f"  ec:legalForm ec:legalform-{plan['legal']} ;")
    community.append("  ec:euType ec:eutype-renewable-energy-community ; ec:status ec:status-active ;")
    community.append("  ec:activity " + ", ".join(f"ec:activity-{a}" for a in plan["activities"]) + " ;")
    community.append(f"  ec:network <https://gbn-{gbn:03d}.bench.example/id/network> ;")
    community.append(f'  schema:foundingDate "20{10 + i % 15:02d}-0{1 + i % 9}-01"^^xsd:date ;')
    community.append(f'  geo:hasGeometry [ geo:asWKT "POINT({plan["lon"]:.4f} '
                     f'{plan["lat"]:.4f})"^^geo:wktLiteral ] .')
    out.extend(community)

    for m, (kind, role) in enumerate(plan["members"]):
        out.append(f'<membership/{m}> a ec:Membership ; ec:community <community> ; ec:member <member/{m}> ; '
                   f'ec:role ec:role-{role} ; ec:startDate "20{15 + m % 10}-01-01"^^xsd:date .')
        name = f' ; schema:name "Member {m} of community {i}"@en' if kind != "ec:Household" else ""
        out.append(f"<member/{m}> a {kind}{name} .")

    for a, asset in enumerate(plan["assets"]):
        kind = asset[0]
        if kind.startswith("pv"):
            if kind == "pv-broken":
                value = f"[ qudt:numericValue {asset[1]} ; qudt:unit unit:KiloW-HR ]"
            elif kind == "pv-mw":
                value = f"[ qudt:numericValue {asset[1]:.3f} ; qudt:unit unit:MegaW ]"
            else:
                value = f"[ qudt:numericValue {asset[1]:.1f} ; qudt:unit unit:KiloW ]"
            out.append(f'<asset/{a}> a ec:PVInstallation ; schema:name "PV {a}"@en ; ec:peakPower {value} ; '
                       f'ec:installationDate "20{15 + a % 10}-06-01"^^xsd:date .')
        elif kind == "battery":
            out.append(f'<asset/{a}> a ec:Battery ; '
                       f'ec:storageCapacity [ qudt:numericValue {asset[1]:.1f} ; '
                       'qudt:unit unit:KiloW-HR ] ; '
                       f'ec:ratedPower [ qudt:numericValue {asset[2]:.1f} ; qudt:unit unit:KiloW ] .')
        else:
            out.append(f'<asset/{a}> a ec:EVCharger ; ec:chargingPoints {asset[1]} ; '
                       f"ec:ratedPower [ qudt:numericValue 22.0 ; qudt:unit unit:KiloW ] .")
    out.append("<community> ec:hasAsset " + ", ".join(f"<asset/{a}>" for a in range(len(plan["assets"]))) + " .")

    n_indicators = len(plan["indicators"])
    for k, raw in enumerate(plan["indicators"]):
        kpi, unit, _, _ = KPIS[k % len(KPIS)]
        year = 2015 + (k // len(KPIS)) // 4
        quarter = (k // len(KPIS)) % 4
        start = f"{year}-{3 * quarter + 1:02d}-01"
        end = f"{year}-{3 * quarter + 3:02d}-{30 if quarter in (1, 2) else 31}"
        value = f"{raw:.1f}"
        if violation == "rate" and k == 3:
            value = "180.0"
        out.append(f"<indicator/{k}> a ec:IndicatorValue ; ec:indicator ec:kpi-{kpi} ; "
                   f'ec:periodStart "{start}"^^xsd:date ; ec:periodEnd "{end}"^^xsd:date ; '
                   f"qudt:numericValue {value} ; qudt:unit {unit} .")
    out.append("<community> ec:hasIndicator " + ", ".join(f"<indicator/{k}>" for k in range(n_indicators)) + " .")

    for lesson, topic in enumerate(plan["topics"]):
        out.append(f'<lesson/{lesson}> a ec:LessonLearned ; schema:name "Lesson {lesson} of community {i}"@en ; '
                   f'ec:topic ec:topic-{topic} ; ec:summary "What community {i} learned about {topic}."@en ; '
                   f'ec:whatWorked "Talking to members early."@en ; ec:whatDidNotWork "Paper forms."@en .')
    out.append("<community> ec:hasLesson " + ", ".join(f"<lesson/{x}>" for x in range(len(plan["topics"]))) + " .")
    return twin_id, "\n".join(out) + "\n"


def derive(plan: dict, copy: int, rng: random.Random) -> dict:
    """A near-duplicate of a community: the same network, legal form and topics, a location a few
    hundred metres away, installations within 10 % of the seed's size, one or two households more
    or fewer, and perhaps one activity fewer; its own name and fresh indicator values."""
    twin_id = f"community-{plan['i']:05d}-twin-{copy}"
    out = {**plan, "twin_id": twin_id, "name": f"Near duplicate {copy} of community {plan['i']}",
           "violation": None, "derived_from": f"community-{plan['i']:05d}"}
    out["lon"] = plan["lon"] + rng.uniform(-0.004, 0.004)
    out["lat"] = plan["lat"] + rng.uniform(-0.004, 0.004)
    out["activities"] = list(plan["activities"])
    if len(out["activities"]) > 2 and rng.random() < 0.3:
        out["activities"].pop(rng.randrange(len(out["activities"])))
    members = list(plan["members"])
    for _ in range(rng.randint(1, 2)):
        if rng.random() < 0.5 and len(members) > 3:
            members.pop(rng.randrange(len(members)))
        else:
            members.append(("ec:Household", "consumer"))
    out["members"] = members
    assets = []
    for asset in plan["assets"]:
        if asset[0] in ("pv", "pv-mw"):
            assets.append((asset[0], asset[1] * rng.uniform(0.9, 1.1)))
        elif asset[0] == "pv-broken":
            assets.append(("pv", 12.5))
        elif asset[0] == "battery":
            assets.append(("battery", asset[1] * rng.uniform(0.9, 1.1), asset[2]))
        else:
            assets.append(asset)
    out["assets"] = assets
    out["indicators"] = []
    for k, value in enumerate(plan["indicators"]):
        _, _, low, high = KPIS[k % len(KPIS)]
        out["indicators"].append(min(high, max(low, value * rng.uniform(0.8, 1.2))))
    return out


def generate(out: Path, communities: int, seed: int = 7, triples_per_twin: int = 1000,
             violations: float = 0.0, nquads: bool = False, near_duplicates: int = 0,
             copies: int = 2) -> list[Path]:
    """Write the network; return the twin files (GBNs first, then communities, then the
    near-duplicates). ``near_duplicates`` seed communities (spread evenly over the network) each get
    ``copies`` derived twins (:func:`derive`), listed in ``<out>/near-duplicates.json`` as
    {seed twin id: [its copies' twin ids]}: the answers a similarity ranking must find."""
    rng = random.Random(seed)
    twins_dir = out / "twins"
    twins_dir.mkdir(parents=True, exist_ok=True)
    gbns = max(3, communities // 50)
    files: list[Path] = []
    documents: list[tuple[str, str]] = []
    kinds = ["legal-form", "unit", "rate"]
    for k in range(gbns):
        documents.append(gbn_twin(k))
    plans = []
    for i in range(communities):
        broken = kinds[i % 3] if violations and rng.random() < violations else None
        plan = community_plan(i, rng, gbns, triples_per_twin, broken)
        plans.append(plan)
        documents.append(render_community(plan))
    if near_duplicates:
        import json

        derived_rng = random.Random(f"near-duplicates-{seed}")  # the main stream stays as it was
        step = max(1, communities // near_duplicates)
        answers: dict[str, list[str]] = {}
        for seed_plan in plans[::step][:near_duplicates]:
            for copy in range(1, copies + 1):
                twin_id, text = render_community(derive(seed_plan, copy, derived_rng))
                documents.append((twin_id, text))
                answers.setdefault(f"community-{seed_plan['i']:05d}", []).append(twin_id)
        out.mkdir(parents=True, exist_ok=True)
        (out / "near-duplicates.json").write_text(json.dumps(answers, indent=1) + "\n")
    for twin_id, text in documents:
        path = twins_dir / f"{twin_id}.ttl"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    if nquads:
        import pyoxigraph as ox

        from ecgraph.publish.ingest import label_blank_nodes

        with open(out / "network.nq", "wb") as fh:
            for twin_id, text in documents:
                graph = ox.NamedNode(f"https://w3id.org/ecgraph/twin/{twin_id}")
                # the parser's blank node ids are random: name them as the node's ingest does
                triples = label_blank_nodes([q.triple for q in ox.parse(text, format=ox.RdfFormat.TURTLE)],
                                            twin_id.replace("-", ""))
                quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
                fh.write(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
    return files


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--communities", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--triples-per-twin", type=int, default=1000)
    parser.add_argument("--violations", type=float, default=0.0, help="fraction of twins broken on purpose")
    parser.add_argument("--nquads", action="store_true", help="also write network.nq")
    parser.add_argument("--near-duplicates", type=int, default=0,
                        help="plant near-duplicates of this many seed communities (see near-duplicates.json)")
    parser.add_argument("--copies", type=int, default=2, help="near-duplicates per seed community")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    files = generate(args.out, args.communities, args.seed, args.triples_per_twin, args.violations, args.nquads,
                     args.near_duplicates, args.copies)
    print(f"wrote {len(files)} twins to {args.out / 'twins'}")


if __name__ == "__main__":
    main()

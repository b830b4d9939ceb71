"""A deterministic generator of energy-community networks shaped like the demo network.

    python -m bench.generate --communities 1000 --seed 7 --out /tmp/net
    python -m bench.generate --communities 1 --triples-per-twin 10000 --out /tmp/one

Writes one Turtle twin per community (``<out>/twins/<id>.ttl``) plus one per GBN, and, with
``--nquads``, the whole network as one N-Quads file with each twin in its named graph (for bulk
loads and for ``oxigraph load``). Every twin conforms to the core profile, except that
``--violations F`` breaks a fraction F of them on purpose (for the validator benchmarks): a missing
legal form, a PV capacity in the wrong unit, or a rate above 100 %.

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
        "  dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.0.0> ; ec:describes <network> .",
        f'<network> a ec:CommunityNetwork ; schema:name "Benchmark network {k} ({place.format(n=k)})"@en ;',
        f'  geo:hasGeometry [ geo:asWKT "POINT({lon + k * 0.001:.4f} {lat:.4f})"^^geo:wktLiteral ] .',
    ]
    return twin_id, "\n".join(body) + "\n"


def community_twin(i: int, rng: random.Random, gbns: int, target: int, violation: str | None) -> tuple[str, str]:
    twin_id = f"community-{i:05d}"
    base = f"https://{twin_id}.bench.example/id/"
    gbn = rng.randrange(gbns)
    place, lon, lat = PLACES[gbn % len(PLACES)]
    legal = rng.choice(LEGAL_FORMS)
    activities = rng.sample(ACTIVITIES, rng.randint(1, 4))
    out = [PREFIXES, f"@base <{base}> ."]
    out.append(f'<twin> a ec:DigitalTwin ; dcterms:title "Benchmark community {i}"@en ; '
               'dcterms:publisher <community> ;')
    out.append('  dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.0.0> ; ec:describes <community> ;')
    out.append(f'  dcterms:modified "2025-0{1 + i % 9}-1{i % 10}"^^xsd:date ; prov:wasAttributedTo <community> .')
    community = [f'<community> a ec:EnergyCommunity ; schema:name "Benchmark community {i}"@en ;']
    if violation != "legal-form":
        community.append(f"  ec:legalForm ec:legalform-{legal} ;")
    community.append("  ec:euType ec:eutype-renewable-energy-community ; ec:status ec:status-active ;")
    community.append("  ec:activity " + ", ".join(f"ec:activity-{a}" for a in activities) + " ;")
    community.append(f"  ec:network <https://gbn-{gbn:03d}.bench.example/id/network> ;")
    community.append(f'  schema:foundingDate "20{10 + i % 15:02d}-0{1 + i % 9}-01"^^xsd:date ;')
    community.append(f'  geo:hasGeometry [ geo:asWKT "POINT({lon + rng.uniform(-0.05, 0.05):.4f} '
                     f'{lat + rng.uniform(-0.05, 0.05):.4f})"^^geo:wktLiteral ] .')
    out.extend(community)

    # Roughly: a member with its membership ~9 triples, an indicator ~7, an asset ~8, a lesson ~7.
    budget = max(target - 25, 20)
    n_indicators = max(4, budget * 45 // 100 // 7)
    n_members = max(3, budget * 45 // 100 // 9)
    n_assets = max(1, budget * 6 // 100 // 8)
    n_lessons = max(1, budget * 4 // 100 // 7)

    for m in range(n_members):
        kind = _weighted(rng, MEMBER_KINDS)
        role = rng.choice(["consumer", "prosumer", "producer", "investor"])
        out.append(f'<membership/{m}> a ec:Membership ; ec:community <community> ; ec:member <member/{m}> ; '
                   f'ec:role ec:role-{role} ; ec:startDate "20{15 + m % 10}-01-01"^^xsd:date .')
        name = f' ; schema:name "Member {m} of community {i}"@en' if kind != "ec:Household" else ""
        out.append(f"<member/{m}> a {kind}{name} .")

    for a in range(n_assets):
        kind = rng.choice(["pv", "pv", "pv", "battery", "charger"])
        if violation == "unit" and a == 0:
            kind = "pv"  # the broken capacity needs a PV installation to sit on
        if kind == "pv":
            if violation == "unit" and a == 0:
                value = "[ qudt:numericValue 12.5 ; qudt:unit unit:KiloW-HR ]"
            elif rng.random() < 0.1:
                value = f"[ qudt:numericValue {rng.uniform(0.1, 2.0):.3f} ; qudt:unit unit:MegaW ]"
            else:
                value = f"[ qudt:numericValue {rng.uniform(3, 400):.1f} ; qudt:unit unit:KiloW ]"
            out.append(f'<asset/{a}> a ec:PVInstallation ; schema:name "PV {a}"@en ; ec:peakPower {value} ; '
                       f'ec:installationDate "20{15 + a % 10}-06-01"^^xsd:date .')
        elif kind == "battery":
            out.append(f'<asset/{a}> a ec:Battery ; '
                       f'ec:storageCapacity [ qudt:numericValue {rng.uniform(10, 500):.1f} ; '
                       'qudt:unit unit:KiloW-HR ] ; '
                       f'ec:ratedPower [ qudt:numericValue {rng.uniform(5, 250):.1f} ; qudt:unit unit:KiloW ] .')
        else:
            out.append(f'<asset/{a}> a ec:EVCharger ; ec:chargingPoints {rng.randint(1, 8)} ; '
                       f"ec:ratedPower [ qudt:numericValue 22.0 ; qudt:unit unit:KiloW ] .")
    out.append("<community> ec:hasAsset " + ", ".join(f"<asset/{a}>" for a in range(n_assets)) + " .")

    kpis = [("energy-produced", "unit:MegaW-HR", 50, 900), ("energy-consumed", "unit:MegaW-HR", 80, 1500),
            ("energy-shared", "unit:MegaW-HR", 10, 400), ("self-consumption-rate", "unit:PERCENT", 20, 95),
            ("self-sufficiency-rate", "unit:PERCENT", 10, 80), ("co2-avoided", "unit:TONNE", 5, 300),
            ("number-of-members", "unit:NUM", 5, 300)]
    for k in range(n_indicators):
        kpi, unit, low, high = kpis[k % len(kpis)]
        year = 2015 + (k // len(kpis)) // 4
        quarter = (k // len(kpis)) % 4
        start = f"{year}-{3 * quarter + 1:02d}-01"
        end = f"{year}-{3 * quarter + 3:02d}-{30 if quarter in (1, 2) else 31}"
        value = f"{rng.uniform(low, high):.1f}"
        if violation == "rate" and k == 3:
            value = "180.0"
        out.append(f"<indicator/{k}> a ec:IndicatorValue ; ec:indicator ec:kpi-{kpi} ; "
                   f'ec:periodStart "{start}"^^xsd:date ; ec:periodEnd "{end}"^^xsd:date ; '
                   f"qudt:numericValue {value} ; qudt:unit {unit} .")
    out.append("<community> ec:hasIndicator " + ", ".join(f"<indicator/{k}>" for k in range(n_indicators)) + " .")

    for lesson in range(n_lessons):
        topic = rng.choice(TOPICS)
        out.append(f'<lesson/{lesson}> a ec:LessonLearned ; schema:name "Lesson {lesson} of community {i}"@en ; '
                   f'ec:topic ec:topic-{topic} ; ec:summary "What community {i} learned about {topic}."@en ; '
                   f'ec:whatWorked "Talking to members early."@en ; ec:whatDidNotWork "Paper forms."@en .')
    out.append("<community> ec:hasLesson " + ", ".join(f"<lesson/{x}>" for x in range(n_lessons)) + " .")
    return twin_id, "\n".join(out) + "\n"


def generate(out: Path, communities: int, seed: int = 7, triples_per_twin: int = 1000,
             violations: float = 0.0, nquads: bool = False) -> list[Path]:
    """Write the network; return the twin files (GBNs first)."""
    rng = random.Random(seed)
    twins_dir = out / "twins"
    twins_dir.mkdir(parents=True, exist_ok=True)
    gbns = max(3, communities // 50)
    files: list[Path] = []
    documents: list[tuple[str, str]] = []
    kinds = ["legal-form", "unit", "rate"]
    for k in range(gbns):
        documents.append(gbn_twin(k))
    for i in range(communities):
        broken = kinds[i % 3] if violations and rng.random() < violations else None
        documents.append(community_twin(i, rng, gbns, triples_per_twin, broken))
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
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    files = generate(args.out, args.communities, args.seed, args.triples_per_twin, args.violations, args.nquads)
    print(f"wrote {len(files)} twins to {args.out / 'twins'}")


if __name__ == "__main__":
    main()

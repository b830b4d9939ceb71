"""A twin's triples turned into what discovery compares and searches, once, when it is published.

:func:`extract` reads one twin (its data and its materialised inferences) and returns, for each
energy community it describes, its :class:`Community` features (member types and counts,
technologies and their sizes, activities, legal form and its broader kind, size band, location,
network, lesson topics, mobility, LAU/NUTS codes, contact point, tools), its indicator values in the
standard's units, and the lessons, best practices, initiatives and events of the twin with the
community (or network) that shares them. Everything is plain data (JSON-able), so the index keeps
it in SQLite and a request never reads the graph again.

The size band is ours, not the standard's (it has none): from the members a community counts
(``ec:memberCount``, else its latest ``ec:kpi-number-of-members``, else its memberships, a group of
households counting ``ec:groupSize``), :data:`SIZE_BANDS`.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import pyoxigraph as ox

from ecgraph.discovery.vocab import EC, QUDT, SKOS, Vocabulary, vocabulary

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SCHEMA = "https://schema.org/"
DCTERMS = "http://purl.org/dc/terms/"
GEO = "http://www.opengis.net/ont/geosparql#"
VCARD = "http://www.w3.org/2006/vcard/ns#"

#: the member types of the standard (ec:MemberTypes), each also a class
MEMBER_TYPES = tuple(EC + t for t in ("Household", "Person", "PublicBody", "School", "Municipality",
                                      "Business", "NGO", "ResearchInstitution"))
#: asset classes and the quantity that sizes them (property, family); the most specific class wins
ASSET_SIZES: dict[str, tuple[str | None, str | None]] = {
    EC + "PVInstallation": (EC + "peakPower", "power"),
    EC + "WindTurbine": (EC + "ratedPower", "power"),
    EC + "HydroPlant": (EC + "ratedPower", "power"),
    EC + "BiomassPlant": (EC + "ratedPower", "power"),
    EC + "BiogasPlant": (EC + "ratedPower", "power"),
    EC + "LandfillGasPlant": (EC + "ratedPower", "power"),
    EC + "SolarThermalInstallation": (EC + "ratedPower", "power"),
    EC + "CHPPlant": (EC + "ratedPower", "power"),
    EC + "GeothermalInstallation": (EC + "ratedPower", "power"),
    EC + "MixedGeneration": (EC + "ratedPower", "power"),
    EC + "Battery": (EC + "storageCapacity", "energy"),
    EC + "ThermalStorage": (EC + "storageCapacity", "energy"),
    EC + "EnergyStorage": (EC + "storageCapacity", "energy"),
    EC + "HeatPump": (EC + "ratedPower", "power"),
    EC + "HeatNetwork": (None, None),
    EC + "EVCharger": (EC + "chargingPoints", "count"),
    EC + "SharedVehicle": (None, None),
    EC + "Meter": (None, None),
}
GENERIC_ASSETS = {EC + "EnergyStorage"}
MOBILITY_ASSETS = {EC + "EVCharger", EC + "SharedVehicle"}
MOBILITY_KPIS = {EC + k for k in ("kpi-ev-charging-energy", "kpi-ev-charging-sessions", "kpi-shared-vehicle-trips",
                                  "kpi-shared-vehicle-distance")}
#: (upper bound exclusive, name) of the size bands, by number of members
SIZE_BANDS = ((10, "micro"), (50, "small"), (250, "medium"), (1000, "large"), (math.inf, "very-large"))
ITEM_KINDS = {EC + "BestPractice": "best-practice", EC + "LessonLearned": "lesson",
              EC + "MobilityInitiative": "initiative", EC + "Initiative": "initiative",
              EC + "Visit": "event", EC + "Event": "event"}
POINT = re.compile(r"([+-]?\d+(?:\.\d+)?)\s+([+-]?\d+(?:\.\d+)?)")


def size_band(members: float | None) -> str | None:
    if members is None:
        return None
    return next(name for bound, name in SIZE_BANDS if members < bound)


@dataclass
class Community:
    iri: str
    twin_id: str
    names: dict[str, str] = field(default_factory=dict)
    network: str | None = None
    legal_form: str | None = None
    legal_kind: str | None = None
    eu_type: str | None = None
    status: str | None = None
    activities: list[str] = field(default_factory=list)
    #: member type IRI -> members of that type (a group counts its ec:groupSize)
    member_types: dict[str, float] = field(default_factory=dict)
    members: float | None = None
    size_band: str | None = None
    #: asset class IRI -> {"count": n, "size": total in the family's unit, "unit": "kW"...}
    technologies: dict[str, dict[str, Any]] = field(default_factory=dict)
    lat: float | None = None
    lon: float | None = None
    topics: list[str] = field(default_factory=list)
    mobility: bool = False
    lau: str | None = None
    nuts: str | None = None
    locality: str | None = None
    region: str | None = None
    country: str | None = None
    contact: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Extracted:
    communities: list[Community] = field(default_factory=list)
    #: (community IRI, indicator IRI, start, end, value normalised, family, raw value, raw unit IRI)
    indicators: list[tuple] = field(default_factory=list)
    #: lessons, best practices, initiatives, events: dicts (see :func:`_item`)
    items: list[dict] = field(default_factory=list)
    #: (tool IRI, relation "uses"|"offers", owner IRI, name, category IRI, description)
    tools: list[tuple] = field(default_factory=list)
    #: networks described in the twin: IRI -> names by language
    networks: dict[str, dict[str, str]] = field(default_factory=dict)


class _Graph:
    """The twin as subject -> predicate -> objects, with each subject's types."""

    def __init__(self, triples):
        self.out: dict[Any, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        self.inv: dict[Any, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for t in triples:
            self.out[t.subject][t.predicate.value].append(t.object)
            if not isinstance(t.object, ox.Literal):
                self.inv[t.object][t.predicate.value].append(t.subject)
        # Each list in one order whatever the order the store gave the triples in: "the first
        # name" or "the first place" is then the same on every node that indexes this twin.
        for table in (self.out, self.inv):
            for row in table.values():
                for terms in row.values():
                    terms.sort(key=str)

    def objects(self, s, p: str) -> list:
        row = self.out.get(s)
        return row.get(p, []) if row is not None else []

    def subjects(self, p: str, o) -> list:
        row = self.inv.get(o)
        return row.get(p, []) if row is not None else []

    def iris(self, s, p: str) -> list[str]:
        return [o.value for o in self.objects(s, p) if isinstance(o, ox.NamedNode)]

    def types(self, s) -> set[str]:
        return set(self.iris(s, RDF_TYPE))

    def first(self, s, p: str) -> str | None:
        values = self.objects(s, p)
        return values[0].value if values else None

    def texts(self, s, *predicates: str) -> dict[str, str]:
        """Literals by language (``""`` for an untagged one); the first of each language wins."""
        out: dict[str, str] = {}
        for p in predicates:
            for o in self.objects(s, p):
                if isinstance(o, ox.Literal):
                    out.setdefault(o.language or "", o.value)
        return out

    def number(self, s, p: str) -> float | None:
        for o in self.objects(s, p):
            if isinstance(o, ox.Literal):
                try:
                    return float(o.value)
                except ValueError:
                    return None
        return None

    def quantity(self, s, p: str) -> tuple[float, str] | None:
        """A qudt quantity (numericValue and hasUnit, or the older qudt:unit) of ``s``'s ``p``."""
        for q in self.objects(s, p):
            if isinstance(q, ox.Literal):
                try:
                    return float(q.value), ""
                except ValueError:
                    return None
            value = self.number(q, QUDT + "numericValue")
            unit = self.first(q, QUDT + "hasUnit") or self.first(q, QUDT + "unit")
            if value is not None and unit:
                return value, unit
        return None


def _point(wkt: str) -> tuple[float, float] | None:
    """The location of a WKT geometry: a point itself, else the mean of its coordinates."""
    body = re.sub(r"^\s*<[^>]*>\s*", "", wkt)
    pairs = [(float(a), float(b)) for a, b in POINT.findall(body)]
    if not pairs:
        return None
    lon = sum(p[0] for p in pairs) / len(pairs)
    lat = sum(p[1] for p in pairs) / len(pairs)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return lat, lon


def _location(g: _Graph, s) -> tuple[float, float] | None:
    for geometry in g.objects(s, GEO + "hasGeometry"):
        wkt = g.first(geometry, GEO + "asWKT")
        if wkt:
            point = _point(wkt)
            if point is not None:
                return point
    return None


def _described(g: _Graph, s) -> bool:
    """Whether the twin describes ``s`` itself: the twin says so (ec:describes), or gives its name."""
    return bool(g.subjects(EC + "describes", s)) or bool(g.objects(s, SCHEMA + "name"))


def _most_specific(classes: set[str], among: dict) -> str | None:
    known = [c for c in classes if c in among]
    specific = [c for c in known if c not in GENERIC_ASSETS]
    return sorted(specific or known)[0] if known else None


def extract(twin_id: str, triples, vocab: Vocabulary | None = None) -> Extracted:
    """Everything discovery keeps of one twin, from its triples (data and inferences)."""
    vocab = vocab or vocabulary()
    g = _Graph(triples)
    out = Extracted()
    twin_titles: dict[str, str] = {}
    for s, row in g.out.items():
        types = {o.value for o in row.get(RDF_TYPE, []) if isinstance(o, ox.NamedNode)}
        if EC + "DigitalTwin" in types:
            twin_titles = g.texts(s, DCTERMS + "title")
        if EC + "CommunityNetwork" in types and isinstance(s, ox.NamedNode) and _described(g, s):
            out.networks[s.value] = g.texts(s, SCHEMA + "name") or {}
    typed = [s for s, row in g.out.items() if isinstance(s, ox.NamedNode)
             and any(o.value == EC + "EnergyCommunity" for o in row.get(RDF_TYPE, []))]
    # only the communities the twin describes: a network's twin names its communities (and the
    # ontology then types them), but their features are their own twins' to give
    communities = [c for c in typed if _described(g, c)]
    owners = {c.value for c in typed} | set(out.networks)
    for c in sorted(communities, key=lambda n: n.value):
        out.communities.append(_community(g, c, twin_id, vocab, twin_titles, out))
    _items_and_tools(g, out, owners, vocab)
    # a community's lesson topics and mobility, from the items it shares
    by_iri = {c.iri: c for c in out.communities}
    for item in out.items:
        community = by_iri.get(item["owner"])
        if community is None:
            continue
        for topic in item["topics"]:
            if topic not in community.topics:
                community.topics.append(topic)
        if item["mobility"]:
            community.mobility = True
    for community in out.communities:
        community.topics.sort()
    return out


def _community(g: _Graph, c: ox.NamedNode, twin_id: str, vocab: Vocabulary, twin_titles: dict,
               out: Extracted) -> Community:
    f = Community(iri=c.value, twin_id=twin_id)
    f.names = g.texts(c, SCHEMA + "name") or dict(twin_titles)
    networks = g.iris(c, EC + "network")
    f.network = sorted(networks)[0] if networks else None
    legal = g.iris(c, EC + "legalForm")
    if legal:
        f.legal_form = legal[0]
        kind = legal[0]
        if kind not in vocab.labels:  # a local code: follow its mapping to the standard's
            mapped = g.iris(ox.NamedNode(kind), SKOS + "broadMatch") + g.iris(ox.NamedNode(kind), SKOS + "exactMatch")
            kind = mapped[0] if mapped else kind
        f.legal_kind = vocab.kind(kind)
    f.eu_type = g.first(c, EC + "euType")
    f.status = g.first(c, EC + "status")
    f.activities = sorted(set(g.iris(c, EC + "activity")))

    # members, by type; a group of households counts its size
    memberships = set(g.objects(c, EC + "hasMembership")) | set(g.subjects(EC + "community", c))
    members: dict[Any, float] = {}
    for m in memberships:
        size = g.number(m, EC + "groupSize") or 1.0
        for member in g.objects(m, EC + "member"):
            members[member] = max(members.get(member, 0.0), size)
    for member in g.objects(c, EC + "hasMember"):
        members.setdefault(member, 1.0)
    counts: dict[str, float] = defaultdict(float)
    for member, size in members.items():
        for t in g.types(member) & set(MEMBER_TYPES):
            counts[t] += size
    f.member_types = dict(sorted(counts.items()))

    # indicators, normalised to the standard's canonical units (None: a unit the indicator may not have)
    values = set(g.objects(c, EC + "hasIndicator")) | set(g.subjects(EC + "indicatorOf", c))
    latest_members: tuple[str, float] | None = None
    for v in values:
        indicator = g.first(v, EC + "indicator")
        start, end = g.first(v, EC + "periodStart"), g.first(v, EC + "periodEnd")
        number = g.number(v, QUDT + "numericValue")
        unit = g.first(v, QUDT + "hasUnit") or g.first(v, QUDT + "unit") or ""
        if not indicator or not start or not end or number is None:
            continue
        family = vocab.family.get(indicator)
        normalised = vocab.normalise(number, unit, family) if family else None
        out.indicators.append((c.value, indicator, start, end, normalised, family, number, unit))
        if indicator == EC + "kpi-number-of-members" and normalised is not None:
            if latest_members is None or end > latest_members[0]:
                latest_members = (end, normalised)
        if indicator in MOBILITY_KPIS:
            f.mobility = True
    stated = g.number(c, EC + "memberCount")
    if stated is not None:
        f.members = stated
    elif latest_members is not None:
        f.members = latest_members[1]
    elif members:
        f.members = sum(members.values())
    f.size_band = size_band(f.members)

    # technologies and their sizes
    for asset in g.objects(c, EC + "hasAsset"):
        asset_kind = _most_specific(g.types(asset), ASSET_SIZES)
        if asset_kind is None:
            continue
        kind = asset_kind
        tech = f.technologies.setdefault(kind, {"count": 0, "size": 0.0, "unit": None, "sized": 0})
        units = g.number(asset, EC + "unitCount") or 1
        tech["count"] += int(units)
        prop, family = ASSET_SIZES[kind]
        if prop and family:
            value: float | None
            if family == "count":
                value = g.number(asset, prop)
            else:
                quantity = g.quantity(asset, prop)
                value = vocab.normalise(quantity[0], quantity[1], family) if quantity else None
            if value is not None:
                tech["size"] += value
                tech["sized"] += 1
                tech["unit"] = {"power": "kW", "energy": "kWh", "count": "points"}[family]
        if kind in MOBILITY_ASSETS:
            f.mobility = True
    if EC + "activity-e-mobility" in f.activities:
        f.mobility = True
    point = _location(g, c)
    if point is not None:
        f.lat, f.lon = point
    for address in g.objects(c, SCHEMA + "address"):
        f.lau = f.lau or g.first(address, EC + "lauCode")
        f.nuts = f.nuts or g.first(address, EC + "nutsCode")
        f.locality = f.locality or g.first(address, SCHEMA + "addressLocality")
        f.region = f.region or g.first(address, SCHEMA + "addressRegion")
        f.country = f.country or g.first(address, SCHEMA + "addressCountry")
        if f.lat is None:
            point = _location(g, address)
            if point is not None:
                f.lat, f.lon = point
    public_twin = any(EC + "basis-public-role" in g.iris(t, EC + "personalDataBasis")
                      for t in g.subjects(RDF_TYPE, ox.NamedNode(EC + "DigitalTwin")))
    for contact in g.objects(c, EC + "contactPoint"):
        # a person's contact point is personal data: pages and discovery show an organisation's
        # or a role held in public only (the rule of ecgraph.web.face.privacy)
        if not (public_twin or VCARD + "Organization" in g.types(contact)
                or EC + "basis-public-role" in g.iris(contact, EC + "personalDataBasis")):
            continue
        name = g.first(contact, VCARD + "fn")
        email = g.first(contact, VCARD + "hasEmail")
        phone = g.first(contact, VCARD + "hasTelephone")
        f.contact = {k: v for k, v in (("name", name), ("email", email), ("telephone", phone)) if v}
        if f.contact:
            break
    return f


def _items_and_tools(g: _Graph, out: Extracted, owners: set[str], vocab: Vocabulary) -> None:
    default_owner = sorted(c.iri for c in out.communities)[0] if out.communities else (
        sorted(out.networks)[0] if out.networks else None)

    def owner_of(s, via: tuple[str, ...]) -> str | None:
        for p in via:
            for o in g.subjects(p, s):
                if isinstance(o, ox.NamedNode) and o.value in owners:
                    return o.value
                # a lesson of an initiative belongs to the initiative's community
                for grand in g.subjects(EC + "hasInitiative", o):
                    if isinstance(grand, ox.NamedNode) and grand.value in owners:
                        return grand.value
        return None

    for s, row in list(g.out.items()):
        types = {o.value for o in row.get(RDF_TYPE, []) if isinstance(o, ox.NamedNode)}
        kind = next((ITEM_KINDS[t] for t in ITEM_KINDS if t in types), None)
        if kind is None:
            continue
        if kind == "event":
            owner = None
            for p in (EC + "organizer", EC + "host", EC + "participant", EC + "visitor"):
                found = [o.value for o in g.objects(s, p) if isinstance(o, ox.NamedNode) and o.value in owners]
                if found:
                    owner = sorted(found)[0]
                    break
        else:
            owner = owner_of(s, (EC + "hasLesson",) if kind in ("lesson", "best-practice") else (EC + "hasInitiative",))
        owner = owner or default_owner
        if owner is None:
            continue
        topics = sorted(set(g.iris(s, EC + "topic")))
        activities = sorted(set(g.iris(s, EC + "activity")))
        out.items.append({
            "iri": s.value if isinstance(s, ox.NamedNode) else None,
            "kind": kind,
            "owner": owner,
            "title": g.texts(s, SCHEMA + "name", DCTERMS + "title"),
            "summary": g.texts(s, EC + "summary", SCHEMA + "description", DCTERMS + "description"),
            "worked": g.texts(s, EC + "whatWorked"),
            "did_not_work": g.texts(s, EC + "whatDidNotWork"),
            "topics": topics,
            "activities": activities,
            "start": g.first(s, SCHEMA + "startDate") or g.first(s, EC + "startDate"),
            "end": g.first(s, SCHEMA + "endDate") or g.first(s, EC + "endDate"),
            "mobility": EC + "MobilityInitiative" in types or EC + "topic-mobility" in topics
                        or EC + "activity-e-mobility" in activities,
        })
    out.items.sort(key=lambda i: (i["owner"], i["iri"] or "", str(i["title"])))
    for relation, p in (("uses", EC + "usesTool"), ("offers", EC + "offersTool")):
        for owner_iri in sorted(owners):
            for tool in g.objects(ox.NamedNode(owner_iri), p):
                name = g.texts(tool, SCHEMA + "name", DCTERMS + "title", "http://www.w3.org/2000/01/rdf-schema#label")
                description = g.texts(tool, SCHEMA + "description", DCTERMS + "description")
                out.tools.append((tool.value if isinstance(tool, ox.NamedNode) else None, relation, owner_iri,
                                  name, g.first(tool, EC + "toolCategory"), description,
                                  g.first(tool, SCHEMA + "url")))

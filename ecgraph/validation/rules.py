"""The checks beside the shapes: what the profiles say that SHACL Core cannot.

SHACL Core has no notion of today, cannot compare two focus nodes with each other, cannot target
every predicate of a graph and cannot test a point against a polygon. The profiles declare these
rules as shapes all the same (``sh:deactivated true``, with an ``rdfs:comment`` saying how they are
checked), so that they have an IRI, a label, a severity and messages in three languages, and so
that SHACL engines skip them; this module runs them beside the SHACL engine, for the releases whose
profiles declare them, and returns their results as SHACL-like findings under those IRIs. Both
engines get the same findings from here, so the engines still agree.

* ``ecsh:DateNotFarAheadCheck``: a founding, installation or dissolution date, the start of a
  membership or of an indicator period more than a year after the day of validation;
* ``ecsh:IndicatorUniqueCheck``: two values of one indicator for one period of one subject;
* ``ecsh:DeclaredTermCheck``: a property or class in the ec: namespace the ontology does not define;
* ``ecsh:JsonLdValueCheck``: a JSON-LD value the processor dropped (found by :mod:`ecgraph.publish.ingest`);
* ``ecrec:PointInCountryCheck``: a location outside the country of the address (outlines from
  Natural Earth, ``shapes/countries/``), with a hint when swapping longitude and latitude fixes it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import pyoxigraph as ox

from ecgraph import standard
from ecgraph.standard import RDF_TYPE
from ecgraph.validation import shacl

CORE = standard.SHAPES_NS["core"]
RECOMMENDED = standard.SHAPES_NS["recommended"]
EC = standard.EC
SCHEMA = "https://schema.org/"
GEO = "http://www.opengis.net/ont/geosparql#"
XSD = "http://www.w3.org/2001/XMLSchema#"

#: The component a beside-the-shapes result names (it is no SHACL Core constraint component).
COMPONENT = "BesideShapesCheck"

#: How far outside a country's outline a point may lie before it counts as outside (outlines at
#: 1:50m are coarse along coasts and borders).
TOLERANCE_KM = 10.0


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


@dataclass(frozen=True)
class Problem:
    """What ingest found in a document that never reached the graph (a dropped JSON-LD value)."""

    focus: object          # the node's IRI when the document gave one, else None
    key: str               # the JSON key as written
    value: str             # the value as written
    detail: str            # what happened, and the nearest code when there is one


def run(shapes: shacl.ShapesGraph, data: shacl.DataIndex, *, problems=(), today: dt.date | None = None,
        version: str = standard.STANDARD_VERSION) -> list[shacl.Finding]:
    """The findings of every beside-the-shapes check that ``shapes`` declares."""
    out: list[shacl.Finding] = []
    declared = {s.value for s in shapes.shapes if isinstance(s, ox.NamedNode)}
    for iri, check in CHECKS.items():
        if iri in declared:
            shape = _n(iri)
            severity = shapes.value(shape, _n(shacl.SH + "severity")) or shacl.SH_VIOLATION
            out.extend(check(data, shape, severity, problems=problems, today=today or _utc_today(),
                             version=version))
    return out


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _finding(focus, path, value, shape, severity, detail):
    return shacl.Finding(focus=focus, path=path, value=value, shape=shape, component=COMPONENT,
                         severity=severity, detail=detail)


# --- dates ------------------------------------------------------------------------------------------

_DATES_OF_ANYTHING = (SCHEMA + "foundingDate", SCHEMA + "dissolutionDate", EC + "installationDate")
_MEMBERSHIP = _n(EC + "Membership")
_INDICATOR = _n(EC + "IndicatorValue")


def _day(literal) -> dt.date | None:
    if not isinstance(literal, ox.Literal) or not shacl.well_typed(literal):
        return None  # an ill-typed date is sh:datatype's business
    name = literal.datatype.value.removeprefix(XSD)
    text = literal.value
    try:
        if name == "date":
            return dt.date.fromisoformat(text[:10]) if not text.startswith("-") else None
        if name in ("dateTime", "dateTimeStamp"):
            return dt.date.fromisoformat(text[:10]) if not text.startswith("-") else None
        if name == "gYear":
            digits = re.match(r"-?[0-9]+", text)
            if digits is None:
                return None
            year = int(digits.group(0))
            return dt.date(year, 1, 1) if 1 <= year <= 9999 else (dt.date.max if year > 9999 else None)
    except ValueError:
        return None
    return None


def _dates_ahead(data, shape, severity, *, today, **_):
    limit = today + dt.timedelta(days=366)
    memberships = set(data.instances(_MEMBERSHIP)) | {o for _, o in data.by_pred.get(_n(EC + "hasMembership"), ())} \
        | {s for s, _ in data.by_pred.get(_n(EC + "member"), ())}
    indicators = set(data.instances(_INDICATOR)) | {o for _, o in data.by_pred.get(_n(EC + "hasIndicator"), ())}
    wanted = [(_n(p), None) for p in _DATES_OF_ANYTHING] + [(_n(EC + "startDate"), memberships),
                                                            (_n(EC + "periodStart"), indicators)]
    out = []
    for predicate, subjects in wanted:
        for s, o in data.by_pred.get(predicate, ()):
            if subjects is not None and s not in subjects:
                continue
            day = _day(o)
            if day is not None and day > limit:
                out.append(_finding(s, predicate, o, shape, severity,
                                    f"{o.value} is more than a year after today ({today.isoformat()})"))
    return out


# --- one value per indicator and period ---------------------------------------------------------------

def _indicator_unique(data, shape, severity, **_):
    owners: dict = defaultdict(set)
    for s, o in data.by_pred.get(_n(EC + "hasIndicator"), ()):
        owners[o].add(s)
    for s, o in data.by_pred.get(_n(EC + "indicatorOf"), ()):
        owners[s].add(o)
    groups: dict = defaultdict(list)
    for value, subjects in owners.items():
        kpis = data.objects(value, _n(EC + "indicator"))
        starts = data.objects(value, _n(EC + "periodStart"))
        ends = data.objects(value, _n(EC + "periodEnd"))
        if len(kpis) != 1 or len(starts) != 1 or len(ends) != 1:
            continue  # incomplete or ambiguous: the core shapes say so
        for subject in subjects:
            groups[(subject, kpis[0], starts[0], ends[0])].append(value)
    out = []
    for (_, kpi, start, end), values in groups.items():
        if len(values) > 1:
            for value in values:
                out.append(_finding(value, _n(EC + "indicator"), kpi, shape, severity,
                                    f"{len(values)} values of {_local(kpi)} for {start.value} to {end.value}"))
    return out


# --- terms of the standard ---------------------------------------------------------------------------

@cache
def declared_terms(version: str = standard.STANDARD_VERSION) -> frozenset[str]:
    """The ec: IRIs a release's ontology and code lists declare (classes, properties, concepts)."""
    out = set()
    for path in (standard.ontology_file(version), standard.vocabularies_file(version)):
        for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            if q.predicate == RDF_TYPE and isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(EC):
                out.add(q.subject.value)
    return frozenset(out)


def nearest(word: str, candidates, n: int = 1, cutoff: float = 0.6) -> list[str]:
    """The candidates closest to ``word`` (case and separators ignored), for "did you mean"."""
    def key(text):
        return re.sub(r"[^a-z0-9]", "", text.lower())
    by_key: dict = {}
    for c in candidates:
        by_key.setdefault(key(c), c)
    wanted = key(word)
    # an abbreviation ("coop") is nearest to what it begins, before any spelling distance counts
    prefixed = sorted((k for k in by_key if len(wanted) >= 3 and k.startswith(wanted)), key=len)
    found = prefixed[:n] or difflib.get_close_matches(wanted, list(by_key), n=n, cutoff=cutoff)
    return [by_key[f] for f in found]


#: Keys real registers and exports use for which the standard has a term under another name.
ALIASES = {
    "province": 'schema:addressRegion on the schema:address ("region" in JSON-LD)',
    "county": 'schema:addressRegion on the schema:address ("region" in JSON-LD)',
    "state": 'schema:addressRegion on the schema:address ("region" in JSON-LD)',
    "region": 'schema:addressRegion on the schema:address ("region" in JSON-LD)',
    "postcode": 'schema:postalCode on the schema:address ("postalCode" in JSON-LD)',
    "capacity": "ec:ratedPower, or ec:peakPower for PV",
    "kwp": "ec:peakPower",
    "companyNumber": "an ec:registration with its ec:registrationNumber and ec:registrar",
    "tradingName": "schema:alternateName",
    "yearFounded": 'schema:foundingDate as an xsd:gYear ("foundingYear" in JSON-LD)',
}


def _local(term) -> str:
    value = term.value if isinstance(term, ox.NamedNode) else str(term)
    return "ec:" + value[len(EC):] if value.startswith(EC) else value


def _declared_terms_check(data, shape, severity, *, version, **_):
    terms = declared_terms(version)
    properties = sorted(t[len(EC):] for t in terms if t[len(EC):][:1].islower() and "-" not in t[len(EC):])
    classes = sorted(t[len(EC):] for t in terms if t[len(EC):][:1].isupper())
    seen = set()
    out = []
    for predicate, pairs in data.by_pred.items():
        if predicate.value.startswith(EC) and predicate.value not in terms and predicate not in seen:
            seen.add(predicate)
            focus = pairs[0][0]
            local = predicate.value[len(EC):]
            guess = nearest(local, properties)
            alias = next((v for k, v in ALIASES.items() if k.lower() == local.lower()), None)
            hint = f"; write {alias}" if alias else (f"; did you mean ec:{guess[0]}?" if guess else "")
            where = f" (on {len(pairs)} nodes)" if len(pairs) > 1 else ""
            out.append(_finding(focus, predicate, None, shape, severity,
                                f"{_local(predicate)} is not a term of the standard{where}{hint}"))
    for s, cls in data.by_pred.get(RDF_TYPE, ()):
        if isinstance(cls, ox.NamedNode) and cls.value.startswith(EC) and cls.value not in terms and cls not in seen:
            seen.add(cls)
            guess = nearest(cls.value[len(EC):], classes)
            hint = f"; did you mean ec:{guess[0]}?" if guess else ""
            message = f"{_local(cls)} is not a class of the standard{hint}"
            out.append(_finding(s, RDF_TYPE, cls, shape, severity, message))
    return out


# --- JSON-LD values dropped ------------------------------------------------------------------------

def _json_ld_values(data, shape, severity, *, problems, **_):
    out = []
    for p in problems:
        focus = p.focus if p.focus is not None else ox.BlankNode("document")
        out.append(_finding(focus, None, ox.Literal(p.value), shape, severity,
                            f'the JSON-LD key "{p.key}" has the value "{p.value}", which {p.detail}'))
    return out


# --- points inside countries ----------------------------------------------------------------------

_WKT_PAIR = re.compile(r"([+-]?[0-9]+(?:\.[0-9]+)?)\s+([+-]?[0-9]+(?:\.[0-9]+)?)")
_POINT_WKT = re.compile(r"^\s*(<[^>]*>\s*)?(MULTI)?POINT\s*\(", re.IGNORECASE)


@lru_cache(maxsize=1)
def outlines() -> dict:
    with open(standard.shapes_dir() / "countries" / "countries-50m.json", encoding="utf-8") as fh:
        return json.load(fh)["countries"]


def _inside(lon: float, lat: float, polygons) -> bool:
    """Inside a polygon's outer ring and outside its holes, for any of the polygons."""
    return any(polygon and _in_ring(lon, lat, polygon[0]) and not any(_in_ring(lon, lat, h) for h in polygon[1:])
               for polygon in polygons)


def _in_ring(x: float, y: float, ring) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _distance_km(lon: float, lat: float, polygons) -> float:
    """Distance from a point to the nearest outline segment (equirectangular, good to a few percent
    at these scales)."""
    best = math.inf
    kx = 111.32 * math.cos(math.radians(lat))
    ky = 110.57
    for polygon in polygons:
        for ring in polygon:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
                ax, ay = (x1 - lon) * kx, (y1 - lat) * ky
                bx, by = (x2 - lon) * kx, (y2 - lat) * ky
                dx, dy = bx - ax, by - ay
                length = dx * dx + dy * dy
                t = 0.0 if length == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length))
                best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


def in_country(lon: float, lat: float, country: str) -> bool | None:
    """Whether a point lies in (or within the tolerance of) a country; None: no outline for it."""
    polygons = outlines().get(country)
    if polygons is None:
        return None
    return _inside(lon, lat, polygons) or _distance_km(lon, lat, polygons) <= TOLERANCE_KM


def _points_in_country(data, shape, severity, **_):
    out = []
    places = set(data.instances(_n(EC + "EnergyCommunity"))) | set(data.instances(_n(EC + "CommunityNetwork")))
    for place in places:
        countries = {c.value.strip().upper() for a in data.objects(place, _n(SCHEMA + "address"))
                     for c in data.objects(a, _n(SCHEMA + "addressCountry")) if isinstance(c, ox.Literal)}
        if len(countries) != 1:
            continue
        (country,) = countries
        for geometry in data.objects(place, _n(GEO + "hasGeometry")):
            for wkt in data.objects(geometry, _n(GEO + "asWKT")):
                if not isinstance(wkt, ox.Literal) or not _POINT_WKT.match(wkt.value):
                    continue
                for lon_text, lat_text in _WKT_PAIR.findall(wkt.value.split("(", 1)[1]):
                    lon, lat = float(lon_text), float(lat_text)
                    if in_country(lon, lat, country) is not False:
                        continue
                    swapped = abs(lat) <= 180 and abs(lon) <= 90 and in_country(lat, lon, country)
                    hint = (f"; with longitude and latitude swapped, POINT({lat_text} {lon_text}) is in {country}"
                            if swapped else "")
                    out.append(_finding(place, _n(GEO + "hasGeometry"), wkt, shape, severity,
                                        f"POINT({lon_text} {lat_text}) is not in {country}{hint}"))
    return out


#: each check beside the shapes, by the IRI of the deactivated shape that declares it
CHECKS: dict[str, Any] = {
    CORE + "DateNotFarAheadCheck": _dates_ahead,
    CORE + "IndicatorUniqueCheck": _indicator_unique,
    CORE + "DeclaredTermCheck": _declared_terms_check,
    CORE + "JsonLdValueCheck": _json_ld_values,
    RECOMMENDED + "PointInCountryCheck": _points_in_country,
}

"""What the standard says about the codes discovery works with: labels in three languages, the
broader kind of a legal form, the family of each indicator and the conversion of each unit.

Read once from the standard's own files (the ontology and its vocabularies), never typed here, so a
new legal form or unit in the standard needs no change of code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import pyoxigraph as ox

from ecgraph import standard

EC = standard.EC
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
QUDT = "http://qudt.org/schema/qudt/"
UNIT = "http://qudt.org/vocab/unit/"
LANGUAGES = ("en", "fr", "nl")

#: the unit each family of quantities is normalised to (its IRI), with the word shown beside values
CANONICAL = {
    "energy": (UNIT + "KiloW-HR", "kWh"),
    "power": (UNIT + "KiloW", "kW"),
    "rate": (UNIT + "PERCENT", "%"),
    "mass": (UNIT + "TONNE", "t"),
    "count": (UNIT + "NUM", ""),
    "distance": (UNIT + "KiloM", "km"),
}
#: the indicator families of the standard (skos:Collection) and what they measure
FAMILIES = {EC + "EnergyKPIs": "energy", EC + "RateKPIs": "rate", EC + "MassKPIs": "mass",
            EC + "CountKPIs": "count", EC + "DistanceKPIs": "distance"}
#: ratios some tools write for a rate; the standard's rates are percent (0-100), and a ratio of 1 is 100 %
RATIO_UNITS = {UNIT + "UNITLESS": 1.0, UNIT + "FRACTION": 1.0, UNIT + "PERCENT": 0.01}


@dataclass
class Vocabulary:
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    broader: dict[str, str] = field(default_factory=dict)
    multiplier: dict[str, float] = field(default_factory=dict)
    family: dict[str, str] = field(default_factory=dict)

    def label(self, iri: str, lang: str = "en") -> str:
        """The concept's label in ``lang`` (else English, else its local name, dashes as spaces)."""
        labels = self.labels.get(iri, {})
        if lang in labels:
            return labels[lang]
        if "en" in labels:
            return labels["en"]
        local = iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        return local.split("-", 1)[-1].replace("-", " ") if "-" in local else local

    def kind(self, legal_form: str) -> str:
        """A legal form's generic kind: the top of its skos:broader chain (itself if generic)."""
        seen = set()
        while legal_form in self.broader and legal_form not in seen:
            seen.add(legal_form)
            legal_form = self.broader[legal_form]
        return legal_form

    def normalise(self, value: float, unit: str, family: str) -> float | None:
        """``value`` in ``unit`` expressed in the family's canonical unit (None when the unit does
        not belong to the family or is unknown: a value we cannot compare is left out, not guessed)."""
        target, _ = CANONICAL[family]
        if family == "rate":
            factor = RATIO_UNITS.get(unit)
            return None if factor is None else value * factor / 0.01
        if family == "count":
            return value if unit in (UNIT + "NUM", UNIT + "UNITLESS") else None
        source = self.multiplier.get(unit)
        goal = self.multiplier.get(target)
        if source is None or goal is None or _family_of_unit(unit) != family:
            return None
        return value * source / goal


def _family_of_unit(unit: str) -> str | None:
    local = unit[len(UNIT):] if unit.startswith(UNIT) else ""
    if local in ("W-HR", "KiloW-HR", "MegaW-HR", "GigaW-HR"):
        return "energy"
    if local in ("W", "KiloW", "MegaW", "GigaW"):
        return "power"
    if local in ("KiloGM", "TONNE"):
        return "mass"
    if local in ("M", "KiloM"):
        return "distance"
    return None


@functools.cache
def vocabulary() -> Vocabulary:
    v = Vocabulary()
    files = (standard.ontology_file(), standard.vocabularies_file())
    label_predicates = (SKOS + "prefLabel", RDFS + "label")
    preferred: dict[tuple[str, str], bool] = {}
    for path in files:
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            s, p, o = quad.subject, quad.predicate.value, quad.object
            if not isinstance(s, ox.NamedNode):
                continue
            if p in label_predicates and isinstance(o, ox.Literal) and o.language:
                key = (s.value, o.language)
                pref = p == SKOS + "prefLabel"
                if key not in preferred or (pref and not preferred[key]):
                    v.labels.setdefault(s.value, {})[o.language] = o.value
                    preferred[key] = pref
            elif p == SKOS + "broader" and isinstance(o, ox.NamedNode):
                v.broader[s.value] = o.value
            elif p == QUDT + "conversionMultiplier" and isinstance(o, ox.Literal):
                v.multiplier[s.value] = float(o.value)
            elif p == SKOS + "member" and s.value in FAMILIES and isinstance(o, ox.NamedNode):
                v.family[o.value] = FAMILIES[s.value]
    return v

"""Communities like this one: a ranked list, each with its reasons in words.

The score of a candidate is a weighted mean of nine similarities, each between 0 and 1, over the
features the community asked about has (a feature it lacks says nothing, so it does not count):

========================  ===================================================================  ======
feature                   similarity                                                           weight
========================  ===================================================================  ======
``members``               weighted Jaccard of member-type counts, on log(1 + n)                 2
``activities``            Jaccard of the activity codes                                         2
``technologies``          per asset kind, 1 - |log10(size ratio)| (0.5 when a size is unknown),  1.5
                          averaged over the kinds either has
``legal``                 1 for the same broader legal form kind                                 1
``size``                  1 for the same size band, 0.5 for a neighbouring one                  1
``distance``              exp(-km / distance_scale_km) (default scale 25 km)                    1
``network``               1 in the same community network                                       1.5
``topics``                Jaccard of the topics of the lessons, initiatives and events shared   1
``mobility``              1 when both work on mobility                                          0.5
========================  ===================================================================  ======

Every weight is a parameter (``weight.<feature>``, 0 to 10; 0 leaves a feature out); the API and the
pages use the same :data:`WEIGHTS`. Pins filter before ranking: ``involves`` (member types, all
required), ``within_km``, ``activity``, ``technology``, ``same_network``, ``legal_kind``. A community
is never its own neighbour.

Features come from the index (computed at publishing); the arrays the ranking compares are built
once per index generation (numpy), so one request is a few array operations over all candidates.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from ecgraph.discovery import words
from ecgraph.discovery.features import MEMBER_TYPES, SIZE_BANDS, Community
from ecgraph.discovery.vocab import Vocabulary

WEIGHTS: dict[str, float] = {"members": 2.0, "activities": 2.0, "technologies": 1.5, "legal": 1.0, "size": 1.0,
                             "distance": 1.0, "network": 1.5, "topics": 1.0, "mobility": 0.5}
DISTANCE_SCALE_KM = 25.0
BANDS = [name for _, name in SIZE_BANDS]
#: member types worth saying "also involves" about (everyone has households)
NOTABLE_MEMBERS = tuple(t for t in MEMBER_TYPES if not t.endswith(("#Household", "#Person")))
EARTH_KM = 6371.0


@dataclass
class Pins:
    involves: list[str] = field(default_factory=list)
    within_km: float | None = None
    activity: list[str] = field(default_factory=list)
    technology: list[str] = field(default_factory=list)
    same_network: bool = False
    legal_kind: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None and v is not False and v != []}


class _Vector:
    """One community as the reasons need it (the ranking itself works on :class:`_Matrix`)."""

    __slots__ = ("band", "c", "lat", "lon", "network")

    def __init__(self, c: Community):
        self.c = c
        self.band = BANDS.index(c.size_band) if c.size_band in BANDS else None
        self.lat = math.radians(c.lat) if c.lat is not None else None
        self.lon = math.radians(c.lon) if c.lon is not None else None
        self.network = c.network


class _Matrix:
    """Every candidate's features as columns of numbers: one ranking is a few array operations over
    all of them (about a millisecond at 10,000), not a Python loop."""

    def __init__(self, vectors: list[_Vector]):
        n = len(vectors)
        communities = [v.c for v in vectors]
        self.members = np.array([[math.log1p(c.member_types.get(t, 0.0)) for t in MEMBER_TYPES]
                                 for c in communities], dtype=np.float64).reshape(n, len(MEMBER_TYPES))
        self.activities, self.activity_codes = _onehot([c.activities for c in communities])
        self.topics, self.topic_codes = _onehot([c.topics for c in communities])
        self.techs, self.tech_codes = _onehot([list(c.technologies) for c in communities])
        sizes = np.full(self.techs.shape, np.nan)
        for row, c in enumerate(communities):
            for kind, tech in c.technologies.items():
                if tech.get("sized") and tech["size"] > 0:
                    sizes[row, self.tech_codes[kind]] = math.log10(tech["size"])
        self.tech_log = sizes
        self.kind, self.kind_codes = _codes([c.legal_kind for c in communities])
        self.network, self.network_codes = _codes([c.network for c in communities])
        self.band = np.array([v.band if v.band is not None else -9 for v in vectors], dtype=np.int64)
        self.lat = np.array([v.lat if v.lat is not None else np.nan for v in vectors], dtype=np.float64)
        self.lon = np.array([v.lon if v.lon is not None else np.nan for v in vectors], dtype=np.float64)
        self.mobility = np.array([c.mobility for c in communities], dtype=bool)


def _onehot(rows: list[list[str]]) -> tuple[np.ndarray, dict[str, int]]:
    codes: dict[str, int] = {}
    for row in rows:
        for code in row:
            codes.setdefault(code, len(codes))
    out = np.zeros((len(rows), max(1, len(codes))), dtype=bool)
    for i, row in enumerate(rows):
        for code in row:
            out[i, codes[code]] = True
    return out, codes


def _codes(values: list[str | None]) -> tuple[np.ndarray, dict[str, int]]:
    codes: dict[str, int] = {}
    out = np.full(len(values), -1, dtype=np.int64)
    for i, value in enumerate(values):
        if value is not None:
            out[i] = codes.setdefault(value, len(codes))
    return out, codes


def _jaccard(rows: np.ndarray, own: np.ndarray) -> np.ndarray:
    inter = rows[:, own].sum(axis=1)
    union = rows.sum(axis=1) + own.sum() - inter
    return np.divide(inter, union, out=np.zeros(len(rows)), where=union > 0)


def km(a: _Vector, b: _Vector) -> float | None:
    if a.lat is None or b.lat is None or a.lon is None or b.lon is None:
        return None
    h = math.sin((b.lat - a.lat) / 2) ** 2 + math.cos(a.lat) * math.cos(b.lat) * math.sin((b.lon - a.lon) / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


class Ranker:
    """The candidates' features as arrays, rebuilt when the index changes."""

    def __init__(self, vocab: Vocabulary):
        self.vocab = vocab
        self._lock = threading.Lock()
        self._generation = -1
        self._vectors: list[_Vector] = []
        self._by_iri: dict[str, int] = {}
        self._matrix: _Matrix | None = None
        self._communities: dict[str, Community] = {}

    def refresh(self, index) -> None:
        """Catch up with the index (:class:`ecgraph.discovery.index.Index`): the communities of the
        twins changed since the last refresh are read again (all of them the first time), then the
        arrays are rebuilt from the communities held in memory (about 0.1 s of CPU at 10,000)."""
        with self._lock:
            generation = index.generation
            if generation == self._generation:
                return
            changed = index.changed_since(self._generation)
            if changed is None:
                rows = index.communities_of({r[0] for r in index.read("SELECT twin_id FROM twins")})
                self._communities = {}
            else:
                rows = index.communities_of(changed)
                self._communities = {iri: c for iri, c in self._communities.items() if c.twin_id not in changed}
            for row in rows:
                c = Community(**json.loads(row))
                self._communities[c.iri] = c
            vectors = [_Vector(self._communities[iri]) for iri in sorted(self._communities)]
            self._vectors, self._matrix = vectors, _Matrix(vectors)
            self._by_iri = {v.c.iri: i for i, v in enumerate(vectors)}
            self._generation = generation

    def vector(self, iri: str) -> _Vector | None:
        row = self._by_iri.get(iri)
        return self._vectors[row] if row is not None else None

    def rank(self, iri: str, *, weights: dict[str, float], pins: Pins, limit: int, lang: str,
             distance_scale_km: float = DISTANCE_SCALE_KM) -> tuple[list[dict], int]:
        """The ``limit`` best candidates for community ``iri`` (it must be loaded) and how many
        passed the pins."""
        with self._lock:
            vectors, by_iri, m = self._vectors, self._by_iri, self._matrix
        assert m is not None
        t = by_iri[iri]
        target = vectors[t]
        n = len(vectors)
        w = {k: weights.get(k, WEIGHTS[k]) for k in WEIGHTS}
        # what the target has decides which features count
        has = {
            "members": bool(m.members[t].any()), "activities": bool(m.activities[t].any()),
            "technologies": bool(m.techs[t].any()), "legal": m.kind[t] >= 0, "size": m.band[t] >= 0,
            "distance": not math.isnan(m.lat[t]), "network": m.network[t] >= 0, "topics": bool(m.topics[t].any()),
            "mobility": bool(m.mobility[t]),
        }
        used = {k: w[k] for k in w if has[k] and w[k] > 0}
        total_weight = sum(used.values()) or 1.0

        keep = np.ones(n, dtype=bool)
        keep[t] = False  # never its own neighbour
        for member in pins.involves:
            if member in MEMBER_TYPES:
                keep &= m.members[:, MEMBER_TYPES.index(member)] > 0
        for activity in pins.activity:
            column = m.activity_codes.get(activity)
            keep &= m.activities[:, column] if column is not None else False
        for tech in pins.technology:
            column = m.tech_codes.get(tech)
            keep &= m.techs[:, column] if column is not None else False
        if pins.same_network:
            keep &= (m.network == m.network[t]) & (m.network[t] >= 0)
        if pins.legal_kind:
            code = m.kind_codes.get(pins.legal_kind)
            keep &= (m.kind == code) if code is not None else False
        distance = None
        if pins.within_km is not None or "distance" in used:
            lat0, lon0 = m.lat[t], m.lon[t]
            h = np.sin((m.lat - lat0) / 2) ** 2 + np.cos(lat0) * np.cos(m.lat) * np.sin((m.lon - lon0) / 2) ** 2
            distance = 2 * EARTH_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
            if pins.within_km is not None:
                keep &= np.nan_to_num(distance, nan=np.inf) <= pins.within_km

        score = np.zeros(n)
        if "members" in used:
            own = m.members[t]
            hi = np.maximum(m.members, own).sum(axis=1)
            lo = np.minimum(m.members, own).sum(axis=1)
            score += used["members"] * np.divide(lo, hi, out=np.zeros(n), where=hi > 0)
        if "activities" in used:
            score += used["activities"] * _jaccard(m.activities, m.activities[t])
        if "topics" in used:
            score += used["topics"] * _jaccard(m.topics, m.topics[t])
        if "technologies" in used:
            own_techs = m.techs[t]
            both = m.techs & own_techs
            union = (m.techs | own_techs).sum(axis=1)
            closeness = np.clip(1.0 - np.abs(m.tech_log - m.tech_log[t]), 0.0, 1.0)
            closeness = np.where(np.isnan(closeness), 0.5, closeness)  # a size unknown on either side
            part = np.where(both, closeness, 0.0).sum(axis=1)
            score += used["technologies"] * np.divide(part, union, out=np.zeros(n), where=union > 0)
        if "legal" in used:
            score += used["legal"] * (m.kind == m.kind[t])
        if "size" in used:
            gap = np.abs(m.band - m.band[t])
            score += used["size"] * np.where(gap == 0, 1.0, np.where(gap == 1, 0.5, 0.0)) * (m.band >= 0)
        if "distance" in used and distance is not None:
            score += used["distance"] * np.nan_to_num(np.exp(-distance / distance_scale_km), nan=0.0)
        if "network" in used:
            score += used["network"] * (m.network == m.network[t])
        if "mobility" in used:
            score += used["mobility"] * m.mobility
        score /= total_weight

        candidates = np.flatnonzero(keep)
        passed = len(candidates)
        if passed == 0:
            return [], 0
        k = min(limit, passed)
        # the k best (ties broken by IRI, so the order is stable)
        top = candidates[np.argpartition(-score[candidates], k - 1)[:k]] if k < passed else candidates
        threshold = score[top].min()
        tied = candidates[score[candidates] >= threshold]
        order = sorted(tied, key=lambda i: (-score[i], vectors[i].c.iri))[:k]
        return [self._result(target, vectors[i], float(score[i]),
                             float(distance[i]) if distance is not None and not math.isnan(distance[i]) else None,
                             used, lang) for i in order], passed

    def _result(self, target: _Vector, v: _Vector, score: float, d: float | None, used: dict, lang: str) -> dict:
        reasons: list[dict] = []
        vocab = self.vocab
        t, c = target.c, v.c
        if "network" in used and v.network == target.network:
            reasons.append({"feature": "network", "text": words.word("network", lang)})
        if "members" in used:
            shared = [m for m in NOTABLE_MEMBERS if t.member_types.get(m) and c.member_types.get(m)]
            if shared:
                what = words.listing([words.members(m, c.member_types[m], lang) for m in shared], lang)
                reasons.append({"feature": "members", "text": words.word("members", lang, what=what),
                                "values": {m: c.member_types[m] for m in shared}})
        if "activities" in used:
            for a in sorted(set(t.activities) & set(c.activities)):
                reasons.append({"feature": "activities", "code": a,
                                "text": words.word("activity", lang, what=vocab.label(a, lang))})
        if "technologies" in used:
            for k in sorted(t.technologies.keys() & c.technologies.keys()):
                ours, theirs = t.technologies[k], c.technologies[k]
                label = vocab.label(k, lang)
                if ours.get("sized") and theirs.get("sized") and ours["size"] > 0 and theirs["size"] > 0 and \
                        abs(math.log10(theirs["size"] / ours["size"])) <= math.log10(1.5):
                    reasons.append({"feature": "technologies", "code": k, "text": words.word(
                        "technology_size", lang, what=label, theirs=_amount(theirs), ours=_amount(ours))})
                else:
                    reasons.append({"feature": "technologies", "code": k,
                                    "text": words.word("technology", lang, what=label)})
        if "legal" in used and c.legal_kind == t.legal_kind and c.legal_kind:
            reasons.append({"feature": "legal", "code": c.legal_kind,
                            "text": words.word("legal", lang, what=vocab.label(c.legal_kind, lang))})
        if "size" in used and v.band is not None and target.band is not None and abs(v.band - target.band) <= 1:
            key = "size" if v.band == target.band else "size_near"
            reasons.append({"feature": "size", "code": c.size_band,
                            "text": words.word(key, lang, what=words.band(c.size_band, lang))})
        if "distance" in used and d is not None:
            reasons.append({"feature": "distance", "km": round(d, 1),
                            "text": words.word("distance", lang, km=_km(d))})
        if "topics" in used:
            shared_topics = sorted(set(t.topics) & set(c.topics))
            if shared_topics:
                what = ", ".join(vocab.label(x, lang) for x in shared_topics)
                reasons.append({"feature": "topics", "codes": shared_topics,
                                "text": words.word("topics", lang, what=what)})
        if "mobility" in used and c.mobility:
            reasons.append({"feature": "mobility", "text": words.word("mobility", lang)})
        return {"iri": c.iri, "twin": c.twin_id, "name": _name(c.names, lang), "score": round(score, 4),
                "distance_km": round(d, 1) if d is not None else None, "network": c.network,
                "contact": c.contact or None, "reasons": reasons}


def _name(names: dict[str, str], lang: str) -> str:
    for key in (lang, "en", ""):
        if key in names:
            return names[key]
    return next(iter(names.values()), "")


def _amount(tech: dict) -> str:
    size = tech["size"]
    unit = tech.get("unit") or ""
    if unit in ("kW", "kWh") and size >= 1000:
        return f"{size / 1000:.3g} {'MW' if unit == 'kW' else 'MWh'}"
    return f"{size:.3g} {unit}".strip()


def _km(d: float) -> str:
    return f"{d:.1f}" if d < 10 else f"{d:.0f}"

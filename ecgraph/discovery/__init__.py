"""Discovery: communities like mine, what others learned, how we compare, the tools they use.

The node keeps, beside the graph, an index of every published twin's features
(:mod:`.features`, extracted once at publishing; :mod:`.index`, SQLite and FTS5, replaced or
removed with the twin). :class:`Discovery` answers from it:

* :meth:`Discovery.similar`: communities like one, ranked, with reasons in words (:mod:`.similar`);
* :meth:`Discovery.search`: lessons, best practices, initiatives and events, by text in three
  languages, topic, member type, technology and place, with their community and its contact;
* :meth:`Discovery.compare` and :meth:`Discovery.network`: indicators per period against the network,
  the municipality, the region and everyone (:mod:`.compare`), a network's communities side by side
  and its evolution by year;
* :meth:`Discovery.tools` and :meth:`Discovery.areas`: the tools twins use or offer, and the
  municipalities and regions twins name.

Every view filters by network, municipality (LAU code) and region (NUTS code, any level). The index
is keyed by twin id; the copies a node harvests from its peers go in with :meth:`Discovery.index`
the same way as its own, keyed by their graph's IRI (two nodes' twins of the same id stay apart).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable

from ecgraph.discovery import compare as stats
from ecgraph.discovery.features import MEMBER_TYPES, Community, Extracted, extract
from ecgraph.discovery.index import Index
from ecgraph.discovery.similar import DISTANCE_SCALE_KM, WEIGHTS, Pins, Ranker
from ecgraph.discovery.vocab import EC, LANGUAGES, Vocabulary, vocabulary
from ecgraph.discovery.words import word

log = logging.getLogger("ecgraph.discovery")

__all__ = ["WEIGHTS", "DISTANCE_SCALE_KM", "Discovery", "Pins", "NotIndexed"]

ITEM_KINDS = ("lesson", "best-practice", "initiative", "event")
MAX_RESULTS = 200
#: indicator periods one comparison answers (a twin may hold many more: ask for one indicator)
MAX_PERIODS = 500
#: indicator periods whose values over all communities are kept between index changes
MAX_CACHED_PERIODS = 20000


class NotIndexed(LookupError):
    """The IRI is not a community (or network) the index knows."""


def _name(names: dict, lang: str) -> str:
    for key in (lang, "en", ""):
        if names.get(key):
            return names[key]
    return next((names[key] for key in sorted(names) if names[key]), "")  # the same on every node


def _fts_query(text: str) -> str:
    """Words of a person's query as an FTS5 query: every word must match, as a prefix (so
    "school" finds "schoolgemeenschap"), quoted so that no word is FTS5 syntax."""
    terms = re.findall(r"\w+", text, flags=re.UNICODE)[:20]
    return " ".join(f'"{t}"*' for t in terms)


class Discovery:
    def __init__(self, path, vocab: Vocabulary | None = None):
        self.vocab = vocab or vocabulary()
        self.db = Index(path, self.vocab)
        self.ranker = Ranker(self.vocab)
        #: each period's values over all communities, kept until the index changes (a community's
        #: page compares every indicator and period of its own against them)
        self._figures: dict[tuple, tuple] = {}
        self._figures_generation = -1
        self._figures_lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    # --- keeping in step with publishing --------------------------------------------------------

    def index(self, twin_id: str, version: int, content_hash: str, triples, stamp: str = "", *,
              extracted: Extracted | None = None) -> None:
        """(Re)index one twin from its triples (data and inferences), or from the features
        already ``extracted`` from them (by a publishing worker)."""
        if extracted is None:
            extracted = extract(twin_id, triples, self.vocab)
        self.db.replace(twin_id, version, content_hash, extracted, stamp)

    def remove(self, twin_id: str) -> None:
        self.db.remove(twin_id)

    def scrub(self) -> None:
        """After an erasure of personal data: nothing replaced stays in the index's files."""
        self.db.scrub()

    def sync(self, current: dict[str, tuple], read: Callable[[str], list], *,
             force: bool = False) -> dict[str, int]:
        """Bring the index in line with the twins published now (id -> (version, content hash[,
        modified])):
        index what is missing or differs (everything with ``force``), remove what is gone.
        Returns the counts."""
        indexed = {t: (-1, "") for t in self.db.indexed()} if force else self.db.indexed()
        gone = [t for t in indexed if t not in current]
        stale = [t for t, key in current.items() if indexed.get(t) != tuple(key[:2])]
        for twin_id in gone:
            self.remove(twin_id)
        started = time.monotonic()
        for twin_id in stale:
            version, content_hash, *stamp = current[twin_id]
            self.index(twin_id, version, content_hash, read(twin_id), stamp[0] if stamp else "")
        if stale:
            log.info("indexed %d twins for discovery in %.1f s", len(stale), time.monotonic() - started)
        return {"indexed": len(stale), "removed": len(gone)}

    # --- reading ---------------------------------------------------------------------------------

    def _communities(self) -> Iterable[Community]:
        for (features,) in self.db.read("SELECT features FROM communities ORDER BY iri"):
            yield Community(**json.loads(features))

    def community(self, iri: str) -> Community | None:
        rows = self.db.read("SELECT features FROM communities WHERE iri = ?", (iri,))
        return Community(**json.loads(rows[0][0])) if rows else None

    def _require(self, iri: str) -> Community:
        c = self.community(iri)
        if c is None:
            raise NotIndexed(iri)
        return c

    def summary(self, c: Community, lang: str = "en") -> dict:
        return {"iri": c.iri, "twin": c.twin_id, "name": _name(c.names, lang), "network": c.network,
                "lau": c.lau, "nuts": c.nuts, "locality": c.locality, "contact": c.contact or None}

    # --- similar communities ---------------------------------------------------------------------

    def similar(self, iri: str, *, weights: dict[str, float] | None = None, pins: Pins | None = None,
                limit: int = 10, lang: str = "en", distance_scale_km: float = DISTANCE_SCALE_KM) -> dict:
        pins = pins or Pins()
        self.ranker.refresh(self.db)
        if self.ranker.vector(iri) is None:
            raise NotIndexed(iri)
        used = {**WEIGHTS, **(weights or {})}
        results, passed = self.ranker.rank(iri, weights=used, pins=pins, limit=limit, lang=lang,
                                           distance_scale_km=distance_scale_km)
        target = self._require(iri)
        return {"community": self.summary(target, lang), "weights": used, "distance_scale_km": distance_scale_km,
                "pins": pins.to_dict(), "candidates": passed, "results": results}

    # --- what others learned ---------------------------------------------------------------------

    def search(self, text: str = "", *, lang: str | None = None, topic: list[str] | None = None,
               kind: list[str] | None = None, member: list[str] | None = None,
               technology: list[str] | None = None, place: str | None = None, limit: int = 50,
               offset: int = 0) -> dict:
        """Lessons, best practices, initiatives and events. ``text`` in ``lang`` (or in any of the
        three languages); ``topic`` (codes), ``kind``, ``member`` (the item's community has members
        of all these types: "in communities with a school"), ``technology`` (asset classes),
        ``place`` (a network IRI, a LAU code or a NUTS code at any level, or a country code)."""
        where, params = [], []
        if text.strip():
            match = _fts_query(text)
            if not match:
                return {"total": 0, "results": []}
            sub = "SELECT item, bm25(items_fts) AS rank FROM items_fts WHERE items_fts MATCH ?"
            sub_params: list = [match]
            if lang:
                sub += " AND lang = ?"
                sub_params.append(lang)
            # materialised: bm25() may not run inside a flattened aggregate
            base = (f"FROM (WITH hits AS MATERIALIZED ({sub}) SELECT item, MIN(rank) AS rank FROM hits "
                    "GROUP BY item) m JOIN items i ON m.item = i.id")
            params.extend(sub_params)
            order = "m.rank, i.id"
        else:
            base = "FROM items i"
            order = "i.kind, i.id"
        # Each filter is a set SQLite makes once (IN, not a correlated EXISTS): "in communities
        # with a school" as EXISTS searched the school facet's 43,000 rows for each of 50,000 items,
        # 180 s at 10,000 communities, under the index's lock; as IN, 16 ms.
        for t in topic or []:
            where.append("i.id IN (SELECT item FROM item_topics WHERE topic = ?)")
            params.append(t)
        if kind:
            where.append(f"i.kind IN ({','.join('?' * len(kind))})")
            params.extend(kind)
        for facet, values in (("member", member or []), ("technology", technology or [])):
            for value in values:
                where.append("i.owner IN (SELECT community FROM facets WHERE facet = ? AND value = ?)")
                params.extend([facet, value])
        if place:
            where.append(f"(i.owner = ? OR i.owner IN ({_IN_PLACE}))")
            params.extend([place, place])
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = self.db.read(f"SELECT COUNT(*) {base}{clause}", params)[0][0]
        rows = self.db.read(f"SELECT i.data, i.twin_id {base}{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                            [*params, min(limit, MAX_RESULTS), offset])
        out_lang = lang or "en"
        owners = self._owners({json.loads(d)["owner"] for d, _ in rows}, out_lang)
        results = []
        for data, twin_id in rows:
            item = json.loads(data)
            owner = owners.get(item["owner"], {"iri": item["owner"]})
            results.append({
                "iri": item["iri"], "kind": item["kind"], "twin": twin_id,
                "title": _name(item["title"], out_lang), "summary": _name(item["summary"], out_lang) or None,
                "texts": {k: item[k] for k in ("title", "summary", "worked", "did_not_work") if item[k]},
                "outcome": {"worked": _name(item["worked"], out_lang) or None,
                            "did_not_work": _name(item["did_not_work"], out_lang) or None},
                "topics": [{"code": t, "label": self.vocab.label(t, out_lang)} for t in item["topics"]],
                "start": item.get("start"), "end": item.get("end"),
                "community": owner, "contact": owner.get("contact"),
            })
        return {"total": total, "offset": offset, "results": results}

    def _owners(self, iris: set[str], lang: str = "en") -> dict[str, dict]:
        out: dict[str, dict] = {}
        for iri in iris:
            c = self.community(iri)
            if c is not None:
                out[iri] = self.summary(c, lang)
                continue
            rows = self.db.read("SELECT names FROM networks WHERE iri = ?", (iri,))
            if rows:
                out[iri] = {"iri": iri, "name": _name(json.loads(rows[0][0]), lang), "kind": "network",
                            "contact": None}
        return out

    # --- how we compare --------------------------------------------------------------------------

    def _groups(self, c: Community) -> dict[str, tuple[str, str] | None]:
        return {"network": ("network", c.network) if c.network else None,
                "municipality": ("lau", c.lau) if c.lau else None,
                "region": ("nuts", c.nuts) if c.nuts else None,
                "all": None}

    def _members(self, column: str | None, value: str | None) -> set[str]:
        if column is None:
            return {r[0] for r in self.db.read("SELECT iri FROM communities")}
        return {r[0] for r in self.db.read(f"SELECT iri FROM communities WHERE {column} = ?", (value,))}

    def compare(self, iri: str, lang: str = "en", indicator: str | None = None, latest: int | None = None) -> dict:
        """Each of the community's indicator values per period against each of its groups (only
        the ``latest`` periods of each indicator when given)."""
        c = self._require(iri)
        own = self.db.read("SELECT indicator, period_start, period_end, AVG(value), family, COUNT(*), "
                           "SUM(value IS NULL) FROM indicators WHERE community = ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                           (iri,))
        everyone = self._everyone()
        groups = {name: (self._members(*key), key) for name, key in self._groups(c).items() if key}
        out = []
        own = [row for row in own if not indicator or row[0] == indicator]
        if latest is not None:
            per: dict[str, list] = defaultdict(list)
            for row in own:
                per[row[0]].append(row)
            own = [row for rows in per.values() for row in rows[-latest:]]
        truncated = len(own) > MAX_PERIODS
        for kpi, start, end, value, family, _, _unusable in own[:MAX_PERIODS]:
            values, bad, ordered, base, unusable = self._period_figures(kpi, start, end, everyone)
            entry = {"indicator": kpi, "label": self.vocab.label(kpi, lang), "period_start": start,
                     "period_end": end, "value": value, "unit": _unit(family), "groups": {}}
            for name, (members, key) in groups.items():
                vals = [values[m] for m in members if m in values]
                group = stats.summary(vals, value)
                group["missing"] = len([m for m in members if m not in values and m not in bad])
                group["unusable"] = len([m for m in members if m in bad])
                if key:
                    group["key"] = key[1]
                entry["groups"][name] = group
            group = dict(base)  # everyone: from the sorted values kept for the period
            if ordered and value is not None:
                below, above = bisect_left(ordered, value), bisect_right(ordered, value)
                group["percentile"] = round(100.0 * (below + 0.5 * (above - below)) / len(ordered), 2)
            group["missing"] = len(everyone) - len(ordered) - unusable
            group["unusable"] = unusable
            entry["groups"]["all"] = group
            out.append(entry)
        return {"community": self.summary(c, lang), "indicators": out, "truncated": truncated}

    def _cached_figures(self) -> dict[tuple, tuple]:
        with self._figures_lock:
            if self._figures_generation != self.db.generation:
                self._figures = {}
                self._figures_generation = self.db.generation
            return self._figures

    def _everyone(self) -> frozenset[str]:
        cache = self._cached_figures()
        hit = cache.get(("everyone",))
        if hit is None:
            hit = cache[("everyone",)] = (frozenset(self._members(None, None)),)
        return hit[0]

    def _period_figures(self, kpi: str, start: str, end: str, everyone: frozenset[str]) -> tuple:
        """One indicator's values in one period: by community, the communities whose value is
        unusable, every community's value sorted, their summary and how many are unusable."""
        cache = self._cached_figures()
        hit = cache.get((kpi, start, end))
        if hit is None:
            rows = self.db.read("SELECT community, AVG(value), SUM(value IS NULL) FROM indicators "
                                "WHERE indicator = ? AND period_start = ? AND period_end = ? GROUP BY community",
                                (kpi, start, end))
            values = {r[0]: r[1] for r in rows if r[1] is not None}
            bad = {r[0] for r in rows if r[1] is None}
            ordered = sorted(v for m, v in values.items() if m in everyone)
            hit = (values, bad, ordered, stats.summary(ordered), len(bad & everyone))
            if len(cache) < MAX_CACHED_PERIODS:
                cache[(kpi, start, end)] = hit
        return hit

    def network(self, network: str, lang: str = "en") -> dict:
        """A network's communities side by side (each indicator by year) and its evolution: per
        indicator and year, the sum (quantities) or the median (rates) over the communities that
        report the whole year, with how many do and how many do not."""
        members = sorted(self._members("network", network))
        if not members:
            raise NotIndexed(network)
        names = json.loads(r[0]) if (r := next(iter(self.db.read("SELECT names FROM networks WHERE iri = ?",
                                                                  (network,))), None)) else {}
        return {"network": {"iri": network, "name": _name(names, lang)}, **self._side_by_side(members, lang)}

    def area(self, place: str, lang: str = "en") -> dict:
        """The same as :meth:`network` for a municipality (LAU code) or region (NUTS code, any
        level) or country: the communities whose twins give that code."""
        members = sorted(self._place(place) & self._members(None, None))
        if not members:
            raise NotIndexed(place)
        return {"area": {"code": place}, **self._side_by_side(members, lang)}

    def _side_by_side(self, members: list[str], lang: str) -> dict:
        per: dict[str, dict[str, dict[int, float]]] = defaultdict(dict)
        families: dict[str, str] = {}
        for m in members:
            rows = self.db.read("SELECT indicator, period_start, period_end, value, family FROM indicators "
                                "WHERE community = ?", (m,))
            by_kpi: dict[str, list] = defaultdict(list)
            for kpi, start, end, value, family in rows:
                by_kpi[kpi].append((start, end, value, family))
                if family:
                    families[kpi] = family
            for kpi, kpi_rows in by_kpi.items():
                per[kpi][m] = stats.yearly(kpi_rows)
        evolution = []
        for kpi in sorted(per):
            years = sorted({y for v in per[kpi].values() for y in v})
            family = families.get(kpi)
            series = []
            for year in years:
                vals = [per[kpi][m][year] for m in members if year in per[kpi].get(m, {})]
                figure = stats.summary(vals)
                series.append({"year": year, "reporting": len(vals), "missing": len(members) - len(vals),
                               "total" if family in stats.ADDITIVE else "median":
                               figure["sum"] if family in stats.ADDITIVE else figure["median"]})
            evolution.append({"indicator": kpi, "label": self.vocab.label(kpi, lang), "unit": _unit(family),
                              "family": family, "mobility": kpi in MOBILITY, "years": series})
        side = []
        for m in members:
            c = self.community(m)
            if c is None:
                continue
            side.append({**self.summary(c, lang), "members": c.members, "size_band": c.size_band,
                         "indicators": {kpi: {str(y): v for y, v in sorted(per[kpi].get(m, {}).items())}
                                        for kpi in sorted(per) if per[kpi].get(m)}})
        return {"communities": side, "evolution": evolution}

    # --- what's new --------------------------------------------------------------------------------

    def whats_new(self, changes: list, *, base_url: str, feed_url: str, place: str | None = None,
                  lang: str = "en", author: str = "ecgraph node") -> dict:
        """A feed of ``changes`` (:func:`ecgraph.discovery.feeds.recent`): each changed twin with
        its communities and the initiatives, events and lessons it holds, or what a removed twin
        was; only those in ``place`` (a network, a LAU or NUTS code, a country) when given."""
        allowed = self._place(place) if place else None
        items = []
        for change in changes:
            home = change.home or base_url
            url = f"{home}/api/twins/{change.name or change.twin_id}"
            if change.removed:
                note = self.db.gone(change.twin_id) or {}
                if allowed is not None and place not in note.get("places", []):
                    continue
                names = [_name(n, lang) for n in note.get("names", [])] or [change.name or change.twin_id]
                headline = ", ".join(n for n in names if n)
                items.append({
                    "id": f"{url}/versions/{change.version}#{change.kind}", "url": url, "twin": change.name,
                    "version": change.version, "change": change.kind, "home": change.home,
                    "title": word("removed", lang, what=headline), "updated": change.modified,
                    "summary": word("removed", lang, what=headline), "tags": [change.kind], "communities": [],
                    "news": []})
                continue
            communities = [Community(**json.loads(f)) for (f,) in self.db.read(
                "SELECT features FROM communities WHERE twin_id = ? ORDER BY iri", (change.twin_id,))]
            networks = [r[0] for r in self.db.read("SELECT iri FROM networks WHERE twin_id = ?", (change.twin_id,))]
            if allowed is not None and not ({c.iri for c in communities} | set(networks)) & allowed:
                continue
            news = []
            for (data,) in self.db.read("SELECT data FROM items WHERE twin_id = ? ORDER BY id", (change.twin_id,)):
                item = json.loads(data)
                news.append({"kind": item["kind"], "iri": item["iri"], "title": _name(item["title"], lang),
                             "start": item.get("start")})
            names = [_name(c.names, lang) for c in communities] or [change.name or change.twin_id]
            headline = ", ".join(names)
            summary = "; ".join(f"{n['kind']}: {n['title']}" for n in news if n["kind"] in ("initiative", "event")) \
                or "; ".join(f"{n['kind']}: {n['title']}" for n in news)
            items.append({
                "id": f"{url}/versions/{change.version}", "url": url, "twin": change.name or change.twin_id,
                "version": change.version, "change": change.kind, "home": change.home,
                "title": f"{headline} (version {change.version})", "updated": change.modified,
                "summary": summary or headline, "tags": sorted({n["kind"] for n in news}),
                "communities": [self.summary(c, lang) for c in communities], "news": news,
            })
        updated = max((i["updated"] for i in items), default="1970-01-01T00:00:00Z")
        return {"id": feed_url, "title": f"What's new on {base_url}" + (f" in {place}" if place else ""),
                "home_page_url": base_url, "feed_url": feed_url, "author": author, "updated": updated,
                "items": items}

    # --- tools and places ------------------------------------------------------------------------

    def tools(self, *, place: str | None = None, category: str | None = None, lang: str = "en") -> dict:
        """Every tool or service twins say they use or offer, with who uses or offers it (and their
        contact) and the lessons those users share."""
        rows = self.db.read("SELECT tool, relation, owner, names, category, description, url FROM tools")
        allowed = self._place(place) if place else None
        tools: dict[str, dict] = {}
        for tool, relation, owner, names, cat, description, url in rows:
            key = tool or f"{owner}#{names}"
            entry = tools.setdefault(key, {"iri": tool, "names": {}, "category": None, "descriptions": {},
                                           "url": None, "offered_by": [], "used_by": []})
            entry["names"].update(json.loads(names))
            entry["descriptions"].update(json.loads(description))
            entry["category"] = entry["category"] or cat
            entry["url"] = entry["url"] or url
            entry["offered_by" if relation == "offers" else "used_by"].append(owner)
        owners = self._owners({o for t in tools.values() for o in t["offered_by"] + t["used_by"]}, lang)
        out = []
        for entry in tools.values():
            if category and entry["category"] != category:
                continue
            if allowed is not None and not (set(entry["offered_by"] + entry["used_by"]) & allowed):
                continue
            users = sorted(set(entry["used_by"]))
            lessons: list[dict] = []
            for u in users:
                for (data,) in self.db.read("SELECT data FROM items WHERE owner = ? AND kind IN "
                                            "('lesson', 'best-practice') ORDER BY id LIMIT 20", (u,)):
                    item = json.loads(data)
                    lessons.append({"iri": item["iri"], "title": _name(item["title"], lang), "community": u})
            out.append({
                "iri": entry["iri"], "name": _name(entry["names"], lang) or entry["iri"],
                "category": entry["category"],
                "category_label": self.vocab.label(entry["category"], lang) if entry["category"] else None,
                "description": _name(entry["descriptions"], lang) or None, "url": entry["url"],
                "offered_by": [owners.get(o, {"iri": o}) for o in sorted(set(entry["offered_by"]))],
                "used_by": [owners.get(o, {"iri": o}) for o in users],
                "lessons_of_users": lessons,
            })
        out.sort(key=lambda t: (-len(t["used_by"]), t["name"]))
        return {"total": len(out), "tools": out}

    def _place(self, place: str) -> set[str]:
        rows = self.db.read(_IN_PLACE, (place,))
        return {r[0] for r in rows} | {place}

    def areas(self, lang: str = "en") -> dict:
        """The municipalities (LAU) and regions (NUTS, every level) twins name, and the networks,
        each with its communities."""
        out: dict[str, list] = {}
        for facet, name in (("lau", "municipalities"), ("nuts", "regions"), ("network", "networks")):
            rows = self.db.read("SELECT value, COUNT(DISTINCT community) FROM facets WHERE facet = ? "
                                "GROUP BY value ORDER BY value", (facet,))
            out[name] = [{"code": v, "communities": n} for v, n in rows]
        return out

    def choices(self, lang: str = "en") -> dict:
        """What the search forms offer: the topics, member types (schools first) and technologies
        the indexed items and communities name, each with its label in ``lang``."""

        def labelled(codes) -> list[dict]:
            return [{"code": c, "label": self.vocab.label(c, lang)} for c in codes]

        topics = sorted((r[0] for r in self.db.read("SELECT DISTINCT topic FROM item_topics")),
                        key=lambda c: self.vocab.label(c, lang).lower())
        members = {r[0] for r in self.db.read("SELECT DISTINCT value FROM facets WHERE facet = 'member'")}
        technologies = sorted((r[0] for r in self.db.read("SELECT DISTINCT value FROM facets "
                                                          "WHERE facet = 'technology'")),
                              key=lambda c: self.vocab.label(c, lang).lower())
        ordered = [t for t in MEMBER_TYPES if t in members]
        ordered.sort(key=lambda t: (t != EC + "School", self.vocab.label(t, lang).lower()))
        return {"topics": labelled(topics), "members": labelled(ordered), "technologies": labelled(technologies),
                "kinds": list(ITEM_KINDS)}

    def communities(self, *, place: str | None = None, lang: str = "en", offset: int = 0,
                    limit: int | None = None) -> tuple[int, list[dict]]:
        """The indexed communities (optionally in one place), for directory views: how many, and
        the summaries of ``limit`` of them from ``offset`` on, in the order of their IRIs. Only
        those are read (reading every community's features took 200 ms at 10,000)."""
        where, params = (f"WHERE iri = ? OR iri IN ({_IN_PLACE})", (place, place)) if place else ("", ())
        total = self.db.read(f"SELECT COUNT(*) FROM communities {where}", params)[0][0]
        rows = self.db.read(f"SELECT features FROM communities {where} ORDER BY iri LIMIT ? OFFSET ?",
                            (*params, -1 if limit is None else limit, offset))
        return total, [self.summary(Community(**json.loads(features)), lang) for (features,) in rows]


#: the communities in a place (bound to ``?``): a network IRI, a LAU code, a NUTS code at any level
#: or a country code
_IN_PLACE = "SELECT community FROM facets WHERE facet IN ('network', 'lau', 'nuts', 'country') AND value = ?"

MOBILITY = {EC + k for k in ("kpi-ev-charging-energy", "kpi-ev-charging-sessions", "kpi-shared-vehicle-trips",
                             "kpi-shared-vehicle-distance")}


def _unit(family: str | None) -> str | None:
    from ecgraph.discovery.vocab import CANONICAL

    return CANONICAL[family][1] if family in CANONICAL else None


def member_type(name: str) -> str:
    """A member type from its local name ("School", "school") or IRI."""
    for t in MEMBER_TYPES:
        if name == t or name.lower() == t.rsplit("#", 1)[-1].lower():
            return t
    raise ValueError(name)


LANGS = LANGUAGES

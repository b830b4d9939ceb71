"""Discovery on the pages of the web face: the panels of a community's page and the pages of their own.

* On a community's page (:func:`community_panels`, called by :mod:`.views`): "Communities like this
  one" (ranked by :meth:`ecgraph.node.Node.similar` with the API's weights, reasons in the reader's
  language, pins from the panel's form: ``like_involves``, ``like_within_km``, ``like_network``) and
  "How it compares" (:meth:`ecgraph.node.Node.compare`: each indicator per period against its
  network, municipality, region and all communities, median, quartiles and its percentile, as a
  chart and a table), with links to the comparisons of its municipality and region.
* ``/discover``: where to start; ``/discover/lessons``: lessons, best practices, initiatives and
  events by words (in the reader's language), topic, member type ("in communities with a school"),
  technology and place, with each one's community and contact; ``/discover/tools``: the tools twins
  use or offer; ``/discover/areas`` and ``/discover/compare?place=<LAU or NUTS code>`` (or
  ``?network=<IRI>``): communities side by side and their evolution by year; ``/whats-new``: the
  feed as a page, with its Atom and JSON Feed links.

Every page reads through :class:`ecgraph.node.Node` and has its JSON twin in ``/api/...`` (linked
from the page).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, render_template, request, url_for

from ecgraph import errors
from ecgraph.discovery import Pins
from ecgraph.discovery.features import MEMBER_TYPES
from ecgraph.web.common import node, node_url, whole
from ecgraph.web.discovery import _codes, _number
from ecgraph.web.face import charts, i18n
from ecgraph.web.face.views import bp

PAGE_SIZE = 20
#: the periods of each indicator a community's page compares (the latest)
PERIODS = 6
#: the groups a community is compared with, in the order of the table's columns
GROUPS = ("network", "municipality", "region", "all")
KIND_WORDS = {"lesson": "Lesson learned", "best-practice": "Best practice", "initiative": "Initiative",
              "event": "Event or visit"}
CHANGE_WORDS = {"published": "published", "replaced": "updated", "harvested": "updated from its home node",
                "deleted": "removed", "unharvested": "removed"}


def _(text: str) -> str:
    return i18n.translate(text)


def _period(start: str, end: str) -> str:
    if start[4:] == "-01-01" and end[4:] == "-12-31" and start[:4] == end[:4]:
        return start[:4]
    if start[:7] == end[:7]:
        return start[:7]
    return f"{start} – {end}"


@bp.app_template_filter("num")
def number(value: float | None) -> str:
    """A figure for people: at most two decimals, thousands grouped, no trailing zeros."""
    if value is None:
        return "–"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


# --- the panels of a community's page ----------------------------------------------------------------

def community_panels(iri: str) -> dict | None:
    """The discovery panels of a community's page, or None when discovery does not know it."""
    lang = i18n.current()
    n = node()
    pins = Pins(involves=_codes("like_involves", "", MEMBER_TYPES),
                within_km=_number("like_within_km", minimum=0, maximum=20040),
                same_network=request.args.get("like_network") in ("on", "true", "1"))
    try:
        like = n.similar(iri, pins=pins, limit=5, lang=lang)
        compared = n.compare(iri, lang=lang, latest=PERIODS)
    except errors.NotFound:
        return None
    api = {"iri": iri, "lang": lang, "limit": 5}
    if pins.involves:
        api["involves"] = [t.rsplit("#", 1)[-1].lower() for t in pins.involves]
    if pins.within_km is not None:
        api["within_km"] = f"{pins.within_km:g}"
    if pins.same_network:
        api["same_network"] = "true"
    me = like["community"]
    return {"like": like, "pins": pins, "like_api": "/api/similar?" + urlencode(api, doseq=True),
            "member_types": [{"code": t, "label": n.directory.label(t, lang), "short": t.rsplit("#", 1)[-1]}
                             for t in MEMBER_TYPES],
            "compare": _compare_series(compared["indicators"]),
            "compare_api": "/api/compare?" + urlencode({"iri": iri, "lang": lang, "latest": PERIODS}),
            "groups": [g for g in GROUPS if any(g in e["groups"] for e in compared["indicators"])],
            "areas": [(_("Municipality"), me.get("lau")), (_("Region"), me.get("nuts"))],
            "group_names": {"network": _("Its network"), "municipality": _("Its municipality"),
                            "region": _("Its region"), "all": _("All communities")}}


def _compare_series(indicators: list[dict]) -> list[dict]:
    words = {"value": _("This community"), "network": _("Median of its network"),
             "all": _("Median of all communities")}
    series: dict[str, dict] = {}
    for e in indicators:
        s = series.setdefault(e["indicator"], {"iri": e["indicator"], "label": e["label"], "unit": e["unit"],
                                               "rows": [], "words": words})
        s["rows"].append({"period": _period(e["period_start"], e["period_end"]), "start": e["period_start"],
                          "value": e["value"], "groups": e["groups"]})
    out = []
    for s in series.values():
        s["rows"].sort(key=lambda r: r["start"])
        s["chart"] = charts.compare_chart(s)
        out.append(s)
    return out


# --- pages ---------------------------------------------------------------------------------------------

def _place_choices() -> list[dict]:
    """Networks, regions (NUTS) and municipalities (LAU) twins name, for a place filter."""
    lang = i18n.current()
    areas = node().areas()
    n = node()
    out = [{"code": a["code"], "label": n.directory.label(a["code"], lang), "group": _("Network"),
            "communities": a["communities"]} for a in areas["networks"]]
    out += [{"code": a["code"], "label": a["code"], "group": _("Region") + " (NUTS)", "communities": a["communities"]}
            for a in areas["regions"]]
    out += [{"code": a["code"], "label": a["code"], "group": _("Municipality") + " (LAU)",
             "communities": a["communities"]} for a in areas["municipalities"]]
    return out


@bp.get("/discover")
def discover():
    return Response(render_template("face/discover.html", choices=node().discovery_choices(lang=i18n.current())))


@bp.get("/discover/lessons")
def lessons():
    lang = i18n.current()
    q = request.args.get("q", "")[:500]
    kinds = [k for k in request.args.getlist("kind") if k][:4]
    for k in kinds:
        if k not in KIND_WORDS:
            raise errors.BadRequest(f"kind {k!r} is not one of {', '.join(KIND_WORDS)}")
    topic = _codes("topic", "topic-")
    member = _codes("member", "", MEMBER_TYPES)
    technology = _codes("technology", "")
    place = request.args.get("place") or None
    offset = whole(request.args.get("offset"), "offset", 0, maximum=100000)
    found = node().search_knowledge(q, lang=lang, topic=topic, kind=kinds, member=member, technology=technology,
                                    place=place, limit=PAGE_SIZE, offset=offset)
    args = {k: v for k, v in request.args.to_dict(flat=False).items() if k not in ("offset", "lang")}

    def page_url(start: int) -> str:
        return request.path + "?" + urlencode({**args, "offset": [str(start)]}, doseq=True)

    return Response(render_template(
        "face/lessons.html", q=q, found=found, kinds=kinds, topic=topic, member=member, technology=technology,
        place=place, offset=offset, page_size=PAGE_SIZE, page_url=page_url, kind_words=KIND_WORDS,
        choices=node().discovery_choices(lang=lang), places=_place_choices(),
        api="/api/lessons?" + urlencode({**args, "lang": lang}, doseq=True)))


@bp.get("/discover/tools")
def tools():
    place = request.args.get("place") or None
    found = node().tools(place=place, lang=i18n.current())
    return Response(render_template("face/tools.html", found=found, place=place, places=_place_choices(),
                                    api="/api/tools?" + urlencode({"place": place or "", "lang": i18n.current()})))


@bp.get("/discover/areas")
def areas():
    return Response(render_template("face/areas.html", areas=node().areas()))


@bp.get("/discover/compare")
def compare_area():
    lang = i18n.current()
    n = node()
    network = request.args.get("network")
    place = request.args.get("place")
    if network:
        data = n.compare_network(network, lang=lang)
        title = data["network"]["name"] or network
        api = "/api/compare/network?" + urlencode({"iri": network, "lang": lang})
    elif place:
        data = n.compare_area(place[:100], lang=lang)
        title = place
        api = "/api/compare/area?" + urlencode({"place": place, "lang": lang})
    else:
        raise errors.BadRequest("say which area to compare: /discover/compare?place=<a LAU or NUTS code> or "
                                "?network=<a network's IRI> (the areas page lists them)")
    evolution = []
    for e in data["evolution"]:
        key = "total" if "total" in (e["years"][0] if e["years"] else {}) else "median"
        points = [{"period": str(y["year"]), "value": y[key]} for y in e["years"] if y.get(key) is not None]
        evolution.append({"iri": e["indicator"], "label": e["label"], "unit": e["unit"], "points": points,
                          "how": key, "years": e["years"], "mobility": e["mobility"]})
    indicators = sorted({k for c in data["communities"] for k in c["indicators"]})
    years = sorted({y for c in data["communities"] for v in c["indicators"].values() for y in v})
    latest = years[-1] if years else None
    return Response(render_template("face/compare.html", title=title, network=network, place=place, data=data,
                                    evolution=evolution, indicators=indicators, latest=latest, api=api))


@bp.get("/whats-new")
def whats_new():
    lang = i18n.current()
    place = request.args.get("place") or None
    base = node_url()
    query = {"place": place} if place else {}
    feed = node().whats_new(base_url=base, feed_url=base + url_for("discovery.whats_new", **query), place=place,
                            limit=50, lang=lang)
    feeds = {kind: url_for("discovery.whats_new", format=kind, lang=lang, **query) for kind in ("atom", "jsonfeed")}
    return Response(render_template("face/whats_new.html", feed=feed, place=place, places=_place_choices(),
                                    feeds=feeds, change_words=CHANGE_WORDS, kind_words=KIND_WORDS))

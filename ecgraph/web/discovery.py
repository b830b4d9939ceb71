"""Discovery's JSON API: communities like mine, what others learned, how we compare, tools, places.

* ``GET /api/similar?iri=<community>``: ranked, with reasons; ``weight.<feature>=`` (0 to 10) tunes
  the ranking (``GET /api/similar/weights`` lists the features and their defaults); pins:
  ``involves=school`` (repeatable), ``within_km=50``, ``activity=``, ``technology=``,
  ``same_network=true``, ``legal_kind=cooperative``; ``distance_scale_km=``, ``limit=``, ``lang=``.
* ``GET /api/lessons?q=&lang=&topic=&kind=&member=&technology=&place=``: lessons learned, best
  practices, initiatives and events, with their community and its contact, what worked and what did
  not side by side.
* ``GET /api/compare?iri=<community>[&latest=N]``: each indicator per period against the network, the
  municipality, the region and everyone; ``GET /api/compare/network?iri=<network>``: its
  communities side by side and its evolution by year; ``GET /api/compare/area?place=<LAU or NUTS>``
  the same for a municipality or region.
* ``GET /api/tools?place=&category=``, ``GET /api/areas``, ``GET /api/discovery/communities?place=``.

Codes may be given by their short name (``school``, ``collective-self-consumption``, ``schools``,
``PVInstallation``, ``cooperative``) or as full IRIs. The pages call the same :class:`Node` methods.
"""

from __future__ import annotations

import math
from datetime import datetime

from flask import Blueprint, Response, jsonify, request

from ecgraph import errors, formats
from ecgraph.discovery import WEIGHTS, Pins, feeds
from ecgraph.discovery.features import ASSET_SIZES, ITEM_KINDS, MEMBER_TYPES
from ecgraph.discovery.similar import DISTANCE_SCALE_KM
from ecgraph.discovery.vocab import EC, LANGUAGES
from ecgraph.web.common import iri_list, multi, negotiate, node, node_url, whole

bp = Blueprint("discovery", __name__, url_prefix="/api")

MAX_WEIGHT = 10.0


def _lang() -> str:
    lang = request.args.get("lang", "en")
    if lang not in LANGUAGES:
        raise errors.BadRequest(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    return lang


def _iri(name: str = "iri") -> str:
    value = request.args.get(name)
    if not value:
        raise errors.BadRequest(f"give the community with ?{name}=<its IRI>, as its twin states it "
                                "(GET /api/discovery/communities lists them)")
    return iri_list([value], name)[0]


def _number(name: str, *, minimum: float, maximum: float) -> float | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise errors.BadRequest(f"{name} must be a number from {minimum:g} to {maximum:g}, not {value!r}")
    return number


def _code(value: str, name: str, prefix: str, known: tuple[str, ...] | None = None) -> str:
    """A code from its short name or its IRI; among ``known`` when the standard lists them."""
    if value.startswith(("http://", "https://")):
        iri = iri_list([value], name)[0]
    else:
        local = value.strip()
        if known is not None:
            match = [k for k in known if k.rsplit("#", 1)[-1].lower() == local.lower()]
            if not match:
                names = ", ".join(k.rsplit("#", 1)[-1] for k in known)
                raise errors.BadRequest(f"{name} {value!r} is not one the standard defines: use one of {names}")
            return match[0]
        iri = EC + prefix + local
    if known is not None and iri not in known:
        raise errors.BadRequest(f"{name} {value!r} is not one the standard defines")
    return iri


def _codes(name: str, prefix: str, known: tuple[str, ...] | None = None) -> list[str]:
    values = multi(name)
    if len(values) > 20:
        raise errors.BadRequest(f"at most 20 values of {name}")
    return [_code(v, name, prefix, known) for v in values]


TECHNOLOGIES = tuple(ASSET_SIZES)


@bp.get("/similar/weights")
def weights():
    return jsonify({"weights": WEIGHTS, "distance_scale_km": DISTANCE_SCALE_KM, "maximum": MAX_WEIGHT})


@bp.get("/similar")
def similar():
    chosen: dict[str, float] = {}
    for key in request.args:
        if key.startswith("weight."):
            feature = key[len("weight."):]
            if feature not in WEIGHTS:
                raise errors.BadRequest(f"{key}: there is no feature {feature!r}; the features are "
                                        f"{', '.join(WEIGHTS)}")
            chosen[feature] = _number(key, minimum=0, maximum=MAX_WEIGHT) or 0.0
    same = request.args.get("same_network", "false").lower()
    if same not in ("true", "false", "1", "0", "yes", "no"):
        raise errors.BadRequest("same_network must be true or false")
    legal = request.args.get("legal_kind")
    pins = Pins(involves=_codes("involves", "", MEMBER_TYPES),
                within_km=_number("within_km", minimum=0, maximum=20040),
                activity=_codes("activity", "activity-"),
                technology=_codes("technology", "", TECHNOLOGIES),
                same_network=same in ("true", "1", "yes"),
                legal_kind=_code(legal, "legal_kind", "legalform-") if legal else None)
    result = node().similar(_iri(), weights=chosen, pins=pins, limit=whole(request.args.get("limit"), "limit", 10,
                                                                           minimum=1, maximum=100),
                            lang=_lang(),
                            distance_scale_km=_number("distance_scale_km", minimum=0.1, maximum=20000))
    return jsonify(result)


@bp.get("/lessons")
def lessons():
    q = request.args.get("q", "")
    if len(q) > 500:
        raise errors.BadRequest("q must be at most 500 characters")
    kinds = multi("kind")
    allowed = sorted(set(ITEM_KINDS.values()))
    for k in kinds:
        if k not in allowed:
            raise errors.BadRequest(f"kind {k!r} is not one of {', '.join(allowed)}")
    lang = request.args.get("lang")
    if lang is not None and lang not in LANGUAGES:
        raise errors.BadRequest(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    place = request.args.get("place") or None
    result = node().search_knowledge(
        q, lang=lang, topic=_codes("topic", "topic-"), kind=kinds, member=_codes("member", "", MEMBER_TYPES),
        technology=_codes("technology", "", TECHNOLOGIES), place=place,
        limit=whole(request.args.get("limit"), "limit", 50, minimum=1, maximum=200),
        offset=whole(request.args.get("offset"), "offset", 0))
    return jsonify(result)


@bp.get("/compare")
def compare():
    indicator = request.args.get("indicator")
    latest = request.args.get("latest")
    return jsonify(node().compare(_iri(), lang=_lang(),
                                  indicator=_code(indicator, "indicator", "kpi-") if indicator else None,
                                  latest=whole(latest, "latest", 0, minimum=1, maximum=500) if latest else None))


@bp.get("/compare/network")
def compare_network():
    return jsonify(node().compare_network(_iri(), lang=_lang()))


@bp.get("/compare/area")
def compare_area():
    place = request.args.get("place")
    if not place:
        raise errors.BadRequest("give the area with ?place=<a LAU or NUTS code> (GET /api/areas lists them)")
    return jsonify(node().compare_area(place, lang=_lang()))


@bp.get("/tools")
def tools():
    category = request.args.get("category")
    return jsonify(node().tools(place=request.args.get("place") or None,
                                category=_code(category, "category", "tool-") if category else None, lang=_lang()))


@bp.get("/whats-new")
def whats_new():
    """The feed, as Atom or JSON Feed (``Accept`` or ``?format=atom|jsonfeed``; Atom by default)."""
    chosen = negotiate(formats.FEEDS)
    place = request.args.get("place") or None
    since = request.args.get("since") or None
    if since is not None:
        try:
            datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise errors.BadRequest(f"since must be a date and time like 2025-06-01T00:00:00Z, not {since!r}") from None
    base = node_url()
    feed = node().whats_new(base_url=base, feed_url=base + request.full_path.rstrip("?"), place=place, since=since,
                            limit=whole(request.args.get("limit"), "limit", 50, minimum=1, maximum=200), lang=_lang())
    body = feeds.atom(feed) if chosen is formats.ATOM else feeds.json_feed(feed)
    return Response(body, content_type=chosen.media_type)


@bp.get("/areas")
def areas():
    return jsonify(node().areas())


@bp.get("/discovery/communities")
def communities():
    """A page of the communities (``limit``, 1,000 by default, as ``/api/twins``; at 10,000 the
    whole list was 2.3 MB made in 150 ms for any request)."""
    limit = whole(request.args.get("limit"), "limit", 1000, minimum=1, maximum=10000)
    offset = whole(request.args.get("offset"), "offset", 0)
    total, found = node().communities(place=request.args.get("place") or None, lang=_lang(), offset=offset,
                                      limit=limit)
    return jsonify({"total": total, "offset": offset, "limit": limit, "communities": found})


def openapi_paths(errors: dict) -> dict:
    """This blueprint's part of the node's OpenAPI description (:mod:`.openapi`)."""

    def param(name: str, description: str, *, required: bool = False, repeat: bool = False,
              kind: str = "string") -> dict:
        schema: dict = {"type": kind}
        if repeat:
            schema = {"type": "array", "items": schema}
        return {"name": name, "in": "query", "required": required, "description": description, "schema": schema,
                **({"explode": True} if repeat else {})}

    iri = param("iri", "The community's IRI, as its twin states it", required=True)
    lang = param("lang", "Language of labels and reasons: en, fr or nl")
    place = param("place", "A network IRI, a LAU code, a NUTS code (any level) or a country code")
    json_ok = {"description": "JSON", "content": {"application/json": {"schema": {"type": "object"}}}}

    def get(summary: str, parameters: list, codes: tuple[str, ...] = ("400",)) -> dict:
        return {"get": {"summary": summary, "parameters": parameters,
                        "responses": {"200": json_ok, **{k: errors[k] for k in codes}}}}

    weights = [param(f"weight.{f}", f"Weight of {f} (0 to {MAX_WEIGHT:g}; default {w:g})", kind="number")
               for f, w in WEIGHTS.items()]
    return {
        "/api/similar": get("Communities like this one, ranked, with reasons in words", [
            iri, lang, param("limit", "How many (1 to 100)", kind="integer"), *weights,
            param("distance_scale_km", "Distance at which closeness has fallen to 1/e", kind="number"),
            param("involves", "Pin: members of this type (school, municipality, ...)", repeat=True),
            param("within_km", "Pin: at most this far", kind="number"),
            param("activity", "Pin: runs this activity", repeat=True),
            param("technology", "Pin: has this kind of asset (PVInstallation, Battery, ...)", repeat=True),
            param("same_network", "Pin: in the same network (true or false)"),
            param("legal_kind", "Pin: this broader legal form kind (cooperative, ...)")], ("400", "404")),
        "/api/similar/weights": get("The features of the ranking and their default weights", []),
        "/api/lessons": get("Lessons learned, best practices, initiatives and events", [
            param("q", "Words, in the language of lang (or any of the three)"), lang,
            param("topic", "A topic code (schools, financing, ...)", repeat=True),
            param("kind", "lesson, best-practice, initiative or event", repeat=True),
            param("member", "Only in communities with members of this type", repeat=True),
            param("technology", "Only in communities with this kind of asset", repeat=True), place,
            param("limit", "How many (1 to 200)", kind="integer"), param("offset", "Skip", kind="integer")]),
        "/api/compare": get("A community's indicators per period against its network, area and everyone", [
            iri, lang, param("indicator", "Only this indicator (a KPI code)"),
            param("latest", "Only the latest periods of each indicator (1 to 500)", kind="integer")], ("400", "404")),
        "/api/compare/network": get("A network's communities side by side and its evolution by year", [
            param("iri", "The network's IRI", required=True), lang], ("400", "404")),
        "/api/compare/area": get("A municipality's or region's communities side by side and by year", [
            param("place", "A LAU or NUTS code (any level) or a country code", required=True), lang],
            ("400", "404")),
        "/api/tools": get("Tools and services twins use or offer", [
            place, param("category", "A tool category code"), lang]),
        "/api/whats-new": {"get": {
            "summary": "Recently published or changed twins, initiatives and events, as Atom or JSON Feed",
            "parameters": [place, lang, param("since", "Only changes after this RFC 3339 time"),
                           param("limit", "How many (1 to 200)", kind="integer"),
                           param("format", "atom or jsonfeed (else the Accept header; Atom by default)")],
            "responses": {"200": {"description": "The feed", "content": {
                f.media_types[0]: {"schema": {"type": "string"}} for f in formats.FEEDS}},
                "406": {"description": "Neither Atom nor JSON Feed is acceptable"}}}},
        "/api/areas": get("Municipalities (LAU), regions (NUTS) and networks twins name", []),
        "/api/discovery/communities": get("The communities discovery knows (in a place), a page at a time", [
            place, lang, param("limit", "How many (1 to 10,000; 1,000 by default)", kind="integer"),
            param("offset", "How many to skip", kind="integer")]),
    }

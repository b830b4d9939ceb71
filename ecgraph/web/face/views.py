"""The routes of the web face (see :mod:`ecgraph.web.face`).

* ``/communities``: the directory (search, facets with counts, cards, a map, pages); JSON twin.
* ``/resource?iri=``: any IRI the node knows; a community's and a network's page are its
  specialisations; a twin graph's IRI shows the twin. RDF twin in every graph format.
* ``/ns``: the ontology and code lists (Turtle, JSON-LD, RDF/XML by negotiation); ``/context.jsonld``.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from ecgraph import errors, formats, page_deadline, standard
from ecgraph.directory import FACETS, PAGE_SIZE, local, pick
from ecgraph.publish import catalog_pages
from ecgraph.web.common import SECURITY_HEADERS, negotiate, node, whole
from ecgraph.web.face import charts, i18n, ontology, privacy

bp = Blueprint("face", __name__)

#: a page and its JSON twin; a resource and its RDF twins
PAGE = (formats.HTML, formats.PAGE_JSON)
RESOURCE = (formats.HTML, *formats.GRAPH)


@bp.app_context_processor
def _chrome():
    lang = i18n.current()

    def lang_url(code: str) -> str:
        args = request.args.to_dict(flat=False)
        args["lang"] = [code]
        return request.path + "?" + urlencode(args, doseq=True)

    return {"_": lambda text: i18n.translate(text, lang), "lang": lang, "languages": i18n.LANGUAGE_NAMES,
            "lang_url": lang_url, "resource_url": resource_url, "label_of": label_of, "local": local,
            "chart": charts.bar_chart}


@bp.after_app_request
def _remember_language(response: Response) -> Response:
    asked = request.args.get("lang")
    if asked in i18n.LANGUAGES and request.cookies.get(i18n.COOKIE) != asked:
        response.set_cookie(i18n.COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    if response.mimetype == "text/html":
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


@bp.before_app_request
def _open_page_deadline() -> None:
    """Every request's page reads end within the ``page_timeout`` setting (:mod:`ecgraph.page_deadline`)."""
    g.ecgraph_page_deadline = page_deadline.start(node().config.page_timeout)


@bp.teardown_app_request
def _close_page_deadline(_exc: BaseException | None) -> None:
    tokens = g.pop("ecgraph_page_deadline", None)
    if tokens is not None:
        try:
            page_deadline.end(tokens)
        except (ValueError, RuntimeError):  # closed in another context than it was opened: nothing to undo
            pass


@bp.app_errorhandler(page_deadline.PageTimeout)
def _page_timeout(exc: page_deadline.PageTimeout):
    """A page past its deadline: a page in the reader's language for browsers, the JSON problem for
    machines (as every other error)."""
    from ecgraph.web import error_response, ops

    ops.count_error(exc)
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) != "text/html" or \
            "text/html" not in request.accept_mimetypes.values():
        return error_response(exc)
    response = Response(render_template("face/unavailable.html", building=exc.extra.get("building", False),
                                        seconds=node().config.page_timeout), status=exc.status)
    response.headers.update(exc.http_headers())
    return response


def resource_url(iri: str) -> str:
    return url_for("face.resource", iri=iri)


def label_of(iri: str) -> str:
    return node().directory.label(iri, i18n.current())


def _page(offers=PAGE):
    chosen = negotiate(offers)
    return chosen


def _vary(response: Response) -> Response:
    response.vary.add("Accept")
    return response


def _tiles_csp(response: Response) -> Response:
    """The map pages may load tiles from the configured tile server, and nothing else outside."""
    url = node().config.tile_url
    if url:
        from urllib.parse import urlsplit

        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url.replace("{s}", "a")))
        csp = response.headers.get("Content-Security-Policy") or ""
        csp = csp or SECURITY_HEADERS["Content-Security-Policy"]
        response.headers["Content-Security-Policy"] = csp.replace("img-src 'self'", f"img-src 'self' {origin}")
    return response


# --- the directory ----------------------------------------------------------------------------------

def _filters() -> dict[str, list[str]]:
    return {name: [v for v in request.args.getlist(name) if v][:50] for name, _ in FACETS}


@bp.get("/communities")
def communities():
    chosen = _page()
    lang = i18n.current()
    query = request.args.get("q", "")[:200]
    filters = _filters()
    page = whole(request.args.get("page"), "page", 1, minimum=1)
    page_size = whole(request.args.get("page_size"), "page_size", PAGE_SIZE, minimum=1, maximum=100)
    found = node().directory.search(query, filters, page=page, page_size=page_size, lang=lang)

    def page_url(number: int) -> str:
        args = {k: v for k, v in request.args.to_dict(flat=False).items() if k not in ("page", "format")}
        args["page"] = [str(number)]
        return request.path + "?" + urlencode(args, doseq=True)

    if chosen is formats.PAGE_JSON:
        body = {"query": query, "filters": filters,
                **{k: v for k, v in found.items() if k not in ("points", "points_total")}}
        body["links"] = {"self": page_url(found["page"]),
                         "next": page_url(found["page"] + 1) if found["page"] < found["pages"] else None,
                         "prev": page_url(found["page"] - 1) if found["page"] > 1 else None}
        # new cards: the search's are kept for other readers (ecgraph.directory.Directory._kept)
        body["results"] = [{**card, "page": resource_url(card["iri"])} for card in found["results"]]
        return _vary(Response(_json(body), content_type=formats.PAGE_JSON.media_type))
    active = [(name, v) for name, values in filters.items() for v in values]
    response = Response(render_template(
        "face/communities.html", found=found, query=query, filters=filters, active=active, page_url=page_url,
        tile_url=node().config.tile_url or ""))
    return _tiles_csp(_vary(response))


def _json(body) -> str:
    import json

    return json.dumps(body, ensure_ascii=False)


# --- any resource -----------------------------------------------------------------------------------

@bp.get("/resource")
def resource():
    iri = request.args.get("iri", "").strip()
    try:
        ox.NamedNode(iri)
    except ValueError:
        raise errors.BadRequest(f"iri must be an absolute IRI, like /resource?iri=https://example.org/id/x, "
                                f"not {iri[:200]!r}") from None
    chosen = _page(RESOURCE)
    n = node()
    lang = i18n.current()
    directory = n.directory
    twin_id = iri[len(standard.TWIN_GRAPH_BASE):] if iri.startswith(standard.TWIN_GRAPH_BASE) else None
    if twin_id and "/" not in twin_id and n.entry(twin_id) is not None:
        if chosen is not formats.HTML:  # a twin graph's IRI gives the twin's data
            return _rdf(n.twin_data(twin_id), chosen)
        return _vary(Response(render_template("face/twin.html", iri=iri, twin=twin_id, entry=n.entry(twin_id),
                                              provenance=directory.provenance(twin_id),
                                              described=directory.described_by(twin_id, lang),
                                              formats=formats.GRAPH)))
    if chosen is formats.HTML and iri.startswith(standard.EC):  # the standard's own terms: their section of /ns
        return redirect(url_for("face.ns") + "#" + iri[len(standard.EC):], code=303)
    privacy.refuse(directory, iri)
    if chosen is not formats.HTML:
        triples = privacy.triples(directory.triples(iri))
        if not triples:
            raise errors.NotFound(f"this node knows nothing about {iri}")
        return _rdf(triples, chosen)
    community = privacy.community(directory, iri, directory.community(iri, lang))
    if community is not None:
        from ecgraph.web.face.discover import community_panels

        return _tiles_csp(_vary(Response(render_template("face/community.html", c=community, formats=formats.GRAPH,
                                                         tile_url=n.config.tile_url or "",
                                                         d=community_panels(iri)))))
    network = privacy.community(directory, iri, directory.network(iri, lang))
    if network is not None:
        return _tiles_csp(_vary(Response(render_template("face/network.html", net=network, formats=formats.GRAPH,
                                                         tile_url=n.config.tile_url or "",
                                                         figures=_network_figures(iri, lang)))))
    described = directory.describe(iri)
    shown, more = _per_property(described["outgoing"], TRIPLES_PAGE_ROWS)
    described["outgoing"], described["incoming"] = privacy.rows(directory, shown, described["incoming"])
    iris = {r["p"].value for r in described["outgoing"]} | {r["p"].value for r in described["incoming"]} | set(more)
    iris |= {r["o"].value for r in described["outgoing"] if isinstance(r["o"], ox.NamedNode)}
    iris |= {r["x"].value for r in described["incoming"] if isinstance(r["x"], ox.NamedNode)}
    names = directory.names([*iris, iri])
    rows = []
    for r in described["outgoing"]:
        graph = r["g"].value
        rows.append({"p": r["p"].value, "o": r["o"], "graph": graph,
                     "inferred": graph.endswith(standard.INFERRED_SUFFIX)})
    status = 200 if rows or more or described["incoming"] else 404
    return _vary(Response(render_template(
        "face/resource.html", iri=iri, title=pick(names.get(iri), lang, local(iri)), rows=rows, more=more,
        capped=len(shown) + sum(more.values()) >= directory.DESCRIBE_ROWS,
        incoming=described["incoming"], names={k: pick(v, lang, local(k)) for k, v in names.items()},
        formats=formats.GRAPH), status=status))


def _per_property(outgoing: list[dict], most: int) -> tuple[list[dict], dict[str, int]]:
    """The first ``most`` statements of each property (``outgoing`` is in property order), and how
    many more each has: the catalog's resource lists 10,000 datasets, a page of 1.4 MB that took
    1.4 to 2.4 s, every value's name and privacy looked up."""
    shown: list[dict] = []
    more: dict[str, int] = {}
    counts: dict[str, int] = {}
    for r in outgoing:
        p = r["p"].value
        counts[p] = counts.get(p, 0) + 1
        if counts[p] <= most:
            shown.append(r)
        else:
            more[p] = more.get(p, 0) + 1
    return shown, more


def _rdf(triples, chosen: formats.Format) -> Response:
    assert chosen.rdf is not None
    body = formats.write(triples, chosen.rdf, prefixes=standard.PREFIXES)
    return _vary(Response(body, content_type=chosen.media_type))


#: how many resources (a subject with its fragments and blank nodes) a page of RDF shows: the
#: catalog of 10,000 twins was every dataset, its publication, checksum and seven distributions
#: on one page, which passed the page deadline (503) before it was a page
TRIPLES_PAGE_SUBJECTS = 25
#: and how many statements of one subject (an admin may give one thousands)
TRIPLES_PAGE_ROWS = 200


def triples_page(title: str, triples, path: str, more=None) -> Response:
    """RDF a node describes itself with (its catalog, its service description) as a page: one
    section per subject, every IRI a link, the RDF formats beside it, :data:`TRIPLES_PAGE_SUBJECTS`
    resources a page (``?page=``). ``triples``: the statements, or their
    :class:`~ecgraph.publish.catalog_pages.Resources` (then only the page's are read). ``more``:
    what to add about the triples of the page shown (the catalog's distributions, written for the
    datasets on it only)."""
    lang = i18n.current()
    resources = triples if isinstance(triples, catalog_pages.Resources) else catalog_pages.of_triples(triples)
    order = resources.keys
    pages = max(1, -(-len(order) // TRIPLES_PAGE_SUBJECTS))
    page = min(whole(request.args.get("page"), "page", 1, minimum=1), pages)
    shown = resources.read(order[(page - 1) * TRIPLES_PAGE_SUBJECTS: page * TRIPLES_PAGE_SUBJECTS])
    if more is not None:
        shown += more(shown)
    subjects: dict[str, list] = {}
    for t in shown:
        subjects.setdefault(str(t.subject), []).append(t)
    groups = []
    for rows in subjects.values():
        rows.sort(key=lambda t: (t.predicate.value != RDF_TYPE, t.predicate.value, str(t.object)))
        groups.append({"subject": rows[0].subject, "rows": rows[:TRIPLES_PAGE_ROWS],
                       "more": max(0, len(rows) - TRIPLES_PAGE_ROWS)})
    groups.sort(key=lambda g: (not isinstance(g["subject"], ox.NamedNode), str(g["subject"])))
    shown_rows = [t for g in groups for t in g["rows"]]
    iris = {t.predicate.value for t in shown_rows}
    iris |= {g["subject"].value for g in groups if isinstance(g["subject"], ox.NamedNode)}
    iris |= {t.object.value for t in shown_rows if isinstance(t.object, ox.NamedNode)}
    names = node().directory.names(iris)

    def page_url(number: int) -> str:
        return path + "?" + urlencode({"page": number})

    response = Response(render_template("face/triples.html", title=title, groups=groups, path=path,
                                        names={k: pick(v, lang, local(k)) for k, v in names.items()},
                                        formats=formats.GRAPH, page=page, pages=pages, page_url=page_url,
                                        resources=len(order)))
    return _vary(response)


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


# --- the query editor ---------------------------------------------------------------------------------

@bp.get("/query")
def query_editor():
    from ecgraph.standard.examples import example_queries

    response = Response(render_template("face/query.html", examples=example_queries(), prefixes=standard.PREFIXES,
                                        download_formats=_download_formats()))
    # YASGUI's editor and table set inline styles as they draw; scripts stay 'self' only
    response.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'")
    return response


def _download_formats() -> dict[str, list[dict[str, str]]]:
    """What the editor offers to download: every format the endpoint answers in, for each kind of
    query (from :mod:`ecgraph.formats`, the one table)."""
    def described(f: formats.Format) -> dict[str, str]:
        library = f.results or f.rdf
        assert library is not None
        return {"key": f.key, "name": library.name, "extension": f.extension}

    return {"results": [described(f) for f in formats.RESULTS], "graph": [described(f) for f in formats.GRAPH]}


@bp.get("/query/prefixes.json")
def query_prefixes():
    """The prefixes the editor completes after ``PREFIX``: the standard's and those it aligns with
    (in place of prefix.cc, which a node never calls)."""
    return Response(_json(standard.PREFIXES), content_type=formats.PAGE_JSON.media_type)


# --- the standard -----------------------------------------------------------------------------------

@bp.get("/ns")
def ns():
    chosen = _page(RESOURCE)
    if chosen is not formats.HTML:
        return _rdf(ontology.triples(), chosen)
    lang = i18n.current()
    model = ontology.sections(lang)
    classes = {c["iri"] for c in model["classes"]}
    return _vary(Response(render_template("face/ns.html", model=model, classes=classes, formats=formats.GRAPH,
                                          version=standard.STANDARD_VERSION, ontology=standard.ONTOLOGY_IRI)))


@bp.get("/context.jsonld")
def context():
    return Response(standard.context_file().read_bytes(), content_type=formats.JSONLD.media_type)


@bp.get("/context/<version>.jsonld")
def context_release(version: str):
    """The JSON-LD context of one release (``https://w3id.org/ecgraph/context/1.0.0.jsonld``)."""
    if version not in standard.VERSIONS:
        raise errors.NotFound(f"no release {version!r}; this node has {', '.join(standard.VERSIONS)}")
    return Response(standard.context_file(version).read_bytes(), content_type=formats.JSONLD.media_type)


@bp.get("/ns/<path:term>")
def ns_term(term: str):
    """``https://w3id.org/ecgraph/ns#X`` cannot reach a server with its fragment; ``/ns/X`` is the
    same term's section."""
    if not term.replace("-", "").replace("_", "").isalnum():
        abort(404)
    return redirect(url_for("face.ns") + "#" + term, code=303)


#: the kept aggregates by network the network page shows, each as (its name, the variables of a row)
NETWORK_FIGURES = (("capacity-per-technology-and-network", ("technology", "assets", "totalKW")),
                   ("members-per-type-and-network", ("type", "communities", "members")))


def _network_figures(iri: str, lang: str) -> dict[str, list[dict]]:
    """The network's rows of the kept aggregates (installed capacity per technology, members per
    type), each term with its label; none while the figures are being built (the page never waits
    for the raw queries)."""
    n = node()
    out: dict[str, list[dict]] = {}
    for name, variables in NETWORK_FIGURES:
        answer = n.aggregate(name, "json", raw=False)
        if answer is None:
            return {}
        rows = [b for b in json.loads(answer.body)["results"]["bindings"] if b["network"]["value"] == iri]
        out[name] = [{"iri": b[variables[0]]["value"], "label": n.directory.label(b[variables[0]]["value"], lang),
                      **{v: b[v]["value"] for v in variables[1:] if v in b}} for b in rows]
    return out


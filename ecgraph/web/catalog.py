"""``/catalog``: the node's DCAT catalog of twins, each with a distribution per RDF syntax, and
``/void``: the VoID description of the node's dataset; both in any RDF format by content
negotiation (see :mod:`ecgraph.publish.linked`), and pages for browsers."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ecgraph import formats
from ecgraph.publish import catalog as catalog_module
from ecgraph.publish import catalog_pages, dump, linked
from ecgraph.query import results
from ecgraph.web.common import negotiate, node, node_url
from ecgraph.web.face.views import triples_page

bp = Blueprint("catalog", __name__)


def _graph(triples, title: str, path: str, more=None) -> Response:
    """The RDF in the format asked for, or a page for browsers; ``more(triples)``: what to add
    about ``triples`` (on a page, only about those of the page shown)."""
    chosen = negotiate((*formats.GRAPH, formats.HTML))
    if chosen is formats.HTML:
        return triples_page(title, triples, path, more)
    return _rdf(triples + (more(triples) if more else []), chosen)


def _rdf(triples, chosen, links: list[str] | None = None) -> Response:
    out = results.graph(triples, chosen.key, None)
    response = Response(out.body, content_type=out.media_type)
    response.vary.add("Accept")
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


@bp.get("/catalog")
def catalog():
    """The catalog; a larger one than ``--catalog-part`` resources in parts (``?after=``), each
    linking the next (:mod:`ecgraph.publish.catalog_pages`)."""
    n = node()
    base = node_url()
    # each twin's distributions; the bulk dump is a dataset of the catalog too, described at /dump
    resources = n.catalog_resources(dump.catalog_links(base))

    def more(some):
        return linked.distributions(some, base)

    chosen = negotiate((*formats.GRAPH, formats.HTML))
    if chosen is formats.HTML:
        return triples_page("Data catalog", resources, "/catalog", more)
    after = request.args.get("after")
    if after is None and len(resources.keys) <= n.config.catalog_part:
        triples = resources.read(resources.keys)
        return _rdf(triples + more(triples), chosen)
    keys, following = resources.part(after, n.config.catalog_part)
    triples = resources.read(keys)
    first = base + "/catalog"
    here = first if after is None else catalog_pages.after_url(first, after)
    following_url = None if following is None else catalog_pages.after_url(first, following)
    hydra = catalog_pages.view(catalog_module.CATALOG, len(resources.keys), here, first, following_url)
    links = [f'<{first}>; rel="first"'] + ([f'<{following_url}>; rel="next"'] if following_url else [])
    return _rdf(triples + more(triples) + hydra, chosen, links)


@bp.get("/void")
def void():
    n = node()
    statistics = n.dataset_statistics()
    response = _graph(linked.void(node_url(), title="ecgraph: energy communities' digital twins",
                                  triples=statistics["triples"], classes=statistics["classes"],
                                  properties=statistics["properties"],
                                  peers=n.peer_urls(), counted=statistics["computed"]),
                      "VoID description", "/void")
    if not statistics["current"]:  # the last counts, while those of the store as it is are made
        response.headers["X-ECGraph-Statistics"] = f"counted {statistics['computed']}, before the last change"
    return response

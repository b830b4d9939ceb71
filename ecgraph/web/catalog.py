"""``/catalog``: the node's DCAT catalog of twins, each with a distribution per RDF syntax, and
``/void``: the VoID description of the node's dataset; both in any RDF format by content
negotiation (see :mod:`ecgraph.publish.linked`), and pages for browsers."""

from __future__ import annotations

from flask import Blueprint, Response

from ecgraph import formats
from ecgraph.publish import dump, linked
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
    out = results.graph(triples + (more(triples) if more else []), chosen.key, None)
    response = Response(out.body, content_type=out.media_type)
    response.vary.add("Accept")
    return response


@bp.get("/catalog")
def catalog():
    # each twin's distributions; the bulk dump is a dataset of the catalog too, described at /dump
    triples = node().catalog_triples() + list(dump.catalog_links(node_url()))
    return _graph(triples, "Data catalog", "/catalog", lambda some: linked.distributions(some, node_url()))


@bp.get("/void")
def void():
    n = node()
    statistics = n.dataset_statistics()
    response = _graph(linked.void(node_url(), title="ecgraph: energy communities' digital twins",
                                  triples=statistics["triples"], classes=statistics["classes"],
                                  properties=statistics["properties"], twins=statistics["twins"],
                                  peers=n.peer_urls(), counted=statistics["computed"]),
                      "VoID description", "/void")
    if not statistics["current"]:  # the last counts, while those of the store as it is are made
        response.headers["X-ECGraph-Statistics"] = f"counted {statistics['computed']}, before the last change"
    return response

"""``/catalog``: the node's DCAT catalog of twins, in any RDF format by content negotiation (a page
for browsers)."""

from __future__ import annotations

from flask import Blueprint, Response

from ecgraph import formats
from ecgraph.publish import dump
from ecgraph.query import results
from ecgraph.web.common import negotiate, node, node_url
from ecgraph.web.face.views import triples_page

bp = Blueprint("catalog", __name__)


@bp.get("/catalog")
def catalog():
    # the bulk dump is a dataset of the catalog too (issue 16): listed here, described at /dump
    triples = node().catalog_triples() + list(dump.catalog_links(node_url()))
    chosen = negotiate((*formats.GRAPH, formats.HTML))
    if chosen is formats.HTML:
        return triples_page("Data catalog", triples, "/catalog")
    out = results.graph(triples, chosen.key, None)
    response = Response(out.body, content_type=out.media_type)
    response.vary.add("Accept")
    return response

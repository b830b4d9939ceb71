"""``/catalog``: the node's DCAT catalog of twins, in any RDF format by content negotiation (a page
for browsers)."""

from __future__ import annotations

from flask import Blueprint, Response

from ecgraph import formats
from ecgraph.query import results
from ecgraph.web.common import negotiate, node
from ecgraph.web.face.views import triples_page

bp = Blueprint("catalog", __name__)


@bp.get("/catalog")
def catalog():
    chosen = negotiate((*formats.GRAPH, formats.HTML))
    if chosen is formats.HTML:
        return triples_page("Data catalog", node().catalog_triples(), "/catalog")
    out = results.graph(node().catalog_triples(), chosen.key, None)
    response = Response(out.body, content_type=out.media_type)
    response.vary.add("Accept")
    return response

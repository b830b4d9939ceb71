"""``/catalog``: the node's DCAT catalog of twins, in any RDF format by content negotiation."""

from __future__ import annotations

from flask import Blueprint, Response

from ecgraph import formats
from ecgraph.query import results
from ecgraph.web.common import negotiate, node

bp = Blueprint("catalog", __name__)


@bp.get("/catalog")
def catalog():
    out = results.graph(node().catalog_triples(), negotiate(formats.GRAPH).key, None)
    response = Response(out.body, content_type=out.media_type)
    response.vary.add("Accept")
    return response

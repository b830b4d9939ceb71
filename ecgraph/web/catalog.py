"""``/catalog``: the node's DCAT catalog of twins, in any RDF format by content negotiation."""

from __future__ import annotations

from flask import Blueprint, Response, request

from .. import results, standard
from .common import negotiate, node
from .sparql import FORMAT_ALIASES, GRAPH_OFFERS

bp = Blueprint("catalog", __name__)


@bp.get("/catalog")
def catalog():
    fmt = negotiate(GRAPH_OFFERS, "turtle", format_param=request.args.get("format"), aliases=FORMAT_ALIASES)
    triples = node().store.graph_triples(standard.CATALOG_GRAPH)
    out = results.graph(triples, fmt, None)
    response = Response(out.body, content_type=out.media_type)
    response.vary.add("Accept")
    return response

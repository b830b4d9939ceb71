"""``/catalog``: the node's DCAT catalog of twins, in any RDF format by content negotiation."""

from __future__ import annotations

from flask import Blueprint, Response

from ecgraph import formats
from ecgraph.publish import dump
from ecgraph.query import results
from ecgraph.web.common import negotiate, node, node_url

bp = Blueprint("catalog", __name__)


@bp.get("/catalog")
def catalog():
    # the bulk dump is a dataset of the catalog too (issue 16): listed here, described at /dump
    triples = node().catalog_triples() + list(dump.catalog_links(node_url()))
    out = results.graph(triples, negotiate(formats.GRAPH).key, None)
    response = Response(out.body, content_type=out.media_type)
    response.vary.add("Accept")
    return response

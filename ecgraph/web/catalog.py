"""``/catalog``: the node's DCAT catalog of twins, each with a distribution per RDF syntax, and
``/void``: the VoID description of the node's dataset; both in any RDF format by content
negotiation (see :mod:`ecgraph.publish.linked`)."""

from __future__ import annotations

from flask import Blueprint, Response

from ecgraph import formats
from ecgraph.publish import linked
from ecgraph.query import results
from ecgraph.web.common import negotiate, node, node_url

bp = Blueprint("catalog", __name__)


def _graph(triples) -> Response:
    out = results.graph(triples, negotiate(formats.GRAPH).key, None)
    response = Response(out.body, content_type=out.media_type)
    response.vary.add("Accept")
    return response


@bp.get("/catalog")
def catalog():
    triples = node().catalog_triples()
    return _graph(triples + linked.distributions(triples, node_url()))


@bp.get("/void")
def void():
    n = node()
    statistics = n.dataset_statistics()
    return _graph(linked.void(node_url(), title="ecgraph: energy communities' digital twins",
                              triples=statistics["triples"], classes=statistics["classes"],
                              properties=statistics["properties"], twins=statistics["twins"],
                              peers=n.config.peers))

"""Open data for researchers: ``/dump`` (the DCAT description of the node's bulk dump, in any RDF
format by content negotiation) and ``/dump.nq.gz`` (the dump itself: every twin's data in its own
named graph, the catalog records with each twin's licence, gzipped N-Quads). The node writes a new
dump when a twin changed since the last one (:meth:`ecgraph.node.Node.dump`)."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, request, send_file

from ecgraph import formats
from ecgraph.publish.dump import GZIP_MEDIA_TYPE
from ecgraph.query import results
from ecgraph.web.common import negotiate, node, node_url

bp = Blueprint("opendata", __name__)


@bp.get("/dump")
def dump_description():
    out = results.graph(node().dump_description(node_url()), negotiate(formats.GRAPH).key, None)
    response = Response(out.body, content_type=out.media_type)
    response.vary.add("Accept")
    return response


@bp.get("/dump.nq.gz")
def dump_file():
    made = node().dump()
    response = send_file(node().dump_file(made), mimetype=GZIP_MEDIA_TYPE, as_attachment=True,
                         download_name=f"ecgraph-dump-{made.version}.nq.gz", etag=made.sha256,
                         conditional=True, max_age=0)
    digest = base64.b64encode(bytes.fromhex(made.sha256)).decode()
    response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    response.headers["X-Dump-Version"] = str(made.version)
    return response.make_conditional(request)

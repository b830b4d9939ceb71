"""Open data for researchers: ``/dump`` (the DCAT description of the node's bulk dump, in any RDF
format by content negotiation) and ``/dump.nq.gz`` (the dump itself: every twin's data in its own
named graph, the catalog records with each twin's licence, gzipped N-Quads). When a twin changed
since the last dump, a request begins the next one in the background and, after a short wait, is
given the last one (``X-Dump-Status: updating``) (:meth:`ecgraph.node.Node.dump`)."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, request, send_file

from ecgraph import errors, formats
from ecgraph.publish.dump import GZIP_MEDIA_TYPE
from ecgraph.query import results
from ecgraph.web.common import negotiate, node, node_url

bp = Blueprint("opendata", __name__)


def _dump():
    """The dump to serve, and the header that says whether a newer one is being made."""
    n = node()
    made = n.dump(wait=n.config.dump_wait)
    return made, {"X-Dump-Version": str(made.version), "X-Dump-Status": n.dump_status(made)}


@bp.get("/dump")
def dump_description():
    chosen = negotiate(formats.GRAPH)  # before the dump is looked for: a wrong Accept costs nothing
    made, headers = _dump()
    out = results.graph(node().dump_description(made, node_url()), chosen.key, None)
    response = Response(out.body, content_type=out.media_type, headers=headers)
    response.vary.add("Accept")
    return response


@bp.get("/dump.nq.gz")
def dump_file():
    for attempt in (1, 2):
        made, headers = _dump()
        try:
            response = send_file(node().dump_file(made), mimetype=GZIP_MEDIA_TYPE, as_attachment=True,
                                 download_name=f"ecgraph-dump-{made.version}.nq.gz", etag=made.sha256,
                                 conditional=True, max_age=0)
            break
        except FileNotFoundError:  # a newer dump replaced it between the two reads: serve that one
            if attempt == 2:
                raise errors.Unavailable("the bulk dump was being replaced; ask again", retry_after=1) from None
    digest = base64.b64encode(bytes.fromhex(made.sha256)).decode()
    response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    response.headers.update(headers)
    return response.make_conditional(request)

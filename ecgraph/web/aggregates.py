"""Named network aggregates at ``/api/aggregates``: the figures the pages and the example questions
use (PV capacity per network, every indicator's values, installed capacity per technology and
network, members per member type and network, one indicator per community in one year: its
parameters are the request's arguments, ``?indicator=ec:kpi-...&year=2016&order=DESC&first=50``),
kept up to date at publishing (:mod:`ecgraph.query.figures`) and answered in milliseconds, in the
SPARQL results formats, equal to what their raw query (listed with each) gives on ``/sparql``."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ecgraph import formats
from ecgraph.query.figures import AGGREGATES
from ecgraph.web.common import caller, negotiate, node, node_url
from ecgraph.web.sparql import _limit, not_modified, result_response

bp = Blueprint("aggregates", __name__)


@bp.get("/api/aggregates")
def listing():
    base = node_url()
    return jsonify({"aggregates": [
        {"name": a.name, "title": a.title, "url": f"{base}/api/aggregates/{a.name}", "query": a.raw,
         **({"template": a.template,
             "parameters": [{"name": p.name, "example": p.example} for p in a.parameters]} if a.parameters else {})}
        for a in AGGREGATES.values()], "ready": node().figures.ready, "built": node().figures.built})


@bp.get("/api/aggregates/<name>")
def aggregate(name: str):
    n = node()
    named = n.named_aggregate(name)
    values = named.values(request.args)  # the question's parameters (indicator=, year=...), if it has any
    fmt = negotiate(formats.RESULTS).key
    limit = _limit(request.args.get("limit"), n.config.max_result_rows)
    if n.figures.current():
        unchanged = not_modified(n.aggregate_etag(name, fmt, limit, values=values))
        if unchanged is not None:
            return unchanged
    result = n.aggregate(name, fmt, limit, caller=caller(), values=values)
    assert result is not None  # raw=True: the raw query answers while the figures are built
    response = result_response(result, limit)
    return not_modified(response.headers.get("ETag")) or response

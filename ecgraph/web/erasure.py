"""``POST /api/twins/<id>/erasure``: a publisher (the twin's token) or the admin erases a person's
data from a twin, its current data and every archived version (:meth:`ecgraph.node.Node.erase`).

The body is JSON: ``{"erase": "<IRI of a person, household or contact point, or a value of one>"}``.
The answer says how many statements went from the current data and from each archived version.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ecgraph import errors
from ecgraph.web.common import caller, node, text

bp = Blueprint("erasure", __name__, url_prefix="/api")


@bp.post("/twins/<twin_id>/erasure")
def erase(twin_id: str):
    n = node()
    n.twin_info(twin_id)
    n.check_writer(twin_id, caller())
    body = request.get_json(silent=True)
    target = body.get("erase") if isinstance(body, dict) else None
    if not isinstance(target, str) or not target.strip():
        raise errors.BadRequest('send JSON like {"erase": "mailto:jan@example.org"}: the IRI of a person, household '
                                "or contact point, or a value of one (a name, an e-mail address, a telephone number)")
    erased = n.erase(twin_id, text(target, "erase", 4096), caller=caller())
    return jsonify(erased.to_dict())

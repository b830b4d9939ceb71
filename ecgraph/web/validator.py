"""The conformance validator for tool vendors: ``POST /api/validate``.

The same pipeline code as publishing (parse, then validate), run in the same killable workers,
without storing anything.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..ingest import IngestError
from ..pipeline import Upload
from ..validate import PROFILE_CHOICES
from ..workers import PoolBusy, TaskTimeout, WorkerDied
from .common import ApiError, from_ingest, node

bp = Blueprint("validator", __name__)


@bp.post("/api/validate")
def validate():
    n = node()
    profile = request.values.get("profile", "core")
    if profile not in PROFILE_CHOICES:
        raise ApiError(400, "bad request", f"profile must be one of {', '.join(PROFILE_CHOICES)}")
    upload = Upload(data=request.get_data(), media_type=request.content_type,
                    format_name=request.args.get("input-format"), profile=profile,
                    refuse_violations=False, max_bytes=n.config.max_upload_bytes,
                    max_triples=n.config.max_triples)
    try:
        report = n.check(upload)
    except IngestError as exc:
        raise from_ingest(exc) from None
    except TaskTimeout:
        raise ApiError(503, "timeout", f"validation took longer than {n.config.publish_timeout:g} s") from None
    except PoolBusy as exc:
        raise ApiError(503, "busy", str(exc)) from None
    except WorkerDied as exc:
        raise ApiError(500, "validation failed", str(exc)) from None
    return jsonify(report.to_dict())

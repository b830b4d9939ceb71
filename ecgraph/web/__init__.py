"""The node's HTTP face: a Flask app factory, one blueprint per audience.

* :mod:`.sparql`: the SPARQL 1.1 Protocol (everyone's queries; the admin's updates);
* :mod:`.graphstore`: the Graph Store HTTP Protocol;
* :mod:`.api`: the REST API for publishers and operators;
* :mod:`.validator`: the conformance validator for tool vendors (and :mod:`.openapi`, its description);
* :mod:`.catalog`: the DCAT catalog;
* :mod:`.pages`: the HTML pages (home, query editor);
* :mod:`.ops`: health and metrics.

Nothing happens at import time; ``create_app(node)`` builds an app over an open node.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..node import Node
from .common import FORM_FRAMING, SECURITY_HEADERS, ApiError, node_url, remove_temp_files, too_large_detail

log = logging.getLogger("ecgraph.web")


def create_app(node: Node) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = node.config.max_upload_bytes + FORM_FRAMING
    # a pasted document is a form field: the upload limit applies, not Flask's 500 KB default
    app.config["MAX_FORM_MEMORY_SIZE"] = node.config.max_upload_bytes
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    app.extensions["ecgraph.node"] = node

    from . import api, catalog, graphstore, openapi, ops, pages, sparql, validator

    ops.install(app)
    app.teardown_request(remove_temp_files)
    for module in (sparql, graphstore, api, validator, openapi, catalog, ops, pages):
        app.register_blueprint(module.bp)

    @app.after_request
    def _security_headers(response):
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.context_processor
    def _node_url():
        return {"node_url": node_url()}

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        error, detail = exc.name.lower(), exc.description or ""
        if exc.code == 413:  # the body, or a form field of it (a pasted document), is over the limit
            error, detail = "too large", too_large_detail(node.config.max_upload_bytes)
        out = jsonify({"error": error, "detail": detail})
        out.status_code = exc.code or 500
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            out.headers["Allow"] = ", ".join(exc.valid_methods)
        return out

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error")
        out = jsonify({"error": "internal error", "detail": f"{type(exc).__name__}: the node could not "
                                                             "answer; nothing was changed"})
        out.status_code = 500
        return out

    return app

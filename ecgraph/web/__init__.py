"""The node's HTTP face: a Flask app factory, one blueprint per audience.

* :mod:`.sparql`: the SPARQL 1.1 Protocol (everyone's queries; the admin's updates);
* :mod:`.graphstore`: the Graph Store HTTP Protocol;
* :mod:`.api`: the REST API for publishers and operators;
* :mod:`.validator`: the conformance validator for tool vendors (and :mod:`.openapi`, its description);
* :mod:`.catalog`: the DCAT catalog;
* :mod:`.pages`: the HTML pages (home, query editor);
* :mod:`.face`: the pages for people (directory, community, network and resource pages, ``/ns``);
* :mod:`.ops`: health and metrics;
* :mod:`.network`: the change stream, the peers, harvest and network queries;
* :mod:`.aggregates`: the named network aggregates kept up to date at publishing;
* :mod:`.discovery`: similar communities, lessons, comparisons, tools and places (JSON);
* :mod:`.server`: the HTTP server, with its deadlines.

The views talk to :class:`ecgraph.node.Node` only. Every failure is an :class:`ecgraph.errors.Error`
that knows its status; :func:`create_app` renders them all in one handler, beside the framework's
own (unknown paths, wrong methods) and the unexpected. Nothing happens at import time.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from ecgraph import errors
from ecgraph.node import Node
from ecgraph.web.common import FORM_FRAMING, SECURITY_HEADERS, node_url, remove_temp_files, too_large_detail

log = logging.getLogger("ecgraph.web")


def error_response(error: errors.Error) -> Response:
    """The answer to a failure: ``{"error": title, "detail": ..., **extra}`` with its status."""
    out = jsonify(error.to_dict())
    out.status_code = error.status
    out.headers.update(error.http_headers())
    return out


def create_app(node: Node) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = node.config.max_upload_bytes + FORM_FRAMING
    # a pasted document is a form field: the upload limit applies, not Flask's 500 KB default
    app.config["MAX_FORM_MEMORY_SIZE"] = node.config.max_upload_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["ecgraph.node"] = node

    from ecgraph.web import (
        aggregates,
        api,
        catalog,
        discovery,
        erasure,
        face,
        graphstore,
        network,
        openapi,
        opendata,
        ops,
        pages,
        sparql,
        validator,
    )

    ops.install(app)
    app.teardown_request(remove_temp_files)
    for module in (sparql, graphstore, api, validator, openapi, catalog, ops, pages, opendata, erasure, face,
                   aggregates, network):
        app.register_blueprint(module.bp)
    app.register_blueprint(discovery.bp)
    from ecgraph.web.face import publish as face_publish

    app.register_blueprint(face_publish.bp)

    @app.after_request
    def _security_headers(response):
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @app.context_processor
    def _node_url():
        return {"node_url": node_url()}

    @app.errorhandler(errors.Error)
    def _error(exc: errors.Error):
        ops.count_error(exc)
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 413:  # the body, or a form field of it (a pasted document), is over the limit
            return error_response(errors.TooLarge(too_large_detail(node.config.max_upload_bytes)))
        out = jsonify({"error": (exc.name or "error").lower(), "detail": exc.description or ""})
        out.status_code = exc.code or 500
        allowed = getattr(exc, "valid_methods", None)
        if exc.code == 405 and allowed:
            out.headers["Allow"] = ", ".join(allowed)
        return out

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error")
        return error_response(errors.Error(f"{type(exc).__name__}: the node could not answer; nothing was changed"))

    return app

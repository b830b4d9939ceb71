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

from flask import Flask, Response, has_request_context, jsonify, render_template, request
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException

from ecgraph import errors
from ecgraph.node import Node
from ecgraph.web.common import FORM_FRAMING, SECURITY_HEADERS, node_url, remove_temp_files, too_large_detail

log = logging.getLogger("ecgraph.web")


#: paths whose clients are programs: their failures are always the JSON problem
MACHINE_PATHS = ("/api/", "/sparql", "/update", "/store", "/void", "/dump", "/catalog", "/health", "/metrics")


#: what an error page says first, by status (its words are translated; the detail says what and how)
PAGE_HEADINGS = {400: "Something in this request is not right", 401: "Not allowed", 403: "Not allowed",
                 404: "Not found", 405: "Not possible here", 409: "Not accepted", 412: "Not accepted",
                 413: "Too large", 415: "Not accepted", 422: "Not accepted", 429: "Busy: try again soon",
                 500: "The node could not answer", 503: "Busy: try again soon"}


def wants_page() -> bool:
    """A browser asking for a page (it names HTML and prefers it), not a program."""
    if not has_request_context() or request.path.startswith(MACHINE_PATHS):
        return False
    accept = request.accept_mimetypes
    return "text/html" in accept.values() and accept.best_match(["text/html", "application/json"]) == "text/html"


def error_response(error: errors.Error) -> Response:
    """The answer to a failure: ``{"error": title, "detail": ..., **extra}`` with its status; a
    browser asking for a page gets the same words as a page in its language, with a way on."""
    if wants_page():
        heading = PAGE_HEADINGS.get(error.status, PAGE_HEADINGS[500 if error.status >= 500 else 400])
        out = Response(render_template("face/error.html", status=error.status, title=error.title, heading=heading,
                                       detail=error.detail), status=error.status, mimetype="text/html")
        out.headers.update(error.http_headers())
        return out
    out = jsonify(error.to_dict())
    out.status_code = error.status
    out.headers.update(error.http_headers())
    return out


#: a finished read larger than this gets no ETag of its body (hashing it would cost more than the
#: bandwidth a 304 saves is worth on the node's side); the big reads (dumps, /store, SPARQL) set
#: their own ETag from what they read, before any of it is computed
CONDITIONAL_MAX_BYTES = 16 * 2**20
#: the reads that change at every request, for which a validator means nothing
_NEVER_CONDITIONAL = frozenset({"ops.health", "ops.metrics"})


def conditional(response: Response) -> Response:
    """Every successful read that did not set its own ``ETag`` (the pages, the directory, JSON of
    the API, ``/ns``, ``/catalog``, ...) gets a strong one, a digest of the bytes it sends, and a
    request whose ``If-None-Match`` names it gets ``304 Not Modified`` without the body (RFC 9110:
    weak comparison for GET and HEAD). The page is still built (its inputs are many: the store,
    the catalog, the discovery index, the figures, the language); what a 304 saves is the transfer
    and the client's parsing. Streamed answers and files are left as they are."""
    if (request.method not in ("GET", "HEAD") or response.status_code != 200 or response.direct_passthrough
            or not response.is_sequence or "ETag" in response.headers or request.endpoint in _NEVER_CONDITIONAL
            or response.cache_control.no_store):
        return response
    length = response.calculate_content_length()
    if length is None or length > CONDITIONAL_MAX_BYTES:
        return response
    response.add_etag()
    response.make_conditional(request)  # turns it into the 304 in place
    return response


class ClosingClient(FlaskClient):
    """Flask's test client, closing every answer as a WSGI server does once it has sent it: the
    access log and the metrics are written then (:func:`ops.record`). Pass ``buffered=False`` to
    read a streamed answer as it comes (and close it)."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


def create_app(node: Node) -> Flask:
    app = Flask(__name__)
    app.test_client_class = ClosingClient
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
    app.wsgi_app = sparql.PlainQueries(app.wsgi_app, app)  # type: ignore[method-assign]
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

    @app.after_request  # registered after ops' access log, so it runs before it: the log says 304
    def _conditional(response):
        return conditional(response)

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
        if wants_page():  # an address that is no page, say: the page says so with a way on
            return error_response(errors.Error(exc.description or "", status=exc.code or 500,
                                               title=(exc.name or "error").lower()))
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

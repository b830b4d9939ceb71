"""What every blueprint shares: the node and its URL, who is calling, the headers every answer
carries, request bodies, conditional requests and content negotiation.

Errors are not handled here: views raise :mod:`ecgraph.errors` and ``create_app`` renders them, all
in one handler.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterable

import pyoxigraph as ox
from flask import current_app, g, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header
from werkzeug.wsgi import get_current_url

from ecgraph import errors, formats
from ecgraph.node import Caller, Node, Precondition

#: room for multipart framing (boundaries, part headers) above the upload limit in a request body
FORM_FRAMING = 64 * 1024

#: sent with every answer. The pages load nothing from elsewhere and run no inline script (the
#: query editor is /static/query.js; its examples are a JSON data block, which is not executed).
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                "connect-src 'self'; form-action 'self'; base-uri 'none'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def too_large_detail(limit: int) -> str:
    """What a client sending too large a body is told, wherever the limit is met."""
    return (f"the request body is larger than this node accepts: {_size(limit)} ({limit:,} bytes). "
            "Send a smaller document, or ask the node's operator to raise the limit "
            "(--max-upload-bytes or ECGRAPH_MAX_UPLOAD_BYTES)")


def _size(count: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= factor:
            return f"{count / factor:.3g} {unit}"
    return f"{count} bytes"


def node() -> Node:
    return current_app.extensions["ecgraph.node"]


def caller() -> Caller:
    """Who asks: the bearer token (if any) and the client's address (as the HTTP server, or a proxy
    it trusts, reports it; workers are shared fairly between addresses)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return Caller(token=bearer, address=request.remote_addr or "")


def node_url() -> str:
    """The node's own URL for links in answers: the configured public URL when there is one (a
    client's Host header must not decide where other clients are sent), else the URL this
    request came to."""
    return url_of(node(), request.environ)


def url_of(n: Node, environ: dict) -> str:
    """:func:`node_url` from a WSGI environ, for code that runs before the app."""
    if n.config.public_url:
        return n.config.public_url.rstrip("/")
    return _root_url(environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
                     environ.get("SERVER_PORT"), environ.get("SCRIPT_NAME", ""))


@functools.lru_cache(maxsize=64)
def _root_url(scheme: str, host: str | None, server_name: str | None, port: str | None, script_name: str) -> str:
    """werkzeug's root URL of a request with these parts (all it reads), kept for the few a node
    is reached by: its decoding costs about 20 us, which every plain query paid (bench/overhead.py).
    The cache is small and bounded: varied Host headers only push each other out."""
    environ = {"wsgi.url_scheme": scheme, "SCRIPT_NAME": script_name}
    for name, value in (("HTTP_HOST", host), ("SERVER_NAME", server_name), ("SERVER_PORT", port)):
        if value is not None:
            environ[name] = value
    return get_current_url(environ, root_only=True).rstrip("/")


# --- parameters ---------------------------------------------------------------------------------

def multi(name: str) -> list[str]:
    """A repeatable parameter from the query string and, for form posts, the body."""
    values = list(request.args.getlist(name))
    if request.mimetype == "application/x-www-form-urlencoded":
        values.extend(request.form.getlist(name))
    return values


def iri_list(values: Iterable[str], name: str) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(ox.NamedNode(value).value)
        except ValueError:
            raise errors.BadRequest(f"{name} {value!r} is not a valid IRI") from None
    return out


def whole(value: str | None, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole-number parameter, ASCII digits only (``int()`` also takes ``²`` and ``٣``)."""
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 40) or int(value) < minimum:
        raise errors.BadRequest(f"{name} must be a whole number of at least {minimum}, not {value!r}")
    number = int(value)
    return number if maximum is None else min(number, maximum)


def text(value, name: str, limit: int) -> str:
    """A required piece of text from a JSON body: a non-empty string of valid Unicode."""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise errors.BadRequest(f"{name} must be a non-empty string of at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.BadRequest(f"{name} holds a character that is not valid Unicode text (a lone "
                                "surrogate); send it as UTF-8 text") from None
    return value


#: the parameters clients name a result format with (Fuseki's output=, SPARQLWrapper's format=
#: and results=)
FORMAT_PARAMETERS = ("format", "output", "results")


def negotiate(offers: tuple[formats.Format, ...]) -> formats.Format:
    """The format to answer in, by a format parameter or the Accept header (see
    :func:`formats.negotiate`)."""
    values = [v for name in FORMAT_PARAMETERS for v in request.values.getlist(name)]
    if values:
        return formats.negotiate(offers, request.accept_mimetypes, format_param=values)
    return by_accept(offers, request.environ.get("HTTP_ACCEPT"))


#: Accept headers longer than this are negotiated afresh each time (a client's own header is short)
REMEMBERED_ACCEPT = 256


def by_accept(offers: tuple[formats.Format, ...], header: str | None) -> formats.Format:
    """:func:`formats.negotiate` by an ``Accept`` header alone. Each client library sends the same
    header every time, and parsing and matching it cost about 30 us (80 for a browser's), a tenth
    of the node's own work on a cold lookup: the choices for the last few hundred short headers
    are remembered (a refusal, a 406, is not)."""
    if header is not None and len(header) <= REMEMBERED_ACCEPT:
        return _by_short_accept(offers, header)
    return _by_header(offers, header)


def _by_header(offers: tuple[formats.Format, ...], header: str | None) -> formats.Format:
    return formats.negotiate(offers, parse_accept_header(header, MIMEAccept))


_by_short_accept = functools.lru_cache(maxsize=512)(_by_header)


# --- request bodies -----------------------------------------------------------------------------

#: bodies up to this size are read into memory; larger ones stream to a file that the worker
#: preparing the upload reads, so the main process never holds a large upload
SPOOL_ABOVE = 1024 * 1024


def upload_limit_error() -> errors.TooLarge:
    return errors.TooLarge(too_large_detail(node().config.max_upload_bytes) + "; nothing was stored")


def request_body() -> tuple[bytes, str | None]:
    """The body as ``(data, None)`` when small, or ``(b"", path)`` of a temporary file removed
    when the request ends. Refused with a 413 as soon as it is known to be over the limit."""
    limit = node().config.max_upload_bytes
    length = request.content_length
    if length is not None and length > limit:
        raise upload_limit_error()
    stream = request.stream
    if length is not None and length <= SPOOL_ABOVE:
        data = stream.read(length + 1)
        if len(data) > limit:
            raise upload_limit_error()
        return data, None
    fd, path = tempfile.mkstemp(dir=node().tmp_dir, suffix=".upload")
    g.setdefault("ecgraph_temp_files", []).append(path)
    size = 0
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = stream.read(256 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise upload_limit_error()
            out.write(chunk)
    if size <= SPOOL_ABOVE:  # small after all (a chunked body): keep it in memory
        with open(path, "rb") as fh:
            return fh.read(), None
    return b"", path


def remove_temp_files(_exc=None) -> None:
    for path in g.pop("ecgraph_temp_files", []):
        try:
            os.unlink(path)
        except OSError:
            pass


# --- conditional requests -------------------------------------------------------------------------

def precondition() -> Precondition | None:
    """``If-Match`` / ``If-None-Match: *`` of a write, as the node checks them under the twin's
    lock. Weak ETags never match (RFC 9110 compares strongly for If-Match)."""
    if_match = request.headers.get("If-Match")
    if_none_match = request.headers.get("If-None-Match")
    if if_match is None and if_none_match is None:
        return None
    out = Precondition()
    if if_match is not None:
        tags = {t.strip() for t in if_match.split(",") if t.strip()}
        out.if_match = {t for t in tags if not t.startswith("W/")}
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise errors.BadRequest("a write accepts only If-None-Match: * (create only if the twin has no "
                                    "data); use If-Match with the ETag you read to update")
        out.if_none_match_any = True
    return out

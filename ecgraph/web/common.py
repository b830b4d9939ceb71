"""What every blueprint shares: the node and its URL, JSON errors and the headers every answer
carries, bearer tokens and content negotiation."""

from __future__ import annotations

import os
import tempfile
from typing import Iterable

from flask import Response, current_app, g, jsonify, request

from ..ingest import IngestError
from ..node import Node, Precondition


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


class ApiError(Exception):
    """An error answer: ``{"error": ..., "detail": ...}`` with an HTTP status (see CONTRACT.md)."""

    def __init__(self, status: int, error: str, detail: str = "", *, retry_after: int | None = None, **extra):
        super().__init__(detail or error)
        self.status = status
        self.error = error
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}
        if retry_after is not None:  # a 503 tells the client when trying again makes sense
            self.headers["Retry-After"] = str(retry_after)

    def response(self) -> Response:
        body = {"error": self.error, "detail": self.detail}
        body.update(self.extra)
        out = jsonify(body)
        out.status_code = self.status
        for key, value in self.headers.items():
            out.headers[key] = value
        return out


def node() -> Node:
    return current_app.extensions["ecgraph.node"]


def client_key() -> str:
    """Who is asking, for sharing workers fairly: the client's address (as the HTTP server, or a
    proxy it trusts, reports it)."""
    return request.remote_addr or ""


def node_url() -> str:
    """The node's own URL for links in answers: the configured public URL when there is one (a
    client's Host header must not decide where other clients are sent), else the URL this
    request came to."""
    public = node().config.public_url
    return public.rstrip("/") if public else request.url_root.rstrip("/")


def from_ingest(exc: IngestError) -> ApiError:
    extra = {}
    if exc.line is not None:
        extra["line"] = exc.line
    if exc.column is not None:
        extra["column"] = exc.column
    if exc.hint:
        extra["hint"] = exc.hint
    title = {400: "parse error", 413: "too large", 415: "unsupported media type"}.get(exc.status, "invalid input")
    return ApiError(exc.status, title, exc.message, **extra)


# --- tokens -------------------------------------------------------------------------------------

def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_admin() -> None:
    token = bearer_token()
    if token is None:
        raise _unauthorized("this operation needs the node's admin token")
    if not node().is_admin(token):
        raise ApiError(403, "forbidden", "the token is not the node's admin token")


def require_writer(twin_id: str) -> bool:
    """Allow the twin's own publisher token or the admin token; return whether it was admin."""
    token = bearer_token()
    if token is None:
        raise _unauthorized(f"writing twin {twin_id!r} needs its publisher token or the admin token")
    n = node()
    if n.is_admin(token):
        return True
    if n.registry.check_token(twin_id, token):
        return False
    raise ApiError(403, "forbidden", f"the token does not grant writes to twin {twin_id!r}")


def _unauthorized(detail: str) -> ApiError:
    error = ApiError(401, "unauthorized", detail)
    error.headers["WWW-Authenticate"] = 'Bearer realm="ecgraph"'
    return error


# --- content negotiation ------------------------------------------------------------------------

def _accept_entries(header: str) -> list[tuple[str, float, int]]:
    entries = []
    for position, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        entries.append((media, q, position))
    return entries


def negotiate(offers: dict[str, str], default: str, *, format_param: str | None = None,
              aliases: dict[str, str] | None = None) -> str:
    """Pick a format key from ``offers`` (media type -> key) by ``?format=`` or the Accept header.

    Specific media types beat wildcards, then higher q, then the client's order. ``*/*`` or no
    header gives ``default``. Nothing acceptable is a 406 that lists what we offer.
    """
    if format_param:
        wanted = format_param.strip().lower()
        keys = set(offers.values())
        if wanted in keys:
            return wanted
        if aliases and wanted in aliases:
            return aliases[wanted]
        if wanted in offers:
            return offers[wanted]
        raise ApiError(406, "not acceptable", f"unknown format {format_param!r}; use one of "
                                              f"{', '.join(sorted(keys))}")
    header = request.headers.get("Accept", "")
    if not header.strip():
        return default
    best = None
    for media, q, position in _accept_entries(header):
        if q <= 0:
            continue
        if media in offers:
            key = offers[media]
            rank = (0, -q, position)
        elif media in ("*/*", "*"):
            key = default
            rank = (2, -q, position)
        elif media.endswith("/*"):
            family = media[:-1]
            key = next((k for m, k in offers.items() if m.startswith(family)), None)
            if key is None:
                continue
            if offers_default_in_family(offers, default, family):
                key = default
            rank = (1, -q, position)
        else:
            continue
        if best is None or rank < best[0]:
            best = (rank, key)
    if best is None:
        raise ApiError(406, "not acceptable", "none of the requested media types can be produced; "
                                              f"available: {', '.join(sorted(set(offers)))}")
    return best[1]


def offers_default_in_family(offers: dict[str, str], default: str, family: str) -> bool:
    return any(m.startswith(family) and k == default for m, k in offers.items())


def multi(name: str) -> list[str]:
    """A repeatable parameter from the query string and, for form posts, the body."""
    values = list(request.args.getlist(name))
    if request.mimetype == "application/x-www-form-urlencoded":
        values.extend(request.form.getlist(name))
    return values


def iri_list(values: Iterable[str], name: str) -> list[str]:
    import pyoxigraph as ox

    out = []
    for value in values:
        try:
            out.append(ox.NamedNode(value).value)
        except ValueError:
            raise ApiError(400, "bad request", f"{name} {value!r} is not a valid IRI") from None
    return out


# --- request bodies -----------------------------------------------------------------------------

#: bodies up to this size are read into memory; larger ones stream to a file that the worker
#: preparing the upload reads, so the main process never holds a large upload
SPOOL_ABOVE = 1024 * 1024


def upload_limit_error() -> ApiError:
    return ApiError(413, "too large", too_large_detail(node().config.max_upload_bytes) + "; nothing was stored")


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
    directory = node().tmp_dir
    fd, path = tempfile.mkstemp(dir=directory, suffix=".upload")
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
            raise ApiError(400, "bad request", "a write accepts only If-None-Match: * (create only if the twin "
                                               "has no data); use If-Match with the ETag you read to update")
        out.if_none_match_any = True
    return out

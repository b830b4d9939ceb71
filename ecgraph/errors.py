"""Every failure a client can be told about, with its HTTP status, in one family of exceptions.

A domain error carries what the answer needs as class attributes (``status``, ``title``) and, per
instance, a ``detail`` a person can act on (what, where, how to fix) and the ``extra`` fields the
JSON answer adds (a report, the line and column of a parse error, the subjects a twin may not speak
for). The web layer renders every :class:`Error` in one handler (``ecgraph/web/__init__.py``, as
Datasette's ``Base400`` and Flask's ``register_error_handler`` do), the command line prints the
detail; nobody chooses a status by reading a message.

Errors cross process boundaries (a worker parses an upload and raises): pickling keeps the class
and every attribute.
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[Error], args: tuple, state: dict) -> Error:
    error = Exception.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class Error(Exception):
    """A failure with an HTTP status: ``{"error": title, "detail": detail, **extra}``."""

    status: int = 500
    title: str = "internal error"
    #: seconds after which trying again makes sense (a ``Retry-After`` header)
    retry_after: int | None = None

    def __init__(self, detail: str = "", *, status: int | None = None, title: str | None = None,
                 retry_after: int | None = None, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail or self.title)
        self.detail = detail
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        if retry_after is not None:
            self.retry_after = retry_after
        self.headers: dict[str, str] = dict(headers or {})
        self.extra: dict[str, Any] = extra

    @property
    def message(self) -> str:
        return self.detail

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.title, "detail": self.detail}
        out.update(self.extra)
        return out

    def http_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers

    def __reduce__(self):
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class BadRequest(Error):
    status, title = 400, "bad request"


class Unauthorized(Error):
    status, title = 401, "unauthorized"

    def __init__(self, detail: str = "", **kwargs: Any):
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="ecgraph"')


class Forbidden(Error):
    status, title = 403, "forbidden"


class NotFound(Error):
    status, title = 404, "not found"


class MethodNotAllowed(Error):
    status, title = 405, "method not allowed"


class NotAcceptable(Error):
    status, title = 406, "not acceptable"


class Conflict(Error):
    status, title = 409, "conflict"


class PreconditionFailed(Error):
    """A conditional write (``If-Match`` / ``If-None-Match``) found the twin in another state."""

    status, title = 412, "precondition failed"


class TooLarge(Error):
    status, title = 413, "too large"


class UnsupportedMediaType(Error):
    status, title = 415, "unsupported media type"


class Unprocessable(Error):
    status, title = 422, "unprocessable"


class BadGateway(Error):
    status, title = 502, "bad gateway"


class Unavailable(Error):
    status, title = 503, "unavailable"


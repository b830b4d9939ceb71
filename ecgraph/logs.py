"""The node's log: one line per event, as text or as JSON (``--log-format json``), never a token.

Three kinds of lines:

* the access log (logger ``ecgraph.access``): one line per HTTP request answered, with the client,
  method, path, status, bytes and milliseconds (:func:`access`, called by :mod:`ecgraph.web.ops`);
* events (logger ``ecgraph.events``): one line per publish, reject, refresh and harvest, with the
  twin or peer they concern (:func:`event`; :meth:`ecgraph.node.Node.publish` emits ``publish`` and
  ``reject``; ``refresh`` and ``harvest`` are for the code that refreshes sourced twins and
  harvests peers: :func:`refreshed`, :func:`harvested`);
* everything else the node logs (warnings, errors), under its module's logger.

In JSON each line is one object: ``time``, ``level``, ``logger``, ``message``, and the event's or
request's fields. Whatever the format, every line passes :class:`Redact` before it is written:
bearer tokens, the node's tokens (``ecg_...``), ``token=`` parameters and the secrets the node was
given (its admin token) are replaced by ``[redacted]``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

ACCESS = logging.getLogger("ecgraph.access")
EVENTS = logging.getLogger("ecgraph.events")

REDACTED = "[redacted]"
#: what a token looks like wherever it appears: a bearer credential, one of the node's own tokens
#: (long enough to use: a hint of 8 characters is kept), a token or key given as a parameter
_TOKENS = re.compile(r"(?i)(bearer\s+)\S+|ecg_[A-Za-z0-9_\-]{12,}|((?:access_)?token|api_key|password)=[^&\s\"']+")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _TOKENS.sub(lambda m: (m.group(1) or (m.group(2) + "=" if m.group(2) else "")) + REDACTED, text)


class Redact(logging.Filter):
    """Rewrites a record's message (with its arguments) and fields so that no token survives."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message, self.secrets), None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {k: redact(v, self.secrets) if isinstance(v, str) else v for k, v in fields.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {
            "time": stamp.replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual line, with an event's fields after the message as ``key=value``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and getattr(record, "event", None) is not None:
            line += " " + " ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in fields.items()
                                   if k not in ("event",))
        return line


def configure(log_format: str = "text", secrets: Iterable[str] = (), level: int = logging.INFO) -> None:
    """Every handler of the root logger writes ``log_format`` lines through :class:`Redact` (a
    handler is added where there is none)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    root.setLevel(level)
    EVENTS.setLevel(logging.NOTSET)
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    for handler in root.handlers:
        handler.setFormatter(formatter)
        for old in [f for f in handler.filters if isinstance(f, Redact)]:
            handler.removeFilter(old)
        handler.addFilter(Redact(secrets))


def event(name: str, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """One line for an event of the node's life (``publish``, ``reject``, ``refresh``, ``harvest``)."""
    EVENTS.log(level, message, extra={"event": name, "fields": {"event": name, **fields}})


def refreshed(twin_id: str, *, source: str, ok: bool, version: int | None = None, detail: str = "") -> None:
    """The hook for refreshing a twin from its source URL: call once per refresh."""
    event("refresh", f"refreshed twin {twin_id} from {source}" if ok else f"refreshing twin {twin_id} failed",
          logging.INFO if ok else logging.WARNING, twin=twin_id, source=source, ok=ok, version=version,
          detail=detail)


def harvested(peer: str, *, ok: bool, twins: int = 0, detail: str = "") -> None:
    """The hook for harvesting a peer: call once per peer harvested."""
    event("harvest", f"harvested {twins} twins from {peer}" if ok else f"harvesting {peer} failed",
          logging.INFO if ok else logging.WARNING, peer=peer, ok=ok, twins=twins, detail=detail)


def access(*, client: str, method: str, path: str, query: str, status: int, size: int | None, started: float,
           agent: str = "") -> None:
    """One access-log line (the query string cut to 200 characters: a query may be long)."""
    elapsed = (time.perf_counter() - started) * 1000
    shown = path + ("?" + query[:200] + ("…" if len(query) > 200 else "") if query else "")
    ACCESS.info('%s "%s %s" %d %s %.1fms', client or "-", method, shown, status, "-" if size is None else size,
                elapsed, extra={"fields": {"client": client, "method": method, "path": path,
                                           "query": query[:200], "status": status, "bytes": size,
                                           "ms": round(elapsed, 1), "agent": agent[:200]}})

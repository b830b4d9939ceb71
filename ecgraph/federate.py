"""Which other endpoints a query may reach: the peer allowlist and the SPARQL that reaches out.

pyoxigraph follows ``SERVICE`` and ``LOAD`` to any URL, with no timeout and no switch to turn
that off, so a public endpoint that runs user queries unchecked is an open proxy into the
server's network (SSRF). Here every query and update is tokenised the way a SPARQL parser
tokenises it (strings, IRIs and comments cannot hide or fake a keyword), every ``SERVICE`` and
``LOAD`` target is resolved (``BASE``, prefixes, ``\\u`` escapes in IRIs) and checked against the
configured peers. A target we cannot resolve statically (a variable) is refused.

The same tokens tell the endpoint what kind of request it holds (SELECT, CONSTRUCT, ASK, DESCRIBE
or an update), which content negotiation needs before the query runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_KEYWORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")

_PN_CHARS_BASE = "A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D" \
                 "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF"
_PN_CHARS = _PN_CHARS_BASE + "_0-9\u00B7\u0300-\u036F\u203F-\u2040\\-"

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
  | (?P<var>[?$][%(pnb)s_0-9\u00B7\u0300-\u036F\u203F-\u2040]+)
  | (?P<pname>(?:[%(pnb)s](?:[%(pn)s.]*[%(pn)s])?)?:(?:(?:[%(pn)s:0-9]|%%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?\#@%%])
                 (?:(?:[%(pn)s.:]|%%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?\#@%%])*(?:[%(pn)s:]|%%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?\#@%%]))?)?)
  | (?P<bnode>_:[%(pn)s0-9.]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>\^\^|@[A-Za-z]+(?:-[A-Za-z0-9]+)*|[0-9][0-9.eE+\-]*|&&|\|\||!=|<=|>=|.)
    """ % {"pnb": _PN_CHARS_BASE, "pn": _PN_CHARS},
    re.VERBOSE | re.DOTALL,
)

_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_PN_LOCAL_ESC = re.compile(r"\\([_~.\-!$&'()*+,;=/?#@%])")


class QueryRefused(ValueError):
    """A query or update this node will not run; the message says why."""


@dataclass
class Inspection:
    #: SELECT, CONSTRUCT, DESCRIBE, ASK, or UPDATE
    form: str
    #: every SERVICE target, resolved to an absolute IRI
    services: list[str] = field(default_factory=list)
    #: every LOAD source, resolved
    loads: list[str] = field(default_factory=list)


def _tokens(text: str):
    pos = 0
    length = len(text)
    while pos < length:
        match = _TOKEN.match(text, pos)
        if match is None:  # an unterminated string or IRI: the engine would reject it too
            raise QueryRefused(f"cannot read the query at character {pos + 1}")
        pos = match.end()
        kind = match.lastgroup
        if kind in ("ws", "comment"):
            continue
        yield kind, match.group()


def inspect(text: str) -> Inspection:
    """Tokenise a query or update: its form, and every endpoint or document it would reach."""
    tokens = list(_tokens(text))
    prefixes: dict[str, str] = {}
    base: str | None = None
    form: str | None = None
    services: list[str] = []
    loads: list[str] = []
    i = 0
    n = len(tokens)

    def target(at: int) -> tuple[str, int]:
        if at < n and tokens[at][0] == "name" and tokens[at][1].upper() == "SILENT":
            at += 1
        if at >= n:
            raise QueryRefused("SERVICE or LOAD without a target")
        kind, value = tokens[at]
        if kind == "iri":
            return _resolve(base, _unescape_iri(value[1:-1])), at + 1
        if kind == "pname":
            prefix, _, local = value.partition(":")
            if prefix not in prefixes:
                raise QueryRefused(f"undeclared prefix {prefix}:")
            return _resolve(base, prefixes[prefix] + _PN_LOCAL_ESC.sub(r"\1", local)), at + 1
        if kind == "var":
            raise QueryRefused("SERVICE with a variable endpoint is refused: the endpoint must be a "
                               "fixed IRI naming one of this node's peers")
        raise QueryRefused(f"unexpected {value!r} after SERVICE or LOAD")

    while i < n:
        kind, value = tokens[i]
        if kind == "name":
            word = value.upper()
            if word == "PREFIX" and i + 2 < n and tokens[i + 1][0] == "pname" and tokens[i + 2][0] == "iri":
                prefixes[tokens[i + 1][1].rstrip(":").split(":")[0]] = _resolve(
                    base, _unescape_iri(tokens[i + 2][1][1:-1]))
                i += 3
                continue
            if word == "BASE" and i + 1 < n and tokens[i + 1][0] == "iri":
                base = _resolve(base, _unescape_iri(tokens[i + 1][1][1:-1]))
                i += 2
                continue
            if form is None:
                if word in QUERY_FORMS:
                    form = word
                elif word in UPDATE_KEYWORDS:
                    form = "UPDATE"
            if word == "SERVICE":
                resolved, i = target(i + 1)
                services.append(resolved)
                continue
            if word == "LOAD":
                resolved, i = target(i + 1)
                loads.append(resolved)
                continue
        i += 1
    if form is None:
        raise QueryRefused("no SELECT, CONSTRUCT, DESCRIBE, ASK or update operation found")
    return Inspection(form=form, services=services, loads=loads)


def _unescape_iri(value: str) -> str:
    return _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), value)


def _resolve(base: str | None, iri: str) -> str:
    if base and not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", iri):
        return urljoin(base, iri)
    return iri


@dataclass(frozen=True)
class Peer:
    url: str
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> "Peer":
        scheme, host, port, path = _origin(url)
        if not host:
            raise ValueError(f"peer {url!r} is not an http(s) URL")
        return cls(url, scheme, host, port, path)

    def admits(self, url: str) -> bool:
        try:
            scheme, host, port, path = _origin(url)
        except ValueError:
            return False
        if (scheme, host, port) != (self.scheme, self.host, self.port):
            return False
        if any(segment in (".", "..") for segment in unquote(path).split("/")):
            return False  # a dot segment steps out of the peer's endpoint (/sparql/../admin)
        prefix = self.path.rstrip("/")
        return path == prefix or path.startswith(prefix + "/") or prefix == ""


def _origin(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{url!r} carries credentials")
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, host, port, parts.path or "/"


class PeerPolicy:
    """The peers a node may reach. Empty by default: no SERVICE, no LOAD from the outside."""

    def __init__(self, peers: list[str] | tuple[str, ...] = ()):
        self.peers = [Peer.parse(p) for p in peers]

    def admits(self, url: str) -> bool:
        return any(peer.admits(url) for peer in self.peers)

    def check(self, inspection: Inspection) -> None:
        for url in inspection.services:
            if not self.admits(url):
                raise QueryRefused(f"SERVICE <{url}> is refused: this node only federates with its "
                                   f"configured peers ({self.describe()})")
        for url in inspection.loads:
            if not self.admits(url):
                raise QueryRefused(f"LOAD <{url}> is refused: this node only loads from its "
                                   f"configured peers ({self.describe()})")

    def describe(self) -> str:
        return ", ".join(p.url for p in self.peers) if self.peers else "none configured"

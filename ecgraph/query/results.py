"""Serialising query results, with a row cap, in every format the endpoint negotiates.

pyoxigraph serialises a whole result set or nothing; a public endpoint has to stop at its row
limit and say so. SELECT results are written here (SPARQL 1.1 JSON, XML, CSV and TSV, as the W3C
result-format specifications define them) or by pyoxigraph, counted as they are written; graph
results by pyoxigraph's own serialisers, counted from the output (Turtle, N-Triples) or capped
here.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from ecgraph import formats, standard

#: Prefixes offered to the Turtle and RDF/XML writers so results read like the documentation.
PREFIXES = standard.PREFIXES


@dataclass
class Serialized:
    body: bytes
    media_type: str
    rows: int
    truncated: bool


def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                            "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    raise TypeError(f"unexpected term {term!r}")


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
                f"</predicate><object>{_xml_term(term.object)}</object></triple>")
    raise TypeError(f"unexpected term {term!r}")


def _csv_term(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return term.value
    return str(term)


def _tsv_term(term) -> str:
    return "" if term is None else str(term)


_RESULTS = formats.by_key(formats.RESULTS)
_GRAPH = formats.by_key(formats.GRAPH)
_DATASET = formats.by_key(formats.DATASET)
#: How each format separates rows: counted on the fly in pyoxigraph's output. In JSON the marker
#: cannot occur inside a string (a quote there is escaped); in XML markup is escaped; in CSV a
#: quoted line break can only make the count too high, which is safe (see below).
_ROW_MARKERS = {"json": b'}},{"', "xml": b"<result>", "csv": b"\r\n", "tsv": b"\n"}
NATIVE_BYTES_CAP = 256 * 1024 * 1024


class _Overflow(Exception):
    pass


class DeadlinePassed(Exception):
    """A query answered in the web process (:mod:`ecgraph.query.bounded`) passed its deadline
    while its answer was being written: it is stopped between two rows."""


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlinePassed


class _CountingSink:
    """A file for pyoxigraph's serializer that counts rows as they are written and stops it as
    soon as there are too many (or too many bytes)."""

    def __init__(self, marker: bytes, max_markers: int | None, deadline: float | None = None):
        self.deadline = deadline
        self.marker = marker
        self.max_markers = max_markers
        self.parts: list[bytes] = []
        self.size = 0
        self.markers = 0
        self._tail = b""

    def write(self, chunk) -> int:
        _check(self.deadline)
        chunk = bytes(chunk)
        window = self._tail + chunk
        self.markers += window.count(self.marker) - self._tail.count(self.marker)
        self._tail = window[-(len(self.marker) - 1):] if len(self.marker) > 1 else b""
        self.parts.append(chunk)
        self.size += len(chunk)
        if (self.max_markers is not None and self.markers > self.max_markers) or self.size > NATIVE_BYTES_CAP:
            raise _Overflow
        return len(chunk)

    def flush(self) -> None:
        pass


def _nth(body: bytes, marker: bytes, n: int) -> int:
    """Where the ``n``-th (1-based) occurrence of ``marker`` starts in ``body``."""
    at = -1
    for _ in range(n):
        at = body.find(marker, at + 1)
    return at


def solutions_native(results: ox.QuerySolutions, fmt: str, max_rows: int | None,
                     deadline: float | None = None) -> Serialized | None:
    """pyoxigraph's own serializer (several times faster than building the result in Python),
    stopped at the row cap: the output is cut after the last row the cap allows and closed as the
    format wants, so an over-cap query runs once, not twice.

    Rows are counted from the output: JSON counts separators between rows (so rows - 1), XML
    ``<result>`` elements, CSV and TSV line ends (header included). Where the count could be wrong
    (a line break inside a quoted CSV value) or the output passes its byte cap, ``None`` sends the
    query to :func:`solutions`, which stops at the cap exactly."""
    marker = _ROW_MARKERS[fmt]
    if max_rows is None:
        limit = None
    else:
        limit = {"json": max_rows - 1, "xml": max_rows, "csv": max_rows + 1, "tsv": max_rows + 1}[fmt]
    sink = _CountingSink(marker, limit, deadline)
    try:
        results.serialize(sink, format=_RESULTS[fmt].results)  # type: ignore[arg-type]  # a file-like sink
    except _Overflow:
        if sink.size > NATIVE_BYTES_CAP or max_rows is None:
            return None
        body = _cut(b"".join(sink.parts), fmt, max_rows)
        if body is None:
            return None
        return Serialized(body, _RESULTS[fmt].media_type, max_rows, True)
    body = b"".join(sink.parts)
    if fmt == "json":
        rows = 0 if b'"bindings":[]' in body else sink.markers + 1
    elif fmt == "xml":
        rows = sink.markers
    else:
        rows = max(sink.markers - 1, 0)
    if fmt == "csv" and b'"' in body:  # a quoted value may hold a line break: count rows exactly
        rows = max(sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8"), newline=""))) - 1, 0)
    return Serialized(body, _RESULTS[fmt].media_type, rows, False)


def _cut(body: bytes, fmt: str, rows: int) -> bytes | None:
    """The first ``rows`` rows of a longer serialization, as a complete document."""
    if fmt == "json":  # rows are separated by "}},{": keep the first row's "}}", close the document
        at = _nth(body, _ROW_MARKERS["json"], rows)
        return body[:at + 2] + b"]}}" if at >= 0 else None
    if fmt == "xml":  # cut before the next <result>
        at = _nth(body, _ROW_MARKERS["xml"], rows + 1)
        return body[:at] + b"</results></sparql>" if at >= 0 else None
    at = _nth(body, _ROW_MARKERS[fmt], rows + 1)  # the header's line end and each row's
    if at < 0:
        return None
    kept = body[:at + len(_ROW_MARKERS[fmt])]
    if fmt == "csv" and kept.count(b'"') % 2:  # the cut fell inside a quoted value
        return None
    return kept


def solutions(results: ox.QuerySolutions, fmt: str, max_rows: int | None, deadline: float | None = None) -> Serialized:
    """Write a SELECT result; stop after ``max_rows`` rows and report the cut."""
    variables = [v.value for v in results.variables]
    rows: list = []
    truncated = False
    for solution in results:
        if max_rows is not None and len(rows) >= max_rows:
            truncated = True
            break
        rows.append([solution[v] for v in variables])
        if deadline is not None and not len(rows) % 256:
            _check(deadline)
    media_type = _RESULTS[fmt].media_type
    if fmt == "json":
        bindings = []
        for row in rows:
            bindings.append({v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None})
        body = json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    elif fmt == "xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
        out.extend(f"<variable name={quoteattr(v)}/>" for v in variables)
        out.append("</head><results>")
        for row in rows:
            out.append("<result>")
            for v, t in zip(variables, row, strict=True):
                if t is not None:
                    out.append(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>")
            out.append("</result>")
        out.append("</results></sparql>\n")
        body = "".join(out).encode("utf-8")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow([_csv_term(t) for t in row])
        body = buffer.getvalue().encode("utf-8")
    elif fmt == "tsv":
        lines = ["\t".join("?" + v for v in variables)]
        lines.extend("\t".join(_tsv_term(t) for t in row) for row in rows)
        body = ("\n".join(lines) + "\n").encode("utf-8")
    else:
        raise ValueError(fmt)
    return Serialized(body, media_type, len(rows), truncated)


def boolean(value: bool, fmt: str) -> Serialized:
    if fmt == "json":
        body = json.dumps({"head": {}, "boolean": bool(value)}).encode()
    elif fmt == "xml":
        body = ('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
                f"<boolean>{'true' if value else 'false'}</boolean></sparql>\n").encode()
    else:
        body = (("true" if value else "false") + "\n").encode()
    return Serialized(body, _RESULTS[fmt].media_type, 1, False)


def _capped(items: Iterable, max_rows: int | None, deadline: float | None = None) -> tuple[list, bool]:
    kept: list = []
    for item in items:
        if max_rows is not None and len(kept) >= max_rows:
            return kept, True
        kept.append(item)
        if deadline is not None and not len(kept) % 256:
            _check(deadline)
    _check(deadline)
    return kept, False


#: the graph formats :func:`graph_native` writes
NATIVE_GRAPH = ("turtle", "ntriples")
#: a string literal in pyoxigraph's Turtle: double quotes, every quote, backslash and line break in
#: it escaped (it writes no long strings)
_TURTLE_STRING = re.compile(rb'"(?:[^"\\\n]|\\.)*"')


def graph_native(triples: ox.QueryTriples, fmt: str, max_rows: int | None,
                 deadline: float | None = None) -> Serialized | None:
    """A CONSTRUCT or DESCRIBE answer in Turtle or N-Triples by pyoxigraph's own serializer, which
    runs without the GIL between its writes. Iterating the triples in Python instead takes the
    GIL back for every triple: with eight clients that hand-off was two fifths of the web
    process's CPU (``perf``, cold DESCRIBEs; see the README). No prefixes: pyoxigraph's writer of
    query results takes none, as ``oxigraph serve``'s answers have none.

    Rows are counted from the output. N-Triples has a line a triple. pyoxigraph's Turtle has a
    line for each subject and predicate, its objects separated by `` , ``; a literal holds no line
    break (it is escaped), and `` , `` inside one is not counted. ``None`` for another format
    (before anything is read) or past the row or byte cap (then the triples are consumed: ask
    again and use :func:`graph`, which stops at the cap exactly)."""
    if fmt not in NATIVE_GRAPH or not isinstance(triples, ox.QueryTriples):  # a remote store's triples
        return None
    sink = _CountingSink(b"\n", max_rows, deadline)  # a line holds one triple or more
    try:
        triples.serialize(sink, format=_GRAPH[fmt].rdf)  # type: ignore[arg-type]  # a file-like sink
    except _Overflow:
        return None
    body = b"".join(sink.parts)
    rows = sink.markers
    if fmt == "turtle" and b" , " in body:
        rows += (_TURTLE_STRING.sub(b'""', body) if b'"' in body else body).count(b" , ")
    if max_rows is not None and rows > max_rows:
        return None
    return Serialized(body, _GRAPH[fmt].media_type, rows, False)


def graph(triples: Iterable[ox.Triple], fmt: str, max_rows: int | None, deadline: float | None = None) -> Serialized:
    kept, truncated = _capped(triples, max_rows, deadline)
    return Serialized(_write(kept, _GRAPH[fmt].rdf), _GRAPH[fmt].media_type, len(kept), truncated)


def quads(items: Iterable[ox.Quad], fmt: str, max_rows: int | None) -> Serialized:
    """A dataset (every graph), capped like any other result."""
    kept, truncated = _capped(items, max_rows)
    return Serialized(_write(kept, _DATASET[fmt].rdf), _DATASET[fmt].media_type, len(kept), truncated)


def _write(items: list, rdf_format: ox.RdfFormat | None) -> bytes:
    assert rdf_format is not None
    return formats.write(items, rdf_format, prefixes=PREFIXES)

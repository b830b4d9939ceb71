"""Every format the node reads or writes, with its media types, file extension and names: one table.

Built on pyoxigraph's own format types (``RdfFormat``, ``QueryResultsFormat``: their media type,
extension and name, as Oxigraph's server negotiates), plus what real clients send: the alias media
types (``application/x-turtle``, ``text/plain`` for N-Triples, ``application/xml``) and the short
names of a ``format=`` parameter (SPARQLWrapper sends ``xml``, ``json``, ``csv``, ``tsv``,
``turtle``; others ``ttl``, ``nt``, ``json-ld``).

A :class:`Format` belongs to one or more *kinds*: what it can carry (``graph``: triples of one
graph; ``dataset``: quads; ``results``: SELECT/ASK results; ``report``: a validation report;
``input``: what an upload may be). Content negotiation (:func:`negotiate`) chooses among the formats
of a kind by the ``Accept`` header, with werkzeug's parser and its q-value and wildcard rules, or
by a ``format=`` parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

import pyoxigraph as ox

from ecgraph import errors


@dataclass(frozen=True)
class Format:
    #: our short name (``ecgraph validate --format``, ``?format=``, the keys of every table)
    key: str
    #: what the format can carry: graph, dataset, results, report, input
    kinds: frozenset[str]
    #: media types, the one the node sends first; the others are accepted from clients
    media_types: tuple[str, ...]
    extension: str
    #: other short names clients use for it in a ``format=`` parameter
    aliases: tuple[str, ...] = ()
    rdf: ox.RdfFormat | None = field(default=None, compare=False)
    results: ox.QueryResultsFormat | None = field(default=None, compare=False)

    @property
    def media_type(self) -> str:
        """The Content-Type the node sends (text types say their charset)."""
        main = self.media_types[0]
        if main.startswith("text/") and "charset" not in main:
            return main + "; charset=utf-8"
        return main

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, *self.aliases)


def _rdf(key: str, rdf: ox.RdfFormat, kinds: set[str], *, extra_types: tuple[str, ...] = (),
         aliases: tuple[str, ...] = (), extension: str | None = None) -> Format:
    return Format(key, frozenset(kinds), (rdf.media_type, *extra_types), extension or rdf.file_extension,
                  aliases, rdf=rdf)


def _results(key: str, results: ox.QueryResultsFormat, *, extra_types: tuple[str, ...] = (),
             aliases: tuple[str, ...] = ()) -> Format:
    media = results.media_type.split(";", 1)[0]
    return Format(key, frozenset({"results"}), (media, *extra_types), results.file_extension, aliases,
                  results=results)


# Turtle answers a request for N3 (a Turtle document is N3): SPARQLWrapper asks for n3.
TURTLE = _rdf("turtle", ox.RdfFormat.TURTLE, {"graph", "input", "report"},
              extra_types=("application/x-turtle", "text/n3", "text/rdf+n3"), aliases=("ttl", "n3"))
NTRIPLES = _rdf("ntriples", ox.RdfFormat.N_TRIPLES, {"graph", "input"}, extra_types=("text/plain",), aliases=("nt",))
JSONLD = _rdf("jsonld", ox.RdfFormat.JSON_LD, {"graph", "dataset", "input", "report"},
              extra_types=("application/json",), aliases=("json-ld", "json"))
RDFXML = _rdf("rdfxml", ox.RdfFormat.RDF_XML, {"graph", "input"}, extra_types=("application/xml", "text/xml"),
              aliases=("rdf", "xml", "owl", "rdf+xml"))
TRIG = _rdf("trig", ox.RdfFormat.TRIG, {"dataset", "input"})
NQUADS = _rdf("nquads", ox.RdfFormat.N_QUADS, {"dataset", "input"}, aliases=("nq",))

JSON = _results("json", ox.QueryResultsFormat.JSON, extra_types=("application/json",), aliases=("srj",))
XML = _results("xml", ox.QueryResultsFormat.XML, extra_types=("application/xml", "text/xml"), aliases=("srx",))
CSV = _results("csv", ox.QueryResultsFormat.CSV)
TSV = _results("tsv", ox.QueryResultsFormat.TSV, aliases=("text",))

# Validation reports beyond the RDF ones (Turtle and JSON-LD reports are W3C SHACL reports).
REPORT_JSON = Format("json", frozenset({"report"}), ("application/json",), "json")
REPORT_TEXT = Format("text", frozenset({"report"}), ("text/plain",), "txt")
REPORT_CSV = Format("csv", frozenset({"report"}), ("text/csv",), "csv")
REPORT_JUNIT = Format("junit", frozenset({"report"}), ("application/xml", "text/xml", "application/junit+xml"),
                      "junit.xml", aliases=("xml",))
REPORT_SARIF = Format("sarif", frozenset({"report"}), ("application/sarif+json",), "sarif")

# Pages for people (the web face); each has a machine twin among the formats above.
HTML = Format("html", frozenset({"page"}), ("text/html", "application/xhtml+xml"), "html")
PAGE_JSON = Format("json", frozenset({"page"}), ("application/json",), "json")

#: every format, by kind, in the order of preference when a client accepts anything
#: a compressed download (the bulk dump of ``/dump.nq.gz``): not a format of data, an envelope
GZIP_MEDIA_TYPE = "application/gzip"

#: the "what's new" feeds (issue 17): Atom (RFC 4287) and JSON Feed 1.1
ATOM = Format("atom", frozenset({"feed"}), ("application/atom+xml",), "atom")
JSON_FEED = Format("jsonfeed", frozenset({"feed"}), ("application/feed+json",), "json")
FEEDS = (ATOM, JSON_FEED)

GRAPH = (TURTLE, NTRIPLES, JSONLD, RDFXML)
DATASET = (TRIG, NQUADS, JSONLD)
RESULTS = (JSON, XML, CSV, TSV)
REPORTS = (REPORT_JSON, TURTLE, JSONLD, REPORT_CSV, REPORT_JUNIT, REPORT_SARIF, REPORT_TEXT)
INPUT = (TURTLE, JSONLD, NTRIPLES, RDFXML, TRIG, NQUADS)

#: media types that say nothing about the format of an upload (then the file name decides)
_UNSPECIFIC = ("application/octet-stream", "application/x-www-form-urlencoded", "multipart/form-data")


def write(items, rdf_format: ox.RdfFormat, *, prefixes: dict[str, str] | None = None) -> bytes:
    """Triples or quads in an RDF format, by pyoxigraph's writer (prefixes for the formats that
    use them)."""
    if rdf_format not in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML):
        prefixes = None
    data = ox.serialize(items, format=rdf_format, prefixes=prefixes) if prefixes else \
        ox.serialize(items, format=rdf_format)
    assert data is not None  # no output file given: pyoxigraph returns the bytes
    return data


def ntriples(triples) -> str:
    """N-Triples text, one triple per line, as pyoxigraph writes it (the store's dump too, so that
    lines compare equal when triples do), without the final newline."""
    return write(triples, ox.RdfFormat.N_TRIPLES).decode("utf-8").rstrip("\n")


def by_key(formats: tuple[Format, ...]) -> dict[str, Format]:
    return {f.key: f for f in formats}


def named(name: str, formats: tuple[Format, ...]) -> Format | None:
    """The format a short name or alias means among ``formats``."""
    wanted = name.strip().lower()
    return next((f for f in formats if wanted in f.names), None)


def of_media_type(media_type: str, formats: tuple[Format, ...]) -> Format | None:
    essence = media_type.split(";", 1)[0].strip().lower()
    return next((f for f in formats if essence in f.media_types), None)


def of_filename(filename: str, formats: tuple[Format, ...]) -> Format | None:
    suffix = PurePath(filename).suffix.lower().lstrip(".")
    if suffix in ("json",):  # what most tools call their JSON-LD files
        return JSONLD if JSONLD in formats else None
    return next((f for f in formats if suffix == f.extension or suffix in f.aliases), None)


def input_format(media_type: str | None = None, filename: str | None = None, name: str | None = None) -> Format:
    """The parser for an upload: an explicit format name wins, then the media type, then the file
    extension. Anything else is a 415 that lists what the node reads."""
    if name:
        found = named(name, INPUT)
        if found is None:
            raise errors.UnsupportedMediaType(f"unknown input format {name!r}; use one of "
                                              f"{', '.join(f.key for f in INPUT)}")
        return found
    if media_type:
        essence = media_type.split(";", 1)[0].strip().lower()
        if essence and essence not in _UNSPECIFIC:
            found = of_media_type(essence, INPUT)
            if found is None:
                raise errors.UnsupportedMediaType(
                    f"unsupported media type {essence!r}; send one of "
                    f"{', '.join(t for f in INPUT for t in f.media_types)}")
            return found
    if filename:
        found = of_filename(filename, INPUT)
        if found is not None:
            return found
        raise errors.UnsupportedMediaType(
            f"cannot tell the RDF format of {filename!r} from its extension; use one of "
            f"{', '.join('.' + f.extension for f in INPUT)} or name the format")
    raise errors.UnsupportedMediaType(
        "no Content-Type given; send text/turtle, application/ld+json, application/n-triples, "
        "application/rdf+xml, application/trig or application/n-quads")


_TERM = rb'(?:<[^>]*>|_:\S+)'
_NQUAD_LINE = re.compile(rb"^\s*" + _TERM + rb"\s+<[^>]*>\s+(?:" + _TERM + rb'|"(?:[^"\\]|\\.)*"\S*)\s+'
                         + _TERM + rb"\s*\.\s*$")


def sniff(data: bytes) -> Format:
    """The format of a document by its first characters, for text a person pasted into a form
    (which has no Content-Type and no file name): JSON-LD, RDF/XML, N-Quads, TriG, else Turtle
    (which also reads N-Triples). The parser still judges the whole text."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    # a JSON object or array; "[ ... ]" alone is a Turtle blank node
    if head[:1] == b"{" or (head[:1] == b"[" and head[1:].lstrip()[:1] in (b"{", b"]")):
        return JSONLD
    if head.startswith((b"<?xml", b"<rdf:RDF", b"<!DOCTYPE rdf")):
        return RDFXML
    lines = [line for line in head.splitlines() if line.strip() and not line.lstrip().startswith(b"#")][:5]
    if lines and all(_NQUAD_LINE.match(line) for line in lines[:-1] or lines):
        return NQUADS
    if re.search(rb"(?im)^\s*(GRAPH\s+)?(<[^>]*>|[A-Za-z][\w-]*:[\w-]*)\s*\{", head):
        return TRIG
    return TURTLE


def input_extensions() -> set[str]:
    """File suffixes a directory load picks up (``.ttl``, ``.jsonld``, ``.json``, ...)."""
    return {"." + f.extension for f in INPUT} | {".json", ".turtle", ".xml", ".owl"}


def negotiate(offers: tuple[Format, ...], accept, *, format_param: str | list[str] | None = None) -> Format:
    """Choose among ``offers`` (the first is the default) by a format name, else by the ``Accept``
    header (werkzeug's ``MIMEAccept``: q-values, then the most specific match; no header or ``*/*``
    gives the first offer). Nothing acceptable is a 406 that lists the offers.

    ``format_param`` may be several values (SPARQLWrapper sends ``format=rdf+xml`` and
    ``format=application/rdf+xml``): the first one understood wins; none understood is a 406."""
    wanted = [format_param] if isinstance(format_param, str) else [v for v in format_param or () if v]
    if wanted:
        for value in wanted:
            found = named(value, offers) or of_media_type(value, offers)
            if found is not None:
                return found
        raise errors.NotAcceptable(f"unknown format {wanted[0]!r}; use one of "
                                   f"{', '.join(f.key for f in offers)}")
    if not accept:  # no Accept header: anything goes
        return offers[0]
    if any(";" in value for value in accept.values()):
        # "text/turtle; charset=utf-8" (the Graph Store tests' Accept) asks for Turtle: werkzeug
        # matches a range with parameters only to an offer with the same ones
        from werkzeug.datastructures import MIMEAccept

        accept = MIMEAccept([(value.split(";", 1)[0].strip(), quality) for value, quality in accept])
    media_types = [t for f in offers for t in f.media_types]
    # A format whose own media type the client refuses (q=0) is not sent under an alias either.
    candidates = [f for f in offers if not (f.media_types[0] in accept.values() and accept[f.media_types[0]] == 0)]
    best = accept.best_match([t for f in candidates for t in f.media_types])
    if best is None:
        raise errors.NotAcceptable("none of the requested media types can be produced; available: "
                                   f"{', '.join(media_types)}")
    return next(f for f in candidates if best in f.media_types)

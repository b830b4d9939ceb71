"""Bytes in, RDF out: format choice, limits and parsing of what a community uploads.

This is the first step of the publishing pipeline and the only place that turns untrusted bytes
into triples. It exists to make three promises that the parsers do not make on their own:

* **nothing is fetched**: a JSON-LD document may name the standard's context URL (resolved to the
  local file); every other remote or local ``@context`` / ``@import`` is refused before parsing;
* **bounded work**: size, triple count and nesting depth are capped before they can exhaust memory,
  the stack or the clock (pyoxigraph's JSON-LD parser crashes the process on ~10,000 nested
  objects; its RDF/XML parser takes time that grows with the square of the nesting depth, 8 s at
  20,000 levels, and expands DTD entities, so a "billion laughs" document is refused up front);
* **errors a person can act on**: every failure is an :class:`IngestError` with an HTTP status and,
  where the parser knows it, the line and column.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pyoxigraph as ox

from ecgraph import errors, formats, standard

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_JSON_DEPTH = 512
#: RDF/XML element nesting; at this depth pyoxigraph parses about 10 MB/s, in linear time
MAX_XML_DEPTH = 512

_DATASET_FORMATS = (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS)


class IngestError(errors.Error):
    """An upload that cannot become triples: a parse error (400, with the line and column where the
    parser knows them), too large (413) or a format we do not read (415)."""

    TITLES = {400: "parse error", 413: "too large", 415: "unsupported media type"}

    def __init__(self, status: int, message: str, *, line: int | None = None,
                 column: int | None = None, hint: str | None = None):
        where: dict[str, Any] = {key: value for key, value in (("line", line), ("column", column), ("hint", hint))
                                 if value is not None}
        super().__init__(message, status=status, title=self.TITLES.get(status, "invalid input"), **where)
        self.line = line
        self.column = column
        self.hint = hint


@dataclass
class Parsed:
    """What a document contained: its triples (default graph only) and how it was read."""

    triples: list[ox.Triple]
    format: ox.RdfFormat
    size: int
    #: For JSON-LD, the ``@id`` strings exactly as written, by the IRI they expanded to, so a
    #: report can show a vendor the identifier they wrote.
    written_ids: dict[str, str] = field(default_factory=dict)
    #: For JSON-LD, the values the processor dropped (they never reached ``triples``); the
    #: validator reports them (ecsh:JsonLdValueCheck)
    problems: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.triples)


def parse(data: bytes, media_type: str | None = None, filename: str | None = None, *,
          format_name: str | None = None, base_iri: str | None = None,
          max_bytes: int = DEFAULT_MAX_BYTES, max_triples: int | None = None,
          allow_named_graphs: Iterable[str] = ()) -> Parsed:
    """Parse an uploaded document into the triples of one graph.

    TriG and N-Quads are accepted when everything sits in the default graph or in one of
    ``allow_named_graphs`` (a twin's own graph IRI): a twin is one graph, and silently flattening
    other graphs into it would publish something the community did not mean to.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if max_bytes is not None and len(data) > max_bytes:
        raise IngestError(413, f"the document is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    try:
        fmt = formats.input_format(media_type, filename, format_name).rdf
    except errors.UnsupportedMediaType as exc:
        raise IngestError(415, exc.detail) from None
    assert fmt is not None
    if fmt == ox.RdfFormat.JSON_LD:
        original = data
        prepared = _prepare_json_ld(data, standard.STANDARD_VERSION)
        triples = _parse_triples(prepared.data, fmt, base_iri, max_triples, allow_named_graphs)
        claimed = standard.judging_version(triples)
        if prepared.unversioned and claimed != standard.STANDARD_VERSION:
            # the unversioned context of a twin that claims an older release is that release's
            prepared = _prepare_json_ld(original, claimed)
            triples = _parse_triples(prepared.data, fmt, base_iri, max_triples, allow_named_graphs)
        data = original
    else:
        if fmt == ox.RdfFormat.RDF_XML:
            _refuse_dtd_entities(data)
            _prescan_xml(data)
        triples = _parse_triples(data, fmt, base_iri, max_triples, allow_named_graphs)
    triples = label_blank_nodes(triples, hashlib.sha256(data + (base_iri or "").encode()).hexdigest()[:10])
    written_ids: dict[str, str] = {}
    problems: list = []
    if fmt == ox.RdfFormat.JSON_LD:
        triples = [_normalise_json_number(t) for t in triples]
        written_ids = _expand_written_ids(prepared.root_context, prepared.written, base_iri)
        if prepared.standard_context is not None:
            problems = dropped_values(prepared.document, prepared.standard_context)
    return Parsed(triples=triples, format=fmt, size=len(data), written_ids=written_ids, problems=problems)


def _parse_triples(data: bytes, fmt: ox.RdfFormat, base_iri: str | None, max_triples: int | None,
                   allow_named_graphs: Iterable[str]) -> list[ox.Triple]:
    allowed_graphs = set(allow_named_graphs)
    triples: list[ox.Triple] = []
    try:
        for quad in ox.parse(data, format=fmt, base_iri=base_iri):
            graph = quad.graph_name
            if not isinstance(graph, ox.DefaultGraph) and not (
                    isinstance(graph, ox.NamedNode) and graph.value in allowed_graphs):
                raise IngestError(400, f"the document puts triples in the named graph {graph}; "
                                       "a twin is a single graph: send its triples in the default graph")
            if isinstance(quad.subject, ox.Triple) or isinstance(quad.object, ox.Triple):
                raise IngestError(400, f"the document uses an RDF 1.2 triple term ({quad.subject} "
                                       f"{quad.predicate} ...); a twin is an RDF 1.1 graph: state the "
                                       "triple itself, or describe it with a node of its own")
            triples.append(quad.triple)
            if max_triples is not None and len(triples) > max_triples:
                raise IngestError(413, f"the document holds more than {max_triples:,} triples, the limit")
    except SyntaxError as exc:
        raise _syntax_error(exc, fmt) from None
    except MemoryError as exc:  # pyoxigraph: "Reached the buffer maximal size of 16777216"
        raise IngestError(413, f"a single term of the document (a literal or an IRI) is longer than the "
                               f"parser accepts ({exc})") from None
    except (ValueError, OSError) as exc:  # pyoxigraph reports some encoding faults this way
        raise IngestError(400, f"cannot read the document: {exc}") from None
    return triples


def _syntax_error(exc: SyntaxError, fmt: ox.RdfFormat) -> IngestError:
    message = str(exc.msg if getattr(exc, "msg", None) else exc)
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "offset", None)
    return IngestError(400, f"{_format_label(fmt)} syntax error: {message}", line=line, column=column)


def _format_label(fmt: ox.RdfFormat) -> str:
    return {
        ox.RdfFormat.TURTLE: "Turtle",
        ox.RdfFormat.JSON_LD: "JSON-LD",
        ox.RdfFormat.N_TRIPLES: "N-Triples",
        ox.RdfFormat.RDF_XML: "RDF/XML",
        ox.RdfFormat.TRIG: "TriG",
        ox.RdfFormat.N_QUADS: "N-Quads",
    }.get(fmt, str(fmt))


def label_blank_nodes(triples: list[ox.Triple], document: str) -> list[ox.Triple]:
    """Name blank nodes after the document and their order of appearance: the same document always
    gives the same labels (and so the same report), and two documents never share a blank node
    when their triples meet in one store. (The node's store gives them fresh names anyway.)"""
    names: dict = {}

    def label(term):
        if isinstance(term, ox.BlankNode):
            found = names.get(term)
            if found is None:
                found = names[term] = ox.BlankNode(f"b{document}x{len(names)}")
            return found
        return term

    out: list[ox.Triple] | None = None  # the triples so far, once one of them had a blank node
    for i, t in enumerate(triples):
        subject, obj = t.subject, t.object
        if isinstance(subject, ox.BlankNode) or isinstance(obj, ox.BlankNode):
            if out is None:
                out = triples[:i]
            out.append(ox.Triple(label(subject), t.predicate, label(obj)))
        elif out is not None:
            out.append(t)  # a ground triple is kept as parsed
    return triples if out is None else out


# --- JSON numbers -------------------------------------------------------------------------------

_XSD = "http://www.w3.org/2001/XMLSchema#"
_EXPONENT_FORM = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?E[+-]?[0-9]+\Z")
#: numbers further from 1 than this many powers of ten keep their exponent form
_MAX_EXPONENT = 4000


def _normalise_json_number(triple: ox.Triple) -> ox.Triple:
    """JSON-LD writes a JSON number with a fraction as a double ("1.25E1") even where the context
    coerces it to xsd:decimal, which gives an ill-typed decimal that SPARQL arithmetic drops. The
    author meant 12.5: write the decimal (or integer) lexical form instead."""
    obj = triple.object
    if not isinstance(obj, ox.Literal) or obj.language or not _EXPONENT_FORM.match(obj.value):
        return triple
    datatype = obj.datatype.value
    if datatype not in (_XSD + "decimal", _XSD + "integer"):
        return triple
    from decimal import Decimal

    number = Decimal(obj.value)
    if abs(number.adjusted()) > _MAX_EXPONENT:
        return triple  # writing 1E999999999 out in full would take hours and gigabytes
    if datatype == _XSD + "integer":
        if number != number.to_integral_value():
            return triple  # 12.5 as an integer stays ill-typed: validation will say so
        lexical = str(int(number))
    else:
        lexical = format(number.normalize(), "f")
        if "." not in lexical:
            lexical += ".0"
    return ox.Triple(triple.subject, triple.predicate, ox.Literal(lexical, datatype=obj.datatype))


# --- RDF/XML --------------------------------------------------------------------------------

_DOCTYPE_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _refuse_dtd_entities(data: bytes) -> None:
    """pyoxigraph expands internal DTD entities (a 10-level 'billion laughs' is 10^10 bytes), and
    RDF/XML never needs them: refuse any entity declaration outright. The whole document is
    searched: where the root element starts is no safe bound (a comment before the DOCTYPE can
    spell ``<rdf:RDF``, and the root may use another prefix)."""
    if _DOCTYPE_ENTITY.search(data):
        raise IngestError(400, "RDF/XML with DTD entity declarations (<!ENTITY ...>) is refused: "
                               "entities can expand without bound or read local files")


class _Refused(Exception):
    pass


def _prescan_xml(data: bytes) -> None:
    """One linear pass of expat over an RDF/XML document before pyoxigraph parses it: element
    nesting deeper than :data:`MAX_XML_DEPTH` is refused (pyoxigraph's time grows with the square
    of the depth), and so is any entity declaration expat sees (the check above already searches
    the raw bytes). Expat stops at the first problem, with its line and column; a document expat
    cannot read is refused too: it is no XML, so no RDF/XML."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    depth = 0

    def start(name, attributes):
        nonlocal depth
        depth += 1
        if depth > MAX_XML_DEPTH:
            raise _Refused(f"RDF/XML nesting is deeper than this node accepts ({MAX_XML_DEPTH} levels of "
                           "elements); describe deep structures with rdf:about or rdf:nodeID references "
                           "instead of nesting them")

    def end(name):
        nonlocal depth
        depth -= 1

    def entity(*args):
        raise _Refused("RDF/XML with DTD entity declarations (<!ENTITY ...>) is refused: entities can "
                       "expand without bound or read local files")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise IngestError(400, str(exc), line=parser.CurrentLineNumber,
                          column=parser.CurrentColumnNumber + 1) from None
    except expat.ExpatError as exc:
        raise IngestError(400, f"RDF/XML syntax error: {expat.ErrorString(exc.code)}", line=exc.lineno,
                          column=exc.offset + 1) from None
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise IngestError(400, f"RDF/XML syntax error: {exc}; declare encoding=\"UTF-8\" in the XML "
                               "declaration (or leave it out) and save the file as UTF-8",
                          line=1, column=1) from None


# --- JSON-LD --------------------------------------------------------------------------------

@cache
def local_context(version: str = standard.STANDARD_VERSION) -> dict | list:
    """The `@context` value of a release's published context file."""
    with open(standard.context_file(version), "rb") as fh:
        document = json.load(fh)
    return document["@context"]


def known_context_urls() -> tuple[str, ...]:
    return (standard.CONTEXT_URL,) + tuple(standard.context_version_url(v) for v in standard.VERSIONS)


@dataclass
class _PreparedJson:
    data: bytes
    root_context: object
    written: list[str]
    #: whether the document named the unversioned context URL (read as the claimed release's)
    unversioned: bool
    document: object = None
    #: the standard's context the document's top level uses, if it uses one
    standard_context: dict | None = None


def _prepare_json_ld(data: bytes, version: str) -> _PreparedJson:
    """Decode the JSON, swap the standard's context URLs for the local contexts (the unversioned
    one for ``version``'s), refuse every other reference to an outside document, and remember the
    ``@id`` values as written."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise IngestError(400, f"JSON-LD is not valid UTF-8 ({exc.reason})", line=line, column=column) from None
    try:
        document = json.loads(text)
    except RecursionError:
        raise IngestError(400, f"JSON nesting is deeper than this node accepts ({MAX_JSON_DEPTH} levels)") from None
    except json.JSONDecodeError as exc:
        raise IngestError(400, f"JSON syntax error: {exc.msg}", line=exc.lineno, column=exc.colno) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise IngestError(400, f"JSON value this node does not read: {exc}") from None
    resolver = _ContextResolver(version)
    changed = _rewrite_contexts(document, resolver)
    if changed:
        try:
            data = json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise IngestError(400, "JSON-LD holds an unpaired surrogate escape (\\uD800-\\uDFFF alone), "
                                   "which is not a Unicode character") from None
    root_context = document.get("@context") if isinstance(document, dict) else None
    standard_context = None
    if isinstance(document, dict):
        for item in root_context if isinstance(root_context, list) else [root_context]:
            if isinstance(item, dict) and any(item is local_context(v) for v in standard.VERSIONS):
                standard_context = item
    return _PreparedJson(data, root_context, _written_ids(document, _id_aliases(root_context)),
                         resolver.unversioned, document, standard_context)


def _id_aliases(context) -> set[str]:
    """``@id`` and the terms the top-level context aliases to it (the standard's context: "id")."""
    aliases = {"@id"}
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            aliases |= {key for key, value in item.items() if value == "@id"}
    return aliases


def _written_ids(document, aliases: set[str]) -> list[str]:
    out: list[str] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "@context":
                    continue
                if key in aliases and isinstance(value, str):
                    out.append(value)
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return out


def _expand_written_ids(context, written: list[str], base_iri: str | None) -> dict[str, str]:
    """Map each IRI a written ``@id`` expanded to back to the text as written, by letting the
    JSON-LD processor expand them all under the document's own top-level context."""
    if not written:
        return {}
    marker = "urn:ecgraph:written:"
    unique = list(dict.fromkeys(written))
    probe = {"@graph": [{"@id": w, marker + str(i): True} for i, w in enumerate(unique)]}
    if context is not None:
        probe["@context"] = context
    out: dict[str, str] = {}
    try:
        for quad in ox.parse(json.dumps(probe).encode(), format=ox.RdfFormat.JSON_LD, base_iri=base_iri):
            predicate = quad.predicate.value
            if predicate.startswith(marker) and isinstance(quad.subject, ox.NamedNode):
                out.setdefault(quad.subject.value, unique[int(predicate[len(marker):])])
    except SyntaxError:
        return {}
    return out


class _ContextResolver:
    def __init__(self, version: str):
        self.version = version
        self.unversioned = False

    def reference(self, url: str):
        if url == standard.CONTEXT_URL:
            self.unversioned = True
            return local_context(self.version)
        for version in standard.VERSIONS:
            if url == standard.context_version_url(version):
                return local_context(version)
        raise IngestError(400, f"JSON-LD @context {url!r} is refused: this node never fetches or reads "
                               f"remote or local documents; use {standard.CONTEXT_URL} (resolved locally) "
                               "or put the context inline")


def _rewrite_contexts(document, resolver: _ContextResolver) -> bool:
    """Walk the document without recursion (depth is attacker-controlled) and resolve contexts,
    scoped contexts inside contexts included."""
    changed = False
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise IngestError(400, f"JSON nesting is deeper than this node accepts ({MAX_JSON_DEPTH} levels)")
        if isinstance(node, dict):
            if "@context" in node:
                resolved = _resolve_context(node["@context"], resolver)
                if resolved is not node["@context"]:
                    node["@context"] = resolved
                    changed = True
            stack.extend((value, depth + 1) for value in node.values() if isinstance(value, (dict, list)))
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node if isinstance(value, (dict, list)))
    return changed


def _resolve_context(value, resolver: _ContextResolver):
    if isinstance(value, str):
        return resolver.reference(value)
    if isinstance(value, list):
        out = [_resolve_context(item, resolver) if isinstance(item, (str, dict)) else item for item in value]
        return value if all(a is b for a, b in zip(out, value, strict=True)) else out
    if isinstance(value, dict) and "@import" in value:
        imported = value["@import"]
        if not isinstance(imported, str) or imported not in known_context_urls():
            raise IngestError(400, f"JSON-LD @import of {imported!r} is refused: this node fetches "
                                   f"nothing; only {standard.CONTEXT_URL} is resolved (locally)")
        merged = dict(_as_single_context(resolver.reference(imported)))
        merged.update({k: v for k, v in value.items() if k != "@import"})
        return merged
    return value


def _as_single_context(context) -> dict:
    if isinstance(context, dict):
        return context
    merged: dict = {}
    for item in context:
        if isinstance(item, dict):
            merged.update(item)
    return merged


# --- JSON-LD values that would vanish --------------------------------------------------------------

_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|\\^`]')
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def dropped_values(document, context: dict) -> list:
    """The string values of a JSON-LD document (written with the standard's context) that a
    JSON-LD processor silently drops: a value of a term typed "@id" or "@vocab" (a link or a code)
    that expands to no valid IRI ("energy sharing", with a space), a "type" that is no class, or a
    key that is no term and cannot become one. Each comes with the nearest code or term."""
    from ecgraph.validation.rules import Problem, nearest

    problems: list = []
    terms = [k for k in context if not k.startswith("@")]
    stack: list[tuple[Any, ox.NamedNode | None]] = [(document, None)]
    while stack:
        node, focus = stack.pop()
        if isinstance(node, list):
            stack.extend((item, focus) for item in node)
            continue
        if not isinstance(node, dict) or "@value" in node:
            continue
        here = _node_iri(node.get("id", node.get("@id"))) or focus
        for key, value in node.items():
            if key in ("@context", "id", "@id"):
                continue
            if key in ("type", "@type"):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item not in context and not _valid_iri_text(item):
                        guess = nearest(item, [t for t in terms if t[:1].isupper()])
                        problems.append(Problem(here, key, item, "is not a class of the standard" +
                                                (f" (did you mean {guess[0]}?)" if guess else "")))
                continue
            definition = context.get(key)
            if definition is None and not _SCHEME.match(key):
                if _IRI_FORBIDDEN.search(key):
                    guess = nearest(key, terms)
                    problems.append(Problem(here, key, _short(value), "is lost with its key: the key is not a term "
                                            "of the context and cannot become one" +
                                            (f" (did you mean {guess[0]}?)" if guess else "")))
                    continue
            coerce = definition.get("@type") if isinstance(definition, dict) else None
            codes = definition.get("@context", {}) if isinstance(definition, dict) else {}
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, (dict, list)):
                    stack.append((item, here))
                elif isinstance(item, str) and coerce in ("@id", "@vocab") and item not in codes \
                        and not _valid_iri_text(item):
                    guess = nearest(item, list(codes)) if codes else []
                    what = "is not a code of the list nor an IRI" if codes else "is not an IRI"
                    problems.append(Problem(here, key, item, what +
                                            (f' (did you mean "{guess[0]}"?)' if guess else "")))
    return problems


def _node_iri(node_id) -> ox.NamedNode | None:
    """A node's "@id" as an IRI when it is an absolute IRI (a hostile "https:[//x" is not)."""
    if not isinstance(node_id, str) or not _SCHEME.match(node_id) or _IRI_FORBIDDEN.search(node_id):
        return None
    try:
        return ox.NamedNode(node_id)
    except ValueError:
        return None


def _valid_iri_text(text: str) -> bool:
    """Whether a string can expand to an IRI at all (absolute, compact or relative)."""
    return bool(text) and not _IRI_FORBIDDEN.search(text)


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."

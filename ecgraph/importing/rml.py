"""RML mappings, written in YARRRML, applied to tables and JSON: the declarative way into twins.

A network organiser adapts a mapping instead of writing code. YARRRML is translated into RML by
``yatter`` (PyPI, the YARRRML translator of the Ontology Engineering Group); the RML is then
executed here, by a small engine of ours, because the RML engines on PyPI could not do it on this
stack (measured 2026-11):

* ``morph-kgc`` (every release up to 2.10.0, and its main branch) requires ``pyoxigraph<0.4``
  while ecgraph needs 0.5.13 (and 2.10.0 ``rdflib<7.3`` while owlrl 7.6 needs ``rdflib>=7.6``):
  pip cannot install both. Installed beside them with ``--no-deps`` it produced the same triples
  as this engine on our samples, so the mappings stay portable to it.
* ``rdfizer`` (SDM-RDFizer 4.7.5) imports ``pyodbc`` (and so needs the system's libodbc) even for
  CSV, writes blank nodes as IRIs (``<_:b1>``), turns an empty cell into the text ``nan`` inside
  IRIs, and resolves ``urn:`` IRIs against its base.

What this engine implements is the part of RML (R2RML + RML logical sources + FNML) that yatter
emits: logical sources over CSV-like tables (``ql:CSV``, also used for spreadsheet sheets) and
JSON (``ql:JSONPath``, with the subset of JSONPath given in :func:`json_path`); subject,
predicate, object and graph maps that are constant, a reference or a template; term types,
datatypes, languages and ``rr:class``; referencing object maps with and without join conditions;
and a handful of common functions (:data:`FUNCTIONS`). Anything else in a mapping is refused with
its name, never ignored. Semantics follow R2RML: a null or empty value generates no term (and so no
triple), template values are percent-encoded in IRIs, an IRI that is not valid is an error of the
record that produced it.

Every generated quad remembers the record (the spreadsheet row) it came from, so the importer can
report a failing row by its number while the other rows publish.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ecgraph import errors

RR = "http://www.w3.org/ns/r2rml#"
RML = "http://semweb.mmlab.be/ns/rml#"
QL = "http://semweb.mmlab.be/ns/ql#"
FNML = "http://semweb.mmlab.be/ns/fnml#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
GREL = "http://users.ugent.be/~bjdmeest/function/grel.ttl#"
IDLAB = "https://w3id.org/imec/idlab/function#"


class MappingError(errors.BadRequest):
    """The mapping itself is wrong, or the input is not what it reads (not a row of the data):
    nothing is imported."""

    title = "mapping error"


# --- YARRRML ----------------------------------------------------------------------------------


def yarrrml_to_rml(text: str, *, name: str = "mapping") -> str:
    """Translate YARRRML into RML (Turtle) with yatter; a YAML or YARRRML mistake raises
    :class:`MappingError` naming it."""
    import logging

    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise MappingError(f"{name} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("mappings"), dict) or not data["mappings"]:
        raise MappingError(f"{name} is not a YARRRML mapping: it needs a 'mappings:' section with at least one mapping")
    import yatter

    # yatter logs its progress and its errors on a logger with its own handler: keep the errors for
    # our message, print nothing
    logger = logging.getLogger("yatter.constants")
    errors: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage().replace("ERROR: ", ""))

    handlers, logger.handlers = logger.handlers, [_Keep()]
    propagate, logger.propagate = logger.propagate, False
    try:
        rml = yatter.translate(data)
    except Exception as exc:  # yatter raises whatever its parser meets
        raise MappingError(f"{name}: the YARRRML translator failed: {exc}") from None
    finally:
        logger.handlers, logger.propagate = handlers, propagate
    if not rml or errors:
        detail = "; ".join(e for e in errors if "has not been translated" not in e) or \
            "check prefixes, sources and the po: entries"
        raise MappingError(f"{name}: the YARRRML translator could not translate it: {detail}")
    return _keep_declared_prefixes(rml, data.get("prefixes") or {})


def _keep_declared_prefixes(rml: str, declared: dict) -> str:
    """yatter writes the mapping's prefixes and then its own defaults, so its default
    ``schema: <http://schema.org/>`` silently rebinds a mapping's ``schema: <https://schema.org/>``
    (yatter 2.0.4). Keep the first binding of each prefix, which is the mapping's."""
    seen: set[str] = set()
    out = []
    for line in rml.split("\n"):
        match = re.match(r"@prefix\s+([A-Za-z0-9_.-]*):\s*<[^>]*>\s*\.\s*$", line)
        if match:
            if match.group(1) in seen:
                continue
            seen.add(match.group(1))
        out.append(line)
    return "\n".join(out)


# --- the mapping, read from RML -----------------------------------------------------------------


@dataclass
class TermMap:
    kind: str  # constant | reference | template | function
    value: Any  # the constant term, the reference, the template text, or a Function
    term_type: str | None = None  # IRI | BlankNode | Literal
    datatype: str | None = None
    language: str | None = None


@dataclass
class Function:
    iri: str
    inputs: list[tuple[str, TermMap]]


@dataclass
class RefObject:
    parent: str
    joins: list[tuple[str, str]]  # (child reference, parent reference)


@dataclass
class PredicateObject:
    predicates: list[TermMap]
    objects: list[TermMap | RefObject]
    graphs: list[TermMap]


@dataclass
class TriplesMap:
    name: str
    source: str
    formulation: str  # csv | json
    iterator: str | None
    subject: TermMap
    classes: list[ox.NamedNode]
    graphs: list[TermMap]
    pos: list[PredicateObject] = field(default_factory=list)


class _Graph:
    """The RML graph with the few lookups the reader needs."""

    def __init__(self, triples):
        self.index: dict = {}
        for t in triples:
            self.index.setdefault((t.subject, t.predicate.value), []).append(t.object)

    def all(self, s, p: str) -> list:
        return self.index.get((s, p), [])

    def one(self, s, p: str):
        values = self.all(s, p)
        return values[0] if values else None


_SUPPORTED_KEYS = {RR + k for k in ("constant", "template", "termType", "datatype", "language", "class",
                                     "graphMap", "graph", "parentTriplesMap", "joinCondition")} | {
    RML + "reference", FNML + "execution", RDF_TYPE}


def read_rml(rml_text: str, *, name: str = "mapping") -> list[TriplesMap]:
    """The triples maps of an RML document (Turtle)."""
    try:
        triples = [q.triple for q in ox.parse(rml_text.encode("utf-8"), format=ox.RdfFormat.TURTLE,
                                              base_iri="http://example.com/ns#")]
    except SyntaxError as exc:
        raise MappingError(f"{name}: the RML is not valid Turtle: {exc}") from None
    g = _Graph(triples)
    maps = {}
    for t in triples:
        if t.predicate.value == RDF_TYPE and t.object.value == RR + "TriplesMap":
            maps[t.subject] = _read_triples_map(g, t.subject, name)
    if not maps:
        raise MappingError(f"{name} has no triples map")
    return list(maps.values())


def _label(node) -> str:
    """A triples map's name as written in the mapping (yatter appends ``_0``, ``_1``, ...)."""
    if not isinstance(node, ox.NamedNode):
        return f"_:{node.value}"
    return re.split(r"[/#]", node.value)[-1]


def _read_triples_map(g: _Graph, node, name: str) -> TriplesMap:
    where = f"{name}, mapping {_label(node)}"
    source = g.one(node, RML + "logicalSource")
    if source is None:
        raise MappingError(f"{where}: no logical source (give it 'sources:')")
    src = g.one(source, RML + "source")
    if not isinstance(src, ox.Literal):
        raise MappingError(f"{where}: only file sources are supported (a file name, not a database, "
                           "endpoint or web API); the importer reads the file it is given")
    formulation = g.one(source, RML + "referenceFormulation")
    kinds = {QL + "CSV": "csv", QL + "JSONPath": "json"}
    if formulation is None or formulation.value not in kinds:
        raise MappingError(f"{where}: reference formulation {formulation.value if formulation else 'none'} is "
                           "not supported; use ~csv (tables, spreadsheet sheets) or ~jsonpath")
    iterator = g.one(source, RML + "iterator")
    subject_node = g.one(node, RR + "subjectMap")
    if subject_node is None:
        subject_constant = g.one(node, RR + "subject")
        if subject_constant is None:
            raise MappingError(f"{where}: no subject (give it 's:')")
        subject = TermMap("constant", subject_constant)
        classes, graphs = [], []
    else:
        subject = _read_term_map(g, subject_node, where, "subject")
        classes = [c for c in g.all(subject_node, RR + "class")]
        graphs = _read_graph_maps(g, subject_node, where)
    tm = TriplesMap(name=_label(node), source=src.value, formulation=kinds[formulation.value],
                    iterator=iterator.value if iterator is not None else None, subject=subject,
                    classes=classes, graphs=graphs)
    for pom in g.all(node, RR + "predicateObjectMap"):
        predicates = [_read_term_map(g, p, where, "predicate") for p in g.all(pom, RR + "predicateMap")]
        predicates += [TermMap("constant", p) for p in g.all(pom, RR + "predicate")]
        objects: list = []
        for o in g.all(pom, RR + "objectMap"):
            parent = g.one(o, RR + "parentTriplesMap")
            if parent is not None:
                joins = []
                for j in g.all(o, RR + "joinCondition"):
                    child, par = g.one(j, RR + "child"), g.one(j, RR + "parent")
                    if child is None or par is None:
                        raise MappingError(f"{where}: a join condition needs a child and a parent reference")
                    joins.append((child.value, par.value))
                objects.append(RefObject(parent=_label(parent), joins=joins))
            else:
                objects.append(_read_term_map(g, o, where, "object"))
        objects += [TermMap("constant", o) for o in g.all(pom, RR + "object")]
        if not predicates or not objects:
            raise MappingError(f"{where}: a predicate-object entry needs a predicate and an object")
        tm.pos.append(PredicateObject(predicates, objects, _read_graph_maps(g, pom, where)))
    return tm


def _read_graph_maps(g: _Graph, node, where: str) -> list[TermMap]:
    out = [_read_term_map(g, m, where, "graph") for m in g.all(node, RR + "graphMap")]
    return out + [TermMap("constant", c) for c in g.all(node, RR + "graph")]


def _read_term_map(g: _Graph, node, where: str, position: str) -> TermMap:
    term_type = g.one(node, RR + "termType")
    datatype = g.one(node, RR + "datatype")
    language = g.one(node, RR + "language")
    kind = None
    for key, k in ((RR + "constant", "constant"), (RML + "reference", "reference"),
                   (RR + "template", "template"), (FNML + "execution", "function")):
        value = g.one(node, key)
        if value is not None:
            kind = k
            break
    if kind is None:
        if term_type is not None and term_type.value == RR + "BlankNode":
            kind, value = "blank", None
        else:
            raise MappingError(f"{where}: a {position} map has no constant, reference, template or function")
    if kind == "function":
        value = _read_function(g, value, where)
    elif kind in ("reference", "template"):
        value = value.value
    return TermMap(kind, value, term_type.value.rsplit("#", 1)[-1] if term_type is not None else None,
                   datatype.value if datatype is not None else None,
                   language.value if language is not None else None)


def _read_function(g: _Graph, node, where: str) -> Function:
    fn = g.one(node, FNML + "function")
    if fn is None or fn.value not in FUNCTIONS:
        known = ", ".join(sorted(k.replace(GREL, "grel:").replace(IDLAB, "idlab-fn:") for k in FUNCTIONS))
        raise MappingError(f"{where}: function {fn.value if fn else '(none)'} is not supported; "
                           f"the importer knows {known}")
    inputs = []
    for i in g.all(node, FNML + "input"):
        parameter = g.one(i, FNML + "parameter")
        value_map = g.one(i, FNML + "valueMap")
        if parameter is None or value_map is None:
            raise MappingError(f"{where}: a function input needs a parameter and a value")
        inputs.append((parameter.value, _read_term_map(g, value_map, where, "function input")))
    return Function(fn.value, inputs)


# --- functions --------------------------------------------------------------------------------


def _slugify(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _split(args: dict) -> list[str]:
    value, sep = args.get(GREL + "valueParameter"), args.get(GREL + "p_string_sep")
    if value is None:
        return []
    parts = value.split(sep) if sep else value.split()
    return [p.strip() for p in parts if p.strip()]


#: function IRI -> (parameters -> list of values)
FUNCTIONS = {
    GREL + "toLowerCase": lambda a: [a[GREL + "valueParameter"].lower()] if a.get(GREL + "valueParameter") else [],
    GREL + "toUpperCase": lambda a: [a[GREL + "valueParameter"].upper()] if a.get(GREL + "valueParameter") else [],
    GREL + "string_trim": lambda a: [a[GREL + "valueParameter"].strip()] if a.get(GREL + "valueParameter") else [],
    GREL + "string_split": _split,
    IDLAB + "slugify": lambda a: [_slugify(a[IDLAB + "str"])] if a.get(IDLAB + "str") else [],
}


# --- sources ----------------------------------------------------------------------------------


@dataclass
class Record:
    """One iteration of a logical source: a table row (``row`` is its number in the file) or a
    JSON object (``row`` is its position, from 1)."""

    row: int
    values: Any  # dict for tables, any JSON value for JSON


def read_csv(data: bytes, *, first_row: int = 2) -> list[Record]:
    """Rows of a CSV file (UTF-8 with or without BOM, or Windows-1252 as spreadsheets save it;
    comma, semicolon or tab), keyed by header; empty cells are null."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    sample = text[:8192]
    first_line = sample.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return []
    header = [h.strip() for h in header]
    rows = []
    for number, cells in enumerate(reader, start=first_row):
        if not any(c.strip() for c in cells):
            continue
        rows.append(Record(number, {h: (c.strip() or None) for h, c in zip(header, cells, strict=False) if h}))
    return rows


def read_json(data: bytes, name: str) -> object:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MappingError(f"{name} is not JSON: {exc}") from None


_SEGMENT = re.compile(r"\.?(?:([A-Za-z_@$][\w@$:-]*)|\['([^']*)'\])|\[(\*|-?\d+)\]")


def _path_segments(path: str) -> list[tuple[str, object]]:
    path = path.strip()
    if path.startswith("$"):
        path = path[1:]
    out: list[tuple[str, object]] = []
    pos = 0
    while pos < len(path):
        match = _SEGMENT.match(path, pos)
        if match is None or match.end() == pos:
            raise MappingError(f"JSONPath {path!r}: only names, ['quoted names'], [n] and [*] are supported "
                               f"(at {path[pos:]!r})")
        name, quoted, index = match.groups()
        if index is not None:
            out.append(("index", index))
        else:
            out.append(("name", name if name is not None else quoted))
        pos = match.end()
    return out


def json_path(value: object, path: str) -> list:
    """The values a JSONPath of the supported subset selects: ``$``, ``.name``, ``['name']``,
    ``[n]`` and ``[*]``; a missing name selects nothing."""
    current = [value]
    for kind, arg in _path_segments(path):
        following = []
        for v in current:
            if kind == "name":
                if isinstance(v, dict) and arg in v:
                    following.append(v[arg])
            elif arg == "*":
                if isinstance(v, list):
                    following.extend(v)
                elif isinstance(v, dict):
                    following.extend(v.values())
            elif isinstance(v, list):
                i = int(str(arg))
                if -len(v) <= i < len(v):
                    following.append(v[i])
        current = following
    return current


def json_records(document: object, iterator: str | None) -> list[Record]:
    found = json_path(document, iterator or "$")
    return [Record(i, v) for i, v in enumerate(found, start=1)]


# --- execution --------------------------------------------------------------------------------


@dataclass
class Output:
    """Generated quads by graph name (None: the default graph), the records each graph came from,
    and errors of records (row, message, graph names of the record where known)."""

    graphs: dict[str | None, list[ox.Triple]] = field(default_factory=dict)
    #: graph -> the records it came from, as (source, row)
    rows: dict[str | None, set[tuple[str, int]]] = field(default_factory=dict)
    #: (source, row) -> its error messages, in order
    errors: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    #: source -> columns the mapping reads that the table does not have (read as empty)
    missing: dict[str, set[str]] = field(default_factory=dict)
    _seen: dict[str | None, set] = field(default_factory=dict)

    def add(self, graph: str | None, triple: ox.Triple, where: tuple[str, int]) -> None:
        seen = self._seen.setdefault(graph, set())
        if triple not in seen:
            seen.add(triple)
            self.graphs.setdefault(graph, []).append(triple)
        self.rows.setdefault(graph, set()).add(where)

    def error(self, where: tuple[str, int], message: str) -> None:
        messages = self.errors.setdefault(where, [])
        if message not in messages:
            messages.append(message)


class RecordError(errors.Unprocessable):
    """One record cannot be mapped (a code not in its list, a value not of its datatype): that
    record's twin is refused, the others go on."""

    title = "row refused"


_IRI_SAFE = re.compile(r"[A-Za-z0-9\-._~]")


def _iri_safe(text: str) -> str:
    """R2RML's IRI-safe form of a template value: every character but the unreserved ones
    percent-encoded (UTF-8)."""
    return "".join(c if _IRI_SAFE.fullmatch(c) else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return format(Decimal(repr(value)).normalize(), "f") if value != int(value) else str(int(value))
    if isinstance(value, (dict, list)):
        raise RecordError("a reference selects a JSON object or array where a value is expected; "
                          "select a value inside it")
    text = str(value)
    return text if text.strip() != "" else None


class Engine:
    """Run triples maps over records given by source name."""

    def __init__(self, maps: list[TriplesMap], sources: dict[str, list[Record]], variables: dict[str, str]):
        self.maps = {m.name: m for m in maps}
        self.sources = sources
        self.variables = variables
        self._subjects: dict[tuple[str, int], list] = {}
        self._parent_index: dict = {}
        self.out = Output()

    def records(self, tm: TriplesMap) -> list[Record]:
        return self.sources[tm.name]

    def run(self) -> Output:
        out = self.out = Output()
        for tm in self.maps.values():
            for record in self.records(tm):
                try:
                    self._run_record(tm, record, out)
                except RecordError as exc:
                    out.error((tm.source, record.row), str(exc))
        return out

    # values of a record

    def _values(self, tm: TriplesMap, record: Record, reference: str) -> list[str]:
        if reference == "_row":
            return [str(record.row)]
        if reference in self.variables:
            return [self.variables[reference]] if self.variables[reference] else []
        if tm.formulation == "csv":
            if reference not in record.values:
                # a column left out of a file is empty; the importer lists such columns once
                self.out.missing.setdefault(tm.source, set()).add(reference)
                return []
            text = _text(record.values[reference])
            return [text] if text is not None else []
        found = json_path(record.values, reference)
        return [t for t in (_text(v) for v in found) if t is not None]

    def _strings(self, tm: TriplesMap, record: Record, term_map: TermMap) -> list[tuple[str, bool]]:
        """The lexical values of a term map, each with whether it came from a template."""
        if term_map.kind == "reference":
            return [(v, False) for v in self._values(tm, record, term_map.value)]
        if term_map.kind == "template":
            return [(v, True) for v in self._template(tm, record, term_map)]
        if term_map.kind == "function":
            args: dict[str, str] = {}
            for parameter, value_map in term_map.value.inputs:
                values = self._strings(tm, record, value_map) if value_map.kind != "constant" else \
                    [(value_map.value.value, False)]
                if values:
                    args[parameter] = values[0][0]
            return [(v, False) for v in FUNCTIONS[term_map.value.iri](args)]
        raise AssertionError(term_map.kind)

    def _template(self, tm: TriplesMap, record: Record, term_map: TermMap) -> list[str]:
        text = term_map.value
        parts = re.split(r"(?<!\\)\{([^{}]*)\}", text)
        results = [""]
        as_iri = (term_map.term_type or "IRI") == "IRI" and not term_map.datatype and not term_map.language
        for i, part in enumerate(parts):
            if i % 2 == 0:
                literal = part.replace("\\{", "{").replace("\\}", "}")
                results = [r + literal for r in results]
            else:
                values = self._values(tm, record, part)
                if not values:
                    return []  # a null value makes no term
                raw = not as_iri or part in self.variables  # --base is an IRI already
                results = [r + (v if raw else _iri_safe(v)) for r in results for v in values]
        return results

    # terms

    def _terms(self, tm: TriplesMap, record: Record, term_map: TermMap, position: str) -> list:
        if term_map.kind == "constant":
            value = term_map.value
            if isinstance(value, ox.Literal) and term_map.language:
                return [ox.Literal(value.value, language=term_map.language)]
            if isinstance(value, ox.Literal) and term_map.datatype:
                return [ox.Literal(value.value, datatype=ox.NamedNode(term_map.datatype))]
            return [value]
        if term_map.kind == "blank":
            return [ox.BlankNode(_blank_id(tm.name, record.row, ""))]
        term_type = term_map.term_type
        if term_type is None:
            if position == "object" and (term_map.kind == "reference" or term_map.datatype or term_map.language
                                         or term_map.kind == "function"):
                term_type = "Literal"
            else:
                term_type = "IRI"
        out: list[ox.NamedNode | ox.BlankNode | ox.Literal] = []
        for value, _from_template in self._strings(tm, record, term_map):
            if term_type == "IRI" and value.startswith("_:"):  # YARRRML's blank node notation
                out.append(ox.BlankNode(_blank_id("", 0, value[2:])))
            elif term_type == "IRI":
                try:
                    out.append(ox.NamedNode(value))
                except ValueError as exc:
                    raise RecordError(f"{value!r} is not a valid IRI ({exc}) in the {position} of mapping "
                                      f"{tm.name}") from None
            elif term_type == "BlankNode":
                out.append(ox.BlankNode(_blank_id("", 0, value)))
            else:
                if term_map.language:
                    out.append(ox.Literal(value, language=term_map.language))
                elif term_map.datatype and term_map.datatype != XSD + "string":
                    out.append(ox.Literal(value, datatype=ox.NamedNode(term_map.datatype)))
                else:
                    out.append(ox.Literal(value))
        return out

    def subjects(self, tm: TriplesMap, record: Record) -> list:
        key = (tm.name, record.row)
        if key not in self._subjects:
            self._subjects[key] = self._terms(tm, record, tm.subject, "subject")
        return self._subjects[key]

    def _graph_names(self, tm: TriplesMap, record: Record, maps: list[TermMap]) -> list[str | None]:
        names = []
        for m in maps:
            for term in self._terms(tm, record, m, "graph"):
                names.append(None if term.value == RR + "defaultGraph" else term.value)
        return names

    def _run_record(self, tm: TriplesMap, record: Record, out: Output) -> None:
        subjects = self.subjects(tm, record)
        if not subjects:
            return
        base_graphs = self._graph_names(tm, record, tm.graphs)
        triples: list[tuple[ox.Triple, list]] = []
        for s in subjects:
            for c in tm.classes:
                triples.append((ox.Triple(s, ox.NamedNode(RDF_TYPE), c), base_graphs))
        for pom in tm.pos:
            graphs = base_graphs + self._graph_names(tm, record, pom.graphs)
            predicates = [p for pm in pom.predicates for p in self._terms(tm, record, pm, "predicate")]
            objects = []
            for om in pom.objects:
                if isinstance(om, RefObject):
                    objects.extend(self._joined(tm, record, om))
                else:
                    objects.extend(self._terms(tm, record, om, "object"))
            for s in subjects:
                for p in predicates:
                    if not isinstance(p, ox.NamedNode):
                        raise RecordError(f"a predicate must be an IRI, not {p}")
                    for o in objects:
                        triples.append((ox.Triple(s, p, o), graphs))
        for triple, graphs in triples:  # the record's triples all or none: errors raised before this
            for graph in graphs or [None]:
                out.add(graph, triple, (tm.source, record.row))

    def _joined(self, tm: TriplesMap, record: Record, ref: RefObject) -> list:
        parent = self.maps.get(ref.parent)
        if parent is None:
            raise MappingError(f"mapping {tm.name} refers to a mapping {ref.parent} that does not exist")
        if not ref.joins:
            if parent.source != tm.source or parent.iterator != tm.iterator:
                raise MappingError(f"mapping {tm.name} refers to {parent.name}, which reads another source: "
                                   "give the reference a join condition")
            return self.subjects(parent, record)
        index = self._parent_index.get((ref.parent, tuple(p for _, p in ref.joins)))
        if index is None:
            index = {}
            for r in self.records(parent):
                try:
                    keys = [self._values(parent, r, p) for _, p in ref.joins]
                    subjects = self.subjects(parent, r)
                except RecordError:
                    continue
                for combination in _product(keys):
                    index.setdefault(combination, []).extend(subjects)
            self._parent_index[(ref.parent, tuple(p for _, p in ref.joins))] = index
        found = []
        wanted = _product([self._values(tm, record, c) for c, _ in ref.joins])
        for combination in wanted:
            found.extend(index.get(combination, []))
        if wanted and not found:
            # stricter than RML, which writes nothing: a value that matches no row of the table it
            # is looked up in (a code list) is a mistake of its row, reported, never dropped
            child, par = ref.joins[0]
            value = wanted[0][0]
            known = sorted({k[0] for k in index})
            import difflib

            close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else \
                (f" (one of: {', '.join(known[:30])}{' …' if len(known) > 30 else ''})" if known else "")
            raise RecordError(f"{child} {value!r} is not in {parent.source}{hint}")
        return found


def _product(lists: list[list[str]]) -> list[tuple]:
    out: list[tuple] = [()]
    for values in lists:
        out = [o + (v,) for o in out for v in values]
    return out


def _blank_id(map_name: str, row: int, value: str) -> str:
    return "b" + hashlib.sha1(f"{map_name}\0{row}\0{value}".encode()).hexdigest()[:24]


def source_names(maps: list[TriplesMap]) -> set[str]:
    return {m.source for m in maps}


def run(maps: list[TriplesMap], tables: dict[str, object], variables: dict[str, str] | None = None) -> Output:
    """Execute ``maps`` over sources given by name: a list of :class:`Record` for a table, a parsed
    JSON document for a JSON source (iterated with each map's iterator). ``variables`` are
    references every record has (besides ``_row``, the record's row number)."""
    records: dict[str, list[Record]] = {}
    for tm in maps:
        source = tables[tm.source]
        if tm.formulation == "json":
            if isinstance(source, list) and source and isinstance(source[0], Record):
                raise MappingError(f"mapping {tm.name} reads {tm.source} as JSON, but it is a table: use ~csv")
            records[tm.name] = json_records(source, tm.iterator)
        else:
            if not isinstance(source, list) or (source and not isinstance(source[0], Record)):
                raise MappingError(f"mapping {tm.name} reads {tm.source} as a table, but it is JSON: use ~jsonpath")
            records[tm.name] = source
    return Engine(maps, records, variables or {}).run()


def load_mapping(path: Path) -> list[TriplesMap]:
    """A mapping file: YARRRML (.yml, .yaml) or RML (.ttl, .rml)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".ttl", ".rml"):
        return read_rml(text, name=path.name)
    return read_rml(yarrrml_to_rml(text, name=path.name), name=path.name)

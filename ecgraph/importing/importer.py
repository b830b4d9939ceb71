"""Spreadsheets and registers into twins: read the file, run the mapping, publish twin by twin.

The mapping decides which twin each generated triple belongs to, declaratively: every triples
map puts its triples in a graph named ``urn:ecgraph:twin:<key>`` (YARRRML ``graphs:``), and the
key, made a slug, is the twin's id. Each twin then goes through :meth:`Node.publish` like any
upload (validated, authority rule, archived, committed atomically), so a row that fails is
refused alone, with its row number and the reason, and leaves the store as it was; the other rows
still publish. A twin this import registered and could not publish is unregistered again.

Sources a mapping may read, by the name in its ``sources:``:

* ``input.csv`` (or ``input.json``): the file given to the import (a CSV, the first sheet of an
  XLSX, or a JSON document);
* ``input/<name>.csv``: the sheet ``<name>`` of an XLSX; for a CSV input, the first such sheet the
  mapping reads is the input file itself (whatever its name) and the others are the files
  ``<name>.csv`` beside it (the CSV templates are one file per sheet, described together by their
  CSVW metadata); a sheet that is not there is an empty table (the template's optional sheets);
* any other bare file name: a file shipped beside the mapping (lookup tables of codes).

References a mapping may use besides the columns: ``_row`` (the record's row number in the file)
and ``_base`` (the namespace given with ``--base``, under which registers without IRIs of their
own mint them).
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pyoxigraph as ox

from ecgraph import errors, formats
from ecgraph.importing import rml
from ecgraph.importing.rml import MappingError
from ecgraph.node import LOCAL, Caller

if TYPE_CHECKING:
    from ecgraph.node import Node

TWIN_GRAPH_PREFIX = "urn:ecgraph:twin:"
MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
#: the most rows (records) one import reads
MAX_ROWS = 100_000
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")


def shipped_mappings() -> dict[str, Path]:
    """The mappings shipped with ecgraph, by name."""
    return {p.stem: p for p in sorted(MAPPINGS_DIR.glob("*.yml"))}


def resolve_mapping(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yml", ".yaml", ".ttl", ".rml") and path.is_file():
        return path
    shipped = shipped_mappings()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise MappingError(f"no mapping {name_or_path!r}: give a mapping file (.yml YARRRML, .ttl RML) or one of "
                       f"the shipped mappings: {', '.join(shipped)}")


# --- reading the input ------------------------------------------------------------------------


def _cell(value) -> str | None:
    import datetime

    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return rml._text(value)
    text = str(value).strip()
    return text or None


def read_xlsx(data: bytes, name: str) -> dict[str, list[rml.Record]]:
    """Every sheet of a workbook as a table: the first row holds the column names."""
    import io
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise MappingError(f"{name} is not an XLSX workbook: {exc}") from None
    sheets: dict[str, list[rml.Record]] = {}
    try:
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                sheets[sheet.title] = []
                continue
            columns = [(_cell(h) or "") for h in header]
            records = []
            for number, cells in enumerate(rows, start=2):
                values = {c: _cell(v) for c, v in zip(columns, cells, strict=False) if c}
                if any(v is not None for v in values.values()):
                    records.append(rml.Record(number, values))
                    if len(records) > MAX_ROWS:
                        raise MappingError(f"{name}: sheet {sheet.title!r} has more than {MAX_ROWS:,} rows")
            sheets[sheet.title] = records
    finally:
        workbook.close()
    return sheets


def read_sources(path: Path, maps: list[rml.TriplesMap], mapping_dir: Path, *, max_bytes: int) -> dict[str, object]:
    """The data of every source the mapping names."""

    def read(p: Path) -> bytes:
        size = p.stat().st_size
        if size > max_bytes:
            raise MappingError(f"{p.name} is {size:,} bytes; the limit is {max_bytes:,} (--max-upload-bytes)")
        return p.read_bytes()

    suffix = path.suffix.lower()
    workbook = read_xlsx(read(path), path.name) if suffix in (".xlsx", ".xlsm") else None
    tables: dict[str, object] = {}
    main_sheet = next((tm.source for tm in maps if tm.source.startswith("input/")), None)
    for tm in maps:
        name = tm.source
        if name in tables:
            continue
        if name in ("input.csv", "input.json") or name.startswith("input/"):
            sheet = name[len("input/"):].rsplit(".", 1)[0] if name.startswith("input/") else ""
            if workbook is not None:
                if not sheet:
                    sheet = next(iter(workbook), "")
                tables[name] = workbook.get(sheet, [])
            elif not sheet:
                tables[name] = _read_file(path, tm, read)
            else:
                target = path if name == main_sheet else path.with_name(f"{sheet}.csv")
                tables[name] = _read_file(target, tm, read) if target.is_file() else []
        else:
            if "/" in name or "\\" in name or name.startswith("."):
                raise MappingError(f"source {name!r}: a lookup table is a file name beside the mapping, not a path")
            target = mapping_dir / name
            if not target.is_file():
                raise MappingError(f"source {name!r} is neither 'input' nor a file beside the mapping ({mapping_dir})")
            tables[name] = _read_file(target, tm, read)
    return tables


def _read_file(path: Path, tm: rml.TriplesMap, read) -> object:
    data = read(path)
    if tm.formulation == "json":
        return rml.read_json(data, path.name)
    records = rml.read_csv(data)
    if len(records) > MAX_ROWS:
        raise MappingError(f"{path.name} has more than {MAX_ROWS:,} rows")
    return records


# --- running ------------------------------------------------------------------------------------


#: a record of the input: (source name in the mapping, row number)
Where = tuple[str, int]


def _source_label(source: str) -> str:
    if source in ("input.csv", "input.json"):
        return ""
    if source.startswith("input/"):
        return source[len("input/"):].rsplit(".", 1)[0]
    return source


def _is_lookup(source: str) -> bool:
    return not (source in ("input.csv", "input.json") or source.startswith("input/"))


def _where(where: Where) -> str:
    label = _source_label(where[0])
    return f"{label} row {where[1]}" if label else f"row {where[1]}"


def _order(rows: list[Where]) -> tuple:
    if not rows:
        return (1, "", 0)
    first = min(rows, key=lambda w: (w[0] not in ("input.csv", "input.json", "input/community.csv"), w[0], w[1]))
    return (first[0] not in ("input.csv", "input.json", "input/community.csv"), first[0], first[1])


@dataclass
class Twin:
    id: str
    rows: list[Where]
    triples: list[ox.Triple]


@dataclass
class Mapped:
    twins: list[Twin]
    #: records refused before publishing: (records, twin id or None, reason)
    refused: list[tuple[list[Where], str | None, str]] = field(default_factory=list)
    records: int = 0
    #: what the person importing should know (columns the file lacks)
    notes: list[str] = field(default_factory=list)


def _json_counts(maps: list[rml.TriplesMap], tables: dict[str, object]) -> list[int]:
    """Records of JSON inputs: the most any map iterates over (a map per twin part reads the same)."""
    counts: dict[str, int] = {}
    for tm in maps:
        if tm.formulation == "json" and not _is_lookup(tm.source):
            counts[tm.source] = max(counts.get(tm.source, 0), len(rml.json_path(tables[tm.source], tm.iterator or "$")))
    return list(counts.values())


def twin_id_of(graph: str) -> str | None:
    """The twin id a graph name ``urn:ecgraph:twin:<key>`` gives: the key, percent-decoded, made a
    slug (lower case, runs of other characters one hyphen); None when nothing is left of it."""
    key = urllib.parse.unquote(graph[len(TWIN_GRAPH_PREFIX):])
    slug = rml._slugify(key)[:63].strip("-")
    return slug if _SLUG.match(slug) else None


def map_file(path: Path, mapping: Path, *, base: str | None = None, max_bytes: int = 50 * 1024 * 1024) -> Mapped:
    """Apply a mapping to a file: the twins it makes, and the rows refused on the way."""
    maps = rml.load_mapping(mapping)
    tables = read_sources(path, maps, mapping.parent, max_bytes=max_bytes)
    uses_base = any("_base" in str(tm) for tm in maps)
    if uses_base and not base:
        raise MappingError(f"mapping {mapping.name} mints IRIs under --base: give the namespace you publish under, "
                           "e.g. --base https://network.example/id/ (each twin gets its own part of it)")
    variables = {"_base": base or ""}
    output = rml.run(maps, tables, variables=variables)
    records = sum(len(v) for name, v in tables.items() if not _is_lookup(name) and isinstance(v, list))
    records += sum(_json_counts(maps, tables))
    if records == 0:
        read = ", ".join(sorted({tm.source for tm in maps if not _is_lookup(tm.source)}))
        raise MappingError(f"{path.name}: the mapping read no row from it (is it the file the mapping expects? "
                           f"the mapping reads {read})")
    stray = [g for g in output.graphs if g is None or not g.startswith(TWIN_GRAPH_PREFIX)]
    if stray:
        count = sum(len(output.graphs[g]) for g in stray)
        raise MappingError(f"mapping {mapping.name} puts {count} triples in no twin: give every mapping "
                           f"'graphs: {TWIN_GRAPH_PREFIX}$(<column naming the twin>)'")
    bad = {where: messages for where, messages in output.errors.items()}
    twins: dict[str, Twin] = {}
    refused: list[tuple[list[Where], str | None, str]] = []
    for graph, triples in output.graphs.items():
        if graph is None:  # refused above (stray)
            continue
        rows = sorted(output.rows[graph])
        twin_id = twin_id_of(graph)
        if twin_id is None:
            refused.append((rows, None, f"{graph!r} gives no twin id (the key must hold a letter or a digit)"))
            continue
        twin = twins.setdefault(twin_id, Twin(twin_id, [], []))
        twin.rows = sorted(set(twin.rows) | set(rows))
        twin.triples.extend(triples)
    ok = []
    for twin in twins.values():
        reasons = [f"{_where(w)}: {m}" if len(twin.rows) > 1 else m for w in twin.rows for m in bad.get(w, [])]
        if reasons:
            refused.append((twin.rows, twin.id, "; ".join(dict.fromkeys(reasons))))
        else:
            ok.append(twin)
    covered = {w for t in twins.values() for w in t.rows} | {w for rows, _, _ in refused for w in rows}
    for where in sorted(set(bad) - covered):
        refused.append(([where], None, "; ".join(bad[where])))
    notes = [f"{_source_label(source)}: the mapping reads column{'s' if len(cols) > 1 else ''} "
             f"{', '.join(sorted(cols))}, which the file does not have (read as empty)"
             for source, cols in sorted(output.missing.items()) if not _is_lookup(source)]
    ok.sort(key=lambda t: _order(t.rows))
    return Mapped(ok, refused, records, notes)


@dataclass
class Result:
    rows: list[Where]
    twin: str | None
    status: str  # published | refused
    detail: str
    created: bool = False


@dataclass
class Summary:
    results: list[Result]
    seconds: float
    records: int
    tokens_file: Path | None = None
    tokens: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def published(self) -> list[Result]:
        return [r for r in self.results if r.status == "published"]

    @property
    def refused(self) -> list[Result]:
        return [r for r in self.results if r.status == "refused"]


def _rows(rows: list[Where]) -> str:
    if not rows:
        return "row ?"
    main = [w for w in rows if _source_label(w[0]) in ("", "community")]
    shown = main or rows
    text = _where(shown[0]) if len(shown) == 1 else \
        _where(shown[0]).replace("row ", "rows ") + ", " + ", ".join(str(w[1]) for w in shown[1:6]) + \
        (" …" if len(shown) > 6 else "")
    others = len(rows) - len(shown)
    return text + (f" (+{others} rows of other sheets)" if others else "")


def describe(result: Result) -> str:
    who = f"twin {result.twin}" if result.twin else "no twin"
    return f"{_rows(result.rows)} ({who}): {result.detail}"


def reason(exc: Exception) -> str:
    """What a refusal says, for a person who fixes the row."""
    from ecgraph.publish.pipeline import NotConformant

    if isinstance(exc, NotConformant):
        blocking = [r for r in exc.report.get("results", []) if r.get("severity") == "Violation"]
        count = exc.report.get("summary", {}).get("counts", {}).get("Violation", len(blocking))
        parts = []
        for r in blocking[:3]:
            path = f" {r['path']}" if r.get("path") else ""
            value = f" (value {r['value']})" if r.get("value") not in (None, "") else ""
            parts.append(f"{r.get('focus', '')}{path}{value}: {r.get('message', '')}")
        more = f"; and {count - len(parts)} more" if count > len(parts) else ""
        return f"not conformant to the core profile ({count} violation{'s' if count != 1 else ''}): " + \
            "; ".join(parts) + more
    return str(getattr(exc, "message", None) or exc)


class TokenFile:
    """Publisher tokens of the twins an import registers, one ``twin<TAB>token`` a line, in a file
    only its owner can read (created 0600, never printed)."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self._fh: IO[str] | None = None

    def write(self, twin_id: str, token: str) -> None:
        if self._fh is None:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.fchmod(fd, 0o600)
            self._fh = os.fdopen(fd, "a", encoding="utf-8")
        self._fh.write(f"{twin_id}\t{token}\n")
        self._fh.flush()
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def _registered(node: Node, twin_id: str) -> bool:
    try:
        return bool(node.twin_info(twin_id)["registered"])
    except errors.NotFound:
        return False


def publish_all(node: Node, mapped: Mapped, *, caller: Caller = LOCAL, tokens: TokenFile | None = None,
                progress: Callable[[int], None] | None = None) -> list[Result]:
    """Publish each twin through :meth:`Node.publish` as ``caller`` (the admin registers the twins
    that are new); a refused twin changes nothing, and one this import registered is deleted again."""
    from ecgraph.publish.pipeline import twin_title

    results = [Result(rows, twin, "refused", detail) for rows, twin, detail in mapped.refused]
    for twin in mapped.twins:
        data = ox.serialize(twin.triples, format=ox.RdfFormat.N_TRIPLES) or b""
        registered_here = False
        token = ""
        try:
            if not _registered(node, twin.id):
                token = node.register(twin.id, twin_title(twin.triples) or twin.id, caller=caller)
                registered_here = True
            upload = node.upload_for(twin.id, data, media_type=formats.NTRIPLES.media_type)
            published = node.publish(twin.id, upload, caller=caller)
        except errors.Error as exc:  # every refusal (parse, conformance, authority, claim) is the row's
            if registered_here:
                node.delete(twin.id, caller=caller)
            results.append(Result(twin.rows, twin.id, "refused", reason(exc)))
        else:
            if registered_here and tokens is not None:
                tokens.write(twin.id, token)
            entry = published.entry
            warnings = f", {entry.warnings} warnings" if entry.warnings else ""
            results.append(Result(twin.rows, twin.id, "published",
                                  f"version {entry.version}, {entry.triples} triples{warnings}",
                                  created=registered_here))
        if progress is not None:
            progress(1)
    results.sort(key=lambda r: _order(r.rows))
    return results


def import_file(node: Node, path: Path, mapping: str | Path, *, caller: Caller = LOCAL, base: str | None = None,
                tokens_path: Path | None = None, progress_start: Callable[[int], None] | None = None,
                progress: Callable[[int], None] | None = None) -> Summary:
    """Import ``path`` through ``mapping`` (a shipped name or a file) into ``node``."""
    started = time.monotonic()
    mapping_path = resolve_mapping(str(mapping))
    mapped = map_file(path, mapping_path, base=base, max_bytes=node.config.max_upload_bytes)
    if progress_start is not None:
        progress_start(len(mapped.twins))
    tokens = TokenFile(tokens_path) if tokens_path is not None else None
    try:
        results = publish_all(node, mapped, caller=caller, tokens=tokens, progress=progress)
    finally:
        if tokens is not None:
            tokens.close()
    return Summary(results, time.monotonic() - started, mapped.records,
                   tokens_path if tokens and tokens.count else None, tokens.count if tokens else 0, mapped.notes)

"""A validation report in every format a vendor's tooling reads.

* ``text``: for people at a terminal;
* ``json``: the report as ecgraph's REST API gives it (summary, grouped view, detailed results);
* ``turtle`` / ``jsonld``: a W3C SHACL ``sh:ValidationReport``, for RDF tooling;
* ``csv``: one row per result, for spreadsheets;
* ``junit``: JUnit XML, one test case per shape of the profile (violations fail it), so a vendor's
  CI can fail on a regression;
* ``sarif``: SARIF 2.1.0, one rule per shape, for code-scanning dashboards.

Every format says the same thing: same results, same order, same messages.
"""

from __future__ import annotations

import csv
import io
import json
from xml.etree import ElementTree as ET

import pyoxigraph as ox

from ecgraph import formats, standard
from ecgraph.standard import RDF_TYPE
from ecgraph.validation import shacl
from ecgraph.validation.validate import (
    PREFIXES,
    Profiles,
    Report,
    default_profiles,
    shape_anchor,
    shape_label,
    shape_message,
)

CSV_COLUMNS = ("input", "severity", "shape", "shape_label", "focus", "path", "value", "message", "component", "docs",
               "written_id")

SEVERITY_LEVEL = {"Violation": "error", "Warning": "warning", "Info": "note"}


def render(report: Report, fmt: str, *, source: str = "input", max_results: int | None = None,
           profiles: Profiles | None = None) -> str:
    """The report in a format of :data:`ecgraph.formats.REPORTS`, by its key."""
    writer = WRITERS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(WRITERS)}")
    return writer(report, source=source, max_results=max_results, profiles=profiles or default_profiles())


def render_many(reports: list[tuple[str, Report]], fmt: str, *, max_results: int | None = None,
                profiles: Profiles | None = None) -> str:
    """Several inputs' reports in one document of the format."""
    profiles = profiles or default_profiles()
    if len(reports) == 1:
        source, report = reports[0]
        return render(report, fmt, source=source, max_results=max_results, profiles=profiles)
    if fmt == "text":
        return "".join(render(r, "text", source=s, max_results=max_results, profiles=profiles) for s, r in reports)
    if fmt == "json":
        items = [json.loads(render(r, "json", source=s, max_results=max_results, profiles=profiles))
                 for s, r in reports]
        return json.dumps({"conforms": all(i["conforms"] for i in items), "reports": items},
                          indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        lines = [render(r, "csv", source=s, max_results=max_results, profiles=profiles).splitlines(True)
                 for s, r in reports]
        return "".join(lines[0][:1] + [row for chunk in lines for row in chunk[1:]])
    if fmt in ("turtle", "jsonld"):
        triples: list[ox.Triple] = []
        for i, (_, report) in enumerate(reports):
            triples.extend(_relabel(t, f"i{i}") for t in report_triples(report, profiles, max_results))
        rdf_format = ox.RdfFormat.TURTLE if fmt == "turtle" else ox.RdfFormat.JSON_LD
        return formats.write(triples, rdf_format, prefixes=dict(PREFIXES)).decode("utf-8")
    if fmt == "junit":
        root = ET.Element("testsuites", name="ecgraph conformance")
        for source, report in reports:
            single = ET.fromstring(render(report, "junit", source=source, max_results=max_results,
                                          profiles=profiles).split("\n", 1)[1])
            root.extend(single.findall("testsuite"))
        for key in ("tests", "failures"):
            root.set(key, str(sum(int(s.get(key, 0)) for s in root.findall("testsuite"))))
        root.set("errors", "0")
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    if fmt == "sarif":
        docs = [json.loads(render(r, "sarif", source=s, max_results=max_results, profiles=profiles))
                for s, r in reports]
        merged = docs[0]
        merged["runs"] = [run for d in docs for run in d["runs"]]
        return json.dumps(merged, indent=2, ensure_ascii=False) + "\n"
    raise ValueError(fmt)


def _relabel(triple: ox.Triple, prefix: str) -> ox.Triple:
    def term(t):
        return ox.BlankNode(prefix + t.value) if isinstance(t, ox.BlankNode) else t
    return ox.Triple(term(triple.subject), triple.predicate, term(triple.object))


def _shown(report: Report, max_results: int | None):
    return report.results if max_results is None else report.results[:max_results]


def _cap_note(report: Report, max_results: int | None) -> str | None:
    shown = len(_shown(report, max_results))
    if shown < len(report.results):
        return f"showing {shown} of {len(report.results)} results (the cap is {max_results})"
    return None


# --- text and JSON ---------------------------------------------------------------------------------

def _text(report: Report, *, source, max_results, profiles) -> str:
    c = report.counts
    verdict = "conforms" if report.conforms else "does not conform"
    lines = [f"{source}: {verdict} to {report.profile_version} "
             f"({c['Violation']} violations, {c['Warning']} warnings, {report.triples:,} triples, "
             f"{report.elapsed:.2f} s)"]
    note = version_note(report)
    if note:
        lines.append(f"  {note}")
    groups = report.groups()
    if groups:
        lines.append("  by rule:")
        lines.extend(f"    {g['count']:>5} × [{g['severity']}] {g['shape_label']}: {g['message']}" for g in groups)
        lines.append("  results:")
    for r in _shown(report, max_results):
        where = f" {r.path}" if r.path else ""
        written = f" (written {r.written_id})" if r.written_id and r.written_id != r.focus.strip("<>") else ""
        lines.append(f"    [{r.severity}] {r.focus}{written}{where}: {r.message}")
        lines.append(f"      rule: {r.shape_label} <{r.shape}> — {r.docs}")
    note = _cap_note(report, max_results)
    if note:
        lines.append(f"  … {note}; raise --max-results to see more")
    return "\n".join(lines) + "\n"


def version_note(report: Report) -> str | None:
    """Which release judged, when that needs saying: an older release the twin claims, or a claim
    this validator cannot honour."""
    unknown = [v for v in report.claimed if v not in standard.VERSIONS]
    if unknown and report.version not in report.claimed:
        return (f"the twin claims {', '.join(unknown)}, a release this validator does not have: "
                f"judged by the {report.version} profiles")
    if report.version != standard.STANDARD_VERSION:
        return (f"judged by the {report.version} profiles, the release the twin claims "
                f"(the current release is {standard.STANDARD_VERSION})")
    return None


def _json(report: Report, *, source, max_results, profiles) -> str:
    out = report.to_dict(max_results)
    out = {"input": source, **out}
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


# --- SHACL report in RDF ---------------------------------------------------------------------------

SH = shacl.SH


def report_triples(report: Report, profiles: Profiles, max_results: int | None = None) -> list[ox.Triple]:
    """The report as a W3C SHACL validation report graph. ``sh:conforms`` follows SHACL: false as
    soon as there is any result, warnings included."""
    shapes = profiles.compiled(report.profile, report.version)
    root = ox.BlankNode("report")
    out = [ox.Triple(root, RDF_TYPE, ox.NamedNode(SH + "ValidationReport")),
           ox.Triple(root, ox.NamedNode(SH + "conforms"),
                     ox.Literal("false" if report.results else "true",
                                datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))),
           ox.Triple(root, ox.NamedNode("http://purl.org/dc/terms/conformsTo"), ox.NamedNode(report.profile_version))]
    copied: set = set()
    for i, r in enumerate(_shown(report, max_results)):
        node = ox.BlankNode(f"r{i}")
        out.append(ox.Triple(root, ox.NamedNode(SH + "result"), node))
        out.append(ox.Triple(node, RDF_TYPE, ox.NamedNode(SH + "ValidationResult")))
        out.append(ox.Triple(node, ox.NamedNode(SH + "resultSeverity"), ox.NamedNode(SH + r.severity)))
        out.append(ox.Triple(node, ox.NamedNode(SH + "sourceShape"), ox.NamedNode(r.shape)))
        out.append(ox.Triple(node, ox.NamedNode(SH + "sourceConstraintComponent"),
                             ox.NamedNode(SH + r.component)))
        out.append(ox.Triple(node, ox.NamedNode(SH + "focusNode"), _term(r.focus_nt)))
        out.append(ox.Triple(node, ox.NamedNode(SH + "resultMessage"), ox.Literal(r.message, language="en")))
        if r.value_nt:
            out.append(ox.Triple(node, ox.NamedNode(SH + "value"), _term(r.value_nt)))
        path = _path_term(shapes, r)
        if path is not None:
            out.append(ox.Triple(node, ox.NamedNode(SH + "resultPath"), path))
            if isinstance(path, ox.BlankNode) and path not in copied:
                copied.add(path)
                out.extend(_copy_structure(shapes, path))
    return out


def _term(nt: str):
    """A term back from its N-Triples form."""
    triple = next(iter(ox.parse(f"<urn:x:s> <urn:x:p> {nt} .", format=ox.RdfFormat.N_TRIPLES)))
    return triple.object


def _path_term(shapes: shacl.ShapesGraph, result):
    if result.path_nt:
        return _term(result.path_nt)
    if result.path is None:
        return None
    shape = ox.NamedNode(result.shape)
    return shapes.value(shape, shacl.SH_PATH)


def _copy_structure(shapes: shacl.ShapesGraph, node) -> list[ox.Triple]:
    out = []
    todo = [node]
    seen = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for predicate, objects in shapes.out.get(current, {}).items():
            for o in objects:
                out.append(ox.Triple(current, predicate, o))
                if isinstance(o, ox.BlankNode):
                    todo.append(o)
    return out


def _turtle(report: Report, *, source, max_results, profiles) -> str:
    prefixes = dict(PREFIXES)
    return formats.write(report_triples(report, profiles, max_results), ox.RdfFormat.TURTLE,
                         prefixes=prefixes).decode("utf-8")


def _jsonld(report: Report, *, source, max_results, profiles) -> str:
    return formats.write(report_triples(report, profiles, max_results), ox.RdfFormat.JSON_LD).decode("utf-8")


# --- CSV -------------------------------------------------------------------------------------------

def _csv(report: Report, *, source, max_results, profiles) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in _shown(report, max_results):
        writer.writerow([source] + [getattr(r, c) or "" for c in CSV_COLUMNS[1:]])
    return buffer.getvalue()


# --- JUnit and SARIF: one entry per shape of the profile --------------------------------------------

def _rules(report: Report, profiles: Profiles) -> list[dict]:
    shapes = profiles.compiled(report.profile, report.version)
    rules = []
    for shape in shapes.reporting_shapes():
        if not isinstance(shape, ox.NamedNode):
            continue
        severity = shapes.value(shape, ox.NamedNode(SH + "severity"))
        rules.append({
            "id": shape.value,
            "label": shape_label(shapes, shape),
            "message": shape_message(shapes, shape) or "",
            "severity": severity.value.rsplit("#", 1)[-1] if severity is not None else "Violation",
            "anchor": shape_anchor(shape.value),
        })
    rules.sort(key=lambda r: r["id"])
    return rules


def _junit(report: Report, *, source, max_results, profiles) -> str:
    rules = _rules(report, profiles)
    by_shape: dict[str, list] = {}
    for r in report.results:
        by_shape.setdefault(r.shape, []).append(r)
    failures = sum(1 for rule in rules if any(r.severity == "Violation" for r in by_shape.get(rule["id"], [])))
    suites = ET.Element("testsuites", name="ecgraph conformance", tests=str(len(rules)),
                        failures=str(failures), errors="0", time=f"{report.elapsed:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=f"{source} against {report.profile_version}",
                          tests=str(len(rules)), failures=str(failures), errors="0", skipped="0",
                          time=f"{report.elapsed:.3f}")
    properties = ET.SubElement(suite, "properties")
    for key, value in (("profile", report.profile_version), ("shapes_hash", report.shapes_hash),
                       ("validator", report.validator), ("input_hash", report.input_hash),
                       ("triples", str(report.triples))):
        ET.SubElement(properties, "property", name=key, value=value)
    for rule in rules:
        case = ET.SubElement(suite, "testcase", classname=source, name=f"{rule['label']} <{rule['id']}>", time="0")
        results = by_shape.get(rule["id"], [])
        violations = [r for r in results if r.severity == "Violation"]
        shown = results if max_results is None else results[:max_results]
        if violations:
            failure = ET.SubElement(case, "failure", type="Violation",
                                    message=f"{len(violations)} violation(s): {rule['message']}")
            failure.text = "\n".join(f"{r.focus} {r.path or ''}: {r.message}" for r in shown
                                     if r.severity == "Violation")
        others = [r for r in shown if r.severity != "Violation"]
        if others:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"[{r.severity}] {r.focus} {r.path or ''}: {r.message}" for r in others)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _sarif(report: Report, *, source, max_results, profiles) -> str:
    rules = _rules(report, profiles)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for r in _shown(report, max_results):
        logical = {"fullyQualifiedName": r.focus_nt.strip("<>"), "kind": "object"}
        if r.written_id:
            logical["name"] = r.written_id
        result = {
            "ruleId": r.shape,
            "level": SEVERITY_LEVEL.get(r.severity, "note"),
            "message": {"text": r.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": source}},
                           "logicalLocations": [logical]}],
            "properties": {"focusNode": r.focus, "resultPath": r.path, "value": r.value,
                           "sourceConstraintComponent": r.component},
        }
        if r.shape in index:
            result["ruleIndex"] = index[r.shape]
        results.append(result)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ecgraph",
                "fullName": report.validator,
                "version": report.validator.split(" ")[1] if " " in report.validator else "0",
                "informationUri": standard.ONTOLOGY_IRI,
                "rules": [{
                    "id": rule["id"],
                    "name": rule["anchor"],
                    "shortDescription": {"text": rule["label"]},
                    "fullDescription": {"text": rule["message"] or rule["label"]},
                    "helpUri": rule["id"],
                    "defaultConfiguration": {"level": SEVERITY_LEVEL.get(rule["severity"], "note")},
                } for rule in rules],
            }},
            "artifacts": [{"location": {"uri": source},
                           "hashes": {"sha-256": report.input_hash.split(":", 1)[-1]}}],
            "invocations": [{"executionSuccessful": True,
                             "properties": {"profile": report.profile_version, "conforms": report.conforms,
                                            "shapesHash": report.shapes_hash, "triples": report.triples}}],
            "results": results,
        }],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


#: the writer of each report format (the keys of :data:`ecgraph.formats.REPORTS`)
WRITERS = {"text": _text, "json": _json, "turtle": _turtle, "jsonld": _jsonld, "csv": _csv, "junit": _junit,
           "sarif": _sarif}

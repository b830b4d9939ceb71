"""The conformance kit: every case gives exactly its expected outcome, and the kit covers the core
profile (every shape that can report has a failing and a passing case), both input formats and
the tricky inputs vendors get wrong."""

from __future__ import annotations

import json

import pytest
import rdflib
from rdflib.namespace import RDF, SH

from ecgraph import standard
from ecgraph.standard import kit
from tests import standard_support as s

MANIFEST = standard.kit_manifest()


def _entries() -> list[dict]:
    """The kit's cases (read by ecgraph.standard.kit, as vendors and the ecgraph kit command read them)."""
    return [{"id": c.id, "name": c.name, "comment": c.comment, "file": c.path, "profile": c.profile,
             "conforms": c.conforms, "expected": set(c.expected), "case": c} for c in kit.cases()]


ENTRIES = _entries()


def _reference(entry):
    """The documented procedure: SHACL Core with pyshacl + the checks beside the shapes."""
    from ecgraph.publish import ingest

    path = entry["file"]
    problems = ingest.parse(path.read_bytes(), filename=path.name, base_iri=path.as_uri()).problems
    conforms, _, results = s.shacl(s.parse_file(path), entry["profile"], problems=problems)
    return conforms, {(r["focus"], r["shape"], r["severity"]) for r in results}


@pytest.fixture(scope="module")
def outcomes():
    return {e["id"]: _reference(e) for e in ENTRIES}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_case_gives_exactly_its_expected_outcome(entry, outcomes):
    conforms, found = outcomes[entry["id"]]
    assert found == entry["expected"], (
        f"{entry['name']}: unexpected {sorted(found - entry['expected'], key=str)}, "
        f"missing {sorted(entry['expected'] - found, key=str)}")
    assert conforms is entry["conforms"]


@pytest.mark.parametrize("engine", ["fast", pytest.param("pyshacl", marks=pytest.mark.slow)])
def test_the_kit_passes_under_both_engines(engine):
    """What ecgraph kit --engine fast|pyshacl runs: the node's validator, results folded or not."""
    from click.testing import CliRunner

    from ecgraph.cli import main

    result = CliRunner().invoke(main, ["kit", "--engine", engine, "--format", "json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["failed"] == 0, [r["case"] for r in report["results"] if not r["passed"]]
    assert report["cases"] == len(ENTRIES) >= 100


def test_manifest_is_well_formed():
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids))
    assert len(ENTRIES) >= 100
    for e in ENTRIES:
        assert e["file"] is not None and e["file"].is_file(), e["id"]
        assert e["file"].parent == MANIFEST.parent / "cases"
        assert e["profile"] in standard.PROFILES, e["id"]
        assert e["case"].version == standard.STANDARD_VERSION, e["id"]
        assert e["name"] and e["comment"] is not None and str(e["comment"]).strip(), e["id"]
        assert e["conforms"] is (not e["expected"]), e["id"]
        for focus, shape, severity in e["expected"]:
            assert focus is None or focus.startswith("https://"), (e["id"], focus)
            ns = s.CORE_NS if severity == "Violation" else s.RECOMMENDED_NS
            assert shape.startswith(ns), (e["id"], shape, severity)
    # every case file is used by the manifest, and every case claims the release of its kit
    used = {e["file"].name for e in ENTRIES}
    assert used == {p.name for p in (MANIFEST.parent / "cases").iterdir()}
    for e in ENTRIES:
        assert standard.judging_version(s.parse_triples(e["file"])) == standard.STANDARD_VERSION, e["id"]


def test_both_input_formats_pass_and_fail():
    by_format = {}
    for e in ENTRIES:
        by_format.setdefault(e["file"].suffix, set()).add(e["conforms"])
    assert by_format[".ttl"] == {True, False}
    assert by_format[".jsonld"] == {True, False}


def _beside_shapes(graph) -> set:
    return {str(x) for x in graph.subjects(SH.deactivated, rdflib.Literal(True))}


def test_every_core_shape_has_a_failing_and_a_passing_case(outcomes):
    core = s.shapes("core")
    reporting = {str(x) for x in s.reporting_shapes(core) if _has_own_constraints(core, x)} | _beside_shapes(core)
    failing = set()
    for e in ENTRIES:
        failing |= {shape for _, shape, severity in e["expected"] if severity == "Violation"}
    assert reporting - failing == set(), "core shapes without a failing case"
    assert failing <= reporting, "the kit expects results from shapes that cannot report"

    exercised = set()
    for e in ENTRIES:
        if e["profile"] == "core" and e["conforms"]:
            exercised |= _exercised_shapes(core, s.validation_graph(s.parse_file(e["file"])))
    missing = {x for x in reporting - exercised if x not in _beside_shapes(core)}
    assert missing == set(), "core shapes that no passing case exercises with a value"


def test_every_recommended_shape_has_a_failing_case():
    rec = s.shapes("recommended")
    reporting = {str(x) for x in s.reporting_shapes(rec) if _has_own_constraints(rec, x)} | _beside_shapes(rec)
    failing = set()
    for e in ENTRIES:
        failing |= {shape for _, shape, severity in e["expected"] if severity == "Warning"}
    assert reporting - failing == set(), "recommended shapes without a failing case"
    assert failing <= reporting


def test_the_tricky_inputs_are_covered():
    """The kinds of mistakes and of real data the issues list, each with a case."""
    failing = " ".join(str(e["comment"]).lower() + " " + e["name"].lower() for e in ENTRIES if not e["conforms"])
    passing = " ".join(str(e["comment"]).lower() + " " + e["name"].lower() for e in ENTRIES if e["conforms"])
    everything = failing + " " + passing
    for kind in ("wrong datatype", "wrong unit", "out of range", "missing member type", "code not in its list",
                 "end date before start date", "wkt", "unknown", "dropped", "swapped", "empty", "2099", "1700",
                 "two values of one indicator", "another community", "unrelated iri", "30 mw", "ill-typed"):
        assert kind in failing, kind
    for kind in ("whole number", "year", "community benefit society", "coöperatie", "known only by its power",
                 "share of a wind farm", "local code", "perimeter", "a time", "independent school", "private school"):
        assert kind in everything, kind


def test_the_documented_examples_are_kit_cases():
    """docs/standard.md shows the minimal twin in Turtle and JSON-LD: those exact texts are the
    kit's doc-minimal cases, and they describe the same graph."""
    doc = (s.ROOT / "docs" / "standard.md").read_text(encoding="utf-8")
    for name in ("doc-minimal.ttl", "doc-minimal.jsonld"):
        marker = f"<!-- kit case: {name} -->"
        assert marker in doc, marker
        after = doc.split(marker, 1)[1]
        block = after.split("```", 2)[1].split("\n", 1)[1]
        assert block == (MANIFEST.parent / "cases" / name).read_text(encoding="utf-8"), name
        assert len(block.strip().splitlines()) <= 30
    turtle = s.parse_file(MANIFEST.parent / "cases" / "doc-minimal.ttl")
    jsonld = s.parse_file(MANIFEST.parent / "cases" / "doc-minimal.jsonld")
    from rdflib.compare import isomorphic

    assert isomorphic(turtle, jsonld)


@pytest.mark.slow
def test_the_node_validator_agrees_with_the_reference_procedure():
    """ecgraph.validation.validate (the node's validator, fast engine, one result per mistake) gives every kit
    case the expected outcome once its folded results are counted."""
    for e in ENTRIES:
        report = s.node_validate(e["file"], e["profile"])
        found = kit.Case.outcome(report.results)
        assert found == e["expected"], (e["id"], sorted(found ^ e["expected"], key=str))
        assert report.conforms is not any(sev == "Violation" for _, _, sev in e["expected"]), e["id"]


def test_the_1_0_0_kit_is_still_judged_by_1_0_0():
    """Twins that claim 1.0.0 keep being validated against 1.0.0: every case of the 1.0.0 kit (as
    published, claiming core/1.0.0) gives its 1.0.0 outcome through the node's validator, which
    picks the release from the claim."""
    cases = kit.cases("1.0.0")
    assert len(cases) == 83
    for case in cases:
        report = s.node_validate(case.path, case.profile)
        assert case.passes(report.results), case.id
        if standard.claimed_versions(s.parse_triples(case.path)):
            assert report.version == "1.0.0" and report.profile_version.endswith("/1.0.0"), case.id


# --- helpers ------------------------------------------------------------------------------------

_NON_CONSTRAINTS = {RDF.type, rdflib.RDFS.label, rdflib.RDFS.comment, rdflib.RDFS.seeAlso, SH.message, SH.severity,
                    SH.property, SH.targetClass, SH.targetNode, SH.targetObjectsOf, SH.targetSubjectsOf, SH.path,
                    SH.name, SH.description, SH.deactivated}


def _has_own_constraints(graph, shape) -> bool:
    return any(p not in _NON_CONSTRAINTS for p in graph.predicates(shape, None))


def _focus_nodes(graph, shape, data) -> set:
    nodes = set()
    for cls in graph.objects(shape, SH.targetClass):
        for sub in data.transitive_subjects(rdflib.RDFS.subClassOf, cls):
            nodes |= set(data.subjects(RDF.type, sub))
    nodes |= set(graph.objects(shape, SH.targetNode))
    for p in graph.objects(shape, SH.targetObjectsOf):
        nodes |= set(data.objects(None, p))
    for p in graph.objects(shape, SH.targetSubjectsOf):
        nodes |= set(data.subjects(p, None))
    return nodes


def _values(graph, path, data, node) -> set:
    if isinstance(path, rdflib.URIRef):
        return set(data.objects(node, path))
    inverse = graph.value(path, SH.inversePath)
    if inverse is not None:
        return set(data.subjects(inverse, node))
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        from rdflib.collection import Collection

        return set().union(*(_values(graph, p, data, node) for p in Collection(graph, alternatives)))
    raise AssertionError(f"unexpected path {path}")


def _exercised_shapes(graph, data) -> set:
    """Reporting shapes that have a focus node in ``data`` and, for property shapes, a value."""
    out = set()
    for node_shape in set(graph.subjects(SH.targetClass, None)) | set(graph.subjects(SH.targetNode, None)) | \
            set(graph.subjects(SH.targetObjectsOf, None)) | set(graph.subjects(SH.targetSubjectsOf, None)):
        focus = _focus_nodes(graph, node_shape, data)
        if not focus:
            continue
        out.add(str(node_shape))
        for prop in graph.objects(node_shape, SH.property):
            path = graph.value(prop, SH.path)
            if any(_values(graph, path, data, f) for f in focus):
                out.add(str(prop))
    return out


def test_the_register_mapping_of_the_documentation_is_a_conformant_twin():
    """docs/standard.md section 3 maps a register row into a twin, one kind of column at a time:
    its Turtle blocks put together are one twin that conforms to core, beside-checks included (its
    location lies in the country of its address), and they show every kind of column."""
    import re

    from ecgraph.publish import ingest
    from ecgraph.validation import validate

    doc = (s.ROOT / "docs" / "standard.md").read_text(encoding="utf-8")
    section = doc.split("## 3. From a register row to a twin", 1)[1].split("\n## 4.", 1)[0]
    blocks = re.findall(r"```turtle\n(.*?)```", section, re.S)
    assert len(blocks) >= 8
    text = "\n".join(blocks)
    parsed = ingest.parse(text.encode(), filename="mapping.ttl")
    for engine in validate.ENGINES:
        report = validate.validate(parsed.triples, "recommended", engine=engine)
        assert report.conforms, [r.message for r in report.results if r.severity == "Violation"]
        assert report.version == standard.STANDARD_VERSION
        assert not [r for r in report.results if "PointInCountry" in r.shape]
    for term in ("legalform-uk-community-benefit-society", "ec:Registration", "ec:ownershipShare",
                 "ec:nutsCode", "ec:lauCode", "MULTIPOINT", "POLYGON", "xsd:gYear", "xsd:dateTime",
                 "ec:EnergyStorage", "ec:ThermalStorage", "ec:BiogasPlant", "skos:broadMatch",
                 "ec:School , ec:PublicBody", "ec:School , ec:NGO", "ec:School , ec:Business",
                 'schema:currency "GBP"', "qudt:numericValue 90 ;"):
        assert term in text, term

"""The benchmark harness: its generator writes what the figures claim to measure, and one command
prints the table beside its anchors and writes the JSON.

A benchmark is only as honest as its data: a generator that drifted into non-conformant twins
would time the validator's error path, one that lost its schools would make the school question
trivially fast. So the generated network is checked the way the node checks an upload.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from bench.__main__ import table
from bench.common import Row
from bench.generate import generate
from ecgraph.validation.validate import validate

ROOT = Path(__file__).resolve().parents[1]
EC = "https://w3id.org/ecgraph/ns#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def _triples(path: Path) -> list[ox.Triple]:
    return [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]


def _communities(files: list[Path]) -> list[Path]:
    return [f for f in files if f.name.startswith("community-")]


def _digest(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    generate(tmp_path / "a", 12, seed=7, nquads=True)
    generate(tmp_path / "b", 12, seed=7, nquads=True)
    generate(tmp_path / "c", 12, seed=8)
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a == b
    assert len(a) == 12 + 3 + 1  # communities, at least three GBNs, the N-Quads file
    assert {k: v for k, v in a.items() if k != "network.nq"} != c


def test_every_generated_twin_conforms_and_has_about_the_asked_size(tmp_path):
    files = generate(tmp_path, 30, seed=7, triples_per_twin=1000)
    sizes = []
    for path in files:
        triples = _triples(path)
        report = validate(triples)
        assert report.conforms, (path.name, [r.message for r in report.results if r.severity == "Violation"][:3])
        if path.name.startswith("community-"):
            sizes.append(len(triples))
    assert len(sizes) == 30
    assert all(800 <= n <= 1300 for n in sizes), sizes
    bigger = _triples(generate(tmp_path / "big", 1, seed=7, triples_per_twin=10_000)[-1])
    assert 8_000 <= len(bigger) <= 13_000


def test_the_network_looks_like_the_demo_network(tmp_path):
    """Members of every type with schools a realistic minority, assets, indicators over several
    periods, lessons learned, and communities spread over the GBNs."""
    files = generate(tmp_path, 40, seed=7)
    kinds: Counter = Counter()
    with_school = 0
    periods: set = set()
    networks: set = set()
    for path in _communities(files):
        triples = _triples(path)
        types = Counter(t.object.value.removeprefix(EC) for t in triples if t.predicate == RDF_TYPE)
        kinds.update(types)
        with_school += types["School"] > 0
        periods.update(t.object.value for t in triples if t.predicate.value == EC + "periodStart")
        networks.update(t.object.value for t in triples if t.predicate.value == EC + "network")
    for kind in ("Household", "Person", "School", "Municipality", "Business", "NGO", "PVInstallation",
                 "IndicatorValue", "LessonLearned", "Membership"):
        assert kinds[kind] > 0, kind
    members = sum(kinds[k] for k in ("Household", "Person", "School", "Municipality", "Business", "NGO",
                                     "ResearchInstitution"))
    assert 0.01 < kinds["School"] / members < 0.10
    assert 0 < with_school < 40  # the school question has answers, and not every community is one
    assert len(periods) >= 8
    assert len(networks) == 3
    assert len([f for f in files if f.name.startswith("gbn-")]) == 3


def test_violations_break_the_asked_fraction_and_nothing_else(tmp_path):
    clean = {p.name: p.read_bytes() for p in generate(tmp_path / "clean", 60, seed=5)}
    files = generate(tmp_path / "broken", 60, seed=5, violations=0.5)
    failing = {}
    for path in _communities(files):
        report = validate(_triples(path))
        if not report.conforms:
            failing[path.name] = {r.shape_label for r in report.results if r.severity == "Violation"}
    assert 15 <= len(failing) <= 45, len(failing)
    kinds = {frozenset(labels) for labels in failing.values()}
    assert kinds == {frozenset({"community legal form"}), frozenset({"power unit"}),
                     frozenset({"rate indicator unit and range"})}  # one mistake each, of all three kinds
    for path in _communities(files):
        if path.name not in failing:
            assert validate(_triples(path)).conforms
    assert set(clean) == {p.name for p in files}


def test_the_nquads_file_puts_each_twin_in_its_named_graph(tmp_path):
    files = generate(tmp_path, 5, seed=7, nquads=True)
    quads = list(ox.parse(path=str(tmp_path / "network.nq"), format=ox.RdfFormat.N_QUADS))
    per_graph = Counter(q.graph_name.value for q in quads)
    for path in files:
        assert per_graph[f"https://w3id.org/ecgraph/twin/{path.stem}"] == len(_triples(path))
    assert sum(per_graph.values()) == len(quads)


def test_the_command_line_generator_writes_the_network(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench.generate", "--communities", "4", "--seed", "3",
                          "--violations", "0.5", "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert "wrote 7 twins" in out.stdout
    assert len(list((tmp_path / "twins").glob("community-*.ttl"))) == 4


def test_the_table_gives_both_figures_their_units_and_the_ratio():
    text = table([Row("validation", "core, 10k", 0.25, 3.5, "s", "raw pyshacl", "peak 45 vs 65 MiB"),
                  Row("scale", "store on disk", 3255.0, None, "MiB")])
    lines = text.splitlines()
    assert lines[0].startswith("| section | case | ecgraph | anchor | ratio |")
    assert lines[2] == "| validation | core, 10k | 0.25 s | 3.5 s | 0.071 | raw pyshacl | peak 45 vs 65 MiB |"
    assert lines[3] == "| scale | store on disk | 3,255 MiB | n/a | n/a |  |  |"


@pytest.mark.slow  # 44 s in CI; the slow suite's whole quick run covers the same command
def test_one_command_prints_the_table_and_writes_json(tmp_path):
    """The inference and validation sections of a quick run: each figure beside its anchor (raw
    owlrl, raw pyshacl) from the same run, and entailments equal to owlrl's; validation at the
    sizes asked for."""
    out = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "inference", "validation",
                          "--validation-sizes", "3000", "--results", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| section | case | ecgraph | anchor | ratio |" in out.stdout
    payload = json.loads((tmp_path / "latest.json").read_text())
    assert "cores" in payload["machine"] and payload["quick"] is True
    rows = payload["rows"]
    assert {r["section"] for r in rows} == {"inference", "validation"}
    for row in rows:
        assert row["ecgraph"] > 0 and row["anchor"] > 0
        assert row["ratio"] == pytest.approx(row["ecgraph"] / row["anchor"])
        assert row["anchor_name"] in ("owlrl OWL-RL closure", "raw pyshacl")
    assert all("equal to owlrl's (claimed rules): yes" in r["note"] for r in rows if r["section"] == "inference")
    assert sorted(r["case"] for r in rows if r["section"] == "validation") == [
        "core profile, 3k triples (--engine pyshacl)", "core profile, 3k triples (fast engine)"]
    assert (tmp_path / "latest.md").read_text().startswith("ecgraph benchmarks, quick run")


@pytest.mark.slow
def test_the_whole_quick_run_measures_every_section_against_the_raw_engines(tmp_path):
    """Everything a quick run promises, oxigraph serve and pyoxigraph's bulk loader included."""
    out = subprocess.run([sys.executable, "-m", "bench", "--quick", "--results", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads((tmp_path / "latest.json").read_text())["rows"]
    # every section but those that need the full run's sizes (N = 10,000, four nodes, the trace)
    assert {r["section"] for r in rows} == {"publish", "queries", "validation", "inference", "remote", "pages",
                                           "discovery"}
    queries = [r for r in rows if r["section"] == "queries"]
    assert len(queries) >= 11  # ten or more analyst queries and the throughput
    assert all(r["anchor_name"] == "oxigraph serve" and r["ratio"] for r in queries)
    assert any("bulk_load" in r["anchor_name"] for r in rows)


def test_a_run_keeps_the_sections_it_finished_when_a_later_one_fails(tmp_path, monkeypatch):
    """A full run is an hour or two: what its first sections measured is written as each ends, so
    a later section that fails (or a run stopped) does not take them with it."""
    import bench.__main__ as run

    events = []
    monkeypatch.setattr(run.os, "sync", lambda: events.append("sync"))

    def measured(quick: bool) -> list:
        events.append("section")
        return [run.Row("inference", "a figure", 2.0, 4.0, "s", "owlrl")]

    def failing(quick: bool) -> list:
        raise RuntimeError("the second section failed")

    monkeypatch.setattr(run, "SECTIONS", {"inference": measured, "validation": failing})
    with pytest.raises(RuntimeError, match="second section"):
        run.main(["--results", str(tmp_path)])
    payload = json.loads((tmp_path / "latest.json").read_text())
    assert payload["finished"] is False and payload["sections"] == ["inference"]
    assert [r["case"] for r in payload["rows"]] == ["a figure"] and payload["rows"][0]["ratio"] == 0.5
    assert "(unfinished: the sections so far)" in (tmp_path / "latest.md").read_text()
    monkeypatch.setattr(run, "SECTIONS", {"inference": measured})
    run.main(["--results", str(tmp_path / "whole")])
    whole = json.loads((tmp_path / "whole" / "latest.json").read_text())
    assert whole["finished"] is True
    assert set(whole["section_seconds"]) == {"inference"}  # where a run's time went, per section
    # each section starts once what came before is on disk, and the run says how long that took
    assert events[-2:] == ["sync", "section"]
    assert set(whole["sync_seconds"]) == {"inference"} and whole["sync_seconds"]["inference"] >= 0
    from bench.targets import duration

    assert "longest: inference 0 min" in duration(whole)[0]


def test_the_media_type_asked_follows_the_query_form_as_rdflib_parses_it():
    """The trace and the network section ask each query for the media type of its form; a guess
    on the whole text asked a SELECT with a variable ``?describes`` for Turtle, and the node
    rightly answered 406 (the trace's "failures"). Checked against an independent parser on every
    query the benchmarks send, and on texts made to mislead a guess."""
    from rdflib.plugins.sparql.parser import parseQuery

    from bench.queries import _accept, query_set
    from bench.trace import DOCS_QUERIES

    texts = [text for _, text in query_set()] + [p.read_text() for p in sorted(DOCS_QUERIES.glob("*.rq"))]
    texts += [
        "PREFIX ec: <https://w3id.org/ecgraph/ns#>\nSELECT ?describes WHERE { ?t ec:describes ?describes }",
        "# CONSTRUCT a graph? no:\nASK { ?s ?p 'DESCRIBE' }",
        'PREFIX ex: <http://example.org/construct#>\nselect * { ?s ex:p """CONSTRUCT\n{}""" }',
        "BASE <http://example.org/select/>\nconstruct { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "DESCRIBE ?select WHERE { ?select ?p ?o }",
        "PREFIX ask: <http://example.org/>\nDescribe <http://example.org/ask>",
    ]
    assert any("?describes" in t for t in texts[:-6])  # the query that was asked wrongly is among them
    wrong = []
    for text in texts:
        form = parseQuery(text)[1].name
        expected = "text/turtle" if form in ("ConstructQuery", "DescribeQuery") else "application/sparql-results+json"
        if _accept(text) != expected:
            wrong.append((form, text[:120]))
    assert not wrong


def test_every_query_of_the_set_has_an_answer_on_a_network_the_bench_generates(node, tmp_path):
    """A question that finds nothing measures a scan and hides a wrong answer: the self-consumption
    query asked for 2020, which the generated indicators (2015 to 2017) never reach, and for many
    runs the node and the anchor compared empty answers. Every query of the set must answer
    something on a network generated as the benchmarks generate theirs (twins of 1,000 triples)."""
    from bench.queries import query_set

    for path in generate(tmp_path / "net", 50, seed=7, triples_per_twin=1000):
        node.register(path.stem)
        node.publish(path.stem, node.upload_for(path.stem, path.read_bytes(), filename=path.name))
    empty = []
    for title, text in query_set():
        answer = node.store.query(text)
        if not (bool(answer) if isinstance(answer, ox.QueryBoolean) else any(True for _ in answer)):
            empty.append(title)
    assert not empty


def test_answers_are_the_same_up_to_the_rows_tied_with_the_last_one_of_a_cut_list():
    """The bench compares the node's answers with the anchor's: for ORDER BY ... LIMIT, rows tied
    with the last one may be any of the tied (the order among ties is the engine's); every other
    row, and every ORDER BY value, must be the same."""
    from bench.common import same_answer

    text = "SELECT ?c ?average WHERE { } GROUP BY ?c ORDER BY DESC(?average) LIMIT 3\n"

    def rows(*pairs):
        return [{"c": c, "average": a} for c, a in pairs]

    theirs = rows(("a", "9"), ("b", "8"), ("c", "7"))
    assert same_answer(text, rows(("b", "8"), ("a", "9"), ("c", "7")), theirs)  # a bag
    assert same_answer(text, rows(("a", "9"), ("b", "8"), ("d", "7")), theirs)  # d tied with c at 7
    assert not same_answer(text, rows(("a", "9"), ("d", "8"), ("c", "7")), theirs)  # b is not tied
    assert not same_answer(text, rows(("a", "9"), ("b", "8"), ("d", "6")), theirs)  # another value
    assert not same_answer(text.replace(" LIMIT 3", ""), rows(("a", "9"), ("b", "8"), ("d", "7")), theirs)
    assert not same_answer(text, rows(("a", "9"), ("b", "8")), theirs)

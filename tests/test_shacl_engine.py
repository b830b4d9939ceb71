"""ecgraph's SHACL engine gives exactly pyshacl's results (the reference), on every kit case,
every demo twin and generated twins with violations, for both profiles: (focus node, path, value,
source shape, constraint component, severity) match one for one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.generate import generate
from ecgraph import standard
from ecgraph.publish import ingest
from ecgraph.validation.validate import Report, validate
from tests.helpers import demo_files


def findings_key(report: Report) -> set:
    """What two engines must agree on: (focus, path, value, shape, component, severity), folded
    results included."""
    out: set[tuple] = set()
    for r in report.results:
        out.add((r.focus, r.path, r.value, r.shape, r.component, r.severity))
        out.update(("also", r.focus, a["shape"], a["component"], a["severity"]) for a in r.also)
    return out


KIT_CASES = sorted((standard.shapes_dir() / "kit" / "cases").iterdir())


def triples_of(path: Path):
    return ingest.parse(path.read_bytes(), filename=path.name, base_iri=path.as_uri()).triples


def assert_same(triples, profile):
    fast = validate(triples, profile, engine="fast")
    reference = validate(triples, profile, engine="pyshacl")
    assert findings_key(fast) == findings_key(reference)
    assert fast.conforms == reference.conforms
    assert [r.message for r in fast.results] == [r.message for r in reference.results]


@pytest.mark.parametrize("path", KIT_CASES, ids=lambda p: p.name)
@pytest.mark.parametrize("profile", ["core", "recommended"])
def test_kit_cases(path, profile):
    assert_same(triples_of(path), profile)


@pytest.mark.parametrize("path", demo_files(), ids=lambda p: p.name)
def test_demo_twins(path):
    assert_same(triples_of(path), "recommended")


def test_generated_twins_with_violations(tmp_path):
    files = generate(tmp_path, communities=12, seed=3, triples_per_twin=600, violations=1.0)
    violated = 0
    for path in files:
        triples = triples_of(path)
        assert_same(triples, "recommended")
        violated += not validate(triples, "core").conforms
    assert violated >= 8


def test_generated_violations_are_deterministic_and_all_broken(tmp_path):
    first = generate(tmp_path / "a", communities=9, seed=5, triples_per_twin=400, violations=1.0)
    second = generate(tmp_path / "b", communities=9, seed=5, triples_per_twin=400, violations=1.0)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    communities = [p for p in first if p.name.startswith("community-")]
    assert all(not validate(triples_of(p), "core").conforms for p in communities)

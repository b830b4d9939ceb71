"""On the demo network, the node's inferences equal owlrl's OWL-RL closure restricted to the
rules the reasoner claims (see ecgraph/reason.py), twin by twin, through the real pipeline."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from ecgraph import standard
from ecgraph.publish.pipeline import Pipeline, Upload, load_schema
from tests.helpers import demo_files
from tests.reference import owlrl_entailed, rdflib_triples, restrict


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline()


@pytest.fixture(scope="module")
def schema():
    return load_schema()


@pytest.mark.parametrize("path", demo_files(), ids=lambda p: p.name)
def test_demo_twin_inferences_equal_owlrl(path, pipeline, schema):
    twin_id = path.stem
    upload = Upload(path.read_bytes(), filename=path.name, twin_id=twin_id, base_iri=standard.twin_graph(twin_id))
    prepared = pipeline.prepare(upload)
    data = list(ox.parse(prepared.data_ntriples, format=ox.RdfFormat.N_TRIPLES))
    ours = list(ox.parse(prepared.inferred_ntriples, format=ox.RdfFormat.N_TRIPLES))
    data = [q.triple for q in data]
    ours = [q.triple for q in ours]
    reference = restrict(owlrl_entailed(schema, data), data)
    mine = rdflib_triples(ours)
    assert mine - reference == set(), "inferred by ecgraph only"
    assert reference - mine == set(), "inferred by owlrl only"
    assert len(mine) > 0

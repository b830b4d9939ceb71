"""On the demo network, the node's inferences equal owlrl's OWL-RL closure restricted to the
rules the reasoner claims (see ecgraph/reason.py), twin by twin, through the real pipeline.

owlrl takes seconds per twin (pure Python over the whole schema), so the module computes every
twin's reference at once in a pool of processes, one per core; each test still compares its own
twin's inferences with its own twin's reference."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pyoxigraph as ox
import pytest

from ecgraph import standard
from ecgraph.publish.pipeline import Pipeline, Upload
from tests.helpers import demo_files
from tests.reference import rdflib_triples, reference_from_ntriples


@pytest.fixture(scope="module")
def prepared():
    """Each demo twin through the node's pipeline, and owlrl's reference for its data (a future)."""
    pipeline = Pipeline()
    twins = {}
    for path in demo_files():
        upload = Upload(path.read_bytes(), filename=path.name, twin_id=path.stem,
                        base_iri=standard.twin_graph(path.stem))
        twins[path.name] = pipeline.prepare(upload)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        references = {name: pool.submit(reference_from_ntriples, p.data_ntriples) for name, p in twins.items()}
        yield {name: (twins[name], references[name]) for name in twins}
        for future in references.values():
            future.cancel()


@pytest.mark.parametrize("path", demo_files(), ids=lambda p: p.name)
def test_demo_twin_inferences_equal_owlrl(path, prepared):
    twin, reference = prepared[path.name]
    ours = [q.triple for q in ox.parse(twin.inferred_ntriples, format=ox.RdfFormat.N_TRIPLES)]
    reference = reference.result()
    mine = rdflib_triples(ours)
    assert mine - reference == set(), "inferred by ecgraph only"
    assert reference - mine == set(), "inferred by owlrl only"
    assert len(mine) > 0

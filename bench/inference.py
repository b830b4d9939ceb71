"""Inference: ecgraph's reasoner against owlrl's ``DeductiveClosure(OWLRL_Semantics)`` on the same
twin and ontology, and whether the entailments (for the rules ecgraph implements) are equal."""

from __future__ import annotations

import time

import pyoxigraph as ox

from ecgraph.publish.pipeline import load_schema
from ecgraph.publish.reason import Reasoner
from tests.reference import owlrl_entailed, rdflib_triples, restrict

from .common import Row, single_twin


def inference(quick: bool) -> list[Row]:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    schema = load_schema()
    reasoner = Reasoner(schema)
    rows = []
    for size in sizes:
        path = single_twin(size)
        data = [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)]
        started = time.perf_counter()
        ours = reasoner.infer(data)
        ours_seconds = time.perf_counter() - started
        started = time.perf_counter()
        entailed = owlrl_entailed(schema, data)
        theirs_seconds = time.perf_counter() - started
        reference = restrict(entailed, data)
        mine = rdflib_triples(ours)
        equal = mine == reference
        rows.append(Row("inference", f"{len(data):,} triples: materialise the twin's entailments",
                        ours_seconds, theirs_seconds, "s", "owlrl OWL-RL closure",
                        note=f"{len(mine):,} inferred; equal to owlrl's (claimed rules): {'yes' if equal else 'NO'}"
                             + ("" if equal else f" ({len(mine - reference)} extra, {len(reference - mine)} missing)"),
                        extra={"equal": equal, "inferred": len(mine), "speedup": theirs_seconds / ours_seconds}))
    return rows

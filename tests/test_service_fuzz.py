"""The SERVICE check and the engine agree: a differential fuzz test.

Queries and updates are generated from the SPARQL grammar with hostile token boundaries
(tests/sparql_fuzz.py). Each is checked against a peer policy naming one loopback SPARQL server, then
run on an empty in-memory pyoxigraph store in this process, with the network: loopback canaries
reached as 127.0.0.1, 127.1, [::1] and localhost (and the peer's own port under those names, or
outside its endpoint) must never be contacted by a text the check allowed, and the allowed peer must
be reached, so that SERVICE to a peer still works. Refused texts are run too, only to learn whether
the engine parses them (every target is a server of this test): only texts the engine parses are
counted. The figures (generated, parsed, with SERVICE or LOAD, allowed, refused, false positives,
canary hits) are printed at the end of the run.

A few thousand cases run by default (ECGRAPH_SERVICE_FUZZ); the slow suite runs 100,000
(ECGRAPH_SERVICE_FUZZ_LONG) across processes.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import pytest

from tests.checks import record
from tests.sparql_fuzz import fuzz

CASES = int(os.environ.get("ECGRAPH_SERVICE_FUZZ", "3000"))
CASES_LONG = int(os.environ.get("ECGRAPH_SERVICE_FUZZ_LONG", "100000"))
SEED = int(os.environ.get("ECGRAPH_SERVICE_FUZZ_SEED", "20261129"))


def merge(results: list[dict]) -> dict:
    counts: Counter = Counter()
    causes: Counter = Counter()
    samples: dict[str, list[str]] = {}
    for result in results:
        counts.update(result["counts"])
        causes.update(result["false_positive_causes"])
        for kind, texts in result["samples"].items():
            samples.setdefault(kind, []).extend(texts[:3])
    return {"counts": dict(counts), "false_positive_causes": dict(causes), "samples": samples}


def verify(name: str, result: dict, seconds: float) -> None:
    counts = result["counts"]
    parsed = counts["parsed by the engine"]
    figures = {k: v for k, v in counts.items() if k != "seconds"}
    figures["wall seconds"] = round(seconds, 1)
    figures["false positive rate"] = round(counts.get("false positives", 0) / parsed, 4)
    figures["false positive causes"] = result["false_positive_causes"]
    record(name, **figures)
    samples = result["samples"]
    for bad in ("canary hits", "allowed although a forbidden target was named",
                "label wrong: only the peer named, yet a canary was reached"):
        assert counts.get(bad, 0) == 0, (bad, samples)
    assert parsed >= 0.6 * counts["generated"], "the generator drifted into syntax errors"
    assert counts["with SERVICE or LOAD"] >= 0.3 * parsed
    assert counts["made a call"] >= 0.3 * parsed, "too few texts make a call the engine executes"
    assert counts["allowed and reached the peer"] >= 0.05 * parsed, "SERVICE to the peer no longer works"
    assert counts["refused"] > 0 and counts["allowed"] > 0


def test_no_text_the_check_allows_makes_the_engine_call_anything_but_the_peer():
    started = time.perf_counter()
    result = fuzz(SEED, CASES)
    verify("service_fuzz", result, time.perf_counter() - started)


@pytest.mark.slow
def test_a_hundred_thousand_texts_agree_with_the_engine():
    chunk = 2500
    seeds = [SEED + 1 + i for i in range((CASES_LONG + chunk - 1) // chunk)]
    sizes = [min(chunk, CASES_LONG - i * chunk) for i in range(len(seeds))]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(fuzz, seeds, sizes))
    merged = merge(results)
    assert merged["counts"]["generated"] == CASES_LONG
    verify("service_fuzz_long", merged, time.perf_counter() - started)

"""Network answers over the benchmark generator's networks (slow suite), not only over the demo.

The demo network is ours, written by hand; the generator (:mod:`bench.generate`) writes networks of
any size with the shapes of real registers (hundreds of members, schools and public bodies among
them, indicators over periods, lessons). Here three real ``ecgraph serve`` nodes each hold the
GBNs of a generated network that fall to them (a GBN's twin with all its communities' twins), a
fourth holds all of it, and a corpus of queries generated from what the twins hold (the same
generator of queries as the demo network's test, :func:`tests.test_network.generated_queries`)
must answer the same over the network as on the one node holding everything.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.generate import generate
from ecgraph.standard.examples import example_queries
from tests.servers import NodeProcess
from tests.test_network import NODE_ARGS, add_peer, ask, compare_corpus, generated_queries, harvest, publish, rows

pytestmark = pytest.mark.slow

COMMUNITIES = 30
NODES = "abc"


def split_by_gbn(files: list[Path], parts: int) -> list[list[Path]]:
    """Each generated twin goes to the node of its GBN: the GBN's own twin by its file name, a
    community by the network it names."""
    groups: list[list[Path]] = [[] for _ in range(parts)]
    for path in files:
        own = re.fullmatch(r"gbn-(\d+)", path.stem)
        named = own or re.search(r"ec:network <https://gbn-(\d+)\.bench\.example/", path.read_text())
        assert named, f"{path.name} names no GBN"
        groups[int(named.group(1)) % parts].append(path)
    return groups


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    base = tmp_path_factory.mktemp("generated-network")
    files = generate(base / "net", COMMUNITIES, seed=14, triples_per_twin=300)
    nodes = {name: NodeProcess(base / name, *NODE_ARGS) for name in NODES}
    nodes["r"] = NodeProcess(base / "r", "--no-demo", "--query-workers", "1")
    try:
        for n in nodes.values():
            n.start()
        for name, group in zip(NODES, split_by_gbn(files, len(NODES)), strict=True):
            assert group, f"node {name} got no GBN: the split must use all three nodes"
            for path in group:
                publish(nodes[name], path.stem, path.read_bytes())
        for path in files:
            publish(nodes["r"], path.stem, path.read_bytes())
        add_peer(nodes["a"], nodes["b"].url)
        add_peer(nodes["a"], nodes["c"].url)
        harvest(nodes["a"])
        yield nodes
    finally:
        for n in nodes.values():
            n.stop()


def test_generated_queries_over_a_generated_network_split_across_three_nodes_equal_the_single_node(generated):
    corpus = generated_queries(generated["r"], seed=7, count=80)
    assert len(corpus) >= 50
    differing, answered = compare_corpus(generated["r"], generated["a"], corpus)
    assert differing == []
    assert answered >= 50  # not a corpus of empty answers


def test_every_example_query_over_a_generated_network_equals_the_single_node(generated):
    answered = []
    for example in example_queries():
        whole = rows(ask(generated["r"], example["query"]))
        assert rows(ask(generated["a"], example["query"], scope="network")) == whole, example["name"]
        if whole:
            answered.append(example["name"])
    assert any("school" in name for name in answered), answered  # the generator plants schools

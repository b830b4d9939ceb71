"""The network of nodes: a query over three nodes against the same query on one node holding
everything, and harvest throughput.

A generated network is split across three ``ecgraph serve`` nodes by grid network (GBN), each loaded
with ``ecgraph load --bulk``; a fourth node holds all of it. Node A has B and C as peers and
harvests them: the first harvest gives twins per second, a second one (nothing changed) its cost.
Then each query of ``bench/queries/`` runs on A with ``scope=network`` and on the single node, in
alternation: the medians and their ratio (a network answer includes bringing the peers up to date,
which is skipped for a peer confirmed current in the last second, so the sync cost shows in the
first repeat and in the p95), and whether the answers are equal. Last, harvest throughput at the
issue's size: one peer holding the whole network (1,000 communities in the full run, or ``--twins N``
in any run: ``python -m bench --only network --quick --twins 1000``) harvested by a node of its own,
first time and again with nothing changed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from .common import ECGRAPH, Node, Row, median, network, percentile, same_answer
from .queries import _accept, query_set
from .stores import loaded, working_copy


def _split(twins: Path, parts: int) -> list[list[Path]]:
    groups: list[list[Path]] = [[] for _ in range(parts)]
    for path in sorted(twins.glob("*.ttl")):
        found = re.search(r"gbn-(\d{3})", path.name) or re.search(r"gbn-(\d{3})\.bench\.example", path.read_text())
        groups[int(found.group(1)) % parts if found else 0].append(path)
    return groups


def _load(data: Path, files: list[Path]) -> None:
    subprocess.run([*ECGRAPH, "load", "--bulk", "--data", str(data), *map(str, files)],
                   check=True, capture_output=True)


def _rows(response: requests.Response) -> list[dict] | None:
    if not response.headers.get("Content-Type", "").startswith("application/sparql-results+json"):
        return None  # graphs: blank nodes and order differ; not compared
    return [{k: ("_" if v["type"] == "bnode" else v["value"]) for k, v in b.items()}
            for b in response.json()["results"]["bindings"]]


def network_queries(quick: bool) -> list[Row]:
    communities = 60 if quick else 1000
    repeats = 5 if quick else 15
    tmp = Path(tempfile.mkdtemp(prefix="ecgraph-bench-network-"))
    net = network(communities)
    nodes: list[Node] = []
    rows: list[Row] = []
    try:
        groups = _split(net / "twins", 3)
        for name, group in zip("abc", groups, strict=True):
            _load(tmp / name, group)
        # the node holding everything is the cached load of this network (bench/stores.py): the
        # same ``ecgraph load --bulk`` of the same files, done once for every section that needs it
        working_copy(loaded(communities).node, tmp / "one")
        b, c = Node(tmp / "b"), Node(tmp / "c")
        nodes += [b, c]
        a = Node(tmp / "a", "--peer", b.url, "--peer", c.url, "--harvest-timeout", "3600")
        one = Node(tmp / "one")
        nodes += [a, one]
        harvested = len(groups[1]) + len(groups[2])
        started = time.perf_counter()
        r = requests.post(a.url + "/api/peers/harvest", headers=a.admin, timeout=7200)
        r.raise_for_status()
        first = time.perf_counter() - started
        assert sum(len(h["harvested"]) for h in r.json()["harvests"]) == harvested, r.text[:2000]
        started = time.perf_counter()
        again = requests.post(a.url + "/api/peers/harvest", headers=a.admin, timeout=600).json()["harvests"]
        unchanged = time.perf_counter() - started
        rows.append(Row("network", f"harvest {harvested:,} twins from 2 peers (first)", harvested / first, None,
                        "twins/s", "", note=f"{first:.1f} s; validated, inferred, with provenance"))
        rows.append(Row("network", "harvest again, nothing changed", unchanged * 1000, None, "ms", "",
                        note=f"{sum(h['requests'] for h in again)} requests in all"))
        session = requests.Session()
        for title, text in query_set():
            ours, theirs = [], []
            equal = True
            for _ in range(repeats):
                for url, scope, times in ((a.url, "network", ours), (one.url, "local", theirs)):
                    started = time.perf_counter()
                    response = session.post(url + "/sparql", data={"query": text, "scope": scope},
                                            headers={"Accept": _accept(text)}, timeout=120)
                    times.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
                    if scope == "network":
                        mine = _rows(response)
                    else:
                        theirs_rows = _rows(response)
                        equal = equal and (mine == theirs_rows if mine is None or theirs_rows is None
                                           else same_answer(text, mine, theirs_rows))
            rows.append(Row("network", f"N={communities}: {title}", median(ours) * 1000, median(theirs) * 1000,
                            "ms", "one node, all data",
                            note=f"p95 {percentile(ours, 95) * 1000:.1f} vs {percentile(theirs, 95) * 1000:.1f} ms; "
                                 + ("equal answers" if equal else "ANSWERS DIFFER")))
        for n in nodes:
            n.stop()
        nodes = []
        rows += _harvest_one_peer(tmp, HARVEST_TWINS or communities)
    finally:
        for n in nodes:
            n.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


#: communities on the one peer of the harvest run (``--twins``; 0: as many as the network queries')
HARVEST_TWINS = 0


def _harvest_one_peer(tmp: Path, communities: int) -> list[Row]:
    """One peer holding every twin of a generated network (its cached load), harvested by an empty
    node: twins per second, then the cost of a harvest when nothing changed (the change stream
    answers "nothing new" in one request)."""
    files = sorted((network(communities) / "twins").glob("*.ttl"))
    working_copy(loaded(communities).node, tmp / "peer")
    peer = Node(tmp / "peer")
    harvester = None
    try:
        # the first contact reads the peer's catalog, one large answer at 1,000 twins (over 5 s, the
        # default deadline, on a busy 2-core machine): minutes for each call to it
        harvester = Node(tmp / "harvester", "--peer", peer.url, "--harvest-timeout", "7200", "--peer-timeout", "600")
        started = time.perf_counter()
        r = requests.post(harvester.url + "/api/peers/harvest", headers=harvester.admin, timeout=7200)
        r.raise_for_status()
        first = time.perf_counter() - started
        got = sum(len(h["harvested"]) for h in r.json()["harvests"])
        assert got == len(files), r.text[:2000]
        started = time.perf_counter()
        again = requests.post(harvester.url + "/api/peers/harvest", headers=harvester.admin, timeout=600)
        unchanged = time.perf_counter() - started
        calls = sum(h["requests"] for h in again.json()["harvests"])
        return [Row("network", f"harvest {got:,} twins from one peer (first)", got / first, None, "twins/s", "",
                    note=f"{first:.1f} s; validated, inferred, with provenance"),
                Row("network", f"harvest {got:,} twins again, nothing changed", unchanged * 1000, None, "ms", "",
                    note=f"{calls} requests")]
    finally:
        if harvester:
            harvester.stop()
        peer.stop()

"""The named network aggregates (``/api/aggregates``, kept up to date at publishing) against the raw
query on ``oxigraph serve`` over the same quads.

Each measured request follows a publish (a community twin replaced on the node), so that what is
timed is the figures' combine after a change, not a memo of it; the node's answer is compared with
the raw query's on ``oxigraph serve`` before timing (equal, or the row says not). Target
(issue 19): p95 under 100 ms at 10,000 communities.
"""

from __future__ import annotations

import json
import time

import requests

from ecgraph.query.figures import AGGREGATES

from .common import ADMIN, Row, percentile, same_answer, wait_until_ready
from .queries import Servers
from .trace import _twin_text

#: what a parameterised aggregate is asked: the query set's question (the generated indicators run
#: from 2015 to mid-2017; the example's year, 2024, is the demo network's, and has no answer here)
ASKED = {"indicator-per-community-and-year": {"year": "2016"}}

#: the raw query on ``oxigraph serve`` follows every RAW_EVERY-th publish (3 of 20 in a full run): it
#: reads the whole network each time, so its spread is small beside its seconds
RAW_EVERY = 7


def _bindings(text: str) -> list:
    return json.loads(text)["results"]["bindings"]


def aggregates(quick: bool, communities: int | None = None) -> list[Row]:
    communities = communities or (100 if quick else 10_000)
    repeats = 10 if quick else 20
    servers = Servers(communities)
    rows = []
    try:
        node = servers.node.url
        wait_until_ready(node)  # the figures are built in the background at start
        session = requests.Session()
        accept = {"Accept": "application/sparql-results+json"}
        ids = [f"community-{i:05d}" for i in range(communities)]
        revision = 0
        for name, aggregate in AGGREGATES.items():
            asked = ASKED.get(name, {})
            text = aggregate.text(aggregate.values(asked))
            ours, theirs, publishes = [], [], []
            equal = None
            for k in range(repeats):
                revision += 1
                twin_id = ids[(k * 7919) % len(ids)]
                started = time.perf_counter()
                r = session.put(f"{node}/api/twins/{twin_id}", data=_twin_text(servers.net, twin_id, revision),
                                headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "text/turtle"},
                                timeout=300)
                publishes.append(time.perf_counter() - started)
                r.raise_for_status()
                started = time.perf_counter()
                mine = session.get(f"{node}/api/aggregates/{name}", params=asked, headers=accept, timeout=300)
                ours.append(time.perf_counter() - started)
                if k % RAW_EVERY:  # the raw query after every 7th publish: at N = 10,000 it takes 3 to 54 s
                    continue  # each time; after every other one they were a quarter of a full run
                started = time.perf_counter()
                raw = session.post(servers.oxigraph_url, data={"query": text}, headers=accept, timeout=300)
                theirs.append(time.perf_counter() - started)
                if equal is None:  # the comment changed nothing the aggregates read: the same answer
                    equal = same_answer(text, _bindings(mine.text), _bindings(raw.text)) and bool(_bindings(raw.text))
            rows.append(Row("aggregates", f"N={communities}: {aggregate.title}, p95 after a publish",
                            percentile(ours, 95) * 1000, percentile(theirs, 95) * 1000, "ms",
                            "oxigraph serve, raw query",
                            note=f"equal to the raw answer: {'yes' if equal else 'NO'}; {len(ours)} publishes, "
                                 + (f"asked {asked}; " if asked else "") +
                                 f"the raw query after {len(theirs)} of them; p50 "
                                 f"{percentile(ours, 50) * 1000:.1f} vs {percentile(theirs, 50) * 1000:.1f} ms; "
                                 f"publish p50 {percentile(publishes, 50):.2f} s; target: under 100 ms",
                            extra={"equal": equal}))
    finally:
        servers.close()
    return rows

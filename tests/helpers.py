"""What tests share besides fixtures: conformant test twins, the admin token, a state fingerprint, and
what browser tests need (where Chromium is, its marks and arguments, a :class:`Watch` on a page)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from ecgraph import standard

ADMIN = "ecg_admin_unit-test-token-000000000000"
TEST = "http://example.org/test#"


#: the open licence generated twins state (a node harvests only twins with an open licence)
OPEN_LICENCE = "https://creativecommons.org/licenses/by/4.0/"


def installed_copy(installed_data: Path, data: Path, **options):
    """The config of a node over a copy of the session's ``installed_data`` (the standard already
    installed) at ``data``: the unit tests' node, with ``options`` over its defaults."""
    from ecgraph.config import Config

    shutil.copytree(installed_data, data)
    return Config.load(environ={}, data=data, **{"admin_token": ADMIN, "no_demo": True, "query_workers": 1,
                                                 "pipeline_workers": 1, **options})


def make_twin(slug: str = "test-twin", tag: str = "A", members: int = 3, schools: int = 0,
              licence: str | None = OPEN_LICENCE) -> bytes:
    """A small twin that conforms to the core profile. Every member carries ``tag`` so a reader
    can tell which upload it sees; ``schools`` of the members are schools; ``licence`` is the
    twin's ``dcterms:license`` (None: it states none)."""
    base = f"https://{slug}.example/id/"
    lines = [
        "@prefix ec: <https://w3id.org/ecgraph/ns#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "@prefix dcterms: <http://purl.org/dc/terms/> .",
        "@prefix schema: <https://schema.org/> .",
        "@prefix qudt: <http://qudt.org/schema/qudt/> .",
        "@prefix unit: <http://qudt.org/vocab/unit/> .",
        f"@prefix t: <{TEST}> .",
        f"@base <{base}> .",
        f'<twin> a ec:DigitalTwin ; dcterms:title "Test twin {slug}"@en ; dcterms:publisher <community> ;',
        "  dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/1.0.0> ; ec:describes <community> .",
        *([f"<twin> dcterms:license <{licence}> ."] if licence else []),
        f'<community> a ec:EnergyCommunity ; schema:name "Test community {slug}"@en ;',
        "  ec:legalForm ec:legalform-cooperative ; ec:euType ec:eutype-renewable-energy-community ;",
        "  ec:status ec:status-active ; ec:activity ec:activity-energy-sharing ;",
        f'  t:version "{tag}" .',
    ]
    for i in range(members):
        kind = "ec:School" if i < schools else "ec:Household"
        lines.append(f'<membership/{i}> a ec:Membership ; ec:community <community> ; ec:member <member/{i}> ; '
                     f'ec:role ec:role-consumer ; ec:startDate "2022-01-01"^^xsd:date .')
        lines.append(f'<member/{i}> a {kind} ; t:version "{tag}" .')
    return ("\n".join(lines) + "\n").encode()


def fingerprint(store) -> str:
    """A hash of every quad in the store (blank node labels included): equal means unchanged."""
    engine = store.engine() if hasattr(store, "engine") else store  # a GraphStore, or pyoxigraph's own
    lines = sorted(str(q) for q in engine.quads_for_pattern(None, None, None, None))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def demo_files() -> list[Path]:
    return sorted(p for p in standard.demo_twins_dir().iterdir() if p.suffix in (".ttl", ".jsonld"))


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def undeclared(catalog: bytes) -> set[str]:
    """The predicates and classes of an N-Triples catalog that the standard does not declare."""
    import pyoxigraph as ox

    from ecgraph import standard

    declared = set()
    for path in (standard.ontology_file(), standard.vocabularies_file()):
        declared |= {q.subject.value for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)}
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    out = set()
    for quad in ox.parse(catalog, format=ox.RdfFormat.N_TRIPLES):
        if quad.predicate.value != rdf_type and quad.predicate.value not in declared:
            out.add(quad.predicate.value)
        if quad.predicate.value == rdf_type and quad.object.value not in declared:
            out.add(quad.object.value)
    return out


# --- browser tests (headless Chromium driven by Playwright) --------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: the marks of a module of browser tests: selected by ``-m browser``, skipped without Chromium
BROWSER_MARKS = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Watch:
    """What a page did that it must not: reach outside the node, need what the Content-Security-
    Policy forbids, or throw."""

    def __init__(self, page, base: str):
        self.outside: list[str] = []
        self.refused: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.outside.append(r.url)
                if not r.url.startswith(base) and not r.url.startswith("data:") else None)
        page.on("console", lambda m: self.refused.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def check(self):
        assert self.outside == [], f"the page reached outside the node: {self.outside}"
        assert self.refused == [], f"the page needs what its Content-Security-Policy forbids: {self.refused}"
        assert self.errors == [], f"the page threw: {self.errors}"


def replaced_under_readers(node, twin_id: str, bodies: dict[str, bytes], rounds: int) -> dict:
    """Publish ``bodies`` (tag: upload, the first one first) in turn ``rounds`` times as twin
    ``twin_id`` of a running node while two readers ask, each time a new query (so none is answered
    from the cache), for the twin's tagged data and its inferences at once. Asserts that every
    answer is one whole version whose inferences are its own (never empty, never two versions,
    never data of one with inferences of another); returns the publishing times per tag."""
    import itertools
    import threading
    import time

    import requests

    graph = f"https://w3id.org/ecgraph/twin/{twin_id}"
    whole = (f"PREFIX t: <{TEST}> SELECT ?v ?n ?m WHERE {{ "
             f"{{ SELECT ?v (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?x t:version ?v }} }} GROUP BY ?v }} "
             f"{{ SELECT (COUNT(*) AS ?m) WHERE {{ GRAPH <{graph}/inferred> {{ ?s ?p ?o }} }} }} }}")
    seen: list = []
    failures: list = []
    times: dict[str, list[float]] = {}
    stop = threading.Event()
    distinct = itertools.count(1000)
    token = requests.post(node.url + "/api/twins", json={"id": twin_id}, headers=node.admin).json()["token"]
    headers = {"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"}
    tags = list(bodies)
    r = requests.put(f"{node.url}/api/twins/{twin_id}", data=bodies[tags[0]], headers=headers, timeout=120)
    assert r.status_code == 201, r.text

    def reader():
        session = requests.Session()
        while not stop.is_set():  # each query new (its LIMIT), so no answer comes from the cache
            r = session.get(node.url + "/sparql", params={"query": whole + f" LIMIT {next(distinct)}"})
            if r.status_code != 200:
                failures.append((r.status_code, r.text[:300]))
                continue
            rows = r.json()["results"]["bindings"]
            seen.append(tuple(tuple(b[k]["value"] for k in ("v", "n", "m")) for b in rows))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(rounds):
            tag = tags[(i + 1) % len(tags)]
            started = time.perf_counter()
            r = requests.put(f"{node.url}/api/twins/{twin_id}", data=bodies[tag], headers=headers, timeout=120)
            times.setdefault(tag, []).append(time.perf_counter() - started)
            assert r.status_code == 200, r.text
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures and len(seen) > rounds, failures[:3]
    assert {len(answer) for answer in seen} == {1}, set(seen)  # never empty, never two versions
    by_tag: dict = {}
    for ((tag, n, m),) in set(seen):
        by_tag.setdefault(tag, set()).add((int(n), int(m)))
    # each version's data goes with its own inferences only
    assert by_tag.keys() == set(tags) and all(len(v) == 1 for v in by_tag.values()), by_tag
    return times

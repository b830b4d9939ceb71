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

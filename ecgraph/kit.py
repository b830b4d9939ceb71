"""The conformance kit: cases with exact expected outcomes, as the manifest states them.

Shared by the test suite, the ``ecgraph kit`` command and anyone who wants to check that a
validator (or an exporter) behaves as the standard says. A case expects, for one input file and one
profile, the exact set of (source shape, severity) pairs its report contains, and SHACL's
``sh:conforms`` (true only when there is no result at all, warnings included).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyoxigraph as ox

from . import standard

MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
SHT = "http://www.w3.org/ns/shacl-test#"
SH = "http://www.w3.org/ns/shacl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


@dataclass(frozen=True)
class Case:
    id: str
    name: str
    comment: str
    path: Path
    profile: str                      # "core" or "recommended"
    version: str                      # the release of the profile
    conforms: bool                    # SHACL's sh:conforms: no result at all
    expected: frozenset               # {(source shape IRI, "Violation" | "Warning")}

    @staticmethod
    def outcome(results) -> frozenset:
        """The (shape, severity) pairs of a report's results (objects with .shape and .severity)."""
        return frozenset((r.shape, r.severity) for r in results)

    def passes(self, results) -> bool:
        results = list(results)
        return self.outcome(results) == self.expected and (not results) == self.conforms


@lru_cache(maxsize=None)
def cases(version: str = standard.STANDARD_VERSION) -> tuple[Case, ...]:
    """The cases of a release's kit (the current one by default)."""
    manifest = standard.kit_manifest(version)
    graph: dict = {}
    for q in ox.parse(path=str(manifest), format=ox.RdfFormat.TURTLE, base_iri=manifest.as_uri()):
        graph.setdefault(q.subject, {}).setdefault(q.predicate.value, []).append(q.object)

    def one(node, predicate):
        values = graph.get(node, {}).get(predicate, [])
        return values[0] if values else None

    root = next(s for s, props in graph.items()
                if ox.NamedNode(MF + "Manifest") in props.get(RDF + "type", []))
    head = one(root, MF + "entries")
    entries = []
    while head is not None and head != ox.NamedNode(RDF + "nil"):
        entries.append(one(head, RDF + "first"))
        head = one(head, RDF + "rest")
    versions = {standard.profile_version_iri(p, v): (p, v) for p in standard.PROFILES for v in standard.VERSIONS}
    out = []
    for entry in entries:
        action = one(entry, MF + "action")
        result = one(entry, MF + "result")
        expected = set()
        for r in graph.get(result, {}).get(SH + "result", []):
            severity = one(r, SH + "resultSeverity").value.rsplit("#", 1)[-1]
            expected.add((one(r, SH + "sourceShape").value, severity))
        comment = one(entry, RDFS + "comment")
        out.append(Case(
            id=entry.value.rsplit("#", 1)[-1],
            name=one(entry, MF + "name").value,
            comment=comment.value if comment is not None else "",
            path=Path(unquote(urlparse(one(action, SHT + "dataGraph").value).path)),
            profile=versions[one(action, SHT + "shapesGraph").value][0],
            version=versions[one(action, SHT + "shapesGraph").value][1],
            conforms=one(result, SH + "conforms").value == "true",
            expected=frozenset(expected),
        ))
    return tuple(out)

"""The conformance kit: cases with exact expected outcomes, as the manifest states them.

Shared by the test suite, the ``ecgraph kit`` command and anyone who wants to check that a
validator (or an exporter) behaves as the standard says. A case expects, for one input file and one
profile, the exact set of results its report contains, each as (focus node, source shape,
severity), and SHACL's ``sh:conforms`` (true only when there is no result at all, warnings
included). A focus node is the IRI the case file gives it; a blank node of the case is written
``sh:focusNode [ ]`` and stands for "a blank node". The results of a release's kits from 1.1.0 on
include the checks beside the shapes (ecgraph.validation.rules), as a node reports them; a result folded into
another (one mistake reported once) still counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyoxigraph as ox

from ecgraph import standard

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
    #: {(focus node IRI, or None for a blank node, source shape IRI, "Violation" | "Warning")}
    expected: frozenset

    @property
    def shapes(self) -> frozenset:
        """The (shape, severity) pairs expected, whatever the focus."""
        return frozenset((shape, severity) for _, shape, severity in self.expected)

    @staticmethod
    def outcome(results) -> frozenset:
        """(focus, shape, severity) of a report's results, folded ones included (objects with
        .focus_nt, .shape, .severity and .also)."""
        def focus(nt: str):
            return nt[1:-1] if nt.startswith("<") else None

        out = set()
        for r in results:
            out.add((focus(r.focus_nt), r.shape, r.severity))
            out.update((focus(a.get("focus_nt", r.focus_nt)), a["shape"], a["severity"])
                       for a in getattr(r, "also", ()))
        return frozenset(out)

    def passes(self, results) -> bool:
        results = list(results)
        if self.expected and all(focus == "*" for focus, _, _ in self.expected):  # a kit before 1.1.0
            return frozenset((s, v) for _, s, v in self.outcome(results)) == self.shapes \
                and (not results) == self.conforms
        return self.outcome(results) == self.expected and (not results) == self.conforms


@cache
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
            focus = one(r, SH + "focusNode")
            # 1.0.0's kit gives no focus nodes ("*": any); a blank node stands for a blank node
            key = "*" if focus is None else (focus.value if isinstance(focus, ox.NamedNode) else None)
            expected.add((key, one(r, SH + "sourceShape").value, severity))
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

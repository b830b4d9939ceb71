"""A runner for the W3C SHACL Core test suite (tests/w3c/shacl-core, copied unchanged from
github.com/w3c/data-shapes, tests/core), for either of ecgraph's engines.

Each test (an ``sht:Validate`` entry of a manifest, manifests included with ``mf:include``) names a
data graph, a shapes graph and the expected validation report. A test passes when the engine's
results equal the expected ``sh:result`` entries as a multiset of (focus node, result path, value,
source shape, constraint component, severity), and ``sh:conforms`` matches: the comparison the
suite defines (isomorphic reports, leaving out messages and nested details). Blank nodes of the
data and shapes compare by identity when the manifest is the same file (the same blank node), and
complex paths compare by their structure.

    python tests/w3c_shacl.py [--engine fast|pyshacl] [-v]

prints the pass counts (``-v``: every test); ``tests/test_w3c_shacl.py`` runs it under pytest.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

SUITE = Path(__file__).resolve().parent / "w3c" / "shacl-core"

MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
SHT = "http://www.w3.org/ns/shacl-test#"
SH = "http://www.w3.org/ns/shacl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@dataclass
class Test:
    id: str                     # the entry's IRI relative to the suite: "property/datatype-ill-formed"
    manifest: Path
    data: Path
    shapes: Path
    conforms: bool
    expected: Counter = field(default_factory=Counter)
    failure: bool = False       # an sht:Failure test: the engine must refuse the shapes


class _Graph:
    """A file's triples with a subject index (what the comparison needs)."""

    def __init__(self, path: Path):
        self.path = path
        self.triples = [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE,
                                                     base_iri=path.as_uri())]
        self.out: dict = {}
        for t in self.triples:
            self.out.setdefault(t.subject, {}).setdefault(t.predicate.value, []).append(t.object)

    def one(self, node, predicate):
        values = self.out.get(node, {}).get(predicate, [])
        return values[0] if values else None

    def all(self, node, predicate):
        return self.out.get(node, {}).get(predicate, [])

    def items(self, head):
        out = []
        while head is not None and head != ox.NamedNode(RDF + "nil"):
            out.append(self.one(head, RDF + "first"))
            head = self.one(head, RDF + "rest")
        return out


_GRAPHS: dict = {}


def graph(path: Path) -> _Graph:
    found = _GRAPHS.get(path)
    if found is None:
        found = _GRAPHS[path] = _Graph(path)
    return found


def canonical(term, g: _Graph, same_file: bool):
    """A comparable form of a term: IRIs and literals as they are, paths by their structure, other
    blank nodes by identity when they come from the file being compared with, else any."""
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.Literal):
        return ("literal", term.value, term.datatype.value if not term.language else None, term.language)
    if term is None:
        return None
    if g.one(term, RDF + "first") is not None:
        return ("seq", tuple(canonical(t, g, same_file) for t in g.items(term)))
    for key in ("inversePath", "zeroOrMorePath", "oneOrMorePath", "zeroOrOnePath"):
        inner = g.one(term, SH + key)
        if inner is not None:
            return (key, canonical(inner, g, same_file))
    alternatives = g.one(term, SH + "alternativePath")
    if alternatives is not None:
        return ("alternativePath", tuple(canonical(t, g, same_file) for t in g.items(alternatives)))
    return ("bnode", term.value) if same_file else ("bnode", "*")


def tests(manifest: Path = SUITE / "manifest.ttl") -> list[Test]:
    g = graph(manifest)
    root = next(s for s, props in g.out.items() if ox.NamedNode(MF + "Manifest") in props.get(RDF + "type", []))
    out: list[Test] = []
    for included in g.all(root, MF + "include"):
        out.extend(tests(Path(included.value.removeprefix("file://"))))
    for head in g.all(root, MF + "entries"):
        for entry in g.items(head):
            out.append(_test(g, manifest, entry))
    return out


def _test(g: _Graph, manifest: Path, entry) -> Test:
    action = g.one(entry, MF + "action")
    data = Path(g.one(action, SHT + "dataGraph").value.removeprefix("file://"))
    shapes = Path(g.one(action, SHT + "shapesGraph").value.removeprefix("file://"))
    result = g.one(entry, MF + "result")
    test = Test(id=str(Path(entry.value.removeprefix("file://")).relative_to(SUITE)).removesuffix(".ttl"),
                manifest=manifest, data=data, shapes=shapes, conforms=False)
    if result == ox.NamedNode(SHT + "Failure"):
        test.failure = True
        return test
    test.conforms = g.one(result, SH + "conforms").value == "true"
    for r in g.all(result, SH + "result"):
        test.expected[_key(g, manifest, r)] += 1
    return test


def _key(g: _Graph, manifest: Path, r) -> tuple:
    def c(predicate, against: Path):
        return canonical(g.one(r, SH + predicate), g, against == manifest)
    return (c("focusNode", manifest), c("resultPath", manifest), c("value", manifest),
            c("sourceShape", manifest), c("sourceConstraintComponent", manifest), c("resultSeverity", manifest))


def run(test: Test, engine: str) -> tuple[bool, str]:
    """(passed, what differed)."""
    from ecgraph.validation.validate import findings

    data = graph(test.data)
    shapes = graph(test.shapes)
    try:
        found = findings(engine, data.triples, shapes.triples)
    except Exception as exc:  # noqa: BLE001 - an engine error is a failed test, reported as such
        return (test.failure, f"{type(exc).__name__}: {exc}")
    if test.failure:
        return (False, "the engine accepted shapes the suite says it must refuse")
    got: Counter = Counter()
    for f in found:
        same = test.data == test.manifest
        got[(canonical(f.focus, data, same),
             canonical(f.path, shapes, test.shapes == test.manifest),
             canonical(f.value, data, same),
             canonical(f.shape, shapes, test.shapes == test.manifest),
             ("iri", SH + f.component),
             ("iri", f.severity.value))] += 1
    got = _wildcards(got, test.expected)
    ok = got == test.expected and (not found) == test.conforms
    if ok:
        return True, ""
    missing = test.expected - got
    extra = got - test.expected
    return False, (f"missing {sorted(missing.elements(), key=repr)[:3]}, "
                   f"unexpected {sorted(extra.elements(), key=repr)[:3]}")


def _wildcards(got: Counter, expected: Counter) -> Counter:
    """Blank nodes the expectation cannot name (another file's) match any blank node."""
    if not any(("bnode", "*") in key for key in expected):
        return got
    out: Counter = Counter()
    for key, n in got.items():
        out[tuple(("bnode", "*") if isinstance(t, tuple) and t and t[0] == "bnode" else t for t in key)] += n
    return out


def summary(engine: str, verbose: bool = False) -> tuple[int, int, list[tuple[str, str]]]:
    all_tests = tests()
    failed = []
    for test in all_tests:
        ok, why = run(test, engine)
        if not ok:
            failed.append((test.id, why))
        if verbose:
            print(f"{'ok  ' if ok else 'FAIL'} {test.id}{'' if ok else ': ' + why}")
    return len(all_tests) - len(failed), len(all_tests), failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("fast", "pyshacl"), default="fast")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    passed, total, failed = summary(args.engine, args.verbose)
    for test_id, why in failed:
        if not args.verbose:
            print(f"FAIL {test_id}: {why}")
    print(f"W3C SHACL Core, {args.engine} engine: {passed} passed, {total - passed} failed of {total}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())

"""A change written in steps, for a store that cannot take it in one update request (Virtuoso 7).

Virtuoso compiles one SPARQL Update into at most 10,000 lines of SQL (about 1,000 triples), and it
applies the operations of one request one by one, not as a transaction (``tests/test_virtuoso.py``
proves both). A twin of 10,000 triples cannot be one request there. So on such a store
(:attr:`ecgraph.store.remote.RemoteStore.stepwise`, found by a probe at start) the node keeps the two
promises of one request by other means:

* **readers see a change whole or not at all**: every read the node makes of the store, in its
  workers and in its own process, runs as a sequence lock over the node's generation counter: it
  starts only while no write is in flight (the generation even), and it is thrown away and asked
  again if a write began before its answer was in (the generation moved). The node is the store's
  only writer and its only public reader, so what it serves never mixes a change in. (Someone who
  queries the store directly, past the node, can see a change half-written; the README says so.)
* **nothing half-written survives a failure**: before the first step, the state the change is
  about to overwrite (the graphs it replaces or drops, the triples it deletes or adds to shared
  graphs) is written to a journal file in the data directory and synced. When a step fails, that
  state is written back and the journal removed; when the node dies mid-change (SIGKILL), the next
  start finds the journal and writes it back before anything else. The change was never
  acknowledged, so going back to the state before it is what an atomic commit would have done.

The steps: graph contents go as Graph Store Protocol ``PUT`` (replace) and ``POST`` (add) of
N-Triples (one request per graph, a few MB at most: Virtuoso takes 10,000 triples in 0.2-0.5 s this
way, against 5 s in update requests it can compile); deletions as ``DELETE DATA`` of at most
:data:`STEP_TRIPLES` triples. A blank node is one node within one Graph Store request only, so the
triples of a blank node that appears in two graphs of one change (a twin's data and its inferences)
go together in ``INSERT { ... } WHERE {}`` templates, the way the single-request writer sends them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: triples in one DELETE DATA step (Virtuoso compiles about 1,000 at most)
STEP_TRIPLES = 500
#: the most N-Triples bytes in one Graph Store request
STEP_BYTES = 4 * 1024 * 1024
#: the journal's file name in the data directory
JOURNAL = "store-journal.json"

_BLANK_LABEL = re.compile(r"(?:^|\s)(_:[^\s<>\"{};,]+)")
_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')


def labels(line: str) -> list[str]:
    """The blank node labels of an N-Triples line (none inside its literal)."""
    return _BLANK_LABEL.findall(_LITERAL.sub('""', line))


@dataclass
class Writes:
    """What the steps write: each graph's lines, grouped so that a blank node's triples in one graph
    stay in one request (``local``), and the blank nodes that span graphs (``shared``: their
    triples as (graph, line), written with templates)."""

    local: dict[str, list[list[str]]] = field(default_factory=dict)
    shared: list[list[tuple[str, str]]] = field(default_factory=list)


def components(items: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """(graph, line) pairs whose lines have blank nodes, grouped by the blank nodes they share,
    across graphs too: each group must be written in one operation for its labels to stay one node."""
    parent: dict[str, str] = {}

    def root(label: str) -> str:
        while parent.setdefault(label, label) != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    found = [(graph, line, labels(line)) for graph, line in items]
    for _, _, names in found:
        for other in names[1:]:
            parent[root(other)] = root(names[0])
    groups: dict[str, list[tuple[str, str]]] = {}
    for graph, line, names in found:
        groups.setdefault(root(names[0]), []).append((graph, line))
    return list(groups.values())


def group(graphs: Mapping[str, list[str]]) -> Writes:
    """Lines per graph into :class:`Writes`: ground lines one by one, blank nodes' lines by
    connected component (:func:`components`), components across graphs apart."""
    out = Writes()
    pending: list[tuple[str, str]] = []
    for graph, lines in graphs.items():
        units = out.local.setdefault(graph, [])
        for line in lines:
            if labels(line):
                pending.append((graph, line))
            else:
                units.append([line])
    for items in components(pending):
        if len({g for g, _ in items}) > 1:
            out.shared.append(items)
        else:
            out.local[items[0][0]].append([line for _, line in items])
    return out


def chunks(units: list[list[str]], limit_bytes: int) -> list[list[str]]:
    """Units of lines into requests of at most ``limit_bytes`` (a unit is never split)."""
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for unit in units:
        unit_size = sum(len(line) + 1 for line in unit)
        if current and size + unit_size > limit_bytes:
            out.append(current)
            current, size = [], 0
        current.extend(unit)
        size += unit_size
    if current:
        out.append(current)
    return out


def batches(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class Undo:
    """The state a change overwrites: ``graphs`` maps each graph it replaces or drops to its text
    before (None: it did not exist); ``added`` the lines it adds to graphs it does not replace
    (removed again on undo); ``removed`` the lines it deletes from them (added again)."""

    graphs: dict[str, str | None] = field(default_factory=dict)
    added: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)


class Journal:
    """The undo record of the change in flight, as a file synced before the change's first step."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, undo: Undo) -> None:
        write_durably(self.path, json.dumps({"graphs": undo.graphs, "added": undo.added,
                                             "removed": undo.removed}).encode())

    def read(self) -> Undo | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise RuntimeError(f"the store journal {self.path} cannot be read ({exc}); it holds the state a "
                               "change interrupted by a crash overwrote: restore the store from a dump, or "
                               "remove the file if the store is known to be whole") from None
        return Undo(graphs=data["graphs"], added=data["added"], removed=data["removed"])

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        sync_directory(self.path.parent)


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` whole or not at all, and durably: a temporary file beside it,
    synced, renamed over it, the directory synced."""
    temporary = path.with_suffix(".tmp")
    try:
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)


def sync_directory(path: Path) -> None:
    """Make a rename or removal in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Steps:
    """How the steps reach the store (given by :class:`ecgraph.store.remote.RemoteStore`)."""

    update: Callable[[str], None]
    put: Callable[[str, list[str]], None]
    post: Callable[[str, list[str]], None]
    template: Callable[[list[tuple[str, str]]], str]


def write_graphs(steps: Steps, graphs: Mapping[str, list[str]], replace: set[str]) -> None:
    """Write ``graphs``' lines: the graphs in ``replace`` replaced (PUT, an empty one too), the
    others added to (POST); blank nodes across graphs with templates."""
    writes = group(graphs)
    for graph, units in writes.local.items():
        parts = chunks(units, STEP_BYTES)
        if graph in replace:
            steps.put(graph, parts[0] if parts else [])
            parts = parts[1:]
        for part in parts:
            steps.post(graph, part)
    shared: list[list[tuple[str, str]]] = []
    for component in writes.shared:
        shared.append(component)
        if sum(len(c) for c in shared) >= 100:
            steps.update(steps.template([item for c in shared for item in c]))
            shared = []
    if shared:
        steps.update(steps.template([item for c in shared for item in c]))


def delete_lines(steps: Steps, iri: Callable[[str], str], graph: str, lines: list[str]) -> None:
    for part in batches(lines, STEP_TRIPLES):
        steps.update(f"DELETE DATA {{ GRAPH {iri(graph)} {{\n" + "\n".join(part) + "\n} }")


def undo(steps: Steps, iri: Callable[[str], str], state: Undo) -> None:
    """Write back the state before a change (idempotent: a crash during it is undone again)."""
    for graph, lines in state.added.items():
        delete_lines(steps, iri, graph, lines)
    present = {g: [line for line in text.split("\n") if line] for g, text in state.graphs.items() if text is not None}
    for graph, text in state.graphs.items():
        if text is None:
            steps.update(f"DROP SILENT GRAPH {iri(graph)}")
    write_graphs(steps, {**present, **{g: lines for g, lines in state.removed.items() if g not in present}},
                 set(present))

"""The SPARQL 1.1 Protocol's update dataset: ``using-graph-uri`` and ``using-named-graph-uri`` on
``/update``.

The protocol says each ``using-graph-uri=g`` acts as a ``USING <g>`` clause in every operation of
the request that has a ``WHERE`` (``using-named-graph-uri=g`` as ``USING NAMED <g>``), and that a
request giving them together with a ``USING``, ``USING NAMED`` or ``WITH`` of its own is refused
(400). pyoxigraph's ``Store.update`` takes no dataset, so the clauses are written into the text:
before each ``WHERE`` at the top level of an operation, and ``DELETE WHERE { P }`` (which admits
no ``USING``) becomes its long form ``DELETE { P } USING ... WHERE { P }``.

The text is read by a small lexer (comments, the four kinds of strings, IRIs, variables, names,
braces) that is only used for this rewrite of an admin's update; the engine parses the result,
and the SERVICE/LOAD check (:mod:`ecgraph.query.federate`) examines that result, never the text
before it. Each IRI goes in as the engine's own writer prints it (``str(NamedNode)``), so no
parameter can add anything but a graph name.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

from ecgraph import errors

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\n]+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<long>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''|\"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\")
  | (?P<string>'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][^\s{}()<>"'\#;,.=!&|+*/^\[\]]+)
  | (?P<name>[^\s{}()<>"'\#;,?$=!&|+*/^\[\]]*:[^\s{}()<>"'\#;,=!&|+*/^\[\]]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*)
  | (?P<open>\{)
  | (?P<close>\})
  | (?P<other>.)
""", re.S | re.X)


class DatasetConflict(errors.BadRequest):
    title = "update dataset conflict"


def _tokens(text: str):
    """(kind, start, end, depth) of every significant token; ``depth`` is the brace depth the
    token stands at (a ``{`` at depth 0 opens depth 1)."""
    depth = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("space", "comment"):
            continue
        if kind == "close":
            depth = max(depth - 1, 0)
        yield kind, m.start(), m.end(), depth
        if kind == "open":
            depth += 1


def with_dataset(text: str, using: list[str], using_named: list[str]) -> str:
    """``text`` with the protocol's dataset written in as ``USING`` clauses; unchanged when no
    dataset is given. Raises :class:`DatasetConflict` when the update names its own."""
    if not using and not using_named:
        return text
    clauses = " ".join([f"USING {ox.NamedNode(g)}" for g in using]
                       + [f"USING NAMED {ox.NamedNode(g)}" for g in using_named])
    tokens = list(_tokens(text))
    for kind, start, end, depth in tokens:
        if kind == "word" and depth == 0 and text[start:end].upper() in ("USING", "WITH"):
            raise DatasetConflict(
                f"the update has a {text[start:end].upper()} clause of its own and the request gives "
                "using-graph-uri or using-named-graph-uri too; the SPARQL 1.1 Protocol refuses that: give "
                "the dataset one way only")
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in text order
    previous: tuple[str, int, int, int] | None = None
    for i, (kind, start, end, depth) in enumerate(tokens):
        if kind == "word" and depth == 0 and text[start:end].upper() == "WHERE":
            if previous is not None and previous[0] == "word" and text[previous[1]:previous[2]].upper() == "DELETE":
                pattern = _group(text, tokens, i + 1)
                if pattern is None:
                    raise errors.BadRequest("DELETE WHERE is not followed by a group { ... }",
                                            title="update syntax error")
                edits.append((start, start, f"{text[pattern[0]:pattern[1]]} {clauses} "))
            else:
                edits.append((start, start, f"{clauses} "))
        if kind not in ("space", "comment"):
            previous = (kind, start, end, depth)
    out, at = [], 0
    for start, end, replacement in edits:
        out.append(text[at:start])
        out.append(replacement)
        at = end
    out.append(text[at:])
    return "".join(out)


def _group(text: str, tokens: list, first: int) -> tuple[int, int] | None:
    """Where the ``{ ... }`` group that starts at ``tokens[first]`` begins and ends."""
    if first >= len(tokens) or tokens[first][0] != "open":
        return None
    opening = tokens[first][3]
    for kind, _start, end, depth in tokens[first + 1:]:
        if kind == "close" and depth == opening:
            return tokens[first][1], end
    return None

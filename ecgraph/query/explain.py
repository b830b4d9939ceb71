"""The SPARQL parser's errors in plain words: what is wrong, where, and how to fix it.

The engine (pyoxigraph 0.5.13) says ``error at 1:32: expected one of Prefix not found, ['%'],
['-' | '0' ..= '9' | '\\u{00B7}' ...``: its grammar's internals. People writing their first query
need ``prefix `ec:` is not declared; add `PREFIX ec: <https://w3id.org/ecgraph/ns#>```. This is
the one place that translates; the API's ``detail`` and the query editor show the same words.
"""

from __future__ import annotations

import re

from ecgraph import standard

_AT = re.compile(r"error at (\d+):(\d+): (.*)", re.S)
_DECLARED = re.compile(r"\bPREFIX\s+([A-Za-z][\w.-]*)?:", re.I)
_PREFIXED = re.compile(r"(?<![\w<?$:/#.-])([A-Za-z][\w.-]*)?:(?=[\w%\\-]|\s|$)")
_STRINGS_IRIS_COMMENTS = re.compile(r"<[^<>\s]*>|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|#[^\n]*")
_TOKEN = re.compile(r'"[^"]+"|\b[A-Z][A-Z_]+\b')


def syntax_error(message: str, query: str) -> str:
    """A parser message about ``query`` as a person can act on it. Messages this module does not
    recognise come back with their position shown, the grammar's character classes left out."""
    match = _AT.match(message.strip())
    if match is None:
        return message
    line, column, rest = int(match.group(1)), int(match.group(2)), match.group(3)
    found = undeclared_prefix(query)
    if found is not None:  # always an error, whatever the grammar says it expected there
        prefix, offset = found
        namespace = standard.PREFIXES.get(prefix)
        fix = (f"add `PREFIX {prefix}: <{namespace}>`" if namespace else
               f"add `PREFIX {prefix}: <...>` with the namespace IRI it stands for")
        return f"prefix `{prefix}:` is not declared ({_position(query, offset)}); {fix} at the top of the query"
    where = f"line {line}, column {column}"
    if "variable that is unbound" in rest or "not in the GROUP BY" in rest:
        return (f"the SELECT at {where} names a variable the query does not bind as it groups: with GROUP BY, "
                "select the grouped variables and aggregates only (COUNT(?x), SAMPLE(?x), ...)")
    near = _near(query, line, column)
    expected = [t.strip('"') for t in _TOKEN.findall(rest)]
    if re.search(r"'0' ?\.\.= ?'9'", rest):
        expected.append("a number")
    if near == "":
        plain = _STRINGS_IRIS_COMMENTS.sub(" ", query)
        text = f"the query cannot be read at its end ({where})"
        for opening, closing in (("{", "}"), ("(", ")")):
            if plain.count(opening) > plain.count(closing):
                return text + f": a closing `{closing}` is missing"
            if plain.count(opening) < plain.count(closing):
                return text + f": there is a `{closing}` too many"
        return text + (": expected " + ", ".join(f"`{t}`" for t in dict.fromkeys(expected)) if expected else "")
    text = f"the query cannot be read at {where}, near `{near}`"
    if expected:
        text += ": expected " + ", ".join(f"`{t}`" for t in dict.fromkeys(expected))
    return text


def undeclared_prefix(query: str) -> tuple[str, int] | None:
    """The first prefix the query uses without declaring it (``""`` for the empty prefix), and
    where (an offset in ``query``)."""
    plain = _STRINGS_IRIS_COMMENTS.sub(lambda m: " " * len(m.group()), query)
    declared = {m.group(1) or "" for m in _DECLARED.finditer(plain)}
    body = _DECLARED.sub(lambda m: " " * len(m.group()), plain)
    for m in _PREFIXED.finditer(body):
        prefix = m.group(1) or ""
        if prefix.lower() in ("http", "https", "urn", "mailto"):
            continue
        if prefix not in declared:
            return prefix, m.start()
    return None


def _position(query: str, offset: int) -> str:
    line = query.count("\n", 0, offset) + 1
    column = offset - (query.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _near(query: str, line: int, column: int) -> str:
    lines = query.split("\n")
    if line - 1 >= len(lines):
        return ""
    text = lines[line - 1][max(0, column - 1):].strip()
    if not text and line < len(lines):  # at the end of a line: show the next one's start
        text = "\n".join(lines[line:]).strip()
    return text[:30]

"""Which other endpoints a query may reach: the peer allowlist, and every place where a query or an
update could make the engine call out.

pyoxigraph follows ``SERVICE`` and ``LOAD`` to any URL, with no timeout and no switch to turn that
off, so a public endpoint that runs user queries unchecked is an open proxy into the server's
network (SSRF). The check must agree with the engine on every text the engine accepts. A tokenizer
of our own did not: it read ``<'>`` in ``FILTER(?o <'>')`` as an IRI where the engine reads ``<``
and a string, so a ``SERVICE <http://127.0.0.1:...>`` on the next line went unseen.

So this module does not parse SPARQL. It over-approximates, from the engine's own lexical rules
(spargebra 0.5, the parser inside pyoxigraph 0.5.13, ``lib/spargebra/src/parser.rs``), and
without regard to context (strings, comments, IRIs and names are not skipped: a ``service``
inside one is examined like any other):

* a keyword is matched like the engine's ``i("SERVICE")``: the next characters compared
  case-insensitively, with no word boundary (``SERVICE:x {}``, ``SERVICE<...>{}`` and
  ``SERVICEex:y{}`` are all calls; ``1SERVICE`` and ``trueSERVICE`` too). Case is folded ASCII-wise
  plus the three letters whose Unicode case maps onto ASCII (``İ``, ``ı``, ``ſ``); a ``service``
  right after ``?`` or ``$`` is skipped: those characters end no token that may precede a SERVICE
  clause (a variable never ends with them, and a path modifier ``?`` is always followed by an
  object), so there ``service`` is the name of a variable;
* the space between tokens is exactly the engine's: ``[ \\t\\n\\r]`` and ``#`` comments up to
  ``\\r`` or ``\\n``;
* a SERVICE is ``service``, space, optionally ``silent`` and space (both readings are tried), a
  target, space and ``{``. A LOAD, which exists in updates only, is ``load``, space, optionally
  ``silent`` and space, and a target, where an update operation can start: right after the
  prologue, or after a ``;`` and space (``;`` anywhere, a superset);
* a target is a variable (refused), an ``<IRIREF>`` (everything up to the first ``>``, its
  ``\\u`` escapes decoded as the engine decodes them, even ``\\u+02F``) or a prefixed name (the
  engine's PN_PREFIX and PN_LOCAL rules, with the single ``.`` group that its PN_LOCAL allows);
* the base and the prefixes a target is read with: the engine sets them only in the prologue, a
  greedy chain of ``BASE <iri>`` and ``PREFIX p: <iri>`` from the start of the text, which is
  reproduced exactly, IRIs resolved as the engine resolves them, for a call after it. Where that
  cannot be done with certainty (an IRI we would reject, SPARQL 1.2's ``VERSION``) or for a call
  inside it, every text that reads like a declaration before the call counts: the caller's base,
  then each ``base <...>`` applied or not, in text order, and every value each ``prefix p: <...>``
  gives. Resolution and validation are pyoxigraph's own (oxiri), not ``urljoin``;
* the same is done on the text with its ``\\u`` escapes decoded (the engine's
  ``standard-unicode-escaping`` feature is off in 0.5.13: ``\\u0053ERVICE`` is a syntax error; the
  second pass keeps us safe should a build turn it on).

Every IRI a candidate could resolve to must be admitted by :class:`PeerPolicy`, else the query is
refused, with the place and the IRI. The price is false positives: ``ex:service <x> { ... }`` (a
triple followed by a group), or a string or comment that reads ``SERVICE <x> {``, is refused although
the engine reads no call there; the message says how to write it so that it passes.
tests/test_service_fuzz.py measures both sides: no call the check allows reaches anything but the
peer, and how many harmless texts it refuses.

Cost: linear in the length of the text. Each keyword occurrence costs O(1) amortised: spaces and
comments, the ``>`` that closes an IRI and the runs of name characters are looked up in indexes
built once (each by one regular-expression pass), and no scan is repeated from every occurrence to
the end of the text. What a single candidate may cost is capped (``MAX_*`` below), and a text past a
cap is refused with a message that names the cap. ``Scan.steps`` counts the work, which the tests
bound.

The same text also yields the request's form (SELECT, CONSTRUCT, ASK, DESCRIBE or an update), a
best-effort guess that content negotiation needs before the query runs; it decides nothing about
safety (the engine's own parser rejects an update sent as a query).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

import pyoxigraph as ox

from ecgraph import errors

QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_KEYWORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")

#: occurrences of one keyword (``service``, ``load``, ``prefix``, ``base``) examined: each costs a few
#: microseconds of the HTTP thread that runs the check
MAX_OCCURRENCES = 4096
#: places that could be a SERVICE or LOAD call (a target followed, for SERVICE, by ``{``)
MAX_CALLS = 512
#: characters of one call's target (its IRI, or its prefixed name) and of a declaration's IRI
MAX_TARGET_CHARS = 4096
#: characters of a declared prefix name
MAX_PREFIX_CHARS = 256
#: ``base <...>`` declarations, and bases they can produce, when a relative IRI must be resolved
MAX_BASE_DECLARATIONS = 32
MAX_BASES = 64
#: IRIs one call could resolve to
MAX_CANDIDATES = 256

# The engine's character classes (spargebra 0.5), each widened to the supplementary planes, which
# SPARQL allows and a later build may too. A wider class never hides a call: the engine's reading
# of a name ends before a space, ``#`` or ``{``, and so does ours.
_PN_CHARS_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
                  "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + "\\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_VARNAME_START = _PN_CHARS_U + "0-9"
_VARNAME_CHARS = _PN_CHARS_U + "0-9\u00B7\u0300-\u036F\u203F-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"

_SPACE = re.compile(r"[ \t\n\r]+")
_LINE_END = re.compile(r"[\r\n]")
_GT = re.compile(">")
_DOTS = re.compile(r"\.+")
_BASE_CHAR = re.compile(f"[{_PN_CHARS_BASE}]")
_VAR_START = re.compile(f"[{_VARNAME_START}]")
_LOCAL_FIRST = re.compile(f"[{_PN_CHARS_U}:0-9]|{_PLX}")
_LOCAL_CHAR = re.compile(f"[{_PN_CHARS}:]|{_PLX}")
_SEMICOLON = re.compile(";")
_VERSION = re.compile(r"'[^'\\\r\n]*'|\"[^\"\\\r\n]*\"")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_UCHAR = re.compile(r"\\u([0-9A-Fa-f+][0-9A-Fa-f]{3})|\\U([0-9A-Fa-f+][0-9A-Fa-f]{7})")
#: runs of characters, looked up by position (see Scan.run_end)
_RUNS = {
    "prefix": re.compile(f"[{_PN_CHARS}.]+"),
    "local": re.compile(f"(?:[{_PN_CHARS}:]|{_PLX})+"),
    "var": re.compile(f"[{_VARNAME_CHARS}]+"),
}
#: a run shorter than this is matched where it starts; a longer one is looked up in an index
_SHORT_RUN = 128

#: a base for resolving an IRI that has a scheme: the result does not depend on the base (RFC 3986
#: 5.2.2, and oxiri, which tests/test_federate.py checks)
_ANY_BASE = "http://base.invalid/any/path?q"


@dataclass(frozen=True)
class _Prologue:
    end: int                     #: where the request proper starts
    base: str | None             #: the base in effect after it
    prefixes: dict[str, str]     #: the prefixes declared in it


class QueryRefused(errors.Error):
    """A query or update this node will not run; the message says what, where and what to do:
    403 for a call the node refuses to make, 400 for a text that is no SPARQL request at all."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message, status=status, title="query refused" if status == 403 else "query syntax error")


@dataclass(frozen=True)
class Call:
    """One place where the engine could call out."""

    keyword: str            #: SERVICE or LOAD
    written: str            #: the target as written (shortened), e.g. ``<sparql>``, ``ex:x``, ``?e``
    position: int           #: where the keyword starts, in ``text``
    text: str = field(repr=False, compare=False)
    #: every IRI the engine could resolve the target to (empty for a variable, or for a target the
    #: engine cannot resolve: then it makes no call)
    iris: tuple[str, ...] = ()
    variable: bool = False
    #: whence the IRIs, for messages: e.g. "resolved against the base <...>"
    how: str = ""
    decoded: bool = False   #: found in the text with its \\u escapes decoded

    @property
    def where(self) -> str:
        line = self.text.count("\n", 0, self.position) + 1
        column = self.position - (self.text.rfind("\n", 0, self.position) + 1) + 1
        place = f"line {line}, column {column}"
        return place + (" of the query with its \\u escapes decoded" if self.decoded else "")

    @property
    def glued(self) -> bool:
        """The keyword is the end of a longer name (``ex:service``, ``?myservice``, ``payload``):
        most likely a false positive, and the message says how to avoid it."""
        return self.position > 0 and bool(re.match(f"[{_PN_CHARS}:]", self.text[self.position - 1]))


@dataclass
class Inspection:
    #: SELECT, CONSTRUCT, DESCRIBE, ASK, or UPDATE: a best-effort guess for content negotiation
    form: str
    #: every IRI a SERVICE could reach
    services: list[str] = field(default_factory=list)
    #: every IRI a LOAD could read (looked for only when the text may run as an update)
    loads: list[str] = field(default_factory=list)
    #: every place that could be a call, with its IRIs
    calls: list[Call] = field(default_factory=list)


def inspect(text: str, *, base_iri: str | None = None, update: bool | None = None) -> Inspection:
    """Every endpoint or document ``text`` could make the engine reach, and its form.

    ``base_iri`` is the base the engine will be given (``Store.query(base_iri=...)``), if any.
    ``update`` says whether the text will run as an update (``Store.update``), the only way a LOAD
    can run; by default, when its form is UPDATE (the endpoints run a text as an update only then).
    Raises :class:`QueryRefused` when the text is past one of the caps, or has no form at all."""
    scan = Scan(text, base_iri)
    form = scan.form()
    keywords = ("service", "load") if (form == "UPDATE" if update is None else update) else ("service",)
    calls = scan.calls(keywords)
    if "\\u" in text or "\\U" in text:
        decoded = _decode_uchars(text)
        if decoded != text:
            calls += Scan(decoded, base_iri, decoded=True).calls(keywords)
    services = [iri for c in calls if c.keyword == "SERVICE" for iri in c.iris]
    loads = [iri for c in calls if c.keyword == "LOAD" for iri in c.iris]
    return Inspection(form=form, services=list(dict.fromkeys(services)), loads=list(dict.fromkeys(loads)),
                      calls=calls)


def _decode_uchars(text: str) -> str:
    def char(m: re.Match) -> str:
        value = int(m.group(1) or m.group(2), 16)
        return chr(value) if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else m.group()
    return _UCHAR.sub(char, text)


def _unescape_iriref(content: str) -> str | None:
    """The engine's ``unescape_iriref``: ``\\uXXXX`` and ``\\UXXXXXXXX`` (Rust's ``from_str_radix``
    also takes a leading ``+``: ``\\u+02F`` is ``/``); any other backslash is an error (None)."""
    if "\\" not in content:
        return content
    out = []
    at = 0
    while True:
        slash = content.find("\\", at)
        if slash < 0:
            out.append(content[at:])
            return "".join(out)
        out.append(content[at:slash])
        kind = content[slash + 1:slash + 2]
        size = 4 if kind == "u" else 8 if kind == "U" else 0
        digits = content[slash + 2:slash + 2 + size]
        if not size or len(digits) != size or not re.fullmatch(r"\+?[0-9A-Fa-f]+", digits):
            return None
        value = int(digits, 16)
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            return None
        out.append(chr(value))
        at = slash + 2 + size


_TURTLE_UNSAFE = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")


@lru_cache(maxsize=1024)
def _resolve(base: str | None, reference: str) -> str | None:
    """The IRI the engine makes of ``reference`` with ``base`` in effect, or None when it would
    reject it. oxiri does the work: ``NamedNode`` parses an absolute IRI exactly like the engine's
    ``Iri::parse``; a relative one is resolved by pyoxigraph's Turtle parser, which calls the same
    ``Iri::resolve`` as the SPARQL parser (every character outside a safe set goes in as a
    ``\\U`` escape, so nothing in ``reference`` can change the document)."""
    try:
        if base is None:
            return ox.NamedNode(reference).value
        escaped = _TURTLE_UNSAFE.sub(lambda m: f"\\U{ord(m.group()):08X}", reference)
        document = f"<{escaped}> <urn:x:p> <urn:x:o> .".encode()
        for quad in ox.parse(document, format=ox.RdfFormat.TURTLE, base_iri=base):
            return quad.subject.value
    except (SyntaxError, ValueError):  # UnicodeError (a lone surrogate) is a ValueError
        return None
    return None


def _fold(text: str) -> str:
    """Lower case, one character for one (``str.lower`` turns only ``İ`` into two), with the
    letters whose case maps onto ASCII folded to it: a superset of the engine's ASCII folding."""
    for odd, plain in (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s")):
        if odd in text:
            text = text.replace(odd, plain)
    return text.lower()


class Scan:
    """One text, indexed for the engine's lexical rules. Every index is built once, on first use,
    by one pass of a regular expression; ``steps`` counts the characters the scan's own Python
    code examined, for the linearity tests."""

    def __init__(self, text: str, base_iri: str | None = None, *, decoded: bool = False):
        self.text = text
        self.n = len(text)
        self.folded = _fold(text)
        self.base_iri = base_iri
        self.decoded = decoded
        self.steps = 0
        self._positions: dict[str, list[int]] = {}
        self._runs: dict[str, tuple[list[int], list[int]]] = {}
        self._space: dict[int, int] = {}
        self._local_tail: dict[int, int] = {}
        self._resolved: dict[tuple[str | None, str], str | None] = {}
        self._prologue: dict[bool, _Prologue | None] = {}
        self._declarations: dict[str, list[tuple[int, str, int, int]]] = {}
        self._by_name: dict[str, list[tuple[int, str, int, int]]] | None = None
        self._chain: list[str | None] = [base_iri]
        self._base_marks: list[int] = []
        self._starts: set[int] | None = None
        self._candidates = 0

    # --- indexes -------------------------------------------------------------------------------

    def _index(self, name: str, pattern: re.Pattern) -> list[int]:
        found = self._positions.get(name)
        if found is None:
            found = self._positions[name] = [m.start() for m in pattern.finditer(self.text)]
            self.steps += len(found)
        return found

    def next_line_end(self, at: int) -> int:
        ends = self._index("line", _LINE_END)
        i = bisect_left(ends, at)
        return ends[i] if i < len(ends) else self.n

    def next_gt(self, at: int) -> int | None:
        gts = self._index("gt", _GT)
        i = bisect_left(gts, at)
        return gts[i] if i < len(gts) else None

    def run_end(self, kind: str, at: int) -> int:
        """Where the run of ``kind`` characters that goes through ``at`` ends (``at`` if none). A
        short run is matched in place; once one is long, every run of its kind is indexed, so that
        many occurrences inside one long name do not each scan it to its end."""
        index = self._runs.get(kind)
        if index is None:
            limit = min(self.n, at + _SHORT_RUN)
            m = _RUNS[kind].match(self.text, at, limit)
            if m is None:
                return at
            self.steps += m.end() - at
            if m.end() < limit - 2 or limit == self.n:  # ended well inside the window (a token is <= 3 chars)
                return m.end()
            starts, ends = [], []
            for run in _RUNS[kind].finditer(self.text):
                starts.append(run.start())
                ends.append(run.end())
            self.steps += len(starts)
            index = self._runs[kind] = (starts, ends)
        starts, ends = index
        self.steps += 1
        i = bisect_right(starts, at) - 1
        return ends[i] if i >= 0 and ends[i] > at else at

    def skip(self, at: int) -> int:
        """The engine's ``_``: spaces and comments, from ``at``. Every position a walk lands on is
        remembered, so a chain of comment lines is walked once however many keywords precede it."""
        text, memo = self.text, self._space
        if at >= self.n or text[at] not in " \t\n\r#":
            return at
        walked = []
        while at < self.n:
            known = memo.get(at)
            if known is not None:
                at = known
                break
            c = text[at]
            self.steps += 1
            if c in " \t\n\r":
                walked.append(at)
                space = _SPACE.match(text, at)
                assert space is not None  # text[at] is a space
                at = space.end()
            elif c == "#":
                walked.append(at)
                at = self.next_line_end(at)
            else:
                break
        for w in walked:
            memo[w] = at
        return at

    def occurrences(self, word: str):
        """Where ``word`` could be the engine's keyword (see the module docstring)."""
        folded, text = self.folded, self.text
        at = folded.find(word)
        seen = 0
        while at >= 0:
            self.steps += 1
            if at == 0 or text[at - 1] not in "?$":
                seen += 1
                if seen > MAX_OCCURRENCES:
                    raise QueryRefused(
                        f"refused: '{word}' occurs more than {MAX_OCCURRENCES} times in this text (the last at "
                        f"{self._where(at)}); this node examines at most {MAX_OCCURRENCES} places that could be "
                        "SERVICE or LOAD calls or their declarations. Split the request.")
                yield at
            at = folded.find(word, at + len(word))

    # --- names ---------------------------------------------------------------------------------

    def prefix_name_end(self, at: int) -> int | None:
        """The engine's PNAME_NS at ``at``: the position of its ``:``, or None."""
        text = self.text
        if at >= self.n:
            return None
        if text[at] == ":":
            return at
        if not _BASE_CHAR.match(text, at):
            return None
        end = self.run_end("prefix", at)
        if end < self.n and text[end] == ":" and text[end - 1] != ".":
            return end
        return None

    def local_end(self, at: int) -> int:
        """The end of the engine's PN_LOCAL at ``at`` (``at`` when it is empty): a first
        character, more name characters, and at most one group of dots followed by name
        characters (spargebra's rule: ``ex:a.b.c`` is ``ex:a.b`` then ``.c``)."""
        first = _LOCAL_FIRST.match(self.text, at)
        if first is None:
            return at
        end = self._local_run(first.end())
        tail = self._local_tail.get(end)
        if tail is None:
            tail = end
            dots = _DOTS.match(self.text, end)
            if dots is not None:
                self.steps += dots.end() - end
                after = self._local_run(dots.end())
                if after > dots.end():
                    tail = after
            self._local_tail[end] = tail
        return tail

    def _local_run(self, at: int) -> int:
        return self.run_end("local", at) if _LOCAL_CHAR.match(self.text, at) else at

    # --- calls ---------------------------------------------------------------------------------

    def calls(self, keywords: tuple[str, ...] = ("service", "load")) -> list[Call]:
        found: list[Call] = []
        for keyword in keywords:
            needs_group = keyword == "service"
            operations = None if needs_group else self.operation_starts()
            for at in self.occurrences(keyword):
                if operations is not None and at not in operations:
                    continue
                after = self.skip(at + len(keyword))
                readings = [after]
                if self.folded.startswith("silent", after):
                    readings.append(self.skip(after + 6))
                for start in readings:
                    target = self._target(start, variables=needs_group)
                    if target is None:
                        continue
                    kind, end = target
                    if needs_group:
                        brace = self.skip(end)
                        if brace >= self.n or self.text[brace] != "{":
                            continue
                    if len(found) >= MAX_CALLS:
                        raise QueryRefused(
                            f"refused: more than {MAX_CALLS} places in this text could be SERVICE or LOAD "
                            f"calls (the last at {self._where(at)}); this node checks at most {MAX_CALLS}. "
                            "Split the request, or write names that contain 'service' or 'load' as full IRIs.")
                    found.append(self._call(keyword.upper(), at, kind, start, end))
        return found

    def _target(self, at: int, variables: bool) -> tuple[str, int] | None:
        """The kind (``var``, ``iri``, ``name``) and end of a VarOrIri (or an iri) at ``at``."""
        if at >= self.n:
            return None
        c = self.text[at]
        if c in "?$":
            if variables and _VAR_START.match(self.text, at + 1):
                return "var", self.run_end("var", at + 1)
            return None
        if c == "<":
            gt = self.next_gt(at + 1)
            return None if gt is None else ("iri", gt + 1)
        colon = self.prefix_name_end(at)
        if colon is None:
            return None
        return "name", self.local_end(colon + 1)

    def _call(self, keyword: str, at: int, kind: str, start: int, end: int) -> Call:
        written = self.text[start:min(end, start + 80)] + ("..." if end - start > 80 else "")
        common: dict[str, Any] = dict(keyword=keyword, written=written, position=at, text=self.text,
                                      decoded=self.decoded)
        if kind == "var":
            return Call(variable=True, **common)
        if end - start > MAX_TARGET_CHARS:
            raise QueryRefused(
                f"{keyword} at {self._where(at)} is refused: its target is longer than {MAX_TARGET_CHARS} "
                "characters, more than this node checks. Write a shorter IRI.")
        self._candidates = 0
        if kind == "iri":
            iris, how = self._iriref(self.text[start + 1:end - 1], at, keyword)
        else:
            iris, how = self._prefixed(start, end, at, keyword)
        return Call(iris=tuple(iris), how=how, **common)

    def _iris(self, content: str, at: int, keyword: str) -> list[str]:
        """Every IRI the engine could make of ``<content>`` read at ``at``: parsed as it is when no
        base is in effect, resolved against each base that could be."""
        value = _unescape_iriref(content)
        if value is None:
            return []
        if _SCHEME.match(value):
            return self._keep([self.resolve(None, value), self.resolve(_ANY_BASE, value)], at, keyword)
        return self._keep([self.resolve(b, value) for b in self.bases(at, keyword)], at, keyword)

    def _iriref(self, content: str, at: int, keyword: str) -> tuple[list[str], str]:
        iris = self._iris(content, at, keyword)
        if _SCHEME.match(_unescape_iriref(content) or ""):
            return iris, ""
        shown = [b for b in self.bases(at, keyword) if b is not None]
        how = ("resolved against the base " + " or ".join(f"<{b}>" for b in shown[:3])
               + (" or others" if len(shown) > 3 else "")) if shown else ""
        return iris, how

    def _prefixed(self, start: int, end: int, at: int, keyword: str) -> tuple[list[str], str]:
        colon = self.prefix_name_end(start)
        assert colon is not None  # the target was read as a prefixed name
        name = self.text[start:colon]
        values = list(dict.fromkeys(self.prefix_values(name, at, keyword)))
        if not values:
            return [], ""
        local = self.text[colon + 1:end].replace("\\", "")
        iris = self._keep([self.resolve(None, v + local) for v in values], at, keyword)
        how = "with " + " or ".join(f"{name}: <{v}>" for v in values[:3])
        return iris, how

    def _keep(self, iris: list[str | None], at: int, keyword: str) -> list[str]:
        kept = [i for i in dict.fromkeys(iris) if i is not None]
        self._candidates += len(kept)
        if self._candidates > MAX_CANDIDATES:
            raise QueryRefused(
                f"{keyword} at {self._where(at)} is refused: its target could be more than {MAX_CANDIDATES} "
                "different IRIs (through the prefix and base declarations), more than this node checks. "
                "Write the target as one full IRI.")
        return kept

    def resolve(self, base: str | None, reference: str) -> str | None:
        key = (base, reference)
        if key not in self._resolved:
            self.steps += len(reference)
            self._resolved[key] = _resolve(base, reference)
        return self._resolved[key]

    # --- declarations --------------------------------------------------------------------------

    def _iri_at(self, at: int) -> tuple[int, int] | None:
        """The content of the IRIREF at ``at`` (after spaces), as (start, end)."""
        start = self.skip(at)
        if start >= self.n or self.text[start] != "<":
            return None
        gt = self.next_gt(start + 1)
        return None if gt is None else (start + 1, gt)

    def _keyword_at(self, word: str, at: int) -> bool:
        """The engine's ``i(word)`` at ``at``: exactly, ASCII case-insensitively."""
        found = self.text[at:at + len(word)]
        return found.isascii() and found.lower() == word

    def prologue(self, validate: bool = True) -> _Prologue | None:
        """The engine's Prologue, a greedy chain from the start of the text: ``BASE <iri>`` and
        ``PREFIX p: <iri>`` in turn, each resolved against the base before it, until something
        else. With ``validate``, the base and prefixes that the rest of the text is read with,
        exactly; or None when that cannot be told for certain (an IRI we would reject, a VERSION
        declaration, too many declarations), and then callers assume that any declaration before
        a call could be in effect. Without ``validate``, only its end (to guess the form)."""
        if validate in self._prologue:
            return self._prologue[validate]
        at = self.skip(0)
        base, prefixes, count = self.base_iri, {}, 0
        result: _Prologue | None = None
        while True:
            count += 1
            if count > MAX_OCCURRENCES:
                break
            if self._keyword_at("base", at):
                iri = self._iri_at(at + 4)
                if iri is not None and validate:
                    base = self._declared_iri(iri, base)
                    if base is None:
                        break
            elif self._keyword_at("prefix", at):
                name_at = self.skip(at + 6)
                colon = self.prefix_name_end(name_at)
                iri = None if colon is None else self._iri_at(colon + 1)
                if iri is not None and validate:
                    value = self._declared_iri(iri, base)
                    if value is None:
                        break
                    prefixes[self.text[name_at:colon]] = value
            elif self._keyword_at("version", at):
                if validate:
                    break  # SPARQL 1.2's VERSION "...": not reproduced here, so not certain
                quoted = _VERSION.match(self.text, self.skip(at + 7))
                iri = None if quoted is None else (quoted.start(), quoted.end() - 1)
            else:
                result = _Prologue(at, base, prefixes)
                break
            if iri is None:  # the declaration fails: the prologue ends here
                result = _Prologue(at, base, prefixes)
                break
            at = self.skip(iri[1] + 1)
        if result is None and not validate:
            result = _Prologue(at, base, prefixes)
        self._prologue[validate] = result
        return result

    def _declared_iri(self, iri: tuple[int, int], base: str | None) -> str | None:
        value = _unescape_iriref(self.text[iri[0]:iri[1]])
        return None if value is None else self.resolve(base, value)

    def _declared(self, word: str) -> list[tuple[int, str, int, int]]:
        """Every text that reads like a ``word`` (base or prefix) declaration, wherever it is, in
        text order: (where, prefix name, IRI start, IRI end)."""
        found = self._declarations.get(word)
        if found is None:
            found = []
            for at in self.occurrences(word):
                name = ""
                if word == "base":
                    iri = self._iri_at(at + 4)
                else:
                    name_at = self.skip(at + 6)
                    colon = self.prefix_name_end(name_at)
                    iri = None if colon is None else self._iri_at(colon + 1)
                    if iri is not None and colon is not None:
                        if colon - name_at > MAX_PREFIX_CHARS:
                            raise QueryRefused(
                                f"refused: the prefix declared at {self._where(at)} has a name longer than "
                                f"{MAX_PREFIX_CHARS} characters, more than this node checks for SERVICE and LOAD "
                                "calls. Use a shorter prefix name.")
                        name = self.text[name_at:colon]
                if iri is None:
                    continue
                if iri[1] - iri[0] > MAX_TARGET_CHARS:
                    raise QueryRefused(
                        f"refused: the {word} declared at {self._where(at)} names an IRI longer than "
                        f"{MAX_TARGET_CHARS} characters, more than this node checks for SERVICE and LOAD calls. "
                        "Use a shorter IRI.")
                found.append((at, name, *iri))
            self._declarations[word] = found
        return found

    def bases(self, at: int, keyword: str) -> list[str | None]:
        """Every base that could be in effect for an IRI read at ``at``: the prologue's, when it is
        known and ends before ``at``; else the caller's, then each ``base <...>`` before ``at``
        in text order, applied or not (only declarations before a call can be in effect: the
        prologue comes first)."""
        exact = self.prologue()
        if exact is not None and at >= exact.end:
            return [exact.base]
        declarations = self._declared("base")
        count = bisect_left(declarations, (at,))
        if count > MAX_BASE_DECLARATIONS:
            raise QueryRefused(
                f"{keyword} at {self._where(at)} is refused: its relative IRI could be resolved against more "
                f"than {MAX_BASE_DECLARATIONS} base declarations (or text that reads like one), more than this "
                "node checks. Write the target as a full IRI.")
        while len(self._base_marks) < count:
            _, _, start, end = declarations[len(self._base_marks)]
            value = _unescape_iriref(self.text[start:end])
            if value is not None:
                for base in list(self._chain):
                    resolved = self.resolve(base, value)
                    if resolved is not None and resolved not in self._chain:
                        self._chain.append(resolved)
                if len(self._chain) > MAX_BASES:
                    raise QueryRefused(
                        f"{keyword} at {self._where(at)} is refused: the base declarations give more than "
                        f"{MAX_BASES} possible bases for its relative IRI, more than this node checks. "
                        "Write the target as a full IRI.")
            self._base_marks.append(len(self._chain))
        return self._chain[:self._base_marks[count - 1]] if count else self._chain[:1]

    def prefix_values(self, name: str, at: int, keyword: str) -> list[str]:
        """Every IRI the prefix ``name`` could stand for at ``at`` (none: the engine answers
        "Prefix not found")."""
        exact = self.prologue()
        if exact is not None and at >= exact.end:
            value = exact.prefixes.get(name)
            return [] if value is None else [value]
        if self._by_name is None:
            self._by_name = {}
            for declaration in self._declared("prefix"):
                self._by_name.setdefault(declaration[1], []).append(declaration)
        values: list[str] = []
        for declared_at, _, start, end in self._by_name.get(name, ()):
            if declared_at >= at:
                break
            values += self._iris(self.text[start:end], declared_at, keyword)
        return values

    def operation_starts(self) -> set[int] | None:
        """Where an update operation can start, the only place for a LOAD: right after the
        prologue, or after a ``;`` and spaces (``;`` anywhere: a superset). None when the
        prologue's end is not known for certain."""
        if self._starts is None:
            prologue = self.prologue()
            if prologue is None:
                return None
            self._starts = {prologue.end} | {self.skip(j + 1) for j in self._index("semicolon", _SEMICOLON)}
        return self._starts

    # --- form ----------------------------------------------------------------------------------

    def form(self) -> str:
        """The keyword after the prologue (best effort, linear)."""
        prologue = self.prologue(validate=False)
        assert prologue is not None  # without validation the prologue is always read
        at = prologue.end
        for word in QUERY_FORMS:
            if self.folded.startswith(word.lower(), at):
                return word
        for word in UPDATE_KEYWORDS:
            if self.folded.startswith(word.lower(), at):
                return "UPDATE"
        raise QueryRefused(f"no SELECT, CONSTRUCT, DESCRIBE, ASK or update operation found at {self._where(at)}: "
                           "a request starts with its prefix and base declarations, then one of those",
                           status=400)

    def _where(self, at: int) -> str:
        return Call("", "", at, self.text, decoded=self.decoded).where


# --- peers ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Peer:
    url: str
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Peer:
        scheme, host, port, path = _origin(url)
        if not host:
            raise ValueError(f"peer {url!r} is not an http(s) URL")
        return cls(url, scheme, host, port, path)

    def admits(self, url: str) -> bool:
        """Strictly this peer's endpoint: same scheme, host and port, no credentials, no dot
        segment (the engine's HTTP client sends the path as it is, and the peer would resolve it),
        a path at or under the peer's."""
        try:
            scheme, host, port, path = _origin(url)
        except ValueError:
            return False
        if (scheme, host, port) != (self.scheme, self.host, self.port):
            return False
        if any(segment in (".", "..") for segment in unquote(path).split("/")):
            return False  # a dot segment steps out of the peer's endpoint (/sparql/../admin)
        prefix = self.path.rstrip("/")
        return path == prefix or path.startswith(prefix + "/") or prefix == ""


def _origin(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{url!r} carries credentials")
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, host, port, parts.path or "/"


class PeerPolicy:
    """The peers a node may reach. Empty by default: no SERVICE, no LOAD from the outside."""

    def __init__(self, peers: list[str] | tuple[str, ...] = ()):
        self.peers = [Peer.parse(p) for p in peers]

    def admits(self, url: str) -> bool:
        return any(peer.admits(url) for peer in self.peers)

    def check(self, inspection: Inspection) -> None:
        """Refuse unless every place that could be a call can only reach a peer."""
        for call in inspection.calls:
            if call.variable:
                raise QueryRefused(
                    f"{call.keyword} {call.written} at {call.where} is refused: the endpoint must be a fixed "
                    f"IRI naming one of this node's peers ({self.describe()}), not a variable." + _hint(call))
            for iri in call.iris:
                if not self.admits(iri):
                    shown = call.written if call.written == f"<{iri}>" else f"{call.written}, which is <{iri}>"
                    how = f" ({call.how})" if call.how else ""
                    verb = "calls" if call.keyword == "SERVICE" else "loads from"
                    raise QueryRefused(
                        f"{call.keyword} {shown}{how} at {call.where} is refused: this node only {verb} "
                        f"its configured peers ({self.describe()})." + _hint(call))

    def describe(self) -> str:
        return ", ".join(p.url for p in self.peers) if self.peers else "none configured"


def _hint(call: Call) -> str:
    """How to write a harmless text that reads like a call (see the module docstring)."""
    if not call.glued:
        return (f" If this is text inside a string or a comment rather than a {call.keyword} call, reword it: "
                "this node reads any 'service' followed by an IRI, a name or a variable and then '{' as a "
                "call, wherever it is." if call.keyword == "SERVICE" else "")
    if call.keyword == "SERVICE":
        return (" If 'service' there ends a name (such as ex:service or ?myservice) rather than starting a "
                "SERVICE call, write that name as a full IRI (<http://...service>), or put a '.' or WHERE "
                "before the '{' that follows.")
    return (" If 'load' there ends a name (such as ex:payload) rather than starting a LOAD, write that "
            "name as a full IRI (<http://...payload>).")

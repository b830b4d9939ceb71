"""Random SPARQL queries and updates for the SERVICE check's differential fuzz test
(tests/test_service_fuzz.py), the loopback servers they are run against, and the loop that runs them.

The generator follows the SPARQL 1.1 grammar as spargebra 0.5 (pyoxigraph's parser) reads it, and
spends its randomness where a context-free check and a context-sensitive parser can disagree: token
boundaries (``<``, ``'``, ``"``, ``#``, long quotes, escapes in strings, IRIs and local names),
keywords glued to what follows (``SERVICE:x``, ``SERVICEex:y``, ``SERVICE<...>``, ``SILENT:x``,
``1SERVICE``), ``BASE`` and relative IRIs (``<//127.0.0.1:port/>``), comments, nesting (OPTIONAL,
UNION, MINUS, GRAPH, subqueries, FILTER EXISTS), SERVICE SILENT, variables as targets, and the
bypass that started it all (``FILTER(?o <'>')`` with a SERVICE on the next line). Each case records
the calls the engine reads in it, by construction (``peer``, ``forbidden``, ``variable``,
``other``), so that the test can tell a harmless text the check refused (a false positive) from a
dangerous one; the test also runs every case and watches the servers, so a wrong label cannot hide
a call that really went out.

All IRIs a generated text can call are loopback URLs of the servers below, or ``urn:`` IRIs: the
test runs refused texts too (to learn whether the engine parses them) and nothing may leave the
machine.
"""

from __future__ import annotations

import http.server
import json
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pyoxigraph as ox

DATA = "urn:x:"
LOCAL_ESCAPES = "_~.-!$&'()*+,;=/?#@%"


@dataclass
class Case:
    text: str = ""
    update: bool = False
    #: the base given to the engine (and to the check), or None
    base_iri: str | None = None
    #: every call the engine reads in the text, by construction: peer, forbidden, variable, other
    calls: list[str] = field(default_factory=list)
    #: the adversarial features it uses (false positives are counted per trait)
    traits: set[str] = field(default_factory=set)

    @property
    def only_peer(self) -> bool:
        return all(c == "peer" for c in self.calls)


# --- servers ---------------------------------------------------------------------------------------

class _Server:
    """An HTTP server on 127.0.0.1 and [::1], on one port, in threads; every request is recorded
    as (Host header, method, path)."""

    def __init__(self):
        self.hits: list[tuple[str, str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.hits.append((self.headers.get("Host") or "", self.command, self.path))
                status, media_type, body = outer.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args):
                pass

        class V4(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that hung up (an https call to this plain server)

        class V6(V4):
            address_family = socket.AF_INET6

        for _ in range(20):
            v4 = V4(("127.0.0.1", 0), Handler)
            self.port = v4.server_address[1]
            try:
                v6 = V6(("::1", self.port), Handler)
                break
            except OSError:
                v4.server_close()
        else:
            raise RuntimeError("no port free on both 127.0.0.1 and [::1]")
        self.servers = [v4, v6]
        for server in self.servers:
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        rows = {"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "literal", "value": "called"}}]}}
        return 200, "application/sparql-results+json", json.dumps(rows).encode()

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


class Canary(_Server):
    """Must never be reached from a text the check allowed, whatever the host's spelling."""


class Peer(_Server):
    """The allowed peer: ``http://127.0.0.1:<port>/sparql``. It answers SERVICE calls with one row
    and LOADs (paths ending in ``.ttl``) with one triple. A request under another Host spelling or
    outside its endpoint is a stray: the check must have refused it."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sparql"

    def answer(self, path):
        if path.endswith(".ttl"):
            return 200, "text/turtle", b'<urn:x:s> <urn:x:p> "loaded" .\n'
        return super().answer(path)

    def legit(self, hit: tuple[str, str, str]) -> bool:
        host, _, path = hit
        path = path.split("?", 1)[0]
        return host == f"127.0.0.1:{self.port}" and (path == "/sparql" or path.startswith("/sparql/")) \
            and not any(s in (".", "..") for s in path.split("/")) and "%" not in path


# --- the generator -----------------------------------------------------------------------------------

def engine_resolve(base: str | None, reference: str) -> str | None:
    """What the engine makes of ``<reference>`` with ``base``: asked of the engine itself."""
    try:
        query = "SELECT ?x WHERE { BIND(<" + reference + "> AS ?x) }"
        answer = _ORACLE.query(query, base_iri=base) if base else _ORACLE.query(query)
        return next(iter(answer))["x"].value
    except (SyntaxError, ValueError, StopIteration, TypeError):
        return None


_ORACLE = ox.Store()


class Generator:
    """``Generator(seed, peer_port, canary_port).case()`` -> a :class:`Case`."""

    def __init__(self, seed: int, peer_port: int, canary_port: int):
        self.rng = random.Random(seed)
        self.peer_root = f"http://127.0.0.1:{peer_port}/"
        self.peer = self.peer_root + "sparql"
        self.cport = canary_port
        spellings = ["127.0.0.1", "127.1", "[::1]", "localhost", "LocalHost", "127.0.0.1"]
        self.forbidden_roots = [f"http://{h}:{canary_port}/" for h in spellings] + \
            [f"HTTP://{h.upper()}:{canary_port}/" for h in spellings[:2]]
        self.sneaky = [f"http://localhost:{peer_port}/sparql", f"http://127.1:{peer_port}/sparql",
                       f"http://[::1]:{peer_port}/sparql", f"http://127.0.0.1:{peer_port}/other",
                       f"http://127.0.0.1:{peer_port}/sparqlx", f"http://127.0.0.1:{peer_port}/sparql/../admin",
                       f"http://127.0.0.1:{peer_port}/sparql/%2e%2e/admin", f"https://127.0.0.1:{peer_port}/sparql",
                       f"http://x@127.0.0.1:{peer_port}/sparql"]

    # --- small pieces ---------------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, items):
        return self.rng.choice(items)

    def kw(self, word: str) -> str:
        """A keyword in random case."""
        r = self.rng.random()
        if r < 0.5:
            return word
        if r < 0.7:
            return word.lower()
        return "".join(c.upper() if self.chance(0.5) else c.lower() for c in word)

    def sep(self, glue: bool = False) -> str:
        """Space between two tokens: "" where the grammar allows gluing, else spaces and comments,
        with decoys in the comments."""
        if glue and self.chance(0.35):
            return ""
        r = self.rng.random()
        if r < 0.55:
            return self.pick([" ", " ", "\n", "\t", "  ", "\r\n", "\r"])
        comment = self.pick(["c", "", "'", '"', "<", ">", "'''", "{", "}", "\\", "<'>", "# # #", "SERVICE.",
                             "service/", "LOAD.", "'SERVICE <urn:x:s>'"])
        if self.chance(0.01):  # reads like a call: the check refuses it
            comment = f"SERVICE <{self.forbidden()}> {{"
            self.c.traits.add("bait: call inside a comment")
        self.c.traits.add("comment")
        ending = self.pick(["\n", "\r", "\r\n", "\n\n"])
        return self.pick([" ", "", "\n"]) + "#" + comment + ending + self.pick(["", " "])

    def forbidden(self) -> str:
        if self.chance(0.25):
            return self.pick(self.sneaky)
        return self.pick(self.forbidden_roots) + self.pick(["", "sparql", "x/y", "a.ttl", "sparql/"])

    def peer_target(self, load: bool) -> str:
        if load:
            return self.peer + self.pick(["/data.ttl", "/a/b.ttl"])
        return self.pick([self.peer, self.peer, self.peer + "/sub", self.peer + "?default-graph-uri=urn:x:g"])

    def escape_iri(self, iri: str) -> str:
        """Some characters as \\u escapes (the engine also decodes ``\\u+XXX``)."""
        if not self.chance(0.25):
            return iri
        self.c.traits.add("escaped IRI")
        out = []
        for ch in iri:
            r = self.rng.random()
            if r < 0.15:
                out.append(f"\\u{ord(ch):04X}")
            elif r < 0.2:
                out.append(f"\\U{ord(ch):08x}")
            elif r < 0.25:
                out.append(f"\\u+{ord(ch):03X}")
            else:
                out.append(ch)
        return "".join(out)

    def string(self, bait: bool = True) -> str:
        """A string literal of any of the four kinds, with quotes, brackets, hashes and keywords
        inside."""
        # no '{' among the pieces, so that only the deliberate bait reads like a call
        pieces = ["a", "SERVICE", "service <urn:x:s>", "<", ">", "#", "}", "?x", "$y", "\\\\", "\\u0027",
                  "\\u003E", "LOAD.", "é", " "]
        if bait and self.chance(0.03):
            pieces.append(f"SERVICE <{self.forbidden()}> {{ }}")  # reads like a call: the check refuses it
            self.c.traits.add("bait: call inside a string")
        kind = self.rng.randrange(4)
        body = "".join(self.pick(pieces) for _ in range(self.rng.randrange(4)))
        self.c.traits.add("string")
        if kind == 0:
            return "'" + body + self.pick(["", "\\'", '"', "\\\""]) + "'"
        if kind == 1:
            return '"' + body + self.pick(["", '\\"', "'", "\\'"]) + '"'
        if kind == 2:
            self.c.traits.add("long string")
            return "'''" + body + self.pick(["", "'a", "''a", "\n", '"', "\\'''x"]) + "'''"
        self.c.traits.add("long string")
        return '"""' + body + self.pick(["", '"a', '""a', "\n", "'", '\\"""x']) + '"""'

    def var(self) -> str:
        return self.pick(["?s", "?o", "?p", "?x", "?service", "$SERVICE", "?load", "?silent", "$x1", "?sERVICE_2"])

    def data_name(self) -> str:
        if "d" not in self.prefixes:
            return f"<{DATA}{self.pick(['a', 'SERVICE', 'b#service', 'load'])}>"
        return "d:" + self.pick(["a", "service", "SERVICE", "load", "p\\-service", "x.service", "silent",
                                 "service1", "a\\.b", "%41service"])

    def term(self) -> str:
        r = self.rng.random()
        if r < 0.35:
            return self.var()
        if r < 0.55:
            return self.data_name()
        if r < 0.8:
            return self.string() + self.pick(["", "", "@en", "@service", "^^<urn:x:t>"])
        return self.pick(["1", "1.5", "-2e3", "true", "false"])

    # --- targets ------------------------------------------------------------------------------------

    def target(self, load: bool = False) -> tuple[str, str]:
        """A SERVICE or LOAD target: (its text, its label)."""
        r = self.rng.random()
        if not load and r < 0.07:
            self.c.traits.add("variable target")
            return self.pick(["?endpoint", "$e", "?service", "?x"]), "variable"
        if r < 0.12:
            self.c.traits.add("non-HTTP target")
            return self.pick([f"<{DATA}svc>", f"<ftp://127.0.0.1:{self.cport}/x>", "<tag:x,2020:a>"]), "other"
        if r < 0.55:
            url, label = self.peer_target(load), "peer"
        else:
            url, label = self.forbidden(), "forbidden"
            if load:
                url = url.rstrip("/") + "/data.ttl"
        forms = [self.iri_form(url)]
        forms += self.prefixed_forms(url)
        forms += self.relative_forms(url)
        text = self.pick(forms[:1] + forms[1:] * 3) if len(forms) > 1 else forms[0]
        return text, label

    def iri_form(self, url: str) -> str:
        return "<" + self.escape_iri(url) + ">"

    def prefixed_forms(self, url: str) -> list[str]:
        out = []
        for name, value in self.prefixes.items():
            if value and url.startswith(value) and name != "d":
                local = pn_local(url[len(value):])
                if local is not None:
                    out.append(f"{name}:{local}")
        if out:
            self.c.traits.add("prefixed target")
        return out

    def relative_forms(self, url: str) -> list[str]:
        base = self.base
        if not base:
            return []
        t, b = urlsplit(url), urlsplit(base)
        options = []
        if t.scheme.lower() == b.scheme.lower():
            options.append("//" + t.netloc + t.path + ("?" + t.query if t.query else ""))
            if t.netloc == b.netloc:
                options.append(t.path + ("?" + t.query if t.query else ""))
                directory = b.path.rsplit("/", 1)[0] + "/"
                if t.path.startswith(directory) and len(t.path) > len(directory):
                    rest = t.path[len(directory):] + ("?" + t.query if t.query else "")
                    options += [rest, "./" + rest]
        kept = [o for o in options if engine_resolve(base, o) == url]
        if kept:
            self.c.traits.add("relative target")
        return ["<" + self.escape_iri(o) + ">" for o in kept]

    # --- prologue -------------------------------------------------------------------------------------

    def prologue(self) -> str:
        parts = []
        roots = [self.peer_root, self.peer_root + "sparql/", self.pick(self.forbidden_roots), f"{DATA}base/"]
        for _ in range(self.rng.randrange(5)):
            r = self.rng.random()
            if r < 0.3:
                value = self.pick(roots)
                written = value
                if self.base and self.chance(0.3):
                    rel = self.pick(["sparql/", "./", "../", f"//127.0.0.1:{self.cport}/", "x/"])
                    resolved = engine_resolve(self.base, rel)
                    if resolved:
                        value, written = resolved, rel
                        self.c.traits.add("relative base")
                parts.append(self.kw("BASE") + self.sep(glue=True) + "<" + self.escape_iri(written) + ">")
                self.base = value
                self.c.traits.add("base")
            else:
                name = self.pick(["p", "ex", "", "SERVICE", "SILENT", "e.x", "service", "svc_2", "é", "load"])
                value = self.pick(roots + [self.peer_root, self.peer + "/"])
                written = value
                if self.base and self.chance(0.2):
                    rel = self.pick(["sparql/", f"//127.0.0.1:{self.cport}/", "x/", ""])
                    resolved = engine_resolve(self.base, rel)
                    if resolved:
                        value, written = resolved, rel
                        self.c.traits.add("relative prefix")
                glue = name == "" or self.chance(0.5)
                parts.append(self.kw("PREFIX") + self.sep(glue=glue and name != "") + f"{name}:"
                             + self.sep(glue=True) + "<" + self.escape_iri(written) + ">")
                self.prefixes[name] = value
        if self.chance(0.8):
            parts.append(self.kw("PREFIX") + " d:" + self.sep(glue=True) + f"<{DATA}>")
            self.prefixes["d"] = DATA
        return "".join(p + self.sep() for p in parts)

    # --- patterns -----------------------------------------------------------------------------------

    def service(self, glue_before: bool = False) -> str:
        """A SERVICE clause the engine will read as one."""
        words = [self.kw("SERVICE")]
        target, label = self.target()
        # "SERVICE SILENT:x" reads SILENT then ":x" when ":" is declared: say SILENT first then
        silent = self.chance(0.3) or target.lower().startswith("silent")
        starts_name = target[0] not in "<?$:"
        if silent:
            if target.startswith(":") and self.chance(0.5):
                # SERVICE SILENT:x reads SILENT then :x (the engine's first alternative)
                words.append(self.sep(glue=True) + self.kw("SILENT"))
                words.append("")
                self.c.traits.add("SILENT:x")
            else:
                words.append(self.sep(glue=True) + self.kw("SILENT"))
                words.append(self.sep(glue=not starts_name))
        else:
            glue = target[0] in "<?$:" or (not target.lower().startswith("silent") and self.chance(0.5))
            words.append(self.sep(glue=glue))
            if glue and words[-1] == "" and starts_name:
                self.c.traits.add("SERVICEex:y")
        if words[-1] == "" and target[0] in "<:":
            self.c.traits.add("glued " + target[0])
        self.c.calls.append(label)
        self.c.traits.add("service")
        return "".join(words) + target + self.sep(glue=True) + self.group(self.depth + 1, calls=False)

    def triples(self) -> str:
        s = self.pick(["?s", "?x", self.data_name(), "[]", "_:b" + str(self.rng.randrange(3))])
        p = self.pick(["?p", "a", self.data_name(), f"<{DATA}p>", self.data_name() + "|" + self.data_name(),
                       self.data_name() + "?", self.data_name() + "*"])
        o = self.term()
        return s + " " + p + self.sep() + o

    def filter(self, calls: bool) -> str:
        left = self.var()
        r = self.rng.random()
        if r < 0.3:
            # the bypass of the old tokenizer: it read <'> as an IRI and the rest of the line as a string
            self.c.traits.add("bypass")
            after = self.service() if calls else "?s ?p ?o ."
            if "\n" not in after and "\r" not in after and self.chance(0.7):
                # on one line, closed by a comment: the shape that got through
                return self.kw("FILTER") + f"({left} <'>') " + after + " #'\n"
            return self.kw("FILTER") + f"({left} <'>')" + self.pick(["\n", "\n\n", " \n", "\r"]) + after
        if r < 0.5:
            return self.kw("FILTER") + self.sep(glue=True) + f"({left}<{self.var()})"
        if r < 0.7:
            return self.kw("FILTER") + f"({left} {self.pick(['<', '>', '<=', '>=', '=', '!='])} {self.term()})"
        if r < 0.85:
            self.c.traits.add("FILTER EXISTS")
            return self.kw("FILTER") + " " + self.pick(["", "NOT "]) + self.kw("EXISTS") + self.sep(glue=True) \
                + self.group(self.depth + 1)
        return self.kw("FILTER") + f"(regex(str({left}), {self.string(bait=False)}))"

    def group(self, depth: int, calls: bool = True) -> str:
        saved = self.depth
        self.depth = depth
        items = []
        want = self.rng.randrange(1, 4) if depth < 4 else 1
        for _ in range(want):
            items.append(self.item(calls))
        self.depth = saved
        body = ""
        for item in items:
            body += item + self.pick([" ", " . ", "\n", ".", " "]) if not item.endswith((".", "\n")) else item
        return "{" + self.sep(glue=True) + body + self.sep(glue=True) + "}"

    def item(self, calls: bool) -> str:
        r = self.rng.random()
        deep = self.depth < 4
        if calls and r < 0.22:
            return self.service()
        if r < 0.4 or not deep:
            text = self.triples()
            if self.chance(0.02):  # a name ending in 'service' then an IRI then a group: reads like a call
                self.c.traits.add("bait: name then IRI then group")
                return f"?s d:service <{self.forbidden()}>" + self.sep(glue=True) + "{ ?a ?b ?c }"
            return text + " ."
        if r < 0.5:
            return self.filter(calls)
        if r < 0.57:
            self.c.traits.add("OPTIONAL")
            return self.kw("OPTIONAL") + self.sep(glue=True) + self.group(self.depth + 1)
        if r < 0.64:
            self.c.traits.add("UNION")
            return self.group(self.depth + 1) + self.sep(glue=True) + self.kw("UNION") + self.sep(glue=True) \
                + self.group(self.depth + 1)
        if r < 0.69:
            self.c.traits.add("MINUS")
            return self.kw("MINUS") + self.sep(glue=True) + self.group(self.depth + 1)
        if r < 0.75:
            self.c.traits.add("GRAPH")
            return self.kw("GRAPH") + " " + self.pick([f"<{DATA}g>", "?g"]) + self.sep(glue=True) \
                + self.group(self.depth + 1)
        if r < 0.82:
            self.c.traits.add("subquery")
            return "{ " + self.kw("SELECT") + " * " + self.kw("WHERE") + self.sep(glue=True) \
                + self.group(self.depth + 1) + " }"
        if r < 0.88:
            return self.kw("BIND") + f"({self.term()} AS ?b{self.rng.randrange(99)})"
        if r < 0.93:
            values = [self.pick([self.data_name(), self.string(), "1", "true"]) for _ in range(2)]
            return self.kw("VALUES") + f" ?v{self.rng.randrange(9)} {{ {values[0]} {values[1]} }}"
        # a literal glued to a SERVICE: "1SERVICE<...>{}", "trueSERVICE<...>{}"
        if calls and self.chance(0.5):
            self.c.traits.add("literal glued to SERVICE")
            return "?s ?p " + self.pick(["1", "true", "2.5", "'x'"]) + self.service()
        return self.triples() + " ."

    # --- requests -----------------------------------------------------------------------------------

    def query(self) -> str:
        where = self.group(1)
        if self.c.calls == [] and self.chance(0.5):  # most texts carry a real call
            where = "{ " + self.service() + " " + where + " }"
        form = self.rng.random()
        needs_where = 0.7 <= form < 0.85
        if form < 0.55:
            head = self.kw("SELECT") + " " + self.pick(["*", "?s ?x", "DISTINCT *", "(1 AS ?one)"])
        elif form < 0.7:
            head = self.kw("ASK")
        elif form < 0.85:
            head = self.kw("CONSTRUCT") + " { ?s ?p ?o }"
        else:
            head = self.kw("DESCRIBE") + " " + self.pick(["*", "?s", f"<{DATA}a>"])
        where_kw = self.kw("WHERE") + " " if needs_where else self.pick(["", self.kw("WHERE") + " "])
        return head + self.sep() + where_kw + where + self.pick(["", " LIMIT 5", " ORDER BY ?s", " OFFSET 1"])

    def load(self) -> str:
        words = self.kw("LOAD")
        target, label = self.target(load=True)
        # the engine commits to a SILENT it reads: "LOAD SILENT:x" is SILENT then ":x"
        if self.chance(0.3) or target.lower().startswith("silent"):
            words += self.sep(glue=True) + self.kw("SILENT") + self.sep(glue=target[0] in "<:")
        else:
            glue = target[0] in "<:" or (not target.lower().startswith("silent") and self.chance(0.5))
            words += self.sep(glue=glue)
            if words.endswith(("LOAD", "load", "Load")) and target[0] not in "<:":
                self.c.traits.add("LOADex:y")
        self.c.calls.append(label)
        self.c.traits.add("load")
        into = self.pick(["", f" {self.kw('INTO')} {self.kw('GRAPH')} <{DATA}g>"])
        return words + target + into

    def update(self) -> str:
        ops = []
        for _ in range(self.rng.randrange(1, 4)):
            r = self.rng.random()
            if r < 0.4:
                ops.append(self.load())
            elif r < 0.6:
                ops.append(self.kw("INSERT") + " " + self.kw("DATA") + " { " + f"<{DATA}a> <{DATA}p> "
                           + self.string() + " }")
            elif r < 0.8:
                ops.append(self.kw("INSERT") + " { ?s ?p ?o } " + self.kw("WHERE") + " " + self.group(1))
            elif r < 0.9:
                ops.append(self.kw("CLEAR") + " " + self.kw("SILENT") + " " + self.pick([f"GRAPH <{DATA}g>", "ALL"]))
            else:
                ops.append(self.kw("DELETE") + " " + self.kw("WHERE") + " { ?s ?p ?o }")
        return (self.pick([" ;\n", ";", " ; "])).join(ops)

    def case(self) -> Case:
        self.c = Case()
        self.prefixes: dict[str, str] = {}
        self.depth = 0
        self.c.update = self.chance(0.25)
        self.c.base_iri = self.pick([None] * 7 + [self.peer_root, self.pick(self.forbidden_roots[:1]), f"{DATA}b/"])
        self.base = self.c.base_iri
        prologue = self.prologue()
        body = self.update() if self.c.update else self.query()
        self.c.text = prologue + self.sep() + body + self.pick(["", "\n", " # the end"])
        return self.c


def pn_local(rest: str) -> str | None:
    """``rest`` written as a PN_LOCAL (escaping what must be), or None if it cannot be."""
    out = []
    for i, ch in enumerate(rest):
        if ch.isascii() and (ch.isalnum() or ch in "_:"):
            out.append(ch)
        elif ch == "-" and i > 0:
            out.append(ch)
        elif ch in LOCAL_ESCAPES and ch != "%":
            out.append("\\" + ch)
        else:
            return None
    return "".join(out)


# --- running -----------------------------------------------------------------------------------------

def run_engine(case: Case, store: ox.Store) -> str:
    """Run a case on an empty in-memory store: "syntax", "ok" or "error"."""
    options = {"base_iri": case.base_iri} if case.base_iri else {}
    try:
        if case.update:
            ox.Store().update(case.text, **options)
        else:
            answer = store.query(case.text, **options)
            if not isinstance(answer, ox.QueryBoolean):
                for _ in answer:
                    pass
    except SyntaxError:
        return "syntax"
    except (OSError, RuntimeError, ValueError):
        return "error"
    return "ok"


def fuzz(seed: int, count: int, examples: int = 5, federate=None) -> dict:
    """Generate ``count`` cases from ``seed``, check each, run each on the engine, watch the servers.
    Returns the counts (see test_service_fuzz.py) and a few examples of each outcome. ``federate``
    is the module whose check is tried (ecgraph.query.federate; another to compare with)."""
    if federate is None:
        from ecgraph.query import federate
    PeerPolicy, QueryRefused = federate.PeerPolicy, federate.QueryRefused

    def inspect(text, base_iri, update):
        try:
            return federate.inspect(text, base_iri=base_iri, update=update)
        except TypeError:  # a check without those parameters
            return federate.inspect(text)

    canary, peer = Canary(), Peer()
    policy = PeerPolicy([peer.url])
    generator = Generator(seed, peer.port, canary.port)
    store = ox.Store()
    counts: Counter = Counter()
    fp_traits: Counter = Counter()
    samples: dict[str, list[str]] = {}
    started = time.perf_counter()
    check_seconds = 0.0

    def keep(kind: str, case: Case, note: str = "") -> None:
        bucket = samples.setdefault(kind, [])
        if len(bucket) < examples:
            bucket.append((note + "\n" if note else "") + case.text[:600])

    try:
        for _ in range(count):
            case = generator.case()
            counts["generated"] += 1
            t0 = time.perf_counter()
            try:
                policy.check(inspect(case.text, case.base_iri, case.update))
                allowed, reason = True, ""
            except QueryRefused as exc:
                allowed, reason = False, str(exc)
            check_seconds += time.perf_counter() - t0
            canary_before, peer_before = len(canary.hits), len(peer.hits)
            outcome = run_engine(case, store)
            new_canary = canary.hits[canary_before:]
            new_peer = peer.hits[peer_before:]
            strays = [h for h in new_peer if not peer.legit(h)]
            reached_forbidden = bool(new_canary or strays)
            if outcome == "syntax":
                counts["not parsed by the engine"] += 1
                continue
            counts["parsed by the engine"] += 1
            if case.calls:
                counts["with SERVICE or LOAD"] += 1
            if new_canary or new_peer:
                counts["made a call"] += 1
            if allowed:
                counts["allowed"] += 1
                if new_peer and not strays:
                    counts["allowed and reached the peer"] += 1
                if reached_forbidden:
                    counts["canary hits"] += 1
                    keep("canary hit", case, repr(new_canary + strays))
                if not case.only_peer:
                    counts["allowed although a forbidden target was named"] += 1
                    keep("allowed although a forbidden target was named", case, repr(case.calls))
            else:
                counts["refused"] += 1
                if reached_forbidden:
                    counts["refused, and running it anyway reached a canary"] += 1
                if case.only_peer:
                    counts["false positives"] += 1
                    baits = [t for t in case.traits if t.startswith("bait")]
                    fp_traits.update(baits or ["none: " + reason.split(" at line")[0].split(",")[0][:40]])
                    keep("false positive", case, reason)
                    if not baits:
                        counts["false positives without a bait"] += 1
                        keep("false positive without a bait", case, reason)
                    if reached_forbidden:
                        counts["label wrong: only the peer named, yet a canary was reached"] += 1
                        keep("label wrong", case, repr(new_canary + strays))
    finally:
        canary.close()
        peer.close()
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["check seconds"] = round(check_seconds, 2)
    return {"counts": dict(counts), "false_positive_causes": dict(fp_traits), "samples": samples}

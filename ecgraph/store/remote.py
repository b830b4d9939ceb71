"""A remote SPARQL 1.1 store (``--store URL``): the store interface implemented over HTTP.

The node keeps everything but the graph on its own disk (tokens, versions, reports, namespaces:
:mod:`ecgraph.store.registry` in ``--data``) and puts the graph in a store that already scales
(oxigraph serve, Virtuoso, Fuseki, GraphDB, ...), reached only through SPARQL 1.1 Query and Update.
What each promise of :class:`ecgraph.store.GraphStore` becomes here:

* **atomic commit**: :meth:`GraphStore.commit` builds one SPARQL Update and this store sends it as
  **one** request; a store that applies one update request as one transaction (oxigraph serve,
  Fuseki/TDB2) gives readers the twin whole before or whole after. A store that takes no update of
  :data:`PROBE_TRIPLES` triples (Virtuoso 7 compiles about 1,000 at most), found by a probe at start
  or named by ``--store-writes steps``, gets each change in steps instead, with the same promises
  kept by the node (:mod:`ecgraph.store.stepwise`: readers held off by the generation, an undo
  journal). An update whose answer never came (a timeout, a dropped connection) has an *unknown*
  outcome: it is reported as such (503) and the node reads the twin back from the store
  (:meth:`ecgraph.node.Node.reconcile` at each start settles the registry with what the store holds);
* **queries**: public queries still run in the node's killable worker processes (the wall-clock
  limit, the memory ceiling and the fair sharing are the node's), but a worker's "snapshot" is
  :class:`RemoteEngine`, an HTTP client of the store's query endpoint with the same ``query()``
  API as pyoxigraph's ``Store``, so :func:`ecgraph.query.pool.execute` and the row caps and
  formats of :mod:`ecgraph.query.results` are unchanged. The node's SERVICE check runs before a
  query is sent (a query the node's parser cannot read is refused, so the store never evaluates
  what the node did not check). Answers are read whole under a deadline and a byte cap and parsed
  completely before anything is passed on: a store that cuts a query short and still answers
  200 (Virtuoso's "anytime" queries, announced in ``X-SQL-State``/``X-SQL-Message`` headers; an
  answer cut mid-stream) is detected and reported as a timeout, never as a complete answer;
* **the default graph as the union of all graphs**: the store must be set up so (``oxigraph serve
  --union-default-graph``; Virtuoso does it by default); :class:`RemoteStore` checks it at start
  and refuses to run otherwise, naming the setting;
* **bulk loading**: in batches of about :data:`BULK_BATCH_BYTES` of ``INSERT DATA`` each, with
  progress logged (and given to ``on_progress``);
* **the dialect**: triples with blank nodes are written as ``INSERT { ... } WHERE {}`` in small
  groups (:meth:`RemoteStore.insert_data`), and each query asks for one answer format, chosen by its
  form (:func:`accept_for`), as Virtuoso needs.

The Graph Store endpoint (``--store-graph-store``) is used only by a change in steps.

The store's URLs are the operator's own configuration, usually a private address; they are the
only place this client connects to, it never follows a redirect, and credentials (HTTP Basic
``user:password`` or ``Bearer TOKEN``, one line) come from a file only.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import logging
import re
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pyoxigraph as ox

from ecgraph import errors, formats
from ecgraph.formats import ntriples
from ecgraph.store import GraphStore, _ground, _iri, _lines, _named, _named_list, _resources, stepwise

log = logging.getLogger("ecgraph.store.remote")

#: the size of one ``INSERT DATA`` request of a bulk load (a batch a store takes in one request
#: without hitting its request-size limit: Virtuoso's default is 10 MB for a form post)
BULK_BATCH_BYTES = 4 * 1024 * 1024
#: the largest answer read from the store for one query; above it the query is refused as too large
MAX_ANSWER_BYTES = 512 * 1024 * 1024
#: the Accept header of queries: SPARQL JSON for SELECT and ASK, N-Triples for CONSTRUCT and DESCRIBE
#: (each alone: given both, Virtuoso answers a CONSTRUCT as a table of ?s ?p ?o)
ACCEPT_RESULTS = formats.JSON.media_types[0]
ACCEPT_GRAPH = formats.NTRIPLES.media_types[0]
#: what cannot hold a query form's keyword: strings, IRIs, comments
_NOT_KEYWORDS = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
                           r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*')
_FORM = re.compile(r"(?<![\w:])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:-])", re.IGNORECASE)


def accept_for(sparql: str) -> str:
    """The Accept header for a query: its form is the first form keyword outside strings, IRIs
    and comments (the node's parser has read the query before; this only picks a format)."""
    found = _FORM.search(_NOT_KEYWORDS.sub(" ", sparql))
    form = found.group(1).upper() if found else "SELECT"
    return ACCEPT_GRAPH if form in ("CONSTRUCT", "DESCRIBE") else ACCEPT_RESULTS
#: a graph that only the start-up check writes (and removes at once)
PROBE_GRAPH = "urn:ecgraph:store-probe"
PROBE_WRITE = 'INSERT DATA { GRAPH <urn:ecgraph:store-probe> { <urn:ecgraph:probe> <urn:ecgraph:probe> "probe" } }'
PROBE_ASK = 'ASK { <urn:ecgraph:probe> <urn:ecgraph:probe> "probe" }'
PROBE_DROP = "DROP SILENT GRAPH <urn:ecgraph:store-probe>"
#: a change the node must be able to send in one update request, or it writes changes in steps
PROBE_TRIPLES = 2000
#: the row probe asks for PROBE_SIDE² rows (a store that returns fewer caps its answers there)
PROBE_SIDE = 317


class StoreUnreachable(errors.BadGateway):
    title = "store unreachable"


class StoreRefused(errors.BadGateway):
    title = "store error"


class OutcomeUnknown(errors.Unavailable):
    """An update was sent but its answer never came: the store may or may not have applied it."""

    title, retry_after = "store timeout", 5

    def __init__(self, message: str, *, expired: bool = True):
        super().__init__(message)
        self.expired = expired


class QueryTimedOut(errors.Unavailable):
    """The store's answer did not come within the node's time limit (the node's own cut-off)."""

    title, retry_after = "query timeout", 1


class AnswerTruncated(errors.Unavailable):
    """The store answered 200 with an answer it had cut short (its own timeout or result limit)."""

    title, retry_after = "query timeout", 1


class AnswerTooLarge(errors.Unavailable):
    title, retry_after = "query too large", 1


class StoreTooSmall(errors.BadGateway):
    """The store refuses an update for its size (not for anything the client did)."""

    title = "change too large for the store"


#: a store's 400 answers that mean "too large for me", not "wrong" (Virtuoso's SPARQL compiler:
#: "generated SQL text has exceeded 10000 lines", "memory exhausted")
STORE_LIMITS = (b"exceeded 10000 lines", b"memory exhausted")


class StoreMisconfigured(errors.Error):
    status, title = 500, "store misconfigured"


@dataclass(frozen=True)
class Endpoints:
    """Where a remote store answers, and how to authenticate (picklable, for query workers)."""

    query: str
    update: str
    graph_store: str
    credentials_file: str | None = None
    #: seconds an update or a bulk batch may take
    timeout: float = 120.0
    #: seconds a query may take, when the node's worker pool does not stop it first
    query_timeout: float = 10.0
    #: whether the node writes each change in one request that readers see whole (False on a store
    #: that takes changes only in steps: readers then check the generation, :mod:`ecgraph.store.stepwise`)
    isolated: bool = True
    #: the most rows or triples the store returns for one query, when it has such a limit (found by
    #: the start-up probe): an answer that long may be cut and is refused
    row_cap: int | None = None

    @classmethod
    def from_config(cls, config) -> Endpoints:
        base = config.store.rstrip("/") + "/"
        for name, url in (("--store", config.store), ("--store-query", config.store_query),
                          ("--store-update", config.store_update), ("--store-graph-store", config.store_graph_store)):
            if url and urlsplit(urljoin(base, url)).scheme not in ("http", "https"):
                raise ValueError(f"{name}: {url!r} is not an http(s) URL")
            if url and "@" in urlsplit(urljoin(base, url)).netloc:
                raise ValueError(f"{name}: no credentials in the URL; put them in the file named by "
                                 "ECGRAPH_STORE_CREDENTIALS_FILE")
        return cls(query=urljoin(base, config.store_query or "query"),
                   update=urljoin(base, config.store_update or "update"),
                   graph_store=urljoin(base, config.store_graph_store or "store"),
                   credentials_file=str(config.store_credentials_file) if config.store_credentials_file else None,
                   timeout=float(config.publish_timeout), query_timeout=float(config.query_timeout))


def _authorization(credentials_file: str | None) -> str | None:
    """The Authorization header from the credentials file: ``user:password`` (Basic) or ``Bearer
    TOKEN``. The file must not be readable by others."""
    if not credentials_file:
        return None
    path = Path(credentials_file)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise StoreMisconfigured(f"cannot read the store credentials file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        raise StoreMisconfigured(f"the store credentials file {path} is readable by other users; "
                                 f"make it private: chmod 600 {path}")
    if not text:
        raise StoreMisconfigured(f"the store credentials file {path} is empty")
    if text.lower().startswith("bearer "):
        return "Bearer " + text[7:].strip()
    if ":" not in text:
        raise StoreMisconfigured(f"the store credentials file {path} holds neither user:password nor "
                                 "'Bearer TOKEN'")
    return "Basic " + base64.b64encode(text.encode("utf-8")).decode("ascii")


@dataclass
class Answer:
    status: int
    media_type: str
    headers: dict[str, str]
    body: bytes


class Client:
    """An HTTP/1.1 client of one store: one wall-clock deadline for each request (a watchdog shuts
    the socket at the deadline, which wakes a blocked read), a cap on the answer's size, no
    redirects. One connection per thread, kept alive."""

    def __init__(self, endpoints: Endpoints):
        self.endpoints = endpoints
        self.authorization = _authorization(endpoints.credentials_file)
        self._local = threading.local()

    def _connection(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        conn = pool.get(key)
        if conn is None:
            cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            conn = pool[key] = cls(parts.hostname or "", parts.port)
        path = parts.path or "/"
        return conn, path + ("?" + parts.query if parts.query else "")

    def _drop(self, url: str) -> None:
        parts = urlsplit(url)
        conn = getattr(self._local, "pool", {}).pop((parts.scheme, parts.netloc), None)
        if conn is not None:
            conn.close()

    def request(self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
                timeout: float | None = None, max_bytes: int = MAX_ANSWER_BYTES, what: str = "the request",
                idempotent: bool = True) -> Answer:
        """One request with a deadline of ``timeout`` seconds for all of it. Raises
        :class:`StoreUnreachable` when nothing could be sent, :class:`OutcomeUnknown` when the
        answer did not come (in time, or whole). A request that is not ``idempotent`` (an update)
        goes on a fresh connection and is never sent twice: a kept-alive connection that the store
        closed meanwhile would otherwise leave its outcome unknown."""
        if not idempotent:
            self._drop(url)
        seconds = self.endpoints.timeout if timeout is None else timeout
        all_headers = {"User-Agent": "ecgraph", **(headers or {})}
        if self.authorization:
            all_headers["Authorization"] = self.authorization
        for attempt in range(2):  # a kept-alive connection the store closed meanwhile is opened again once
            conn, path = self._connection(url)
            expired = threading.Event()
            timer = threading.Timer(seconds, self._expire, (conn, expired))
            timer.daemon = True
            timer.start()
            sent = False
            try:
                conn.timeout = seconds
                if conn.sock is None:
                    conn.connect()
                conn.sock.settimeout(seconds)
                conn.request(method, path, body=body, headers=all_headers)
                sent = True
                response = conn.getresponse()
                data = response.read(max_bytes + 1)
                if len(data) > max_bytes:
                    self._drop(url)
                    raise AnswerTooLarge(f"the store's answer to {what} is larger than "
                                                 f"{max_bytes // (1024 * 1024)} MB; narrow the query")
                if response.will_close or not response.isclosed():
                    # not read to its end (capped) or the store closes: do not reuse
                    if not response.isclosed():
                        self._drop(url)
                return Answer(response.status, (response.getheader("Content-Type") or "").split(";")[0].strip().lower(),
                              {k.lower(): v for k, v in response.getheaders()}, data)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(url)
                if attempt == 0 and not expired.is_set() and (idempotent or not sent):
                    continue
                raise self._failure(exc, sent, expired.is_set(), seconds, what) from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop(url)
                raise self._failure(exc, sent, expired.is_set(), seconds, what) from None
            finally:
                timer.cancel()
        raise AssertionError("unreachable")

    @staticmethod
    def _expire(conn: http.client.HTTPConnection, expired: threading.Event) -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _failure(self, exc: Exception, sent: bool, expired: bool, seconds: float, what: str) -> errors.Error:
        where = urlsplit(self.endpoints.query).netloc
        if not sent and not expired:
            return StoreUnreachable(f"the store at {where} could not be reached for {what} "
                                    f"({type(exc).__name__}: {exc}); is it running?")
        if expired or isinstance(exc, TimeoutError):
            return OutcomeUnknown(f"the store at {where} did not answer {what} within {seconds:g} s", expired=True)
        return OutcomeUnknown(f"the store at {where} broke off its answer to {what} ({type(exc).__name__})",
                              expired=False)


def _problem(answer: Answer) -> str:
    text = answer.body[:2000].decode("utf-8", "replace").strip()
    return text or f"HTTP {answer.status}"


def truncation(answer: Answer) -> str | None:
    """Why a 200 answer is not the whole answer, if the store says so in its headers: Virtuoso's
    anytime queries answer ``X-SQL-State: S1TAT`` with "Returning incomplete results"."""
    state = answer.headers.get("x-sql-state", "")
    message = answer.headers.get("x-sql-message", "")
    if state or "incomplete" in message.lower():
        return f"{state} {message}".strip()
    return None


class RemoteEngine:
    """The store's query endpoint behind pyoxigraph's ``Store.query`` API: what
    :func:`ecgraph.query.pool.execute` runs a query on, in a worker or in the node's process."""

    def __init__(self, endpoints: Endpoints, client: Client | None = None):
        self.endpoints = endpoints
        self.client = client or Client(endpoints)

    @property
    def live(self) -> bool:
        """Whether this view can show a write in flight (a store written in steps): a query worker
        then reads only between writes and asks again when one began meanwhile
        (:class:`ecgraph.query.pool.Snapshot`)."""
        return not self.endpoints.isolated

    def fetch(self, sparql: str, *, default_graph: list | None = None, named_graphs: list | None = None,
              base_iri: str | None = None, timeout: float | None = None) -> Answer:
        # ``timeout`` (ms) asks the store to stop at the node's limit too, where it understands it
        # (Virtuoso: then its "anytime" answer comes back marked incomplete, and is refused below)
        params: list[tuple[str, str]] = [("query", (f"BASE {_iri(base_iri)}\n" if base_iri else "") + sparql),
                                         ("timeout", str(int(self.endpoints.query_timeout * 1000)))]
        params += [("default-graph-uri", g.value if isinstance(g, ox.NamedNode) else str(g))
                   for g in default_graph or ()]
        params += [("named-graph-uri", g.value if isinstance(g, ox.NamedNode) else str(g)) for g in named_graphs or ()]
        seconds = self.endpoints.query_timeout if timeout is None else timeout
        try:
            answer = self.client.request("POST", self.endpoints.query, body=urlencode(params).encode("utf-8"),
                                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                                  "Accept": accept_for(sparql)},
                                         timeout=seconds, what="a query")
        except OutcomeUnknown as exc:  # a query changes nothing: its unknown outcome is a timeout or a cut
            if not exc.expired:
                raise AnswerTruncated(f"{exc.detail}; a partial answer is not passed on") from None
            raise QueryTimedOut(f"the query ran past the {seconds:g} s time limit and was stopped "
                                f"({exc.detail}); narrow it (LIMIT, more selective patterns)") from None
        if answer.status == 400:
            raise SyntaxError(f"the store refused the query: {_problem(answer)}")
        if answer.status == 500 and b"estimated execution time" in answer.body[:2000]:  # Virtuoso, before running
            raise QueryTimedOut(f"the store refused the query because it estimates that it would run past its time "
                                f"limit ({_problem(answer)[:200]}); narrow it (LIMIT, more selective patterns)")
        if answer.status in (503, 504) or (answer.status == 500 and b"timeout" in answer.body[:2000].lower()):
            raise AnswerTruncated(f"the store stopped the query at its own time limit: {_problem(answer)[:300]}")
        if answer.status != 200:
            raise StoreRefused(f"the store answered {answer.status} to a query: {_problem(answer)[:500]}")
        cut = truncation(answer)
        if cut:
            raise AnswerTruncated(f"the store cut its answer short ({cut}); a partial answer is not passed "
                                  "on as complete: narrow the query")
        return answer

    def query(self, sparql: str, *, default_graph: Any = None, named_graphs: Any = None,
              use_default_graph_as_union: bool = False, base_iri: str | None = None,
              substitutions: Mapping | None = None, timeout: float | None = None):
        """A query's answer as pyoxigraph objects (``QuerySolutions``, ``QueryBoolean`` or an
        iterator of triples), parsed whole first: an answer that does not parse to its end was cut
        short and is refused as such."""
        if substitutions:
            raise ValueError("substitutions are not supported by a remote store; write the values into the query")
        if isinstance(default_graph, (ox.NamedNode, str)):
            default_graph = [default_graph]
        answer = self.fetch(sparql, default_graph=default_graph, named_graphs=named_graphs, base_iri=base_iri,
                            timeout=timeout)
        return parse_answer(answer, self.endpoints.row_cap)

    def dump(self, format: ox.RdfFormat) -> bytes:  # noqa: A002 - pyoxigraph's name
        """Every quad of the store in a dataset format (``ecgraph export``)."""
        return ox.serialize(list(select_quads(self, None)), format=format) or b""

    def quads_for_pattern(self, subject, predicate, obj, graph) -> Iterator[ox.Quad]:
        """Every quad of the store (the Graph Store Protocol's dataset GET): only the full pattern."""
        if (subject, predicate, obj, graph) != (None, None, None, None):
            raise ValueError("a remote store serves only the full quad pattern here")
        return select_quads(self, None)


def _blank_label(value: str) -> str:
    """A blank node's identifier as RDF allows it: Virtuoso writes its own in results as
    ``nodeID://b10001``, which no parser takes; one like that becomes ``x`` and its hex digits
    (one identifier, one label, within an answer and across answers)."""
    return value if _VALID_BLANK.fullmatch(value) else "x" + value.encode("utf-8").hex()


def _valid_blanks(body: bytes) -> bytes:
    """A SPARQL JSON answer with every blank node identifier made valid (see :func:`_blank_label`)."""
    data = json.loads(body)
    for row in data.get("results", {}).get("bindings", []):
        for term in row.values():
            if term.get("type") == "bnode":
                term["value"] = _blank_label(term["value"])
    return json.dumps(data).encode("utf-8")


def _capped(rows: int, cap: int | None, answer: Answer) -> None:
    """Refuse an answer of as many rows as the store returns at most: it may have cut it there
    without a word (Virtuoso's ``ResultSetMaxRows``: it says ``X-SPARQL-MaxRows`` on SELECT
    answers, nothing on CONSTRUCT ones)."""
    header = answer.headers.get("x-sparql-maxrows", "")
    limit = int(header) if header.isdigit() else cap
    if limit and rows >= limit:
        raise AnswerTruncated(f"the store returns at most {limit:,} rows or triples for one query and this answer "
                              f"has {rows:,}: it may be cut, and a partial answer is not passed on as complete; "
                              "narrow the query (LIMIT), or raise the store's limit (Virtuoso: ResultSetMaxRows "
                              "in the [SPARQL] section of virtuoso.ini)")


def parse_answer(answer: Answer, cap: int | None = None):
    """The answer parsed whole (a cut one raises :class:`AnswerTruncated`); ``cap``: the most rows
    the store returns for one query, when it has such a limit (found at start by the node)."""
    results_format = formats.of_media_type(answer.media_type, formats.RESULTS)
    graph_format = formats.of_media_type(answer.media_type, formats.GRAPH)
    if results_format is formats.JSON and b"nodeID://" in answer.body:
        try:
            answer.body = _valid_blanks(answer.body)
        except ValueError:
            pass  # not whole JSON: refused as a cut answer below
    try:
        if results_format is not None and results_format.results is not None:
            if results_format in (formats.CSV, formats.TSV):  # CSV loses term kinds; TSV cannot show a cut
                raise StoreRefused(f"the store answered a query with {answer.media_type}, which cannot show a "
                                   "cut answer; it must honour Accept: application/sparql-results+json")
            complete = ox.parse_query_results(answer.body, format=results_format.results)
            if isinstance(complete, ox.QuerySolutions):
                rows = 0
                for _ in complete:  # to its end: a cut answer fails here, before anything is passed on
                    rows += 1
                _capped(rows, cap, answer)
            return ox.parse_query_results(answer.body, format=results_format.results)
        if graph_format is None or graph_format.rdf is None:
            raise StoreRefused(f"the store answered a query with {answer.media_type or 'no media type'}, "
                               "which the node cannot read")
        triples = [q.triple for q in ox.parse(answer.body, format=graph_format.rdf)]
        _capped(len(triples), cap, answer)
        return triples
    except SyntaxError as exc:
        raise AnswerTruncated(f"the store's answer ends before it is complete ({exc}); a partial answer "
                              "is not passed on: the store may have stopped the query at its own time "
                              "limit") from None


def select_quads(engine: RemoteEngine, graph: str | None, timeout: float | None = None) -> Iterator[ox.Quad]:
    if graph is None:
        answer = engine.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }", timeout=timeout)
        return iter([ox.Quad(s["s"], s["p"], s["o"], s["g"]) for s in answer])
    g = ox.NamedNode(graph)
    triples = engine.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} }}", timeout=timeout)
    return iter([ox.Quad(t.subject, t.predicate, t.object, g) for t in triples])


class RemoteStore(GraphStore):
    """A SPARQL 1.1 store over HTTP, as the node's graph."""

    remote = True
    manages_generation = True  # every update moves the node's generation around it (_committing)

    def __init__(self, endpoints: Endpoints, *, on_commit: Callable[[], None] | None = None,
                 on_progress: Callable[[int, int], None] | None = None, check: bool = True,
                 journal: Path | None = None, writes: str = "auto"):
        super().__init__()
        self.endpoints = endpoints
        self.client = Client(endpoints)
        self._engine = RemoteEngine(endpoints, self.client)
        self._on_commit = on_commit
        #: called with (quads written, quads in the load) after each batch of a bulk load
        self.on_progress = on_progress
        #: the store takes a change only in steps (:mod:`ecgraph.store.stepwise`); found by :meth:`check`
        self.stepwise = False
        self.writes = writes
        self.journal = stepwise.Journal(journal) if journal is not None else None
        if check:
            self.check()
            self.recover()

    def check(self) -> None:
        """Refuse a store that is unreachable, that refuses the node's updates, or whose default
        graph is not the union of its named graphs (the node's queries rely on it)."""
        try:
            self.update(PROBE_WRITE, notify=False)
        except StoreRefused as exc:
            raise StoreMisconfigured(f"the store at {self.endpoints.update} refused the node's write: {exc.detail}; "
                                     "the node needs SPARQL Update rights there (Virtuoso: grant SPARQL_UPDATE "
                                     "to the SPARQL user, or use /sparql-auth with credentials)") from None
        except (errors.Error, SyntaxError) as exc:
            raise StoreMisconfigured(f"the store at {self.endpoints.update} could not be used: "
                                     f"{getattr(exc, 'detail', exc)}") from None
        try:
            union = bool(self._engine.query(PROBE_ASK))
        finally:
            self.update(PROBE_DROP, notify=False)
        if not union:
            raise StoreMisconfigured(f"the default graph of the store at {self.endpoints.query} is not the union "
                                     "of its named graphs, which the node's queries rely on: start oxigraph with "
                                     "'oxigraph serve --union-default-graph', set Fuseki's tdb2:unionDefaultGraph "
                                     "true, or GraphDB's ... (Virtuoso does it by default)")
        self._probe_capacity()
        self._probe_rows()

    def _probe_rows(self) -> None:
        """Whether the store returns at most some number of rows for one query (Virtuoso's
        ``ResultSetMaxRows``, 10,000 by default, cuts without an error): asked for
        :data:`PROBE_ROWS` rows computed from nothing, a store that returns fewer has a cap there,
        and every answer of that length is refused from then on as possibly cut."""
        numbers = " ".join(str(i) for i in range(PROBE_SIDE))
        probe = f"SELECT ?a ?b WHERE {{ VALUES ?a {{ {numbers} }} VALUES ?b {{ {numbers} }} }}"
        answer = self._engine.fetch(probe, timeout=max(self.endpoints.query_timeout, 30.0))
        results = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
        rows = len(list(results)) if isinstance(results, ox.QuerySolutions) else 0
        if rows < PROBE_SIDE * PROBE_SIDE:
            self._use(replace(self.endpoints, row_cap=rows))
            log.warning("the store at %s returns at most %s rows for one query: a longer answer (a query's, or "
                        "the node's own read of a large graph) is refused as possibly cut; raise the store's "
                        "limit (Virtuoso: ResultSetMaxRows in virtuoso.ini)", self.endpoints.query, f"{rows:,}")

    def _probe_capacity(self) -> None:
        """Whether the store takes a change of :data:`PROBE_TRIPLES` triples in one update request;
        if not (Virtuoso 7), the node writes changes in steps through the Graph Store endpoint,
        which must then take a PUT."""
        if self.writes == "one-request":
            return
        if self.writes == "auto":
            probe_data = "\n".join(f'<urn:ecgraph:probe:{i}> <urn:ecgraph:probe> "{i}" .' for i in range(PROBE_TRIPLES))
            try:
                self._send(f"INSERT DATA {{ GRAPH {_iri(PROBE_GRAPH)} {{\n{probe_data}\n}} }}")
                return
            except StoreTooSmall:
                pass
            finally:
                self._send(PROBE_DROP)
        try:
            self._put(PROBE_GRAPH, ['<urn:ecgraph:probe> <urn:ecgraph:probe> "probe" .'])
            self._send(PROBE_DROP)
        except errors.Error as exc:
            raise StoreMisconfigured(
                f"the node writes changes to the store at {self.endpoints.update} in steps (--store-writes "
                f"{self.writes}: it takes no update of {PROBE_TRIPLES:,} triples, or steps were asked for) through "
                f"the store's Graph Store endpoint, and "
                f"{self.endpoints.graph_store} did not take a PUT ({exc.detail}); name the store's endpoint with "
                "--store-graph-store (Virtuoso: sparql-graph-crud, with SPARQL_UPDATE granted)") from None
        self.stepwise = True
        self._use(replace(self.endpoints, isolated=False))
        log.info("the store at %s takes fewer than %s triples in one update: the node writes each change in "
                 "steps, readers see it whole through the generation lock, and a journal undoes a change a "
                 "failure interrupts (ecgraph.store.stepwise)", self.endpoints.update, f"{PROBE_TRIPLES:,}")

    def _use(self, endpoints: Endpoints) -> None:
        """What a probe found, for this store, its client and engine, and the workers' view."""
        self.endpoints = self._engine.endpoints = self.client.endpoints = endpoints

    def recover(self) -> None:
        """Write back the state before a change that a crash interrupted (its journal is there)."""
        if self.journal is None:
            return
        state = self.journal.read()
        if state is None:
            return
        log.warning("a change to the store was interrupted (the node stopped mid-change); writing back the "
                    "state before it (%d graphs)", len(state.graphs) + len(state.added) + len(state.removed))
        with self._write_lock, self._committing():
            stepwise.undo(self._steps(), _iri, state)
        self.journal.clear()

    # --- reads ------------------------------------------------------------------------------

    def consistent(self, read: Callable[[], Any]) -> Any:
        """A read that never shows a change half-written: on a store written in steps, it runs
        while no write is in flight and is asked again when one began before its answer was in
        (a sequence lock on the generation). The writer's own reads need none."""
        counter = self.generation
        if not self.stepwise or counter is None or self._write_lock._is_owned():  # type: ignore[attr-defined]
            return read()
        deadline = time.monotonic() + self.endpoints.timeout
        pause = 0.001
        while True:
            before = counter.value
            if not before & 1:
                answer = read()
                if counter.value == before:
                    return answer
            if time.monotonic() > deadline:
                raise errors.Unavailable("a change to the store took longer than the store's time limit; "
                                         "try again in a moment")
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def query(self, sparql: str, *, union: bool = True, substitutions: Mapping | None = None, **options: Any):
        if not union and "default_graph" not in options:
            raise ValueError("a remote store's default graph is always the union of its graphs")
        options.pop("use_default_graph_as_union", None)
        return self.consistent(lambda: self._engine.query(sparql, substitutions=substitutions, **options))

    def graph_ntriples(self, graph: str) -> str:
        triples = [q.triple for q in self.consistent(lambda: list(select_quads(self._engine, graph)))]
        return ntriples(triples) if triples else ""

    def has_graph(self, graph: str) -> bool:
        return bool(self.consistent(lambda: self._engine.query(f"ASK {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} }}")))

    def named_graphs(self) -> list[str]:
        answer = self.consistent(lambda: list(self._engine.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")))
        return sorted(s["g"].value for s in answer if isinstance(s["g"], ox.NamedNode))

    def subjects_triples(self, graph: str, subject: ox.NamedNode) -> list[ox.Triple]:
        return self.consistent(lambda: list(self._engine.query(
            f"CONSTRUCT {{ {_named(subject)} ?p ?o }} WHERE {{ GRAPH {_iri(graph)} {{ {_named(subject)} ?p ?o }} }}")))

    #: subjects asked in one query by :meth:`triples_about` (a query text of about 20 KB)
    ABOUT_BATCH = 200
    #: the rows of one page of :meth:`subjects_of`, where the store cut the whole answer and its
    #: cap is not known
    SUBJECTS_PAGE = 5000

    def subjects_of(self, graph: str, listed_by: Sequence[ox.NamedNode] = ()) -> list:
        """:meth:`GraphStore.subjects_of`; where the store will not give them in one answer (its row
        cap: Virtuoso returns 10,000 rows by default, and the catalog of 10,000 twins has 30,000
        subjects), the IRIs page by page in their order, each page after the last IRI of the one
        before (Virtuoso refuses to sort past its cap: an OFFSET cannot page), then the blank
        nodes."""
        try:
            return super().subjects_of(graph, listed_by)
        except AnswerTruncated:
            pass
        cap = self.endpoints.row_cap
        page = cap - 1 if cap else self.SUBJECTS_PAGE  # an answer as long as the cap is refused
        out: list = []
        after = ""
        while True:
            rows = [row["s"] for row in self.query(
                f"SELECT DISTINCT ?s WHERE {{ GRAPH {_iri(graph)} {{ {_resources(listed_by)} }} "
                f"FILTER(isIRI(?s) && STR(?s) > {ox.Literal(after)}) }} ORDER BY STR(?s) LIMIT {int(page)}")]
            out += rows
            if len(rows) < page:
                break
            after = rows[-1].value
        return out + [row["s"] for row in self.query(
            f"SELECT DISTINCT ?s WHERE {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} FILTER(isBlank(?s)) }}")]

    def triples_about(self, graph: str, subjects: Sequence[ox.NamedNode],
                      listed_by: Sequence[ox.NamedNode] = ()) -> list[ox.Triple]:
        """:meth:`GraphStore.triples_about`, one query a batch of subjects."""
        def about(batch: Sequence[ox.NamedNode]) -> list[ox.Triple]:
            return list(self._engine.query(
                f"CONSTRUCT {{ ?s ?p ?o . ?x ?q ?s }} WHERE {{ GRAPH {_iri(graph)} "
                f"{{ VALUES ?s {{ {_named_list(batch)} }} {_about(listed_by)} }} }}"))

        out: list[ox.Triple] = []
        for start in range(0, len(subjects), self.ABOUT_BATCH):
            out += self.consistent(functools.partial(about, subjects[start:start + self.ABOUT_BATCH]))
        return out

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        return iter(self.consistent(lambda: list(select_quads(self._engine, graph))))

    def __len__(self) -> int:
        count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
        answer = self.consistent(lambda: list(self._engine.query(count)))
        return int(answer[0]["n"].value)

    # --- writes -----------------------------------------------------------------------------

    def insert_data(self, blocks: list[str], *, blank: bool) -> str:
        """Virtuoso refuses blank nodes in INSERT DATA ("not allowed in a constant clause") and
        compiles an INSERT template into SQL that may not pass 10,000 lines (a few hundred
        triples). So ground triples go in one INSERT DATA, and the triples with blank nodes in
        INSERTs with an empty WHERE (standard SPARQL 1.1 that every store takes), of at most
        :data:`TEMPLATE_TRIPLES` triples each, grouped so that all the triples of one blank node
        (across graphs too) are in the same operation: a label means one node per operation, as
        in one INSERT DATA. All of it stays one update request."""
        if not blank:
            return super().insert_data(blocks, blank=blank)
        ground: dict[str, list[str]] = {}
        pending: list[tuple[str, str]] = []
        for block in blocks:
            head, *lines, _ = block.split("\n")
            graph = head[len("GRAPH <"):-len("> {")]  # the IRI, validated again where it is written
            for line in lines:
                if stepwise.labels(line):
                    pending.append((graph, line))
                else:
                    ground.setdefault(graph, []).append(line)
        operations = []
        if ground:
            operations.append(super().insert_data([f"GRAPH {_iri(g)} {{\n" + "\n".join(lines) + "\n}"
                                                   for g, lines in ground.items()], blank=False))
        chunk: list[tuple[str, str]] = []
        for component in stepwise.components(pending):
            if chunk and len(chunk) + len(component) > TEMPLATE_TRIPLES:
                operations.append(_template(chunk))
                chunk = []
            chunk.extend(component)
        if chunk:
            operations.append(_template(chunk))
        return " ;\n".join(operations)

    def update(self, sparql: str, *, base_iri: str | None = None, notify: bool = True) -> None:
        """One SPARQL Update, one request: the store applies it as one transaction; ``base_iri``
        becomes the update's ``BASE``, so its relative IRIs resolve as on the embedded store."""
        if base_iri is not None:
            sparql = f"BASE {ox.NamedNode(base_iri)}\n{sparql}"
        with self._write_lock, self._committing():
            self._send(sparql)
        if notify and self._on_commit:
            self._on_commit()

    def _send(self, sparql: str) -> None:
        answer = self.client.request("POST", self.endpoints.update, body=sparql.encode("utf-8"),
                                     headers={"Content-Type": "application/sparql-update"}, what="an update",
                                     idempotent=False)
        if answer.status == 400 and any(code in answer.body[:300] for code in STORE_LIMITS):
            raise StoreTooSmall(f"the store cannot take this change in one update request "
                                f"({_problem(answer)[:200]}). Virtuoso 7 compiles one SPARQL update into at most "
                                "10,000 lines of SQL (about 1,000 triples); the node's own changes go in steps "
                                "there, but an update sent to /update must be smaller: see the README, "
                                "'Running on an existing SPARQL store'")
        if answer.status == 400:
            raise SyntaxError(f"the store refused the update: {_problem(answer)[:2000]}")
        self._accepted(answer, "an update")

    def _accepted(self, answer: Answer, what: str) -> None:
        if answer.status in (401, 403):
            raise StoreRefused(f"the store refused the node's {what} ({answer.status}): check "
                               "ECGRAPH_STORE_CREDENTIALS_FILE and the store's update rights")
        if answer.status >= 300:
            raise StoreRefused(f"the store answered {answer.status} to {what}: {_problem(answer)[:500]}")
        cut = truncation(answer)
        if cut:
            raise StoreRefused(f"the store reported a problem with {what}: {cut}")

    # --- a change in steps (a store that takes none in one request: ecgraph.store.stepwise) ----------

    def _graph_store(self, method: str, graph: str, lines: list[str]) -> None:
        url = self.endpoints.graph_store + ("&" if "?" in self.endpoints.graph_store else "?") + \
            urlencode({"graph": ox.NamedNode(graph).value})
        body = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
        answer = self.client.request(method, url, body=body, headers={"Content-Type": ACCEPT_GRAPH},
                                     what=f"a Graph Store {method}", idempotent=method == "PUT")
        self._accepted(answer, f"a Graph Store {method} of {graph}")

    def _put(self, graph: str, lines: list[str]) -> None:
        self._graph_store("PUT", graph, lines)

    def _post(self, graph: str, lines: list[str]) -> None:
        self._graph_store("POST", graph, lines)

    def _steps(self) -> stepwise.Steps:
        return stepwise.Steps(update=self._send, put=self._put, post=self._post, template=_template)

    def commit(self, *, replace: Mapping[str, Any] | None = None, drop: Iterable[str] = (),
               delete_subjects: Mapping[str, Iterable[ox.NamedNode]] | None = None,
               delete: Mapping[str, Any] | None = None, insert: Mapping[str, Any] | None = None,
               known: Mapping[str, str] | None = None, meanwhile: Callable[[], None] | None = None) -> None:
        """On a store that takes a change in one request, :meth:`GraphStore.commit`. On one that
        does not, the same change in steps: the state it overwrites journaled first, readers held
        off by the generation while it is written, and written back if a step fails."""
        if not self.stepwise:
            return super().commit(replace=replace, drop=drop, delete_subjects=delete_subjects, delete=delete,
                                  insert=insert, known=known, meanwhile=meanwhile)
        graphs = {g: _lines(c) for g, c in dict(replace or {}).items()}
        dropped = [g for g in drop if g not in graphs]
        subjects = {g: list(s) for g, s in dict(delete_subjects or {}).items()}
        removals = {g: [line for line in _lines(t) if _ground(line)] for g, t in dict(delete or {}).items()}
        additions = {g: _lines(t) for g, t in dict(insert or {}).items()}
        with self._write_lock:
            undo = stepwise.Undo()
            for graph in [*graphs, *dropped]:
                text = dict(known or {}).get(graph)
                undo.graphs[graph] = (text if text is not None else self.graph_ntriples(graph)) \
                    if self.has_graph(graph) else None
            undo.removed = {g: list(lines) for g, lines in removals.items() if lines}
            for graph, items in subjects.items():
                for subject in items:
                    old = self.subjects_triples(graph, subject)
                    if old:
                        undo.removed.setdefault(graph, []).extend(ntriples(old).split("\n"))
            undo.added = {g: [line for line in lines if _ground(line)] for g, lines in additions.items() if lines}
            if self.journal is not None:
                self.journal.write(undo)
            with self._committing():
                steps = self._steps()
                try:
                    for graph in dropped:
                        self._send(f"DROP SILENT GRAPH {_iri(graph)}")
                    for graph, items in subjects.items():
                        for part in stepwise.batches(items, 20):
                            deletes = [f"DELETE WHERE {{ GRAPH {_iri(graph)} {{ {_named(subject)} ?p ?o }} }}"
                                       for subject in part]
                            self._send(" ;\n".join(deletes))
                    for graph, lines in removals.items():
                        stepwise.delete_lines(steps, _iri, graph, lines)
                    stepwise.write_graphs(steps, {**graphs, **{g: v for g, v in additions.items() if g not in graphs}},
                                          set(graphs))
                except BaseException:
                    self._undo(undo)
                    raise
            if self.journal is not None:
                self.journal.clear()
        if self._on_commit:
            self._on_commit()
        if meanwhile is not None:
            meanwhile()

    def _undo(self, state: stepwise.Undo) -> None:
        try:
            stepwise.undo(self._steps(), _iri, state)
        except Exception:
            log.exception("a change to the store failed midway and the state before it could not be written back "
                          "yet; the node writes it back at its next start (journal %s)",
                          self.journal.path if self.journal else "none")
            return
        if self.journal is not None:
            self.journal.clear()

    def put_graph(self, graph: str | None, content: Any, *, merge: bool = False) -> bool:
        if not self.stepwise or graph is None:
            return super().put_graph(graph, content, merge=merge)
        created = not self.has_graph(graph)
        self.commit(insert={graph: content}) if merge else self.commit(replace={graph: content})
        return created

    def bulk_load(self, nquads: bytes) -> None:
        """New quads in batches of about :data:`BULK_BATCH_BYTES` of ``INSERT DATA``, each batch one
        request (NOT atomic as a whole, as the embedded bulk loader is not): progress is logged and
        given to ``on_progress``."""
        quads = list(ox.parse(nquads, format=ox.RdfFormat.N_QUADS))
        total = len(quads)
        written = 0
        started = time.perf_counter()
        position = 0
        while position < total:
            size = 0
            batch: dict[str, list[ox.Triple]] = {}
            end = position
            while end < total and size < BULK_BATCH_BYTES:
                q = quads[end]
                if not isinstance(q.graph_name, ox.NamedNode):
                    raise ValueError("a bulk load writes named graphs only")
                batch.setdefault(q.graph_name.value, []).append(q.triple)
                size += len(str(q))
                end += 1
            if self.stepwise:
                with self._write_lock, self._committing():
                    stepwise.write_graphs(self._steps(), {g: ntriples(t).split("\n") for g, t in batch.items()},
                                          set())
            else:
                blocks = [f"GRAPH {_iri(g)} {{\n" + ntriples(triples) + "\n}" for g, triples in batch.items()]
                blank = any(t.subject.__class__ is ox.BlankNode or t.object.__class__ is ox.BlankNode
                            for triples in batch.values() for t in triples)
                self.update(self.insert_data(blocks, blank=blank), notify=False)
            written += end - position
            position = end
            rate = written / max(time.perf_counter() - started, 1e-6)
            log.info("bulk load into the store: %s of %s quads (%.0f quads/s)", f"{written:,}", f"{total:,}", rate)
            if self.on_progress:
                self.on_progress(written, total)
        if self._on_commit:
            self._on_commit()

    def close(self) -> None:
        pass

    # --- queries in workers -----------------------------------------------------------------

    def engine(self) -> RemoteEngine:
        return self._engine

    def snapshot_spec(self) -> tuple[str, str]:
        return ("remote", json.dumps(asdict(self.endpoints)))


#: triples in one INSERT template (Virtuoso compiles one into SQL of at most 10,000 lines)
TEMPLATE_TRIPLES = 100
_VALID_BLANK = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _template(items: list[tuple[str, str]]) -> str:
    """``INSERT { GRAPH ?g0 { ... } ... } WHERE { BIND(<g> AS ?g0) ... }``: the graphs are bound
    in the WHERE clause, because Virtuoso 7.2.5 answers 500 ("Function string_output_string needs
    a string output") to a template that names two graphs with blank nodes, after applying it."""
    by_graph: dict[str, list[str]] = {}
    for graph, line in items:
        by_graph.setdefault(graph, []).append(line)
    blocks = [f"GRAPH ?g{i} {{\n" + "\n".join(lines) + "\n}" for i, lines in enumerate(by_graph.values())]
    binds = " ".join(f"BIND({_iri(g)} AS ?g{i})" for i, g in enumerate(by_graph))
    return "INSERT {\n" + "\n".join(blocks) + "\n} WHERE { " + binds + " }"


def open_engine(where: str) -> RemoteEngine:
    """A query worker's view of the store: an HTTP client of its query endpoint (there is no
    snapshot to reopen; the store itself is always current)."""
    return RemoteEngine(Endpoints(**json.loads(where)))


def open_store(config, *, on_commit: Callable[[], None] | None = None, check: bool = True) -> RemoteStore:
    """The remote store of ``config.store``; ``check`` (not for read-only use) proves at once that
    the node can write there and that its default graph is the union of its graphs."""
    try:
        endpoints = Endpoints.from_config(config)
    except ValueError as exc:
        raise StoreMisconfigured(str(exc)) from None
    return RemoteStore(endpoints, on_commit=on_commit, check=check, writes=config.store_writes,
                       journal=Path(config.data) / stepwise.JOURNAL if check else None)



def _about(listed_by: Sequence[ox.NamedNode]) -> str:
    """The pattern of :meth:`RemoteStore.triples_about` for the subjects ``?s``: their statements
    (``?s ?p ?o``), but those of ``listed_by`` by their object (``?x ?q ?s``)."""
    if not listed_by:
        return "?s ?p ?o"
    return (f"{{ ?s ?p ?o FILTER(!(isIRI(?o) && ?p IN ({_named_list(listed_by, ', ')}))) }} UNION "
            f"{{ VALUES ?q {{ {_named_list(listed_by)} }} ?x ?q ?s }}")

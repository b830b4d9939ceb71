"""A node: the store, the registry, the workers and the publishing flow, wired together; the one API
that the web layer and the command line use.

Data flows one way: an upload is prepared (parsed, validated, inferred) by
:mod:`ecgraph.publish.pipeline` in a worker process, checked against the authority rule, then
committed here in one atomic write together with its catalog entry, after the version it replaces
has been archived. Queries go to :mod:`ecgraph.query.pool`'s workers, validations to the
validator's own workers.

Who may do what is decided here, from the :class:`Caller` a method receives (its bearer token, or
the command line on the node's own data directory), with one read of the twin's registration per
request. Failures are :mod:`ecgraph.errors` with their status, worded for the operation that met
them (a timeout while publishing says that nothing was stored).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ecgraph import errors, formats, logs, sandbox, standard
from ecgraph.config import Config
from ecgraph.directory import Directory
from ecgraph.discovery import Discovery, NotIndexed, Pins
from ecgraph.discovery.behind import Behind
from ecgraph.network import Network, sources
from ecgraph.network import changes as network_changes
from ecgraph.network.harvest import HARVESTED_BASE, NETWORK_GRAPH, copy_graph
from ecgraph.network.peers import LivePeers
from ecgraph.publish import authority, catalog, catalog_pages, ingest, personal
from ecgraph.publish import dump as dump_module
from ecgraph.publish import pipeline as pipeline_module
from ecgraph.publish.fetch import FetchPolicy, fetch
from ecgraph.publish.pipeline import Pipeline, Prepared, Upload
from ecgraph.query import bounded as bounded_query
from ecgraph.query import cache as answer_cache
from ecgraph.query import explain
from ecgraph.query import figures as network_figures
from ecgraph.query.federate import Inspection, QueryRefused, inspect
from ecgraph.query.pool import QueryPool, QueryRequest, QueryResult, bump, execute
from ecgraph.store import GraphStore
from ecgraph.store.embedded import EmbeddedStore
from ecgraph.store.registry import Registry, Twin, hash_token, now, token_hint, valid_twin_id
from ecgraph.store.stepwise import sync_directory, write_durably
from ecgraph.validation.validate import Report, validate
from ecgraph.workers import (
    Answered,
    MemoryCeiling,
    PoolBusy,
    TaskTimeout,
    WorkerDied,
    WorkerPool,
    on_thread,
    shared_counter,
)

log = logging.getLogger("ecgraph.node")


#: after a failed start sync of the discovery index (a store read failed), the wait before the next try
SYNC_RETRY_SECONDS = 30


class _Closing(Exception):
    """The node is stopping: work behind its start gives up (it is done again at the next start)."""


#: the SERVICE check is a pure function of the text: a page's query asked again is checked once
_inspect = answer_cache.TextMemo(lambda text, update, base_iri: inspect(text, update=update, base_iri=base_iri))

ADMIN_TOKEN_FILE = "admin-token"
#: the network figures as the node closed with them: read and removed at the next start before
#: anything can write the store, so a crash or another program's write leaves none to trust
FIGURES_FILE = "figures.json"
#: a publishing or validation worker that holds more than this after an upload is replaced
PIPELINE_RECYCLE_MB = 768
#: change-stream rows the feeds read back from the newest (each twin once: its newest change)
WHATS_NEW_WINDOW = 5000
#: twins whose catalog entries a bulk load writes in one commit
BULK_CATALOG_TWINS = 500
#: requests for the bulk dump that may wait for one being made at once (the others get the last
#: one at once: waiting requests must not take every HTTP server thread)
DUMP_WAITERS = 2
#: seconds after a failed bulk dump before a request may begin another (each is a process)
DUMP_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Caller:
    """Who asks: the bearer token a request carried and the client's address (for sharing workers
    fairly), or the command line working on the node's own data directory (``local``: the admin)."""

    token: str | None = None
    address: str = ""
    local: bool = False


#: the command line, which can read the data directory and so is the node's admin
LOCAL = Caller(local=True)


@dataclass
class Precondition:
    """What a client expects of a twin's current data before it writes: ``if_match`` is a set of
    ETags (or ``{"*"}``: any current data); ``if_none_match_any`` asks that there be none."""

    if_match: set[str] | None = None
    if_none_match_any: bool = False


class PreconditionFailed(errors.PreconditionFailed):
    """A conditional write found the twin in another state; ``etag`` is the one it has now."""

    def __init__(self, message: str, etag: str | None):
        super().__init__(f"{message}; nothing was written", etag=etag)
        self.etag = etag
        if etag:
            self.headers["ETag"] = etag


def _line_count(ntriples: str) -> int:
    return ntriples.count("\n") + 1 if ntriples else 0


def etag(entry: catalog.Entry | None) -> str | None:
    """A strong ETag for a twin's current data: its version and content hash."""
    if entry is None:
        return None
    return f'"{entry.version}-{entry.content_hash.split(":", 1)[-1][:16]}"'


@dataclass
class Erasure:
    """What an erasure removed: statements from the current data, and from each archived version."""

    twin: str
    current: int
    versions: dict[int, int]
    #: the twin's version after it (None when it has no current data)
    version: int | None

    def to_dict(self) -> dict:
        return {"twin": self.twin, "current": self.current,
                "versions": {str(v): n for v, n in sorted(self.versions.items())}, "version": self.version}


@dataclass
class Published:
    entry: catalog.Entry
    created: bool
    report: dict
    timings: dict


@dataclass
class _BulkLoad:
    """What :meth:`Node.bulk_publish` keeps of its spooled twins until their one load."""
    stamp: str
    claims: Any = None
    entries: dict[str, catalog.Entry] = field(default_factory=dict)
    namespaces: dict[str, list[str]] = field(default_factory=dict)
    #: per twin: its validation report and its timings
    reports: dict[str, tuple[dict, dict]] = field(default_factory=dict)


class Node:
    """Open a node over ``config.data``. ``workers=False`` runs everything in this process (the
    command line, unit tests); a serving node runs queries and uploads in killable workers.
    ``store`` replaces the embedded store (a :class:`~ecgraph.store.memory.MemoryStore`, say);
    ``read_only`` opens a snapshot of it beside a running node (the command line's reads and its
    registry commands: publishing needs the running node)."""

    def __init__(self, config: Config, *, workers: bool = True, store: GraphStore | None = None,
                 read_only: bool = False):
        self.config = config
        self.data_dir = Path(config.data)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        #: where large request bodies wait for the worker that reads them (emptied at start)
        self.tmp_dir = self.data_dir / "tmp"
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir.mkdir(mode=0o700)
        self.registry = Registry(self.data_dir / "registry.sqlite3", keep_versions=config.keep_versions)
        self.peers = LivePeers(self.registry, config.peers)
        self.fetch_policy = FetchPolicy(self.peers, tuple(h.lower() for h in config.allow_hosts),
                                        timeout=config.fetch_timeout, max_bytes=config.max_upload_bytes)
        self.generation = shared_counter()
        self.store: GraphStore = store if store is not None else self._open_store(read_only)
        self.store.generation = self.generation
        #: where the figures are saved at close and read at start: the embedded store's only (a
        #: remote store may be written by others while the node is down)
        self._figures_file = (self.data_dir / FIGURES_FILE
                              if store is None and not config.store and not read_only else None)
        saved_figures = self._take_saved_figures()
        opened_at = self.generation.value
        #: finished answers of the current generation, served without a worker
        self.answers = answer_cache.AnswerCache(config.answer_cache_mb * 2**20)
        #: (generation, the stored catalog's index) for :meth:`catalog_resources`
        self._catalog_index: tuple[int, Any] | None = None
        self.query_pool: QueryPool | None = None
        self.federation_pool: QueryPool | None = None
        self.pipeline_pool: WorkerPool | None = None
        self.validation_pool: WorkerPool | None = None
        self._pipeline: Pipeline | None = None
        self._write_lock = threading.RLock()
        #: the bulk dump: a serving node makes it in the background (:meth:`dump`)
        self._background_dumps = workers and not read_only
        self._dump_guard = threading.Lock()
        self._dump_thread: threading.Thread | None = None
        self._dump_done = threading.Event()
        self._dump_pool: WorkerPool | None = None
        self._dump_waiters = threading.BoundedSemaphore(DUMP_WAITERS)
        self._dump_failed_at = -DUMP_RETRY_SECONDS  # (monotonic) when the last dump failed
        #: moved by every erasure: a dump begun before one is never served
        self._dump_epoch = 0
        #: (generation, the dump's state) for requests that only ask whether the dump is current
        self._dump_state_at: tuple[int, str] | None = None
        self._twin_locks: dict[str, threading.Lock] = {}
        self._twin_locks_guard = threading.Lock()
        #: admin SPARQL updates so far (they may change a twin's graphs without its lock)
        self._free_writes = 0
        self._pools_guard = threading.Lock()
        self._statistics_lock = threading.Lock()
        #: (generation, when, counts) of the last dataset statistics; the count under way; the last
        #: count's (seconds, time.monotonic() at its end)
        self._statistics: tuple[int, str, dict] | None = None
        self._statistics_running: threading.Event | None = None
        self._statistics_took: tuple[float, float] = (0.0, 0.0)
        self._entries: catalog.Entries = catalog.Entries()
        self._directory: Directory | None = None
        self.admin_token_file = self.data_dir / ADMIN_TOKEN_FILE
        self._admin_hash = self._admin_token_hash()
        if not read_only:
            self.install_standard()
        self._entries = catalog.read_all(self.store)
        if not read_only:
            self._drop_orphans()
            self.reconcile()
        self.network = Network(self)
        if not read_only:
            self.network.install_configured()
        #: the network aggregates, kept up to date at each commit (built in the background at start)
        # They hold this node's twins only: while it keeps harvested copies (which the raw queries
        # count too), the generation they are compared with is never theirs, so the raw query answers.
        self.figures = network_figures.Figures(
            self.store.engine, lambda: list(self._entries),
            lambda: -1 if self._holds_copies() else answer_cache.stable(self.generation.value))
        #: the discovery index (features, lessons, indicators, tools), kept in step with publishing
        self._discovery = Discovery(self.data_dir / "discovery.sqlite3")
        #: index jobs run after the publisher is answered; every use of :attr:`discovery` waits for them
        self._behind = Behind()
        self._closing = threading.Event()
        if not read_only and workers:
            # A serving node brings the index in line behind its start: over a remote store that
            # holds N twins, a new --data reads every twin (minutes at N=10,000), and the node
            # answers everything else meanwhile; discovery's reads wait for it (bounded).
            self._behind.submit(self._sync_discovery_logged)
        elif not read_only:
            self._sync_discovery()
        if workers:  # from the file saved at the last close, if opening wrote nothing (a new standard)
            self.figures.rebuild(saved=saved_figures if self.generation.value == opened_at else None)
        if workers:
            # Workers over a remote store reach it over the network; they only ever talk to it
            # (the SERVICE check runs before a query is sent; see ecgraph.store.remote).
            self.query_pool = QueryPool(self.store.snapshot_spec(), self.generation, workers=config.query_workers,
                                        timeout=config.query_timeout, isolate_network=not self.store.remote,
                                        memory_limit_mb=config.query_memory_mb).launch()
            # Publishing and the anonymous validator have pools of their own: nobody's upload
            # queues behind strangers' validations. Neither needs the network.
            self.pipeline_pool = pipeline_module.workers(
                "ecgraph-pipeline", config.pipeline_workers, config.publish_timeout,
                recycle_above_mb=PIPELINE_RECYCLE_MB, on_demand=not config.eager_publishing_workers).launch()
            self.validation_pool = pipeline_module.workers(
                "ecgraph-validate", config.validate_workers, config.publish_timeout,
                recycle_above_mb=PIPELINE_RECYCLE_MB, on_demand=not config.eager_publishing_workers).launch()
            # all three pools' workers start side by side: a node is up in the time of the slowest
            for pool in (self.query_pool, self.pipeline_pool, self.validation_pool):
                pool.start()
            if config.harvest_interval and not read_only:
                self.network.start_schedule(config.harvest_interval)
            if not read_only:
                self.network.start_refresher()
            isolation = next((p.isolation for p in (self.pipeline_pool, self.query_pool)
                              if p.started and p.isolate_network), None)
            if isolation is not None and not sandbox.isolated(isolation):
                log.warning("this system offers no way to cut query workers off the network (no network "
                            "namespace, no seccomp): the SERVICE check is the only layer against SSRF")

    def _open_store(self, read_only: bool) -> GraphStore:
        """The embedded store in the data directory, or the remote SPARQL store of ``--store``."""
        if self.config.store:
            from ecgraph.store.remote import open_store

            return open_store(self.config, on_commit=self._committed, check=not read_only)
        return EmbeddedStore(self.data_dir, on_commit=self._committed, read_only=read_only)

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        self._closing.set()  # a start's index sync stops between twins (the next start goes on)
        self.network.close()
        for pool in self.pools().values():
            pool.close()
        with self._dump_guard:
            if self._dump_pool is not None:
                self._dump_pool.close()
        self._behind.close()
        figures = getattr(self, "figures", None)
        if figures is not None:  # a rebuild reading the store stops first
            figures.stop()
            self._save_figures(figures)
        self.store.close()
        self.registry.close()
        self._discovery.close()

    def _take_saved_figures(self) -> bytes | None:
        """The figures saved at the last close, and the file removed (durably), or None."""
        if self._figures_file is None:
            return None
        try:
            saved = self._figures_file.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read the saved network figures %s (%s); they are built from the store",
                        self._figures_file, exc.strerror)
            saved = None
        self._figures_file.unlink(missing_ok=True)
        sync_directory(self.data_dir)
        return saved

    def _save_figures(self, figures: network_figures.Figures) -> None:
        """At close, under the write lock (no commit under way): the figures, if they hold the
        store as it is, for the next start (:data:`FIGURES_FILE`). A failure only costs the next
        start a build."""
        if self._figures_file is None:
            return
        with self._write_lock:
            data = figures.saved()
            if data is None:
                return
            try:
                write_durably(self._figures_file, data)
            except OSError as exc:
                log.warning("cannot save the network figures to %s (%s); the next start builds them",
                            self._figures_file, exc.strerror)

    def pools(self) -> dict[str, WorkerPool]:
        """The worker pools that run, by name (for /health and /metrics)."""
        named = {"query": self.query_pool, "federation": self.federation_pool,
                 "pipeline": self.pipeline_pool, "validate": self.validation_pool}
        return {name: pool for name, pool in named.items() if pool is not None}

    def _committed(self) -> None:
        if not self.store.manages_generation:  # a store that only says it committed
            bump(self.generation)

    def _holds_copies(self) -> bool:
        """Whether the store holds twins harvested from peers."""
        return any(self.registry.harvested(peer["id"]) for peer in self.registry.peers())

    def _figures_changed(self, twin_ids: list[str], gone: tuple | list = ()) -> None:
        """After a commit, before it is acknowledged: the twins' shares of the network figures."""
        self._figures_read(twin_ids, gone)
        self._figures_hold()

    def _figures_read(self, twin_ids: list[str], gone: tuple | list = ()) -> None:
        """The twins' shares read again from the store (once a commit is applied: while it is made
        durable, or after)."""
        figures = getattr(self, "figures", None)  # None while the node opens (the standard's refresh)
        if figures is None:
            return
        try:
            figures.update(twin_ids, gone=gone)
        except Exception:  # the commit is stored: the raw queries answer until the figures are rebuilt
            log.exception("could not update the network figures after a commit; rebuilding them")
            figures.rebuild()

    def _figures_hold(self) -> None:
        """Under the write lock, once the commit is durable: the figures hold its generation."""
        figures = getattr(self, "figures", None)
        if figures is not None:
            figures.at = answer_cache.stable(self.generation.value)

    def _twin_lock(self, twin_id: str) -> threading.Lock:
        """The lock every write to one twin holds from reading its current state to committing:
        writes to a twin happen one after the other, never on a state another write replaced."""
        with self._twin_locks_guard:
            lock = self._twin_locks.get(twin_id)
            if lock is None:
                lock = self._twin_locks[twin_id] = threading.Lock()
            return lock

    @property
    def discovery(self) -> Discovery:
        """The discovery index, once every index job queued before this call is done (a twin is
        indexed after its publisher is answered; see :mod:`ecgraph.discovery.behind`)."""
        self._behind.settle()
        return self._discovery

    def _discovery_read(self) -> Discovery:
        """The index for a reader's request: as :attr:`discovery`, but waiting at most the query
        time limit (503 with ``Retry-After`` while the jobs before it run longer, as after the
        start of a node whose index is built from a remote store)."""
        if not self._behind.settle(timeout=self.config.query_timeout):
            raise errors.Unavailable(
                f"the discovery index is being brought up to date with the store ({self._behind.waiting} "
                "job(s) waiting: after this node's start it reads every published twin, or a burst of "
                "publishing is being indexed); everything else answers meanwhile: try again in a minute",
                retry_after=30)
        return self._discovery

    def _sync_discovery_logged(self) -> None:
        try:
            counts = self._sync_discovery()
            log.info("discovery index in line with the store: %s", counts)
        except _Closing:
            log.info("stopped bringing the discovery index in line with the store; the next start goes on")
        except Exception:  # a store that failed a read: try again in a while (what is indexed stays)
            log.exception("could not bring the discovery index in line with the store; trying again in %d s",
                          SYNC_RETRY_SECONDS)
            if not self._closing.wait(SYNC_RETRY_SECONDS):
                self._behind.submit(self._sync_discovery_logged)

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline()
        return self._pipeline

    # --- who may do what ----------------------------------------------------------------------

    def _admin_token_hash(self) -> str:
        if self.config.admin_token:
            return hash_token(self.config.admin_token)
        path = self.admin_token_file
        if not path.exists():
            token = "ecg_admin_" + secrets.token_urlsafe(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(token + "\n")
            log.warning("generated an admin token (%s) in %s (readable by its owner only)",
                        token_hint(token), path)
        os.chmod(path, 0o600)
        return hash_token(path.read_text().strip())

    def is_admin(self, caller: Caller) -> bool:
        return caller.local or (bool(caller.token)
                                and hmac.compare_digest(self._admin_hash, hash_token(caller.token or "")))

    def require_admin(self, caller: Caller, what: str = "this operation") -> None:
        if caller.local:
            return
        if not caller.token:
            raise errors.Unauthorized(f"{what} needs the node's admin token")
        if not self.is_admin(caller):
            raise errors.Forbidden("the token is not the node's admin token")

    def _writer(self, caller: Caller, twin_id: str, twin: Twin | None) -> bool:
        """Whether ``caller`` may write the twin, from its registration as read for this request;
        returns whether the caller is the admin."""
        if self.is_admin(caller):
            return True
        if not caller.token:
            raise errors.Unauthorized(f"writing twin {twin_id!r} needs its publisher token or the admin token")
        if twin is not None and twin.grants(caller.token):
            return False
        raise errors.Forbidden(f"the token does not grant writes to twin {twin_id!r}")

    def check_writer(self, twin_id: str, caller: Caller) -> None:
        """Refuse a caller who may not write the twin, before its request body is even read (the
        write itself checks again, under the twin's lock)."""
        if not self.is_admin(caller):
            self._writer(caller, twin_id, self.registry.twin(twin_id))

    def _registered(self, twin_id: str, twin: Twin | None) -> Twin:
        if twin is None:
            raise errors.NotFound(f"twin {twin_id!r} is not registered on this node; the admin registers it "
                                  "with POST /api/twins")
        return twin

    # --- the standard -------------------------------------------------------------------------

    def install_standard(self) -> None:
        """Load the ontology and vocabularies (and their schema closure) when the standard changed,
        and bring every twin up to date with it: inferences again (what the ontology licenses may
        have changed) and validation again (a newer profile may find warnings or violations; a
        twin that now fails stays served, flagged "fails" in the catalog and on its badge)."""
        files = [standard.ontology_file(), standard.vocabularies_file(),
                 *(standard.shapes_file(p, v) for v in standard.VERSIONS for p in standard.PROFILES)]
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
        installed = self.registry.setting("standard_hash")
        if installed == digest and self.store.has_graph(standard.ONTOLOGY_GRAPH):
            return
        ontology = [q.triple for q in ox.parse(path=str(files[0]), format=ox.RdfFormat.TURTLE)]
        vocabularies = [q.triple for q in ox.parse(path=str(files[1]), format=ox.RdfFormat.TURTLE)]
        self._pipeline = Pipeline()
        with self._write_lock:
            self.store.commit(replace={
                standard.ONTOLOGY_GRAPH: ontology,
                standard.ONTOLOGY_GRAPH + standard.INFERRED_SUFFIX: self._pipeline.reasoner.schema_closure(),
                standard.VOCABULARY_GRAPH: vocabularies,
            })
            if installed is not None:
                for twin_id in catalog.read_all(self.store):
                    self._refresh(twin_id)
            self.registry.set_setting("standard_hash", digest)

    def _drop_orphans(self) -> None:
        """Remove what an interrupted bulk load wrote: the graphs it marked before writing that
        got no catalog entry (its entries are written last, so nothing acknowledged is lost).
        Graphs nobody marked, such as those an admin wrote with SPARQL Update, are never touched."""
        pending = self.registry.bulk_pending()
        if not pending:
            return
        published = {e.graph for e in self._entries.values()} | {e.inferred_graph for e in self._entries.values()}
        orphans = [g for g in pending if g not in published and self.store.has_graph(g)]
        if orphans:
            log.warning("removing %d graphs left by an interrupted bulk load: %s", len(orphans),
                        ", ".join(orphans[:5]) + (" …" if len(orphans) > 5 else ""))
            self.store.commit(drop=orphans)
        self.registry.clear_bulk()

    def reconcile(self) -> None:
        """Make the registry agree with the store after a crash between writing one and the other
        (the store commit of a publish comes before its registry updates): a twin the store holds
        at a version whose report or namespace claim never reached the registry gets them now, from
        the data the store holds; versions a crash left unpruned are pruned. (The other way round,
        a version archived whose commit never came, is already harmless: see :meth:`versions`.)"""
        for twin_id, entry in self._entries.items():
            self._reconcile_twin(twin_id, entry)

    def _reconcile_twin(self, twin_id: str, entry: catalog.Entry) -> None:
        twin = self.registry.twin(twin_id)
        if twin is None:
            return
        stale_report = self.registry.report_version(twin_id) != entry.version
        unclaimed = not twin.namespaces
        if not (stale_report or unclaimed):
            return
        triples = self.store.graph_triples(entry.graph)
        if unclaimed:
            self.registry.claim(twin_id, authority.derive(triples))
        if stale_report:
            report = validate(triples, "all", profiles=self.pipeline.profiles)
            self.registry.save_report(twin_id, entry.version, report.to_dict())
        self.registry.prune(twin_id)
        log.warning("reconciled twin %r with the store after an interrupted write (version %d%s%s)", twin_id,
                    entry.version, ", report again" if stale_report else "", ", namespaces" if unclaimed else "")

    def _settle(self, twin_id: str) -> None:
        """After a write whose outcome is unknown (a remote store that did not answer in time):
        take the store's word for the twin's state, and bring the registry in line with it."""
        try:
            entry = catalog.read(self.store, twin_id)
            if entry is None:
                self._entries.pop(twin_id, None)
            else:
                self._entries[twin_id] = entry
                self._reconcile_twin(twin_id, entry)
        except errors.Error:
            log.warning("the store could not say whether a write to twin %r was applied; the next start "
                        "reads its state again", twin_id)

    def _refresh(self, twin_id: str) -> None:
        """Infer and validate a stored twin again under the current standard."""
        entry = catalog.read(self.store, twin_id)
        if entry is None:
            return
        triples = self.store.graph_triples(entry.graph)
        inferred = self.pipeline.reasoner.infer(triples)
        report = validate(triples, "all", profiles=self.pipeline.profiles)
        entry.inferred = len(inferred)
        entry.warnings = report.warnings
        entry.violations = report.violations
        entry.profile = standard.profile_version_iri("core", report.version)
        self.store.commit(replace={entry.inferred_graph: inferred},
                          delete_subjects={standard.CATALOG_GRAPH: entry.subjects()},
                          insert={standard.CATALOG_GRAPH: entry.to_triples()})
        self._figures_changed([twin_id])
        self.registry.save_report(twin_id, entry.version, report.to_dict())

    # --- twins: reads -------------------------------------------------------------------------

    def claims(self) -> authority.Claims:
        """Every twin's namespaces and the node's own, for the authority rule."""
        return authority.Claims.build(self.registry.claims(), authority.reserved(self.config.public_url))

    def entry(self, twin_id: str) -> catalog.Entry | None:
        return self._entries.get(twin_id)

    def entries(self) -> dict[str, catalog.Entry]:
        return dict(self._entries)

    @property
    def entries_version(self) -> int:
        """Moves whenever an entry changes (:class:`ecgraph.publish.catalog.Entries`)."""
        return self._entries.version

    def twin_source(self, twin_id: str) -> dict | None:
        """Where a twin that stays at home lives and how its refreshes went (None: uploaded here)."""
        source = self.registry.source(twin_id)
        return sources.describe(source["url"], source["interval"], source["state"]) if source else None

    def twin_info(self, twin_id: str, twin: Twin | None = None) -> dict:
        """A twin's registration and catalog entry (404 when it has neither)."""
        if not valid_twin_id(twin_id):
            raise errors.NotFound(f"{twin_id!r} is not a twin id")
        twin = twin or self.registry.twin(twin_id)
        entry = self._entries.get(twin_id)
        if twin is None and entry is None:
            raise errors.NotFound(f"no twin {twin_id!r} on this node")
        info: dict[str, Any] = {"id": twin_id, "graph": standard.twin_graph(twin_id), "registered": twin is not None}
        if twin is not None:
            info.update(twin.to_dict())
        info["published"] = entry is not None
        source = self.twin_source(twin_id)
        if source is not None:
            info["source"] = source
        if entry is not None:
            info.update(entry.to_dict())
            info["etag"] = etag(entry)
        return info

    def twins(self, offset: int = 0, limit: int = 1000) -> tuple[int, list[dict]]:
        """Every twin (registered or published), by id: the total and one page."""
        registered = {t.id: t for t in self.registry.twins()}
        ids = sorted(set(registered) | set(self._entries))
        return len(ids), [self.twin_info(i, registered.get(i)) for i in ids[offset:offset + limit]]

    def titles(self) -> list[tuple[str, str, catalog.Entry | None]]:
        """(id, registered title, catalog entry) of every registered twin, for pages."""
        return [(t.id, t.title, self._entries.get(t.id)) for t in self.registry.twins()]

    def recent_titles(self, limit: int) -> tuple[list[tuple[str, str, catalog.Entry | None]], int]:
        """:meth:`titles` of the ``limit`` twins published here most recently (the newest first; then
        twins registered and not published yet), and how many twins are registered: without
        reading every registration (10,000 of them took the home page 240 ms)."""
        registered = self.registry.count_twins()
        entries = self._entries
        newest = sorted(list(entries.values()), key=lambda e: (e.modified, e.id), reverse=True)
        out: list[tuple[str, str, catalog.Entry | None]] = []
        for entry in newest[:limit * 10]:
            twin = self.registry.twin(entry.id)
            if twin is not None:  # a harvested copy is in the catalog, not in the registry
                out.append((twin.id, twin.title, entry))
                if len(out) == limit:
                    return out, registered
        # a node with few twins of its own (or mostly copies): read every registration
        titles = {t[0]: t for t in self.titles()}
        published = [titles[e.id] for e in newest if e.id in titles]
        return (published + [t for t in titles.values() if t[2] is None])[:limit], registered

    def twin_data(self, twin_id: str, version: int | None = None) -> list[ox.Triple]:
        if version is None:
            entry = self._entries.get(twin_id)
            if entry is None:
                raise errors.NotFound(f"twin {twin_id!r} has no published data")
            return self.store.graph_triples(entry.graph)
        data = self.registry.version_data(twin_id, version)
        if data is None:
            raise errors.NotFound(f"twin {twin_id!r} has no archived version {version}")
        return [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]

    def versions(self, twin_id: str) -> list[dict]:
        """The current version first, then the archived ones, newest first."""
        out = []
        entry = self._entries.get(twin_id)
        if entry is not None:
            out.append({**entry.to_dict(), "current": True})
        archived = [v for v in self.registry.versions(twin_id)
                    # the current version is archived too by a publish that crashed before its commit
                    if entry is None or v.version != entry.version]
        for v in archived[:self.registry.keep_versions]:  # one more is kept until the next prune
            out.append({**v.metadata, "version": v.version, "current": False, "archived": v.archived})
        return out

    def report(self, twin_id: str) -> dict:
        saved = self.registry.report(twin_id)
        if saved is None:
            raise errors.NotFound(f"twin {twin_id!r} has no report yet: publish it first")
        return saved

    def catalog_triples(self) -> list[ox.Triple]:
        """The node's DCAT catalog: its twins (with the sources of those that stay at home), and the
        copies it harvested with their origin; namespace claims and conflicts with peers' twins."""
        return [t for graph in self.CATALOG_GRAPHS for t in self.store.graph_triples(graph)] + self._catalog_made()

    #: the stored graphs the catalog is read from
    CATALOG_GRAPHS = (standard.CATALOG_GRAPH, NETWORK_GRAPH)

    def _catalog_made(self) -> list[ox.Triple]:
        """What the catalog says that is not stored: sourced twins' refresh state, the claims of
        twins registered and not published (from the registry, when asked)."""
        return sources.catalog_triples(self) + self.network.catalog_triples()

    def catalog_resources(self, made: Iterable[ox.Triple] = ()) -> catalog_pages.Resources:
        """:meth:`catalog_triples` and ``made`` (what the request adds: the dump's listing) by
        resource, each read only when asked (:mod:`ecgraph.publish.catalog_pages`). The index of
        the stored graphs' subjects is kept until the next commit."""
        generation = self.generation.value
        kept = self._catalog_index
        if kept is not None and kept[0] == generation and not generation & 1:
            index = kept[1]
        else:
            index = catalog_pages.index(self.store, self.CATALOG_GRAPHS)
            if not generation & 1 and self.generation.value == generation:  # no write moved under it
                self._catalog_index = (generation, index)
        if index is None:  # blank nodes there: read whole
            return catalog_pages.of_triples(self.catalog_triples() + list(made))
        return catalog_pages.stored(self.store, self.CATALOG_GRAPHS, index, self._catalog_made() + list(made))

    def has_graph(self, graph: str) -> bool:
        return self.store.has_graph(graph)

    # --- twins: registration and tokens -------------------------------------------------------

    def register(self, twin_id: str, title: str | None = None, namespaces: list[str] | None = None, *,
                 caller: Caller = LOCAL) -> str:
        """Register a twin (the admin) and return its publisher token, shown once. ``namespaces``
        (optional) are the IRI prefixes it speaks for; without them, its first accepted upload
        fixes them."""
        self.require_admin(caller, "registering a twin")
        if not valid_twin_id(twin_id):
            raise errors.BadRequest(f"{twin_id!r} is not a valid twin id: use a slug, [a-z0-9][a-z0-9-]{{0,62}}")
        namespaces = sorted(set(namespaces or ()))
        with self._twin_lock(twin_id), self._write_lock:
            authority.check_claim(twin_id, namespaces, self.claims())
            try:
                return self.registry.register(twin_id, title or twin_id, namespaces)
            except KeyError:
                raise errors.Conflict(f"twin {twin_id!r} is already registered") from None

    def rotate_token(self, twin_id: str, *, caller: Caller) -> str:
        """A new publisher token (the old one stops working at once); the twin's own token or the admin."""
        twin = self.registry.twin(twin_id)
        self._writer(caller, twin_id, twin)
        self._registered(twin_id, twin)
        return self.registry.rotate_token(twin_id)

    def revoke_token(self, twin_id: str, *, caller: Caller) -> None:
        """No publisher token at all: only the admin writes the twin until a new one is issued."""
        twin = self.registry.twin(twin_id)
        self._writer(caller, twin_id, twin)
        self._registered(twin_id, twin)
        self.registry.revoke_token(twin_id)

    # --- twins: publishing --------------------------------------------------------------------

    def upload_for(self, twin_id: str, data: bytes, *, media_type: str | None = None,
                   filename: str | None = None, format_name: str | None = None,
                   path: str | None = None) -> Upload:
        return Upload(data=data, media_type=media_type, filename=filename, format_name=format_name,
                      twin_id=twin_id, base_iri=standard.twin_graph(twin_id), path=path,
                      max_bytes=self.config.max_upload_bytes, max_triples=self.config.max_triples)

    def _in_workers(self, pool: WorkerPool | None, request: Any, local: Callable[[], Any], *, what: str,
                    client: str = "", timeout: float | None = None, stored: bool = True,
                    advice: str = "") -> Any:
        """Run ``request`` in ``pool`` (or ``local()`` without workers), saying what failed in the
        words of the operation: ``what`` ("preparing the upload", "validation", "the query")."""
        if pool is None:
            return local()
        limit = pool.timeout if timeout is None else timeout
        nothing = "; nothing was stored" if stored else ""
        try:
            return pool.run(request, timeout=timeout, client=client)
        except TaskTimeout as exc:
            raise TaskTimeout(f"{what} ran past the {limit:g} s time limit and was stopped{nothing}{advice}",
                              title=exc.title) from None
        except MemoryCeiling as exc:
            raise MemoryCeiling(f"{exc}{nothing}{advice}; the ceiling is the node's --query-memory-mb "
                                "(ECGRAPH_QUERY_MEMORY_MB)") from None
        except PoolBusy as exc:
            raise PoolBusy(f"{exc}{nothing}; try again shortly") from None
        except WorkerDied as exc:
            raise WorkerDied(f"{what} failed: {exc}{nothing}") from None

    def prepare(self, upload: Upload, *, features_later: bool = False) -> Prepared:
        """The upload parsed, validated and inferred, in a worker. ``features_later``: that worker
        then extracts the twin's discovery features from the triples it holds, while the caller
        commits (a :class:`~concurrent.futures.Future` in ``Prepared.features``)."""
        answer = self._in_workers(self.pipeline_pool, ("publish" if features_later else "prepare", upload),
                                  lambda: self.pipeline.prepare(upload), what="preparing the upload")
        if isinstance(answer, Answered):
            answer.value.features = answer.later
            return answer.value
        return answer

    @staticmethod
    def _expect(entry: catalog.Entry | None, precondition: Precondition | None) -> None:
        if precondition is None:
            return
        current = etag(entry)
        if precondition.if_none_match_any and entry is not None:
            raise PreconditionFailed("the twin already has data (If-None-Match: *)", current)
        wanted = precondition.if_match
        if wanted is not None:
            if entry is None:
                raise PreconditionFailed("the twin has no data to match (If-Match)", None)
            if "*" not in wanted and current not in wanted:
                raise PreconditionFailed(f"the twin's current data is {current}, not what If-Match names; "
                                         "read it again and retry", current)

    def publish(self, twin_id: str, upload: Upload, *, caller: Caller = LOCAL, merge: bool = False,
                precondition: Precondition | None = None, change: str | None = None) -> Published:
        """:meth:`_publish`, with one log line for what became of it (``publish`` or ``reject``)."""
        try:
            published = self._publish(twin_id, upload, caller=caller, merge=merge, precondition=precondition,
                                       change=change)
        except errors.Error as exc:
            logs.event("reject", f"refused an upload to twin {twin_id}: {exc.title}", logging.WARNING,
                       twin=twin_id, status=exc.status, reason=exc.title, detail=str(exc)[:500], merge=merge)
            raise
        entry = published.entry
        logs.event("publish", f"published twin {twin_id} version {entry.version}", twin=twin_id,
                   version=entry.version, triples=entry.triples, inferred=entry.inferred, warnings=entry.warnings,
                   created=published.created, merge=merge, by=entry.published_by)
        return published

    def _publish(self, twin_id: str, upload: Upload, *, caller: Caller = LOCAL, merge: bool = False,
                 precondition: Precondition | None = None, change: str | None = None) -> Published:
        """Replace a registered twin's data (or, with ``merge``, add to it): prepare, check who
        speaks for what, archive what it replaces, commit atomically. The twin's lock is held from
        reading its current state to the commit, so concurrent writes never overwrite each other;
        the registration is read once, under it."""
        with self._twin_lock(twin_id):
            twin = self.registry.twin(twin_id)
            admin = self._writer(caller, twin_id, twin)
            twin = self._registered(twin_id, twin)
            previous = self._entries.get(twin_id)
            self._expect(previous, precondition)
            upload.namespaces = twin.namespaces or None
            # The twin's current data (for the archive) and inferences (for the commit's
            # difference) are read while the worker prepares the upload, on the other core.
            free_writes = self._free_writes
            current: Future | None = None
            if previous is not None:
                before = previous
                current = on_thread(lambda: self._read_current(before), "ecgraph-read-current")
            if merge and current is not None:
                upload.merge_ntriples = current.result()[0]
            started = time.perf_counter()
            prepared = self.prepare(upload, features_later=True)
            old, old_inferred, packed = current.result() if current is not None else (None, None, b"")
            prepared.timings["prepare"] = time.perf_counter() - started  # with the hand-off to the worker
            started = time.perf_counter()
            with self._write_lock:
                claims = self.claims()
                if not twin.namespaces:
                    authority.check_claim(twin_id, prepared.namespaces, claims)
                authority.refuse_foreign(twin_id, prepared.outside, claims)
                inferred = authority.keep_inferred(prepared.inferred_ntriples, twin_id, prepared.namespaces, claims)
                if previous is not None and old is not None:
                    self.registry.archive(twin_id, previous.version, previous.to_dict(), packed)
                version = max(previous.version if previous else 0, twin.last_archived) + 1
                stamp = now()
                entry = catalog.Entry(
                    id=twin_id, title=twin.title, version=version,
                    issued=previous.issued if previous else stamp, modified=stamp,
                    triples=prepared.triples, inferred=_line_count(inferred),
                    content_hash=prepared.content_hash, format=prepared.format,
                    profile=standard.profile_version_iri("core", prepared.version), warnings=prepared.warnings,
                    published_by=catalog.publisher_agent(twin_id, admin), license=prepared.license,
                    namespaces=list(twin.namespaces or prepared.namespaces))
                try:
                    self.store.commit(
                        replace={entry.graph: prepared.data_ntriples, entry.inferred_graph: inferred},
                        known=self._known(previous, old, old_inferred, free_writes),
                        delete_subjects={standard.CATALOG_GRAPH: entry.subjects()},
                        insert={standard.CATALOG_GRAPH: entry.to_triples() + [entry.listing()]},
                        meanwhile=lambda: self._figures_read([twin_id]))
                except errors.Unavailable:  # a remote store's answer did not come: was it applied?
                    self._settle(twin_id)
                    raise
                self._entries[twin_id] = entry
                self.registry.record_change(twin_id, version, prepared.content_hash,
                                            change or ("replaced" if previous else "published"))
                self._figures_hold()
                if not twin.namespaces:
                    self.registry.claim(twin_id, prepared.namespaces)
                self.registry.prune(twin_id)
                self.registry.save_report(twin_id, version, prepared.report)
                # the worker's features hold for what is stored unless inferences about others were dropped
                self._index(entry, prepared.data_ntriples, inferred,
                            prepared.features if inferred == prepared.inferred_ntriples else None)
            prepared.timings["commit"] = time.perf_counter() - started  # and what the node keeps beside the store
        return Published(entry=entry, created=previous is None, report=prepared.report, timings=prepared.timings)

    def _read_current(self, entry: catalog.Entry) -> tuple[str, str, bytes]:
        """A twin's data and inferences as stored, and its data packed for the archive."""
        old = self.store.graph_ntriples(entry.graph)
        return old, self.store.graph_ntriples(entry.inferred_graph), self.registry.pack(old)

    def _known(self, previous: catalog.Entry | None, old: str | None, old_inferred: str | None,
               free_writes: int) -> dict[str, str]:
        """What the commit may take as the twin's graphs' current text (read under the twin's lock,
        before the write lock): nothing when an admin's SPARQL update, which holds neither lock,
        was applied since (the commit then reads the graphs itself)."""
        if previous is None or old is None or old_inferred is None or free_writes != self._free_writes:
            return {}
        return {previous.graph: old, previous.inferred_graph: old_inferred}

    def publish_from_url(self, twin_id: str, url: str, *, caller: Caller = LOCAL) -> tuple[Published, str]:
        """Publish a twin from a URL the node fetches (under the URL-safety rules); returns what was
        published and the URL it came from after redirects."""
        twin = self.registry.twin(twin_id)
        self._writer(caller, twin_id, twin)  # before reaching out for anyone
        self._registered(twin_id, twin)
        fetched = fetch(url, self.fetch_policy)
        upload = self.upload_for(twin_id, fetched.data, media_type=fetched.media_type,
                                 filename=Path(fetched.url.split("?", 1)[0]).name)
        return self.publish(twin_id, upload, caller=caller), fetched.url

    def bulk_publish(self, items: list[tuple[str, Upload]], *, jobs: int = 2, batch: int = 200,
                     progress: Callable[[int], None] | None = None) -> dict[str, object]:
        """Publish many registered twins that have no data yet, fast (the command line, as the
        admin): prepared (parse, validate, infer) in ``jobs`` worker processes, ``batch`` twins at
        a time, each batch's quads spooled to a file in the node's tmp directory; then every twin's
        quads written with ONE call of the store's bulk loader (:meth:`GraphStore.bulk_load_file`),
        then their catalog entries, changes and reports. One call rather than one
        a batch: the engine then ingests its files once, and the store comes out laid out as its
        own loader lays it out (loaded in batches, the heavy queries read up to a fifth slower).

        Not atomic per twin, and nothing is published before the end: the load marks its graphs
        before writing them and writes the catalog entries last, so an interrupted bulk load leaves
        every twin whole or absent (the next start removes what it marked, and the spool with the
        tmp directory); run it again.

        Returns each twin's :class:`Published`, or the exception that refused it.
        """
        results: dict[str, object] = {}
        todo = []
        registered = self.registry.twins_of([twin_id for twin_id, _ in items])
        for twin_id, upload in items:
            twin = registered.get(twin_id)
            if twin is None:
                results[twin_id] = errors.NotFound(f"twin {twin_id!r} is not registered on this node")
            elif twin_id in self._entries:
                results[twin_id] = errors.Conflict(f"twin {twin_id!r} already has data; publish it normally")
            else:
                upload.namespaces = twin.namespaces or None
                upload.features = True  # two workers extract them beside each other, not the one index thread
                todo.append((twin_id, upload))
        pool = pipeline_module.workers("ecgraph-bulk", jobs, self.config.publish_timeout).start()
        spool_path = self.tmp_dir / f"bulk-{secrets.token_hex(8)}.nq"
        load = _BulkLoad(stamp=now())
        try:
            # the whole load under the write lock: each twin's namespaces are checked against the
            # claims of every twin spooled before it, which the registry records only at the end
            with self._write_lock:
                load.claims = self.claims()
                with ThreadPoolExecutor(max_workers=jobs) as executor, \
                        open(spool_path, "w", encoding="utf-8", newline="\n") as spool:
                    window = jobs * batch  # prepared twins waiting to be spooled stay bounded
                    futures: list = []
                    position = 0
                    while position < len(todo) or futures:
                        while position < len(todo) and len(futures) < window:
                            twin_id, upload = todo[position]
                            futures.append((twin_id, executor.submit(pool.run, ("prepare", upload))))
                            position += 1
                        ready, futures = futures[:batch], futures[batch:]
                        prepared = {}
                        for twin_id, future in ready:
                            try:
                                prepared[twin_id] = future.result()
                            except Exception as exc:  # refused: reported per twin
                                results[twin_id] = exc
                        results.update(self._bulk_spool(prepared, load, spool))
                        if progress is not None:
                            progress(len(ready))
                pool.close()  # its workers' memory back before the load
                results.update(self._bulk_write(spool_path, load))
        finally:
            pool.close()
            spool_path.unlink(missing_ok=True)
        # Bulk-loaded files overlap until compacted: compacting once halves query times after it.
        self.store.optimize()
        return results

    def _bulk_spool(self, prepared: dict[str, Prepared], load: _BulkLoad, spool) -> dict[str, object]:
        """One batch of prepared twins (under the write lock): checked against the claims, their
        catalog entries made, their quads written to ``spool`` and their discovery index queued."""
        results: dict[str, object] = {}
        registered = self.registry.twins_of(list(prepared))  # under the lock: none unregistered since
        for twin_id, p in prepared.items():
            twin = self._registered(twin_id, registered.get(twin_id))
            try:
                if not twin.namespaces:
                    authority.check_claim(twin_id, p.namespaces, load.claims)
                authority.refuse_foreign(twin_id, p.outside, load.claims)
            except (authority.ClaimConflict, authority.NotAuthoritative) as exc:
                results[twin_id] = exc
                continue
            if not twin.namespaces:
                load.claims.add(twin_id, p.namespaces)
            inferred = authority.keep_inferred(p.inferred_ntriples, twin_id, p.namespaces, load.claims)
            entry = catalog.Entry(
                id=twin_id, title=twin.title, version=twin.last_archived + 1, issued=load.stamp,
                modified=load.stamp, triples=p.triples, inferred=_line_count(inferred),
                content_hash=p.content_hash, format=p.format,
                profile=standard.profile_version_iri("core", p.version), warnings=p.warnings,
                published_by=catalog.publisher_agent(twin_id, True), license=p.license,
                namespaces=list(twin.namespaces or p.namespaces))
            load.entries[twin_id] = entry
            load.namespaces[twin_id] = p.namespaces
            load.reports[twin_id] = (p.report, p.timings)
            for text, graph in ((p.data_ntriples, entry.graph), (inferred, entry.inferred_graph)):
                if text:  # N-Triples lines end in " ." and a literal's newline is escaped: one replace
                    spool.write((text.rstrip("\n") + "\n").replace(" .\n", f" <{graph}> .\n"))
            # Indexed now, behind, as a publish is (its text is not held to the end): should the load
            # not finish, the next start's sync removes the twins that were never published.
            # The worker's features hold for what is stored unless inferences about others were dropped.
            self._index(entry, p.data_ntriples, inferred, p.features if inferred == p.inferred_ntriples else None)
        return results

    def _bulk_write(self, spool_path: Path, load: _BulkLoad) -> dict[str, object]:
        """Every spooled twin into the store with one bulk load, then its catalog entry, change
        and report (under the write lock)."""
        entries = load.entries
        if not entries:
            return {}
        graphs = [g for e in entries.values() for g in (e.graph, e.inferred_graph)]
        self.registry.mark_bulk(graphs)  # before writing: an interruption removes exactly these
        log.info("bulk load: writing %d twins with one load of %s", len(entries), spool_path.name)
        self.store.bulk_load_file(spool_path)
        # The catalog entries in commits of BULK_CATALOG_TWINS: the engine holds a whole write in
        # memory, and 10,000 twins' entries are about 265,000 quads. A twin whose entry is written
        # is whole (its data is in); an interruption leaves the others to the next start's cleanup.
        listed = list(entries.values())
        for start in range(0, len(listed), BULK_CATALOG_TWINS):
            catalog_triples = []
            for entry in listed[start:start + BULK_CATALOG_TWINS]:
                catalog_triples.extend(entry.to_triples())
                catalog_triples.append(entry.listing())
            self.store.commit(insert={standard.CATALOG_GRAPH: catalog_triples})
        self._entries.update(entries)
        self._figures_changed(list(entries))
        # namespaces claimed (a no-op where they were fixed) and changes recorded: one transaction
        self.registry.record_published([(twin_id, load.namespaces[twin_id], entry.version, entry.content_hash)
                                        for twin_id, entry in entries.items()])
        self.registry.clear_bulk(graphs)
        self.registry.save_reports([(twin_id, entry.version, load.reports[twin_id][0])
                                    for twin_id, entry in entries.items()])
        return {twin_id: Published(entry=entry, created=True, report=load.reports[twin_id][0],
                                   timings=load.reports[twin_id][1]) for twin_id, entry in entries.items()}

    def unpublish(self, twin_id: str, *, caller: Caller = LOCAL,
                  precondition: Precondition | None = None) -> catalog.Entry:
        """Remove a twin's data from the graph (its registration stays, its versions stay in the
        archive); the twin's own token or the admin."""
        with self._twin_lock(twin_id):
            self._writer(caller, twin_id, self.registry.twin(twin_id))
            return self._unpublish(twin_id, precondition)

    def _unpublish(self, twin_id: str, precondition: Precondition | None = None) -> catalog.Entry:
        with self._write_lock:
            entry = self._entries.get(twin_id)
            if entry is None:
                raise errors.NotFound(f"twin {twin_id!r} has no published data")
            self._expect(entry, precondition)
            old = self.store.graph_ntriples(entry.graph)
            self.registry.archive(twin_id, entry.version, entry.to_dict(), self.registry.pack(old))
            self.store.commit(drop=[entry.graph, entry.inferred_graph],
                              delete_subjects={standard.CATALOG_GRAPH: entry.subjects()},
                              delete={standard.CATALOG_GRAPH: [entry.listing()]})
            self._entries.pop(twin_id, None)
            self.registry.record_change(twin_id, entry.version, entry.content_hash, "deleted")
            self._figures_changed([], gone=[twin_id])
            self.registry.prune(twin_id)
            self._unindex(twin_id)
        return entry

    def delete(self, twin_id: str, *, caller: Caller = LOCAL) -> None:
        """Remove a twin (the admin only, who creates registrations): its data, its registration and
        token, its namespaces and its history. Writes to the twin already in flight finish first
        (they hold its lock); those that come after find no twin. Never half-registered."""
        self.require_admin(caller, "deleting a twin's registration (a publisher unpublishes its data with "
                                   "DELETE /api/twins/<id>/data)")
        with self._twin_lock(twin_id):
            if self.registry.twin(twin_id) is None and twin_id not in self._entries:
                raise errors.NotFound(f"twin {twin_id!r} is not registered on this node")
            with self._write_lock:
                if twin_id in self._entries:
                    self._unpublish(twin_id)
                self.registry.unregister(twin_id)

    # --- open data: the bulk dump (issue 16) --------------------------------------------------

    @property
    def dump_dir(self) -> Path:
        return self.data_dir / "dumps"

    def dump(self, wait: float = 0.0) -> dump_module.Dump:
        """The node's bulk dump (N-Quads, gzipped): the last one if nothing was published,
        unpublished or erased since. Else a serving node begins the next version in a process of
        its own, from a snapshot of the store (no request makes it, and writes never wait for it:
        at 10,000 twins it takes two minutes), and gives the last one meanwhile, after waiting up
        to ``wait`` seconds for the new one (at most :data:`DUMP_WAITERS` requests wait at once;
        the others get the last one at once). Before the first is made: 503. A node without
        workers (a command, a test) writes it here and now, writes waiting for it."""
        if not self._background_dumps:
            return self._write_dump()
        current = dump_module.read(self.dump_dir)
        if current is not None and current.state == self._dump_state():
            return current
        done = self._begin_dump()
        if wait > 0 and self._dump_waiters.acquire(blocking=False):
            try:
                done.wait(wait)
            finally:
                self._dump_waiters.release()
            current = dump_module.read(self.dump_dir)
        if current is None:
            raise errors.Unavailable(f"this node has no bulk dump ready yet: it is writing one "
                                     f"({len(self._entries):,} twins); ask again in a minute", retry_after=60)
        return current

    def dump_pending(self) -> bool:
        """Whether a newer dump than the last one is being made."""
        thread = self._dump_thread
        return thread is not None and thread.is_alive()

    def dump_status(self, made: dump_module.Dump) -> str:
        """``current`` (dump ``made`` holds the node as it is), ``updating`` (a newer one is being
        made) or ``outdated`` (the last attempt at a newer one failed; the next is begun later)."""
        if not self._background_dumps or made.state == self._dump_state():
            return "current"
        return "updating" if self.dump_pending() else "outdated"

    def _dump_job(self) -> tuple[str, dict[str, catalog.Entry], dict[str, dict]]:
        """The state the dump is made of (a digest), the twins and the harvested copies."""
        entries = dict(self._entries)
        # the copies harvested from peers (those of a release this node cannot judge left out)
        copies = {c["graph"]: c for peer in self.registry.peers()
                  for c in self.registry.harvested(peer["id"]).values()
                  if c.get("graph") and not c.get("unsupported")}
        return dump_module.state_of(entries, self.config.dump_personal_data, copies), entries, copies

    def _dump_state(self) -> str:
        """The dump's state as of now, taken once per generation (a request for the dump at
        10,000 twins must not digest them all again)."""
        generation = self.generation.value
        kept = self._dump_state_at
        if kept is not None and kept[0] == generation and not generation & 1:
            return kept[1]
        state = self._dump_job()[0]
        if not generation & 1 and self.generation.value == generation:
            self._dump_state_at = (generation, state)
        return state

    def _next_dump_version(self, current: dump_module.Dump | None) -> int:
        return max(current.version if current else 0, int(self.registry.setting("dump_version") or 0)) + 1

    def _write_dump(self) -> dump_module.Dump:
        """The dump made here and now, under the write lock (a node without workers)."""
        with self._write_lock:
            state, entries, copies = self._dump_job()
            current = dump_module.read(self.dump_dir)
            if current is not None and current.state == state:
                return current
            version = self._next_dump_version(current)
            made = dump_module.write(self.dump_dir, self.store, entries, version=version, state=state,
                                     issued=now(), personal_data=self.config.dump_personal_data, copies=copies,
                                     copies_graph=NETWORK_GRAPH)
            self.registry.set_setting("dump_version", str(version))
            return made

    def _begin_dump(self) -> threading.Event:
        """The making of the next dump (one at a time): set once it is served, or has failed."""
        with self._dump_guard:
            idle = self._dump_thread is None or not self._dump_thread.is_alive()
            if idle and time.monotonic() - self._dump_failed_at >= DUMP_RETRY_SECONDS:
                self._dump_done = threading.Event()
                self._dump_thread = threading.Thread(target=self._make_dump, args=(self._dump_done,),
                                                     name="ecgraph-dump", daemon=True)
                self._dump_thread.start()
            return self._dump_done

    def _make_dump(self, done: threading.Event) -> None:
        """Take the state under the write lock, write the dump in a worker from a snapshot of that
        generation, and serve it, unless an erasure came in between (its data must not be
        served)."""
        job: dump_module.Job | None = None
        try:
            for _ in range(3):
                with self._write_lock:
                    state, entries, copies = self._dump_job()
                    current = dump_module.read(self.dump_dir)
                    if current is not None and current.state == state:
                        return
                    job = dump_module.Job(str(self.dump_dir), entries, copies, self._next_dump_version(current),
                                          state, now(), self.config.dump_personal_data, NETWORK_GRAPH,
                                          answer_cache.stable(self.generation.value))
                    epoch = self._dump_epoch
                made = self._run_dump(job)
                if made is None:
                    continue  # the store moved on before the worker opened it: take the state again
                with self._write_lock:
                    if epoch != self._dump_epoch or self._closing.is_set():
                        return
                    dump_module.install(self.dump_dir, made)
                    self.registry.set_setting("dump_version", str(made.version))
                    job = None
                log.info("bulk dump %s written: %s twins, %s quads, %s bytes", made.version, f"{made.twins:,}",
                         f"{made.quads:,}", f"{made.bytes:,}")
                return
            log.warning("the store moved on each time the bulk dump began; the next request for it tries again")
        except Exception as exc:
            self._dump_failed_at = time.monotonic()
            if not self._closing.is_set():
                log.error("the bulk dump could not be written (tried again in %d s at the earliest): %s",
                          DUMP_RETRY_SECONDS, getattr(exc, "detail", None) or exc)
        finally:
            if job is not None:  # not served: nothing of it stays
                try:
                    (self.dump_dir / f"ecgraph-dump-{job.version}.nq.gz.partial").unlink(missing_ok=True)
                except OSError as exc:
                    log.warning("cannot remove the unfinished bulk dump: %s", exc)
            done.set()

    def _run_dump(self, job: dump_module.Job) -> dump_module.Dump | None:
        pool = WorkerPool(dump_module.init_worker, (self.store.snapshot_spec(), self.generation),
                          dump_module.handle, size=1, timeout=self.config.dump_timeout, name="ecgraph-dump",
                          isolate_network=not self.store.remote)
        with self._dump_guard:
            if self._closing.is_set():
                return None
            self._dump_pool = pool
        try:
            pool.start()
            return pool.run(job, timeout=self.config.dump_timeout)
        finally:
            with self._dump_guard:
                self._dump_pool = None
            pool.close()

    def dump_file(self, made: dump_module.Dump) -> Path:
        return self.dump_dir / made.file

    def dump_description(self, made: dump_module.Dump, base_url: str) -> list[ox.Triple]:
        """The DCAT description of dump ``made`` (version, size, checksum, licences)."""
        return dump_module.description(made, base_url.rstrip("/"))

    # --- personal data: erasure (issue 16) ------------------------------------------------------

    def erase(self, twin_id: str, target: str, *, caller: Caller = LOCAL) -> Erasure:
        """Erase a person's data from a twin: from its current data and from every archived
        version (the twin's own token or the admin). ``target`` is the IRI of a person, household
        or contact point, or a value of one (a name, an e-mail address, a telephone number); see
        :func:`ecgraph.publish.personal.erase` for what goes. The current data is rewritten as a
        new version without archiving the one it replaces (that would keep what is erased); it is
        inferred and validated again like a twin after a new release (a twin the erasure leaves
        non-conformant stays served, flagged "fails"). The bulk dump is discarded, the store
        compacted and the registry's freed pages zeroed, so no copy stays on disk.

        Hooks for what comes after the web and network issues merge: pages read the same data,
        so they show nothing erased; :meth:`_erased` is where the change stream tells peers to
        erase their harvested copies."""
        if not target or not target.strip():
            raise errors.BadRequest("say what to erase: the IRI of a person, household or contact point, or a "
                                    "value of one (a name, an e-mail address, a telephone number)")
        with self._twin_lock(twin_id):
            twin = self.registry.twin(twin_id)
            self._writer(caller, twin_id, twin)
            self._registered(twin_id, twin)

            def scrub(data: bytes) -> tuple[bytes, int]:
                triples = [q.triple for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
                kept, removed = personal.erase(triples, target)
                return ((formats.ntriples(kept) + "\n").encode() if removed else data), removed

            with self._write_lock:
                entry = self._entries.get(twin_id)
                current = 0
                if entry is not None:
                    kept, current = personal.erase(self.store.graph_triples(entry.graph), target)
                versions = self.registry.rewrite_versions(twin_id, scrub)
                if not current and not versions:
                    raise errors.NotFound(f"twin {twin_id!r} holds no personal data matching {target!r} in its "
                                          "current data or its archived versions; nothing was changed")
                if entry is not None and current:
                    report = validate(kept, "all", profiles=self.pipeline.profiles)
                    inferred = authority.keep_inferred(formats.ntriples(self.pipeline.reasoner.infer(kept)), twin_id,
                                                       twin.namespaces if twin else [], self.claims())
                    data = formats.ntriples(kept)
                    new = catalog.Entry(**{**entry.__dict__})
                    new.version = max(entry.version, twin.last_archived if twin else 0) + 1
                    new.modified = now()
                    new.triples = len(kept)
                    new.inferred = inferred.count("\n") + 1 if inferred else 0
                    new.content_hash = pipeline_module.content_hash((data + "\n").encode())
                    new.warnings, new.violations = report.warnings, report.violations
                    self.store.commit(replace={new.graph: data, new.inferred_graph: inferred},
                                      delete_subjects={standard.CATALOG_GRAPH: entry.subjects()},
                                      insert={standard.CATALOG_GRAPH: new.to_triples()})
                    self._entries[twin_id] = new
                    self.registry.save_report(twin_id, new.version, report.to_dict())
                    entry = new
                    self._index(new, data, inferred)  # discovery keeps contact points and lessons' texts
                    self.discovery.scrub()
                dump_module.discard(self.dump_dir)
                self._dump_epoch += 1
                self.store.optimize()
        erasure = Erasure(twin=twin_id, current=current, versions=versions,
                          version=entry.version if entry is not None else None)
        self._erased(erasure, target, entry.content_hash if entry is not None else None)
        return erasure

    def _erased(self, erasure: Erasure, target: str, content_hash: str | None) -> None:
        """An erasure is done on this node: the change stream announces it (``erased``, with the
        digests of the erased value, never the value), so that every peer holding a harvested copy
        of the twin erases the same data (:meth:`ecgraph.network.harvest.Harvester.erase_copy`)."""
        self.registry.record_erasure(erasure.twin, erasure.version, content_hash, personal.erasure_digests(target))

    # --- validation ---------------------------------------------------------------------------

    def validate(self, upload: Upload, *, caller: Caller = LOCAL) -> Report:
        """The vendor validator: a report, nothing stored, in the validator's own workers."""
        return self._in_workers(self.validation_pool, ("report", upload), lambda: self.pipeline.report(upload),
                                what="validation", client=caller.address, stored=False)

    # --- queries ------------------------------------------------------------------------------

    def inspect(self, text: str, *, update: bool = False, base_iri: str | None = None) -> Inspection:
        """Check a query (or, with ``update``, an update) before it runs: every place that could
        reach out must name a peer (:mod:`ecgraph.query.federate`). ``base_iri`` is the base the
        text will run with, so that the check resolves relative IRIs as the engine will."""
        try:
            inspection = _inspect(text, update, base_iri)
            self.peers.check(inspection)
        except QueryRefused as exc:
            if update:
                exc.title = "update refused"
            raise
        return inspection

    def query(self, request: QueryRequest, timeout: float | None = None, *, caller: Caller = LOCAL) -> QueryResult:
        """Run a query in a worker: one cut off the network unless the query calls peers
        (``request.services``, filled by the SERVICE check), fairly shared between clients."""
        if request.max_rows is None:
            request.max_rows = self.config.max_result_rows
        named = self._aggregate_of(request)
        if named is not None:
            kept = self.aggregate(named.name, request.result_format, request.max_rows, raw=False, values=named.values)
            if kept is not None:
                return kept
        key = answer_cache.cache_key(request)
        if key is None or not self.answers.max_bytes:
            result = self._run_query(request, timeout, caller)
            if key is not None and result.generation is not None:
                result.etag = answer_cache.etag(result.generation, key)
            return result
        generation = answer_cache.stable(self.generation.value)
        hit = self.answers.get(key, generation)
        if hit is not None:  # served here: no worker, no pipe
            return hit
        flight, leader = self.answers.join(key, generation)
        if not leader:  # the same question is being answered: share that answer
            shared = flight.wait(timeout or self.config.query_timeout)
            if shared is not None and shared.generation is not None and shared.generation >= generation:
                return shared
        landed: QueryResult | None = None  # None: followers run the query themselves
        try:
            result = self._run_query(request, timeout, caller)
            if result.generation is not None:
                result.etag = answer_cache.etag(result.generation, key)
                self.answers.put(key, result)
                landed = result
        finally:
            if leader:
                self.answers.land(key, generation, flight, landed)
        return result

    @staticmethod
    def _aggregate_of(request: QueryRequest) -> network_figures.Asked | None:
        # the base IRI (which /sparql always sets) cannot change an aggregate's text: its IRIs are
        # all absolute (tests/test_figures.py checks it)
        if request.default_graphs or request.named_graphs or request.dataset_dump:
            return None
        return network_figures.recognise(request.query)

    def aggregate(self, name: str, result_format: str = "json", max_rows: int | None = None, *,
                  raw: bool = True, caller: Caller = LOCAL, values: tuple[str, ...] = ()) -> QueryResult | None:
        """A named network aggregate (:data:`ecgraph.query.figures.AGGREGATES`), with its
        parameters' ``values`` if it has any (:meth:`~ecgraph.query.figures.Aggregate.values`), from
        the figures kept at publishing; while they are being built, by its raw query (``raw``) or
        None."""
        aggregate = self.named_aggregate(name)
        values = values or aggregate.values()
        max_rows = self.config.max_result_rows if max_rows is None else max_rows
        started = time.perf_counter()
        version = self.figures.version
        out = self.figures.answer(name, result_format, max_rows, values)
        if out is not None:
            return QueryResult(out.body, out.media_type, out.rows, out.truncated, time.perf_counter() - started,
                               cached=True, etag=self.aggregate_etag(name, result_format, max_rows, version, values))
        if not raw:
            return None
        request = QueryRequest(aggregate.text(values), result_format, max_rows=max_rows)
        return self.query(request, caller=caller)

    @staticmethod
    def named_aggregate(name: str) -> network_figures.Aggregate:
        if name not in network_figures.AGGREGATES:
            raise errors.NotFound(f"no aggregate {name!r}; the aggregates are "
                                  + ", ".join(sorted(network_figures.AGGREGATES)))
        return network_figures.AGGREGATES[name]

    def aggregate_etag(self, name: str, result_format: str, max_rows: int | None, version: int | None = None,
                       values: tuple[str, ...] = ()) -> str:
        version = self.figures.version if version is None else version
        asked = "-" + hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:16] if values else ""
        return f'W/"{answer_cache.RUN}-f{version}-{name}{asked}-{result_format}-{max_rows}"'

    def answer_etag(self, request: QueryRequest) -> str | None:
        """The ETag an answer to ``request`` would carry now, without running it (for
        ``If-None-Match``): None for a query whose answer is not kept (see :mod:`ecgraph.query.cache`)."""
        if request.max_rows is None:
            request.max_rows = self.config.max_result_rows
        named = self._aggregate_of(request)
        if named is not None and self.figures.current():
            return self.aggregate_etag(named.name, request.result_format, request.max_rows, values=named.values)
        key = answer_cache.cache_key(request)
        if key is None:
            return None
        return answer_cache.etag(answer_cache.stable(self.generation.value), key)

    def _run_query(self, request: QueryRequest, timeout: float | None, caller: Caller) -> QueryResult:
        if self.query_pool is None:
            before = self.generation.value
            result = self.store.consistent(lambda: execute(self.store.engine(), request))
            if not before & 1 and self.generation.value == before:  # no write moved under it
                result.generation = before
            return result
        if self.store.manages_generation and bounded_query.bounded(request):
            before = self.generation.value
            if not before & 1:  # no write in flight: the store holds exactly this generation
                result = bounded_query.run(self.store.engine(), request, timeout or self.config.query_timeout)
                if self.generation.value == before:  # and none began while it ran
                    result.generation = before
                    return result
        pool = self._federation_pool() if request.services else self.query_pool
        try:
            return self._in_workers(pool, request, lambda: None, what="the query", client=caller.address,
                                    timeout=timeout, stored=False,
                                    advice="; narrow it (LIMIT, more selective patterns, no ORDER BY over "
                                           "everything) or ask the node's operator")
        except (TaskTimeout, MemoryCeiling) as exc:
            exc.title = "query timeout" if isinstance(exc, TaskTimeout) else "query too large"
            raise

    def _federation_pool(self) -> QueryPool:
        """The workers that may reach the network, for queries whose every SERVICE names an
        allowed peer; started on first use, so a node without peers never has one."""
        with self._pools_guard:
            if self.federation_pool is None:
                self.federation_pool = QueryPool(
                    self.store.snapshot_spec(), self.generation, workers=1, timeout=self.config.query_timeout,
                    isolate_network=False, memory_limit_mb=self.config.query_memory_mb,
                    name="ecgraph-federation").start()
            return self.federation_pool

    def update(self, sparql: str, *, caller: Caller = LOCAL, base_iri: str | None = None) -> None:
        """An admin's SPARQL Update, as one transaction. It bypasses the publishing pipeline (no
        validation, no inference), so the catalog cache is reread afterwards. ``base_iri``
        resolves its relative IRIs (the caller checked the text with the same base)."""
        self.require_admin(caller, "a SPARQL update")
        with self._write_lock:
            self._free_writes += 1  # what a publish read of its twin before this may be stale
            try:
                self.store.update(sparql, base_iri=base_iri)
            except SyntaxError as exc:
                raise errors.BadRequest(explain.syntax_error(str(exc), sparql), title="update syntax error") from None
            except (RuntimeError, OSError, ValueError) as exc:
                raise errors.BadRequest(str(exc)[:2000], title="update failed") from None
            self._entries = catalog.read_all(self.store)
            if self.figures.ready or self.query_pool is not None:  # a serving node: every share again
                self.figures.rebuild()  # (an update may change anything)
            self._sync_discovery(force=True)  # an update may have changed any twin's data

    @property
    def directory(self) -> Directory:
        """What the pages for people read: the directory of communities, a community's, network's
        or any resource's description (:mod:`ecgraph.directory`)."""
        if self._directory is None:
            self._directory = Directory(self)
        return self._directory

    # --- other named graphs (reference data) and the default graph ---------------------------

    def graph_role(self, graph: str) -> str:
        """Who writes ``graph``: ``"twin"`` (a twin's own graph, through the publishing pipeline),
        ``"node"`` (the node's own: ontology, vocabularies, catalog, inferences; read-only) or
        ``"reference"`` (any other named graph: reference data the admin manages)."""
        if graph.startswith(standard.TWIN_GRAPH_BASE) and valid_twin_id(graph[len(standard.TWIN_GRAPH_BASE):]):
            return "twin"
        if graph.startswith(standard.NODE_NAMESPACE):
            return "node"
        return "reference"

    def check_graph_writer(self, graph: str | None, caller: Caller) -> None:
        """Refuse a caller who may not write ``graph`` (``None``: the default graph): only the
        admin writes, a reference graph or a default graph of the node's own."""
        if graph is None:
            if self.config.default_graph != "own":
                raise errors.MethodNotAllowed(
                    "the default graph of this node is the union of all its graphs (--default-graph union), so "
                    "it cannot be written; write a named graph with ?graph=IRI, or run the node with "
                    "--default-graph own (ECGRAPH_DEFAULT_GRAPH=own) to give it a default graph of its own",
                    headers={"Allow": "GET, HEAD"})
            self.require_admin(caller, "writing the default graph")
            return
        role = self.graph_role(graph)
        if role == "node":
            raise errors.Forbidden(f"<{graph}> is one of the node's own graphs ({standard.NODE_NAMESPACE}...), which "
                                   f"are read-only; twins live under {standard.TWIN_GRAPH_BASE}<id>, reference "
                                   "data in graphs outside that namespace")
        if role == "twin":
            raise errors.Conflict(f"<{graph}> is a twin's graph: publish it through the publishing pipeline")
        self.require_admin(caller, f"writing the graph <{graph}> (reference data)")

    def write_graph(self, graph: str | None, triples: list[ox.Triple], *, caller: Caller = LOCAL,
                    merge: bool = False) -> bool:
        """Replace (``merge``: add to) a reference graph, or the default graph where it is the
        node's own (``graph=None``), in one transaction; the admin only. Returns whether the
        graph is new. No validation and no inference: reference data is the admin's."""
        self.check_graph_writer(graph, caller)
        with self._write_lock:
            return self.store.put_graph(graph, triples, merge=merge)

    def drop_graph(self, graph: str | None, *, caller: Caller = LOCAL) -> None:
        """Remove a reference graph (or empty a default graph of the node's own); the admin only."""
        self.check_graph_writer(graph, caller)
        with self._write_lock:
            if graph is not None and not self.store.has_graph(graph):
                raise errors.NotFound(f"no graph <{graph}> on this node")
            self.store.drop_graph(graph)

    def peer_urls(self) -> list[str]:
        """The URLs of the peers this node may reach: ``--peer`` and the approved peers table."""
        return [peer.url for peer in self.peers.peers]

    #: the dataset's statistics run in a query worker under this limit (two aggregates over every
    #: quad: 17 s at 10,000 communities, past a query's time limit, so /void answered 503 there)
    STATISTICS_SECONDS = 600.0
    #: how long a reader waits for statistics being computed before it gets the last ones
    STATISTICS_WAIT = 5.0

    def dataset_statistics(self) -> dict:
        """What a VoID description states of the node's dataset: triples, instances per class,
        triples per property (over the union of all graphs), and ``computed``
        (when the counts were made) and ``current`` (whether they hold the store as it is). The
        counts are two aggregate queries run behind the requests, in a query worker, after a
        change; a reader waits :data:`STATISTICS_WAIT` for them and otherwise gets the last counts
        made (``current`` False), or 503 with Retry-After if none were ever made. One computation
        at a time; an expensive one (over a second) starts again only ten times its duration
        after the last ended, so that a network publishing every minute does not keep a worker
        counting."""
        with self._statistics_lock:
            done = self._statistics
            if done is None or done[0] != self.generation.value:
                self._start_statistics()
            running = self._statistics_running
        if running is not None:
            running.wait(self.STATISTICS_WAIT)
        with self._statistics_lock:
            done = self._statistics
        if done is None:
            raise errors.Unavailable("the dataset's statistics are being counted (every class and property over "
                                     "every quad); try again in a minute", retry_after=30)
        generation, computed, counts = done
        return {**counts, "computed": computed, "current": generation == self.generation.value}

    def _start_statistics(self) -> None:
        """Under the statistics lock: start counting unless a count runs or an expensive one ended
        too recently."""
        if self._statistics_running is not None or self._closing.is_set():
            return
        took, ended = self._statistics_took
        if took > 1.0 and time.monotonic() - ended < 10 * took:
            return
        finished = threading.Event()
        self._statistics_running = finished
        generation = self.generation.value

        def count() -> None:
            import json

            started = time.monotonic()

            def rows(text: str) -> dict[str, int]:
                result = self.query(QueryRequest(query=text, result_format="json"), timeout=self.STATISTICS_SECONDS)
                return {b["k"]["value"]: int(b["n"]["value"])
                        for b in json.loads(result.body)["results"]["bindings"]
                        if "k" in b and b["k"]["type"] == "uri"}

            try:
                classes = rows("SELECT ?k (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?k } GROUP BY ?k")
                properties = rows("SELECT ?k (COUNT(*) AS ?n) WHERE { ?s ?k ?o } GROUP BY ?k")
                counts = {"triples": sum(properties.values()), "classes": classes, "properties": properties}
                with self._statistics_lock:
                    self._statistics = (generation, now(), counts)
            except Exception:  # the last counts stay; the next reader after a change tries again
                if not self._closing.is_set():
                    log.exception("could not count the dataset's statistics for /void")
            finally:
                with self._statistics_lock:
                    self._statistics_took = (time.monotonic() - started, time.monotonic())
                    self._statistics_running = None
                finished.set()

        threading.Thread(target=count, name="ecgraph-statistics", daemon=True).start()

    def stats(self) -> dict:
        entries = self._entries
        return {
            "twins": len(entries),
            "registered": self.registry.count_twins(),
            "triples": sum(e.triples for e in entries.values()),
            "inferred_triples": sum(e.inferred for e in entries.values()),
        }

    # --- the network (ecgraph.network) -----------------------------------------------------------

    def changes(self, since: int = 0, limit: int = 100) -> dict:
        """The node's changes after sequence number ``since``, one page (anyone may read them)."""
        return self.network.changes(since, limit)

    def changes_feed(self, base_url: str, since: int | None = None, limit: int = 100) -> dict:
        """The change stream as a feed for people (rendered as Atom by the web layer)."""
        return network_changes.feed(self.registry, base_url, since, limit)

    def peers_status(self, *, pending: bool = False, caller: Caller = LOCAL) -> list[dict]:
        """The peers and what this node knows of them; ``pending``: the join requests (the admin)."""
        if pending:
            self.require_admin(caller, "reading join requests")
        return self.network.peers(pending=pending)

    def add_peer(self, url: str, *, caller: Caller = LOCAL) -> tuple[dict, bool]:
        self.require_admin(caller, "adding a peer")
        return self.network.add(url)

    def remove_peer(self, peer_id: int, *, caller: Caller = LOCAL) -> None:
        self.require_admin(caller, "removing a peer")
        self.network.remove(peer_id)

    def check_peers(self, *, caller: Caller = LOCAL) -> list[dict]:
        self.require_admin(caller, "checking the peers")
        return self.network.check_all()

    def request_join(self, url: str, *, caller: Caller = LOCAL) -> dict:
        """Anyone may ask to become a peer (rate-limited); nothing happens before the admin approves."""
        return self.network.request_join(url, caller.address)

    def decide_join(self, peer_id: int, approve: bool, *, caller: Caller = LOCAL) -> dict | None:
        self.require_admin(caller, "deciding on a join request")
        return self.network.decide(peer_id, approve)

    def set_source(self, twin_id: str, url: str | dict | None, interval: float | None = None, *,
                   caller: Caller = LOCAL) -> None:
        """Where a registered twin lives (refreshed from there on a schedule): a document's URL or
        a SPARQL endpoint (see :func:`ecgraph.network.sources.check_source`); ``None``: nowhere."""
        self.require_admin(caller, "setting a twin's source")
        self._registered(twin_id, self.registry.twin(twin_id))
        self.registry.set_source(twin_id, None if url is None else sources.check_source(url), interval)

    def refresh_source(self, twin_id: str, *, caller: Caller = LOCAL) -> dict:
        """Refresh a twin from its source now (the admin); the source's state after it."""
        self.require_admin(caller, "refreshing a twin from its source")
        return sources.refresh(self, twin_id)

    def harvest(self, peer_id: int | None = None, *, caller: Caller = LOCAL) -> list[dict]:
        """Harvest every ecgraph peer now (or one), incrementally (the admin)."""
        self.require_admin(caller, "harvesting the peers")
        return self.network.harvest(peer_id)

    def network_query(self, request: QueryRequest, timeout: float, *, caller: Caller = LOCAL):
        """A query over this node and every peer (:mod:`ecgraph.network.netquery`)."""
        return self.network.query(request, timeout, caller)

    # --- discovery ----------------------------------------------------------------------------

    def _index(self, entry: catalog.Entry, data_ntriples: str, inferred_ntriples: str,
               extracted: Any = None) -> None:
        """Index a twin just committed (from its features, when a worker ``extracted`` them from
        exactly the triples committed, or is extracting them: a Future). A failure here must not
        undo a publish that is stored: it is logged, and the next start re-indexes the twin (its
        indexed version differs)."""
        self._index_key(entry.id, entry.version, entry.content_hash, data_ntriples, inferred_ntriples, entry.modified,
                        extracted)

    def _index_key(self, key: str, version: int, content_hash: str, data_ntriples: str, inferred_ntriples: str,
                   stamp: str, extracted: Any = None) -> None:
        """Queue the indexing behind the acknowledgement (:mod:`ecgraph.discovery.behind`): the
        commit is durable already, and every read of the index waits for the jobs before it."""
        if extracted is not None and not isinstance(extracted, Future):
            data_ntriples = inferred_ntriples = ""  # the job need not hold the texts
        def job() -> None:
            try:
                features = extracted
                if isinstance(features, Future):
                    try:
                        features = features.result()  # the pool's time limit bounds the wait
                    except Exception as exc:  # the worker died or ran out of time: extract them here
                        log.warning("the worker could not extract twin %r's discovery features (%s); "
                                    "extracting them from its text", key, exc)
                        features = None
                triples = [] if features is not None else [
                    q.triple for text in (data_ntriples, inferred_ntriples) if text
                    for q in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)]
                self._discovery.index(key, version, content_hash, triples, stamp, extracted=features)
            except Exception:
                log.exception("could not index twin %r for discovery; the next start indexes it again", key)

        self._behind.submit(job, len(data_ntriples) + len(inferred_ntriples))

    def index_copy(self, graph: str, record: dict, data_ntriples: str, inferred_ntriples: str) -> None:
        """Index a copy of a peer's twin just harvested (by its graph's IRI: two nodes' twins of
        the same id stay apart), so that discovery covers the network (called by the harvester)."""
        if record.get("unsupported"):  # left out of network answers, and so of discovery
            self._unindex(graph)
            return
        self._index_key(graph, int(record.get("version") or 0), record["hash"], data_ntriples, inferred_ntriples,
                        record.get("harvested", ""))

    def unindex_copy(self, graph: str) -> None:
        """A harvested copy was dropped (deleted at home, or its peer removed)."""
        self._unindex(graph)

    def _unindex(self, key: str) -> None:
        """Drop a twin or copy from the index, queued behind the jobs before it like an index job
        (every read waits for it)."""
        def job() -> None:
            try:
                self._discovery.remove(key)
            except Exception:
                log.exception("could not drop %r from the discovery index; the next start does", key)

        self._behind.submit(job)

    def _copies(self) -> dict[str, tuple]:
        """The harvested copies discovery indexes: graph IRI -> (version, hash, harvested)."""
        out: dict[str, tuple] = {}
        for peer in self.registry.peers():
            for twin_id, copy in self.registry.harvested(peer["id"]).items():
                if not copy.get("unsupported"):
                    graph = copy.get("graph") or copy_graph(peer["url"], twin_id)
                    out[graph] = (int(copy.get("version") or 0), copy.get("hash") or "", copy.get("harvested", ""))
        return out

    def _sync_discovery(self, force: bool = False) -> dict[str, int]:
        """Bring the discovery index in line with the published twins and the harvested copies (at
        start: whatever a crash, a deleted index file or an older node left behind)."""
        entries = self._entries

        def read(key: str) -> list[ox.Triple]:
            if self._closing.is_set():
                raise _Closing("the node is stopping")
            entry = entries.get(key)
            graph, inferred = (entry.graph, entry.inferred_graph) if entry else (key, key + standard.INFERRED_SUFFIX)
            return self.store.graph_triples(graph) + self.store.graph_triples(inferred)

        current = {t: (e.version, e.content_hash, e.modified) for t, e in entries.items()}
        current.update(self._copies())
        return self.discovery.sync(current, read, force=force)

    def reindex_discovery(self, *, caller: Caller = LOCAL) -> dict[str, int]:
        """Rebuild the discovery index from the store (the admin)."""
        self.require_admin(caller, "rebuilding the discovery index")
        with self._write_lock:
            return self._sync_discovery(force=True)

    @staticmethod
    def _not_indexed(iri: str, what: str = "community") -> errors.NotFound:
        return errors.NotFound(f"{iri!r} is not a {what} published on this node: give the IRI of an "
                               f"ec:EnergyCommunity a twin describes (GET /api/discovery/communities lists them)")

    def similar(self, iri: str, *, weights: dict[str, float] | None = None, pins: Pins | None = None,
                limit: int = 10, lang: str = "en", distance_scale_km: float | None = None) -> dict:
        """Communities like ``iri``, ranked, with reasons (see :mod:`ecgraph.discovery.similar`)."""
        from ecgraph.discovery.similar import DISTANCE_SCALE_KM

        try:
            found = self._discovery_read().similar(iri, weights=weights, pins=pins, limit=limit, lang=lang,
                                           distance_scale_km=distance_scale_km or DISTANCE_SCALE_KM)
        except NotIndexed:
            raise self._not_indexed(iri) from None
        self._name_homes([found["community"], *found["results"]])
        return found

    def search_knowledge(self, text: str = "", **filters: Any) -> dict:
        """Lessons, best practices, initiatives and events (see :meth:`Discovery.search`)."""
        found = self._discovery_read().search(text, **filters)
        self._name_homes([r["community"] for r in found["results"]])
        return found

    def _name_homes(self, summaries: list[dict]) -> None:
        """Each community of a harvested copy gets ``home``: the URL of the node it comes from."""
        copies = [s for s in summaries if str(s.get("twin") or "").startswith(HARVESTED_BASE)]
        if not copies:
            return
        homes = {copy.get("graph") or copy_graph(peer["url"], twin_id): peer["url"]
                 for peer in self.registry.peers() for twin_id, copy in self.registry.harvested(peer["id"]).items()}
        for summary in copies:
            summary["home"] = homes.get(summary["twin"])

    def compare(self, iri: str, *, lang: str = "en", indicator: str | None = None, latest: int | None = None) -> dict:
        try:
            return self._discovery_read().compare(iri, lang=lang, indicator=indicator, latest=latest)
        except NotIndexed:
            raise self._not_indexed(iri) from None

    def compare_network(self, network: str, *, lang: str = "en") -> dict:
        try:
            return self._discovery_read().network(network, lang=lang)
        except NotIndexed:
            raise self._not_indexed(network, "network with communities") from None

    def whats_new(self, *, base_url: str, feed_url: str, place: str | None = None, since: str | None = None,
                  limit: int = 50, lang: str = "en") -> dict:
        """Recently published or changed twins with their initiatives and events (the feeds)."""
        from ecgraph.discovery.feeds import recent

        # the newest changes of the change stream (a window of it: each twin once, its newest change)
        last = self.registry.last_change()
        cursor, rows = max(0, last - WHATS_NEW_WINDOW), []
        while cursor < last:
            page = self.changes(cursor, 1000)
            rows += page["changes"]
            if not page["changes"]:
                break
            cursor = page["next"]
        entries = self._entries

        def key(row: dict) -> str:
            return copy_graph(row["home"], row["twin"]) if row.get("home") else row["twin"]

        def stamp(row: dict) -> str:  # a twin's current version: the moment its catalog entry gives
            entry = entries.get(row["twin"]) if not row.get("home") else None
            return entry.modified if entry is not None and entry.version == row["version"] else row["time"]

        changes = recent(rows, key=key, stamp=stamp, since=since, limit=limit if not place else 10 * limit)
        feed = self._discovery_read().whats_new(changes, base_url=base_url, feed_url=feed_url, place=place, lang=lang)
        feed["items"] = feed["items"][:limit]
        return feed

    def compare_area(self, place: str, *, lang: str = "en") -> dict:
        """A municipality's or region's communities side by side and their evolution by year."""
        try:
            return self._discovery_read().area(place, lang=lang)
        except NotIndexed:
            raise errors.NotFound(f"no published community gives the code {place!r}: GET /api/areas lists the "
                                  "municipality (LAU) and region (NUTS) codes twins give") from None

    def tools(self, *, place: str | None = None, category: str | None = None, lang: str = "en") -> dict:
        return self._discovery_read().tools(place=place, category=category, lang=lang)

    def areas(self) -> dict:
        return self._discovery_read().areas()

    def communities(self, *, place: str | None = None, lang: str = "en", offset: int = 0,
                    limit: int | None = None) -> tuple[int, list[dict]]:
        """How many communities discovery knows (in ``place``), and ``limit`` of them from ``offset``."""
        return self._discovery_read().communities(place=place, lang=lang, offset=offset, limit=limit)

    def discovery_choices(self, *, lang: str = "en") -> dict:
        """The topics, member types and technologies discovery's search forms offer."""
        return self._discovery_read().choices(lang)

    # --- demo network -------------------------------------------------------------------------

    def load_demo(self) -> list[str]:
        """Register and publish the demo network's twins (each file is one twin, named by its stem,
        registered with the title it gives itself)."""
        loaded = []
        for path in sorted(standard.demo_twins_dir().iterdir()):
            if path.suffix not in formats.input_extensions():
                continue
            twin_id = path.stem
            data = path.read_bytes()
            if self.registry.twin(twin_id) is None:
                title = pipeline_module.twin_title(ingest.parse(data, filename=path.name).triples)
                self.registry.register(twin_id, title or twin_id.replace("-", " ").title())
            if twin_id not in self._entries:
                self.publish(twin_id, self.upload_for(twin_id, data, filename=path.name))
                loaded.append(twin_id)
        return loaded

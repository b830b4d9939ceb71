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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ecgraph import errors, formats, sandbox, standard
from ecgraph.config import Config
from ecgraph.network import Network, sources
from ecgraph.network.harvest import NETWORK_GRAPH
from ecgraph.network.peers import LivePeers
from ecgraph.publish import authority, catalog, ingest
from ecgraph.publish import pipeline as pipeline_module
from ecgraph.publish.fetch import FetchPolicy, fetch
from ecgraph.publish.pipeline import Pipeline, Prepared, Upload
from ecgraph.query.federate import Inspection, QueryRefused, inspect
from ecgraph.query.pool import QueryPool, QueryRequest, QueryResult, bump, execute
from ecgraph.store import GraphStore
from ecgraph.store.embedded import EmbeddedStore
from ecgraph.store.registry import Registry, Twin, hash_token, now, token_hint, valid_twin_id
from ecgraph.validation.validate import Report, validate
from ecgraph.workers import MemoryCeiling, PoolBusy, TaskTimeout, WorkerDied, WorkerPool, shared_counter

log = logging.getLogger("ecgraph.node")

ADMIN_TOKEN_FILE = "admin-token"
#: a publishing or validation worker that holds more than this after an upload is replaced
PIPELINE_RECYCLE_MB = 768


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


def etag(entry: catalog.Entry | None) -> str | None:
    """A strong ETag for a twin's current data: its version and content hash."""
    if entry is None:
        return None
    return f'"{entry.version}-{entry.content_hash.split(":", 1)[-1][:16]}"'


@dataclass
class Published:
    entry: catalog.Entry
    created: bool
    report: dict
    timings: dict


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
        self.store: GraphStore = store if store is not None else EmbeddedStore(
            self.data_dir, on_commit=self._committed, read_only=read_only)
        self.query_pool: QueryPool | None = None
        self.federation_pool: QueryPool | None = None
        self.pipeline_pool: WorkerPool | None = None
        self.validation_pool: WorkerPool | None = None
        self._pipeline: Pipeline | None = None
        self._write_lock = threading.RLock()
        self._twin_locks: dict[str, threading.Lock] = {}
        self._twin_locks_guard = threading.Lock()
        self._pools_guard = threading.Lock()
        self._entries: dict[str, catalog.Entry] = {}
        self.admin_token_file = self.data_dir / ADMIN_TOKEN_FILE
        self._admin_hash = self._admin_token_hash()
        if not read_only:
            self.install_standard()
        self._entries = catalog.read_all(self.store)
        if not read_only:
            self._drop_orphans()
        self.network = Network(self)
        if not read_only:
            self.network.install_configured()
        if workers:
            self.query_pool = QueryPool(self.store.snapshot_spec(), self.generation, workers=config.query_workers,
                                        timeout=config.query_timeout, isolate_network=True,
                                        memory_limit_mb=config.query_memory_mb).start()
            # Publishing and the anonymous validator have pools of their own: nobody's upload
            # queues behind strangers' validations. Neither needs the network.
            self.pipeline_pool = WorkerPool(pipeline_module.init_worker, (), pipeline_module.handle,
                                            size=config.pipeline_workers, timeout=config.publish_timeout,
                                            name="ecgraph-pipeline", isolate_network=True,
                                            recycle_above_mb=PIPELINE_RECYCLE_MB).start()
            self.validation_pool = WorkerPool(pipeline_module.init_worker, (), pipeline_module.handle,
                                              size=config.validate_workers, timeout=config.publish_timeout,
                                              name="ecgraph-validate", isolate_network=True,
                                              recycle_above_mb=PIPELINE_RECYCLE_MB).start()
            if config.harvest_interval and not read_only:
                self.network.start_schedule(config.harvest_interval)
            if not read_only:
                self.network.start_refresher()
            isolation = self.pipeline_pool.isolation
            if isolation is not None and not sandbox.isolated(isolation):
                log.warning("this system offers no way to cut query workers off the network (no network "
                            "namespace, no seccomp): the SERVICE check is the only layer against SSRF")

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        self.network.close()
        for pool in self.pools().values():
            pool.close()
        self.store.close()
        self.registry.close()

    def pools(self) -> dict[str, WorkerPool]:
        """The worker pools that run, by name (for /health and /metrics)."""
        named = {"query": self.query_pool, "federation": self.federation_pool,
                 "pipeline": self.pipeline_pool, "validate": self.validation_pool}
        return {name: pool for name, pool in named.items() if pool is not None}

    def _committed(self) -> None:
        bump(self.generation)

    def _twin_lock(self, twin_id: str) -> threading.Lock:
        """The lock every write to one twin holds from reading its current state to committing:
        writes to a twin happen one after the other, never on a state another write replaced."""
        with self._twin_locks_guard:
            lock = self._twin_locks.get(twin_id)
            if lock is None:
                lock = self._twin_locks[twin_id] = threading.Lock()
            return lock

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
        self.registry.save_report(twin_id, entry.version, report.to_dict())

    # --- twins: reads -------------------------------------------------------------------------

    def claims(self) -> authority.Claims:
        """Every twin's namespaces and the node's own, for the authority rule."""
        return authority.Claims.build(self.registry.claims(), authority.reserved(self.config.public_url))

    def entry(self, twin_id: str) -> catalog.Entry | None:
        return self._entries.get(twin_id)

    def entries(self) -> dict[str, catalog.Entry]:
        return dict(self._entries)

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
        source = self.registry.source(twin_id)
        if source is not None:
            info["source"] = sources.describe(source["url"], source["interval"], source["state"])
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
        return (self.store.graph_triples(standard.CATALOG_GRAPH) + sources.catalog_triples(self)
                + self.store.graph_triples(NETWORK_GRAPH) + self.network.catalog_triples())

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

    def prepare(self, upload: Upload) -> Prepared:
        return self._in_workers(self.pipeline_pool, ("prepare", upload), lambda: self.pipeline.prepare(upload),
                                what="preparing the upload")

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
            old = self.store.graph_ntriples(previous.graph) if previous is not None else None
            if merge and old is not None:
                upload.merge_ntriples = old
            prepared = self.prepare(upload)
            with self._write_lock:
                claims = self.claims()
                if not twin.namespaces:
                    authority.check_claim(twin_id, prepared.namespaces, claims)
                authority.refuse_foreign(twin_id, prepared.outside, claims)
                inferred = authority.keep_inferred(prepared.inferred_ntriples, twin_id, prepared.namespaces, claims)
                if previous is not None and old is not None:
                    self.registry.archive(twin_id, previous.version, previous.to_dict(), (old + "\n").encode())
                version = max(previous.version if previous else 0, twin.last_archived) + 1
                stamp = now()
                entry = catalog.Entry(
                    id=twin_id, title=twin.title, version=version,
                    issued=previous.issued if previous else stamp, modified=stamp,
                    triples=prepared.triples, inferred=inferred.count("\n") + 1 if inferred else 0,
                    content_hash=prepared.content_hash, format=prepared.format,
                    profile=standard.profile_version_iri("core", prepared.version), warnings=prepared.warnings,
                    published_by=catalog.publisher_agent(twin_id, admin))
                self.store.commit(
                    replace={entry.graph: prepared.data_ntriples, entry.inferred_graph: inferred},
                    known={entry.graph: old} if old is not None else {},
                    delete_subjects={standard.CATALOG_GRAPH: entry.subjects()},
                    insert={standard.CATALOG_GRAPH: entry.to_triples() + [entry.listing()]})
                self._entries[twin_id] = entry
                self.registry.record_change(twin_id, version, prepared.content_hash,
                                            change or ("replaced" if previous else "published"))
                if not twin.namespaces:
                    self.registry.claim(twin_id, prepared.namespaces)
                self.registry.prune(twin_id)
                self.registry.save_report(twin_id, version, prepared.report)
        return Published(entry=entry, created=previous is None, report=prepared.report, timings=prepared.timings)

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
        admin): prepared (parse, validate, infer) in ``jobs`` worker processes while the previous
        batch is written with the store's bulk loader. Not atomic per twin: each batch marks its
        graphs, writes its data, then its catalog entries, so an interrupted bulk load loses only
        what it had not acknowledged (the next start removes what it marked); run it again.

        Returns each twin's :class:`Published`, or the exception that refused it.
        """
        results: dict[str, object] = {}
        todo = []
        for twin_id, upload in items:
            twin = self.registry.twin(twin_id)
            if twin is None:
                results[twin_id] = errors.NotFound(f"twin {twin_id!r} is not registered on this node")
            elif twin_id in self._entries:
                results[twin_id] = errors.Conflict(f"twin {twin_id!r} already has data; publish it normally")
            else:
                upload.namespaces = twin.namespaces or None
                todo.append((twin_id, upload))
        pool = WorkerPool(pipeline_module.init_worker, (), pipeline_module.handle, size=jobs,
                          timeout=self.config.publish_timeout, name="ecgraph-bulk").start()
        try:
            with ThreadPoolExecutor(max_workers=jobs) as executor:
                window = jobs * batch  # prepared twins waiting to be written stay bounded
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
                    results.update(self._bulk_write(prepared))
                    if progress is not None:
                        progress(len(ready))
        finally:
            pool.close()
        # Bulk-loaded files overlap until compacted: compacting once halves query times after it.
        self.store.optimize()
        return results

    def _bulk_write(self, prepared: dict[str, Prepared]) -> dict[str, object]:
        if not prepared:
            return {}
        stamp = now()
        lines: list[str] = []
        entries: dict[str, catalog.Entry] = {}
        results: dict[str, object] = {}
        with self._write_lock:
            claims = self.claims()
            for twin_id, p in prepared.items():
                twin = self._registered(twin_id, self.registry.twin(twin_id))
                try:
                    if not twin.namespaces:
                        authority.check_claim(twin_id, p.namespaces, claims)
                    authority.refuse_foreign(twin_id, p.outside, claims)
                except (authority.ClaimConflict, authority.NotAuthoritative) as exc:
                    results[twin_id] = exc
                    continue
                if not twin.namespaces:
                    claims.add(twin_id, p.namespaces)
                inferred = authority.keep_inferred(p.inferred_ntriples, twin_id, p.namespaces, claims)
                entry = catalog.Entry(
                    id=twin_id, title=twin.title, version=twin.last_archived + 1, issued=stamp, modified=stamp,
                    triples=p.triples, inferred=inferred.count("\n") + 1 if inferred else 0,
                    content_hash=p.content_hash, format=p.format,
                    profile=standard.profile_version_iri("core", p.version), warnings=p.warnings,
                    published_by=catalog.publisher_agent(twin_id, True))
                entries[twin_id] = entry
                for text, graph in ((p.data_ntriples, entry.graph), (inferred, entry.inferred_graph)):
                    suffix = f" <{graph}> ."
                    lines.extend(line[:-1] + suffix[1:] for line in text.split("\n") if line)
            if not entries:
                return results
            graphs = [g for e in entries.values() for g in (e.graph, e.inferred_graph)]
            self.registry.mark_bulk(graphs)  # before writing: an interruption removes exactly these
            self.store.bulk_load(("\n".join(lines) + "\n").encode("utf-8"))
            catalog_triples = []
            for entry in entries.values():
                catalog_triples.extend(entry.to_triples())
                catalog_triples.append(entry.listing())
            self.store.commit(insert={standard.CATALOG_GRAPH: catalog_triples})
            self._entries.update(entries)
            for twin_id in entries:
                self.registry.claim(twin_id, prepared[twin_id].namespaces)  # no-op where they were fixed
                self.registry.record_change(twin_id, entries[twin_id].version, entries[twin_id].content_hash,
                                            "published")
            self.registry.clear_bulk(graphs)
        self.registry.save_reports([(twin_id, entries[twin_id].version, prepared[twin_id].report)
                                    for twin_id in entries])
        results.update({twin_id: Published(entry=entries[twin_id], created=True, report=prepared[twin_id].report,
                                           timings=prepared[twin_id].timings) for twin_id in entries})
        return results

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
            self.registry.archive(twin_id, entry.version, entry.to_dict(), (old + "\n").encode())
            self.store.commit(drop=[entry.graph, entry.inferred_graph],
                              delete_subjects={standard.CATALOG_GRAPH: entry.subjects()},
                              delete={standard.CATALOG_GRAPH: [entry.listing()]})
            self._entries.pop(twin_id, None)
            self.registry.record_change(twin_id, entry.version, entry.content_hash, "deleted")
            self.registry.prune(twin_id)
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

    # --- validation ---------------------------------------------------------------------------

    def validate(self, upload: Upload, *, caller: Caller = LOCAL) -> Report:
        """The vendor validator: a report, nothing stored, in the validator's own workers."""
        return self._in_workers(self.validation_pool, ("report", upload), lambda: self.pipeline.report(upload),
                                what="validation", client=caller.address, stored=False)

    # --- queries ------------------------------------------------------------------------------

    def inspect(self, text: str, *, update: bool = False) -> Inspection:
        """Check a query (or, with ``update``, an update) before it runs: every place that could
        reach out must name a peer (:mod:`ecgraph.query.federate`)."""
        try:
            inspection = inspect(text, update=update)
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
        if self.query_pool is None:
            return execute(self.store.engine(), request)
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

    def update(self, sparql: str, *, caller: Caller = LOCAL) -> None:
        """An admin's SPARQL Update, as one transaction. It bypasses the publishing pipeline (no
        validation, no inference), so the catalog cache is reread afterwards."""
        self.require_admin(caller, "a SPARQL update")
        with self._write_lock:
            try:
                self.store.update(sparql)
            except SyntaxError as exc:
                raise errors.BadRequest(str(exc), title="update syntax error") from None
            except (RuntimeError, OSError, ValueError) as exc:
                raise errors.BadRequest(str(exc)[:2000], title="update failed") from None
            self._entries = catalog.read_all(self.store)

    def stats(self) -> dict:
        entries = self._entries
        return {
            "twins": len(entries),
            "registered": len(self.registry.twins()),
            "triples": sum(e.triples for e in entries.values()),
            "inferred_triples": sum(e.inferred for e in entries.values()),
        }

    # --- the network (ecgraph.network) -----------------------------------------------------------

    def changes(self, since: int = 0, limit: int = 100) -> dict:
        """The node's changes after sequence number ``since``, one page (anyone may read them)."""
        return self.network.changes(since, limit)

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

    def set_source(self, twin_id: str, url: str | None, interval: float | None = None, *,
                   caller: Caller = LOCAL) -> None:
        """Where a registered twin lives (refreshed from there on a schedule); ``None``: nowhere."""
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

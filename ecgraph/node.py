"""A node: the store, the registry, the workers and the publishing flow, wired together.

The web app and the command line are both thin over this class. Data flows one way: an upload is
prepared (parsed, validated, inferred) by :mod:`ecgraph.pipeline`, possibly in a worker process,
then committed here in one atomic write together with its catalog entry, after the version it
replaces has been archived. Queries go to :mod:`ecgraph.query`'s workers.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from . import catalog, ingest, standard
from . import pipeline as pipeline_module
from .config import Config
from .federate import PeerPolicy
from .fetch import FetchPolicy, fetch
from .pipeline import Pipeline, Prepared, Upload
from .query import QueryPool, QueryRequest, QueryResult, execute
from .validate import validate
from .registry import Registry, hash_token, now, token_hint, valid_twin_id
from .store import Store
from .workers import WorkerPool

log = logging.getLogger("ecgraph.node")

ADMIN_TOKEN_FILE = "admin-token"


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


@dataclass
class Published:
    entry: catalog.Entry
    created: bool
    report: dict
    timings: dict


class Node:
    """Open a node over ``config.data``. ``workers=False`` runs everything in this process
    (the command line); a serving node runs queries and uploads in killable workers."""

    def __init__(self, config: Config, *, workers: bool = True):
        self.config = config
        self.data_dir = Path(config.data)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.registry = Registry(self.data_dir / "registry.sqlite3", keep_versions=config.keep_versions)
        self.peers = PeerPolicy(config.peers)
        self.fetch_policy = FetchPolicy(self.peers, tuple(h.lower() for h in config.allow_hosts),
                                        timeout=config.fetch_timeout, max_bytes=config.max_upload_bytes)
        self.query_pool: QueryPool | None = None
        self.pipeline_pool: WorkerPool | None = None
        if workers:
            self.query_pool = QueryPool(str(self.data_dir), workers=config.query_workers,
                                        timeout=config.query_timeout)
        self.store = Store(self.data_dir, on_commit=self._committed)
        self._pipeline: Pipeline | None = None
        self._write_lock = threading.RLock()
        self._entries: dict[str, catalog.Entry] = {}
        self.admin_token_file = self.data_dir / ADMIN_TOKEN_FILE
        self._admin_hash = self._admin_token_hash()
        self.install_standard()
        self._entries = catalog.read_all(self.store)
        self._drop_orphans()
        if workers:
            self.query_pool.start()
            self.pipeline_pool = WorkerPool(pipeline_module._init, (), pipeline_module._handle,
                                            size=config.pipeline_workers, timeout=config.publish_timeout,
                                            name="ecgraph-pipeline").start()

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        for pool in (self.query_pool, self.pipeline_pool):
            if pool is not None:
                pool.close()
        self.store.close()
        self.registry.close()

    def _committed(self) -> None:
        if self.query_pool is not None:
            self.query_pool.bump()

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline()
        return self._pipeline

    # --- admin token --------------------------------------------------------------------------

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

    def is_admin(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self._admin_hash, hash_token(token))

    def may_write(self, twin_id: str, token: str | None) -> bool:
        return bool(token) and (self.is_admin(token) or self.registry.check_token(twin_id, token))

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
        """Remove twin graphs that have no catalog entry: what an interrupted bulk load left (its
        catalog entries are written last, so nothing acknowledged is lost), so that the catalog
        and the data agree again."""
        orphans = []
        for graph in self.store.named_graphs():
            if graph.startswith(standard.TWIN_GRAPH_BASE):
                twin_id = graph[len(standard.TWIN_GRAPH_BASE):].removesuffix(standard.INFERRED_SUFFIX)
                if twin_id not in self._entries:
                    orphans.append(graph)
        if orphans:
            log.warning("removing %d graphs left by an interrupted bulk load: %s", len(orphans),
                        ", ".join(orphans[:5]) + (" …" if len(orphans) > 5 else ""))
            self.store.commit(drop=orphans)

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

    # --- twins --------------------------------------------------------------------------------

    def register(self, twin_id: str, title: str | None = None) -> str:
        if not valid_twin_id(twin_id):
            raise ValueError(f"{twin_id!r} is not a valid twin id: use [a-z0-9][a-z0-9-]{{0,62}}")
        try:
            return self.registry.register(twin_id, title or twin_id)
        except KeyError:
            raise Conflict(f"twin {twin_id!r} is already registered") from None

    def entry(self, twin_id: str) -> catalog.Entry | None:
        return self._entries.get(twin_id)

    def entries(self) -> dict[str, catalog.Entry]:
        return dict(self._entries)

    def twin_info(self, twin_id: str) -> dict | None:
        twin = self.registry.twin(twin_id)
        entry = self._entries.get(twin_id)
        if twin is None and entry is None:
            return None
        info = {"id": twin_id, "graph": standard.twin_graph(twin_id), "registered": twin is not None}
        if twin is not None:
            info.update(twin.to_dict())
        info["published"] = entry is not None
        if entry is not None:
            info.update(entry.to_dict())
        return info

    def prepare(self, upload: Upload) -> Prepared:
        if self.pipeline_pool is not None:
            return self.pipeline_pool.run(("prepare", upload))
        return self.pipeline.prepare(upload)

    def check(self, upload: Upload):
        """Validate without storing (the vendor validator): returns the :class:`Report`."""
        if self.pipeline_pool is not None:
            return self.pipeline_pool.run(("check", upload))
        return self.pipeline.validate(upload)

    def upload_for(self, twin_id: str, data: bytes, *, media_type: str | None = None,
                   filename: str | None = None, format_name: str | None = None) -> Upload:
        return Upload(data=data, media_type=media_type, filename=filename, format_name=format_name,
                      twin_id=twin_id, base_iri=standard.twin_graph(twin_id),
                      max_bytes=self.config.max_upload_bytes, max_triples=self.config.max_triples)

    def publish(self, twin_id: str, upload: Upload, *, admin: bool = False) -> Published:
        """Replace a registered twin's data: prepare, archive what it replaces, commit atomically."""
        twin = self.registry.twin(twin_id)
        if twin is None:
            raise NotFound(f"twin {twin_id!r} is not registered on this node")
        prepared = self.prepare(upload)
        with self._write_lock:
            previous = catalog.read(self.store, twin_id)
            if previous is not None:
                self._archive(previous)
            version = max([previous.version if previous else 0] +
                          [v.version for v in self.registry.versions(twin_id)]) + 1
            stamp = now()
            entry = catalog.Entry(
                id=twin_id, title=prepared.title or twin.title, version=version,
                issued=previous.issued if previous else stamp, modified=stamp,
                triples=prepared.triples, inferred=prepared.inferred,
                content_hash=prepared.content_hash, format=prepared.format,
                profile=standard.profile_version_iri("core", prepared.version), warnings=prepared.warnings,
                published_by=catalog.publisher_agent(twin_id, admin))
            self.store.commit(
                replace={entry.graph: prepared.data_ntriples, entry.inferred_graph: prepared.inferred_ntriples},
                delete_subjects={standard.CATALOG_GRAPH: entry.subjects()},
                insert={standard.CATALOG_GRAPH: entry.to_triples() + [entry.listing()]})
            self._entries[twin_id] = entry
            self.registry.prune(twin_id)
            self.registry.save_report(twin_id, version, prepared.report)
        return Published(entry=entry, created=previous is None, report=prepared.report, timings=prepared.timings)

    def bulk_publish(self, items: list[tuple[str, Upload]], *, jobs: int = 2, batch: int = 200,
                     progress=None) -> dict[str, object]:
        """Publish many registered twins that have no data yet, fast: prepared (parse, validate,
        infer) in ``jobs`` worker processes while the previous batch is written with the store's
        bulk loader. Not atomic per twin: each batch's catalog entries are committed after its
        data, and a node removes twin graphs without catalog entries when it opens, so an
        interrupted bulk load loses only what it had not acknowledged; run it again.

        Returns each twin's :class:`Published`, or the exception that refused it.
        """
        from concurrent.futures import ThreadPoolExecutor

        results: dict[str, object] = {}
        todo = []
        for twin_id, upload in items:
            if self.registry.twin(twin_id) is None:
                results[twin_id] = NotFound(f"twin {twin_id!r} is not registered on this node")
            elif twin_id in self._entries:
                results[twin_id] = Conflict(f"twin {twin_id!r} already has data; publish it normally")
            else:
                todo.append((twin_id, upload))
        pool = WorkerPool(pipeline_module._init, (), pipeline_module._handle, size=jobs,
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

    def _bulk_write(self, prepared: dict[str, Prepared]) -> dict[str, Published]:
        if not prepared:
            return {}
        stamp = now()
        chunks: list[str] = []
        entries: dict[str, catalog.Entry] = {}
        for twin_id, p in prepared.items():
            twin = self.registry.twin(twin_id)
            version = max((v.version for v in self.registry.versions(twin_id)), default=0) + 1
            entry = catalog.Entry(
                id=twin_id, title=p.title or twin.title, version=version, issued=stamp, modified=stamp,
                triples=p.triples, inferred=p.inferred, content_hash=p.content_hash, format=p.format,
                profile=standard.profile_version_iri("core", p.version), warnings=p.warnings,
                published_by=catalog.publisher_agent(twin_id, True))
            entries[twin_id] = entry
            for text, graph in ((p.data_ntriples, entry.graph), (p.inferred_ntriples, entry.inferred_graph)):
                if text:
                    suffix = f" <{graph}> ."
                    chunks.append("\n".join(line[:-1] + suffix[1:] if line.endswith(" .") else line
                                            for line in text.split("\n")))
        with self._write_lock:
            self.store.bulk_load(("\n".join(chunks) + "\n").encode("utf-8"))
            catalog_triples = []
            for entry in entries.values():
                catalog_triples.extend(entry.to_triples())
                catalog_triples.append(entry.listing())
            self.store.commit(insert={standard.CATALOG_GRAPH: catalog_triples})
            self._entries.update(entries)
        self.registry.save_reports([(twin_id, entries[twin_id].version, p.report) for twin_id, p in prepared.items()])
        return {twin_id: Published(entry=entries[twin_id], created=True, report=p.report, timings=p.timings)
                for twin_id, p in prepared.items()}

    def publish_from_url(self, twin_id: str, url: str, *, admin: bool = False) -> Published:
        fetched = fetch(url, self.fetch_policy)
        upload = self.upload_for(twin_id, fetched.data, media_type=fetched.media_type,
                                 filename=Path(fetched.url.split("?", 1)[0]).name)
        return self.publish(twin_id, upload, admin=admin)

    def _archive(self, entry: catalog.Entry) -> None:
        data = "\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in self.store.graph_triples(entry.graph))
        self.registry.archive(entry.id, entry.version, entry.to_dict(), (data + "\n").encode("utf-8"))

    def unpublish(self, twin_id: str) -> catalog.Entry:
        """Remove a twin's data from the graph (its versions stay in the archive)."""
        with self._write_lock:
            entry = catalog.read(self.store, twin_id)
            if entry is None:
                raise NotFound(f"twin {twin_id!r} has no published data")
            self._archive(entry)
            self.store.commit(drop=[entry.graph, entry.inferred_graph],
                              delete_subjects={standard.CATALOG_GRAPH: entry.subjects()},
                              delete={standard.CATALOG_GRAPH: [entry.listing()]})
            self._entries.pop(twin_id, None)
            self.registry.prune(twin_id)
        return entry

    def delete(self, twin_id: str) -> None:
        """Remove a twin: its data (archived first) and its registration and token."""
        if self.registry.twin(twin_id) is None and twin_id not in self._entries:
            raise NotFound(f"twin {twin_id!r} is not registered on this node")
        if twin_id in self._entries:
            self.unpublish(twin_id)
        self.registry.unregister(twin_id)

    def twin_data(self, twin_id: str, version: int | None = None) -> list[ox.Triple]:
        if version is None:
            entry = self._entries.get(twin_id)
            if entry is None:
                raise NotFound(f"twin {twin_id!r} has no published data")
            return self.store.graph_triples(entry.graph)
        data = self.registry.version_data(twin_id, version)
        if data is None:
            raise NotFound(f"twin {twin_id!r} has no archived version {version}")
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

    # --- queries ------------------------------------------------------------------------------

    def query(self, request: QueryRequest, timeout: float | None = None) -> QueryResult:
        if request.max_rows is None:
            request.max_rows = self.config.max_result_rows
        if self.query_pool is not None:
            return self.query_pool.run(request, timeout=timeout)
        return execute(self.store, request)

    def update(self, sparql: str) -> None:
        """An admin's SPARQL Update, as one transaction. It bypasses the publishing pipeline (no
        validation, no inference), so the catalog cache is reread afterwards."""
        with self._write_lock:
            self.store.update(sparql)
            self._entries = catalog.read_all(self.store)

    def stats(self) -> dict:
        entries = self._entries
        return {
            "twins": len(entries),
            "registered": len(self.registry.twins()),
            "triples": sum(e.triples for e in entries.values()),
            "inferred_triples": sum(e.inferred for e in entries.values()),
        }

    # --- demo network -------------------------------------------------------------------------

    def load_demo(self) -> list[str]:
        """Register and publish the demo network's twins (each file is one twin, named by its stem)."""
        loaded = []
        directory = standard.demo_twins_dir()
        for path in sorted(directory.iterdir()):
            if path.suffix not in ingest.EXTENSIONS:
                continue
            twin_id = path.stem
            if self.registry.twin(twin_id) is None:
                self.registry.register(twin_id, twin_id.replace("-", " ").title())
            if twin_id not in self._entries:
                self.publish(twin_id, self.upload_for(twin_id, path.read_bytes(), filename=path.name), admin=True)
                loaded.append(twin_id)
        return loaded

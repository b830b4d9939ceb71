"""The node's bulk dump, for researchers: every published twin in one gzipped N-Quads file, with a
DCAT description (version, date, size, SHA-256 checksum, each twin's licence).

A dump is made from a state of the node: the catalog entries (twin, version, content hash,
licence) summed up in :func:`state_of`. When that state changes (a twin published, unpublished,
erased), the next request for the dump writes a new one with the next version number; until
then the same file, checksum and version are served. The file holds each twin's asserted data in
its own named graph (the graph the SPARQL endpoint names it by) and the catalog graph, so that each
twin's licence, version and checksum travel with it. The copies the node harvested from its peers
(all under open licences: see :mod:`ecgraph.network.harvest`) are in it too, each in its own
named graph, with their provenance records (home node, harvest time, checksum, licence) in the
network graph. Personal data (see :mod:`ecgraph.publish.personal`) is left out unless the operator
opts in.

The file is written beside the previous one and renamed into place, so a download never sees
half a dump; older dumps are deleted (an erasure must not survive in them).

A serving node writes the dump in a process of its own (:func:`handle`), from a snapshot of the
store at the generation the twins' state was taken at, and never on a request's thread nor under
the node's write lock: at 10,000 twins a dump takes two minutes, which a request for ``/dump``
made every publisher wait for, after each change (see :meth:`ecgraph.node.Node.dump`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ecgraph import formats, standard
from ecgraph.publish import catalog, personal

DCAT = catalog.DCAT
DCT = catalog.DCT
SPDX = catalog.SPDX
VOID = catalog.VOID
XSD = catalog.XSD
NQUADS_MEDIA_TYPE = formats.NQUADS.media_type
GZIP_MEDIA_TYPE = formats.GZIP_MEDIA_TYPE

#: gzip's level for the dump: zlib's default, as the ``gzip`` command's. Python's ``GzipFile``
#: defaults to 9, which compressed the bench's generated N-Quads at 33 MiB/s against 182 at 6, for
#: a file a sixth smaller: a fifth of a dump's time, for each change of the network
COMPRESS_LEVEL = 6


@dataclass
class Dump:
    version: int
    state: str
    issued: str
    file: str  # the file's name in the node's dump directory
    sha256: str
    bytes: int
    quads: int
    twins: int
    #: twins by licence IRI ("" for none stated)
    licences: dict[str, int] = field(default_factory=dict)
    #: personal statements left out
    withheld: int = 0
    personal_data: bool = False
    #: harvested copies in it
    copies: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def state_of(entries: dict[str, catalog.Entry], personal_data: bool, copies: dict[str, dict] | None = None) -> str:
    """What a dump is made from, as one digest: equal digests make equal dumps. ``copies``: the
    harvested copies, by graph, each with its ``hash`` and ``license``."""
    text = json.dumps([[e.id, e.version, e.content_hash, e.license, e.modified] for _, e in sorted(entries.items())]
                      + [[g, c.get("hash"), c.get("license")] for g, c in sorted((copies or {}).items())]
                      + [personal_data])
    return hashlib.sha256(text.encode()).hexdigest()


def write(directory: Path, store, entries: dict[str, catalog.Entry], *, version: int, state: str, issued: str,
          personal_data: bool = False, copies: dict[str, dict] | None = None, copies_graph: str = "") -> Dump:
    """Write dump ``version`` of ``entries`` (and of the harvested ``copies``, by graph, with their
    records in ``copies_graph``) from ``store`` into ``directory`` and return it."""
    made = write_partial(directory, store, entries, version=version, state=state, issued=issued,
                         personal_data=personal_data, copies=copies, copies_graph=copies_graph)
    install(directory, made)
    return made


def write_partial(directory: Path, store, entries: dict[str, catalog.Entry], *, version: int, state: str,
                  issued: str, personal_data: bool = False, copies: dict[str, dict] | None = None,
                  copies_graph: str = "") -> Dump:
    """:func:`write`, up to the file beside its final name (``.partial``): nothing is served from it
    until :func:`install`. ``store``: anything with ``graph_triples(graph)``."""
    copies = copies or {}
    directory.mkdir(parents=True, exist_ok=True)
    name = f"ecgraph-dump-{version}.nq.gz"
    partial = directory / (name + ".partial")
    digest = hashlib.sha256()
    quads = 0
    withheld = 0
    licences: dict[str, int] = {}
    with open(partial, "wb") as raw:
        hashing = _HashingWriter(raw, digest)
        # mtime=0: the same data makes the same bytes, so the checksum depends on the data only
        with gzip.GzipFile(filename="", mode="wb", fileobj=hashing, mtime=0, compresslevel=COMPRESS_LEVEL) as out:
            graphs = [(e.graph, e.license) for _, e in sorted(entries.items())]
            graphs += [(g, c.get("license") or "") for g, c in sorted(copies.items())]
            for graph_name, licence in graphs:
                triples = store.graph_triples(graph_name)
                if not personal_data:
                    dropped = personal.personal_triples(triples)
                    withheld += len(dropped)
                    triples = personal.without(triples, dropped)
                graph = ox.NamedNode(graph_name)
                out.write(formats.write([ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples],
                                        ox.RdfFormat.N_QUADS))
                quads += len(triples)
                licences[licence] = licences.get(licence, 0) + 1
            if copies:
                held = {ox.NamedNode(g) for g in copies}
                network = ox.NamedNode(copies_graph)
                records = [t for t in store.graph_triples(copies_graph) if _belongs(t, held)]
                out.write(formats.write([ox.Quad(t.subject, t.predicate, t.object, network) for t in records],
                                        ox.RdfFormat.N_QUADS))
                quads += len(records)
            listed = {ox.NamedNode(e.graph) for e in entries.values()}
            cat = ox.NamedNode(standard.CATALOG_GRAPH)
            records = [t for t in store.graph_triples(standard.CATALOG_GRAPH) if _belongs(t, listed)]
            out.write(formats.write([ox.Quad(t.subject, t.predicate, t.object, cat) for t in records],
                                    ox.RdfFormat.N_QUADS))
            quads += len(records)
        raw.flush()
        os.fsync(raw.fileno())
        size = hashing.size
    return Dump(version=version, state=state, issued=issued, file=name, sha256=digest.hexdigest(), bytes=size,
                quads=quads, twins=len(entries), licences=licences, withheld=withheld, personal_data=personal_data,
                copies=len(copies))


def install(directory: Path, made: Dump) -> None:
    """Serve ``made`` (written by :func:`write_partial`): its file renamed into place, its record
    written whole (requests read it without a lock), then every older dump deleted."""
    from ecgraph.store.stepwise import write_durably

    os.replace(directory / (made.file + ".partial"), directory / made.file)
    write_durably(directory / "dump.json", json.dumps(made.to_dict(), indent=2).encode())
    for old in directory.glob("ecgraph-dump-*.nq.gz*"):
        if old.name != made.file:
            old.unlink(missing_ok=True)


@dataclass
class Job:
    """What a dump is made of, taken under the node's write lock at ``generation``: the twins, the
    harvested copies, and the dump's number and state."""

    directory: str
    entries: dict[str, catalog.Entry]
    copies: dict[str, dict]
    version: int
    state: str
    issued: str
    personal_data: bool
    copies_graph: str
    generation: int


class _Graphs:
    """A worker's snapshot read graph by graph (what :func:`write_partial` asks of a store)."""

    def __init__(self, view):
        self.view = view
        self.remote = None
        if not isinstance(view, ox.Store):  # a remote store's query endpoint: read as the node reads it
            from ecgraph.store.remote import RemoteStore

            self.remote = RemoteStore(view.endpoints, check=False)

    def graph_triples(self, graph: str) -> list[ox.Triple]:
        if self.remote is not None:
            return self.remote.graph_triples(graph)
        return [q.triple for q in self.view.quads_for_pattern(None, None, None, ox.NamedNode(graph))]


#: how much lower than the node's the dump worker's CPU priority is (``nice``): a dump takes a core
#: for two minutes at 10,000 twins, and the requests served meanwhile come first
WORKER_NICENESS = 10


def init_worker(spec: tuple[str, str], generation):
    """A dump worker's state: a snapshot of the store that it opens at an acknowledged generation.
    The worker yields the CPU to the node's other processes."""
    from ecgraph.query.pool import Snapshot

    os.nice(WORKER_NICENESS)
    return Snapshot(spec, generation)


def handle(snapshot, job: Job) -> Dump | None:
    """Write ``job``'s dump beside its final name, from the store as of ``job.generation``; None
    when the store has moved on since (the node takes the state again and asks again)."""
    view = snapshot.current()
    if snapshot.held != job.generation:
        return None
    directory = Path(job.directory)
    made = write_partial(directory, _Graphs(view), job.entries, version=job.version, state=job.state,
                         issued=job.issued, personal_data=job.personal_data, copies=job.copies,
                         copies_graph=job.copies_graph)
    if getattr(view, "live", False) and snapshot.generation.value != job.generation:
        (directory / (made.file + ".partial")).unlink(missing_ok=True)  # a live view read part of a write
        return None
    return made


def discard(directory: Path) -> None:
    """Delete every dump (after an erasure: the next request writes a new one without it)."""
    for old in directory.glob("ecgraph-dump-*"):
        old.unlink(missing_ok=True)
    (directory / "dump.json").unlink(missing_ok=True)


def _belongs(t: ox.Triple, listed: set) -> bool:
    """Catalog statements about a listed twin (its record, publication and checksum nodes)."""
    subject = t.subject
    if isinstance(subject, ox.NamedNode):
        base = subject.value.split("#", 1)[0]
        return ox.NamedNode(base) in listed or (subject.value == standard.CATALOG_GRAPH and t.object in listed)
    return False


def read(directory: Path) -> Dump | None:
    """The dump last written into ``directory``, if its file is still there."""
    try:
        dump = Dump(**json.loads((directory / "dump.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return dump if (directory / dump.file).is_file() else None


class _HashingWriter:
    """A file object that hashes and counts what passes through it."""

    def __init__(self, raw, digest):
        self.raw, self.digest, self.size = raw, digest, 0

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def description(dump: Dump, base_url: str) -> list[ox.Triple]:
    """The DCAT description of a dump: a dataset with its version, date and licences (one per
    twin, as the twins state them), and one distribution: the file, its size and checksum."""
    n, lit = ox.NamedNode, catalog._lit
    dataset = n(base_url + "/dump")
    dist = n(base_url + "/dump.nq.gz")
    checksum = n(base_url + "/dump#checksum")
    out = [
        ox.Triple(dataset, standard.RDF_TYPE, n(DCAT + "Dataset")),
        ox.Triple(dataset, n(DCT + "title"), ox.Literal("Bulk dump of every twin this node publishes", language="en")),
        ox.Triple(dataset, n(DCT + "description"), ox.Literal(
            "Each twin's asserted data in its own named graph, and the node's catalog records of them (version, "
            "checksum, licence); the same for the copies it harvested from its peers, with their provenance. "
            "Personal data " + ("included where the twin states a basis."
                                                     if dump.personal_data else "left out."), language="en")),
        ox.Triple(dataset, n(DCAT + "version"), lit(dump.version)),
        ox.Triple(dataset, n(DCT + "issued"), lit(dump.issued, "dateTime")),
        ox.Triple(dataset, n(VOID + "triples"), lit(dump.quads, "integer")),
        ox.Triple(dataset, n(DCAT + "distribution"), dist),
        ox.Triple(dist, standard.RDF_TYPE, n(DCAT + "Distribution")),
        ox.Triple(dist, n(DCAT + "downloadURL"), dist),
        ox.Triple(dist, n(DCAT + "mediaType"), n("https://www.iana.org/assignments/media-types/" + NQUADS_MEDIA_TYPE)),
        ox.Triple(dist, n(DCAT + "compressFormat"),
                  n("https://www.iana.org/assignments/media-types/" + GZIP_MEDIA_TYPE)),
        ox.Triple(dist, n(DCAT + "byteSize"), lit(dump.bytes, "nonNegativeInteger")),
        ox.Triple(dist, n(SPDX + "checksum"), checksum),
        ox.Triple(checksum, standard.RDF_TYPE, n(SPDX + "Checksum")),
        ox.Triple(checksum, n(SPDX + "algorithm"), n(SPDX + "checksumAlgorithm_sha256")),
        ox.Triple(checksum, n(SPDX + "checksumValue"), lit(dump.sha256, "hexBinary")),
    ]
    out.extend(ox.Triple(dataset, n(DCT + "license"), n(iri)) for iri in sorted(dump.licences) if iri)
    return out


def catalog_links(base_url: str) -> Iterable[ox.Triple]:
    """What the node's catalog says of the dump: it lists it as a dataset of its own."""
    cat = ox.NamedNode(standard.CATALOG_GRAPH)
    return [ox.Triple(cat, ox.NamedNode(DCAT + "dataset"), ox.NamedNode(base_url + "/dump"))]


__all__ = ["Dump", "state_of", "write", "read", "discard", "description", "catalog_links"]

"""The publishing pipeline up to the commit: bytes -> parse -> validate -> infer.

Everything here is a pure function of the uploaded bytes and the standard, so it can run in a
worker process (see :mod:`ecgraph.workers`) where a hostile or huge document can be stopped at
its time limit without touching the server; the node then commits the prepared twin atomically.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from ecgraph import errors, formats, standard
from ecgraph.publish import authority, ingest, licences, personal
from ecgraph.publish.reason import Reasoner
from ecgraph.validation.validate import PREFIXES, Profiles, Report, validate
from ecgraph.workers import Later, WorkerPool


class NotConformant(errors.Unprocessable):
    """The upload breaks MUST rules of the core profile; ``report`` says which, and the message
    names the first of them, so that a 422 answer leads with what blocks rather than with warnings."""

    title = "not conformant"

    def __init__(self, report: dict):
        blocking = report.get("blocking") or []
        version = report.get("summary", {}).get("standard_version", "")
        count = report.get("summary", {}).get("counts", {}).get("Violation", len(blocking))
        rules = f"{count} rule{'s' if count != 1 else ''}"
        text = f"the twin breaks {rules} of the core profile {version}; nothing was stored"
        if blocking:
            first = blocking[0]
            text += f". First: {first['focus']}{' ' + first['path'] if first.get('path') else ''}: {first['message']}"
        super().__init__(text, report=report)
        self.report = report


@dataclass
class Upload:
    #: the document, or b"" when it waits in ``path`` (a server streams bodies to a file so that
    #: the main process never holds a large upload; the worker reads it)
    data: bytes
    media_type: str | None = None
    filename: str | None = None
    format_name: str | None = None
    twin_id: str | None = None
    base_iri: str | None = None
    max_bytes: int = ingest.DEFAULT_MAX_BYTES
    max_triples: int | None = None
    #: "all" on publishing (violations refuse, warnings are kept); any profile for the validator
    profile: str = "all"
    #: publishing refuses violations; the validator only reports them
    refuse_violations: bool = True
    infer: bool = True
    #: "fast" (ecgraph's engine) or "pyshacl" (the reference); both give the same results
    engine: str = "fast"
    #: the release to validate against; None: the one the twin claims
    profile_version: str | None = None
    #: the language of the report's messages (en, fr, nl)
    lang: str = "en"
    #: results that get their focus node described (the validator's --max-results)
    max_results: int | None = 200
    #: the twin's current data (N-Triples) to merge the upload into (Graph Store POST)
    merge_ntriples: str | None = None
    #: the file that holds the document when ``data`` is empty
    path: str | None = None
    #: the namespaces the twin speaks for, once fixed; None derives them from the upload
    #: (see :mod:`ecgraph.publish.authority`)
    namespaces: list[str] | None = None
    #: extract the twin's discovery features here, from the triples the worker holds (a bulk
    #: load: the main process would otherwise parse every twin's text again to index it)
    features: bool = False

    def body(self) -> bytes:
        if self.path is not None and not self.data:
            with open(self.path, "rb") as fh:
                return fh.read(self.max_bytes + 1)
        return self.data


@dataclass
class Prepared:
    data_ntriples: str
    inferred_ntriples: str
    triples: int
    inferred: int
    content_hash: str
    format: str
    report: dict
    conforms: bool
    warnings: int
    #: the namespaces the twin speaks for (fixed, or derived from this upload)
    namespaces: list[str] = field(default_factory=list)
    #: subject IRIs outside those namespaces, for the node to check against other twins' claims
    outside: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    #: the release whose profiles judged the twin
    version: str = standard.STANDARD_VERSION
    #: the licence IRI the twin states (``dcterms:license`` of its ec:DigitalTwin), or ""
    license: str = ""
    #: when the upload asked: the twin's discovery features over its data and every inference
    #: (:class:`ecgraph.discovery.features.Extracted`; the node uses them if it keeps them all)
    features: Any = None


def content_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


ntriples = formats.ntriples


class Pipeline:
    """The standard compiled once (shapes, reasoner), then applied to each upload."""

    def __init__(self):
        self.profiles = Profiles()
        self.reasoner = Reasoner(load_schema())
        self._vocabulary: Any = None

    def features(self, twin_id: str, triples: list[ox.Triple]) -> Any:
        from ecgraph.discovery import features, vocab

        if self._vocabulary is None:  # the node's discovery index reads the same standard's files
            self._vocabulary = vocab.vocabulary()
        return features.extract(twin_id, triples, self._vocabulary)

    def _parse_and_validate(self, upload: Upload) -> tuple[ingest.Parsed, Report, bytes]:
        data = upload.body()
        parsed = ingest.parse(data, upload.media_type, upload.filename, format_name=upload.format_name,
                              base_iri=upload.base_iri, max_bytes=upload.max_bytes,
                              max_triples=upload.max_triples,
                              allow_named_graphs=[standard.twin_graph(upload.twin_id)] if upload.twin_id else ())
        if upload.merge_ntriples:
            current = [q.triple for q in ox.parse(upload.merge_ntriples, format=ox.RdfFormat.N_TRIPLES)]
            seen = set(current)
            parsed.triples = current + [t for t in parsed.triples if t not in seen]
            if upload.max_triples is not None and len(parsed.triples) > upload.max_triples:
                raise ingest.IngestError(
                    413, f"after this addition the twin would hold {len(parsed.triples):,} triples; a twin may "
                         f"hold at most {upload.max_triples:,} (the node's ECGRAPH_MAX_TRIPLES). Nothing was "
                         "stored: replace the twin with PUT instead of adding to it, or split it.")
        report = validate(parsed.triples, upload.profile, engine=upload.engine, profiles=self.profiles,
                          input_hash=content_hash(data), version=upload.profile_version,
                          problems=parsed.problems, lang=upload.lang)
        return parsed, report, data

    def report(self, upload: Upload) -> Report:
        """The vendor validator: parse and validate, and describe the reported nodes as the
        document wrote them."""
        parsed, report, _ = self._parse_and_validate(upload)
        describe_focus_nodes(report, parsed, upload.max_results)
        return report

    def prepare(self, upload: Upload) -> Prepared:
        return self._prepare(upload)[0]

    def _prepare(self, upload: Upload) -> tuple[Prepared, list[ox.Triple]]:
        """The upload prepared, and the triples it holds (data and every inference)."""
        timings = {}
        started = time.perf_counter()
        parsed, report, data = self._parse_and_validate(upload)
        timings["parse_validate"] = time.perf_counter() - started
        report_dict = report.to_dict()
        if upload.refuse_violations and not report.conforms:
            raise NotConformant(report_dict)
        # Personal data no basis covers is not published (ecgraph.publish.personal); the report says how much.
        withheld = personal.withhold(parsed.triples) if personal.enforced(report.version) else []
        if withheld:
            parsed.triples = personal.without(parsed.triples, withheld)
            report_dict["personalData"] = personal.withheld_note(len(withheld))
        started = time.perf_counter()
        inferred = self.reasoner.infer(parsed.triples) if upload.infer else []
        timings["infer"] = time.perf_counter() - started
        data_ntriples = ntriples(parsed.triples)
        # A merge, or personal data withheld, publishes other than what was uploaded: hash what the twin now holds.
        digest = content_hash(data_ntriples.encode("utf-8") if upload.merge_ntriples or withheld else data)
        namespaces = upload.namespaces if upload.namespaces is not None else authority.derive(parsed.triples)
        held = parsed.triples + inferred
        return Prepared(
            data_ntriples=data_ntriples,
            inferred_ntriples=ntriples(inferred),
            triples=len(parsed.triples),
            inferred=len(inferred),
            content_hash=digest,
            format=parsed.format.media_type,
            namespaces=namespaces,
            outside=authority.outside(parsed.triples, namespaces),
            report=report_dict,
            conforms=report.conforms,
            warnings=report.warnings,
            timings=timings,
            version=report.version,
            license=licences.twin_licence(parsed.triples) or "",
            features=self.features(upload.twin_id, held) if upload.features and upload.twin_id else None,
        ), held


_TWIN_CLASS = standard.EC + "DigitalTwin"
_TITLE = "http://purl.org/dc/terms/title"


def twin_title(triples: list[ox.Triple]) -> str | None:
    """The title a twin gives itself (its ec:DigitalTwin's dcterms:title, English first): what an
    admin registering a file may take as the twin's title. The catalog shows the registered title
    only (see :mod:`ecgraph.publish.authority`)."""
    twins = {t.subject for t in triples if t.predicate == standard.RDF_TYPE and t.object == ox.NamedNode(_TWIN_CLASS)}
    titles = [t.object for t in triples if t.subject in twins and t.predicate.value == _TITLE
              and isinstance(t.object, ox.Literal)]
    titles.sort(key=lambda lit: (lit.language not in (None, "en"), lit.language or "", lit.value))
    return titles[0].value if titles else None


def load_schema() -> list[ox.Triple]:
    """The ontology and vocabularies, as the reasoner and the store take them."""
    triples: list[ox.Triple] = []
    for path in (standard.ontology_file(), standard.vocabularies_file()):
        triples.extend(q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    return triples


# --- worker side ------------------------------------------------------------------------------

def workers(name: str, size: int, timeout: float, **options: Any) -> WorkerPool:
    """A pool of processes that parse, validate and infer uploads (:func:`handle`): the node's
    publishing and validator pools, a bulk load's, and ``ecgraph validate``'s. None of them needs
    the network, so each is cut off from it (:mod:`ecgraph.sandbox`)."""
    return WorkerPool(init_worker, (), handle, size=size, timeout=timeout, name=name, isolate_network=True,
                      **options)


def init_worker() -> Pipeline:
    return Pipeline()


def handle(pipeline: Pipeline, request: tuple[str, Upload]):
    """A worker's request: ("prepare", upload) for publishing, ("report", upload) for the validator,
    ("publish", upload) to prepare and then, once the node has the prepared upload and commits it,
    extract the twin's discovery features from the triples still held (:class:`ecgraph.workers.Later`):
    the node's own process would otherwise parse the stored text again to index it, beside the
    next upload.

    The cyclic garbage collector is off while a request runs: parsing, validating and inferring
    make hundreds of thousands of small objects and no cycles worth finding, and the collector's
    passes over them took a fifth of a 10,000-triple upload. It is on again between requests; a
    request too large for memory is stopped by the pool's ceiling as before."""
    action, upload = request
    if action not in ("prepare", "report", "publish"):
        raise ValueError(action)
    with _collector_off():
        if action == "report":
            return pipeline.report(upload)
        if action == "prepare":
            return pipeline.prepare(upload)
        prepared, held = pipeline._prepare(upload)

    def features() -> Any:
        with _collector_off():
            return pipeline.features(upload.twin_id or "", held)

    return Later(prepared, features)


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def describe_focus_nodes(report: Report, parsed: ingest.Parsed, limit: int | None = None,
                         per_node: int = 25) -> None:
    """Help a vendor find each reported node in their own file: for JSON-LD, the ``@id`` exactly
    as written; for other formats, the node's triples as the document stated them."""
    shown = report.results if limit is None else report.results[:limit]
    if parsed.format == ox.RdfFormat.JSON_LD:
        for r in shown:
            iri = r.focus_nt[1:-1] if r.focus_nt.startswith("<") else None
            r.written_id = parsed.written_ids.get(iri) if iri else None
        return
    wanted = {r.focus_nt for r in shown}
    by_subject: dict[str, list] = {}
    for t in parsed.triples:
        key = str(t.subject)
        if key in wanted:
            found = by_subject.setdefault(key, [])
            if len(found) < per_node:
                found.append(t)
    rendered = {key: formats.write(triples, ox.RdfFormat.TURTLE, prefixes=PREFIXES).decode("utf-8")
                for key, triples in by_subject.items()}
    for r in shown:
        text = rendered.get(r.focus_nt)
        if text:
            r.focus_triples = "\n".join(line for line in text.splitlines() if not line.startswith("@prefix")).strip()

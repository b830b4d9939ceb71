"""Twins whose data live in platforms that do not speak RDF: NGSI-LD context brokers and JSON APIs.

A twin that stays at home (issue 14's sourced twins) may name such a source; at each refresh the
node calls :func:`twin_from_source`, which reads the source through :func:`ecgraph.fetch.fetch`
(the node's URL-safety rules and one wall-clock deadline per request) and runs an RML mapping over
what it read, and returns the twin as Turtle for the node to publish like any upload.

A source configuration (JSON-like dict):

``kind``
    ``ngsi-ld`` (a FIWARE context broker) or ``json`` (any URL answering JSON)
``url``
    the broker's base URL (``/ngsi-ld/v1/entities`` is appended) or the JSON document's URL
``type``
    NGSI-LD only: the entity type to read (``type=`` of the query)
``mapping``
    a shipped mapping name (``ngsi-ld-pv``) or a mapping file; it reads ``input.json``:
    for NGSI-LD ``{"twin": {...}, "entities": [...]}``, for JSON the document itself
``twin``, ``name``, ``base``
    the twin's id, the community's name and the namespace its IRIs are minted under (references
    ``_twin``, ``_name`` and ``_base`` in the mapping, and ``$.twin`` for NGSI-LD)
``context``
    NGSI-LD only: the terms the mapping is written with, ``{term: IRI}``. Brokers compact
    attribute names with the ``@context`` of each entity, which need not be the mapping's: each
    attribute is expanded with the entity's own context (inline objects, and contexts given by URL
    in ``contexts``) and compacted again with this one, so a broker that says ``pvPeak`` for the
    IRI the mapping calls ``peakPower`` is still read right
``contexts``
    NGSI-LD only: ``{URL: {term: IRI}}``, the remote contexts entities may name, known in advance
    (the node never fetches a ``@context``)
``limit``
    NGSI-LD page size (default 100); pages are read with ``limit``/``offset`` until a short page,
    at most ``max_entities`` entities (default 10,000)
"""

from __future__ import annotations

import json
import urllib.parse

import pyoxigraph as ox

from ecgraph import errors
from ecgraph.importing import importer, rml
from ecgraph.importing.rml import MappingError

NGSI_CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
#: NGSI-LD members that are not attributes
_RESERVED = {"id", "type", "@context", "scope", "location", "observationSpace", "operationSpace",
             "createdAt", "modifiedAt", "deletedAt"}


class SourceError(errors.BadGateway):
    """The source could not be read or mapped into a twin; the twin keeps its current version."""

    title = "source unreadable"


def _term_map(context: object, known: dict[str, dict]) -> dict[str, str]:
    """term -> IRI of an entity's ``@context`` (a URL, an object, or a list of both)."""
    out: dict[str, str] = {}
    items = context if isinstance(context, list) else [context]
    for item in items:
        if isinstance(item, str):
            out.update(known.get(item, {}))
        elif isinstance(item, dict):
            for term, value in item.items():
                if term.startswith("@"):
                    continue
                iri = value.get("@id") if isinstance(value, dict) else value
                if isinstance(iri, str):
                    out[term] = iri
    # compact IRIs (prefix:local) through the prefixes the same context defines
    for term, iri in list(out.items()):
        prefix, sep, local = iri.partition(":")
        if sep and prefix in out and not local.startswith("//"):
            out[term] = out[prefix] + local
    return out


def normalise_entity(entity: dict, mapping_terms: dict[str, str], known: dict[str, dict]) -> dict:
    """The entity with its attribute names as the mapping's context names them."""
    entity_terms = _term_map(entity.get("@context", []), known)
    by_iri = {iri: term for term, iri in mapping_terms.items()}
    out = {}
    for key, value in entity.items():
        if key in _RESERVED:
            out[key] = value
            continue
        iri = entity_terms.get(key)
        if iri is None and ":" in key:
            prefix, _, local = key.partition(":")
            iri = entity_terms[prefix] + local if prefix in entity_terms else key
        out[by_iri.get(iri, key) if iri else key] = value
    return out


def _fetch_json(url: str, policy) -> tuple[object, str]:
    from ecgraph.publish.fetch import FetchRefused, fetch

    try:
        fetched = fetch(url, policy)
    except FetchRefused as exc:
        raise SourceError(f"cannot read the source: {exc}") from None
    try:
        return json.loads(fetched.data), fetched.url
    except (UnicodeDecodeError, ValueError) as exc:
        raise SourceError(f"{url} did not answer JSON: {exc}") from None


def read_ngsi_ld(config: dict, policy) -> list[dict]:
    """Every entity of the configured type, page by page."""
    base = config["url"].rstrip("/")
    limit = int(config.get("limit", 100))
    most = int(config.get("max_entities", 10_000))
    entities: list[dict] = []
    offset = 0
    while True:
        query = urllib.parse.urlencode({"type": config["type"], "limit": limit, "offset": offset})
        page, url = _fetch_json(f"{base}/ngsi-ld/v1/entities?{query}", policy)
        if not isinstance(page, list) or not all(isinstance(e, dict) for e in page):
            raise SourceError(f"{url} did not answer an NGSI-LD entity array")
        entities.extend(page)
        if len(entities) > most:
            raise SourceError(f"the source has more than {most:,} entities of type {config['type']!r}")
        if len(page) < limit:
            return entities
        offset += limit


def twin_from_source(source_config: dict, fetch_policy) -> bytes:
    """Read a source and map it into one twin; return the twin as Turtle.

    Raises :class:`SourceError` when the source cannot be read or a record cannot be mapped (the
    refresher then keeps the twin's current version) and :class:`MappingError` for a wrong mapping.
    """
    kind = source_config.get("kind")
    twin_id = source_config.get("twin")
    if kind not in ("ngsi-ld", "json"):
        raise MappingError(f"source kind {kind!r}: expected 'ngsi-ld' or 'json'")
    if not twin_id or not source_config.get("base") or not source_config.get("url"):
        raise MappingError("a source needs 'url', 'twin' and 'base'")
    mapping_path = importer.resolve_mapping(str(source_config["mapping"]))
    maps = rml.load_mapping(mapping_path)
    if kind == "ngsi-ld":
        known = {NGSI_CORE_CONTEXT: {}, **(source_config.get("contexts") or {})}
        terms = dict(source_config.get("context") or {})
        entities = [normalise_entity(e, terms, known) for e in read_ngsi_ld(source_config, fetch_policy)]
        document: object = {"twin": {"id": twin_id, "name": source_config.get("name") or twin_id},
                            "entities": entities}
    else:
        document, _ = _fetch_json(source_config["url"], fetch_policy)
    tables: dict[str, object] = {}
    for tm in maps:
        if tm.source in ("input.json", "input.csv"):
            tables[tm.source] = document
        elif tm.source not in tables:
            if "/" in tm.source or tm.source.startswith("."):
                raise MappingError(f"source {tm.source!r}: a lookup table is a file name beside the mapping")
            path = mapping_path.parent / tm.source
            if not path.is_file():
                raise MappingError(f"source {tm.source!r} is neither 'input.json' nor a file beside the mapping")
            tables[tm.source] = rml.read_csv(path.read_bytes()) if tm.formulation == "csv" else \
                rml.read_json(path.read_bytes(), path.name)
    variables = {"_base": source_config["base"], "_twin": twin_id, "_name": source_config.get("name") or twin_id}
    output = rml.run(maps, tables, variables=variables)
    if output.errors:
        problems = "; ".join(f"record {row}: {m}" for (_, row), ms in list(output.errors.items())[:5] for m in ms)
        raise SourceError(f"the source could not be mapped: {problems}")
    triples = [t for graph, ts in output.graphs.items() for t in ts]
    if not triples:
        raise SourceError("the mapping made no triple from the source")
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=_prefixes()) or b""


def _prefixes() -> dict[str, str]:
    from ecgraph import standard

    return {k: v for k, v in standard.PREFIXES.items() if k not in ("sh", "ecsh", "ecrec")}


__all__ = ["twin_from_source", "SourceError", "normalise_entity", "read_ngsi_ld"]

"""The constants of the ecgraph standard, in one place.

Everything that a twin, a shape file or a query relies on by name (namespaces, the IRIs of the
profiles and of the node's own graphs, the files that hold the standard) is defined here and only
here, so that a version bump or a rename is a one-line change.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox

#: The RDF and RDFS terms the validator, the reasoner, the reports and the catalog all build with.
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDF_FIRST = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#first")
RDF_REST = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#rest")
RDF_NIL = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#nil")
RDFS_SUBCLASS = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf")

#: The version of the ontology, the vocabularies and the profiles published together.
STANDARD_VERSION = "1.1.0"

#: Every release a node still validates against, oldest first. A twin is judged by the newest
#: release it claims with dcterms:conformsTo (see :func:`judging_version`); the files of older
#: releases are kept, as published, in a folder named after the version (shapes/1.0.0/, ...).
VERSIONS = ("1.0.0", "1.1.0")

#: Everything the standard and the node name lives under this IRI (ontology, code lists, profiles,
#: shapes, twin graphs, the node's own resources): no twin may speak for it.
NODE_NAMESPACE = "https://w3id.org/ecgraph/"

#: Our one namespace: classes, properties and code-list concepts of the standard.
EC = "https://w3id.org/ecgraph/ns#"
ONTOLOGY_IRI = "https://w3id.org/ecgraph/ns"
ONTOLOGY_VERSION_IRI = f"https://w3id.org/ecgraph/ns/{STANDARD_VERSION}"

#: Where a community's JSON-LD points for the published `@context`; the node resolves these
#: addresses to the local files and never fetches them. The unversioned one is the context of the
#: release the twin claims (the current one when it claims none).
CONTEXT_URL = "https://w3id.org/ecgraph/context.jsonld"
CONTEXT_VERSION_URL = f"https://w3id.org/ecgraph/context/{STANDARD_VERSION}.jsonld"


def context_version_url(version: str) -> str:
    return f"https://w3id.org/ecgraph/context/{version}.jsonld"

#: Conformance profiles: the IRI names the profile, the version IRI the edition a twin claims
#: with `dcterms:conformsTo`.
PROFILE_BASE = "https://w3id.org/ecgraph/profile/"
PROFILES = ("core", "recommended")


def profile_iri(name: str) -> str:
    return f"{PROFILE_BASE}{name}"


def profile_version_iri(name: str, version: str = STANDARD_VERSION) -> str:
    return f"{PROFILE_BASE}{name}/{version}"


_DCTERMS_CONFORMS_TO = ox.NamedNode("http://purl.org/dc/terms/conformsTo")
_CLAIM = re.compile(re.escape(PROFILE_BASE) + r"(core|recommended)/([0-9]+\.[0-9]+\.[0-9]+)\Z")


def claimed_versions(triples) -> list[str]:
    """The ecgraph profile versions a twin claims (dcterms:conformsTo), known to this node or not."""
    found = set()
    for t in triples:
        if t.predicate == _DCTERMS_CONFORMS_TO and isinstance(t.object, ox.NamedNode):
            match = _CLAIM.match(t.object.value)
            if match:
                found.add(match.group(2))
    return sorted(found, key=_version_key)


def judging_version(triples) -> str:
    """The release a twin is validated against: the newest release it claims that this node
    knows; the current release when it claims none it knows (a twin claiming a later release
    than the node has is checked against what the node has, and the report says which)."""
    known = [v for v in claimed_versions(triples) if v in VERSIONS]
    return known[-1] if known else STANDARD_VERSION


def resolve_version(text: str | None) -> str | None:
    """A version asked for by a person ("1.0.0", "v1.0", "1.0"): the release it names, or None
    for "whatever the twin claims". Raises ValueError for a release this node does not have."""
    if not text:
        return None
    wanted = text.strip().removeprefix("v")
    for version in reversed(VERSIONS):
        if wanted in (version, version.rsplit(".", 1)[0]):
            return version
    raise ValueError(f"unknown profile version {text!r}: this node has {', '.join(VERSIONS)}")


def _version_key(version: str) -> tuple:
    return tuple(int(part) for part in version.split("."))


#: Namespaces of the shapes, so that every shape has an IRI a report can link to.
SHAPES_NS = {
    "core": "https://w3id.org/ecgraph/shapes/core#",
    "recommended": "https://w3id.org/ecgraph/shapes/recommended#",
}

#: Prefixes for everything the node writes for people (Turtle results, reports, messages): ours,
#: the shapes', and those of the vocabularies the standard aligns with.
PREFIXES = {
    "ec": EC,
    "ecsh": SHAPES_NS["core"],
    "ecrec": SHAPES_NS["recommended"],
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "prov": "http://www.w3.org/ns/prov#",
    "org": "http://www.w3.org/ns/org#",
    "schema": "https://schema.org/",
    "geo": "http://www.opengis.net/ont/geosparql#",
    "qudt": "http://qudt.org/schema/qudt/",
    "unit": "http://qudt.org/vocab/unit/",
    "sosa": "http://www.w3.org/ns/sosa/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "sh": "http://www.w3.org/ns/shacl#",
}

#: The node's own graphs. Twins live in TWIN_GRAPH_BASE + id; what the node infers for a twin
#: lives beside it, so that replacing a twin replaces both.
NODE_GRAPH_BASE = "https://w3id.org/ecgraph/graph/"
ONTOLOGY_GRAPH = NODE_GRAPH_BASE + "ontology"
VOCABULARY_GRAPH = NODE_GRAPH_BASE + "vocabularies"
CATALOG_GRAPH = NODE_GRAPH_BASE + "catalog"
TWIN_GRAPH_BASE = "https://w3id.org/ecgraph/twin/"
INFERRED_SUFFIX = "/inferred"


def twin_graph(twin_id: str) -> str:
    return TWIN_GRAPH_BASE + twin_id


def inferred_graph(twin_id: str) -> str:
    return TWIN_GRAPH_BASE + twin_id + INFERRED_SUFFIX


#: Files of the standard. In a source checkout they sit at the top of the repository; an installed
#: wheel carries them inside the package (see pyproject.toml).
_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the ecgraph package


def _standard_dir(name: str) -> Path:
    for candidate in (_PACKAGE_DIR.parent / name, _PACKAGE_DIR / "_standard" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the standard's {name}/ directory is missing from this installation")


def ontology_dir() -> Path:
    return _standard_dir("ontology")


def shapes_dir() -> Path:
    return _standard_dir("shapes")


def data_dir() -> Path:
    return _standard_dir("data")


def docs_dir() -> Path:
    return _standard_dir("docs")


def _release(directory: Path, version: str) -> Path:
    if version == STANDARD_VERSION:
        return directory
    if version not in VERSIONS:
        raise ValueError(f"unknown release {version!r}; this installation has {', '.join(VERSIONS)}")
    return directory / version


def ontology_file(version: str = STANDARD_VERSION) -> Path:
    return _release(ontology_dir(), version) / "ecgraph.ttl"


def vocabularies_file(version: str = STANDARD_VERSION) -> Path:
    return _release(ontology_dir(), version) / "vocabularies.ttl"


def context_file(version: str = STANDARD_VERSION) -> Path:
    return _release(ontology_dir(), version) / "context.jsonld"


def shapes_file(profile: str, version: str = STANDARD_VERSION) -> Path:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    return _release(shapes_dir(), version) / f"{profile}.ttl"


def kit_manifest(version: str = STANDARD_VERSION) -> Path:
    return _release(shapes_dir(), version) / "kit" / "manifest.ttl"


def demo_twins_dir() -> Path:
    return data_dir() / "twins"

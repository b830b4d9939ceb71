"""The node described for linked-data tools: how to download each twin (DCAT distributions), what
the node's dataset holds (a VoID description) and what the endpoint allows (its limits, for the
SPARQL Service Description).

Everything here depends on the URL the node is reached at, so it is made when asked, from the
catalog graph (which is stored without URLs) and the node's statistics, never stored.

* each twin's ``dcat:Dataset`` gets one ``dcat:Distribution`` per RDF syntax the node writes
  (:data:`ecgraph.formats.GRAPH`), with its ``dcat:downloadURL`` (``/api/twins/<id>/data?format=``),
  ``dcat:mediaType`` (the IANA media type IRI, as DCAT 3 recommends) and ``dct:format``;
* the VoID description (``/void``): the node's dataset with its SPARQL endpoint, triple count,
  classes and properties (``void:classPartition`` / ``void:propertyPartition`` with their counts),
  each twin as a subset, and one ``void:Linkset`` towards each configured peer;
* the limits are stated with terms of :data:`NODE` (``https://w3id.org/ecgraph/node#``), declared
  in the description itself (label and comment), as no standard vocabulary has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyoxigraph as ox

from ecgraph import formats, standard
from ecgraph.publish.catalog import DCAT, DCT, VOID, XSD

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
RDF_PROPERTY = "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property"
IANA = "http://www.iana.org/assignments/media-types/"
NODE = standard.NODE_NAMESPACE + "node#"
RDF_TYPE = standard.RDF_TYPE


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=_n(XSD + "integer"))


def distributions(catalog: Iterable[ox.Triple], base_url: str) -> list[ox.Triple]:
    """A distribution per RDF syntax for every twin dataset named in ``catalog``."""
    out: list[ox.Triple] = []
    identifiers = {t.subject: t.object.value for t in catalog if t.predicate.value == DCT + "identifier"
                   and isinstance(t.subject, ox.NamedNode) and isinstance(t.object, ox.Literal)}
    for dataset, twin_id in identifiers.items():
        assert isinstance(dataset, ox.NamedNode)
        for fmt in formats.GRAPH:
            distribution = _n(f"{dataset.value}#distribution-{fmt.key}")
            url = _n(f"{base_url}/api/twins/{twin_id}/data?format={fmt.key}")
            media = fmt.media_types[0]
            out += [
                ox.Triple(dataset, _n(DCAT + "distribution"), distribution),
                ox.Triple(distribution, RDF_TYPE, _n(DCAT + "Distribution")),
                ox.Triple(distribution, _n(DCAT + "downloadURL"), url),
                ox.Triple(distribution, _n(DCAT + "accessURL"), url),
                ox.Triple(distribution, _n(DCAT + "mediaType"), _n(IANA + media)),
                ox.Triple(distribution, _n(DCT + "format"), ox.Literal(media)),
                ox.Triple(distribution, _n(DCT + "title"), ox.Literal(f"{twin_id} as {fmt.key}")),
            ]
    return out


def limits(subject: ox.NamedNode, values: Mapping[str, tuple[object, str, str]]) -> list[ox.Triple]:
    """``values``: term -> (value, XSD datatype, what it means); each term is declared too."""
    out = []
    for term, (value, datatype, comment) in values.items():
        predicate = _n(NODE + term)
        out += [ox.Triple(subject, predicate, ox.Literal(str(value), datatype=_n(XSD + datatype))),
                ox.Triple(predicate, RDF_TYPE, _n(RDF_PROPERTY)),
                ox.Triple(predicate, _n(RDFS + "comment"), ox.Literal(comment, language="en"))]
    return out


def void(base_url: str, *, title: str, triples: int, classes: Mapping[str, int], properties: Mapping[str, int],
         peers: Iterable[str], counted: str | None = None) -> list[ox.Triple]:
    """The VoID description of the node's dataset. ``classes``: class -> instances; ``properties``:
    property -> triples; ``peers``: their URLs; ``counted``: when the class and property counts were
    made (the description's ``dct:modified``). Each twin's graph, with its triples and its data
    dump, is a dataset of the catalog, which it links: as subsets here, 10,000 twins made it
    5.8 MB, every request for it a quarter of a second of the web process and its page 1.4 s."""
    document = _n(base_url + "/void")
    dataset = _n(base_url + "/void#dataset")
    out = [
        ox.Triple(document, RDF_TYPE, _n(VOID + "DatasetDescription")),
        ox.Triple(document, _n(DCT + "title"), ox.Literal(f"A VoID description of {title}", language="en")),
        ox.Triple(document, _n("http://xmlns.com/foaf/0.1/primaryTopic"), dataset),
        ox.Triple(dataset, RDF_TYPE, _n(VOID + "Dataset")),
        ox.Triple(dataset, _n(DCT + "title"), ox.Literal(title, language="en")),
        ox.Triple(dataset, _n(VOID + "sparqlEndpoint"), _n(base_url + "/sparql")),
        ox.Triple(dataset, _n(VOID + "uriLookupEndpoint"), _n(base_url + "/resource?iri=")),
        ox.Triple(dataset, _n(VOID + "vocabulary"), _n(standard.EC)),
        ox.Triple(dataset, _n(VOID + "triples"), _int(triples)),
        ox.Triple(dataset, _n(VOID + "classes"), _int(len(classes))),
        ox.Triple(dataset, _n(VOID + "properties"), _int(len(properties))),
        ox.Triple(dataset, _n(DCT + "license"), _n("https://creativecommons.org/licenses/by/4.0/")),
        ox.Triple(dataset, _n(RDFS + "seeAlso"), _n(base_url + "/catalog")),
        ox.Triple(dataset, _n(DCT + "description"),
                  ox.Literal("Every twin's graph, with its triples and its data dump, is a dataset of the catalog.",
                             language="en")),
    ]
    if counted:
        out.append(ox.Triple(document, _n(DCT + "modified"), ox.Literal(counted, datatype=_n(XSD + "dateTime"))))
    for i, (cls, count) in enumerate(sorted(classes.items())):
        part = _n(f"{base_url}/void#class-{i}")
        out += [ox.Triple(dataset, _n(VOID + "classPartition"), part),
                ox.Triple(part, _n(VOID + "class"), _n(cls)), ox.Triple(part, _n(VOID + "entities"), _int(count))]
    for i, (prop, count) in enumerate(sorted(properties.items())):
        part = _n(f"{base_url}/void#property-{i}")
        out += [ox.Triple(dataset, _n(VOID + "propertyPartition"), part),
                ox.Triple(part, _n(VOID + "property"), _n(prop)), ox.Triple(part, _n(VOID + "triples"), _int(count))]
    for i, peer in enumerate(peers):
        linkset, target = _n(f"{base_url}/void#linkset-{i}"), _n(f"{base_url}/void#peer-{i}")
        out += [ox.Triple(linkset, RDF_TYPE, _n(VOID + "Linkset")),
                ox.Triple(dataset, _n(VOID + "subset"), linkset),
                ox.Triple(linkset, _n(VOID + "subjectsTarget"), dataset),
                ox.Triple(linkset, _n(VOID + "objectsTarget"), target),
                ox.Triple(linkset, _n(DCT + "description"),
                          ox.Literal("this node federates with the peer: SERVICE calls and pulls may reach it",
                                     language="en")),
                ox.Triple(target, RDF_TYPE, _n(VOID + "Dataset")),
                ox.Triple(target, _n("http://xmlns.com/foaf/0.1/homepage"), _n(peer))]
    return out

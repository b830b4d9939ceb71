"""Conversions between pyoxigraph terms (the store, the parsers) and rdflib terms (pyshacl, owlrl).

Two libraries, one set of triples: keep the translation in one place so that a literal's datatype
or language tag cannot be lost on the way between them.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
import rdflib
from rdflib.namespace import XSD

#: rdflib spells an xsd:string literal without a datatype (as Turtle does); so do we.
_XSD_STRING_OX = ox.NamedNode(str(XSD.string))


def to_rdflib(term):
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        datatype = term.datatype
        if datatype == _XSD_STRING_OX:
            return rdflib.Literal(term.value)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(datatype.value))
    if isinstance(term, ox.DefaultGraph):
        return None
    raise TypeError(f"cannot convert {term!r} to rdflib")


def from_rdflib(term):
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot convert {term!r} to pyoxigraph")


def to_rdflib_graph(triples: Iterable[ox.Triple], graph: rdflib.Graph | None = None) -> rdflib.Graph:
    """Fill an rdflib Graph. Terms are converted once each (a twin repeats its IRIs a lot)."""
    graph = graph if graph is not None else rdflib.Graph()
    cache: dict = {}

    def conv(term):
        converted = cache.get(term)
        if converted is None:
            converted = cache[term] = to_rdflib(term)
        return converted

    add = graph.add
    for triple in triples:
        add((conv(triple.subject), conv(triple.predicate), conv(triple.object)))
    return graph

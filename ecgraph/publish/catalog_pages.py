"""The node's DCAT catalog a part at a time.

At 10,000 twins the catalog is 265,000 stored statements, and with each twin's distributions
82 MB of N-Triples: every ``GET /catalog`` read all of it into Python (about 2 s of the web
process), its page for people too, to show 25 resources; and a peer, whose fetches stop at 50 MB,
could not read it at all. A catalog is now read by *resources*: a subject with its fragments (a
dataset, its ``#publication`` and ``#checksum``) and the blank nodes under it, in the order of their
IRIs. An index of the stored catalog's subjects (a few MB at 10,000 twins) is kept per store
generation; a part reads only its resources' statements.

A statement that lists a member of the catalog (``<catalog> dcat:dataset <twin>``) goes with the
member, not with the catalog: each part says which datasets of the catalog it holds, and the
catalog's own resource stays a few statements. Read with the catalog, its 10,000 listings were one
resource larger than a store such as Virtuoso gives in one answer (10,000 rows by default: the part
that held it failed), and most of the first page's time.

The RDF is cut into parts that follow one another by key (``?after=`` the last resource of the
part before, as a peer reads them: a twin published or removed while a client reads the parts
moves no other), each with the Hydra links a DCAT harvester follows (``hydra:next``) and the same
in a ``Link`` header. The page for people numbers its pages.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import pyoxigraph as ox

HYDRA = "http://www.w3.org/ns/hydra/core#"
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
#: the predicates whose statements belong to their object's resource (a catalog listing a member)
LISTING = (ox.NamedNode("http://www.w3.org/ns/dcat#dataset"),)


def family(subject: ox.NamedNode | ox.BlankNode | ox.Triple, bnodes: dict) -> str:
    """The resource a subject belongs to: its IRI without the fragment (a dataset, its
    ``#publication``, ``#checksum`` and ``#distribution-*``), a blank node that of what points to it
    (``bnodes``), else (or a triple term) a key of its own that sorts after every IRI."""
    if isinstance(subject, ox.NamedNode):
        return subject.value.split("#", 1)[0]
    return bnodes.get(subject, "~" + str(subject))


def owner(t: ox.Triple, bnodes: dict) -> str:
    """The resource a statement belongs to: its subject's (:func:`family`), but a statement of
    :data:`LISTING` with an IRI as object belongs to its object's."""
    if isinstance(t.object, ox.NamedNode) and t.predicate in LISTING:
        return family(t.object, bnodes)
    return family(t.subject, bnodes)


@dataclass
class Resources:
    """Every resource's key, sorted, and how to read the statements of some of them."""

    keys: list[str]
    read: Callable[[Sequence[str]], list[ox.Triple]]

    def part(self, after: str | None, size: int) -> tuple[list[str], str | None]:
        """The ``size`` resources whose keys follow ``after`` (from the first without it), and the
        key to ask the next part after (None: this is the last)."""
        start = 0 if after is None else bisect.bisect_right(self.keys, after)
        chosen = self.keys[start:start + size]
        more = start + size < len(self.keys)
        return chosen, (chosen[-1] if more and chosen else None)


def of_triples(triples: Iterable[ox.Triple]) -> Resources:
    """The resources of statements held in memory (the service description, or a catalog whose
    stored graphs hold blank nodes)."""
    triples = list(triples)
    bnodes: dict = {}
    for t in triples:
        if isinstance(t.object, ox.BlankNode) and not isinstance(t.subject, ox.BlankNode):
            bnodes.setdefault(t.object, family(t.subject, bnodes))
    families: dict[str, list[ox.Triple]] = {}
    for t in triples:
        families.setdefault(owner(t, bnodes), []).append(t)
    return Resources(sorted(families), lambda keys: [t for key in keys for t in families.get(key, ())])


def index(store, graphs: Sequence[str]) -> dict[str, list[tuple[str, ox.NamedNode]]] | None:
    """Each resource's subjects in the stored ``graphs`` (``(graph, subject)``; a member a statement
    of :data:`LISTING` names is one too, described there or not), from one query a graph (pages of
    it where a remote store caps its answers); None when a subject there is a blank node (only an
    admin's update writes one): a blank node cannot be asked for again by itself over a remote
    store, so such a catalog is read whole."""
    found: dict[str, list[tuple[str, ox.NamedNode]]] = {}
    for graph in graphs:
        for subject in store.subjects_of(graph, LISTING):
            if not isinstance(subject, ox.NamedNode):
                return None
            found.setdefault(family(subject, {}), []).append((graph, subject))
    return found


def stored(store, graphs: Sequence[str], kept: dict[str, list[tuple[str, ox.NamedNode]]],
           made: Iterable[ox.Triple]) -> Resources:
    """The resources of the stored ``graphs`` (their :func:`index`, ``kept``) together with
    statements made for the request (``made``: a twin's source, the dump's listing)."""
    extra = of_triples(made)

    def read(keys: Sequence[str]) -> list[ox.Triple]:
        out: list[ox.Triple] = []
        for graph in graphs:
            subjects = [subject for key in keys for where, subject in kept.get(key, ()) if where == graph]
            if subjects:
                out += store.triples_about(graph, subjects, LISTING)
        return out + extra.read(keys)

    return Resources(sorted(set(kept) | set(extra.keys)), read)


def view(catalog: ox.NamedNode, total: int, here: str, first: str, following: str | None) -> list[ox.Triple]:
    """The Hydra statements of a part of the catalog at ``here``: the catalog's number of
    resources, the first part and the next one."""
    page = ox.NamedNode(here)
    out = [ox.Triple(catalog, ox.NamedNode(HYDRA + "totalItems"), ox.Literal(str(total), datatype=_XSD_INTEGER)),
           ox.Triple(catalog, ox.NamedNode(HYDRA + "view"), page),
           ox.Triple(page, _RDF_TYPE, ox.NamedNode(HYDRA + "PartialCollectionView")),
           ox.Triple(page, ox.NamedNode(HYDRA + "first"), ox.NamedNode(first))]
    if following is not None:
        out.append(ox.Triple(page, ox.NamedNode(HYDRA + "next"), ox.NamedNode(following)))
    return out


def after_url(base: str, key: str) -> str:
    """The URL of the part after ``key``."""
    return f"{base}?after={quote(key, safe='')}"

"""Personal data stays off the pages, whatever basis a twin states for publishing it.

The standard marks what can be personal data (:mod:`ecgraph.publish.personal`: members typed
``ec:Person`` or ``ec:Household``, contact points and what hangs on them, such as a person's
address). A twin that states a basis (consent, public role) publishes it to the SPARQL endpoint;
the pages for people show none of it by default: the community and network pages leave out such
members and every contact point but an organisation's (``vcard:Organization``) or a role's held
in public (``ec:basis-public-role``), and ``/resource`` does not render a person, a household or
a contact point, nor name one in another resource's statements.
"""

from __future__ import annotations

import pyoxigraph as ox

from ecgraph import errors
from ecgraph.publish import personal


def community(directory, iri: str, page: dict | None) -> dict | None:
    """A community's (or network's) page without its personal data."""
    if page is None:
        return None
    groups = page.get("members_by_type") or []
    hidden = directory.personal(m["iri"] for g in groups for m in g["members"])
    kept = []
    withheld = 0
    for group in groups:
        members = [m for m in group["members"] if m["iri"] not in hidden]
        withheld += len(group["members"]) - len(members)
        if members:
            kept.append({**group, "members": members})
    if groups:
        page["members_by_type"] = kept
    page["personal_withheld"] = withheld
    page["contact"] = directory.public_contacts(iri)
    return page


def refuse(directory, iri: str) -> None:
    """A person, a household or a contact point is not rendered."""
    if directory.personal([iri]):
        raise errors.NotFound("this resource is personal data (a person, a household or a contact point): pages "
                              "do not show it")


def rows(directory, outgoing: list[dict], incoming: list[dict]) -> tuple[list[dict], list[dict]]:
    """Another resource's statements without those naming personal data."""
    iris = {r["o"].value for r in outgoing if isinstance(r["o"], ox.NamedNode)}
    iris |= {r["x"].value for r in incoming if isinstance(r["x"], ox.NamedNode)}
    hidden = directory.personal(iris)
    marked = personal.marked_terms()
    out = [r for r in outgoing if r["p"].value not in marked
           and not (isinstance(r["o"], ox.NamedNode) and r["o"].value in hidden)]
    into = [r for r in incoming if not (isinstance(r["x"], ox.NamedNode) and r["x"].value in hidden)]
    return out, into


def triples(found: list[ox.Triple]) -> list[ox.Triple]:
    """A resource's RDF on /resource without the statements the standard marks as personal."""
    return personal.without(found, personal.personal_triples(found))

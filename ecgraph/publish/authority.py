"""Who speaks for which resource: the authority rule that keeps one twin from rewriting another.

All twins are queried as one union graph, so without a rule a twin could state anything about any
IRI: that another community involves a school, that another twin fails conformance (statements
about the node's catalog record), that a class of the ontology means something else. The rule:

* a twin **speaks for the resources in its namespaces**: IRI prefixes given by the admin at
  registration, or else, at its first accepted upload, the namespaces of its own
  ``ec:DigitalTwin`` and ``ec:EnergyCommunity`` IRIs (each IRI up to its last ``/`` or ``#``);
* a **claim may not overlap** another twin's (neither may be a prefix of the other) nor the
  node's own namespaces, so nobody can claim first what is another's;
* at publishing, a statement whose **subject** belongs to **another twin** or to **the node**
  (``https://w3id.org/ecgraph/``: the ontology, code lists, profiles, catalog and twin graphs; the
  node's own URL; the namespaces of the vocabularies the standard builds on) is refused, and the
  refusal names each such subject and its owner. Subjects in nobody's namespace (a school that is
  a member of several communities and has no twin of its own) and blank nodes stay allowed, and
  any resource may be the **object** of a statement: referring is not claiming;
* what the node infers for a twin follows the same rule (inferences about another twin's
  resources are not kept in this twin's inferred graph);
* the catalog shows the title the admin registered, never one a twin gives itself.

Claims are not retroactive: statements a twin published before someone else claimed the namespace
stay until that twin publishes again (it is then refused until it drops them), or the admin
unpublishes it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import pyoxigraph as ox

from ecgraph import errors, standard

_RDF_TYPE = standard.RDF_TYPE.value
_OWNING_CLASSES = (standard.EC + "DigitalTwin", standard.EC + "EnergyCommunity")
NODE = "the node"


class NotAuthoritative(errors.Unprocessable):
    """An upload states things about resources its twin does not speak for."""

    title = "not authoritative"

    def __init__(self, message: str, subjects: list[dict] | None = None):
        super().__init__(message, subjects=subjects or [])
        self.subjects = subjects or []


class ClaimConflict(errors.Conflict):
    """A namespace claim overlaps another twin's or the node's."""

    title = "namespace conflict"


def namespace_of(iri: str) -> str:
    """An IRI up to and including its last ``/`` or ``#`` (past the scheme and authority)."""
    cut = max(iri.rfind("/"), iri.rfind("#"))
    scheme_end = iri.find("://")
    if cut < 0 or (scheme_end >= 0 and cut < scheme_end + 3):
        return iri
    authority_end = iri.find("/", scheme_end + 3) if scheme_end >= 0 else -1
    if scheme_end >= 0 and (authority_end < 0 or cut < authority_end):
        return iri + "/"  # https://host#x: the whole host
    return iri[:cut + 1]


def derive(triples) -> list[str]:
    """The namespaces a twin claims by default: those of its twin and community IRIs."""
    found = set()
    for t in triples:
        if (t.predicate.value == _RDF_TYPE and t.object.value in _OWNING_CLASSES
                and isinstance(t.subject, ox.NamedNode)):
            found.add(namespace_of(t.subject.value))
    return sorted(found)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def valid_namespace(prefix: str) -> str | None:
    """Why ``prefix`` cannot be a namespace, or None. A namespace is an absolute IRI that names
    at least an authority (``https://host/``) or, for other schemes, more than the scheme."""
    if not isinstance(prefix, str) or not _SCHEME.match(prefix):
        return f"{prefix!r} is not an absolute IRI"
    try:
        ox.NamedNode(prefix)
    except ValueError:
        return f"{prefix!r} is not a valid IRI"
    head, _, rest = prefix.partition(":")
    if rest.startswith("//"):
        authority = rest[2:].split("/", 1)
        if not authority[0] or len(authority) < 2:
            return f"{prefix!r} must name a host and end in a path, like https://example.org/id/"
    elif len(rest) < 2:
        return f"{prefix!r} is too broad: it must say more than its scheme"
    return None


def reserved(public_url: str | None = None) -> list[str]:
    """The namespaces the node speaks for."""
    out = {standard.NODE_NAMESPACE}
    out.update(v for v in standard.PREFIXES.values())
    if public_url:
        out.add(public_url.rstrip("/") + "/")
    return sorted(out)


@dataclass
class Claims:
    """Every namespace with its owner (a twin id or :data:`NODE`), for prefix lookups. Claims do
    not overlap, so at most one of them is a prefix of a given IRI, and if one is, it is the
    greatest claim not after the IRI in sorted order (every string between a prefix and an IRI
    that extends it extends the prefix too)."""

    prefixes: list[str]
    owners: list[str]

    @classmethod
    def build(cls, twin_claims: list[tuple[str, str]], node_namespaces: list[str]) -> Claims:
        node = sorted(set(node_namespaces))
        node = [p for i, p in enumerate(node) if not any(p.startswith(q) for q in node[:i])]
        items = sorted([(p, NODE) for p in node] + list(twin_claims))
        return cls([p for p, _ in items], [o for _, o in items])

    def add(self, owner: str, prefixes: list[str]) -> None:
        """Record claims just accepted (several twins checked in one batch)."""
        for prefix in prefixes:
            at = bisect.bisect_left(self.prefixes, prefix)
            if at < len(self.prefixes) and self.prefixes[at] == prefix:
                continue
            self.prefixes.insert(at, prefix)
            self.owners.insert(at, owner)

    def owner(self, iri: str) -> str | None:
        at = bisect.bisect_right(self.prefixes, iri) - 1
        if at >= 0 and iri.startswith(self.prefixes[at]):
            return self.owners[at]
        return None

    def overlapping(self, prefix: str, twin_id: str) -> tuple[str, str] | None:
        """A claim of someone else's that overlaps ``prefix`` (one is a prefix of the other)."""
        at = bisect.bisect_right(self.prefixes, prefix) - 1
        if at >= 0 and prefix.startswith(self.prefixes[at]) and self.owners[at] != twin_id:
            return self.prefixes[at], self.owners[at]
        for at in range(bisect.bisect_left(self.prefixes, prefix), len(self.prefixes)):
            if not self.prefixes[at].startswith(prefix):
                break
            if self.owners[at] != twin_id:
                return self.prefixes[at], self.owners[at]
        return None


def check_claim(twin_id: str, namespaces: list[str], claims: Claims) -> None:
    for prefix in namespaces:
        problem = valid_namespace(prefix)
        if problem:
            raise ClaimConflict(f"twin {twin_id!r} cannot speak for {prefix}: {problem}")
        clash = claims.overlapping(prefix, twin_id)
        if clash:
            other, owner = clash
            who = "the node itself" if owner == NODE else f"twin {owner!r}"
            raise ClaimConflict(
                f"twin {twin_id!r} cannot speak for {prefix}: it overlaps {other}, which belongs to {who}. "
                f"Mint this twin's IRIs under a namespace of its own (e.g. https://{twin_id}.example/id/), "
                "or ask the node's admin to register the twin with its namespaces.")


def outside(triples, namespaces: list[str]) -> list[str]:
    """Distinct subject IRIs of ``triples`` that are not in ``namespaces`` (blank nodes never are)."""
    prefixes = tuple(namespaces)
    seen: set[str] = set()
    for t in triples:
        subject = t.subject
        if isinstance(subject, ox.NamedNode):
            iri = subject.value
            if iri not in seen and not iri.startswith(prefixes):
                seen.add(iri)
    return sorted(seen)


def refuse_foreign(twin_id: str, subjects: list[str], claims: Claims, limit: int = 20) -> None:
    """Refuse the upload if any of ``subjects`` belongs to another twin or to the node."""
    offending = []
    for iri in subjects:
        owner = claims.owner(iri)
        if owner is not None and owner != twin_id:
            offending.append({"subject": iri, "owner": "node" if owner == NODE else owner})
    if not offending:
        return
    shown = ", ".join(f"<{o['subject']}> ({'the node' if o['owner'] == 'node' else 'twin ' + repr(o['owner'])})"
                      for o in offending[:5])
    more = f" and {len(offending) - 5} more" if len(offending) > 5 else ""
    raise NotAuthoritative(
        f"twin {twin_id!r} states facts about {len(offending)} resource(s) it does not speak for: {shown}{more}. "
        "A twin may describe resources in its own namespace, blank nodes, and resources nobody has "
        "claimed; it may refer to any resource as an object. Remove those statements (keep the "
        "links to them) and publish again; nothing was stored.",
        offending[:limit])


def keep_inferred(ntriples: str, twin_id: str, namespaces: list[str], claims: Claims) -> str:
    """The inferred N-Triples of a twin without the lines about other twins' or the node's
    resources."""
    prefixes = tuple("<" + p for p in namespaces)
    kept = []
    for line in ntriples.split("\n"):
        if not line:
            continue
        if line.startswith("<") and not line.startswith(prefixes):
            owner = claims.owner(line[1:line.index(">")])
            if owner is not None and owner != twin_id:
                continue
        kept.append(line)
    return "\n".join(kept)

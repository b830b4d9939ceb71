"""Licences of twins: which one a twin states, and whether it is open.

A twin states its licence with ``dcterms:license`` on its ``ec:DigitalTwin``. The recommended
profile (1.1.0) warns when it is not an SPDX or Creative Commons IRI; the next major profile
version requires one. "Open" is the Open Definition's sense (anyone may use, share and adapt the
data, at most with attribution and share-alike): CC0, the public-domain mark, CC BY and CC BY-SA
of every version and port, and the open data licences SPDX lists (ODbL, ODC-By, PDDL, the national
open government licences). NonCommercial and NoDerivatives licences are not open.

:func:`is_open_licence` is the one place that decides it: harvesting skips twins for which it
says no, the dump states each twin's licence beside its data.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

from ecgraph import standard

LICENSE = "http://purl.org/dc/terms/license"
_TWIN_CLASS = standard.EC + "DigitalTwin"

#: what the recommended profile's ``ecrec:DigitalTwinShape-licenseKnown`` accepts (its sh:pattern)
KNOWN = re.compile(r"^https?://(creativecommons\.org/(licenses|publicdomain)/|spdx\.org/licenses/)")

_CC_OPEN = re.compile(
    r"^https?://creativecommons\.org/("
    r"licenses/(by|by-sa)/\d\.\d(/[a-z]{2}(-[a-z]{2})?)?"  # CC BY, CC BY-SA and their ports
    r"|publicdomain/(zero|mark)/1\.0"
    r")(/(legalcode(\.[a-z-]+)?|deed\.[a-zA-Z-]+)?)?/?$")

#: SPDX identifiers of open data and content licences (spdx.org/licenses, Open Definition conformant)
SPDX_OPEN = frozenset({
    "CC0-1.0", "PDDL-1.0", "ODbL-1.0", "ODC-By-1.0", "CDLA-Permissive-1.0", "CDLA-Permissive-2.0",
    "CDLA-Sharing-1.0", "CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-1.0",
    "CC-BY-SA-2.0", "CC-BY-SA-2.5", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC-BY-3.0-AT", "CC-BY-3.0-DE",
    "CC-BY-3.0-NL", "CC-BY-3.0-US", "CC-BY-SA-3.0-AT", "CC-BY-SA-3.0-DE", "CC-BY-SA-2.0-UK",
    "OGL-UK-1.0", "OGL-UK-2.0", "OGL-UK-3.0", "OGL-Canada-2.0", "etalab-2.0", "DL-DE-BY-2.0",
    "DL-DE-ZERO-2.0", "NLOD-1.0", "NLOD-2.0", "OGDL-Taiwan-1.0", "Community-Spec-1.0",
})
_SPDX = re.compile(r"^https?://spdx\.org/licenses/([A-Za-z0-9.+-]+?)(\.html|\.json)?$")


def is_known_licence(iri: str) -> bool:
    """Whether ``iri`` names a licence by SPDX or Creative Commons (what the profile asks)."""
    return bool(KNOWN.match(iri))


def is_open_licence(iri: str | None) -> bool:
    """Whether ``iri`` is an open licence: CC0, the public-domain mark, CC BY, CC BY-SA, or an
    open data licence by its SPDX IRI. ``None`` (no licence stated) is not open."""
    if not iri:
        return False
    if _CC_OPEN.match(iri):
        return True
    found = _SPDX.match(iri)
    return bool(found and found.group(1) in SPDX_OPEN)


def twin_licence(triples: list[ox.Triple]) -> str | None:
    """The licence IRI a twin states on its ``ec:DigitalTwin`` (the first in IRI order if it states
    several), or None."""
    twins = {t.subject for t in triples if t.predicate == standard.RDF_TYPE
             and isinstance(t.object, ox.NamedNode) and t.object.value == _TWIN_CLASS}
    found = sorted(t.object.value for t in triples
                   if t.subject in twins and t.predicate.value == LICENSE and isinstance(t.object, ox.NamedNode))
    return found[0] if found else None


__all__ = ["is_open_licence", "is_known_licence", "twin_licence", "KNOWN", "SPDX_OPEN"]

"""Make the pinned vocabulary indexes in this folder from the owners' files.

The tests check every external IRI the standard uses (ontology, vocabularies, context, shapes,
kit cases, demo twins) against what its owner publishes: that the term exists and is used as
its owner declares it. The owners' files are large (schema.org alone is 1 MB); the tests need
only, for each term of each vocabulary, how it is declared. This script keeps exactly that, per
vocabulary, as sorted N-Triples:

    python tests/vocabularies/extract.py /path/to/the/pinned/vocabularies

(on the project's machines the copies pinned on 2026-11-29 are in ../shared/vocabularies; see
README.md for their sources and licences).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pyoxigraph as ox

HERE = Path(__file__).resolve().parent

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SCHEMA = "https://schema.org/"
QUDT = "http://qudt.org/schema/qudt/"

#: What a declaration is made of: its kind, its place in the hierarchy, what it links, whether it
#: is deprecated and (for units) its conversion to SI and its quantity kind.
KEPT = {RDF + "type", RDFS + "domain", RDFS + "range", RDFS + "subClassOf", RDFS + "subPropertyOf",
        OWL + "inverseOf", OWL + "deprecated", SCHEMA + "domainIncludes", SCHEMA + "rangeIncludes",
        SCHEMA + "supersededBy", "http://purl.org/dc/terms/isReplacedBy", QUDT + "conversionMultiplier",
        QUDT + "hasQuantityKind"}

#: index file -> (source files, namespaces whose terms it keeps)
VOCABULARIES = {
    "schemaorg": (["schemaorg-current-https.ttl"], ["https://schema.org/"]),
    "dcat": (["dcat3.ttl"], ["http://www.w3.org/ns/dcat#"]),
    "dcterms": (["zazuko-dcterms.nq"], ["http://purl.org/dc/terms/"]),
    "org": (["zazuko-org.nq"], ["http://www.w3.org/ns/org#"]),
    "prov": (["zazuko-prov.nq"], ["http://www.w3.org/ns/prov#"]),
    "vcard": (["zazuko-vcard.nq"], ["http://www.w3.org/2006/vcard/ns#"]),
    "geo": (["zazuko-geo.nq"], ["http://www.opengis.net/ont/geosparql#"]),
    "skos": (["zazuko-skos.nq"], ["http://www.w3.org/2004/02/skos/core#"]),
    "void": (["zazuko-void.nq"], ["http://rdfs.org/ns/void#"]),
    "dqv": (["zazuko-dqv.nq"], ["http://www.w3.org/ns/dqv#"]),
    "earl": (["zazuko-earl.nq"], ["http://www.w3.org/ns/earl#"]),
    "sosa": (["sosa.ttl"], ["http://www.w3.org/ns/sosa/"]),
    "qudt-schema": (["qudt-schema.ttl"], [QUDT]),
    "qudt-units": (["qudt-units.ttl"], ["http://qudt.org/vocab/unit/"]),
    "qudt-quantitykinds": (["qudt-qk.ttl"], ["http://qudt.org/vocab/quantitykind/"]),
}


def extract(source_dir: Path) -> dict[str, str]:
    digests = {}
    for name, (files, namespaces) in VOCABULARIES.items():
        kept = set()
        for file in files:
            path = source_dir / file
            digests[file] = hashlib.sha256(path.read_bytes()).hexdigest()
            fmt = ox.RdfFormat.N_QUADS if file.endswith(".nq") else ox.RdfFormat.TURTLE
            for q in ox.parse(path=str(path), format=fmt, base_iri="http://qudt.org/"):
                s, p = q.subject, q.predicate.value
                if (isinstance(s, ox.NamedNode) and p in KEPT and any(s.value.startswith(n) for n in namespaces)
                        and not isinstance(q.object, ox.BlankNode)):
                    kept.add(f"{s} {q.predicate} {q.object} .")
        (HERE / f"{name}.nt").write_text("\n".join(sorted(kept)) + "\n", encoding="utf-8")
    return digests


if __name__ == "__main__":
    for file, digest in sorted(extract(Path(sys.argv[1])).items()):
        print(f"{digest}  {file}")

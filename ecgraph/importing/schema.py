"""A JSON Schema (draft 2020-12) of a twin written as plain JSON with the published context, for
vendors who produce JSON and never see RDF.

Generated from the standard: each property is a term of the JSON-LD context (its ``@type`` gives
the JSON type: a date, an integer, a decimal as a number or a string, a link as an IRI string or a
nested node; a code-list term gives the enumeration of its short names; a ``@language`` container
gives a language map), and each class's required properties are the core profile's
``sh:minCount`` constraints on it (alternatives such as ``foundingDate``/``foundingYear`` count as
one). The schema checks what JSON can check; the validator checks the rest (``ecgraph validate``).
Written by ``python -m ecgraph.importing.templates`` to ``ecgraph/importing/twin.schema.json``.
"""

from __future__ import annotations

from ecgraph import standard

SCHEMA_ID = "https://w3id.org/ecgraph/schema/twin.json"
_SH = "http://www.w3.org/ns/shacl#"
_DATE = r"^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?$"
_DECIMAL = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$"


def _value_schema(st, name: str, definition: dict) -> dict:
    kind = definition.get("@type")
    xsd = "http://www.w3.org/2001/XMLSchema#"
    if definition.get("@container") == "@language":
        return {"oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"},
                                                "propertyNames": {"pattern": "^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$"}}]}
    if kind == "@vocab" and isinstance(definition.get("@context"), dict):
        codes = sorted(definition["@context"])
        return {"enum": codes}
    if kind == "@id":
        return {"oneOf": [{"type": "string", "format": "iri"}, {"$ref": "#/$defs/node"}]}
    if kind == xsd + "date":
        return {"type": "string", "pattern": _DATE}
    if kind == xsd + "dateTime":
        return {"type": "string", "format": "date-time"}
    if kind == xsd + "gYear":
        return {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^-?[0-9]{4,}$"}]}
    if kind == xsd + "integer":
        return {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^[+-]?[0-9]+$"}]}
    if kind == xsd + "decimal":
        return {"oneOf": [{"type": "number"}, {"type": "string", "pattern": _DECIMAL}]}
    if kind is None and name not in ("id", "type"):
        return {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"$ref": "#/$defs/node"}]}
    return {}


def _many(schema: dict) -> dict:
    return {"oneOf": [schema, {"type": "array", "items": schema}]} if schema else {}


def required_by_class(st) -> dict[str, list[list[str]]]:
    """Class term -> the required properties, each a list of the terms that state it."""
    by_iri: dict[str, list[str]] = {}
    for name in st.context:
        if name.startswith("@") or isinstance(st.context[name], str) and ":" not in st.context[name]:
            continue
        definition = st.term(name)
        by_iri.setdefault(definition["@id"], []).append(name)
    class_terms = {st.expand(v): k for k, v in st.context.items() if isinstance(v, str) and not k.startswith("@")
                   and v[:1].isalpha() and v.split(":", 1)[-1][:1].isupper()}
    out: dict[str, list[list[str]]] = {}
    shapes = [t.subject.value for t in st.triples if t.predicate.value == _SH + "targetClass"
              and t.subject.value.startswith(standard.SHAPES_NS["core"])]
    for shape in shapes:
        for target in st.objects(shape, _SH + "targetClass"):
            term = class_terms.get(target.value)
            if term is None:
                continue
            for prop in st.objects(shape, _SH + "property"):
                counts = st.objects(prop.value, _SH + "minCount")
                paths = st.objects(prop.value, _SH + "path")
                if not counts or int(counts[0].value) < 1 or not paths or paths[0].__class__.__name__ != "NamedNode":
                    continue
                terms = by_iri.get(paths[0].value)
                if terms and sorted(terms) not in out.setdefault(term, []):
                    out[term].append(sorted(terms))
    return out


def twin_schema(st) -> dict:
    properties = {}
    for name in sorted(st.context):
        if name.startswith("@") or name in ("id", "type"):
            continue
        value = st.context[name]
        if isinstance(value, str) and (value.endswith(("/", "#")) or value.split(":", 1)[-1][:1].isupper()):
            continue  # a prefix or a class
        properties[name] = _many(_value_schema(st, name, st.term(name)))
    properties["id"] = {"type": "string", "format": "iri-reference"}
    properties["type"] = _many({"type": "string"})
    rules = []
    for term, required in sorted(required_by_class(st).items()):
        is_type = {"anyOf": [{"const": term}, {"type": "array", "contains": {"const": term}}]}
        rules.append({"if": {"properties": {"type": is_type}, "required": ["type"]},
                      "then": {"allOf": [{"anyOf": [{"required": [t]} for t in terms]} for terms in required]}})
    node = {"type": "object", "properties": properties, "allOf": rules}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"ecgraph twin in plain JSON (standard {standard.STANDARD_VERSION})",
        "description": "A twin as JSON with the ecgraph JSON-LD context: an object with \"@context\" and "
                       "\"@graph\" (an array of nodes), or one node. Generated from the context and the core "
                       "profile; the conformance validator checks what JSON Schema cannot.",
        "type": "object",
        "properties": {"@context": {}, "@graph": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        "required": ["@context"],
        "anyOf": [{"required": ["@graph"]}, {"$ref": "#/$defs/node"}],
        "$defs": {"node": node},
    }

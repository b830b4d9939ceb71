"""What a validation result says to the person who must fix it, in English, French or Dutch.

A shape's ``sh:message`` states its rule ("An ec:EnergyCommunity may have at most one
schema:foundingDate, an xsd:date or an xsd:gYear"); one shape often checks several things (a
count, a datatype, a list), so the rule alone does not say which of them failed. Each result's
message therefore starts from the constraint that failed and the value that failed it: "wrong
datatype: "2012"^^xsd:date is not a valid xsd:date (a year alone is "2012"^^xsd:gYear)", "too many
values of ...", "ec:legalform-cooprative is not a code of ec:LegalForms (did you mean
ec:legalform-cooperative?)", with a blank node shown by what it contains rather than its label;
the rule follows in ``Result.rule``.

:func:`fold` then reports one mistake once: a value that fails sh:datatype or sh:nodeKind also
fails every comparison made with it and every sh:or built on it, and those consequences are kept
inside the first result (``also``) instead of standing beside it.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

from ecgraph import standard
from ecgraph.validation import shacl
from ecgraph.validation.rules import COMPONENT as CHECK_COMPONENT
from ecgraph.validation.rules import nearest

PREFIXES = standard.PREFIXES
LANGUAGES = ("en", "fr", "nl")
XSD = "http://www.w3.org/2001/XMLSchema#"
SH = shacl.SH


# --- terms in Turtle ---------------------------------------------------------------------------------


def render(term) -> str:
    """A term in Turtle, with the usual prefixes, so a vendor can search their export for it."""
    if isinstance(term, ox.NamedNode):
        return _compact(term.value)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        lexical = term.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        if term.language:
            return f'"{lexical}"@{term.language}'
        if term.datatype.value == XSD + "string":
            return f'"{lexical}"'
        return f'"{lexical}"^^{_compact(term.datatype.value)}'
    return str(term)


def _compact(iri: str) -> str:
    best = None
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and (best is None or len(namespace) > len(PREFIXES[best])):
            local = iri[len(namespace) :]
            if local and all(c.isalnum() or c in "-_." for c in local) and not local.endswith("."):
                best = prefix
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else f"<{iri}>"


def render_path(shapes: shacl.ShapesGraph, path) -> str:
    if isinstance(path, ox.NamedNode):
        return render(path)
    inverse = shapes.value(path, ox.NamedNode(SH + "inversePath"))
    if inverse is not None:
        return "^" + render_path(shapes, inverse)
    if shapes.value(path, shacl.RDF_FIRST) is not None:
        return "/".join(render_path(shapes, p) for p in shapes.rdf_list(path))
    alternatives = shapes.value(path, ox.NamedNode(SH + "alternativePath"))
    if alternatives is not None:
        return "(" + "|".join(render_path(shapes, p) for p in shapes.rdf_list(alternatives)) + ")"
    for key, suffix in (("zeroOrMorePath", "*"), ("oneOrMorePath", "+"), ("zeroOrOnePath", "?")):
        inner = shapes.value(path, ox.NamedNode(SH + key))
        if inner is not None:
            return f"({render_path(shapes, inner)}){suffix}"
    return render(path)


#: A literal longer than this is shown cut in a message (the result's value field keeps it whole).
LONGEST_SHOWN = 120


def shorten(term) -> str:
    """A term in Turtle, a very long literal cut to its start and its length, so that one huge
    value does not make a message (and a 422 answer) huge."""
    if isinstance(term, ox.Literal) and len(term.value) > LONGEST_SHOWN:
        cut = (
            ox.Literal(term.value[:60], datatype=term.datatype)
            if not term.language
            else ox.Literal(term.value[:60], language=term.language)
        )
        text = render(cut)
        end = text.rindex('"')
        return f"{text[:end]}… ({len(term.value)} characters){text[end:]}"
    return render(term)


def describe(term, data: shacl.DataIndex | None, depth: int = 1) -> str:
    """A value as a person recognises it: a blank node by what it states ("[ qudt:numericValue
    12 ; qudt:hasUnit unit:KiloW-HR ]"), not by a label the document never wrote; a very long
    literal by its start and length."""
    if not isinstance(term, ox.BlankNode) or data is None:
        return shorten(term)
    props = data.out.get(term)
    if not props:
        return "[ ]"
    parts = []
    for predicate, objects in list(props.items())[:6]:
        shown = ", ".join(
            describe(o, data, depth - 1) if depth > 0 else ("[ … ]" if isinstance(o, ox.BlankNode) else shorten(o))
            for o in objects[:3]
        )
        parts.append(f"{'a' if predicate == shacl.RDF_TYPE else render(predicate)} {shown}")
    return "[ " + " ; ".join(parts) + " ]"


# --- the words ---------------------------------------------------------------------------------------

_WORDS = {
    "missing": {"en": "{path} is missing", "fr": "{path} manque", "nl": "{path} ontbreekt"},
    "too_few": {
        "en": "too few values of {path}: at least {n} needed",
        "fr": "trop peu de valeurs de {path} : au moins {n} requises",
        "nl": "te weinig waarden van {path}: minstens {n} nodig",
    },
    "too_many": {
        "en": "too many values of {path}: at most {n} allowed, found {found}",
        "fr": "trop de valeurs de {path} : au plus {n} permises, trouvé {found}",
        "nl": "te veel waarden van {path}: hoogstens {n} toegestaan, gevonden {found}",
    },
    "datatype": {
        "en": "wrong datatype: {value} is not {expected}",
        "fr": "mauvais type de données : {value} n'est pas {expected}",
        "nl": "verkeerd datatype: {value} is geen {expected}",
    },
    "ill_typed": {
        "en": "{value} is not a valid {datatype}",
        "fr": "{value} n'est pas un {datatype} valide",
        "nl": "{value} is geen geldige {datatype}",
    },
    "year_as_date": {
        "en": 'a year alone is an xsd:gYear: write "{year}"^^xsd:gYear (in JSON-LD "foundingYear": {year})',
        "fr": 'une année seule est une xsd:gYear : écrivez "{year}"^^xsd:gYear',
        "nl": 'een jaar alleen is een xsd:gYear: schrijf "{year}"^^xsd:gYear',
    },
    "datetime_as_date": {
        "en": "a day with a time is an xsd:dateTime",
        "fr": "un jour avec une heure est un xsd:dateTime",
        "nl": "een dag met een uur is een xsd:dateTime",
    },
    "node_kind": {"en": "{value} is not {kind}", "fr": "{value} n'est pas {kind}", "nl": "{value} is geen {kind}"},
    "not_in_list": {
        "en": "{value} is not in {scheme}",
        "fr": "{value} n'est pas dans {scheme}",
        "nl": "{value} staat niet in {scheme}",
    },
    "not_local_code": {
        "en": ", nor a local code with a skos:broadMatch to one",
        "fr": ", ni un code local avec un skos:broadMatch vers l'un d'eux",
        "nl": ", noch een lokale code met een skos:broadMatch naar één ervan",
    },
    "did_you_mean": {
        "en": " (did you mean {guess}?)",
        "fr": " (vouliez-vous dire {guess} ?)",
        "nl": " (bedoelde u {guess}?)",
    },
    "not_class": {
        "en": "{value} is not typed {cls} in this twin",
        "fr": "{value} n'est pas typé {cls} dans ce jumeau",
        "nl": "{value} is in deze tweeling niet getypeerd als {cls}",
    },
    "below": {
        "en": "{value} is below the minimum {bound}",
        "fr": "{value} est sous le minimum {bound}",
        "nl": "{value} ligt onder het minimum {bound}",
    },
    "above": {
        "en": "{value} is above the maximum {bound}",
        "fr": "{value} dépasse le maximum {bound}",
        "nl": "{value} ligt boven het maximum {bound}",
    },
    "not_comparable": {
        "en": "{value} cannot be compared with {bound}",
        "fr": "{value} ne peut pas être comparé à {bound}",
        "nl": "{value} kan niet vergeleken worden met {bound}",
    },
    "after": {
        "en": "{path} {value} is after {other} {others}",
        "fr": "{path} {value} est après {other} {others}",
        "nl": "{path} {value} ligt na {other} {others}",
    },
    "cannot_order": {
        "en": "{path} {value} cannot be compared with {other} {others}: give both in the same form",
        "fr": "{path} {value} ne peut pas être comparé à {other} {others} : donnez les deux sous la même forme",
        "nl": "{path} {value} kan niet vergeleken worden met {other} {others}: geef beide in dezelfde vorm",
    },
    "pattern": {
        "en": "{value} does not have the expected form",
        "fr": "{value} n'a pas la forme attendue",
        "nl": "{value} heeft niet de verwachte vorm",
    },
    "kind_iri": {"en": "an IRI", "fr": "un IRI", "nl": "een IRI"},
    "kind_resource": {
        "en": "a resource (an IRI or a node)",
        "fr": "une ressource (IRI ou nœud)",
        "nl": "een bron (IRI of knoop)",
    },
    "kind_literal": {"en": "a literal", "fr": "un littéral", "nl": "een literal"},
    "or": {"en": " or ", "fr": " ou ", "nl": " of "},
    "found": {"en": "found", "fr": "trouvé", "nl": "gevonden"},
}


def word(key: str, lang: str, **values) -> str:
    table = _WORDS[key]
    return (table.get(lang) or table["en"]).format(**values)


def in_language(literals: list, lang: str) -> str | None:
    for wanted in (lang, "en", None):
        for lit in literals:
            if isinstance(lit, ox.Literal) and lit.language == wanted:
                return lit.value
    return literals[0].value if literals else None


# --- the lead of a message -----------------------------------------------------------------------------


class Messages:
    """Builds each result's message from its shape and the data it was found in."""

    def __init__(self, shapes: shacl.ShapesGraph, data: shacl.DataIndex | None, lang: str = "en"):
        self.shapes = shapes
        self.data = data
        self.lang = lang if lang in LANGUAGES else "en"

    def param(self, shape, name: str):
        return self.shapes.value(shape, ox.NamedNode(SH + name))

    def lead(self, f: shacl.Finding, path_text: str | None) -> str | None:
        """The first words of the message: what failed, on which value. None: the rule says it."""
        lang = self.lang
        shape = f.shape
        c = f.component
        path = path_text or ""
        value = describe(f.value, self.data) if f.value is not None else None
        if c == CHECK_COMPONENT:
            return f.detail if lang == "en" else None  # the checks' details are in English; the rule is translated
        if c == "MinCountConstraintComponent":
            return None  # the rule ("must have at least one ...") says exactly what is missing
        if c == "MaxCountConstraintComponent":
            n = int(self.param(shape, "maxCount").value)
            if n == 0:
                return None  # "must not be used": the rule says why
            found = self._values(f)
            return word("too_many", lang, path=path, n=n, found=", ".join(found) if found else "more")
        if c == "DatatypeConstraintComponent":
            return self._datatype(f.value, [self.param(shape, "datatype")])
        if c == "OrConstraintComponent" and f.path is not None and f.value is not None:
            alternatives = self.shapes.rdf_list(self.param(shape, "or"))
            datatypes = [self.param(a, "datatype") for a in alternatives]
            if all(d is not None for d in datatypes):
                return self._datatype(f.value, datatypes)
            code_shape = next((a for a in alternatives if self.param(a, "in") is not None), None)
            if code_shape is not None:
                return self._not_in(f.value, code_shape, local=True)
            if all(self.param(a, "class") is not None for a in alternatives):
                classes = word("or", lang).join(render(self.param(a, "class")) for a in alternatives)
                return word("not_class", lang, value=value, cls=classes)
            return None
        if c == "InConstraintComponent":
            return self._not_in(f.value, shape, local=False)
        if c == "NodeKindConstraintComponent":
            kind = self.param(shape, "nodeKind").value.rsplit("#", 1)[-1]
            text = {"IRI": "kind_iri", "BlankNodeOrIRI": "kind_resource", "Literal": "kind_literal"}.get(kind)
            return word("node_kind", lang, value=value, kind=word(text, lang) if text else kind)
        if c == "ClassConstraintComponent":
            return word("not_class", lang, value=value, cls=render(self.param(shape, "class")))
        if c in (
            "MinInclusiveConstraintComponent",
            "MinExclusiveConstraintComponent",
            "MaxInclusiveConstraintComponent",
            "MaxExclusiveConstraintComponent",
        ):
            name = c[0].lower() + c[1:].replace("ConstraintComponent", "")
            bound = self.param(shape, name)
            if shacl.compare(f.value, bound) is None:
                return word("not_comparable", lang, value=value, bound=render(bound))
            return word("below" if name.startswith("min") else "above", lang, value=value, bound=render(bound))
        if c in ("LessThanConstraintComponent", "LessThanOrEqualsConstraintComponent"):
            name = "lessThan" if c.startswith("LessThanConstraint") else "lessThanOrEquals"
            other = self.param(shape, name)
            others = self.data.objects(f.focus, other) if self.data is not None else []
            comparable = all(shacl.compare(f.value, o) is not None for o in others)
            return word(
                "after" if comparable else "cannot_order",
                lang,
                path=path,
                value=value,
                other=render(other),
                others=", ".join(shorten(o) for o in others),
            )
        return None  # sh:pattern, sh:node, sh:qualifiedValueShape, node-level sh:or: the rule says what is expected

    def _values(self, f: shacl.Finding) -> list[str]:
        if self.data is None or not isinstance(f.path, ox.NamedNode):
            return []
        return [describe(v, self.data) for v in self.data.objects(f.focus, f.path)][:5]

    def _datatype(self, value, datatypes) -> str:
        lang = self.lang
        expected = word("or", lang).join(render(d) for d in datatypes if d is not None)
        text = word("datatype", lang, value=describe(value, self.data), expected=expected)
        if isinstance(value, ox.Literal) and not value.language:
            if value.datatype in datatypes and not shacl.well_typed(value):
                text = word("ill_typed", lang, value=shorten(value), datatype=render(value.datatype))
            if value.datatype.value == XSD + "date":
                if re.fullmatch(r"[0-9]{4}", value.value):
                    text += "; " + word("year_as_date", lang, year=value.value)
                elif "T" in value.value:
                    text += "; " + word("datetime_as_date", lang)
        return text

    def _not_in(self, value, code_shape, *, local: bool) -> str:
        lang = self.lang
        scheme = self.shapes.value(code_shape, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso"))
        scheme_text = render(scheme) if scheme is not None else "the list"
        text = word("not_in_list", lang, value=describe(value, self.data), scheme=scheme_text)
        if local:
            text += word("not_local_code", lang)
        codes = [c for c in self.shapes.rdf_list(self.param(code_shape, "in")) if isinstance(c, ox.NamedNode)]
        if isinstance(value, (ox.NamedNode, ox.Literal)):
            written = value.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            by_name: dict = {}
            for c in codes:  # "legalform-cooperative" and its short name "cooperative"
                name = c.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
                by_name.setdefault(name, c)
                by_name.setdefault(name.split("-", 1)[-1], c)
            guess = nearest(written, by_name, cutoff=0.5)
            if guess:
                text += word("did_you_mean", lang, guess=render(by_name[guess[0]]))
        return text


# --- one mistake, one result -----------------------------------------------------------------------

_VALUE_PROBLEMS = {"DatatypeConstraintComponent", "NodeKindConstraintComponent"}
_COMPARISONS = {
    "ClassConstraintComponent",
    "MinInclusiveConstraintComponent",
    "MinExclusiveConstraintComponent",
    "MaxInclusiveConstraintComponent",
    "MaxExclusiveConstraintComponent",
    "LessThanConstraintComponent",
    "LessThanOrEqualsConstraintComponent",
    "PatternConstraintComponent",
}
_LOGICAL = {
    "OrConstraintComponent",
    "NotConstraintComponent",
    "NodeConstraintComponent",
    "AndConstraintComponent",
    "XoneConstraintComponent",
}
_RANK = {"Violation": 0, "Warning": 1, "Info": 2}


def fold(results: list, findings: list[shacl.Finding], shapes: shacl.ShapesGraph, data: shacl.DataIndex | None) -> list:
    """Keep one result per mistake. ``results`` and ``findings`` are parallel lists; each result
    whose failure follows from a malformed value already reported (the same value compared with a
    bound or another date, or a node-level sh:or / sh:not that passes once that value is gone) goes
    into that result's ``also`` list. A consequence is never folded into a result less severe."""
    primaries: dict = {}
    for i, f in enumerate(findings):
        # a malformed value: of the wrong datatype or kind, or matching none of the value forms
        # of a property (an sh:or of datatypes, a code list)
        if f.value is not None and (
            f.component in _VALUE_PROBLEMS
            or f.component == "InConstraintComponent"
            or f.component == "OrConstraintComponent"
            and f.path is not None
        ):
            primaries.setdefault((f.focus, f.value), i)
    if not primaries:
        return results
    by_focus: dict = {}
    malformed: dict = {}
    for (focus, value), i in primaries.items():
        by_focus.setdefault(focus, []).append(i)
        malformed.setdefault(value, i)
    folded_into: dict[int, int] = {}
    for i, f in enumerate(findings):
        if i in primaries.values():
            continue
        target = None
        if f.component in _COMPARISONS and (f.focus, f.value) in primaries:
            target = primaries[(f.focus, f.value)]
        elif isinstance(f.focus, ox.Literal) and f.focus in malformed:
            target = malformed[f.focus]  # a shape targeting the objects of a property met the literal
        elif f.component in _LOGICAL and f.path is None and f.focus in by_focus and data is not None:
            for j in by_focus[f.focus]:
                if _explained(f, findings[j], shapes, data):
                    target = j
                    break
        if target is not None and _RANK.get(results[target].severity, 9) <= _RANK.get(results[i].severity, 9):
            folded_into[i] = target
    out = []
    for i, r in enumerate(results):
        if i in folded_into:
            continue
        r.also = [
            {
                "shape": results[j].shape,
                "shape_label": results[j].shape_label,
                "component": results[j].component,
                "severity": results[j].severity,
                "focus_nt": results[j].focus_nt,
                "message": results[j].message,
            }
            for j, t in sorted(folded_into.items())
            if t == i
        ]
        out.append(r)
    return out


def _explained(
    logical: shacl.Finding, primary: shacl.Finding, shapes: shacl.ShapesGraph, data: shacl.DataIndex
) -> bool:
    """Whether the node-level ``logical`` failure goes away once ``primary``'s malformed value is
    taken out of the data (then it adds nothing to what ``primary`` says)."""
    if not isinstance(primary.path, ox.NamedNode):
        return False
    kept = [
        ox.Triple(s, p, o)
        for s, props in data.out.items()
        for p, objects in props.items()
        for o in objects
        if not (s == primary.focus and p == primary.path and o == primary.value)
    ]
    engine = shacl.Engine(shapes, shacl.DataIndex(kept))
    shape = shapes.compiled(logical.shape)
    for constraint in shape.constraints:
        if any(True for _ in constraint(engine, shape, logical.focus, [logical.focus])):
            return False
    return True

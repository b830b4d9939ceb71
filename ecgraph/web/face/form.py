"""The twin form: a community fills in its twin without writing RDF, generated from the shapes.

What is generated from the standard's current profile (so that a new profile version changes the
form with no code change): one field per property shape of the node shapes that target a
section's class (``sh:targetClass``), with

* its kind from the shape: a code list (``sh:in``, directly or through the ``sh:or`` alternatives
  or a ``sh:qualifiedValueShape``) is a drop-down; ``sh:datatype`` gives a date, whole-number,
  number or text input; ``sh:nodeKind sh:IRI`` a web address;
* whether it is required (``sh:minCount`` >= 1) and repeatable (no ``sh:maxCount`` 1);
* its label and help from the ontology (``rdfs:label``, ``rdfs:comment``) and each code's label
  (``skos:prefLabel``) in the reader's language (English, French, Dutch).

The standard is read once, by :class:`ecgraph.importing.templates.Standard` (the reader the
spreadsheet templates, their CSVW description and the JSON Schema are generated with), and what a
property shape cannot say (an address in five fields, a location as latitude and longitude, a
contact point's name and e-mail, a capacity in a fixed unit, the licence and the personal data
basis) comes from the same hand-written layout as the templates' columns
(:data:`ecgraph.importing.templates.SHEETS`): one description of fields, not two.

What is written here by hand is the layout: which sections there are, the class each describes and
the property that links it to the community. :func:`build` turns the submitted values into the
twin's triples (ordinary RDF, published through :meth:`ecgraph.node.Node.publish` like any
upload); :func:`prefill` reads a published twin back into values, for editing it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ecgraph import standard
from ecgraph.importing.templates import SHEETS, Column, Standard
from ecgraph.publish import personal

EC = standard.EC
SH = "http://www.w3.org/ns/shacl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDF_TYPE = standard.RDF_TYPE.value
SDO = "https://schema.org/"
DCT = "http://purl.org/dc/terms/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
GEO = "http://www.opengis.net/ont/geosparql#"
QUDT = "http://qudt.org/schema/qudt/"
#: the most rows one repeatable section takes (a form is for one community, not a register)
MAX_ROWS = 200
LANGS = ("en", "fr", "nl")


@dataclass
class Field:
    #: the form name inside its section (the property's local name, or the template column's key)
    key: str
    #: the property's IRI (None for the flattened fields the builder writes itself)
    path: str | None
    #: text | textarea | date | integer | decimal | url | email | select | class | quantity | latitude | longitude
    kind: str
    required: bool = False
    repeatable: bool = False
    #: (IRI, labels by language) of a drop-down's choices, in the standard's order
    options: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    help: dict[str, str] = field(default_factory=dict)
    #: datatypes the shape allows, in its order (xsd:date before xsd:gYear, ...)
    datatypes: list[str] = field(default_factory=list)
    #: a quantity's unit IRI
    unit: str | None = None
    #: whether a value can be personal data (the form then asks for the basis)
    personal: bool = False
    #: the property shape the field comes from
    shape: str | None = None

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.key

    def helptext(self, lang: str) -> str:
        return self.help.get(lang) or self.help.get("en") or ""

    def option_label(self, iri: str, labels: dict[str, str], lang: str) -> str:
        return labels.get(lang) or labels.get("en") or iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@dataclass
class Section:
    key: str
    #: the class its items are instances of (None: fields of the community or the twin)
    cls: str | None
    #: the property linking the community to an item (``ec:community`` is written the other way)
    link: str | None
    repeatable: bool
    fields: list[Field]
    labels: dict[str, str]

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["en"]


#: the layout: section key, class, link from the community, repeatable, headings
LAYOUT: list[tuple[str, str | None, str | None, bool, dict[str, str]]] = [
    ("community", EC + "EnergyCommunity", None, False,
     {"en": "Your community", "fr": "Votre communauté", "nl": "Uw gemeenschap"}),
    ("place", None, None, False, {"en": "Place", "fr": "Lieu", "nl": "Plaats"}),
    ("members", EC + "Membership", None, True,
     {"en": "Members (schools first)", "fr": "Membres (les écoles d'abord)", "nl": "Leden (scholen eerst)"}),
    ("assets", EC + "Asset", EC + "hasAsset", True,
     {"en": "Assets and capacities", "fr": "Équipements et capacités", "nl": "Installaties en vermogens"}),
    ("indicators", EC + "IndicatorValue", EC + "hasIndicator", True,
     {"en": "Indicators per period", "fr": "Indicateurs par période", "nl": "Indicatoren per periode"}),
    ("lessons", EC + "LessonLearned", EC + "hasLesson", True,
     {"en": "Lessons learned", "fr": "Retours d'expérience", "nl": "Geleerde lessen"}),
    ("initiatives", EC + "Initiative", EC + "hasInitiative", True,
     {"en": "Initiatives", "fr": "Initiatives", "nl": "Initiatieven"}),
    ("contact", None, None, False,
     {"en": "Contact, licence and personal data", "fr": "Contact, licence et données personnelles",
      "nl": "Contact, licentie en persoonsgegevens"}),
]

#: template columns (SHEETS) that the shapes cannot give as fields of their own, by section
FLATTENED = {
    "place": ("community", ("streetAddress", "postalCode", "locality", "region", "country", "latitude",
                            "longitude")),
    "members": ("members", ("name", "memberType")),
    "assets": ("assets", ("assetType",)),
    "contact": ("community", ("contactName", "contactEmail", "license", "personalDataBasis")),
}
#: properties the builder writes itself (links between the sections, the twin's own statements)
_WRITTEN = {EC + "community", EC + "member", RDF_TYPE, GEO + "hasGeometry"}
_DATATYPE_KINDS = {XSD + "date": "date", XSD + "gYear": "date", XSD + "dateTime": "date", XSD + "integer": "integer",
                   XSD + "decimal": "decimal", XSD + "double": "decimal", XSD + "string": "text",
                   standard.RDF_LANGSTRING.value if hasattr(standard, "RDF_LANGSTRING") else
                   "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString": "text"}
#: free text read better in a text area
_LONG = {EC + "purpose", EC + "summary", EC + "whatWorked", EC + "whatDidNotWork", SDO + "description"}


class Form:
    """The sections and fields of the form for one reading of the standard."""

    def __init__(self, st: Standard):
        self.st = st
        self.sections = [self._section(*item) for item in LAYOUT]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    # --- from the shapes ------------------------------------------------------------------------

    def _section(self, key: str, cls: str | None, link: str | None, repeatable: bool,
                 labels: dict[str, str]) -> Section:
        fields: list[Field] = []
        if key in FLATTENED:
            sheet, keys = FLATTENED[key]
            columns = {c.key: c for c in SHEETS[sheet]}
            fields += [self._column_field(columns[k]) for k in keys]
        if cls is not None:
            seen = {f.path for f in fields if f.path}
            for shape_field in self._shape_fields(cls):
                if shape_field.path in seen:
                    continue
                seen.add(shape_field.path or "")
                fields.append(shape_field)
        return Section(key, cls, link, repeatable, fields, labels)

    def _classes(self, cls: str) -> list[str]:
        """The class and, for assets, the asset types of the code list (their shapes add fields)."""
        out = [cls]
        if cls == EC + "Asset":
            out += [o.value for o in self._in_list(standard.SHAPES_NS["core"] + "AssetTypeValue")]
        return out

    def _shape_fields(self, cls: str) -> list[Field]:
        st = self.st
        out: list[Field] = []
        merged: dict[str, Field] = {}
        core = standard.SHAPES_NS["core"]
        for target in self._classes(cls):
            shapes = [t.subject.value for t in st.triples if t.predicate.value == SH + "targetClass"
                      and t.object.value == target and isinstance(t.subject, ox.NamedNode)
                      and t.subject.value.startswith(core)]
            for shape in shapes:
                for prop in st.objects(shape, SH + "property"):
                    made = self._field(prop.value)
                    if made is None or made.path is None:
                        continue
                    if made.path in merged:  # two shapes on one path (a rule and its order check)
                        known = merged[made.path]
                        known.required = known.required or made.required
                        known.repeatable = known.repeatable and made.repeatable
                        if not known.options and made.options:
                            known.options, known.kind = made.options, made.kind
                        continue
                    if target != cls:  # a field of one asset type: required for that type only
                        made.required = False
                    merged[made.path] = made
                    out.append(made)
        return out

    def _path(self, prop: str) -> str | None:
        paths = self.st.objects(prop, SH + "path")
        if not paths:
            return None
        path = paths[0]
        if isinstance(path, ox.NamedNode):
            return path.value
        alternatives = self.st.objects(path.value, SH + "alternativePath")
        if alternatives:  # (qudt:hasUnit qudt:unit): the form writes the first
            first = self.st.objects(alternatives[0].value, standard.RDF_FIRST.value)
            return first[0].value if first and isinstance(first[0], ox.NamedNode) else None
        return None  # an inverse path is written from the other side

    def _in_list(self, shape: str) -> list:
        heads = self.st.objects(shape, SH + "in")
        if not heads:
            return []
        head, out = heads[0], []
        while head.value != standard.RDF_NIL.value:
            out.append(self.st.objects(head.value, standard.RDF_FIRST.value)[0])
            head = self.st.objects(head.value, standard.RDF_REST.value)[0]
        return out

    def _alternatives(self, prop: str) -> list[str]:
        """The shape itself and the value shapes of its sh:or (and sh:node)."""
        out = [prop]
        for key in ("or",):
            for head in self.st.objects(prop, SH + key):
                node = head
                while node.value != standard.RDF_NIL.value:
                    out.append(self.st.objects(node.value, standard.RDF_FIRST.value)[0].value)
                    node = self.st.objects(node.value, standard.RDF_REST.value)[0]
        out += [o.value for o in self.st.objects(prop, SH + "node")]
        return out

    def _field(self, prop: str) -> Field | None:
        st = self.st
        path = self._path(prop)
        if path is None or path in _WRITTEN:
            return None
        minimum = st.objects(prop, SH + "minCount")
        maximum = st.objects(prop, SH + "maxCount")
        if maximum and int(maximum[0].value) == 0:
            return None
        codes: list = []
        datatypes: list[str] = []
        for shape in self._alternatives(prop):
            codes = codes or self._in_list(shape)
            datatypes += [d.value for d in st.objects(shape, SH + "datatype") if d.value not in datatypes]
        node_kind = [k.value for k in st.objects(prop, SH + "nodeKind")]
        unit = self._unit(path)
        if codes:
            kind = "select"
        elif unit is not None:
            kind = "quantity"
        elif datatypes:
            kind = _DATATYPE_KINDS.get(datatypes[0], "text")
            if kind == "text" and path in _LONG:
                kind = "textarea"
        elif node_kind == [SH + "IRI"]:
            kind = "url"
        else:
            return None  # a node of its own (a registration, a turnover): not in the form
        made = Field(key=_local(path), path=path, kind=kind,
                     required=bool(minimum) and int(minimum[0].value) >= 1,
                     repeatable=not (maximum and int(maximum[0].value) <= 1),
                     options=[(c.value, self._labels(c.value)) for c in codes if isinstance(c, ox.NamedNode)],
                     labels=self._property_labels(path, prop), help=self._help(path, prop), datatypes=datatypes,
                     unit=unit, personal=path in personal.MARKED, shape=prop)
        if unit is not None:
            made.help = {lang: f"{text} ({_unit_name(unit)})" for lang, text in made.help.items()} or \
                {"en": _unit_name(unit)}
        return made

    def _unit(self, path: str) -> str | None:
        """The unit a capacity is written in, from the template column of that property."""
        for columns in SHEETS.values():
            for column in columns:
                if column.unit and column.term and self.st.term(column.term)["@id"] == path:
                    return self.st.expand(self.st.term("unit")["@context"][column.unit])
        return None

    def _labels(self, iri: str) -> dict[str, str]:
        return self.st.texts(iri, SKOS + "prefLabel") or self.st.texts(iri, RDFS + "label")

    def _property_labels(self, path: str, prop: str | None = None) -> dict[str, str]:
        labels = self.st.texts(path, RDFS + "label")
        if not labels and prop:
            labels = self.st.texts(prop, RDFS + "label")
        return labels or {"en": _local(path)}

    def _help(self, path: str, prop: str | None = None) -> dict[str, str]:
        return self.st.texts(path, RDFS + "comment")

    # --- from the template columns --------------------------------------------------------------

    def _column_field(self, column: Column) -> Field:
        st = self.st
        kind = {"iri": "url", "code": "select", "class": "class"}.get(column.kind, column.kind)
        path = st.term(column.term)["@id"] if column.term else None
        options: list[tuple[str, dict[str, str]]] = []
        if column.kind in ("code", "class"):
            options = [(iri, self._labels(iri)) for _, iri in st.codes(column)]
            if column.key == "memberType":  # schools first
                options.sort(key=lambda o: o[0] != EC + "School")
        help_ = st.help(column)
        labels = {lang: help_[lang] for lang in LANGS if lang in help_} if not column.help else \
            (self._property_labels(path) if path else {})
        labels = labels or _COLUMN_LABELS.get(column.key, {"en": column.key})
        personal_ = column.key in ("contactName", "contactEmail") or (column.key == "memberType")
        return Field(key=column.key, path=path, kind=kind, required=column.required, repeatable=False,
                     options=options, labels=labels,
                     help=self._help(path) if path and not column.help else {"en": help_["definition"]},
                     personal=personal_)


#: labels of the template columns that have no property of their own
_COLUMN_LABELS = {
    "latitude": {"en": "Latitude", "fr": "Latitude", "nl": "Breedtegraad"},
    "longitude": {"en": "Longitude", "fr": "Longitude", "nl": "Lengtegraad"},
    "contactName": {"en": "Contact name", "fr": "Nom du contact", "nl": "Naam van het contact"},
    "contactEmail": {"en": "Contact e-mail", "fr": "Courriel du contact", "nl": "E-mail van het contact"},
    "memberType": {"en": "Member type", "fr": "Type de membre", "nl": "Soort lid"},
    "assetType": {"en": "Asset type", "fr": "Type d'équipement", "nl": "Soort installatie"},
    "name": {"en": "Name", "fr": "Nom", "nl": "Naam"},
    "license": {"en": "Licence", "fr": "Licence", "nl": "Licentie"},
}


def _natural(term) -> list:
    """The order the form wrote its rows in (``member/2`` before ``member/10``), whatever order a
    store gives the statements back in."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(term))]


def _local(iri: str) -> str:
    return re.split(r"[#/]", iri)[-1]


def _unit_name(unit: str) -> str:
    return {"KiloW": "kW", "KiloW-HR": "kWh"}.get(_local(unit), _local(unit))


@functools.lru_cache(maxsize=4)
def current_form(shapes: tuple[Path, ...] | None = None) -> Form:
    """The form of the current profile (read once per process), or of other shapes files."""
    return Form(Standard(shapes))


# --- values -> triples ------------------------------------------------------------------------------

class Values:
    """What the reader filled in: ``single[section][key]`` -> list of strings, and
    ``rows[section]`` -> list of {key: list of strings} (one per item)."""

    def __init__(self):
        self.single: dict[str, dict[str, list[str]]] = {}
        self.rows: dict[str, list[dict[str, list[str]]]] = {}

    def get(self, section: str, key: str, row: int | None = None) -> list[str]:
        if row is None:
            return self.single.get(section, {}).get(key, [])
        rows = self.rows.get(section, [])
        return rows[row].get(key, []) if row < len(rows) else []

    def first(self, section: str, key: str, row: int | None = None) -> str:
        values = self.get(section, key, row)
        return values[0] if values else ""


def read_values(form: Form, data) -> Values:
    """Values from a submitted form (a werkzeug MultiDict): ``<section>.<key>`` for single
    sections, ``<section>.<n>.<key>`` for the rows of a repeatable one. Empty rows are dropped."""
    values = Values()
    for section in form.sections:
        if not section.repeatable:
            values.single[section.key] = {f.key: _clean(data.getlist(f"{section.key}.{f.key}"), f)
                                          for f in section.fields}
            continue
        rows = []
        count = min(_int(data.get(f"{section.key}.rows"), 0), MAX_ROWS)
        for n in range(count):
            row = {f.key: _clean(data.getlist(f"{section.key}.{n}.{f.key}"), f) for f in section.fields}
            if any(row.values()):
                rows.append(row)
        values.rows[section.key] = rows
    return values


def _clean(raw: list[str], f: Field) -> list[str]:
    out = []
    for value in raw:
        parts = value.splitlines() if f.repeatable and f.kind == "url" else [value]
        out += [p.strip()[:10_000] for p in parts if p.strip()]
    return out


def _int(value, default: int) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default


def base_for(twin_id: str, namespaces: list[str] | None) -> str:
    """Where the form names the twin's resources: the namespace the twin speaks for, or one of its
    own that no web address is needed for."""
    if namespaces:
        return namespaces[0]
    return f"urn:ecgraph:form:{twin_id}/"


def _literal(value: str, f: Field, lang: str) -> ox.Literal:
    if f.kind == "date":
        if re.fullmatch(r"-?\d{4}", value) and XSD + "gYear" in f.datatypes:
            return ox.Literal(value, datatype=ox.NamedNode(XSD + "gYear"))
        return ox.Literal(value, datatype=ox.NamedNode(XSD + "date"))
    if f.kind == "integer":
        return ox.Literal(value, datatype=ox.NamedNode(XSD + "integer"))
    if f.kind in ("decimal", "quantity", "latitude", "longitude"):
        if re.fullmatch(r"[+-]?\d+", value) and XSD + "integer" in f.datatypes and XSD + "decimal" not in f.datatypes:
            return ox.Literal(value, datatype=ox.NamedNode(XSD + "integer"))
        return ox.Literal(value.replace(",", ".") if re.fullmatch(r"[+-]?\d+,\d+", value) else value,
                          datatype=ox.NamedNode(XSD + "decimal"))
    return ox.Literal(value)


def _object(value: str, f: Field, lang: str):
    if f.kind in ("select", "class", "url"):
        try:
            return ox.NamedNode(value)
        except ValueError:
            return ox.Literal(value)  # the report says it is not a web address
    return _literal(value, f, lang)


def build(form: Form, values: Values, twin_id: str, base: str, lang: str = "en") -> list[ox.Triple]:
    """The twin the form's values describe."""
    out: list[ox.Triple] = []
    N = ox.NamedNode

    def add(s, p: str, o) -> None:
        out.append(ox.Triple(s, N(p), o))

    twin, community = N(base + "twin"), N(base + "community")
    add(twin, RDF_TYPE, N(EC + "DigitalTwin"))
    add(community, RDF_TYPE, N(EC + "EnergyCommunity"))
    add(twin, EC + "describes", community)
    add(twin, DCT + "publisher", community)
    add(twin, DCT + "conformsTo", N(standard.profile_version_iri("core")))
    name = values.first("community", "name")
    if name:
        add(twin, DCT + "title", ox.Literal(name))

    def fields_of(subject, section: Section, row: int | None, skip: tuple[str, ...] = ()) -> None:
        for f in section.fields:
            if f.path is None or f.key in skip or f.kind == "class":
                continue
            for value in values.get(section.key, f.key, row)[: None if f.repeatable else 1]:
                if f.kind == "quantity":
                    quantity = N(f"{subject.value}/{f.key}")
                    add(subject, f.path, quantity)
                    add(quantity, QUDT + "numericValue", _literal(value, f, lang))
                    add(quantity, QUDT + "hasUnit", N(f.unit or ""))
                else:
                    add(subject, f.path, _object(value, f, lang))

    fields_of(community, form.section("community"), None)
    # place: the address lines and the location
    place = form.section("place")
    address_keys = ("streetAddress", "postalCode", "locality", "region", "country")
    if any(values.first("place", k) for k in address_keys):
        address = N(base + "address")
        add(community, SDO + "address", address)
        add(address, RDF_TYPE, N(SDO + "PostalAddress"))
        fields_of(address, place, None, skip=("latitude", "longitude"))
    lat, lon = values.first("place", "latitude"), values.first("place", "longitude")
    if lat or lon:
        location = N(base + "location")
        add(community, GEO + "hasGeometry", location)
        add(location, GEO + "asWKT", ox.Literal(f"POINT({lon.replace(',', '.')} {lat.replace(',', '.')})",
                                                datatype=N(GEO + "wktLiteral")))
    # members: a membership and its member
    members = form.section("members")
    for n in range(len(values.rows.get("members", []))):
        membership, member = N(f"{base}membership/{n + 1}"), N(f"{base}member/{n + 1}")
        add(membership, RDF_TYPE, N(EC + "Membership"))
        add(membership, EC + "community", community)
        add(membership, EC + "member", member)
        for cls in values.get("members", "memberType", n):
            add(member, RDF_TYPE, _object(cls, members.fields[1], lang))
        for value in values.get("members", "name", n)[:1]:
            add(member, SDO + "name", ox.Literal(value))
        fields_of(membership, members, n, skip=("name",))
    # the other repeatable sections: an item linked from the community
    for section in form.sections:
        if not section.repeatable or section.key == "members":
            continue
        for n in range(len(values.rows.get(section.key, []))):
            item = N(f"{base}{section.key[:-1]}/{n + 1}")
            if section.link:
                add(community, section.link, item)
            classes = values.get(section.key, "assetType", n) if section.key == "assets" else []
            for cls in classes or [section.cls or ""]:
                add(item, RDF_TYPE, N(cls) if cls.startswith(("http", "urn")) else N(section.cls or ""))
            fields_of(item, section, n)
    # contact, licence, basis
    contact_name, contact_email = values.first("contact", "contactName"), values.first("contact", "contactEmail")
    if contact_name or contact_email:
        contact = N(base + "contact")
        add(community, EC + "contactPoint", contact)
        add(contact, RDF_TYPE, N(VCARD + "Kind"))
        if contact_name:
            add(contact, VCARD + "fn", ox.Literal(contact_name))
        if contact_email:
            email = contact_email[len("mailto:"):] if contact_email.startswith("mailto:") else contact_email
            add(contact, VCARD + "hasEmail", _object("mailto:" + email.replace(" ", ""),
                                                     Field("email", None, "url"), lang))
    licence = values.first("contact", "license")
    if licence:
        add(twin, DCT + "license", _object(licence, Field("license", None, "url"), lang))
    basis = values.first("contact", "personalDataBasis")
    if basis:
        add(twin, personal.BASIS, _object(basis, Field("basis", None, "select"), lang))
    return sorted(out, key=lambda t: _natural(t.subject))  # each resource's statements together, rows in order


def personal_without_basis(form: Form, values: Values, lang: str = "en") -> list[str]:
    """The fields holding personal data (a contact point's name or e-mail, a member typed as a
    person or a household) when the twin states no basis for publishing it: the form asks for one."""
    if values.first("contact", "personalDataBasis"):
        return []
    found = [f.label(lang) for f in form.section("contact").fields
             if f.key in ("contactName", "contactEmail") and values.first("contact", f.key)]
    members = form.section("members")
    kinds = next(f for f in members.fields if f.key == "memberType")
    for n in range(len(values.rows.get("members", []))):
        for cls in values.get("members", "memberType", n):
            if cls in personal.MARKED:
                label = next((kinds.option_label(iri, labels, lang) for iri, labels in kinds.options
                              if iri == cls), cls)
                found.append(f"{members.label(lang)} {n + 1} ({label})")
    return found


# --- a published twin -> values --------------------------------------------------------------------

def prefill(form: Form, triples: list[ox.Triple]) -> tuple[Values, str | None, int]:
    """The values that show a published twin in the form, the namespace its resources are in, and
    how many of its statements the form does not show (publishing from the form leaves them out)."""
    by_subject: dict = {}
    for t in triples:
        by_subject.setdefault(t.subject, []).append(t)

    def objects(s, p: str) -> list:
        return [t.object for t in by_subject.get(s, []) if t.predicate.value == p]

    used: set = set()

    def take(s, p: str) -> list[str]:
        found = [t for t in by_subject.get(s, []) if t.predicate.value == p]
        used.update(found)
        return [o.object.value for o in found]

    community_class, twin_class = ox.NamedNode(EC + "EnergyCommunity"), ox.NamedNode(EC + "DigitalTwin")
    typed = {t.subject for t in triples if t.predicate.value == RDF_TYPE and t.object == community_class}
    values = Values()
    if not typed:
        return values, None, len(triples)
    community = sorted(typed, key=str)[0]
    twins = [t.subject for t in triples if t.predicate.value == RDF_TYPE and t.object == twin_class]
    for twin in twins:
        for p in (RDF_TYPE, EC + "describes", DCT + "publisher", DCT + "conformsTo", DCT + "title"):
            take(twin, p)
    used.update(t for t in by_subject.get(community, []) if t.predicate.value == RDF_TYPE)

    def read_fields(subject, section: Section, skip: tuple[str, ...] = ()) -> dict[str, list[str]]:
        row: dict[str, list[str]] = {}
        for f in section.fields:
            if f.path is None or f.key in skip or f.kind == "class":
                continue
            if f.kind == "quantity":
                found = []
                for q in objects(subject, f.path):
                    found += take(q, QUDT + "numericValue")
                    take(q, QUDT + "hasUnit")
                take(subject, f.path)
                row[f.key] = found
            else:
                row[f.key] = take(subject, f.path)
        return row

    values.single["community"] = read_fields(community, form.section("community"))
    place: dict[str, list[str]] = {}
    for address in objects(community, SDO + "address"):
        take(community, SDO + "address")
        take(address, RDF_TYPE)
        place.update({k: v for k, v in read_fields(address, form.section("place")).items() if v})
    for location in objects(community, GEO + "hasGeometry"):
        take(community, GEO + "hasGeometry")
        for wkt in take(location, GEO + "asWKT"):
            match = re.match(r"\s*POINT\s*\(\s*([-\d.eE+]+)\s+([-\d.eE+]+)\s*\)", wkt)
            if match:
                place["longitude"], place["latitude"] = [match.group(1)], [match.group(2)]
    values.single["place"] = place
    members = form.section("members")
    rows = []
    memberships = [t.subject for t in triples if t.predicate.value == EC + "community" and t.object == community]
    memberships += [o for o in objects(community, EC + "hasMembership") if o not in memberships]
    take(community, EC + "hasMembership")
    for membership in sorted(set(memberships), key=_natural):
        take(membership, RDF_TYPE)
        take(membership, EC + "community")
        row = read_fields(membership, members, skip=("name",))
        for member in objects(membership, EC + "member"):
            take(membership, EC + "member")
            row["memberType"] = [c for c in take(member, RDF_TYPE)]
            row["name"] = take(member, SDO + "name")[:1]
        rows.append(row)
    values.rows["members"] = rows
    for section in form.sections:
        if not section.repeatable or section.key == "members" or not section.link:
            continue
        rows = []
        for item in sorted(set(objects(community, section.link)), key=_natural):
            take(community, section.link)
            classes = take(item, RDF_TYPE)
            row = read_fields(item, section)
            if section.key == "assets":
                row["assetType"] = [c for c in classes if c != EC + "Asset"][:1]
            rows.append(row)
        values.rows[section.key] = rows
    contact: dict[str, list[str]] = {}
    for point in objects(community, EC + "contactPoint"):
        take(community, EC + "contactPoint")
        take(point, RDF_TYPE)
        contact["contactName"] = take(point, VCARD + "fn")[:1]
        contact["contactEmail"] = [e[len("mailto:"):] if e.startswith("mailto:") else e
                                   for e in take(point, VCARD + "hasEmail")][:1]
    for twin in twins:
        contact["license"] = take(twin, DCT + "license")[:1]
        contact["personalDataBasis"] = take(twin, personal.BASIS)[:1]
    values.single["contact"] = contact
    from ecgraph.publish.authority import namespace_of

    return values, namespace_of(community.value) if isinstance(community, ox.NamedNode) else None, \
        len([t for t in triples if t not in used])

"""Spreadsheet templates and their mapping, generated from the standard.

One template serves a community (one row in the ``community`` sheet, its members, assets,
indicators and lessons in the other sheets) and a register of many communities (many rows in
``community``; the other sheets optional). Every sheet row names its twin in the ``twin`` column.

What is generated from the standard, so that a release updates it by itself: each column's name
(the JSON-LD context's term for its property), its type (the context's ``@type``; the shapes'
``sh:datatype``), whether it is required (a core ``sh:minCount``), its drop-down list (the code
list of the shapes' ``sh:in``, with the context's short names), its help text (the ontology's
labels in English, French and Dutch and its definition), the code sheet (each code's labels and
definition), the CSVW description and the YARRRML mapping that reads the filled template
(``mappings/template.yml`` with one lookup table per code list). What is written here by hand is
the layout: which properties get a column, in which sheet, flattened how (an address in five
columns, a location as latitude and longitude, a capacity in a fixed unit).

``python -m ecgraph.importing.templates`` writes the files into ``ecgraph/importing/templates/``
and ``ecgraph/importing/mappings/``; ``tests/test_importing.py`` checks that the shipped files are
what the generator makes from the current standard.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from ecgraph import standard
from ecgraph.importing.schema import twin_schema

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
MAPPINGS_DIR = HERE / "mappings"
LANGS = ("en", "fr", "nl")
EC = standard.EC
_SH = "http://www.w3.org/ns/shacl#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_XSD = "http://www.w3.org/2001/XMLSchema#"
#: fixed times inside the generated workbooks, so that the same standard gives the same bytes
_STAMP = datetime.datetime(2026, 1, 1)


@dataclass
class Column:
    key: str
    #: the JSON-LD context term whose property, type and code list the column takes
    term: str | None
    #: text | date | integer | decimal | iri | email | code | class | latitude | longitude
    kind: str = "text"
    required: bool = False
    #: for class columns: the shape whose sh:in lists the classes
    classes_from: str | None = None
    #: the unit a capacity column is written in (a unit term of the context)
    unit: str | None = None
    #: help written here, for the columns the importer adds (twin, latitude, ...)
    help: str | None = None


TWIN = Column("twin", None, "text", True, help="The twin's id: lower-case letters, digits and hyphens "
              "(it names the twin on the node; every sheet's rows say which twin they belong to).")

#: the layout: sheet -> columns
SHEETS: dict[str, list[Column]] = {
    "community": [
        TWIN,
        Column("name", "name", required=True),
        Column("alternateName", "alternateName"),
        Column("legalForm", "legalForm", "code"),
        Column("euType", "euType", "code"),
        Column("status", "status", "code"),
        Column("activity1", "activity", "code"),
        Column("activity2", "activity", "code"),
        Column("activity3", "activity", "code"),
        Column("foundingDate", "foundingDate", "date"),
        Column("url", "url", "iri"),
        Column("purpose", "purpose"),
        Column("ownershipModel", "ownershipModel", "code"),
        Column("memberCount", "memberCount", "integer"),
        Column("employeeCount", "employeeCount", "decimal"),
        Column("registrationNumber", "registrationNumber"),
        Column("registrar", "registrar"),
        Column("naceCode", "naceCode"),
        Column("streetAddress", "streetAddress"),
        Column("postalCode", "postalCode"),
        Column("locality", "locality"),
        Column("region", "region"),
        Column("country", "country"),
        Column("latitude", None, "latitude", help="Latitude of the community's main site, WGS 84 decimal degrees "
               "(with longitude, it becomes the geo:asWKT point)."),
        Column("longitude", None, "longitude",
               help="Longitude of the community's main site, WGS 84 decimal degrees."),
        Column("contactName", "fn",
               help="Name of the contact point (a role or a person: personal data when a person)."),
        Column("contactEmail", "email", "email", help="E-mail address of the contact point (written without "
               "mailto:; personal data when it names a person)."),
        Column("license", "license", "iri", help="The licence of the twin: an SPDX or Creative Commons IRI such as "
               "https://creativecommons.org/licenses/by/4.0/."),
        Column("personalDataBasis", "personalDataBasis", "code",
               help="Why the twin may publish the names and contacts it holds: consent (the people agreed) or "
                    "public-role (a role held in public); without it the node publishes none of them."),
    ],
    "members": [
        TWIN,
        Column("name", "name", required=True),
        Column("memberType", None, "class", True, classes_from="MemberTypeValue",
               help="What the member is: a member type of the standard (School, Household, Municipality, ...)."),
        Column("role", "role", "code"),
        Column("startDate", "startDate", "date"),
        Column("endDate", "endDate", "date"),
        Column("groupSize", "groupSize", "integer"),
    ],
    "assets": [
        TWIN,
        Column("name", "name"),
        Column("assetType", None, "class", True, classes_from="AssetTypeValue",
               help="What the asset is: an asset type of the standard (PVInstallation, WindTurbine, Battery, ...)."),
        Column("peakPowerKW", "peakPower", "decimal", unit="kW"),
        Column("ratedPowerKW", "ratedPower", "decimal", unit="kW"),
        Column("storageCapacityKWh", "storageCapacity", "decimal", unit="kWh"),
        Column("unitCount", "unitCount", "integer"),
        Column("installationDate", "installationDate", "date"),
    ],
    "indicators": [
        TWIN,
        Column("indicator", "indicator", "code", True),
        Column("periodStart", "periodStart", "date", True),
        Column("periodEnd", "periodEnd", "date", True),
        Column("value", "value", "decimal", True),
        Column("unit", "unit", "code", True),
    ],
    "lessons": [
        TWIN,
        Column("name", "name", required=True),
        Column("topic1", "topic", "code"),
        Column("topic2", "topic", "code"),
        Column("summary", "summary"),
        Column("whatWorked", "whatWorked"),
        Column("whatDidNotWork", "whatDidNotWork"),
    ],
}


class Standard:
    """What the generators read from the standard: the context, the ontology, code lists, shapes."""

    def __init__(self, shapes: tuple[Path, ...] | None = None):
        """``shapes``: the shapes files to read instead of the current profile's (a new profile
        version, or a test's modified shapes)."""
        self.context = json.loads(standard.context_file().read_text(encoding="utf-8"))["@context"]
        triples: list = []
        shapes = shapes or (standard.shapes_file("core"), standard.shapes_file("recommended"))
        for path in (standard.ontology_file(), standard.vocabularies_file(), *shapes):
            triples.extend(q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
        self.index: dict = {}
        for t in triples:
            self.index.setdefault((t.subject.value, t.predicate.value), []).append(t.object)
        self.triples = triples

    def objects(self, s: str, p: str) -> list:
        return self.index.get((s, p), [])

    def expand(self, curie: str) -> str:
        prefix, _, local = curie.partition(":")
        if prefix in self.context and isinstance(self.context[prefix], str) and not curie.startswith("http"):
            return self.context[prefix] + local
        return curie

    def term(self, name: str) -> dict:
        definition = self.context.get(name)
        if isinstance(definition, str):
            return {"@id": self.expand(definition)}
        definition = dict(definition or {})
        definition["@id"] = self.expand(definition.get("@id", "ec:" + name))
        if "@type" in definition and definition["@type"] not in ("@id", "@vocab"):
            definition["@type"] = self.expand(definition["@type"])
        return definition

    def texts(self, s: str, p: str) -> dict[str, str]:
        out = {}
        for o in self.objects(s, p):
            if isinstance(o, ox.Literal) and (o.language or "en") not in out:
                out[o.language or "en"] = o.value
        return out

    def codes(self, column: Column) -> list[tuple[str, str]]:
        """(short name, IRI) of a code or class column, in the standard's order."""
        if column.kind == "class":
            shape = standard.SHAPES_NS["core"] + (column.classes_from or "")
            return [(o.value.rsplit("#", 1)[-1], o.value) for o in self._list(shape)]
        scoped = self.term(column.term or "").get("@context") or {}
        return sorted(((k, self.expand(v)) for k, v in scoped.items()), key=lambda kv: kv[0].lower())

    def _list(self, shape: str) -> list:
        (head,) = self.objects(shape, _SH + "in")
        out = []
        while head.value != standard.RDF_NIL.value:
            out.append(self.objects(head.value, standard.RDF_FIRST.value)[0])
            head = self.objects(head.value, standard.RDF_REST.value)[0]
        return out

    def help(self, column: Column) -> dict[str, str]:
        """Label in each language and the English definition of a column."""
        if column.help:
            return {"en": column.key, "definition": column.help}
        prop = self.term(column.term or "")["@id"]
        out = dict(self.texts(prop, _RDFS + "label"))
        comment = self.texts(prop, _RDFS + "comment").get("en")
        out["definition"] = comment or out.get("en", column.key)
        if column.unit:
            out["definition"] += f" Written in {column.unit}."
        return out


def column_datatype(st: Standard, column: Column) -> str:
    """The XSD datatype (or 'anyURI', or 'string') of a column's values."""
    if column.kind in ("date", "integer", "decimal"):
        return column.kind
    if column.kind in ("latitude", "longitude"):
        return "decimal"
    if column.kind in ("iri", "email"):
        return "anyURI"
    return "string"


# --- the workbook -----------------------------------------------------------------------------


def workbook_bytes(st: Standard, sheets: list[str]) -> bytes:
    """The XLSX template: one sheet per table (header comments in three languages, drop-downs of
    the code lists), a help sheet and a codes sheet."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    wb.remove(wb.active)
    lists = wb.create_sheet("lists")
    lists.sheet_state = "hidden"
    list_ranges: dict[str, str] = {}
    list_column = 0
    for name in sheets:
        ws = wb.create_sheet(name)
        for index, column in enumerate(SHEETS[name], start=1):
            cell = ws.cell(row=1, column=index, value=column.key)
            cell.font = Font(bold=True)
            help_ = st.help(column)
            text = "\n".join(f"{lang}: {help_[lang]}" for lang in LANGS if lang in help_)
            text += ("\n" if text else "") + help_["definition"]
            if column.required:
                text += "\nRequired."
            cell.comment = Comment(text, "ecgraph")
            ws.column_dimensions[cell.column_letter].width = max(12, len(column.key) + 4)
            if column.kind in ("code", "class"):
                key = column.term or column.key
                if key not in list_ranges:
                    list_column += 1
                    codes = st.codes(column)
                    letter = lists.cell(row=1, column=list_column).column_letter
                    lists.cell(row=1, column=list_column, value=key)
                    for r, (short, _) in enumerate(codes, start=2):
                        lists.cell(row=r, column=list_column, value=short)
                    list_ranges[key] = f"lists!${letter}$2:${letter}${len(codes) + 1}"
                dv = DataValidation(type="list", formula1=list_ranges[key], allow_blank=not column.required,
                                    showErrorMessage=True, errorTitle="Not a code of the standard",
                                    error=f"Choose a value of the list ({key}); the codes sheet explains each.")
                dv.add(f"{cell.column_letter}2:{cell.column_letter}5000")
                ws.add_data_validation(dv)
            elif column.kind in ("date", "integer", "decimal"):
                kinds = {"date": "date", "integer": "whole", "decimal": "decimal"}
                dv = DataValidation(type=kinds[column.kind], operator="greaterThan",
                                    formula1="0" if column.kind != "date" else "1", allow_blank=True,
                                    showErrorMessage=True, error=f"Expected a {column.kind}.")
                dv.add(f"{cell.column_letter}2:{cell.column_letter}5000")
                ws.add_data_validation(dv)
        ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("help")
    header = ["sheet", "column", "required", "type", *(f"label ({lang})" for lang in LANGS), "definition"]
    help_ws.append(header)
    for name in sheets:
        for column in SHEETS[name]:
            help_ = st.help(column)
            help_ws.append([name, column.key, "yes" if column.required else "", column_datatype(st, column),
                            *(help_.get(lang, "") for lang in LANGS), help_["definition"]])
    codes_ws = wb.create_sheet("codes")
    codes_ws.append(["list", "code", *(f"label ({lang})" for lang in LANGS), "definition (en)", "IRI"])
    for key, rows in code_lists(st, sheets).items():
        for short, iri in rows:
            labels = st.texts(iri, _SKOS + "prefLabel") or st.texts(iri, _RDFS + "label")
            definition = (st.texts(iri, _SKOS + "definition") or st.texts(iri, _RDFS + "comment")).get("en", "")
            codes_ws.append([key, short, *(labels.get(lang, "") for lang in LANGS), definition, iri])
    for ws in (help_ws, codes_ws):
        for cell in ws[1]:
            cell.font = Font(bold=True)
    wb.move_sheet("lists", offset=len(wb.sheetnames))
    wb.properties.creator = "ecgraph"
    wb.properties.created = _STAMP
    wb.properties.modified = _STAMP
    buffer = io.BytesIO()
    wb.save(buffer)
    return _fixed_zip(buffer.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same archive with every entry dated 1980-01-01, so equal content gives equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the time of saving
                import re

                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + _STAMP.strftime(
                    "%Y-%m-%dT%H:%M:%SZ").encode(), content)
            dst.writestr(fixed, content)
    return out.getvalue()


def code_lists(st: Standard, sheets: list[str]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for name in sheets:
        for column in SHEETS[name]:
            if column.kind in ("code", "class"):
                out.setdefault(column.term or column.key, st.codes(column))
    return out


# --- CSV and CSVW -------------------------------------------------------------------------------


def csv_bytes(sheet: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([c.key for c in SHEETS[sheet]])
    return out.getvalue().encode("utf-8")


def csvw_metadata(st: Standard) -> dict:
    """W3C CSV on the Web metadata of the CSV templates: a table group, one table per sheet."""
    tables = []
    for name, columns in SHEETS.items():
        described = []
        for column in columns:
            help_ = st.help(column)
            entry: dict[str, Any] = {"name": column.key, "titles": column.key,
                     "dc:description": help_["definition"],
                     "rdfs:label": [{"@value": help_[lang], "@language": lang} for lang in LANGS if lang in help_]}
            datatype = column_datatype(st, column)
            if column.kind in ("code", "class"):
                codes = "|".join(_regex_escape(short) for short, _ in st.codes(column))
                entry["datatype"] = {"base": "string", "format": f"^({codes})$"}
            else:
                entry["datatype"] = datatype
            if column.required:
                entry["required"] = True
            described.append(entry)
        schema: dict[str, Any] = {"columns": described}
        if name == "community":
            schema["primaryKey"] = "twin"
        else:
            schema["foreignKeys"] = [{"columnReference": "twin",
                                      "reference": {"resource": "community.csv", "columnReference": "twin"}}]
        tables.append({"url": f"{name}.csv", "dc:title": f"ecgraph template: {name}", "tableSchema": schema})
    return {
        "@context": ["http://www.w3.org/ns/csvw", {"@language": "en"}],
        "dc:title": f"ecgraph spreadsheet template, standard {standard.STANDARD_VERSION}",
        "dc:description": "Fill community.csv with one row per community (one row for a single community's twin, "
                          "many for a register); the other tables are optional. Import with "
                          "`ecgraph import community.csv --mapping template --base URL`.",
        "dc:license": {"@id": "https://creativecommons.org/licenses/by/4.0/"},
        "dialect": {"header": True, "encoding": "utf-8", "delimiter": ","},
        "tables": tables,
    }


def _regex_escape(text: str) -> str:
    import re

    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


# --- the mapping --------------------------------------------------------------------------------


def lookup_csv(rows: list[tuple[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "iri"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def mapping_yarrrml(st: Standard) -> str:
    """The YARRRML mapping that reads a filled template."""
    lines = [
        "# ecgraph template mapping (generated by ecgraph.importing.templates from standard "
        f"{standard.STANDARD_VERSION}; do not edit: run `python -m ecgraph.importing.templates`).",
        "# Every row names its twin in column 'twin'; IRIs are minted under --base, one namespace per twin.",
        "prefixes:",
        "  ec: https://w3id.org/ecgraph/ns#",
        "  sdo: https://schema.org/",
        "  dcterms: http://purl.org/dc/terms/",
        "  geo: http://www.opengis.net/ont/geosparql#",
        "  qudt: http://qudt.org/schema/qudt/",
        "  unit: http://qudt.org/vocab/unit/",
        "  vcard: http://www.w3.org/2006/vcard/ns#",
        "  xsd: http://www.w3.org/2001/XMLSchema#",
        "mappings:",
    ]
    base = "$(_base)$(twin)/"
    graph = "urn:ecgraph:twin:$(twin)"
    lookups = code_lists(st, list(SHEETS))

    def xsd(column: Column) -> str:
        return {"date": "xsd:date", "integer": "xsd:integer", "decimal": "xsd:decimal"}.get(column.kind, "")

    def literal_po(prop: str, column: Column) -> list[str]:
        datatype = xsd(column)
        if datatype:
            return [f"      - [{prop}, $({column.key}), {datatype}]"]
        return [f"      - [{prop}, $({column.key})]"]

    def code_po(prop: str, column: Column, source: str) -> list[str]:
        if column.kind == "class":
            return [f"      - [a, ec:$({column.key})~iri]"]
        key = column.term
        return [f"      - p: {prop}",
                "        o:",
                f"          mapping: code-{key}",
                "          condition:",
                "            function: equal",
                "            parameters:",
                f"              - [str1, $({column.key}), s]",
                "              - [str2, $(code), o]"]

    def mapping(name: str, source: str, subject: str, pos: list[str]) -> list[str]:
        return [f"  {name}:", "    sources:", f"      - [{source}~csv]", f"    s: {subject}",
                f"    graphs: {graph}", "    po:", *pos]

    def prop_of(column: Column) -> str:
        iri = st.term(column.term or "")["@id"]
        for prefix, ns in (("ec", EC), ("sdo", "https://schema.org/"), ("dcterms", "http://purl.org/dc/terms/"),
                           ("vcard", "http://www.w3.org/2006/vcard/ns#"), ("qudt", "http://qudt.org/schema/qudt/")):
            if iri.startswith(ns):
                return f"{prefix}:{iri[len(ns):]}"
        return iri

    src = "input/community.csv"
    cols = {c.key: c for c in SHEETS["community"]}
    twin_pos = ["      - [a, ec:DigitalTwin]", "      - [dcterms:title, $(name)]",
                f"      - [dcterms:publisher, {base}community~iri]",
                f"      - [dcterms:conformsTo, {standard.profile_version_iri('core')}~iri]",
                f"      - [ec:describes, {base}community~iri]",
                "      - [dcterms:license, $(license)~iri]"]
    community_pos = ["      - [a, ec:EnergyCommunity]"]
    flattened = {"twin", "latitude", "longitude", "contactName", "contactEmail", "license", "registrationNumber",
                 "registrar", "streetAddress", "postalCode", "locality", "region", "country", "personalDataBasis"}
    twin_pos += code_po("ec:personalDataBasis", cols["personalDataBasis"], src)
    for column in SHEETS["community"]:
        if column.key in flattened:
            continue
        prop = prop_of(column)
        if column.kind == "code":
            community_pos += code_po(prop, column, src)
        elif column.kind == "iri":
            community_pos.append(f"      - [{prop}, $({column.key})~iri]")
        else:
            community_pos += literal_po(prop, column)
    community_pos += [
        f"      - [sdo:address, {base}address/$(country)~iri]",
        f"      - [geo:hasGeometry, {base}location/$(latitude)_$(longitude)~iri]",
        f"      - [ec:contactPoint, {base}contact/$(contactEmail)~iri]",
        f"      - [ec:registration, {base}registration/$(registrationNumber)~iri]",
    ]
    lines += mapping("twin", src, f"{base}twin", twin_pos)
    lines += mapping("community", src, f"{base}community", community_pos)
    address_pos = ["      - [a, sdo:PostalAddress]"]
    for key in ("streetAddress", "postalCode", "locality", "region", "country"):
        address_pos += literal_po(prop_of(cols[key]), cols[key])
    lines += mapping("address", src, f"{base}address/$(country)", address_pos)
    lines += mapping("location", src, f"{base}location/$(latitude)_$(longitude)",
                     ['      - [geo:asWKT, "POINT($(longitude) $(latitude))", geo:wktLiteral]'])
    lines += mapping("contact", src, f"{base}contact/$(contactEmail)",
                     ["      - [a, vcard:Kind]", "      - [vcard:fn, $(contactName)]",
                      "      - [vcard:hasEmail, mailto:$(contactEmail)~iri]"])
    lines += mapping("registration", src, f"{base}registration/$(registrationNumber)",
                     ["      - [a, ec:Registration]", "      - [ec:registrationNumber, $(registrationNumber)]",
                      "      - [ec:registrar, $(registrar)]"])

    # members: one membership and one member node per row
    src = "input/members.csv"
    member_pos = []
    for column in SHEETS["members"]:
        if column.key == "memberType":
            member_pos += code_po("", column, src)
        elif column.key == "name":
            member_pos += literal_po("sdo:name", column)
    lines += mapping("member", src, f"{base}member/$(_row)", member_pos)
    membership_pos = ["      - [a, ec:Membership]", f"      - [ec:community, {base}community~iri]",
                      f"      - [ec:member, {base}member/$(_row)~iri]"]
    for key in ("role", "startDate", "endDate", "groupSize"):
        column = next(c for c in SHEETS["members"] if c.key == key)
        membership_pos += code_po(prop_of(column), column, src) if column.kind == "code" else \
            literal_po(prop_of(column), column)
    lines += mapping("membership", src, f"{base}membership/$(_row)", membership_pos)

    # assets, and a quantity node per capacity given
    src = "input/assets.csv"
    asset_pos = [f"      - [ec:hasAsset, {base}asset/$(_row)~iri]"]
    lines += mapping("community-asset", src, f"{base}community", asset_pos)
    asset_pos = []
    for column in SHEETS["assets"]:
        if column.key in ("twin",):
            continue
        if column.kind == "class":
            asset_pos += code_po("", column, src)
        elif column.unit:
            asset_pos.append(f"      - [{prop_of(column)}, {base}asset/$(_row)/{column.term}/$({column.key})~iri]")
        else:
            asset_pos += literal_po(prop_of(column), column)
    lines += mapping("asset", src, f"{base}asset/$(_row)", asset_pos)
    for column in SHEETS["assets"]:
        if column.unit:
            unit = st.term("unit")["@context"][column.unit].rsplit("/", 1)[-1]
            # the quantity exists only where the cell has a value: the subject's template needs it
            lines += mapping(f"asset-{column.term}", src, f"{base}asset/$(_row)/{column.term}/$({column.key})",
                             [f"      - [qudt:numericValue, $({column.key}), xsd:decimal]",
                              f"      - [qudt:hasUnit, unit:{unit}~iri]"])
    # a capacity's node and the link to it both carry the cell's value in their IRI: an empty cell
    # makes neither (R2RML: a null in a template makes no term)
    src = "input/indicators.csv"
    lines += mapping("community-indicator", src, f"{base}community",
                     [f"      - [ec:hasIndicator, {base}indicator/$(_row)~iri]"])
    indicator_pos = ["      - [a, ec:IndicatorValue]"]
    for column in SHEETS["indicators"]:
        if column.key == "twin":
            continue
        indicator_pos += code_po(prop_of(column) if column.key != "unit" else "qudt:hasUnit", column, src) \
            if column.kind == "code" else literal_po(prop_of(column), column)
    lines += mapping("indicator", src, f"{base}indicator/$(_row)", indicator_pos)
    src = "input/lessons.csv"
    lines += mapping("community-lesson", src, f"{base}community",
                     [f"      - [ec:hasLesson, {base}lesson/$(_row)~iri]"])
    lesson_pos = ["      - [a, ec:LessonLearned]"]
    for column in SHEETS["lessons"]:
        if column.key == "twin":
            continue
        lesson_pos += code_po(prop_of(column), column, src) if column.kind == "code" else \
            literal_po(prop_of(column), column)
    lines += mapping("lesson", src, f"{base}lesson/$(_row)", lesson_pos)
    for key in lookups:
        lines += [f"  code-{key}:", "    sources:", f"      - [code-{key}.csv~csv]", "    s: $(iri)"]
    return "\n".join(lines) + "\n"


def generate(st: Standard | None = None) -> dict[Path, bytes]:
    """Every generated file, by path."""
    st = st or Standard()
    files: dict[Path, bytes] = {
        TEMPLATES_DIR / "community.xlsx": workbook_bytes(st, list(SHEETS)),
        TEMPLATES_DIR / "register.xlsx": workbook_bytes(st, ["community"]),
        TEMPLATES_DIR / "template.csv-metadata.json":
            (json.dumps(csvw_metadata(st), indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        MAPPINGS_DIR / "template.yml": mapping_yarrrml(st).encode("utf-8"),
        HERE / "twin.schema.json": (json.dumps(twin_schema(st), indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    }
    for sheet in SHEETS:
        files[TEMPLATES_DIR / f"{sheet}.csv"] = csv_bytes(sheet)
    for key, rows in code_lists(st, list(SHEETS)).items():
        files[MAPPINGS_DIR / f"code-{key}.csv"] = lookup_csv(rows)
    return files


def main() -> None:
    for path, data in generate().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(path.relative_to(HERE.parent.parent))


if __name__ == "__main__":
    main()

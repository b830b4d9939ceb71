"""Publishing without writing RDF (issue 16): templates, `ecgraph import` and its mappings, NGSI-LD
and JSON sources. Real files, a real node over a temporary directory, a real `ecgraph import` and a
real `ecgraph serve` for the command line."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import requests

from ecgraph.importing import importer, rml, templates
from ecgraph.importing.rml import MappingError
from tests.helpers import fingerprint
from tests.servers import LoopbackServer, NodeProcess

SAMPLES = Path(importer.__file__).parent / "samples"
BASE = "https://network.example/id/"


# --- generated registers --------------------------------------------------------------------------

def template_register(n: int, bad_code_every: int = 0, bad_date_every: int = 0) -> bytes:
    """A filled community.csv of ``n`` communities; some rows broken on purpose."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["twin", "name", "legalForm", "euType", "status", "activity1", "foundingDate", "memberCount",
                     "locality", "country", "latitude", "longitude", "license"])
    for i in range(1, n + 1):
        legal = "coperative" if bad_code_every and i % bad_code_every == 0 else "cooperative"
        founded = "31/12/2019" if bad_date_every and i % bad_date_every == 0 else f"20{10 + i % 14:02d}-03-01"
        writer.writerow([f"community-{i:04d}", f"Community {i} (generated)", legal, "renewable-energy-community",
                         "active", "energy-sharing", founded, 20 + i % 300, "Utrecht", "NL",
                         f"{52 + (i % 100) / 1000:.3f}", f"{5 + (i % 100) / 1000:.3f}",
                         "https://creativecommons.org/licenses/by/4.0/"])
    return out.getvalue().encode()


def uk_register(n: int, bad_structure_every: int = 0) -> bytes:
    """A register of ``n`` organisations in the UK layout; some with a legal structure the lookup lacks."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Organisation name", "Legal structure", "Registration number", "Year established", "Status",
                     "Region", "Local authority", "Postcode", "Latitude", "Longitude", "Members", "Staff FTE",
                     "Solar PV kWp", "Onshore wind kW", "Hydro kW", "Battery storage kWh",
                     "Electricity generated MWh", "Reporting year", "Website", "Schools involved"])
    for i in range(1, n + 1):
        structure = "Limited Partnership" if bad_structure_every and i % bad_structure_every == 0 else \
            ("Community Benefit Society", "Co-operative Society", "Community Interest Company")[i % 3]
        writer.writerow([f"Generated Energy {i}", structure, f"RS{100000 + i}", 2005 + i % 18, "Active",
                         "West Midlands", "Shropshire", "SY3", f"{52.5 + (i % 50) / 100:.2f}",
                         f"{-2.8 + (i % 50) / 100:.2f}", 50 + i % 400, "", 100 + i % 900, "", "",
                         200 if i % 4 == 0 else "", f"{90 + i % 800}.5", 2024, "", i % 5 or ""])
    return out.getvalue().encode()


def ecgraph(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecgraph.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env=dict(os.environ, PYTHONUNBUFFERED="1"))


# --- templates ------------------------------------------------------------------------------------

def test_the_shipped_templates_and_mappings_are_what_the_generator_makes_from_the_current_standard():
    generated = templates.generate()
    assert len(generated) > 10
    for path, data in generated.items():
        assert path.exists(), f"{path} is not shipped: run python -m ecgraph.importing.templates"
        assert path.read_bytes() == data, \
            f"{path} differs from the generator's: run python -m ecgraph.importing.templates"


def test_the_xlsx_template_has_the_code_lists_as_drop_downs_and_help_in_english_french_and_dutch():
    from openpyxl import load_workbook

    wb = load_workbook(templates.TEMPLATES_DIR / "community.xlsx")
    assert {"community", "members", "assets", "indicators", "lessons", "help", "codes"} <= set(wb.sheetnames)
    community = wb["community"]
    header = [c.value for c in community[1]]
    legal = community.cell(row=1, column=header.index("legalForm") + 1)
    assert "fr: forme juridique" in legal.comment.text and "nl: rechtsvorm" in legal.comment.text
    validations = {str(dv.sqref).split(":")[0]: dv for dv in community.data_validations.dataValidation}
    dv = validations[f"{legal.column_letter}2"]
    assert dv.type == "list" and dv.formula1.startswith("lists!")
    lists = wb["lists"]
    column = [c.value for c in lists[dv.formula1.split("!")[1].split(":")[0].replace("$", "")[0]]]
    assert "cooperative" in column and "uk-community-benefit-society" in column
    codes = [row for row in wb["codes"].iter_rows(values_only=True) if row[0] == "legalForm"]
    assert any(r[1] == "nl-cooperatie" and r[4] for r in codes)  # a Dutch label
    members = [c.value for c in wb["members"][1]]
    assert "memberType" in members and "role" in members


def test_the_csvw_metadata_describes_every_csv_template_with_types_codes_and_keys():
    meta = json.loads((templates.TEMPLATES_DIR / "template.csv-metadata.json").read_text())
    assert meta["@context"][0] == "http://www.w3.org/ns/csvw"
    tables = {t["url"]: t for t in meta["tables"]}
    assert set(tables) == {f"{s}.csv" for s in templates.SHEETS}
    for url, table in tables.items():
        header = (templates.TEMPLATES_DIR / url).read_text().strip().split(",")
        assert [c["name"] for c in table["tableSchema"]["columns"]] == header
    columns = {c["name"]: c for c in tables["community.csv"]["tableSchema"]["columns"]}
    assert columns["name"]["required"] is True and columns["foundingDate"]["datatype"] == "date"
    assert "nl-cooperatie" in columns["legalForm"]["datatype"]["format"]
    assert tables["members.csv"]["tableSchema"]["foreignKeys"][0]["reference"]["resource"] == "community.csv"


# --- import through the template mapping ----------------------------------------------------------

def test_a_filled_template_publishes_valid_rows_and_refuses_each_bad_row_with_its_number(node, tmp_path):
    path = tmp_path / "community.csv"
    path.write_bytes(template_register(6, bad_code_every=4, bad_date_every=5))
    (tmp_path / "members.csv").write_text("twin,name,memberType,role,groupSize\n"
                                          "community-0001,De Zon primary school,School,host,\n"
                                          "community-0001,Households,Household,member,138\n")
    before = fingerprint(node.store)
    summary = importer.import_file(node, path, "template", base=BASE, tokens_path=tmp_path / "t.tsv")
    published = {r.twin for r in summary.published}
    assert published == {"community-0001", "community-0002", "community-0003", "community-0006"}
    refused = {r.twin: importer.describe(r) for r in summary.refused}
    assert refused["community-0004"].startswith("community row 5 (twin community-0004)")
    assert ("legalForm 'coperative' is not in code-legalForm.csv; did you mean 'cooperative'?"
            in refused["community-0004"])
    assert refused["community-0005"].startswith("community row 6 ")
    assert "31/12/2019" in refused["community-0005"] and "xsd:date" in refused["community-0005"]
    # the refused rows left nothing: no data, no registration
    assert node.entry("community-0004") is None and node.registry.twin("community-0004") is None
    assert node.registry.twin("community-0005") is None
    assert fingerprint(node.store) != before
    rows = node.store.query(
        "SELECT ?n WHERE { GRAPH <https://w3id.org/ecgraph/twin/community-0001> "
        "{ ?c <https://w3id.org/ecgraph/ns#hasMembership>|^<https://w3id.org/ecgraph/ns#community> ?m . "
        "?m <https://w3id.org/ecgraph/ns#member> ?s . ?s a <https://w3id.org/ecgraph/ns#School> ; "
        "<https://schema.org/name> ?n } }")
    assert [r["n"].value for r in rows] == ["De Zon primary school"]


def test_a_refused_row_leaves_the_store_exactly_as_it_was(node, tmp_path):
    path = tmp_path / "community.csv"
    path.write_bytes(template_register(1, bad_date_every=1))
    before = fingerprint(node.store)
    summary = importer.import_file(node, path, "template", base=BASE, tokens_path=tmp_path / "t.tsv")
    assert not summary.published and len(summary.refused) == 1
    assert fingerprint(node.store) == before
    assert node.registry.twin("community-0001") is None
    assert not (tmp_path / "t.tsv").exists()


def test_a_filled_xlsx_community_template_publishes_members_assets_indicators_and_lessons(node, tmp_path):
    from openpyxl import load_workbook

    wb = load_workbook(templates.TEMPLATES_DIR / "community.xlsx")

    def fill(sheet, values):
        header = [c.value for c in wb[sheet][1]]
        wb[sheet].append([values.get(h) for h in header])

    import datetime

    fill("community", {"twin": "zonnewijk", "name": "Zonnewijk Energie", "legalForm": "nl-cooperatie",
                       "status": "active", "foundingDate": datetime.datetime(2016, 4, 1), "memberCount": 140,
                       "country": "NL", "locality": "Utrecht", "latitude": 52.09, "longitude": 5.12})
    fill("members", {"twin": "zonnewijk", "name": "Basisschool De Zon", "memberType": "School", "role": "host"})
    fill("assets", {"twin": "zonnewijk", "name": "School roof", "assetType": "PVInstallation", "peakPowerKW": 45.5})
    fill("indicators", {"twin": "zonnewijk", "indicator": "energy-produced", "periodStart": datetime.date(2024, 1, 1),
                        "periodEnd": datetime.date(2024, 12, 31), "value": 41.2, "unit": "MWh"})
    fill("lessons", {"twin": "zonnewijk", "name": "Start with the school", "topic1": "schools",
                     "summary": "The school roof made the first project easy to explain."})
    path = tmp_path / "zonnewijk.xlsx"
    wb.save(path)
    summary = importer.import_file(node, path, "template", base="https://zonnewijk.example/id/",
                                   tokens_path=tmp_path / "t.tsv")
    assert [r.twin for r in summary.published] == ["zonnewijk"], [importer.describe(r) for r in summary.refused]
    ask = node.store.query(
        "ASK { GRAPH <https://w3id.org/ecgraph/twin/zonnewijk> { ?c <https://w3id.org/ecgraph/ns#hasAsset>/"
        "<https://w3id.org/ecgraph/ns#peakPower>/<http://qudt.org/schema/qudt/numericValue> 45.5 ; "
        "<https://w3id.org/ecgraph/ns#hasIndicator>/<https://w3id.org/ecgraph/ns#indicator> "
        "<https://w3id.org/ecgraph/ns#kpi-energy-produced> ; <https://w3id.org/ecgraph/ns#hasLesson>/"
        "<https://w3id.org/ecgraph/ns#topic> <https://w3id.org/ecgraph/ns#topic-schools> ; "
        "<https://schema.org/foundingDate> \"2016-04-01\"^^<http://www.w3.org/2001/XMLSchema#date> } }")
    assert bool(ask)


def test_new_publisher_tokens_go_to_a_file_only_its_owner_can_read(node, tmp_path):
    path = tmp_path / "community.csv"
    path.write_bytes(template_register(3))
    tokens = tmp_path / "tokens.tsv"
    importer.import_file(node, path, "template", base=BASE, tokens_path=tokens)
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    lines = [line.split("\t") for line in tokens.read_text().splitlines()]
    assert [twin for twin, _ in lines] == ["community-0001", "community-0002", "community-0003"]
    assert all(node.registry.twin(twin).grants(token) for twin, token in lines)
    # a second import updates the twins and registers nothing: no new token
    summary = importer.import_file(node, path, "template", base=BASE, tokens_path=tokens)
    assert all(not r.created for r in summary.published) and len(tokens.read_text().splitlines()) == 3


# --- the register layouts -------------------------------------------------------------------------

def test_the_uk_register_sample_publishes_each_valid_row_and_reports_the_unknown_legal_structure(node, tmp_path):
    summary = importer.import_file(node, SAMPLES / "uk-community-energy.csv", "uk-community-energy", base=BASE,
                                   tokens_path=tmp_path / "t.tsv")
    assert len(summary.published) == 6
    (refused,) = summary.refused
    assert importer.describe(refused).startswith("row 7 (twin rs009006): Legal structure 'Limited Partnership' "
                                                 "is not in uk-legal-structures.csv")
    # the row with swapped coordinates publishes, with its warning
    assert node.entry("rs009007").warnings >= 1
    schools = node.store.query(
        "SELECT ?g WHERE { GRAPH ?g { ?m <https://w3id.org/ecgraph/ns#member> ?s . "
        "?s a <https://w3id.org/ecgraph/ns#School> } }")
    assert len(list(schools)) == 3


def test_the_federation_member_list_publishes_its_members_and_reports_the_misspelt_activity(node, tmp_path):
    summary = importer.import_file(node, SAMPLES / "federation-members.json", "federation-members",
                                   base="https://federation.example/id/", tokens_path=tmp_path / "t.tsv")
    assert [r.twin for r in summary.published] == ["vent-de-meuse-fictional", "zonnekracht-delta-fictional",
                                                   "energie-des-causses-fictional", "sonnenland-genossen-fictional"]
    (refused,) = summary.refused
    assert "'Producton' is not in federation-activities.csv; did you mean 'Production'?" in refused.detail
    assert refused.rows == [("input.json", 5)]


def test_a_mapping_that_reads_a_database_or_an_unknown_function_is_refused_by_name(tmp_path):
    bad = tmp_path / "db.yml"
    bad.write_text("prefixes:\n  ex: https://ex.example/\nmappings:\n  m:\n    sources:\n"
                   "      - [input.csv~csv]\n    s: https://ex.example/$(a)\n    graphs: urn:ecgraph:twin:$(a)\n"
                   "    po:\n      - p: ex:p\n        o:\n          function: ex:shell\n"
                   "          parameters:\n            - [ex:cmd, $(a)]\n")
    with pytest.raises(MappingError, match="function https://ex.example/shell is not supported"):
        rml.load_mapping(bad)
    with pytest.raises(MappingError, match="give a mapping file"):
        importer.resolve_mapping("no-such-mapping")
    (tmp_path / "in.csv").write_text("a\nx\n")
    stray = tmp_path / "stray.yml"
    stray.write_text("prefixes:\n  ex: https://ex.example/\nmappings:\n  m:\n    sources:\n"
                     "      - [input.csv~csv]\n    s: https://ex.example/$(a)\n    po:\n      - [ex:p, $(a)]\n")
    with pytest.raises(MappingError, match="puts 1 triples in no twin"):
        importer.map_file(tmp_path / "in.csv", stray)


# --- the command line, end to end ----------------------------------------------------------------

@pytest.mark.parametrize("rows", [pytest.param(1000, marks=pytest.mark.slow), 120])
def test_ecgraph_import_of_a_generated_register_through_the_template_mapping_then_served(tmp_path, rows):
    """1,000 rows in the slow suite (about 90 s on 2 shared cores), 120 in the default one."""
    path = tmp_path / "register.csv"
    path.write_bytes(template_register(rows, bad_code_every=97, bad_date_every=89))
    result = ecgraph("import", str(path), "--mapping", "template", "--base", BASE, "--data", str(tmp_path / "data"),
                     cwd=tmp_path)
    bad = {i for i in range(1, rows + 1) if i % 97 == 0 or i % 89 == 0}
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"{rows - len(bad)} twins published ({rows - len(bad)} new, 0 updated), {len(bad)} refused" in result.stdout
    refused = [line for line in result.stderr.splitlines() if line.startswith("refused: ")]
    assert len(refused) == len(bad)
    assert any(line.startswith("refused: community row 98 (twin community-0097): legalForm 'coperative'")
               for line in refused)
    assert any(line.startswith("refused: community row 90 (twin community-0089): not conformant") for line in refused)
    tokens = tmp_path / "register.tokens.tsv"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600
    assert len(tokens.read_text().splitlines()) == rows - len(bad)
    issued = [line.split("\t")[1] for line in tokens.read_text().splitlines()]
    assert not any(token in result.stdout + result.stderr for token in issued)  # no token on the terminal
    print(f"\ntemplate mapping: {result.stdout.strip().splitlines()[0]}")
    # a node opening 1,000 twins on 2 shared cores may need more than the usual two minutes to be healthy
    node = NodeProcess(tmp_path / "data", "--no-demo").start(timeout=600)
    try:
        answer = requests.post(node.url + "/sparql", data={"query": (
            "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a <https://w3id.org/ecgraph/ns#EnergyCommunity> }")},
            headers={"Accept": "application/sparql-results+json"}, timeout=60).json()
        assert int(answer["results"]["bindings"][0]["n"]["value"]) == rows - len(bad)
        assert requests.get(node.url + "/api/twins/community-0097", timeout=10).status_code == 404
    finally:
        node.stop()


@pytest.mark.slow
def test_ecgraph_import_of_a_generated_1000_row_uk_register(tmp_path):
    path = tmp_path / "uk.csv"
    path.write_bytes(uk_register(1000, bad_structure_every=50))
    result = ecgraph("import", str(path), "--mapping", "uk-community-energy", "--base", BASE,
                     "--data", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "980 twins published (980 new, 0 updated), 20 refused" in result.stdout
    assert "refused: row 51 (twin rs100050): Legal structure 'Limited Partnership'" in result.stderr
    print(f"\nuk-community-energy mapping: {result.stdout.strip().splitlines()[0]}")


def test_the_template_states_a_basis_for_the_contact_and_only_then_the_node_publishes_it(node, tmp_path):
    path = tmp_path / "community.csv"
    head = "twin,name,legalForm,euType,status,activity1,locality,country,license,contactName,contactEmail," \
           "personalDataBasis\n"
    rows = ["with-basis,With basis,cooperative,renewable-energy-community,active,energy-sharing,Utrecht,NL,"
            "https://creativecommons.org/licenses/by/4.0/,Ann Smith,ann@with.example,public-role",
            "without-basis,Without basis,cooperative,renewable-energy-community,active,energy-sharing,Utrecht,NL,"
            "https://creativecommons.org/licenses/by/4.0/,Bob Jones,bob@without.example,"]
    path.write_text(head + "\n".join(rows) + "\n")
    summary = importer.import_file(node, path, "template", base=BASE)
    assert not summary.refused, [importer.describe(r) for r in summary.refused]
    text = "\n".join(str(t) for t in node.twin_data("with-basis") + node.twin_data("without-basis"))
    assert "Ann Smith" in text and "with.example" in text
    assert "Bob Jones" not in text and "without.example" not in text
    assert "ec:personalDataBasis" in node.report("without-basis")["personalData"]["detail"]


def test_ecgraph_import_shows_a_progress_bar_on_a_terminal_then_the_summary(tmp_path):
    """On a terminal (a pseudo-terminal here) the bar counts the twins up to the total; the
    summary and the refused row's line follow."""
    import pty

    path = tmp_path / "register.csv"
    path.write_bytes(template_register(6, bad_code_every=4))
    leader, follower = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "ecgraph.cli", "import", str(path), "--mapping", "template",
                                 "--base", BASE, "--data", str(tmp_path / "data")], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=follower, timeout=600,
                                env=dict(os.environ, COLUMNS="100"))
        os.close(follower)
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(leader)
    shown = terminal.decode(errors="replace")
    assert result.returncode == 1
    assert "publishing  [####################################]  5/5" in shown, shown
    assert "1/5" in shown and "4/5" in shown  # it moved on the way
    assert "refused: community row 5 (twin community-0004)" in shown
    assert "5 twins published (5 new, 0 updated), 1 refused, from 6 rows" in result.stdout.decode()


def test_ecgraph_import_says_what_to_do_when_the_mapping_needs_a_base(tmp_path):
    path = tmp_path / "register.csv"
    path.write_bytes(template_register(2))
    result = ecgraph("import", str(path), "--mapping", "template", "--data", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 2
    assert "mints IRIs under --base" in result.stderr


# --- NGSI-LD and JSON sources ---------------------------------------------------------------------

class Broker(LoopbackServer):
    """A small NGSI-LD context broker: /ngsi-ld/v1/entities with type=, limit= and offset=; entities
    carry their @context (two of them name the peak power with another term)."""

    def __init__(self, entities: list[dict]):
        self.entities = entities
        super().__init__()

    def answer(self, method, path, body):
        parts = urllib.parse.urlsplit(path)
        if parts.path != "/ngsi-ld/v1/entities":
            return 404, {}, b""
        query = dict(urllib.parse.parse_qsl(parts.query))
        chosen = [e for e in self.entities if e["type"] == query.get("type")]
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
        page = chosen[offset:offset + limit]
        return 200, {"Content-Type": "application/ld+json"}, json.dumps(page).encode()


def pv_entity(i: int, term: str = "peakPower") -> dict:
    context: list = ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"]
    if term != "peakPower":
        context.insert(0, {"gbn": "https://gbn.example/terms#", term: "gbn:peakPower"})
    else:
        context.insert(0, {"peakPower": "https://gbn.example/terms#peakPower"})
    return {"id": f"urn:ngsi-ld:PhotovoltaicInstallation:{i}", "type": "PhotovoltaicInstallation",
            "@context": context,
            "name": {"type": "Property", "value": f"Roof {i}"},
            term: {"type": "Property", "value": 10 + i, "unitCode": "KWT"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [4.35 + i / 100, 50.85]}}}


def test_twin_from_source_reads_every_page_of_an_ngsi_ld_broker_through_the_entities_context(node, tmp_path):
    from ecgraph.importing.sources import twin_from_source

    entities = [pv_entity(i, "pvPeak" if i % 2 else "peakPower") for i in range(1, 6)]
    entities.append({"id": "urn:ngsi-ld:Building:1", "type": "Building", "@context": [], "name": {"value": "x"}})
    broker = Broker(entities)
    try:
        config = {"kind": "ngsi-ld", "url": broker.url, "type": "PhotovoltaicInstallation", "limit": 2,
                  "mapping": "ngsi-ld-pv", "twin": "roofs", "name": "Roofs of the district",
                  "base": "https://roofs.example/id/", "context": {"peakPower": "https://gbn.example/terms#peakPower"}}
        policy = node.fetch_policy
        policy.allow_hosts = ("127.0.0.1",) + tuple(policy.allow_hosts)
        turtle = twin_from_source(config, policy)
    finally:
        broker.close()
    assert [h for h in broker.hits if "offset=" in h] == [
        f"GET /ngsi-ld/v1/entities?type=PhotovoltaicInstallation&limit=2&offset={o}" for o in (0, 2, 4)]
    node.register("roofs", "Roofs")
    published = node.publish("roofs", node.upload_for("roofs", turtle, media_type="text/turtle"))
    assert published.entry.triples > 0
    values = sorted(float(r["v"].value) for r in node.store.query(
        "SELECT ?v WHERE { GRAPH <https://w3id.org/ecgraph/twin/roofs> { "
        "?a a <https://w3id.org/ecgraph/ns#PVInstallation> ; "
        "<https://w3id.org/ecgraph/ns#peakPower>/<http://qudt.org/schema/qudt/numericValue> ?v } }"))
    assert values == [11.0, 12.0, 13.0, 14.0, 15.0]  # every page, both spellings of the peak power


def test_twin_from_source_refuses_a_source_the_fetch_rules_forbid(node):
    from ecgraph.importing.sources import SourceError, twin_from_source

    config = {"kind": "ngsi-ld", "url": "http://127.0.0.1:9/", "type": "X", "mapping": "ngsi-ld-pv",
              "twin": "t", "base": "https://t.example/id/"}
    with pytest.raises(SourceError, match="cannot read the source"):
        twin_from_source(config, node.fetch_policy)


# --- the JSON Schema of a twin in plain JSON ------------------------------------------------------

def _twin_schema_validator():
    import jsonschema

    schema = json.loads((Path(importer.__file__).parent / "twin.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_json_ld_twin_of_the_demo_network_validates_against_the_generated_json_schema():
    from ecgraph import standard

    validator = _twin_schema_validator()
    files = sorted(standard.demo_twins_dir().glob("*.jsonld"))
    assert len(files) >= 8
    for path in files:
        errors = [e.message for e in validator.iter_errors(json.loads(path.read_text()))]
        assert not errors, f"{path.name}: {errors[:3]}"


def _messages(errors) -> list[str]:
    out = []
    for error in errors:
        out.append(error.message)
        out.extend(_messages(error.context or []))
    return out


def test_a_twin_with_a_wrong_code_or_without_a_required_field_fails_the_json_schema():
    from ecgraph import standard

    validator = _twin_schema_validator()
    assert validator.is_valid(json.loads((standard.demo_twins_dir() / "atelier-solaire.jsonld").read_text()))
    twin = json.loads((standard.demo_twins_dir() / "atelier-solaire.jsonld").read_text())
    community = next(n for n in twin["@graph"] if n["type"] == "EnergyCommunity")
    community["legalForm"] = "coperative"
    assert any("'coperative' is not one of" in m for m in _messages(validator.iter_errors(twin)))
    community["legalForm"] = "company"
    del community["name"]
    assert any("'name' is a required property" in m for m in _messages(validator.iter_errors(twin)))
    twin_node = next(n for n in twin["@graph"] if n["type"] == "DigitalTwin")
    community["name"] = {"en": "back"}
    del twin_node["publisher"]
    assert any("'publisher' is a required property" in m for m in _messages(validator.iter_errors(twin)))


# --- personal data --------------------------------------------------------------------------------

def test_the_standard_marks_personal_data_and_the_function_lists_a_twins_personal_statements():
    import pyoxigraph as ox

    from ecgraph import standard
    from ecgraph.publish.personal import marked_terms, personal_triples

    marked = marked_terms()
    assert {standard.EC + "Person", standard.EC + "Household", standard.EC + "contactPoint"} <= marked
    twin = (b'@prefix ec: <https://w3id.org/ecgraph/ns#> . @prefix schema: <https://schema.org/> .\n'
            b'@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .\n'
            b'<https://c.example/community> a ec:EnergyCommunity ; schema:name "C" ;\n'
            b'  ec:contactPoint [ vcard:fn "Ann Smith" ; vcard:hasEmail <mailto:ann@c.example> ] ;\n'
            b'  ec:hasMember <https://c.example/p/1> , <https://c.example/school> .\n'
            b'<https://c.example/p/1> a ec:Person ; schema:name "Bob Jones" .\n'
            b'<https://c.example/school> a ec:School ; schema:name "De Zon" .\n')
    triples = [q.triple for q in ox.parse(twin, format=ox.RdfFormat.TURTLE)]
    found = personal_triples(triples, marked)
    values = {t.object.value for t in found}
    assert {"Ann Smith", "mailto:ann@c.example", "Bob Jones"} <= values
    assert "De Zon" not in values and "C" not in values
    # the demo network's contact points are found too
    demo = [q.triple for q in ox.parse(path=str(standard.demo_twins_dir() / "boerenzon.ttl"),
                                       format=ox.RdfFormat.TURTLE)]
    assert any(t.predicate.value.endswith("hasEmail") for t in personal_triples(demo, marked))

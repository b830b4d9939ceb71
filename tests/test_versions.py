"""Releases: a twin is judged by the release it claims. Twins that claim 1.0.0 keep being accepted
and validated against the 1.0.0 profiles (kept as published in shapes/1.0.0/), JSON-LD that names
the unversioned context is read with the claimed release's context, and every report, the catalog,
the badge and /shapes say which release judged."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ecgraph import standard
from ecgraph.cli import main
from ecgraph.publish import ingest
from ecgraph.validation.validate import validate
from tests.helpers import ADMIN, auth

TWIN = """@prefix ec: <https://w3id.org/ecgraph/ns#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> . @prefix schema: <https://schema.org/> .
@prefix qudt: <http://qudt.org/schema/qudt/> . @prefix unit: <http://qudt.org/vocab/unit/> .
@base <https://{slug}.example/id/> .
<twin> a ec:DigitalTwin ; dcterms:title "t" ; dcterms:publisher <community> ; ec:describes <community> ;
    dcterms:conformsTo <https://w3id.org/ecgraph/profile/core/{version}> .
<community> a ec:EnergyCommunity ; schema:name "" ; ec:legalForm ec:legalform-cooperative ;
    ec:hasAsset [ a ec:PVInstallation ; ec:peakPower [ qudt:numericValue 12.0 ; qudt:unit unit:KiloW ] ] .
"""


def twin(version: str, slug: str = "versions") -> bytes:
    """A name that is empty (refused since 1.1.0) and a unit given with qudt:unit (1.0.0's term)."""
    return TWIN.format(version=version, slug=slug).encode()


def test_the_release_a_twin_claims_judges_it():
    old = validate(ingest.parse(twin("1.0.0"), "text/turtle").triples, "all")
    new = validate(ingest.parse(twin("1.1.0"), "text/turtle").triples, "all")
    assert old.conforms and old.version == "1.0.0" and old.profile_version.endswith("/recommended/1.0.0")
    assert not new.conforms and new.version == "1.1.0"
    assert {r.shape.rsplit("#", 1)[1] for r in new.results if r.severity == "Violation"} == {"CommunityShape-name"}
    # 1.1.0 accepts qudt:unit, with a warning that QUDT removed it
    assert any(r.shape.endswith("DeprecatedUnitShape-unit") for r in new.results)
    assert not any("Deprecated" in r.shape for r in old.results)


def test_a_node_accepts_a_1_0_0_twin_and_records_the_release(client):
    token = client.post("/api/twins", json={"id": "old-claim"}, headers=auth(ADMIN)).get_json()["token"]
    r = client.put("/api/twins/old-claim", data=twin("1.0.0", "old-claim"), content_type="text/turtle",
                   headers=auth(token))
    assert r.status_code == 201, r.get_json()
    summary = r.get_json()["report"]["summary"]
    assert summary["standard_version"] == "1.0.0" and summary["claimed_versions"] == ["1.0.0"]
    info = client.get("/api/twins/old-claim").get_json()
    assert info["profile"] == standard.profile_version_iri("core", "1.0.0")
    assert b"ecgraph core 1.0.0" in client.get("/api/twins/old-claim/badge.svg").data
    # the same twin claiming the current release is refused: its name is empty
    r = client.put("/api/twins/old-claim", data=twin("1.1.0", "old-claim"), content_type="text/turtle",
                   headers=auth(token))
    assert r.status_code == 422 and "core profile 1.1.0" in r.get_json()["detail"]
    assert client.get("/api/twins/old-claim").get_json()["version"] == 1  # nothing stored


def test_json_ld_with_the_unversioned_context_is_read_with_the_claimed_release():
    """1.0.0's context maps "unit" to qudt:unit, 1.1.0's to qudt:hasUnit: a 1.0.0 twin that points at
    the unversioned context keeps meaning what it meant."""
    def doc(version):
        return json.dumps({"@context": standard.CONTEXT_URL, "@graph": [
            {"id": "https://j.example/id/twin", "type": "DigitalTwin", "title": "t", "publisher": "https://j.example/id/c",
             "conformsTo": f"https://w3id.org/ecgraph/profile/core/{version}", "describes": "https://j.example/id/c"},
            {"id": "https://j.example/id/c", "type": "EnergyCommunity", "name": "c", "legalForm": "cooperative",
             "usesTool": "https://j.example/id/tool",
             "hasAsset": {"type": "PVInstallation", "peakPower": {"value": 12, "unit": "kW"}}}]}).encode()

    units = {}
    for version in ("1.0.0", "1.1.0"):
        triples = ingest.parse(doc(version), "application/ld+json").triples
        units[version] = {t.predicate.value.rsplit("/", 1)[1] for t in triples if "qudt" in t.predicate.value}
        tool = next(t.object for t in triples if t.predicate.value.endswith("usesTool"))
        # 1.0.0's context made this link a string (a flaw 1.1.0 fixed): kept as 1.0.0 read it
        assert type(tool).__name__ == ("Literal" if version == "1.0.0" else "NamedNode")
        assert validate(triples, "core").conforms, version
    assert units == {"1.0.0": {"numericValue", "unit"}, "1.1.0": {"numericValue", "hasUnit"}}
    # the versioned context URL always means its release
    pinned = doc("1.1.0").replace(standard.CONTEXT_URL.encode(), standard.context_version_url("1.0.0").encode())
    assert any(t.predicate.value.endswith("/unit") for t in ingest.parse(pinned, "application/ld+json").triples)


def test_a_claim_of_an_unknown_release_is_judged_by_the_current_one_and_says_so():
    report = validate(ingest.parse(twin("9.0.0"), "text/turtle").triples, "core")
    assert report.version == standard.STANDARD_VERSION and report.claimed == ["9.0.0"]
    from ecgraph.validation.reports import render

    assert "claims 9.0.0, a release this validator does not have" in render(report, "text")


def test_the_validator_can_be_asked_for_a_release(tmp_path):
    path = tmp_path / "twin.ttl"
    path.write_bytes(twin("1.1.0"))
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(path)]).exit_code == 1
    result = runner.invoke(main, ["validate", str(path), "--profile-version", "1.0.0"])
    assert result.exit_code == 0 and "core/1.0.0" in result.output
    assert runner.invoke(main, ["validate", str(path), "--profile-version", "2.0.0"]).exit_code == 2


def test_text_reports_say_an_older_release_judged():
    from ecgraph.validation.reports import render

    report = validate(ingest.parse(twin("1.0.0"), "text/turtle").triples, "core")
    text = render(report, "text")
    assert "judged by the 1.0.0 profiles, the release the twin claims (the current release is 1.1.0)" in text


def test_the_shapes_page_says_which_release_it_shows(client):
    current = client.get("/shapes").get_data(as_text=True)
    assert "Conformance rules, profiles 1.1.0" in current and "This is the current release" in current
    assert "LocalLegalForm" not in current  # helper shapes are not rules of their own
    assert "core-DateNotFarAheadCheck" in current and "recommended-PointInCountryCheck" in current
    old = client.get("/shapes", query_string={"profile-version": "1.0.0"}).get_data(as_text=True)
    assert "Conformance rules, profiles 1.0.0" in old and "still applies to twins that claim it" in old
    assert "core-DateNotFarAheadCheck" not in old and "core-CommunityShape-legalForm" in old
    assert client.get("/shapes", query_string={"profile-version": "7.0"}).status_code == 400


def test_the_changelog_lists_what_changed_from_1_0_0():
    text = (standard.docs_dir() / "changelog.md").read_text(encoding="utf-8")
    assert "## 1.1.0" in text and "## 1.0.0" in text
    for item in ("qudt:hasUnit", "legal form", "xsd:gYear", "ecsh:DateNotFarAheadCheck", "ec:School", "shapes/1.0.0"):
        assert item in text, item

"""Open data (issue 16, section 4): every twin's licence in its catalog entry, the one test of an
open licence, and the node's versioned bulk dump (N-Quads, DCAT description with checksums,
regenerated on change, listed in the catalog, no personal data by default)."""

from __future__ import annotations

import gzip
import hashlib

import pyoxigraph as ox
import pytest

from ecgraph.publish.licences import is_known_licence, is_open_licence, twin_licence
from tests.helpers import ADMIN, auth, make_twin

CC_BY = "https://creativecommons.org/licenses/by/4.0/"
DCT = "http://purl.org/dc/terms/"


def licensed_twin(slug: str, licence: str | None, tag: str = "A", contact: bool = False) -> bytes:
    data = make_twin(slug, tag=tag, licence=None).decode()
    if licence:
        data = data.replace("ec:describes <community> .", f"ec:describes <community> ; dcterms:license <{licence}> .")
    if contact:
        data += ('<community> ec:contactPoint <contact> .\n'
                 '<contact> a <http://www.w3.org/2006/vcard/ns#Individual> ; '
                 '<http://www.w3.org/2006/vcard/ns#fn> "Jan Jansen" ; '
                 '<http://www.w3.org/2006/vcard/ns#hasEmail> <mailto:jan@example.org> .\n')
    return data.encode()


@pytest.mark.parametrize("iri, is_open", [
    ("https://creativecommons.org/licenses/by/4.0/", True),
    ("http://creativecommons.org/licenses/by-sa/3.0/nl/", True),
    ("https://creativecommons.org/licenses/by/4.0/legalcode.fr", True),
    ("https://creativecommons.org/publicdomain/zero/1.0/", True),
    ("https://spdx.org/licenses/ODbL-1.0", True),
    ("https://spdx.org/licenses/CC-BY-4.0.html", True),
    ("https://spdx.org/licenses/etalab-2.0", True),
    ("https://creativecommons.org/licenses/by-nc/4.0/", False),
    ("https://creativecommons.org/licenses/by-nd/4.0/", False),
    ("https://spdx.org/licenses/CC-BY-NC-4.0", False),
    ("https://example.org/all-rights-reserved", False),
    ("https://creativecommons.org.evil.example/licenses/by/4.0/", False),
    (None, False),
])
def test_an_open_licence_is_cc0_cc_by_cc_by_sa_or_an_open_data_licence_by_its_spdx_iri(iri, is_open):
    assert is_open_licence(iri) is is_open


def test_a_known_licence_is_what_the_recommended_profile_accepts():
    assert is_known_licence("https://spdx.org/licenses/MIT") and is_known_licence(CC_BY)
    assert not is_known_licence("https://opendatacommons.org/licenses/odbl/1-0/")


def test_the_catalog_entry_of_a_twin_states_its_licence_and_the_catalog_lists_the_dump(node, client):
    node.register("open", "Open")
    node.publish("open", node.upload_for("open", licensed_twin("open", CC_BY), media_type="text/turtle"))
    node.register("closed", "Closed")
    node.publish("closed", node.upload_for("closed", licensed_twin("closed", None), media_type="text/turtle"))
    assert node.twin_info("open")["license"] == CC_BY
    assert node.twin_info("closed")["license"] == ""
    answer = client.get("/catalog", headers={"Accept": "application/n-triples"})
    triples = [t for t in ox.parse(answer.data, format=ox.RdfFormat.N_TRIPLES)]
    licences = {(t.subject.value, t.object.value) for t in triples if t.predicate.value == DCT + "license"}
    assert licences == {("https://w3id.org/ecgraph/twin/open", CC_BY)}
    assert any(t.object.value == "http://localhost/dump" for t in triples)
    assert twin_licence(list(ox.parse(licensed_twin("x", CC_BY), format=ox.RdfFormat.TURTLE))) == CC_BY


def _dump_quads(body: bytes) -> list[ox.Quad]:
    return list(ox.parse(gzip.decompress(body), format=ox.RdfFormat.N_QUADS))


def _description(client) -> dict[str, str]:
    answer = client.get("/dump", headers={"Accept": "application/n-triples"})
    assert answer.status_code == 200
    return {t.predicate.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]: t.object.value
            for t in ox.parse(answer.data, format=ox.RdfFormat.N_TRIPLES)}


def test_the_dump_holds_every_twin_with_its_licence_and_its_description_gives_the_checksum(node, client):
    node.register("open", "Open")
    node.publish("open", node.upload_for("open", licensed_twin("open", CC_BY, contact=True), media_type="text/turtle"))
    described = _description(client)
    answer = client.get("/dump.nq.gz")
    assert answer.status_code == 200 and answer.mimetype == "application/gzip"
    assert hashlib.sha256(answer.data).hexdigest() == described["checksumValue"]
    assert int(described["byteSize"]) == len(answer.data)
    assert described["version"] == "1" and described["license"] == CC_BY
    assert described["downloadURL"] == "http://localhost/dump.nq.gz"
    quads = _dump_quads(answer.data)
    graphs = {q.graph_name.value for q in quads}
    assert graphs == {"https://w3id.org/ecgraph/twin/open", "https://w3id.org/ecgraph/graph/catalog"}
    assert any(q.predicate.value == DCT + "license" and q.object.value == CC_BY
               and q.graph_name.value.endswith("/catalog") for q in quads)
    assert any(q.predicate.value == "https://schema.org/name" for q in quads)
    # no personal data by default: neither the contact's name and e-mail nor the households
    text = gzip.decompress(answer.data).decode()
    assert "Jan Jansen" not in text and "mailto:jan@example.org" not in text and "Household" not in text
    assert node.dump().withheld > 0
    # gzip's header says how hard it was compressed (XFL, byte 8): 2 is level 9, about a fifth of
    # a dump's time; 0 is a middle level (6, the gzip command's own)
    assert answer.data[:2] == b"\x1f\x8b" and answer.data[8] == 0


def test_the_dump_is_regenerated_with_the_next_version_when_a_twin_changes_and_only_then(node, client):
    node.register("open", "Open")
    node.publish("open", node.upload_for("open", licensed_twin("open", CC_BY, tag="A"), media_type="text/turtle"))
    first = client.get("/dump.nq.gz")
    again = client.get("/dump.nq.gz")
    assert first.data == again.data and first.headers["ETag"] == again.headers["ETag"]
    assert client.get("/dump.nq.gz", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    node.publish("open", node.upload_for("open", licensed_twin("open", CC_BY, tag="B"), media_type="text/turtle"))
    second = client.get("/dump.nq.gz")
    assert second.headers["X-Dump-Version"] == "2" and second.headers["ETag"] != first.headers["ETag"]
    assert b'"B"' in gzip.decompress(second.data) and b'"A"' not in gzip.decompress(second.data)
    assert _description(client)["version"] == "2"
    assert len(list((node.dump_dir).glob("*.nq.gz"))) == 1  # the superseded dump is gone


def test_the_dump_can_carry_personal_data_when_the_operator_opts_in(tmp_path):
    from ecgraph.config import Config
    from ecgraph.node import Node

    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True,
                         dump_personal_data=True)
    node = Node(config, workers=False)
    try:
        node.register("open", "Open")
        node.publish("open", node.upload_for("open", licensed_twin("open", CC_BY, contact=True),
                                             media_type="text/turtle"))
        made = node.dump()
        assert made.personal_data and made.withheld == 0
        assert b"Jan Jansen" in gzip.decompress(node.dump_file(made).read_bytes())
    finally:
        node.close()


def test_anyone_may_download_the_dump(client):
    assert client.get("/dump.nq.gz", headers=auth("not-a-token")).status_code == 200

"""Personal data (issue 16, section 5): a node publishes personal statements only where the twin
states a basis (ec:personalDataBasis), and erases a person's data from the current twin, every
archived version and the dump, through Node.erase, POST /api/twins/<id>/erasure and
``ecgraph twins erase``."""

from __future__ import annotations

import gzip
import subprocess
import sys

import pyoxigraph as ox
import pytest

from ecgraph.config import Config
from ecgraph.node import Caller, Node
from ecgraph.query.pool import QueryRequest
from tests.helpers import ADMIN, auth, fingerprint, make_twin

VCARD = "http://www.w3.org/2006/vcard/ns#"


def twin(slug: str = "coop", *, basis: str | None = None, contact_basis: str | None = None, tag: str = "A",
         release: str = "1.1.0", people: tuple[str, ...] = ("Jan Jansen",)) -> bytes:
    """A twin with a contact point and one ec:Person member per name."""
    data = make_twin(slug, tag=tag, members=1).decode().replace("profile/core/1.0.0", f"profile/core/{release}")
    if basis:
        data = data.replace("ec:describes <community> .", f"ec:describes <community> ; ec:personalDataBasis {basis} .")
    data += "@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .\n"
    data += ("<community> ec:contactPoint <contact> .\n"
             '<contact> a vcard:Individual ; vcard:fn "Jan Jansen" ; vcard:hasEmail <mailto:jan@example.org> ;\n'
             '  vcard:hasAddress [ vcard:street-address "Dorpsstraat 1" ] '
             + (f"; ec:personalDataBasis {contact_basis} " if contact_basis else "") + ".\n")
    for i, name in enumerate(people):
        data += (f'<membership/p{i}> a ec:Membership ; ec:community <community> ; ec:member <person/{i}> ; '
                 'ec:role ec:role-consumer ; ec:startDate "2022-01-01"^^xsd:date .\n'
                 f'<person/{i}> a ec:Person ; <https://schema.org/name> "{name}" .\n')
    return data.encode()


def everything(node: Node) -> str:
    """Every quad the SPARQL endpoint can reach, as text."""
    result = node.query(QueryRequest("SELECT ?s ?p ?o ?g WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
                                     "json"))
    return result.body.decode() if isinstance(result.body, bytes) else str(result.body)


def publish(node: Node, twin_id: str, data: bytes):
    return node.publish(twin_id, node.upload_for(twin_id, data, media_type="text/turtle"))


# --- a basis ---------------------------------------------------------------------------------------

def test_personal_data_without_a_basis_is_not_published_and_the_report_says_so(node):
    node.register("coop", "Coop")
    published = publish(node, "coop", twin())
    seen = everything(node)
    assert "Jan Jansen" not in seen and "jan@example.org" not in seen and "Dorpsstraat" not in seen
    assert "Test community coop" in seen  # the rest is published
    assert published.report["personalData"]["withheld"] > 0
    assert "ec:personalDataBasis" in published.report["personalData"]["detail"]


def test_a_basis_on_the_twin_publishes_every_personal_statement(node):
    node.register("coop", "Coop")
    published = publish(node, "coop", twin(basis="ec:basis-consent"))
    seen = everything(node)
    assert "Jan Jansen" in seen and "mailto:jan@example.org" in seen and "Dorpsstraat 1" in seen
    assert "personalData" not in published.report


def test_a_basis_on_a_contact_point_covers_it_and_not_the_members(node):
    node.register("coop", "Coop")
    publish(node, "coop", twin(contact_basis="ec:basis-public-role", people=("Piet Peters",)))
    seen = everything(node)
    assert "mailto:jan@example.org" in seen and "Dorpsstraat 1" in seen
    assert "Piet Peters" not in seen


def test_a_basis_that_is_not_one_of_the_code_list_covers_nothing(node):
    node.register("coop", "Coop")
    publish(node, "coop", twin(basis="<https://example.org/because>"))
    assert "Jan Jansen" not in everything(node)


def test_a_twin_judged_by_1_0_0_which_cannot_state_a_basis_is_published_as_before(node):
    node.register("old", "Old")
    publish(node, "old", twin("old", release="1.0.0"))
    assert "Jan Jansen" in everything(node)


# --- erasure ---------------------------------------------------------------------------------------

def make_history(tmp_path) -> tuple[Node, str]:
    """A node whose twin "coop" has two archived versions and a current one, each naming Jan
    Jansen (and Piet Peters, who stays); the dump carries personal data (opted in) to show that
    erasure reaches it too."""
    config = Config.load(environ={}, data=tmp_path / "data", admin_token=ADMIN, no_demo=True,
                         dump_personal_data=True)
    node = Node(config, workers=False)
    token = node.register("coop", "Coop")
    for tag in ("A", "B", "C"):
        publish(node, "coop", twin(basis="ec:basis-consent", tag=tag, people=("Jan Jansen", "Piet Peters")))
    assert b"Jan Jansen" in gzip.decompress(node.dump_file(node.dump()).read_bytes())
    return node, token


@pytest.fixture()
def history(tmp_path):
    node, token = make_history(tmp_path)
    yield node, token
    node.close()


def _nowhere(node: Node, *values: str) -> None:
    """None of ``values`` in a query answer, the current data, an archived version, the dump, the
    report, or the bytes of the registry's file."""
    seen = everything(node)
    for value in values:
        assert value not in seen
    texts = [formats_text(node.twin_data("coop"))]
    for v in node.versions("coop"):
        if not v["current"]:
            texts.append(formats_text(node.twin_data("coop", v["version"])))
    assert len(texts) == 3
    dumped = gzip.decompress(node.dump_file(node.dump()).read_bytes()).decode()
    registry = (node.data_dir / "registry.sqlite3").read_bytes()
    # discovery's index (features, contact points, lessons' texts), its write-ahead log included
    index = b"".join(path.read_bytes() for path in node.data_dir.glob("discovery.sqlite3*"))
    for value in values:
        assert value.encode() not in index, value
        for text in texts:
            assert value not in text
        assert value not in dumped
        assert value not in str(node.report("coop"))
        assert value.encode() not in registry
    assert "Piet Peters" in seen and "Piet Peters" in dumped and all("Piet Peters" in t for t in texts)


def formats_text(triples: list[ox.Triple]) -> str:
    from ecgraph import formats

    return formats.ntriples(triples)


def test_erasure_by_name_leaves_no_query_version_dump_report_or_registry_byte_with_the_person(history):
    """Erasing a name takes every personal record holding it whole: the member and the contact
    point (its e-mail and its address go with it)."""
    node, _ = history
    erased = node.erase("coop", "Jan Jansen")
    assert erased.current > 0 and set(erased.versions) == {1, 2}
    assert erased.version == 4
    _nowhere(node, "Jan Jansen", "jan@example.org", "Dorpsstraat 1")
    assert node.twin_info("coop")["version"] == 4


def test_erasure_by_a_person_iri_through_the_api_with_the_publisher_token(history, tmp_path):
    from ecgraph.web import create_app

    node, token = history
    client = create_app(node).test_client()
    answer = client.post("/api/twins/coop/erasure", json={"erase": "https://coop.example/id/person/0"},
                         headers=auth(token))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["current"] > 0 and set(answer.get_json()["versions"]) == {"1", "2"}
    seen = everything(node)
    assert "https://coop.example/id/person/0" not in seen and "Piet Peters" in seen
    assert "Jan Jansen" in seen  # the contact point is someone else's record: only what was named goes


def test_erasure_is_refused_to_others_and_changes_nothing_when_nothing_matches(history):
    from ecgraph import errors
    from ecgraph.web import create_app

    node, _ = history
    other = node.register("other", "Other")
    before = fingerprint(node.store)
    client = create_app(node).test_client()
    assert client.post("/api/twins/coop/erasure", json={"erase": "Jan Jansen"}).status_code == 401
    assert client.post("/api/twins/coop/erasure", json={"erase": "Jan Jansen"},
                       headers=auth(other)).status_code == 403
    assert client.post("/api/twins/coop/erasure", json={}, headers=auth(ADMIN)).status_code == 400
    with pytest.raises(errors.NotFound, match="nothing was changed"):
        node.erase("coop", "nobody@example.org", caller=Caller(token=ADMIN))
    with pytest.raises(errors.NotFound):
        node.erase("coop", "Test community coop")  # not personal data: nothing to erase
    assert fingerprint(node.store) == before
    assert "Jan Jansen" in everything(node)


def test_ecgraph_twins_erase_on_the_command_line(tmp_path):
    node, _ = make_history(tmp_path)
    data = node.data_dir
    node.close()
    result = subprocess.run([sys.executable, "-m", "ecgraph.cli", "twins", "erase", "coop", "jan@example.org",
                             "--data", str(data)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "erased from coop:" in result.stdout and "v1:" in result.stdout and "v2:" in result.stdout
    reopened = Node(Config.load(environ={}, data=data, admin_token=ADMIN, no_demo=True, dump_personal_data=True),
                    workers=False)
    try:
        history_node = reopened
        seen = everything(history_node)
        assert "jan@example.org" not in seen and "Dorpsstraat 1" not in seen
        assert "Jan Jansen" in seen  # the member of that name is another record: an e-mail erases the contact
        assert all("jan@example.org" not in formats_text(history_node.twin_data("coop", v)) for v in (1, 2))
    finally:
        reopened.close()

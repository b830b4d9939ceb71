"""The catalog read by resource (ecgraph.publish.catalog_pages): its RDF in parts that link the next,
and its page for people, each reading only the resources it shows, and equal to the catalog read
whole (the node's ``catalog_triples``, as ``/catalog`` served it before)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pyoxigraph as ox
import pytest

from ecgraph.config import Config
from ecgraph.publish import catalog_pages, dump, linked
from ecgraph.publish.fetch import FetchPolicy, FetchRefused
from ecgraph.query.federate import PeerPolicy
from tests.helpers import ADMIN, make_twin
from tests.servers import LoopbackServer

NT = {"Accept": "application/n-triples"}
HTML = {"Accept": "text/html"}
BASE = "http://localhost"
HYDRA = catalog_pages.HYDRA


@pytest.fixture
def demo(tmp_path, demo_data):
    from ecgraph.node import Node

    config = Config.load(environ={}, data=demo_data(tmp_path / "data"), admin_token=ADMIN, no_demo=True)
    node = Node(config, workers=False)
    # a twin registered with its namespace and not published: its claim is made for each request
    node.register("claims-only", namespaces=["https://claims-only.example/id/"])
    yield node
    node.close()


@pytest.fixture
def client(demo):
    from ecgraph.web import create_app

    app = create_app(demo)
    app.testing = True
    return app.test_client()


def _whole(node) -> set[ox.Triple]:
    """The catalog as it was served before it was read by resource: every statement at once."""
    made = node.catalog_triples() + list(dump.catalog_links(BASE))
    return set(made + linked.distributions(made, BASE))


def _parse(body: bytes) -> set[ox.Triple]:
    return {q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)}


def _is_hydra(t: ox.Triple) -> bool:
    return t.predicate.value.startswith(HYDRA) or (isinstance(t.object, ox.NamedNode)
                                                   and t.object.value.startswith(HYDRA))


LISTS = "http://www.w3.org/ns/dcat#dataset"
CATALOG = ox.NamedNode("https://w3id.org/ecgraph/graph/catalog")


def _owner(t: ox.Triple) -> str:
    """A statement's resource: its subject's, a catalog's listing of a dataset the dataset's."""
    listing = t.predicate.value == LISTS and isinstance(t.object, ox.NamedNode)
    return catalog_pages.family(t.object if listing else t.subject, {})


def _families(triples) -> set[str]:
    return {_owner(t) for t in triples}


def _read_in_parts(client) -> tuple[list[set[ox.Triple]], list[str]]:
    parts, links = [], []
    url = "/catalog"
    while url:
        answer = client.get(url, headers=NT)
        assert answer.status_code == 200, answer.data[:300]
        parts.append(_parse(answer.data))
        links.append(answer.headers.get("Link", ""))
        following = re.search(r'<([^>]+)>; rel="next"', answer.headers.get("Link", ""))
        url = following.group(1)[len(BASE):] if following else ""
        assert len(parts) < 100
    return parts, links


def test_a_small_catalog_is_one_answer_equal_to_the_catalog_read_whole(client, demo):
    answer = client.get("/catalog", headers=NT)
    assert "Link" not in answer.headers
    assert _parse(answer.data) == _whole(demo)
    assert "https://claims-only.example/id/" in answer.get_data(as_text=True)


def test_a_larger_catalog_comes_in_parts_that_link_the_next_and_together_are_the_whole(client, demo):
    demo.config.catalog_part = 4
    parts, links = _read_in_parts(client)
    resources = _families(_whole(demo))
    assert len(parts) == -(-len(resources) // 4) > 3
    together = set().union(*parts)
    assert {t for t in together if not _is_hydra(t)} == _whole(demo)
    for number, (part, link) in enumerate(zip(parts, links, strict=True)):
        own = {t for t in part if not _is_hydra(t)}
        assert len(_families(own)) <= 4
        assert f'<{BASE}/catalog>; rel="first"' in link
        total = [t.object.value for t in part if t.predicate.value == HYDRA + "totalItems"]
        assert total == [str(len(resources))]
        nexts = [t for t in part if t.predicate.value == HYDRA + "next"]
        assert len(nexts) == (0 if number == len(parts) - 1 else 1)
        views = [t.object for t in part if t.predicate.value == HYDRA + "view"]
        assert len(views) == 1 and ox.Triple(views[0], ox.NamedNode(ox.NamedNode(
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#type").value),
            ox.NamedNode(HYDRA + "PartialCollectionView")) in part
    # each resource in one part only: the parts follow one another by key
    seen = [_families({t for t in part if not _is_hydra(t)}) for part in parts]
    assert sum(len(s) for s in seen) == len(resources)
    # each part lists the datasets it holds, and only those; the catalog's own resource is a few
    # statements (at 10,000 twins it was 10,000, more than Virtuoso gives in one answer)
    listed_anywhere = {t.object for t in _whole(demo) if t.subject == CATALOG and t.predicate.value == LISTS}
    assert len(listed_anywhere) > 20
    for part in parts:
        datasets = {t.subject for t in part if t.predicate.value == "http://purl.org/dc/terms/identifier"
                    and t.subject in listed_anywhere}
        listed = {t.object for t in part if t.subject == CATALOG and t.predicate.value == LISTS}
        assert datasets <= listed and listed <= {ox.NamedNode(key) for key in _families(part)}
    assert len([t for part in parts for t in part if t.subject == CATALOG and t.predicate.value != LISTS
                and not _is_hydra(t)]) < 5
    # past the last key: an empty part that links none
    last = client.get("/catalog?after=" + quote("~~~", safe=""), headers=NT)
    assert {t for t in _parse(last.data) if not _is_hydra(t)} == set() and 'rel="next"' not in last.headers["Link"]


def test_a_twin_published_while_a_client_reads_the_parts_moves_no_other_resource(client, demo):
    demo.config.catalog_part = 4
    first = client.get("/catalog", headers=NT)
    following = re.search(r'<([^>]+)>; rel="next"', first.headers["Link"]).group(1)[len(BASE):]
    before = _families({t for t in _parse(client.get(following, headers=NT).data) if not _is_hydra(t)})
    # a new twin whose key sorts before every twin of the second part (and the index is rebuilt)
    demo.register("aaa-newcomer")
    demo.publish("aaa-newcomer", demo.upload_for("aaa-newcomer", make_twin("aaa-newcomer"), filename="t.ttl"))
    after = _families({t for t in _parse(client.get(following, headers=NT).data) if not _is_hydra(t)})
    assert after == before
    assert "aaa-newcomer" in client.get("/catalog?after=", headers=NT).get_data(as_text=True)


def test_each_page_for_people_reads_only_its_resources_and_shows_what_the_whole_catalog_did(client, demo,
                                                                                           monkeypatch):
    """Every page equals the page made from the catalog read whole, and reads the statements of its
    own resources only (at 10,000 twins the page read 265,000 statements to show 25 resources)."""
    from ecgraph.web.face import views

    monkeypatch.setattr(views, "TRIPLES_PAGE_SUBJECTS", 5)
    asked: list[int] = []
    real = type(demo.store).triples_about

    def counted(self, graph, subjects, listed_by=()):
        asked.append(len(subjects))
        return real(self, graph, subjects, listed_by)

    monkeypatch.setattr(type(demo.store), "triples_about", counted)
    first = client.get("/catalog?lang=en", headers=HTML).get_data(as_text=True)
    pages = int(re.search(r"Page 1 of (\d+)", first).group(1))
    assert pages > 3
    stored = [client.get(f"/catalog?lang=en&page={n}", headers=HTML).get_data(as_text=True)
              for n in range(1, pages + 1)]
    # at most 5 resources a page, each a dataset with its fragments (3 subjects) or the catalog itself
    assert asked and max(asked) <= 5 * 3
    whole = catalog_pages.of_triples(demo.catalog_triples() + list(dump.catalog_links(BASE)))
    monkeypatch.setattr(type(demo), "catalog_resources", lambda self, made=(): whole)
    for n in range(1, pages + 1):
        assert client.get(f"/catalog?lang=en&page={n}", headers=HTML).get_data(as_text=True) == stored[n - 1]


def test_a_blank_node_an_admin_wrote_into_the_catalog_is_still_served(client, demo):
    """A blank node cannot be asked for again by itself over a remote store: such a catalog is read
    whole, and shown as before."""
    demo.update("INSERT DATA { GRAPH <https://w3id.org/ecgraph/graph/catalog> { "
                "<https://w3id.org/ecgraph/graph/catalog> <http://purl.org/dc/terms/publisher> _:who . "
                "_:who <http://xmlns.com/foaf/0.1/name> \"The network's organiser\" } }")
    body = client.get("/catalog", headers=NT)
    got = _parse(body.data)
    assert any(t.object.value == "The network's organiser" for t in got if isinstance(t.object, ox.Literal))
    assert len(got) == len(_whole(demo))
    demo.config.catalog_part = 4
    parts, _ = _read_in_parts(client)
    names = [t for part in parts for t in part if isinstance(t.object, ox.Literal)
             and t.object.value == "The network's organiser"]
    assert len(names) == 1
    page = client.get("/catalog?lang=en", headers=HTML).get_data(as_text=True)
    assert "The network" in page


def test_the_index_of_the_catalog_is_kept_until_the_next_commit(demo, monkeypatch):
    built = []
    real = catalog_pages.index
    monkeypatch.setattr(catalog_pages, "index", lambda *a: built.append(1) or real(*a))
    demo.catalog_resources()
    demo.catalog_resources()
    assert len(built) == 1
    demo.register("one-more")
    demo.publish("one-more", demo.upload_for("one-more", make_twin("one-more"), filename="t.ttl"))
    keys = demo.catalog_resources().keys
    assert len(built) == 2 and demo.entries()["one-more"].graph in keys


class _CircularCatalog(LoopbackServer):
    """A peer whose catalog's every part names the same next part."""

    def answer(self, method, path, body):
        doc = (f'<{self.url}/catalog?after=x> <{HYDRA}next> <{self.url}/catalog?after=x> .\n'
               '<https://w3id.org/ecgraph/twin/t> <http://purl.org/dc/terms/identifier> "t" .\n')
        return 200, {"Content-Type": "application/n-triples"}, doc.encode()


class _ElsewhereCatalog(LoopbackServer):
    """A peer whose catalog names a next part on another host."""

    def answer(self, method, path, body):
        doc = (f'<{self.url}/catalog> <{HYDRA}next> <http://198.51.100.7/catalog?after=b> .\n'
               if "after" not in path else "")
        return 200, {"Content-Type": "application/n-triples"}, doc.encode()


def test_a_peer_s_catalog_parts_cannot_keep_the_node_reading_or_send_it_elsewhere():
    from ecgraph.network.peers import PeerCall

    circular, elsewhere = _CircularCatalog(), _ElsewhereCatalog()
    try:
        policy = FetchPolicy(PeerPolicy([circular.url, elsewhere.url]), allow_hosts=("127.0.0.1",))
        with pytest.raises(FetchRefused, match="does not follow the one before") as caught:
            PeerCall(circular.url, policy, 5).catalog()
        assert caught.value.status == 502
        assert circular.hits == ["GET /catalog", "GET /catalog?after=x"]
        # the next part's key is asked of the peer itself, never of the host its link names
        assert PeerCall(elsewhere.url, policy, 5).catalog() == []
        assert elsewhere.hits == ["GET /catalog", "GET /catalog?after=b"]
    finally:
        circular.close()
        elsewhere.close()


class _LargeCatalog(LoopbackServer):
    """A node whose catalog is past the fetch limit, and that answers SPARQL too."""

    def answer(self, method, path, body):
        if path.startswith("/catalog"):
            line = '<https://w3id.org/ecgraph/twin/t> <http://purl.org/dc/terms/title> "%s" .\n' % ("x" * 200)
            return 200, {"Content-Type": "application/n-triples"}, (line * 20).encode()
        return 200, {"Content-Type": "application/sparql-results+json"}, b'{"head": {}, "boolean": true}'


def test_a_peer_whose_catalog_is_past_the_fetch_limit_is_not_taken_for_a_plain_sparql_store():
    """Before, the check fell back to asking SPARQL, and such a node was harvested graph by graph as a
    plain store (its inferences and records as twins)."""
    from ecgraph.network.peers import PeerCall, detect

    large = _LargeCatalog()
    try:
        policy = FetchPolicy(PeerPolicy([large.url]), allow_hosts=("127.0.0.1",), max_bytes=1000)
        with pytest.raises(FetchRefused, match="limit is 1,000") as caught:
            detect(PeerCall(large.url, policy, 5))
        assert caught.value.status == 413 and large.hits == ["GET /catalog"]
    finally:
        large.close()


def _entry(url: str, twin: str, version: str) -> str:
    g = f"https://w3id.org/ecgraph/twin/{twin}"
    return (f'<{g}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/ecgraph/ns#PublishedTwin> .\n'
            f'<{g}> <http://purl.org/dc/terms/identifier> "{twin}" .\n'
            f'<{g}> <http://www.w3.org/ns/dcat#version> "{version}" .\n')


class _SlowSecondPart(LoopbackServer):
    """A large peer: its first part at once, the next one only after the check's time."""

    def answer(self, method, path, body):
        if "after" in path:
            import time

            time.sleep(1.5)
            return 200, {"Content-Type": "application/n-triples"}, _entry(self.url, "late", "1").encode()
        doc = _entry(self.url, "early", "3") + f'<{self.url}/catalog> <{HYDRA}next> <{self.url}/catalog?after=t> .\n'
        return 200, {"Content-Type": "application/n-triples"}, doc.encode()


class _WordVersion(LoopbackServer):
    def answer(self, method, path, body):
        return 200, {"Content-Type": "application/n-triples"}, _entry(self.url, "odd", "two").encode()


def test_the_peer_check_of_a_catalog_larger_than_its_time_says_what_the_peer_is_without_counting_it():
    """The check (5 s by default) read every part: at 10,000 twins, 11 parts took 3.5 s on loopback.
    Its first parts are enough to say the peer is an ecgraph node; its twins are then not counted."""
    import time

    from ecgraph.network.peers import PeerCall, detect

    slow, odd = _SlowSecondPart(), _WordVersion()
    try:
        policy = FetchPolicy(PeerPolicy([slow.url, odd.url]), allow_hosts=("127.0.0.1",))
        started = time.monotonic()
        assert detect(PeerCall(slow.url, policy, 0.5)) == ("ecgraph", {"twins": None, "profiles": []})
        assert time.monotonic() - started < 1.4
        with pytest.raises(FetchRefused, match="took longer than"):  # a harvest needs it whole
            PeerCall(slow.url, policy, 0.5).catalog()
        assert [t["id"] for t in PeerCall(slow.url, policy, 5).catalog()] == ["early", "late"]
        # a version that is not a whole number is the peer's error, said as such (it was a ValueError)
        with pytest.raises(FetchRefused, match="not a whole number: 'two'") as caught:
            PeerCall(odd.url, policy, 5).catalog()
        assert caught.value.status == 502
    finally:
        slow.close()
        odd.close()

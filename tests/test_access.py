"""Access control on a real node: every write path, with no token, a malformed or wrong token,
another twin's token, a revoked token, a rotated-away token, the twin's own token and the admin
token, answers 401/403/2xx as the contract says, and a refused write changes nothing (the store,
the registry file and the public listing hash the same before and after). Tokens never appear in
the server's output, in error messages or on disk in clear (the registry holds SHA-256 hashes).
``/update`` refuses everyone but the admin; ``/sparql`` refuses updates in every form.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import requests

from ecgraph import standard
from tests.checks import record, state_digest, store_digest
from tests.helpers import make_twin
from tests.servers import Document, NodeProcess

TURTLE = {"Content-Type": "text/turtle"}


class Access:
    """A node with twins ``alpha`` (tokens: one rotated away, one revoked, one current) and
    ``beta``, and every token it ever issued, to look for them where they must not be."""

    def __init__(self, node: NodeProcess, source: Document):
        self.node = node
        self.url = node.url
        self.source = source
        self.issued: list[str] = [node.admin_token]
        self.presented: list[str] = []
        self.bodies: list[str] = []
        admin = node.admin
        self.tokens = {}
        for twin_id in ("alpha", "beta"):
            r = requests.post(self.url + "/api/twins", json={"id": twin_id}, headers=admin)
            assert r.status_code == 201
            self.tokens[twin_id] = self.keep(r.json()["token"])
        # alpha: issued -> rotated away (admin) -> that one revoked (admin) -> a new one (admin)
        self.rotated_away = self.tokens["alpha"]
        self.revoked = self.rotate("alpha", admin)
        assert requests.delete(self.url + "/api/twins/alpha/token", headers=admin).status_code == 204
        self.tokens["alpha"] = self.rotate("alpha", admin)
        for twin_id in ("alpha", "beta"):
            r = requests.put(f"{self.url}/api/twins/{twin_id}", data=make_twin(twin_id, tag="v1"),
                             headers={**self.auth(self.tokens[twin_id]), **TURTLE})
            assert r.status_code == 201, r.text

    def keep(self, token: str) -> str:
        self.issued.append(token)
        return token

    def rotate(self, twin_id: str, headers: dict) -> str:
        r = requests.post(f"{self.url}/api/twins/{twin_id}/token", headers=headers)
        assert r.status_code == 200, r.text
        return self.keep(r.json()["token"])

    @staticmethod
    def auth(token: str) -> dict:
        return {"Authorization": f"Bearer {token}"}

    def refused_credentials(self, twin_id: str = "alpha") -> list[tuple[str, dict, int]]:
        """(what, headers, expected status) for every credential that must not write ``twin_id``."""
        other = "beta" if twin_id == "alpha" else "alpha"
        wrong = "ecg_" + "x" * 43
        return [
            ("no token", {}, 401),
            ("empty bearer", {"Authorization": "Bearer "}, 401),
            ("basic scheme", {"Authorization": "Basic " + self.node.admin_token}, 401),
            ("token without a scheme", {"Authorization": self.node.admin_token}, 401),
            ("wrong token", self.auth(wrong), 403),
            ("10 kB token", self.auth("ecg_" + "y" * 10_000), 403),
            ("admin token with a space inside",
             self.auth(self.node.admin_token[:8] + " " + self.node.admin_token[8:]), 403),
            ("admin token's hash", self.auth(hashlib.sha256(self.node.admin_token.encode()).hexdigest()), 403),
            ("another twin's token", self.auth(self.tokens[other]), 403),
            ("revoked token", self.auth(self.revoked), 403),
            ("rotated-away token", self.auth(self.rotated_away), 403),
        ]

    def state(self):
        return state_digest(self.url, self.node.data)


@pytest.fixture(scope="module")
def access(tmp_path_factory):
    source = Document(make_twin("alpha", tag="pulled"))
    node = NodeProcess(tmp_path_factory.mktemp("access") / "data", "--no-demo",
                       "--allow-host", f"127.0.0.1:{source.port}").start()
    a = Access(node, source)
    yield a
    node.stop()
    source.close()
    log = node.log()
    for token in a.issued + a.presented:
        assert token not in log, "a token appears in the server's output"
    assert not any(token in body for body in a.bodies for token in a.presented), "an answer echoes a token"


def _writes(a: Access, twin_id: str) -> list[tuple[str, callable]]:
    """Every write path of a twin: (name, send(headers) -> Response)."""
    url, graph = a.url, standard.twin_graph(twin_id)
    body = make_twin(twin_id, tag="attempt")
    return [
        ("POST /api/twins", lambda h: requests.post(url + "/api/twins", json={"id": "intruder"}, headers=h)),
        ("PUT /api/twins/<id>", lambda h: requests.put(f"{url}/api/twins/{twin_id}", data=body,
                                                        headers={**h, **TURTLE})),
        ("DELETE /api/twins/<id>", lambda h: requests.delete(f"{url}/api/twins/{twin_id}", headers=h)),
        ("DELETE /api/twins/<id>/data", lambda h: requests.delete(f"{url}/api/twins/{twin_id}/data", headers=h)),
        ("POST /api/twins/<id>/token", lambda h: requests.post(f"{url}/api/twins/{twin_id}/token", headers=h)),
        ("DELETE /api/twins/<id>/token", lambda h: requests.delete(f"{url}/api/twins/{twin_id}/token", headers=h)),
        ("POST /api/twins/<id>/pull", lambda h: requests.post(f"{url}/api/twins/{twin_id}/pull",
                                                               json={"url": a.source.url + "/twin.ttl"}, headers=h)),
        ("PUT /store", lambda h: requests.put(url + "/store", params={"graph": graph}, data=body,
                                              headers={**h, **TURTLE})),
        ("POST /store", lambda h: requests.post(url + "/store", params={"graph": graph}, data=body,
                                                headers={**h, **TURTLE})),
        ("DELETE /store", lambda h: requests.delete(url + "/store", params={"graph": graph}, headers=h)),
        ("POST /update", lambda h: requests.post(url + "/update", data={"update": "DROP ALL"}, headers=h)),
    ]


def test_refused_writes_answer_401_or_403_and_change_nothing(access):
    before = access.state()
    pulls = len(access.source.hits)
    tried = 0
    for path, send in _writes(access, "alpha"):
        for what, headers, expected in access.refused_credentials("alpha"):
            r = send(headers)
            tried += 1
            access.bodies.append(r.text)
            token = headers.get("Authorization", "").partition(" ")[2]
            if token:
                access.presented.append(token)
            assert r.status_code == expected, (path, what, r.status_code, r.text[:300])
            assert r.json()["error"] and r.json()["detail"], (path, what)
            if expected == 401:
                assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), (path, what)
            if token:
                assert token not in r.text, (path, what)
    assert access.state() == before, "a refused write changed the node"
    assert len(access.source.hits) == pulls, "a refused pull fetched its URL"
    record("access_refusals", write_paths=len(_writes(access, "alpha")),
           credentials=len(access.refused_credentials("alpha")), refused_requests=tried)


def test_the_twins_own_token_writes_its_twin(access):
    a = access
    own = lambda: a.auth(a.tokens["alpha"])  # noqa: E731 (rotations change it)
    graph = standard.twin_graph("alpha")
    version = lambda: requests.get(a.url + "/api/twins/alpha").json().get("version")  # noqa: E731
    v = version()
    assert requests.put(a.url + "/api/twins/alpha", data=make_twin("alpha", tag="own-put"),
                        headers={**own(), **TURTLE}).status_code == 200
    assert requests.put(a.url + "/store", params={"graph": graph}, data=make_twin("alpha", tag="own-gsp"),
                        headers={**own(), **TURTLE}).status_code == 200
    assert requests.post(a.url + "/store", params={"graph": graph}, data=b"<https://alpha.example/id/member/0> "
                         b"<http://example.org/test#note> \"merged\" .", headers={**own(), **TURTLE}).status_code == 200
    r = requests.post(a.url + "/api/twins/alpha/pull", json={"url": a.source.url + "/alpha.ttl"}, headers=own())
    assert r.status_code == 200, r.text
    assert version() == v + 4
    assert requests.delete(a.url + "/store", params={"graph": graph}, headers=own()).status_code == 204
    assert requests.get(a.url + "/api/twins/alpha").json()["published"] is False
    assert requests.put(a.url + "/api/twins/alpha", data=make_twin("alpha", tag="back"),
                        headers={**own(), **TURTLE}).status_code == 201
    # a twin token is no admin token
    r = requests.post(a.url + "/api/twins", json={"id": "by-publisher"}, headers=own())
    assert r.status_code == 403
    r = requests.post(a.url + "/update", data={"update": "CLEAR ALL"}, headers=own())
    assert r.status_code == 403
    # rotate with its own token: the old one stops working at once
    old = a.tokens["alpha"]
    a.tokens["alpha"] = a.rotate("alpha", own())
    r = requests.put(a.url + "/api/twins/alpha", data=make_twin("alpha"), headers={**a.auth(old), **TURTLE})
    assert r.status_code == 403
    # revoke with its own token: then nobody but the admin writes it
    current = a.tokens["alpha"]
    assert requests.delete(a.url + "/api/twins/alpha/token", headers=a.auth(current)).status_code == 204
    r = requests.put(a.url + "/api/twins/alpha", data=make_twin("alpha"), headers={**a.auth(current), **TURTLE})
    assert r.status_code == 403
    a.tokens["alpha"] = a.rotate("alpha", a.node.admin)
    # its own token unpublishes its data, but only the admin, who creates registrations, removes them
    r = requests.post(a.url + "/api/twins", json={"id": "scratch"}, headers=a.node.admin)
    scratch = a.keep(r.json()["token"])
    r = requests.delete(a.url + "/api/twins/scratch", headers=a.auth(scratch))
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert requests.get(a.url + "/api/twins/scratch").json()["registered"] is True
    assert requests.delete(a.url + "/api/twins/scratch", headers=a.node.admin).status_code == 204
    assert requests.get(a.url + "/api/twins/scratch").status_code == 404


def test_the_admin_token_writes_everything(access):
    a = access
    admin = a.node.admin
    graph = standard.twin_graph("beta")
    r = requests.post(a.url + "/api/twins", json={"id": "gamma", "title": "Gamma"}, headers=admin)
    assert r.status_code == 201
    a.keep(r.json()["token"])
    assert requests.put(a.url + "/api/twins/beta", data=make_twin("beta", tag="admin"),
                        headers={**admin, **TURTLE}).status_code == 200
    assert requests.put(a.url + "/store", params={"graph": graph}, data=make_twin("beta", tag="admin-gsp"),
                        headers={**admin, **TURTLE}).status_code == 200
    assert requests.post(a.url + "/api/twins/beta/pull", json={"url": a.source.url + "/beta.ttl"},
                         headers=admin).status_code in (200, 422)  # (the source serves alpha's twin)
    a.tokens["beta"] = a.rotate("beta", admin)
    assert requests.delete(a.url + "/api/twins/beta/token", headers=admin).status_code == 204
    a.tokens["beta"] = a.rotate("beta", admin)
    assert requests.delete(a.url + "/store", params={"graph": graph}, headers=admin).status_code == 204
    r = requests.post(a.url + "/update", headers={**admin, "Content-Type": "application/sparql-update"},
                      data="INSERT DATA { GRAPH <http://example.org/admin> "
                           "{ <http://e.example/s> <http://e.example/p> 1 } }")
    assert r.status_code == 204
    assert requests.delete(a.url + "/api/twins/gamma", headers=admin).status_code == 204


def test_sparql_refuses_updates_in_every_form(access):
    a = access
    before = store_digest(a.url)
    graph = standard.twin_graph("alpha")
    updates = [
        "DROP ALL", "drop all", "CLEAR DEFAULT", f"CLEAR GRAPH <{graph}>", f"DROP SILENT GRAPH <{graph}>",
        "INSERT DATA { GRAPH <http://e.example/g> { <http://e.example/s> <http://e.example/p> 1 } }",
        "insert data { <http://e.example/s> <http://e.example/p> 1 }",
        "PREFIX e: <http://e.example/> INSERT DATA { e:s e:p 1 }",
        "DELETE WHERE { GRAPH ?g { ?s ?p ?o } }", "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        f"WITH <{graph}> DELETE {{ ?s ?p ?o }} INSERT {{ ?s ?p 1 }} WHERE {{ ?s ?p ?o }}",
        "CREATE GRAPH <http://e.example/g>", "ADD DEFAULT TO <http://e.example/g>",
        f"MOVE <{graph}> TO <http://e.example/g>", f"COPY <{graph}> TO <http://e.example/g>",
        "LOAD <http://e.example/x.ttl>", "# SELECT\nDROP ALL", "BASE <http://e.example/> DROP ALL",
        "SELECT * WHERE { ?s ?p ?o } ; DROP ALL", "ASK {} DROP ALL", "\\u0044ROP ALL",
    ]
    tried = 0
    for update in updates:
        for headers in ({}, a.node.admin):
            attempts = [
                requests.get(a.url + "/sparql", params={"query": update}, headers=headers),
                requests.get(a.url + "/sparql", params={"update": update}, headers=headers),
                requests.post(a.url + "/sparql", data={"query": update}, headers=headers),
                requests.post(a.url + "/sparql", data={"update": update}, headers=headers),
                requests.post(a.url + "/sparql", data=update.encode(),
                              headers={**headers, "Content-Type": "application/sparql-update"}),
                requests.post(a.url + "/sparql", data=update.encode(),
                              headers={**headers, "Content-Type": "application/sparql-query"}),
            ]
            for r in attempts:
                tried += 1
                assert r.status_code == 400, (update, r.request.method, r.status_code, r.text[:200])
    assert store_digest(a.url) == before
    record("sparql_update_refusals", forms=tried)


def test_update_refuses_everyone_but_the_admin(access):
    a = access
    before = a.state()
    credentials = a.refused_credentials("alpha") + [("a twin's own token", a.auth(a.tokens["alpha"]), 403)]
    for what, headers, expected in credentials:
        for content_type, body in (("application/sparql-update", "DROP ALL"),
                                   ("application/x-www-form-urlencoded", "update=DROP%20ALL")):
            r = requests.post(a.url + "/update", data=body, headers={**headers, "Content-Type": content_type})
            assert r.status_code == expected, (what, r.status_code)
    assert a.state() == before


def test_tokens_are_stored_as_hashes_only(access):
    a = access
    data = Path(a.node.data)
    # no issued token, in clear, anywhere in the data directory (registry, its WAL, the store)
    blobs = [p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != "admin-token"]
    for token in a.issued:
        assert not any(token.encode() in blob for blob in blobs), "a token is stored in clear"
    db = sqlite3.connect(f"file:{data / 'registry.sqlite3'}?mode=ro", uri=True)
    rows = dict(db.execute("SELECT id, token_hash FROM twins").fetchall())
    db.close()
    assert rows["alpha"] == hashlib.sha256(a.tokens["alpha"].encode()).hexdigest()
    assert rows["beta"] == hashlib.sha256(a.tokens["beta"].encode()).hexdigest()
    # and the public answers never carry one
    for path in ("/api/twins", "/api/twins/alpha", "/catalog", "/metrics", "/health", "/sparql"):
        text = requests.get(a.url + path).text
        assert not any(token in text for token in a.issued), path
    dump = requests.get(a.url + "/store", headers={"Accept": "application/n-quads"}).text
    assert not any(token in dump or hashlib.sha256(token.encode()).hexdigest() in dump for token in a.issued)

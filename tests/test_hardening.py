"""Small holes a hostile review found (issue 10, finding 6), each closed for its whole class:

* a URL the parser cannot split (``http://[::1``) is a 400 on every path that fetches, not a 500;
* every answer (pages, API, errors, static files, the server's own refusals) carries a Content
  Security Policy, ``nosniff``, frame protection and a referrer policy, and the pages need nothing
  the policy forbids (no inline script, style or event handler);
* with ``--public-url``, links in answers use it: a client's ``Host`` header never decides where
  other clients are sent;
* the admin token can come from a file (kept out of ``ps``), a token on the command line is
  warned about (never logged), and a token shorter than 32 characters is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from ecgraph.cli import main
from ecgraph.config import Config
from ecgraph.web.common import SECURITY_HEADERS
from tests.helpers import ADMIN, auth, fingerprint, make_twin
from tests.servers import ADMIN_TOKEN, NodeProcess

TTL = "text/turtle"
BROKEN_URLS = ["http://[::1", "http://[::1/twin.ttl", "https://[fe80::1%25eth0/x", "http://exa mple.org:80x/"]


@pytest.fixture()
def published(client):
    r = client.post("/api/twins", json={"id": "alpha", "title": "Alpha"}, headers=auth(ADMIN))
    token = r.get_json()["token"]
    assert client.put("/api/twins/alpha", data=make_twin("alpha"), content_type=TTL,
                      headers=auth(token)).status_code == 201
    return token


# --- URLs that do not parse ------------------------------------------------------------------------

@pytest.mark.parametrize("url", BROKEN_URLS)
def test_a_url_that_does_not_parse_is_400_on_every_path_that_fetches(client, node, published, url):
    before = fingerprint(node.store)
    answers = {
        "validate API": client.post("/api/validate", query_string={"url": url}),
        "validate page": client.post("/validate", data={"url": url}),
        "pull": client.post("/api/twins/alpha/pull", json={"url": url}, headers=auth(published)),
    }
    for path, r in answers.items():
        assert r.status_code == 400, (path, r.status_code, r.text[:300])
        text = r.get_json()["detail"] if r.is_json else r.get_data(as_text=True)
        assert "not a valid URL" in text or "invalid port" in text, (path, text[:300])
    assert fingerprint(node.store) == before


# --- security headers ------------------------------------------------------------------------------

def _every_kind_of_answer(client, published) -> dict:
    return {
        "home page": client.get("/"),
        "validator page": client.get("/validate"),
        "validator report page": client.post("/validate", data={"text": make_twin("x").decode(),
                                                                "input-format": "turtle"}),
        "shapes page": client.get("/shapes"),
        "stylesheet": client.get("/static/style.css"),
        "script": client.get("/static/query.js"),
        "service description": client.get("/sparql"),
        "query": client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"}),
        "twins": client.get("/api/twins"),
        "twin data": client.get("/api/twins/alpha/data"),
        "badge": client.get("/api/twins/alpha/badge.svg"),
        "openapi": client.get("/api/openapi.json"),
        "catalog": client.get("/catalog"),
        "health": client.get("/health"),
        "metrics": client.get("/metrics"),
        "validation report": client.post("/api/validate", data=make_twin("x"), content_type=TTL),
        "400": client.get("/sparql", query_string={"query": "SELEKT"}),
        "401": client.post("/api/twins", json={"id": "beta"}),
        "404": client.get("/no/such/page"),
        "405": client.delete("/health"),
        "413": client.post("/api/validate", data=b"#" * (60 * 1024 * 1024), content_type=TTL),
    }


def test_every_answer_carries_the_security_headers(client, published):
    for name, r in _every_kind_of_answer(client, published).items():
        for key, value in SECURITY_HEADERS.items():
            assert r.headers.get(key) == value, (name, r.status_code, key, r.headers.get(key))
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"


def test_the_pages_need_nothing_the_policy_forbids(client, published):
    """No inline script (a JSON data block is data, not script), no style attribute or element,
    no event handler attribute, nothing loaded from elsewhere."""
    pages = {name: r for name, r in _every_kind_of_answer(client, published).items()
             if r.mimetype == "text/html"}
    assert len(pages) >= 4, sorted(pages)
    for name, r in pages.items():
        html = r.get_data(as_text=True)
        for script in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in script or 'type="application/json"' in script, (name, script)
        assert not re.search(r"<style\b|\sstyle=", html), name
        assert not re.search(r"\son[a-z]+\s*=", html), name
        assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", html), name


def test_the_servers_own_refusals_carry_the_security_headers(tmp_path):
    """waitress answers some requests itself (a body over the limit, a malformed request line)."""
    import socket

    node = NodeProcess(tmp_path / "data", "--no-demo", "--max-upload-bytes", "1000").start()
    try:
        answers = []
        for request in (b"POST /api/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n",
                        b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: nonsense\r\n\r\n"):
            with socket.create_connection(node.url.split("//")[1].rsplit(":", 1)) as sock:
                sock.sendall(request)
                sock.settimeout(10)
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            answers.append(data)
    finally:
        node.stop()
    assert answers[0].startswith(b"HTTP/1.1 413 ") and answers[1].startswith(b"HTTP/1.1 400 "), answers
    for data in answers:
        head = data.split(b"\r\n\r\n", 1)[0].decode()
        for key, value in SECURITY_HEADERS.items():
            assert f"\r\n{key}: {value}" in head, (key, head)
        assert "application/json" in head


# --- links use the public URL ---------------------------------------------------------------------

def test_links_use_the_public_url_not_the_host_header(client, node, published):
    node.config.public_url = "https://node.example/ecgraph/"
    public = "https://node.example/ecgraph"
    evil = {"Host": "evil.example"}
    twin = client.get("/api/twins/alpha", headers=evil).get_json()
    listing = client.get("/api/twins", headers=evil).get_json()
    registered = client.post("/api/twins", json={"id": "beta"}, headers={**evil, **auth(ADMIN)}).get_json()
    versions = client.get("/api/twins/alpha/versions", headers=evil).get_json()
    links = [*twin["links"].values(), *listing["twins"][0]["links"].values(), *registered["links"].values(),
             *(v["links"]["data"] for v in versions["versions"])]
    assert links and all(link.startswith(public + "/") for link in links), links
    description = client.get("/sparql", headers=evil).get_data(as_text=True)
    assert f"<{public}/sparql>" in description and "evil.example" not in description
    assert client.get("/api/openapi.json", headers=evil).get_json()["servers"] == [{"url": public}]
    home = client.get("/", headers=evil).get_data(as_text=True)
    assert f"{public}/sparql" in home and "evil.example" not in home
    report = client.post("/api/validate", data=make_twin("x").replace(b"ec:legalForm ec:legalform-cooperative ; ", b""),
                         content_type=TTL, headers=evil).get_json()
    docs = [r["docs"] for r in report["results"] if r.get("docs")]
    assert docs and all(d.startswith(public + "/shapes") for d in docs), docs


def test_without_a_public_url_links_follow_the_request(client, published):
    twin = client.get("/api/twins/alpha", headers={"Host": "node.local:8080"}).get_json()
    assert twin["links"]["self"] == "http://node.local:8080/api/twins/alpha"


# --- the admin token ------------------------------------------------------------------------------

def test_an_admin_token_shorter_than_32_characters_is_refused(tmp_path):
    short = "s" * 31
    with pytest.raises(ValueError, match="31 characters long.*at least 32"):
        Config.load(environ={}, admin_token=short)
    with pytest.raises(ValueError, match="at least 32"):
        Config.load(environ={"ECGRAPH_ADMIN_TOKEN": short})
    token_file = tmp_path / "token"
    token_file.write_text(short + "\n")
    with pytest.raises(ValueError, match="at least 32"):
        Config.load(environ={}, admin_token_file=token_file)
    assert Config.load(environ={}, admin_token="s" * 32).admin_token == "s" * 32
    result = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "data"), "--admin-token", short])
    assert result.exit_code == 2 and "at least 32" in result.output
    assert short not in result.output
    assert not (tmp_path / "data").exists()


def test_the_admin_token_file_and_which_setting_wins(tmp_path):
    token = "f" * 40
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    assert Config.load(environ={}, admin_token_file=token_file).admin_token == token
    assert Config.load(environ={"ECGRAPH_ADMIN_TOKEN_FILE": str(token_file)}).admin_token == token
    # the option wins over the variable, whichever of the two forms each one takes
    assert Config.load(environ={"ECGRAPH_ADMIN_TOKEN": "e" * 40}, admin_token_file=token_file).admin_token == token
    assert Config.load(environ={"ECGRAPH_ADMIN_TOKEN_FILE": str(token_file)},
                       admin_token="o" * 40).admin_token == "o" * 40
    with pytest.raises(ValueError, match="not both"):
        Config.load(environ={}, admin_token="o" * 40, admin_token_file=token_file)
    with pytest.raises(ValueError, match="cannot read the admin token file"):
        Config.load(environ={}, admin_token_file=tmp_path / "missing")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValueError, match="is empty"):
        Config.load(environ={}, admin_token_file=tmp_path / "empty")


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_a_token_file_keeps_the_admin_token_out_of_ps_and_one_on_the_command_line_is_warned_about(tmp_path):
    token_file = tmp_path / "admin-token"
    token_file.write_text(ADMIN_TOKEN + "\n")
    token_file.chmod(0o600)
    quiet = NodeProcess(tmp_path / "quiet", "--no-demo", token_file=token_file).start()
    try:
        assert ADMIN_TOKEN not in _cmdline(quiet.process.pid)
        assert requests.post(quiet.url + "/api/twins", json={"id": "beta"}, headers=quiet.admin,
                             timeout=30).status_code == 201
    finally:
        quiet.stop()
    assert "command line" not in quiet.log()
    assert f"read from {token_file}" in quiet.log()
    loud = NodeProcess(tmp_path / "loud", "--no-demo").start()
    loud.stop()
    warning = [line for line in loud.log().splitlines() if "WARNING" in line and "command line" in line]
    assert warning and "--admin-token-file" in warning[0], loud.log()
    assert ADMIN_TOKEN not in loud.log()

"""The w3id.org redirect rules shipped in docs/w3id/.htaccess, followed against a real node: every
IRI the standard mints lands on a path the node serves, with a page for people and RDF for
machines."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.helpers import make_twin

HTACCESS = Path(__file__).resolve().parent.parent / "docs" / "w3id" / ".htaccess"


def rules() -> list[tuple[re.Pattern, str]]:
    out = []
    for line in HTACCESS.read_text(encoding="utf-8").splitlines():
        if line.startswith("RewriteRule "):
            _, pattern, target, _flags = line.split()
            out.append((re.compile(pattern), target))
    return out


def redirect(path: str) -> str:
    """Where w3id.org sends ``https://w3id.org/ecgraph/<path>``, as a path on the node."""
    for pattern, target in rules():
        match = pattern.search(path)
        if match:
            out = target
            for i, group in enumerate(match.groups(), start=1):
                out = out.replace(f"${i}", group)
            assert out.startswith("https://NODE/")
            return out[len("https://NODE"):]
    pytest.fail(f"no rule for {path!r}")


@pytest.fixture()
def published(node, client):
    node.register("alpha", "Alpha")
    node.publish("alpha", node.upload_for("alpha", make_twin("alpha"), media_type="text/turtle"))
    return client


@pytest.mark.parametrize("path,accept,expected", [
    ("ns", "text/html", "text/html"), ("ns", "text/turtle", "text/turtle"),
    ("ns/1.1.0", "application/ld+json", "application/ld+json"),
    ("ns/School", "text/html", None),  # a redirect to /ns#School
    ("context.jsonld", "*/*", "application/ld+json"), ("context/1.0.0.jsonld", "*/*", "application/ld+json"),
    ("profile/core/1.0.0", "text/html", "text/html"), ("profile/recommended", "text/turtle", "text/turtle"),
    ("shapes/core", "text/html", "text/html"),
    ("twin/alpha", "text/html", "text/html"), ("twin/alpha", "application/n-triples", "application/n-triples"),
    ("graph/catalog", "text/html", "text/html"),
    ("", "text/html", "text/html"),
])
def test_every_w3id_iri_lands_on_a_path_the_node_serves(published, path, accept, expected):
    target = redirect(path)
    response = published.get(unquote(target) if "?" not in target else target, headers={"Accept": accept})
    if expected is None:
        assert response.status_code == 303 and response.headers["Location"].endswith("/ns#School")
        return
    assert response.status_code == 200, (path, target, response.data[:300])
    assert response.mimetype == expected


def test_a_twin_iri_comes_back_as_the_twin(published):
    page = published.get(redirect("twin/alpha"), headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "https://alpha.example/id/community" in page

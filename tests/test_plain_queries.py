"""The SPARQL Protocol's common request answered before the framework (``PlainQueries``), checked
differentially against the Flask view on the same node: for each request, the same request with
one parameter more (``scope=local``, which changes nothing in the answer but is not *plain*) goes
through the view. Status, body and headers must be equal (the time an answer took and whether it
came from the answer cache aside). Flask's ``request_started`` signal tells which path answered:
the fast path never starts a Flask request, and everything it hands over does.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest
from flask import request_started

from ecgraph.node import Node
from ecgraph.web import create_app
from tests.helpers import ADMIN, auth, installed_copy, make_twin

#: headers that differ between two runs of one query: the time it took, a hit or a miss
VOLATILE = {"X-ECGraph-Elapsed", "X-ECGraph-Cache"}

SELECT = ("PREFIX ec: <https://w3id.org/ecgraph/ns#> "
          "SELECT ?c ?name WHERE { ?c a ec:EnergyCommunity ; <https://schema.org/name> ?name } ORDER BY ?c")
LOOKUP = "SELECT ?p ?o WHERE { <https://alpha.example/id/community> ?p ?o } ORDER BY ?p ?o"
DESCRIBE = "DESCRIBE <https://alpha.example/id/community>"
CONSTRUCT = ("PREFIX ec: <https://w3id.org/ecgraph/ns#> "
             "CONSTRUCT { ?m ec:community ?c } WHERE { ?m ec:community ?c }")
ASK = "ASK { ?c a <https://w3id.org/ecgraph/ns#EnergyCommunity> }"
RELATIVE = "SELECT ?here WHERE { BIND(<relative/iri> AS ?here) }"  # resolved against the endpoint


def _app(data, installed_data, answer_cache_mb: int):
    """A node with one published twin (alpha), and its app."""
    node = Node(installed_copy(installed_data, data, answer_cache_mb=answer_cache_mb), workers=False)
    application = create_app(node)
    application.testing = True
    client = application.test_client()
    token = client.post("/api/twins", json={"id": "alpha", "title": "Alpha"}, headers=auth(ADMIN)).get_json()["token"]
    assert client.put("/api/twins/alpha", data=make_twin("alpha", schools=1), content_type="text/turtle",
                      headers=auth(token)).status_code == 201
    return node, application


@pytest.fixture(params=[64, 0], ids=["answer-cache", "no-answer-cache"])
def app(request, tmp_path, installed_data):
    """A fresh node for each test (its logs, metrics and answers are the test's alone)."""
    node, application = _app(tmp_path / "data", installed_data, request.param)
    yield application
    node.close()


@pytest.fixture(scope="module", params=[64, 0], ids=["answer-cache", "no-answer-cache"])
def shared_app(request, tmp_path_factory, installed_data):
    """One node for the many cases that only read and compare two answers of the same request (a
    fresh node each took 0.36 s of setup, 47 s over this file on a slow evening)."""
    node, application = _app(tmp_path_factory.mktemp("plain") / "data", installed_data, request.param)
    yield application
    node.close()


@pytest.fixture()
def flask_requests(request):
    """How many requests reached Flask's request machinery since the test began (of the test's
    ``app`` or ``shared_app``)."""
    app = request.getfixturevalue("shared_app" if "shared_app" in request.fixturenames else "app")
    seen: list[str] = []

    def started(sender, **extra):
        from flask import request

        seen.append(request.path)

    request_started.connect(started, app)
    yield seen
    request_started.disconnect(started, app)


def ask(client, method: str, text: str, accept: str | None, *, extra: dict | None = None, body: str = "form"):
    """One query, sent as the protocol allows: GET, a form POST, or a POST of the query itself."""
    headers = {"Accept": accept} if accept else {}
    params = {"query": text, **(extra or {})}
    if method == "GET":
        return client.get("/sparql?" + urlencode(params), headers=headers)
    if body == "form":
        return client.post("/sparql", data=urlencode(params), content_type="application/x-www-form-urlencoded",
                           headers=headers)
    url = "/sparql" + ("?" + urlencode(extra) if extra else "")
    return client.post(url, data=text.encode(), content_type="application/sparql-query", headers=headers)


def comparable(response) -> tuple:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in VOLATILE)
    return response.status_code, headers, response.data


CASES = [
    (SELECT, None), (SELECT, "application/sparql-results+json"), (SELECT, "application/sparql-results+xml"),
    (SELECT, "text/csv"), (SELECT, "text/tab-separated-values"), (SELECT, "*/*"),
    (SELECT, "text/html;q=0.9, application/sparql-results+xml;q=0.8"),
    (LOOKUP, "application/sparql-results+json"), (ASK, "application/sparql-results+json"), (ASK, "text/csv"),
    (DESCRIBE, "text/turtle"), (DESCRIBE, "application/n-triples"), (DESCRIBE, None),
    (CONSTRUCT, "application/rdf+xml"), (CONSTRUCT, "text/turtle; charset=utf-8"), (RELATIVE, None),
]


@pytest.mark.parametrize("how", ["GET", "form", "query body"])
@pytest.mark.parametrize("text,accept", CASES)
def test_the_fast_path_answers_as_the_view_does(shared_app, flask_requests, how, text, accept):
    client = shared_app.test_client()
    method, body = ("GET", "form") if how == "GET" else ("POST", "form" if how == "form" else "query")
    fast = ask(client, method, text, accept, body=body)
    assert flask_requests == [], "a plain query was answered by the fast path, not by Flask"
    view = ask(client, method, text, accept, extra={"scope": "local"}, body=body)
    assert flask_requests == ["/sparql"]
    assert fast.status_code == 200, fast.data[:300]
    assert comparable(fast) == comparable(view)
    if text == RELATIVE:  # the base is the endpoint's URL, as the view resolves it
        assert b"http://localhost/sparql/relative/iri" not in fast.data
        assert b"http://localhost/relative/iri" in fast.data


@pytest.mark.parametrize("how", ["GET", "form", "query body"])
@pytest.mark.parametrize("text,accept,status", [
    ("SELECT ?x WHERE { ?x ?y", None, 400),  # a syntax error, explained
    (SELECT, "image/png", 406),  # nothing acceptable
    ("SELECT * WHERE { SERVICE <http://elsewhere.example/sparql> { ?s ?p ?o } }", None, 403),  # not a peer
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", None, 400),  # an update, on /sparql
])
def test_failures_are_rendered_by_the_app(shared_app, flask_requests, how, text, accept, status):
    app = shared_app
    client = app.test_client()
    method, body = ("GET", "form") if how == "GET" else ("POST", "form" if how == "form" else "query")
    count = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"
    before = [str(row[0]) for row in app.extensions["ecgraph.node"].store.engine().query(count)]
    fast = ask(client, method, text, accept, body=body)
    view = ask(client, method, text, accept, extra={"scope": "local"}, body=body)
    assert fast.status_code == status, fast.data[:300]
    assert comparable(fast) == comparable(view)
    assert fast.get_json()["detail"]  # what went wrong, in words
    assert flask_requests == ["/sparql", "/sparql"]  # handed over, then the view's
    assert before == [str(row[0]) for row in app.extensions["ecgraph.node"].store.engine().query(count)]


def test_what_is_not_plain_goes_to_the_app(app, flask_requests):
    client = app.test_client()
    node = app.extensions["ecgraph.node"]
    limit = node.config.max_query_bytes
    cases = [
        (client.get("/sparql"), 200),  # no query: the service description
        (client.get("/sparql?" + urlencode({"query": SELECT, "limit": "1"})), 200),  # another parameter
        (client.get("/sparql?" + urlencode([("query", SELECT), ("query", SELECT)])), 400),  # twice
        (client.get("/sparql?" + urlencode({"query": SELECT}), headers=auth(ADMIN)), 200),  # a credential
        (client.head("/sparql?" + urlencode({"query": SELECT})), 200),
        (client.post("/sparql", data=urlencode({"update": "CLEAR ALL"}),
                     content_type="application/x-www-form-urlencoded"), 400),
        (client.post("/sparql", data=urlencode({"query": "#" * limit + "\nASK {}"}),
                     content_type="application/x-www-form-urlencoded"), 413),  # too long: the app refuses it
        (client.get("/sparql?" + urlencode({"query": "#" * limit + "\nASK {}"})), 413),
        (client.post("/sparql", data=b"query=ASK%20%7B%7D\xff", content_type="application/x-www-form-urlencoded"),
         None),  # not UTF-8: whatever the app says
        (client.post("/sparql", data=b"ASK {}", content_type="text/plain"), 415),
        (client.get("/sparql?" + urlencode({"query": ASK}), data=urlencode({"query": SELECT}),
                    content_type="application/x-www-form-urlencoded"), 400),  # a body beside it: twice
    ]
    for response, status in cases:
        if status is not None:
            assert response.status_code == status, response.data[:300]
    assert len(flask_requests) == len(cases)
    limited = client.get("/sparql?" + urlencode({"query": SELECT, "limit": "1"}),
                         headers={"Accept": "application/sparql-results+json"})
    assert len(limited.get_json()["results"]["bindings"]) == 1  # the view read its parameter


def test_a_get_answer_without_a_tag_gets_the_apps_digest_tag(app, flask_requests):
    """An answer that is not kept (NOW() differs between runs) has no generation ETag: the fast
    path hands the finished answer to the app, whose conditional requests give it a digest one."""
    client = app.test_client()
    text = "SELECT (STRLEN(STR(NOW())) > 0 AS ?now) WHERE {}"
    first = client.get("/sparql?" + urlencode({"query": text}))
    assert first.status_code == 200 and first.headers["ETag"]
    assert flask_requests == ["/sparql"]  # handed over, after running once
    again = client.get("/sparql?" + urlencode({"query": text}), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    posted = client.post("/sparql", data=urlencode({"query": text}), content_type="application/x-www-form-urlencoded")
    assert posted.status_code == 200 and "ETag" not in posted.headers  # as the view answers a POST


def test_a_tagged_answer_is_304_through_the_app(app, flask_requests):
    client = app.test_client()
    first = client.get("/sparql?" + urlencode({"query": SELECT}))
    assert flask_requests == [] and first.headers["ETag"].startswith('W/"')
    again = client.get("/sparql?" + urlencode({"query": SELECT}), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert flask_requests == ["/sparql"]


def test_the_fast_path_is_logged_and_counted_once_sent(app, caplog):
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="ecgraph.access"):
        response = client.post("/sparql", data=urlencode({"query": ASK}),
                               content_type="application/x-www-form-urlencoded",
                               headers={"User-Agent": "probe/1.0"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
        failed = client.get("/sparql?" + urlencode({"query": "SELECT ?x WHERE {"}))
    assert response.status_code == 200 and failed.status_code == 400
    lines = [r for r in caplog.records if r.name == "ecgraph.access"]
    assert [(r.fields["method"], r.fields["path"], r.fields["status"]) for r in lines] == [
        ("POST", "/sparql", 200), ("GET", "/sparql", 400)]  # one line each: the handed-over failure too
    assert lines[0].fields["client"] == "192.0.2.7" and lines[0].fields["agent"] == "probe/1.0"
    assert lines[0].fields["bytes"] == len(response.data)
    metrics = client.get("/metrics").data.decode()
    assert 'ecgraph_http_requests_total{endpoint="/sparql",method="POST",status="200"} 1.0' in metrics
    assert 'ecgraph_http_requests_total{endpoint="/sparql",method="GET",status="400"} 1.0' in metrics
    assert 'ecgraph_errors_total{error="query syntax error",status="400"} 1.0' in metrics


def test_a_streamed_answer_is_logged_when_closed(app, caplog):
    """The access log is written when the server closes the answer (after sending it), not before."""
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="ecgraph.access"):
        response = client.get("/sparql?" + urlencode({"query": ASK}), buffered=False)
        assert not [r for r in caplog.records if r.name == "ecgraph.access"]
        assert response.status_code == 200
        response.close()
        assert len([r for r in caplog.records if r.name == "ecgraph.access"]) == 1


@pytest.mark.parametrize("environ", [
    {"wsgi.url_scheme": "http", "HTTP_HOST": "node.example:8080", "SERVER_NAME": "0.0.0.0", "SERVER_PORT": "8080"},
    {"wsgi.url_scheme": "https", "HTTP_HOST": "node.example", "SERVER_NAME": "0.0.0.0", "SERVER_PORT": "443",
     "SCRIPT_NAME": "/ecgraph"},
    {"wsgi.url_scheme": "https", "HTTP_HOST": "node.example:443", "SERVER_NAME": "0.0.0.0", "SERVER_PORT": "443"},
    {"wsgi.url_scheme": "http", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000"},
    {"wsgi.url_scheme": "http", "HTTP_HOST": "xn--bcher-kva.example", "SERVER_NAME": "x", "SERVER_PORT": "80"},
    {"wsgi.url_scheme": "http", "HTTP_HOST": "other.example", "SERVER_NAME": "0.0.0.0", "SERVER_PORT": "8080",
     "SCRIPT_NAME": "/a%20b"},
])
def test_the_endpoint_s_url_before_the_app_is_werkzeug_s_for_every_host(node, environ):
    """The URL a plain query resolves relative IRIs against, kept per Host, scheme and mount:
    equal to werkzeug's for each, asked twice (the second from the kept ones) and after others."""
    from werkzeug.wsgi import get_current_url

    from ecgraph.web.common import url_of

    expected = get_current_url(environ, root_only=True).rstrip("/")
    assert url_of(node, environ) == expected
    assert url_of(node, dict(environ, PATH_INFO="/sparql", QUERY_STRING="query=x")) == expected

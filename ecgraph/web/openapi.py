"""The node's OpenAPI 3.1 description, served at ``/api/openapi.json``.

Written by hand next to the routes it describes (a test checks that the document is valid and
that every route the app serves is in it), so that tool vendors can generate clients for the
validator and publishers for the REST API.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

import ecgraph
from ecgraph import formats, standard
from ecgraph.query.figures import AGGREGATES
from ecgraph.web import network
from ecgraph.web.common import SECURITY_HEADERS, node_url
from ecgraph.web.discovery import openapi_paths as discovery_paths

bp = Blueprint("openapi", __name__)

RDF_TYPES = [f.media_types[0] for f in formats.INPUT]
GRAPH_TYPES = [f.media_types[0] for f in formats.GRAPH]
REPORT_TYPES = list(dict.fromkeys(f.media_types[0] for f in formats.REPORTS))



#: how the bulk dump is made, for its two paths
_DUMP_MADE = ("When a twin changed since the last dump, the request begins the next one in the background and "
              "waits for it up to --dump-wait seconds, then is given the last one (X-Dump-Status: updating); "
              "before the first is made, 503 with Retry-After.")
_DUMP_HEADERS = {
    "X-Dump-Version": {"description": "The dump's version", "schema": {"type": "integer"}},
    "X-Dump-Status": {"description": "current; updating: a newer dump is being made; outdated: the last attempt "
                                     "at a newer one failed, the next is begun a minute after it at the earliest",
                      "schema": {"type": "string", "enum": ["current", "updating", "outdated"]}},
}

def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _rdf_body(description: str) -> dict:
    return {
        "required": True,
        "description": description,
        "content": {t: {"schema": {"type": "string"}} for t in RDF_TYPES},
    }


def _rdf_response(description: str) -> dict:
    return {"description": description, "content": {t: {"schema": {"type": "string"}} for t in GRAPH_TYPES}}


TWIN_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
}
BEARER: list[dict[str, list]] = [{"bearer": []}]


def document(base_url: str) -> dict:
    errors = {
        "400": _error("Bad request or parse error (with line and column)"),
        "401": _error("No token"),
        "403": _error("The token does not allow this"),
        "404": _error("No such twin"),
        "413": _error("Too large"),
        "415": _error("Unsupported media type"),
        "422": _error("Not conformant to the core profile; the body holds the report"),
        "503": _error("Timeout or busy"),
    }
    publish_responses = {
        "200": {
            "description": "Replaced; the conformance report",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Published"}}},
        },
        "201": {
            "description": "Published for the first time; the conformance report",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Published"}}},
        },
        **{k: errors[k] for k in ("400", "401", "403", "404", "413", "415", "422", "503")},
    }
    validate_params = [
        {
            "name": "profile",
            "in": "query",
            "schema": {"type": "string", "enum": ["core", "recommended", "all"], "default": "core"},
        },
        {"name": "profile-version", "in": "query", "schema": {"type": "string", "example": standard.STANDARD_VERSION}},
        {
            "name": "input-format",
            "in": "query",
            "schema": {"type": "string", "enum": ["turtle", "jsonld", "ntriples", "rdfxml", "trig", "nquads"]},
        },
        {
            "name": "format",
            "in": "query",
            "description": "Report format (overrides Accept)",
            "schema": {"type": "string", "enum": ["json", "turtle", "jsonld", "csv", "junit", "sarif", "text"]},
        },
        {"name": "max-results", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 1000}},
        {
            "name": "url",
            "in": "query",
            "description": "Validate the document at this URL (fetched safely)",
            "schema": {"type": "string", "format": "uri"},
        },
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ecgraph node",
            "version": ecgraph.__version__,
            "x-ecgraph-standard-version": standard.STANDARD_VERSION,
            "description": "Energy communities' digital twins as one knowledge graph: publish twins, validate "
            "them against the ecgraph profiles, query them all with SPARQL.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": base_url}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The node's admin token or a twin's publisher token",
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {
                        "error": {"type": "string"},
                        "detail": {"type": "string"},
                        "line": {"type": "integer"},
                        "column": {"type": "integer"},
                        "report": {"type": "object"},
                    },
                },
                "Result": {
                    "type": "object",
                    "properties": {
                        k: {"type": ["string", "null"]}
                        for k in (
                            "severity",
                            "shape",
                            "shape_label",
                            "focus",
                            "path",
                            "value",
                            "message",
                            "component",
                            "docs",
                            "focus_nt",
                            "path_nt",
                            "value_nt",
                            "written_id",
                            "focus_triples",
                        )
                    },
                },
                "Report": {
                    "type": "object",
                    "required": ["conforms", "summary", "groups", "results"],
                    "properties": {
                        "conforms": {"type": "boolean", "description": "No violation (warnings allowed)"},
                        "summary": {"type": "object"},
                        "groups": {"type": "array", "items": {"type": "object"}},
                        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
                    },
                },
                "Twin": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "title": {"type": "string"},
                        "graph": {"type": "string"},
                        "published": {"type": "boolean"},
                        "version": {"type": "integer"},
                        "triples": {"type": "integer"},
                        "inferred": {"type": "integer"},
                        "conformance": {"type": "string", "enum": ["conforms", "warnings", "fails"]},
                        "warnings": {"type": "integer"},
                        "content_hash": {"type": "string"},
                        "profile": {"type": "string"},
                        "modified": {"type": "string"},
                    },
                },
                "Published": {
                    "type": "object",
                    "properties": {
                        "twin": {"$ref": "#/components/schemas/Twin"},
                        "report": {"$ref": "#/components/schemas/Report"},
                    },
                },
            },
        },
        "paths": {
            "/sparql": {
                "get": {
                    "summary": "SPARQL 1.1 query over the union of every twin (no query: service description)",
                    "parameters": [
                        {"name": "query", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "default-graph-uri",
                            "in": "query",
                            "schema": {"type": "array", "items": {"type": "string"}},
                        },
                        {
                            "name": "named-graph-uri",
                            "in": "query",
                            "schema": {"type": "array", "items": {"type": "string"}},
                        },
                        {"name": "timeout", "in": "query", "schema": {"type": "number"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": {"description": "Results (SPARQL JSON/XML/CSV/TSV or RDF)"},
                        "400": errors["400"],
                        "403": _error("SERVICE to a non-peer"),
                        "406": _error("No acceptable format"),
                        "503": errors["503"],
                    },
                },
                "post": {
                    "summary": "SPARQL 1.1 query (form or application/sparql-query)",
                    "requestBody": {
                        "content": {
                            "application/sparql-query": {"schema": {"type": "string"}},
                            "application/x-www-form-urlencoded": {
                                "schema": {"type": "object", "properties": {"query": {"type": "string"}}}
                            },
                        }
                    },
                    "responses": {"200": {"description": "Results"}, "400": errors["400"], "503": errors["503"]},
                },
            },
            "/update": {
                "post": {
                    "summary": "SPARQL 1.1 Update (admin)",
                    "security": BEARER,
                    "requestBody": {"content": {"application/sparql-update": {"schema": {"type": "string"}}}},
                    "responses": {
                        "204": {"description": "Done"},
                        "400": errors["400"],
                        "401": errors["401"],
                        "403": errors["403"],
                    },
                }
            },
            "/store": {
                "get": {
                    "summary": "Graph Store Protocol: a graph (?graph=IRI), the union (?default) or every graph",
                    "parameters": [
                        {"name": "graph", "in": "query", "schema": {"type": "string"}},
                        {"name": "default", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": _rdf_response("The graph"), "404": errors["404"]},
                },
                "put": {
                    "summary": "Replace a graph: a twin's (its token or the admin; published through the pipeline), "
                               "a reference graph outside the node's namespace (the admin), or the default graph "
                               "(?default, the admin, only with --default-graph own: else 405)",
                    "security": BEARER,
                    "parameters": [{"name": "graph", "in": "query", "required": True, "schema": {"type": "string"}}],
                    "requestBody": _rdf_body("The twin"),
                    "responses": publish_responses,
                },
                "post": {
                    "summary": "Add triples to a graph (a twin's merged twin is validated; multipart/form-data takes "
                               "one document a part); without ?graph= or ?default, create a new graph (201 with "
                               "Location, the admin)",
                    "security": BEARER,
                    "parameters": [{"name": "graph", "in": "query", "schema": {"type": "string"}}],
                    "requestBody": _rdf_body("Triples to add"),
                    "responses": publish_responses,
                },
                "delete": {
                    "summary": "Remove a graph (a twin's data: its versions stay archived)",
                    "security": BEARER,
                    "parameters": [{"name": "graph", "in": "query", "schema": {"type": "string"}}],
                    "responses": {
                        "204": {"description": "Removed"},
                        "401": errors["401"],
                        "403": errors["403"],
                        "404": errors["404"],
                    },
                },
            },
            "/api/twins": {
                "get": {
                    "summary": "List twins with their catalog metadata",
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                        {"name": "offset", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "Twins",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "total": {"type": "integer"},
                                            "twins": {"type": "array", "items": {"$ref": "#/components/schemas/Twin"}},
                                        },
                                    }
                                }
                            },
                        }
                    },
                },
                "post": {
                    "summary": "Register a twin and issue its publisher token (admin)",
                    "security": BEARER,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id"],
                                    "properties": {
                                        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
                                        "title": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Registered; the token is shown once",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "id": {"type": "string"},
                                            "graph": {"type": "string"},
                                            "token": {"type": "string"},
                                        },
                                    }
                                }
                            },
                        },
                        "400": errors["400"],
                        "401": errors["401"],
                        "403": errors["403"],
                        "409": _error("Already registered"),
                    },
                },
            },
            "/api/twins/{id}": {
                "parameters": [TWIN_ID],
                "get": {
                    "summary": "A twin's metadata",
                    "responses": {
                        "200": {
                            "description": "The twin",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Twin"}}},
                        },
                        "404": errors["404"],
                    },
                },
                "put": {
                    "summary": "Publish or replace the twin's data",
                    "security": BEARER,
                    "requestBody": _rdf_body("The twin, in any supported RDF format"),
                    "responses": publish_responses,
                },
                "delete": {
                    "summary": "Remove the twin (data archived, registration and token removed)",
                    "security": BEARER,
                    "responses": {
                        "204": {"description": "Removed"},
                        "401": errors["401"],
                        "403": errors["403"],
                        "404": errors["404"],
                    },
                },
            },
            "/api/twins/{id}/data": {
                "parameters": [TWIN_ID],
                "get": {
                    "summary": "The twin's current data",
                    "responses": {"200": _rdf_response("The data"), "404": errors["404"]},
                },
            },
            "/api/twins/{id}/versions": {
                "parameters": [TWIN_ID],
                "get": {
                    "summary": "Current and archived versions",
                    "responses": {"200": {"description": "Versions"}, "404": errors["404"]},
                },
            },
            "/api/twins/{id}/versions/{version}": {
                "parameters": [
                    TWIN_ID,
                    {"name": "version", "in": "path", "required": True, "schema": {"type": "integer"}},
                ],
                "get": {
                    "summary": "One version's data",
                    "responses": {"200": _rdf_response("The data"), "404": errors["404"]},
                },
            },
            "/api/twins/{id}/report": {
                "parameters": [TWIN_ID],
                "get": {
                    "summary": "The last conformance report",
                    "responses": {
                        "200": {
                            "description": "Report",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}},
                        },
                        "404": errors["404"],
                    },
                },
            },
            "/api/twins/{id}/token": {
                "parameters": [TWIN_ID],
                "post": {
                    "summary": "Issue a new publisher token (the old one stops working)",
                    "security": BEARER,
                    "responses": {"200": {"description": "The new token"}, "401": errors["401"], "403": errors["403"]},
                },
                "delete": {
                    "summary": "Revoke the publisher token",
                    "security": BEARER,
                    "responses": {"204": {"description": "Revoked"}, "401": errors["401"], "403": errors["403"]},
                },
            },
            "/api/twins/{id}/pull": {
                "parameters": [TWIN_ID],
                "post": {
                    "summary": "Publish the twin from a URL the node fetches (public addresses, peers, allowed hosts)",
                    "security": BEARER,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["url"],
                                    "properties": {"url": {"type": "string", "format": "uri"}},
                                }
                            }
                        },
                    },
                    "responses": publish_responses,
                },
            },
            "/api/twins/{id}/erasure": {
                "parameters": [TWIN_ID],
                "post": {
                    "summary": "Erase a person's data from the twin's current data and every archived version",
                    "security": BEARER,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["erase"],
                                    "properties": {"erase": {"type": "string", "description": (
                                        "The IRI of a person, household or contact point, or a value of one "
                                        "(a name, an e-mail address, a telephone number)")}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {"description": "Statements erased from the current data and from each archived "
                                               "version, and the twin's version after it"},
                        **{k: errors[k] for k in ("400", "401", "403", "404")},
                    },
                },
            },
            "/api/twins/{id}/badge.svg": {
                "parameters": [TWIN_ID],
                "get": {
                    "summary": "Conformance badge of the published twin",
                    "responses": {
                        "200": {"description": "SVG", "content": {"image/svg+xml": {"schema": {"type": "string"}}}},
                        "404": errors["404"],
                    },
                },
            },
            "/api/validate": {
                "post": {
                    "summary": "Conformance report for posted RDF; nothing is stored",
                    "parameters": validate_params,
                    "requestBody": {
                        "content": {
                            **{t: {"schema": {"type": "string"}} for t in RDF_TYPES},
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "file": {"type": "string", "format": "binary"},
                                        "text": {"type": "string"},
                                        "url": {"type": "string", "format": "uri"},
                                        "profile": {"type": "string"},
                                    },
                                }
                            },
                        }
                    },
                    "responses": {
                        "200": {
                            "description": "The report (conforming or not)",
                            "content": {
                                t: {
                                    "schema": {"$ref": "#/components/schemas/Report"}
                                    if t == "application/json"
                                    else {"type": "string"}
                                }
                                for t in REPORT_TYPES
                            },
                        },
                        **{k: errors[k] for k in ("400", "413", "415", "503")},
                    },
                }
            },
            "/api/aggregates": {
                "get": {"summary": "The named network aggregates, each with its raw SPARQL query",
                        "responses": {"200": {"description": "JSON: name, title, url and query of each"}}},
            },
            "/api/aggregates/{name}": {
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                               *_aggregate_parameters()],
                "get": {
                    "summary": "A network aggregate kept up to date at publishing (equal to its raw query's answer)",
                    "responses": {
                        "200": {"description": "SPARQL results (JSON, XML, CSV, TSV by Accept)",
                                "content": {f.media_types[0]: {"schema": {"type": "string"}}
                                            for f in formats.RESULTS}},
                        "304": {"description": "Not modified since the ETag sent in If-None-Match"},
                        "400": errors["400"],
                        "404": errors["404"],
                    },
                },
            },
            "/catalog": {
                "get": {"summary": "DCAT catalog of the twins, each with a distribution per RDF syntax; a large "
                                   "one in parts that link the next (hydra:next and a Link header)",
                        "parameters": [{"name": "after", "in": "query", "schema": {"type": "string"},
                                        "description": "the part of the catalog after this resource (the "
                                                       "key a part's next link names)"},
                                       {"name": "page", "in": "query", "schema": {"type": "integer"},
                                        "description": "the page for people (text/html) to show"}],
                        "responses": {"200": _rdf_response("The catalog, or the part asked")}}
            },
            "/void": {
                "get": {"summary": "VoID description of the node's dataset: triples, classes, properties, twins, "
                                   "linksets to peers", "responses": {"200": _rdf_response("The description")}}
            },
            "/store/{path}": {
                "get": {
                    "summary": "Graph Store Protocol, direct identification: the graph whose IRI is this URL "
                               "(PUT, POST, DELETE as on /store, by the admin)",
                    "parameters": [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": _rdf_response("The graph"), "404": errors["404"]},
                },
            },
            "/api/docs": {
                "get": {
                    "summary": "This document in an API explorer (Swagger UI, served by the node)",
                    "responses": {"200": {"description": "HTML",
                                          "content": {"text/html": {"schema": {"type": "string"}}}}},
                }
            },
            "/dump": {
                "get": {"summary": "DCAT description of the bulk dump (version, size, SHA-256 checksum, licences)",
                        "description": _DUMP_MADE,
                        "responses": {"200": {**_rdf_response("The description"), "headers": _DUMP_HEADERS},
                                      "503": errors["503"]}}
            },
            "/dump.nq.gz": {
                "get": {"summary": "The bulk dump: every twin in its named graph and the catalog records, gzipped "
                                   "N-Quads; no personal data unless the operator opts in",
                        "description": _DUMP_MADE,
                        "responses": {"200": {"description": "The dump (ETag: its SHA-256)", "headers": _DUMP_HEADERS},
                                      "304": {"description": "Not modified"}, "503": errors["503"]}}
            },
            "/health": {
                "get": {
                    "summary": "Liveness and basic figures",
                    "responses": {"200": {"description": "Healthy"}, "503": {"description": "Degraded"}},
                }
            },
            **discovery_paths(errors),
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            **network.openapi_paths(errors, TWIN_ID, BEARER),
        },
    }


@bp.get("/api/docs")
def explorer():
    """The API explorer: Swagger UI, vendored in the package (static/swagger-ui, with its licence),
    on this document. Its stylesheet sets images as data: URLs, which this page alone allows."""
    response = Response(render_template("docs.html", openapi=node_url() + "/api/openapi.json"))
    response.headers["Content-Security-Policy"] = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "img-src 'self'", "img-src 'self' data:")
    return response


@bp.get("/api/openapi.json")
def openapi():
    response = jsonify(document(node_url()))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _aggregate_parameters() -> list[dict]:
    """The query arguments of the aggregates with parameters (each named once, from the figures)."""
    out: dict[str, dict] = {}
    for aggregate in AGGREGATES.values():
        for p in aggregate.parameters:
            entry = out.setdefault(p.name, {
                "name": p.name, "in": "query", "required": False,
                "schema": {"type": "integer"} if p.kind == "integer" else
                {"type": "string", "enum": ["ASC", "DESC"]} if p.kind == "order" else {"type": "string"},
                "example": p.example, "description": "for "})
            entry["description"] += ("" if entry["description"] == "for " else ", ") + aggregate.name
    for entry in out.values():
        entry["description"] += " (absent: the example's value)"
    return list(out.values())

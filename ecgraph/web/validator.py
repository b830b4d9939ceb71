"""The conformance validator for tool vendors: ``POST /api/validate``, the ``/validate`` page, the
``/shapes`` documentation and the conformance badge of a published twin.

One implementation behind every entrance: the same pipeline code as publishing (parse, then
validate), run in the same killable workers, storing nothing. The page works without JavaScript
(a plain form; the report is rendered on the server) and fetches nothing from the internet.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from xml.sax.saxutils import escape

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request

from ecgraph import errors, formats, standard
from ecgraph.publish.fetch import fetch
from ecgraph.publish.pipeline import Upload
from ecgraph.validation import reports, shacl
from ecgraph.validation.messages import LANGUAGES
from ecgraph.validation.validate import (
    ENGINES,
    PROFILE_CHOICES,
    Report,
    default_profiles,
    render_path,
    shape_anchor,
    shape_docs_url,
    shape_label,
    shape_message,
)
from ecgraph.web.common import caller, negotiate, node, node_url, whole
from ecgraph.web.face import i18n

bp = Blueprint("validator", __name__, template_folder="templates")

#: the input formats the page offers
INPUT_NAMES = sorted(name for f in formats.INPUT for name in f.names)


class RecentReports:
    """Reports of the /validate page, kept a while so that every format can be downloaded."""

    def __init__(self, size: int = 200, ttl: float = 3600):
        self.size = size
        self.ttl = ttl
        self._items: OrderedDict[str, tuple[float, str, Report]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, source: str, report: Report) -> str:
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._items[key] = (time.monotonic(), source, report)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> tuple[str, Report] | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or time.monotonic() - item[0] > self.ttl:
                self._items.pop(key, None)
                return None
            return item[1], item[2]


_recent = RecentReports()


def _profile() -> str:
    profile = request.values.get("profile", "core") or "core"
    if profile not in PROFILE_CHOICES:
        raise errors.BadRequest(f"profile must be one of {', '.join(PROFILE_CHOICES)}")
    return profile


def _profile_version() -> str | None:
    """The release asked for (?profile-version=); None: the one the twin claims."""
    try:
        return standard.resolve_version(request.values.get("profile-version"))
    except ValueError as exc:
        raise errors.BadRequest(str(exc)) from None


def _input() -> tuple[bytes, str | None, str | None, str]:
    """The RDF to check, from the body, an uploaded file, pasted text or a URL the node fetches."""
    if request.mimetype == "multipart/form-data" or request.mimetype == "application/x-www-form-urlencoded":
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            return upload.read(), upload.mimetype if upload.mimetype != "application/octet-stream" else None, \
                upload.filename, upload.filename
        pasted = request.form.get("text", "")
        if pasted.strip():  # no Content-Type, no file name: the text says what it is
            data = pasted.encode("utf-8")
            return data, formats.sniff(data).media_types[0], None, "pasted text"
        given = request.form.get("url", "").strip()
        if given:
            return _fetched(given)
        raise errors.BadRequest("give a file, some text or a URL to validate")
    url = request.args.get("url")
    if url:
        return _fetched(url)
    data = request.get_data()
    if not data:
        raise errors.BadRequest("send the RDF as the request body (with its Content-Type), as a multipart upload, "
                                "or give ?url=")
    return data, request.content_type, None, "request body"


def _fetched(url: str) -> tuple[bytes, str | None, str | None, str]:
    fetched = fetch(url, node().fetch_policy)
    return fetched.data, fetched.media_type, fetched.url.split("?", 1)[0].rsplit("/", 1)[-1], fetched.url


def run_validation(lang: str | None = None) -> tuple[str, Report, int | None]:
    """``lang``: the language of the messages (the page's own); else ``?lang=`` or Accept-Language."""
    n = node()
    data, media_type, filename, source = _input()
    engine = request.values.get("engine") or "fast"
    upload = Upload(data=data, media_type=media_type, filename=filename,
                    format_name=request.values.get("input-format") or None,
                    profile=_profile(), profile_version=_profile_version(), refuse_violations=False,
                    lang=lang or request.values.get("lang") or request.accept_languages.best_match(LANGUAGES) or "en",
                    max_bytes=n.config.max_upload_bytes, max_triples=n.config.max_triples,
                    max_results=whole(request.values.get("max-results"), "max-results", 1000, maximum=100_000),
                    engine=engine if engine in ENGINES else "fast")
    report = n.validate(upload, caller=caller())
    base = node_url() + "/"
    for r in report.results:
        r.docs = shape_docs_url(r.shape, base)
    return source, report, upload.max_results


@bp.post("/api/validate")
def api_validate():
    fmt = negotiate(formats.REPORTS)
    source, report, max_results = run_validation()
    body = reports.render(report, fmt.key, source=source, max_results=max_results)
    response = Response(body, content_type=fmt.media_type)
    response.headers["X-ECGraph-Conforms"] = "true" if report.conforms else "false"
    response.vary.add("Accept")
    return response


# --- the page ----------------------------------------------------------------------------------------

@bp.get("/validate")
def page():
    return render_template("validate.html", profiles=PROFILE_CHOICES, formats=INPUT_NAMES, report=None, error=None)


@bp.post("/validate")
def page_submit():
    _ = i18n.translate  # the page speaks the reader's language: its words, the report's and the rules'
    try:
        source, report, max_results = run_validation(lang=i18n.current())
    except errors.Error as exc:
        extra = ""
        if "line" in exc.extra:
            extra = f" ({_('line')} {exc.extra['line']}, {_('column')} {exc.extra.get('column')})"
        detail = _(exc.detail)  # the details a form can cause are in the catalogue; others stay as they are
        if isinstance(exc, errors.UnsupportedMediaType):  # a form has no Content-Type to fix: say what to choose
            detail = _(CHOOSE_FORMAT) + f" ({exc.detail})"
        return render_template("validate.html", profiles=PROFILE_CHOICES, formats=INPUT_NAMES, report=None,
                               error=f"{detail}{extra}", **_kept()), exc.status
    key = _recent.add(source, report)
    shown = report.results if max_results is None else report.results[:max_results]
    return render_template("validate.html", profiles=PROFILE_CHOICES, formats=INPUT_NAMES,
                           report=report, source=source, key=key, results=shown, groups=report.groups(),
                           downloads=[(f.key, f.extension) for f in formats.REPORTS], error=None, **_kept())


#: what the page says when pasted text is in no format it recognises (in the message catalogue)
CHOOSE_FORMAT = ("the node cannot tell which RDF format this is. Choose it in the \u201cInput format\u201d list "
                 "(Turtle, JSON-LD, N-Triples, RDF/XML, TriG or N-Quads) and validate again.")


def _kept() -> dict:
    """What the reader gave, shown again after a submit: the pasted text, the URL, the choices,
    and the format the pasted text was read as."""
    text = request.form.get("text", "")
    chosen = request.form.get("input-format", "")
    detected = formats.sniff(text.encode("utf-8")).key if text.strip() and not chosen else ""
    return {"text": text, "url": request.form.get("url", ""), "chosen_format": chosen, "detected": detected,
            "selected": request.values.get("profile", "core")}


@bp.get("/validate/reports/<key>/ecgraph-report.<path:extension>")
def download(key: str, extension: str):
    found = _recent.get(key)
    if found is None:
        raise errors.NotFound("this report has expired; validate again")
    source, report = found
    fmt = next((f for f in formats.REPORTS if f.extension == extension), None)
    if fmt is None:
        raise errors.NotFound(f"no report format {extension!r}")
    response = Response(reports.render(report, fmt.key, source=source), content_type=fmt.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="ecgraph-report.{extension}"'
    return response


# --- shapes documentation ----------------------------------------------------------------------------

@bp.get("/shapes")
def shapes_page():
    version = _profile_version() or standard.STANDARD_VERSION
    chosen = negotiate((formats.HTML, *formats.GRAPH))  # the rules for people; the shapes for machines
    if chosen is not formats.HTML and chosen.rdf is not None:
        shapes = [q.triple for profile in standard.PROFILES
                  for q in ox.parse(path=str(standard.shapes_file(profile, version)), format=ox.RdfFormat.TURTLE)]
        response = Response(formats.write(shapes, chosen.rdf, prefixes=standard.PREFIXES),
                            content_type=chosen.media_type)
        response.vary.add("Accept")
        return response
    compiled = default_profiles().compiled("all", version)
    entries = []
    for shape in compiled.reporting_shapes():
        if not isinstance(shape, ox.NamedNode):
            continue
        severity = compiled.value(shape, ox.NamedNode(shacl.SH + "severity"))
        path = compiled.value(shape, shacl.SH_PATH)
        targets = [t for key in ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")
                   for t in compiled.values(shape, ox.NamedNode(shacl.SH + key))]
        entries.append({
            "iri": shape.value,
            "anchor": shape_anchor(shape.value),
            "label": shape_label(compiled, shape),
            "message": shape_message(compiled, shape) or "",
            "severity": severity.value.rsplit("#", 1)[-1] if severity is not None else "Violation",
            "path": render_path(compiled, path) if path is not None else None,
            "targets": [render_path(compiled, t) for t in targets],
            "profile": "recommended" if shape.value.startswith(standard.SHAPES_NS["recommended"]) else "core",
        })
    entries.sort(key=lambda e: (e["profile"] != "core", e["iri"]))
    return render_template("shapes.html", entries=entries, version=version, versions=standard.VERSIONS,
                           current=standard.STANDARD_VERSION)


# --- badge -------------------------------------------------------------------------------------------

_BADGE_COLOURS = {"conforms": "#2e7d32", "warnings": "#c77c02", "fails": "#c62828", "not published": "#757575"}


@bp.get("/api/twins/<twin_id>/badge.svg")
def badge(twin_id: str):
    n = node()
    n.twin_info(twin_id)  # 404 when there is no such twin
    entry = n.entry(twin_id)
    label = f"ecgraph core {entry.profile.rsplit('/', 1)[-1] if entry else standard.STANDARD_VERSION}"
    if entry is None:
        status, text = "not published", "not published"
    elif entry.conformance == "fails":
        status, text = "fails", "fails"
    elif entry.warnings:
        status, text = "warnings", f"conforms, {entry.warnings} warning{'s' if entry.warnings != 1 else ''}"
    else:
        status, text = "conforms", "conforms"
    svg = render_badge(label, text, _BADGE_COLOURS[status])
    response = Response(svg, content_type="image/svg+xml; charset=utf-8")
    response.headers["Cache-Control"] = "max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def render_badge(label: str, text: str, colour: str) -> str:
    """A flat badge in the style of shields.io (text widths estimated at 6.5 px per character)."""
    left = int(len(label) * 6.5) + 12
    right = int(len(text) * 6.5) + 12
    width = left + right
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
            f'aria-label="{escape(label)}: {escape(text)}"><title>{escape(label)}: {escape(text)}</title>'
            f'<rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" '
            f'fill="{colour}"/><g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
            f'font-size="11"><text x="{left / 2:.1f}" y="14">{escape(label)}</text>'
            f'<text x="{left + right / 2:.1f}" y="14">{escape(text)}</text></g></svg>')

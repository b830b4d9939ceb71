"""Publishing from the web face, without writing RDF: the twin form and the publish page.

* ``/publish``: upload a file or paste a twin with the twin's token. It goes through
  :meth:`ecgraph.node.Node.publish` like any upload; a twin the pipeline refuses for breaking the
  standard is shown with the same conformance report as the validator (the same template, the
  same format detection, the pasted text kept), and a published one sends the reader to the
  community's page (303), whose badge says whether warnings remain. Errors in plain words (wrong
  token, not conforming, too large); a refused upload writes nothing (the node commits all or
  nothing).
* ``/publish/form?twin=<id>``: the twin form (:mod:`ecgraph.web.face.form`, generated from the
  shapes), pre-filled from the published twin when there is one. Its buttons: add a row to a
  section, check (the conformance report, nothing stored), publish (with the twin's token, through
  the same :meth:`~ecgraph.node.Node.publish` as an upload), and download what it makes as Turtle
  or JSON-LD.

**Drafts stay in the reader's browser** (``localStorage``, written by ``/static/form.js``), not on
the node: a draft holds names and contacts the community has not decided to publish yet, with or
without a basis for them, and the node's rule is to hold personal data only where a twin states a
basis; a draft on the reader's device needs no token to save and nothing to erase later. Without
JavaScript the form still works (every button is a plain submit), only drafts are not kept.

Like every page, these talk to :class:`ecgraph.node.Node` only.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from ecgraph import errors, formats, standard
from ecgraph.node import Caller
from ecgraph.publish.pipeline import NotConformant, Upload
from ecgraph.validation.validate import Report, shape_docs_url
from ecgraph.web.common import node, node_url
from ecgraph.web.face import form as twin_form
from ecgraph.web.face import i18n

bp = Blueprint("publishing", __name__)

#: what the form says when names or contacts of people come without a basis
BASIS_NEEDED = ("These fields hold personal data: choose its basis (consent, or a role held in public) under "
                "\u201cpersonal data basis\u201d, or leave them empty. Without a basis the node does not publish them.")


INTRO_FORM = ("Fill in what you know; fields marked * are what the standard requires. Check shows the conformance "
              "report (nothing is stored); Publish needs the twin's token. You can download what the form makes as "
              "Turtle or JSON-LD.")
INTRO_PUBLISH = ("Upload your community's twin (Turtle, JSON-LD, N-Triples, RDF/XML) or paste it, with the twin's "
                 "token. The node checks it against the standard first and publishes it only if it conforms; then "
                 "you see your community's page.")
DETECTED = "recognised from the text; choose another input format below if that is wrong"
HIDDEN_NOTE = ("This twin has {n} statements the form does not show; publishing from the form leaves them out "
               "(publish the file itself to keep them):")

#: the words of these pages in French and Dutch (English is the key)
MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "Publish a twin": "Publier un jumeau",
        "Publish": "Publier",
        "Twin id": "Identifiant du jumeau",
        "Twin token": "Jeton du jumeau",
        "The token the node's admin gave you for this twin.":
            "Le jeton que l'administrateur du nœud vous a donné pour ce jumeau.",
        "A file": "Un fichier",
        "Or paste the twin": "Ou collez le jumeau",
        "Input format": "Format d'entrée",
        "recognise it": "le reconnaître",
        "Could not publish": "Publication impossible",
        "Nothing was published.": "Rien n'a été publié.",
        "Fill in your twin": "Remplissez votre jumeau",
        "Edit your twin": "Modifier votre jumeau",
        "Add a row": "Ajouter une ligne",
        "Check": "Vérifier",
        "Download Turtle": "Télécharger en Turtle",
        "Download JSON-LD": "Télécharger en JSON-LD",
        "required": "obligatoire",
        "one per line": "un par ligne",
        "choose": "choisir",
        "Open the form": "Ouvrir le formulaire",
        "Restore the draft": "Restaurer le brouillon",
        "Forget the draft": "Oublier le brouillon",
        "Drafts are kept in this browser only, never on the node.":
            "Les brouillons restent dans ce navigateur, jamais sur le nœud.",
        "Personal data": "Données personnelles",
        "Checked: nothing was stored.": "Vérifié : rien n'a été enregistré.",
        "Or fill in a form": "Ou remplissez un formulaire",
        "Row": "Ligne",
        INTRO_FORM: "Remplissez ce que vous savez ; les champs marqués * sont ceux que le standard exige. Vérifier "
                    "montre le rapport de conformité (rien n'est enregistré) ; Publier demande le jeton du jumeau. "
                    "Vous pouvez télécharger ce que le formulaire produit en Turtle ou en JSON-LD.",
        INTRO_PUBLISH: "Envoyez le jumeau de votre communauté (Turtle, JSON-LD, N-Triples, RDF/XML) ou collez-le, "
                       "avec le jeton du jumeau. Le nœud le vérifie d'abord selon le standard et ne le publie que "
                       "s'il est conforme ; vous voyez ensuite la page de votre communauté.",
        DETECTED: "reconnu d'après le texte ; choisissez un autre format d'entrée ci-dessous si c'est faux",
        HIDDEN_NOTE: "Ce jumeau a {n} déclarations que le formulaire ne montre pas ; publier depuis le formulaire "
                     "les omet (publiez le fichier lui-même pour les garder) :",
        "Read as": "Lu comme",
        "Profile": "Profil",
        BASIS_NEEDED: "Ces champs contiennent des données personnelles : choisissez leur base (consentement, ou une "
                      "fonction publique) sous \u00ab base des données personnelles \u00bb, ou laissez-les vides. "
                      "Sans base, le nœud ne les publie pas.",
        "Give the twin's token: publishing needs the token the node's admin gave you for this twin.":
            "Donnez le jeton du jumeau : publier demande le jeton que l'administrateur du nœud vous a donné.",
        "That token is not this twin's: check the twin id and the token (a token works for one twin only).":
            "Ce jeton n'est pas celui de ce jumeau : vérifiez l'identifiant et le jeton (un jeton vaut pour un seul "
            "jumeau).",
        "There is no such twin on this node: the admin registers a twin first and gives you its id and token.":
            "Ce jumeau n'existe pas sur ce nœud : l'administrateur l'enregistre d'abord et vous donne son identifiant "
            "et son jeton.",
        "The twin is too large for this node.": "Le jumeau est trop grand pour ce nœud.",
        "The twin does not conform to the standard: the report below says what to change.":
            "Le jumeau n'est pas conforme au standard : le rapport ci-dessous dit quoi changer.",
        "Give the twin id: the node's admin gave it to you with the token.":
            "Donnez l'identifiant du jumeau : l'administrateur du nœud vous l'a donné avec le jeton.",
        "Give the twin: choose a file or paste its text.":
            "Donnez le jumeau : choisissez un fichier ou collez son texte.",
    },
    "nl": {
        "Publish a twin": "Een tweeling publiceren",
        "Publish": "Publiceren",
        "Twin id": "Id van de tweeling",
        "Twin token": "Token van de tweeling",
        "The token the node's admin gave you for this twin.":
            "Het token dat de beheerder van het knooppunt u voor deze tweeling gaf.",
        "A file": "Een bestand",
        "Or paste the twin": "Of plak de tweeling",
        "Input format": "Invoerformaat",
        "recognise it": "herkennen",
        "Could not publish": "Publiceren lukte niet",
        "Nothing was published.": "Er werd niets gepubliceerd.",
        "Fill in your twin": "Vul uw tweeling in",
        "Edit your twin": "Uw tweeling bewerken",
        "Add a row": "Een rij toevoegen",
        "Check": "Controleren",
        "Download Turtle": "Turtle downloaden",
        "Download JSON-LD": "JSON-LD downloaden",
        "required": "verplicht",
        "one per line": "één per regel",
        "choose": "kiezen",
        "Open the form": "Het formulier openen",
        "Restore the draft": "Het concept herstellen",
        "Forget the draft": "Het concept vergeten",
        "Drafts are kept in this browser only, never on the node.":
            "Concepten blijven alleen in deze browser, nooit op het knooppunt.",
        "Personal data": "Persoonsgegevens",
        "Checked: nothing was stored.": "Gecontroleerd: er werd niets opgeslagen.",
        "Or fill in a form": "Of vul een formulier in",
        "Row": "Rij",
        INTRO_FORM: "Vul in wat u weet; velden met * zijn wat de standaard vraagt. Controleren toont het "
                    "conformiteitsrapport (er wordt niets opgeslagen); Publiceren vraagt het token van de tweeling. "
                    "U kunt wat het formulier maakt downloaden als Turtle of JSON-LD.",
        INTRO_PUBLISH: "Upload de tweeling van uw gemeenschap (Turtle, JSON-LD, N-Triples, RDF/XML) of plak ze, met "
                       "het token van de tweeling. Het knooppunt toetst ze eerst aan de standaard en publiceert ze "
                       "alleen als ze voldoet; daarna ziet u de pagina van uw gemeenschap.",
        DETECTED: "herkend uit de tekst; kies hieronder een ander invoerformaat als dat niet klopt",
        HIDDEN_NOTE: "Deze tweeling heeft {n} uitspraken die het formulier niet toont; publiceren vanuit het "
                     "formulier laat ze weg (publiceer het bestand zelf om ze te houden):",
        "Read as": "Gelezen als",
        "Profile": "Profiel",
        BASIS_NEEDED: "Deze velden bevatten persoonsgegevens: kies hun grondslag (toestemming, of een publieke rol) "
                      "onder \u201cgrondslag voor persoonsgegevens\u201d, of laat ze leeg. Zonder grondslag "
                      "publiceert het knooppunt ze niet.",
        "Give the twin's token: publishing needs the token the node's admin gave you for this twin.":
            "Geef het token van de tweeling: publiceren vraagt het token dat de beheerder van het knooppunt u gaf.",
        "That token is not this twin's: check the twin id and the token (a token works for one twin only).":
            "Dat token is niet van deze tweeling: controleer de id en het token (een token geldt voor één tweeling).",
        "There is no such twin on this node: the admin registers a twin first and gives you its id and token.":
            "Deze tweeling bestaat niet op dit knooppunt: de beheerder registreert ze eerst en geeft u haar id en "
            "token.",
        "The twin is too large for this node.": "De tweeling is te groot voor dit knooppunt.",
        "The twin does not conform to the standard: the report below says what to change.":
            "De tweeling voldoet niet aan de standaard: het rapport hieronder zegt wat te veranderen.",
        "Give the twin id: the node's admin gave it to you with the token.":
            "Geef de id van de tweeling: de beheerder van het knooppunt gaf hem u met het token.",
        "Give the twin: choose a file or paste its text.": "Geef de tweeling: kies een bestand of plak de tekst.",
    },
}

#: what each refusal means for someone publishing, in plain words (by error class, never by text)
PLAIN = {
    errors.Unauthorized: "Give the twin's token: publishing needs the token the node's admin gave you for this twin.",
    errors.Forbidden: "That token is not this twin's: check the twin id and the token (a token works for one twin "
                      "only).",
    errors.NotFound: "There is no such twin on this node: the admin registers a twin first and gives you its id and "
                     "token.",
    errors.TooLarge: "The twin is too large for this node.",
    NotConformant: "The twin does not conform to the standard: the report below says what to change.",
}


def t(text: str) -> str:
    lang = i18n.current()
    return MESSAGES.get(lang, {}).get(text) or i18n.translate(text, lang)


@bp.context_processor
def _words():
    return {"t": t, "INTRO_FORM": INTRO_FORM, "INTRO_PUBLISH": INTRO_PUBLISH, "DETECTED": DETECTED,
            "HIDDEN_NOTE": HIDDEN_NOTE, "version": standard.STANDARD_VERSION}


def _caller() -> Caller:
    return Caller(token=(request.form.get("token") or "").strip() or None, address=request.remote_addr or "")


def _twin_id() -> str:
    return (request.values.get("twin") or "").strip().lower()[:63]


def plain(exc: errors.Error) -> str:
    """An error in the words of someone publishing: what happened and what to do."""
    for cls, words in PLAIN.items():
        if isinstance(exc, cls):
            return f"{t(words)} ({exc.detail})" if cls is not NotConformant else t(words)
    return f"{exc.title}: {exc.detail}"


def report_context(source: str, report: Report) -> dict:
    """What the validator's report template needs (the same rendering as ``/validate``)."""
    from ecgraph.web.validator import _recent

    base = node_url() + "/"
    for r in report.results:
        r.docs = shape_docs_url(r.shape, base)
    return {"report": report, "source": source, "key": _recent.add(source, report), "results": report.results[:1000],
            "groups": report.groups(), "downloads": [(f.key, f.extension) for f in formats.REPORTS]}


def _validate(data: bytes, *, media_type: str | None, filename: str | None, format_name: str | None,
              twin_id: str) -> Report:
    n = node()
    upload = Upload(data=data, media_type=media_type, filename=filename, format_name=format_name, twin_id=twin_id,
                    base_iri=standard.twin_graph(twin_id), profile="recommended", refuse_violations=False,
                    lang=i18n.current(), max_bytes=n.config.max_upload_bytes, max_triples=n.config.max_triples,
                    max_results=1000)
    return n.validate(upload)


def community_page(twin_id: str) -> str:
    """The page of the community a twin describes (its twin's page when it describes none)."""
    n = node()
    community = ox.NamedNode(standard.EC + "EnergyCommunity")
    for t_ in n.twin_data(twin_id):
        if t_.predicate == standard.RDF_TYPE and t_.object == community and isinstance(t_.subject, ox.NamedNode):
            return url_for("face.resource", iri=t_.subject.value)
    return url_for("face.resource", iri=standard.twin_graph(twin_id))


def _publish(twin_id: str, data: bytes, *, media_type: str | None, filename: str | None,
             format_name: str | None, source: str | None = None) -> tuple[dict | None, str | None, int]:
    """Check the token, then publish through the pipeline: (report context, plain error, status).
    A twin that does not conform is checked again for the page's report (the validator's); it
    and any other refusal publish nothing (:meth:`Node.publish` commits all or nothing)."""
    n = node()
    caller = _caller()
    if not twin_id:
        return None, t("Give the twin id: the node's admin gave it to you with the token."), 400
    try:
        n.check_writer(twin_id, caller)  # a wrong token is said before anything is read
        n.twin_info(twin_id)
        upload = n.upload_for(twin_id, data, media_type=media_type, filename=filename, format_name=format_name)
        n.publish(twin_id, upload, caller=caller)
    except NotConformant as exc:
        report = _validate(data, media_type=media_type, filename=filename, format_name=format_name, twin_id=twin_id)
        error = plain(exc) + " " + t("Nothing was published.")
        return report_context(source or filename or "pasted text", report), error, 422
    except errors.Error as exc:
        return None, plain(exc) + ("" if exc.status in (401, 403, 404) else " " + t("Nothing was published.")), \
            exc.status
    return None, None, 303


# --- the publish page -------------------------------------------------------------------------------

INPUT_NAMES = sorted(name for f in formats.INPUT for name in f.names)


@bp.get("/publish")
def page():
    return render_template("face/publish.html", formats=INPUT_NAMES, twin=_twin_id(), text="", error=None,
                           detected="", chosen_format="")


def _too_large_page(template: str, **context):
    """A body over the node's limit, said on the page rather than as a JSON problem."""
    limit = node().config.max_upload_bytes
    error = plain(errors.TooLarge(f"it is over the node's limit of {limit:,} bytes"))
    error += " " + t("Nothing was published.")
    return render_template(template, error=error, **context), 413


@bp.post("/publish")
def submit():
    try:
        _ = (request.form, request.files)  # parsed here: a body over the limit is refused as it is read
    except RequestEntityTooLarge:
        return _too_large_page("face/publish.html", formats=INPUT_NAMES, twin=request.args.get("twin", ""), text="",
                               detected="", chosen_format="")
    twin_id = _twin_id()
    upload = request.files.get("file")
    text = request.form.get("text", "")
    chosen = request.form.get("input-format") or None
    detected = ""
    if upload is not None and upload.filename:
        data = upload.read(node().config.max_upload_bytes + 1)
        media_type = upload.mimetype if upload.mimetype != "application/octet-stream" else None
        filename: str | None = upload.filename
    elif text.strip():
        data, filename = text.encode("utf-8"), None
        sniffed = formats.sniff(data)
        media_type, detected = sniffed.media_types[0], ("" if chosen else sniffed.key)
    else:
        data, media_type, filename = b"", None, None
    if not data:
        error, shown, status = t("Give the twin: choose a file or paste its text."), None, 400
    elif len(data) > node().config.max_upload_bytes:
        error, shown, status = plain(errors.TooLarge(
            f"it is over the node's limit of {node().config.max_upload_bytes:,} bytes")), None, 413
    else:
        shown, error, status = _publish(twin_id, data, media_type=media_type, filename=filename, format_name=chosen)
    if status == 303:
        return redirect(community_page(twin_id), code=303)
    return render_template("face/publish.html", formats=INPUT_NAMES, twin=twin_id, text=text, error=error,
                           detected=detected, chosen_format=chosen or "", **(shown or {})), status


# --- the form ---------------------------------------------------------------------------------------

def _form_page(form: twin_form.Form, values: twin_form.Values, twin_id: str, *, status: int = 200,
               error: str | None = None, shown: dict | None = None, editing: bool = False, hidden: int = 0,
               checked: bool = False, missing_basis: list[str] | None = None):
    rows = {s.key: max(len(values.rows.get(s.key, [])), 1) for s in form.sections if s.repeatable}
    add = request.form.get("action", "")
    if add.startswith("add:") and add[4:] in rows:
        rows[add[4:]] = min(rows[add[4:]] + 1, twin_form.MAX_ROWS)
    return render_template("face/form.html", form=form, values=values, rows=rows, twin=twin_id, error=error,
                           editing=editing, hidden=hidden, checked=checked, lang=i18n.current(),
                           missing_basis=missing_basis or [], basis_needed=t(BASIS_NEEDED),
                           **(shown or {})), status


@bp.get("/publish/form")
def form_page():
    form = twin_form.current_form()
    twin_id = _twin_id()
    values, hidden, editing = twin_form.Values(), 0, False
    if twin_id:
        n = node()
        info = n.twin_info(twin_id)  # 404 in plain words when there is no such twin
        if info.get("published"):
            values, _, hidden = twin_form.prefill(form, n.twin_data(twin_id))
            editing = True
    return _form_page(form, values, twin_id, editing=editing, hidden=hidden)


def _made(form: twin_form.Form, values: twin_form.Values, twin_id: str) -> bytes:
    n = node()
    namespaces: list[str] = []
    if twin_id:
        try:
            namespaces = list(n.twin_info(twin_id).get("namespaces") or [])
        except errors.NotFound:
            namespaces = []
    base = request.form.get("base") or twin_form.base_for(twin_id or "draft", namespaces)
    triples = twin_form.build(form, values, twin_id or "draft", base, i18n.current())
    return formats.write(triples, ox.RdfFormat.TURTLE, prefixes=standard.PREFIXES)


@bp.post("/publish/form")
def form_submit():
    form = twin_form.current_form()
    try:
        _ = request.form
    except RequestEntityTooLarge:
        values = twin_form.Values()
        return _too_large_page("face/form.html", form=form, values=values,
                               rows={s.key: 1 for s in form.sections if s.repeatable}, twin="", editing=False,
                               hidden=0, checked=False, lang=i18n.current(), missing_basis=[], basis_needed="")
    twin_id = _twin_id()
    values = twin_form.read_values(form, request.form)
    action = request.form.get("action", "check")
    editing = request.form.get("editing") == "1"
    if action.startswith("add:") or action == "restore":
        return _form_page(form, values, twin_id, editing=editing)
    turtle = _made(form, values, twin_id)
    if action in ("turtle", "jsonld"):
        name = f"{twin_id or 'twin'}.{'ttl' if action == 'turtle' else 'jsonld'}"
        if action == "turtle":
            body, fmt = turtle, formats.TURTLE
        else:
            triples = [q.triple for q in ox.parse(turtle, format=ox.RdfFormat.TURTLE)]
            body, fmt = formats.write(triples, ox.RdfFormat.JSON_LD, prefixes=standard.PREFIXES), formats.JSONLD
        response = Response(body, content_type=fmt.media_type)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    missing_basis = twin_form.personal_without_basis(form, values, i18n.current())
    if action == "publish" and missing_basis:
        return _form_page(form, values, twin_id, status=422, editing=editing, missing_basis=missing_basis,
                          error=t(BASIS_NEEDED) + " " + t("Nothing was published."))
    if action == "publish":
        shown, error, status = _publish(twin_id, turtle, media_type=formats.TURTLE.media_type, filename=None,
                                        format_name="turtle", source=t("Fill in your twin"))
        if status == 303:
            return redirect(community_page(twin_id), code=303)
        return _form_page(form, values, twin_id, status=status, error=error, shown=shown, editing=editing)
    try:
        report = _validate(turtle, media_type=formats.TURTLE.media_type, filename=None, format_name="turtle",
                           twin_id=twin_id or "draft")
    except errors.Error as exc:
        return _form_page(form, values, twin_id, status=exc.status, error=plain(exc), editing=editing)
    return _form_page(form, values, twin_id, shown=report_context(t("Fill in your twin"), report), editing=editing,
                      checked=True, status=200, missing_basis=missing_basis)

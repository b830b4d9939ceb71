"""French and Dutch for the query editor's result tools, the validator page and the conformance
report, and the page-reading limit's answer (kept apart from :mod:`.i18n`'s catalogue so that parts
of the face built at the same time do not edit one dict; :mod:`.i18n` merges it)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        # error pages (ecgraph.web.error_response)
        "Something in this request is not right": "Quelque chose ne va pas dans cette demande",
        "Not allowed": "Pas autorisé",
        "Not found": "Introuvable",
        "Not possible here": "Pas possible ici",
        "Not accepted": "Pas accepté",
        "Too large": "Trop volumineux",
        "Busy: try again soon": "Occupé : réessayez dans un instant",
        "The node could not answer": "Le nœud n'a pas pu répondre",
        "Home": "Accueil",
        "Licence": "Licence",
        "Source": "Source",
        "Last success": "Dernier succès",
        "Last attempt": "Dernière tentative",
        "open data": "données ouvertes",
        "not an open licence: ask the community before reusing":
            "licence non ouverte : demandez à la communauté avant de réutiliser",
        "none stated: ask the community before reusing":
            "aucune indiquée : demandez à la communauté avant de réutiliser",
        # the query editor
        "Copy a link to this query": "Copier un lien vers cette requête",
        "Link to this query": "Lien vers cette requête",
        "Link copied": "Lien copié",
        "Copy the link from the field": "Copiez le lien depuis le champ",
        "Download the results as": "Télécharger les résultats en",
        "Chart": "Graphique",
        "Number to chart": "Nombre à représenter",
        "No column of these results holds numbers: nothing to chart.":
            "Aucune colonne de ces résultats ne contient de nombres : rien à représenter.",
        # a page past its deadline
        "This page took too long": "Cette page a pris trop de temps",
        "The directory of communities is being prepared after a change. Try again in a few seconds.":
            "L'annuaire des communautés est en préparation après un changement. Réessayez dans quelques secondes.",
        "Reading its data took longer than this node allows a page. Nothing was changed. Try again soon.":
            "La lecture des données de cette page a pris plus de temps que ce nœud n'en accorde à une page. "
            "Rien n'a été modifié. Réessayez dans un instant.",
        "Try again": "Réessayer",
        "Ask the question in the query editor": "Poser la question dans l'éditeur de requêtes",
        # the validator page and its conformance report
        "Check that an energy-community twin (your export) conforms to the ecgraph standard before anyone "
        "publishes it. Nothing is stored.":
            "Vérifiez qu'un jumeau de communauté d'énergie (votre export) est conforme au standard ecgraph avant "
            "que quiconque le publie. Rien n'est enregistré.",
        "The same checks run in": "Les mêmes contrôles tournent dans",
        "and": "et",
        "every rule is documented on": "chaque règle est documentée sur",
        "What to validate (one of)": "Quoi valider (l'un des trois)",
        "A file": "Un fichier",
        "Or paste RDF": "Ou collez du RDF",
        "Read as": "Lu comme",
        "(recognised from the text; choose another input format below if that is wrong).":
            "(reconnu d'après le texte ; choisissez un autre format d'entrée ci-dessous si c'est faux).",
        "Or a URL the node fetches": "Ou une URL que le nœud va chercher",
        "Input format": "Format d'entrée",
        "recognise it (from the file name or the text)": "le reconnaître (d'après le nom du fichier ou le texte)",
        "core (MUST rules)": "core (règles obligatoires)",
        "recommended (core + SHOULD rules as warnings)":
            "recommended (core + règles recommandées, en avertissements)",
        "Show at most": "Afficher au plus",
        "results": "résultats",
        "Validate": "Valider",
        "Could not validate": "Validation impossible",
        "conforms": "est conforme",
        "does not conform": "n'est pas conforme",
        "pasted text": "texte collé",
        "Violations": "Violations",
        "Warnings": "Avertissements",
        "Input hash": "Empreinte de l'entrée",
        "Shapes hash": "Empreinte des formes",
        "Validator": "Validateur",
        "Time": "Durée",
        "Download the report:": "Télécharger le rapport :",
        "By rule": "Par règle",
        "Severity": "Gravité",
        "Rule": "Règle",
        "Message": "Message",
        "Focus node": "Nœud concerné",
        "Path": "Chemin",
        "the first": "les",
        "written as": "écrit",
        "its triples": "ses triplets",
        "and so, also": "et donc aussi",
        "Violation": "Violation",
        "Warning": "Avertissement",
        "Info": "Information",
        "line": "ligne",
        "column": "colonne",
        "give a file, some text or a URL to validate": "donnez un fichier, du texte ou une URL à valider",
        "the node cannot tell which RDF format this is. Choose it in the \u201cInput format\u201d list (Turtle, "
        "JSON-LD, N-Triples, RDF/XML, TriG or N-Quads) and validate again.":
            "le nœud ne reconnaît pas ce format RDF. Choisissez-le dans la liste \u00ab\u00a0Format "
            "d'entrée\u00a0\u00bb (Turtle, JSON-LD, N-Triples, RDF/XML, TriG ou N-Quads) et validez à nouveau.",
    },
    "nl": {
        # error pages (ecgraph.web.error_response)
        "Something in this request is not right": "Er klopt iets niet in dit verzoek",
        "Not allowed": "Niet toegestaan",
        "Not found": "Niet gevonden",
        "Not possible here": "Hier niet mogelijk",
        "Not accepted": "Niet aanvaard",
        "Too large": "Te groot",
        "Busy: try again soon": "Bezet: probeer het zo opnieuw",
        "The node could not answer": "Het knooppunt kon niet antwoorden",
        "Home": "Start",
        "Licence": "Licentie",
        "Source": "Bron",
        "Last success": "Laatste succes",
        "Last attempt": "Laatste poging",
        "open data": "open data",
        "not an open licence: ask the community before reusing":
            "geen open licentie: vraag het de gemeenschap voor hergebruik",
        "none stated: ask the community before reusing": "geen vermeld: vraag het de gemeenschap voor hergebruik",
        "Copy a link to this query": "Een link naar deze vraag kopiëren",
        "Link to this query": "Link naar deze vraag",
        "Link copied": "Link gekopieerd",
        "Copy the link from the field": "Kopieer de link uit het veld",
        "Download the results as": "De resultaten downloaden als",
        "Chart": "Grafiek",
        "Number to chart": "Getal in de grafiek",
        "No column of these results holds numbers: nothing to chart.":
            "Geen kolom van deze resultaten bevat getallen: niets om in een grafiek te zetten.",
        # a page past its deadline
        "This page took too long": "Deze pagina duurde te lang",
        "The directory of communities is being prepared after a change. Try again in a few seconds.":
            "Het overzicht van gemeenschappen wordt na een wijziging voorbereid. "
            "Probeer het over enkele seconden opnieuw.",
        "Reading its data took longer than this node allows a page. Nothing was changed. Try again soon.":
            "Het lezen van de gegevens van deze pagina duurde langer dan dit knooppunt een pagina toestaat. "
            "Er is niets gewijzigd. Probeer het zo dadelijk opnieuw.",
        "Try again": "Opnieuw proberen",
        "Ask the question in the query editor": "De vraag stellen in de query-editor",
        # the validator page and its conformance report
        "Check that an energy-community twin (your export) conforms to the ecgraph standard before anyone "
        "publishes it. Nothing is stored.":
            "Controleer of een tweeling van een energiegemeenschap (uw export) aan de ecgraph-standaard voldoet "
            "voordat iemand hem publiceert. Er wordt niets bewaard.",
        "The same checks run in": "Dezelfde controles draaien in",
        "and": "en",
        "every rule is documented on": "elke regel is beschreven op",
        "What to validate (one of)": "Wat te valideren (één van de drie)",
        "A file": "Een bestand",
        "Or paste RDF": "Of plak RDF",
        "Read as": "Gelezen als",
        "(recognised from the text; choose another input format below if that is wrong).":
            "(herkend aan de tekst; kies hieronder een ander invoerformaat als dat niet klopt).",
        "Or a URL the node fetches": "Of een URL die het knooppunt ophaalt",
        "Input format": "Invoerformaat",
        "recognise it (from the file name or the text)": "herkennen (aan de bestandsnaam of de tekst)",
        "core (MUST rules)": "core (verplichte regels)",
        "recommended (core + SHOULD rules as warnings)":
            "recommended (core + aanbevolen regels als waarschuwingen)",
        "Show at most": "Toon hoogstens",
        "results": "resultaten",
        "Validate": "Valideren",
        "Could not validate": "Valideren is niet gelukt",
        "conforms": "voldoet",
        "does not conform": "voldoet niet",
        "pasted text": "geplakte tekst",
        "Violations": "Overtredingen",
        "Warnings": "Waarschuwingen",
        "Input hash": "Hash van de invoer",
        "Shapes hash": "Hash van de shapes",
        "Validator": "Validator",
        "Time": "Tijd",
        "Download the report:": "Het rapport downloaden:",
        "By rule": "Per regel",
        "Severity": "Ernst",
        "Rule": "Regel",
        "Message": "Melding",
        "Focus node": "Betrokken knoop",
        "Path": "Pad",
        "the first": "de eerste",
        "written as": "geschreven als",
        "its triples": "zijn triples",
        "and so, also": "en daardoor ook",
        "Violation": "Overtreding",
        "Warning": "Waarschuwing",
        "Info": "Informatie",
        "line": "regel",
        "column": "kolom",
        "give a file, some text or a URL to validate": "geef een bestand, tekst of een URL om te valideren",
        "the node cannot tell which RDF format this is. Choose it in the \u201cInput format\u201d list (Turtle, "
        "JSON-LD, N-Triples, RDF/XML, TriG or N-Quads) and validate again.":
            "het knooppunt herkent dit RDF-formaat niet. Kies het in de lijst \u201cInvoerformaat\u201d (Turtle, "
            "JSON-LD, N-Triples, RDF/XML, TriG of N-Quads) en valideer opnieuw.",
    },
}

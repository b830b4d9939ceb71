"""French and Dutch for the query editor's result tools, the validator page and the conformance
report, and the page-reading limit's answer (kept apart from :mod:`.i18n`'s catalogue so that parts
of the face built at the same time do not edit one dict; :mod:`.i18n` merges it)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
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
    },
    "nl": {
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
    },
}

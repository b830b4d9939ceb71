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
    },
}

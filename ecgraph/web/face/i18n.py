"""The page chrome in English, French and Dutch: a small message catalogue.

Templates write ``{{ _("Communities") }}``; the English text is the key, so a missing translation
shows English, never a blank. The reader's language comes from the ``lang`` parameter of the
language switch (kept in a cookie), else from ``Accept-Language``. Labels of the standard's terms
come from the ontology itself (``rdfs:label``/``skos:prefLabel`` in en/fr/nl), not from here.

``tests/test_face.py`` checks that every string the templates translate has its French and Dutch.
"""

from __future__ import annotations

from flask import g, request

LANGUAGES = ("en", "fr", "nl")
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "nl": "Nederlands"}
COOKIE = "ecgraph_lang"

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "Communities": "Communautés",
        "Query": "Requête",
        "Validator": "Validateur",
        "Publish": "Publier",
        "Ontology": "Ontologie",
        "Catalog": "Catalogue",
        "API": "API",
        "Service": "Service",
        "Language": "Langue",
        "Main navigation": "Navigation principale",
        "Skip to content": "Aller au contenu",
        "ecgraph node": "nœud ecgraph",
        "SPARQL endpoint": "Point d'accès SPARQL",
        "Energy communities, one knowledge graph": "Les communautés d'énergie, un seul graphe de connaissances",
        "Find energy communities": "Trouver des communautés d'énergie",
        "Search": "Rechercher",
        "Search communities": "Rechercher des communautés",
        "for example: school, solar, Leuven": "par exemple : école, solaire, Louvain",
        "Directory of energy communities": "Annuaire des communautés d'énergie",
        "communities found": "communautés trouvées",
        "Filters": "Filtres",
        "Apply filters": "Appliquer les filtres",
        "Clear all filters": "Effacer tous les filtres",
        "Network": "Réseau",
        "Country": "Pays",
        "Region": "Région",
        "Legal form": "Forme juridique",
        "Member types": "Types de membres",
        "Technologies": "Technologies",
        "Activities": "Activités",
        "Size": "Taille",
        "Conformance": "Conformité",
        "members": "membres",
        "Map of the communities": "Carte des communautés",
        "Map": "Carte",
        "Results": "Résultats",
        "Page": "Page",
        "of": "sur",
        "Previous": "Précédente",
        "Next": "Suivante",
        "No community matches.": "Aucune communauté ne correspond.",
        "with a school": "avec une école",
        "Members": "Membres",
        "Assets": "Installations",
        "Indicators": "Indicateurs",
        "Lessons learned": "Leçons apprises",
        "What worked": "Ce qui a marché",
        "What did not work": "Ce qui n'a pas marché",
        "Initiatives": "Initiatives",
        "Events and visits": "Événements et visites",
        "Tools": "Outils",
        "Funding": "Financement",
        "Contact": "Contact",
        "Provenance": "Provenance",
        "Raw data": "Données brutes",
        "Twin": "Jumeau",
        "Version": "Version",
        "Published": "Publié",
        "Modified": "Modifié",
        "Profile": "Profil",
        "Content hash": "Empreinte du contenu",
        "Node": "Nœud",
        "this node": "ce nœud",
        "Roles": "Rôles",
        "Hosted by": "Hébergé par",
        "Communities of this network": "Communautés de ce réseau",
        "Indicators of its communities, added up": "Indicateurs de ses communautés, additionnés",
        "Indicators of the network itself": "Indicateurs du réseau lui-même",
        "Statements": "Énoncés",
        "Property": "Propriété",
        "Value": "Valeur",
        "Graph": "Graphe",
        "inferred": "déduit",
        "Referred to by": "Cité par",
        "Nothing is known about this resource on this node.": "Ce nœud ne sait rien de cette ressource.",
        "Classes": "Classes",
        "Properties": "Propriétés",
        "Code lists": "Listes de codes",
        "Download": "Télécharger",
        "Subclass of": "Sous-classe de",
        "Domain": "Domaine",
        "Range": "Portée",
        "Ask a question (SPARQL)": "Poser une question (SPARQL)",
        "Examples": "Exemples",
        "choose an example…": "choisir un exemple…",
        "Run query": "Lancer la requête",
        "Results as": "Résultats en",
        "table": "tableau",
        "Twins on this node": "Jumeaux sur ce nœud",
        "Triples": "Triplets",
        "Updated": "Mis à jour",
        "registered, not published yet": "enregistré, pas encore publié",
        "Use it from your tools": "L'utiliser depuis vos outils",
        "published twins": "jumeaux publiés",
        "triples": "triplets",
        "peers": "pairs",
        "Website": "Site web",
        "Purpose": "Objet",
        "School": "École",
        "Open the directory": "Ouvrir l'annuaire",
        "Data catalog": "Catalogue de données",
        "Datasets": "Jeux de données",
        "Service description": "Description du service",
        "Endpoint": "Point d'accès",
        "Supported": "Pris en charge",
        "The same data as": "Les mêmes données en",
        "Amount": "Montant",
        "Date": "Date",
        "Type": "Type",
        "Show": "Afficher",
        "Conformance validator": "Validateur de conformité",
    },
    "nl": {
        "Communities": "Gemeenschappen",
        "Query": "Zoekvraag",
        "Validator": "Validator",
        "Publish": "Publiceren",
        "Ontology": "Ontologie",
        "Catalog": "Catalogus",
        "API": "API",
        "Service": "Dienst",
        "Language": "Taal",
        "Main navigation": "Hoofdnavigatie",
        "Skip to content": "Naar de inhoud",
        "ecgraph node": "ecgraph-knooppunt",
        "SPARQL endpoint": "SPARQL-eindpunt",
        "Energy communities, one knowledge graph": "Energiegemeenschappen, één kennisgraaf",
        "Find energy communities": "Energiegemeenschappen vinden",
        "Search": "Zoeken",
        "Search communities": "Gemeenschappen zoeken",
        "for example: school, solar, Leuven": "bijvoorbeeld: school, zon, Leuven",
        "Directory of energy communities": "Overzicht van energiegemeenschappen",
        "communities found": "gemeenschappen gevonden",
        "Filters": "Filters",
        "Apply filters": "Filters toepassen",
        "Clear all filters": "Alle filters wissen",
        "Network": "Netwerk",
        "Country": "Land",
        "Region": "Regio",
        "Legal form": "Rechtsvorm",
        "Member types": "Soorten leden",
        "Technologies": "Technologieën",
        "Activities": "Activiteiten",
        "Size": "Grootte",
        "Conformance": "Conformiteit",
        "members": "leden",
        "Map of the communities": "Kaart van de gemeenschappen",
        "Map": "Kaart",
        "Results": "Resultaten",
        "Page": "Pagina",
        "of": "van",
        "Previous": "Vorige",
        "Next": "Volgende",
        "No community matches.": "Geen enkele gemeenschap komt overeen.",
        "with a school": "met een school",
        "Members": "Leden",
        "Assets": "Installaties",
        "Indicators": "Indicatoren",
        "Lessons learned": "Geleerde lessen",
        "What worked": "Wat werkte",
        "What did not work": "Wat niet werkte",
        "Initiatives": "Initiatieven",
        "Events and visits": "Evenementen en bezoeken",
        "Tools": "Hulpmiddelen",
        "Funding": "Financiering",
        "Contact": "Contact",
        "Provenance": "Herkomst",
        "Raw data": "Ruwe gegevens",
        "Twin": "Tweeling",
        "Version": "Versie",
        "Published": "Gepubliceerd",
        "Modified": "Gewijzigd",
        "Profile": "Profiel",
        "Content hash": "Inhoudshash",
        "Node": "Knooppunt",
        "this node": "dit knooppunt",
        "Roles": "Rollen",
        "Hosted by": "Geplaatst bij",
        "Communities of this network": "Gemeenschappen van dit netwerk",
        "Indicators of its communities, added up": "Indicatoren van zijn gemeenschappen, opgeteld",
        "Indicators of the network itself": "Indicatoren van het netwerk zelf",
        "Statements": "Uitspraken",
        "Property": "Eigenschap",
        "Value": "Waarde",
        "Graph": "Graaf",
        "inferred": "afgeleid",
        "Referred to by": "Vermeld door",
        "Nothing is known about this resource on this node.": "Dit knooppunt weet niets over deze bron.",
        "Classes": "Klassen",
        "Properties": "Eigenschappen",
        "Code lists": "Codelijsten",
        "Download": "Downloaden",
        "Subclass of": "Subklasse van",
        "Domain": "Domein",
        "Range": "Bereik",
        "Ask a question (SPARQL)": "Een vraag stellen (SPARQL)",
        "Examples": "Voorbeelden",
        "choose an example…": "kies een voorbeeld…",
        "Run query": "Vraag uitvoeren",
        "Results as": "Resultaten als",
        "table": "tabel",
        "Twins on this node": "Tweelingen op dit knooppunt",
        "Triples": "Triples",
        "Updated": "Bijgewerkt",
        "registered, not published yet": "geregistreerd, nog niet gepubliceerd",
        "Use it from your tools": "Gebruik het vanuit uw hulpmiddelen",
        "published twins": "gepubliceerde tweelingen",
        "triples": "triples",
        "peers": "partners",
        "Website": "Website",
        "Purpose": "Doel",
        "School": "School",
        "Open the directory": "Het overzicht openen",
        "Data catalog": "Gegevenscatalogus",
        "Datasets": "Datasets",
        "Service description": "Dienstbeschrijving",
        "Endpoint": "Eindpunt",
        "Supported": "Ondersteund",
        "The same data as": "Dezelfde gegevens als",
        "Amount": "Bedrag",
        "Date": "Datum",
        "Type": "Type",
        "Show": "Tonen",
        "Conformance validator": "Conformiteitsvalidator",
    },
}


def current() -> str:
    """The reader's language: the switch's ``lang`` parameter, else the cookie it left, else
    ``Accept-Language``, else English."""
    if "ecgraph_lang" in g:
        return g.ecgraph_lang
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        lang = asked
    elif request.cookies.get(COOKIE) in LANGUAGES:
        lang = request.cookies[COOKIE]
    else:
        lang = request.accept_languages.best_match(LANGUAGES, default="en") or "en"
    g.ecgraph_lang = lang
    return lang


def translate(text: str, lang: str | None = None) -> str:
    lang = lang or current()
    return MESSAGES.get(lang, {}).get(text, text)

# discovery's panels and pages (ecgraph.web.face.discover)
_DISCOVERY: dict[str, tuple[str, str]] = {
    'All communities': ('Toutes les communautés', 'Alle gemeenschappen'),
    'All kinds': ('Tous les genres', 'Alle soorten'),
    'All topics': ('Tous les thèmes', "Alle thema's"),
    'Any technology': ('Toute technologie', 'Elke technologie'),
    'Best practice': ('Bonne pratique', 'Goede praktijk'),
    'Communities like this one': ('Communautés semblables', 'Gelijkaardige gemeenschappen'),
    'Communities of a network, municipality or region side by side, and their evolution by year.': (
        "Les communautés d'un réseau, d'une commune ou d'une région côte à côte, et leur évolution par année.",
        'De gemeenschappen van een netwerk, gemeente of regio naast elkaar, en hun evolutie per jaar.'),
    "Communities like yours: open a community's page and its panel “Communities like this one”.": (
        "Des communautés comme la vôtre : ouvrez la page d'une communauté et son panneau « Communautés semblables ».",
        'Gemeenschappen zoals de uwe: open de pagina van een gemeenschap en haar paneel ‘Gelijkaardige '
        'gemeenschappen’.'),
    'Community': ('Communauté', 'Gemeenschap'),
    'Compare by area': ('Comparer par territoire', 'Vergelijken per gebied'),
    'Compare its communities side by side': (
        'Comparer ses communautés côte à côte',
        'Zijn gemeenschappen naast elkaar vergelijken'),
    'Compare the communities of its area': (
        'Comparer les communautés de son territoire',
        'De gemeenschappen van haar gebied vergelijken'),
    'Compare the communities of its network': (
        'Comparer les communautés de son réseau',
        'De gemeenschappen van haar netwerk vergelijken'),
    'At its home node': ("Sur son nœud d'origine", 'Op zijn thuisknooppunt'),
    'Discover': ('Découvrir', 'Ontdekken'),
    'Each indicator per period beside the median of its network and of all communities; the whiskers show the '
    'quartiles.': (
        'Chaque indicateur par période à côté de la médiane de son réseau et de toutes les communautés ; les '
        'moustaches montrent les quartiles.',
        'Elke indicator per periode naast de mediaan van haar netwerk en van alle gemeenschappen; de snorharen '
        'tonen de kwartielen.'),
    'Event or visit': ('Événement ou visite', 'Evenement of bezoek'),
    'Everywhere': ('Partout', 'Overal'),
    'Evolution by year': ('Évolution par année', 'Evolutie per jaar'),
    'Find': ('Chercher', 'Zoeken'),
    'Find communities like yours, learn from what others tried, see how you compare and what is new near you.': (
        "Trouvez des communautés comme la vôtre, apprenez de ce que d'autres ont essayé, voyez où vous en êtes "
        'et ce qui est nouveau près de chez vous.',
        'Vind gemeenschappen zoals de uwe, leer van wat anderen probeerden, zie hoe u zich verhoudt en wat er '
        'nieuw is in uw buurt.'),
    'Follow it in a feed reader': ('À suivre dans un lecteur de flux', 'Volg het in een feedlezer'),
    'How it compares': ('Comment elle se situe', 'Hoe ze zich verhoudt'),
    'In communities with': ('Dans les communautés avec', 'In gemeenschappen met'),
    'In communities with a school': ('Dans les communautés avec une école', 'In gemeenschappen met een school'),
    'In the same network': ('Dans le même réseau', 'In hetzelfde netwerk'),
    'Indicator': ('Indicateur', 'Indicator'),
    'Initiative': ('Initiative', 'Initiatief'),
    'Its communities side by side': ('Ses communautés côte à côte', 'Zijn gemeenschappen naast elkaar'),
    'Its municipality': ('Sa commune', 'Haar gemeente'),
    'Its network': ('Son réseau', 'Haar netwerk'),
    'Its region': ('Sa région', 'Haar regio'),
    'Kind': ('Genre', 'Soort'),
    'Lesson learned': ('Leçon apprise', 'Geleerde les'),
    'Lessons learned, best practices, initiatives and events, with the community and its contact.': (
        'Leçons apprises, bonnes pratiques, initiatives et événements, avec la communauté et son contact.',
        'Geleerde lessen, goede praktijken, initiatieven en evenementen, met de gemeenschap en haar contact.'),
    'Median of all communities': ('Médiane de toutes les communautés', 'Mediaan van alle gemeenschappen'),
    'Median of its network': ('Médiane de son réseau', 'Mediaan van haar netwerk'),
    'Municipalities': ('Communes', 'Gemeenten'),
    'Municipality': ('Commune', 'Gemeente'),
    'Must involve': ('Doit impliquer', 'Moet betrekken'),
    'Networks': ('Réseaux', 'Netwerken'),
    'No tool yet.': ("Aucun outil pour l'instant.", 'Nog geen hulpmiddel.'),
    'Nothing matches: try fewer words or filters.': (
        'Rien ne correspond : essayez moins de mots ou de filtres.',
        'Niets komt overeen: probeer minder woorden of filters.'),
    'Nothing new here yet.': ("Rien de nouveau ici pour l'instant.", 'Hier is nog niets nieuws.'),
    'Offered by': ('Proposé par', 'Aangeboden door'),
    'On this page': ('Sur cette page', 'Op deze pagina'),
    'Period': ('Période', 'Periode'),
    'Place': ('Lieu', 'Plaats'),
    'Quantities are added up over the communities that report the whole year, rates are their median; the '
    'others are counted, not guessed.': (
        "Les quantités sont additionnées sur les communautés qui déclarent l'année entière, les taux en sont la"
        ' médiane ; les autres sont comptées, pas devinées.',
        'Hoeveelheden worden opgeteld over de gemeenschappen die het hele jaar rapporteren, percentages zijn '
        'hun mediaan; de andere worden geteld, niet geraden.'),
    'Recently published or changed twins, initiatives and events, also as a feed.': (
        'Jumeaux, initiatives et événements récemment publiés ou modifiés, aussi en flux.',
        'Onlangs gepubliceerde of gewijzigde tweelingen, initiatieven en evenementen, ook als feed.'),
    'Regions': ('Régions', "Regio's"),
    'Search what others learned': ("Chercher ce que d'autres ont appris", 'Zoeken wat anderen leerden'),
    'Technology': ('Technologie', 'Technologie'),
    'The same as JSON': ('La même chose en JSON', 'Hetzelfde als JSON'),
    "The network's page": ('La page du réseau', 'De pagina van het netwerk'),
    'The tools and services communities use or offer, and what they learned with them.': (
        "Les outils et services que les communautés utilisent ou proposent, et ce qu'elles en ont appris.",
        'De hulpmiddelen en diensten die gemeenschappen gebruiken of aanbieden, en wat ze ermee leerden.'),
    'The weights': ('Les poids', 'De gewichten'),
    'This community': ('Cette communauté', 'Deze gemeenschap'),
    'Tools directory': ('Annuaire des outils', 'Overzicht van hulpmiddelen'),
    'Topic': ('Thème', 'Thema'),
    'Used by': ('Utilisé par', 'Gebruikt door'),
    'What others learned': ("Ce que d'autres ont appris", 'Wat anderen leerden'),
    'What they learned': ("Ce qu'ils en ont appris", 'Wat ze leerden'),
    "What's new": ('Quoi de neuf', 'Wat is er nieuw'),
    'Within (km)': ('À moins de (km)', 'Binnen (km)'),
    'Words': ('Mots', 'Woorden'),
    'Year': ('Année', 'Jaar'),
    'any member type': ('tout type de membre', 'elk soort lid'),
    'communities': ('communautés', 'gemeenschappen'),
    'found': ('trouvés', 'gevonden'),
    'from': ('depuis', 'van'),
    'median': ('médiane', 'mediaan'),
    'percentile': ('centile', 'percentiel'),
    'published': ('publié', 'gepubliceerd'),
    'quartiles': ('quartiles', 'kwartielen'),
    'removed': ('retiré', 'verwijderd'),
    'reporting': ('déclarent', 'rapporteren'),
    'total': ('total', 'totaal'),
    'updated': ('mis à jour', 'bijgewerkt'),
    'updated from its home node': ("mis à jour depuis son nœud d'origine", 'bijgewerkt vanaf zijn thuisknooppunt'),
    'without a value': ('sans valeur', 'zonder waarde'),
}
MESSAGES["fr"].update({k: v[0] for k, v in _DISCOVERY.items()})
MESSAGES["nl"].update({k: v[1] for k, v in _DISCOVERY.items()})

def _merge() -> None:
    from ecgraph.web.face import i18n_more

    for lang, table in i18n_more.MESSAGES.items():
        MESSAGES.setdefault(lang, {}).update(table)


_merge()

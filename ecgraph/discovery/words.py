"""Discovery's sentences in English, French and Dutch ("also involves 2 schools", "12 km away"), the
way :mod:`ecgraph.validation.messages` words its results: one table, one :func:`word` call, labels
of codes from the standard's vocabularies."""

from __future__ import annotations

from ecgraph.discovery.vocab import EC, LANGUAGES

_WORDS: dict[str, dict[str, str]] = {
    "members": {"en": "also involves {what}", "fr": "implique aussi {what}", "nl": "betrekt ook {what}"},
    "activity": {"en": "also runs {what}", "fr": "pratique aussi : {what}", "nl": "doet ook aan {what}"},
    "technology_size": {"en": "{what} of a similar size ({theirs} vs {ours})",
                        "fr": "{what} de taille semblable ({theirs} contre {ours})",
                        "nl": "{what} van vergelijkbare grootte ({theirs} tegenover {ours})"},
    "technology": {"en": "also has {what}", "fr": "a aussi : {what}", "nl": "heeft ook {what}"},
    "legal": {"en": "same legal form kind ({what})", "fr": "même type de forme juridique ({what})",
              "nl": "zelfde soort rechtsvorm ({what})"},
    "size": {"en": "same size band ({what})", "fr": "même taille ({what})", "nl": "zelfde grootteklasse ({what})"},
    "size_near": {"en": "a neighbouring size band ({what})", "fr": "une taille voisine ({what})",
                  "nl": "een naburige grootteklasse ({what})"},
    "distance": {"en": "{km} km away", "fr": "à {km} km", "nl": "op {km} km"},
    "network": {"en": "in the same network", "fr": "dans le même réseau", "nl": "in hetzelfde netwerk"},
    "topics": {"en": "learned about the same topics: {what}", "fr": "a tiré des leçons sur les mêmes thèmes : {what}",
               "nl": "leerde over dezelfde thema's: {what}"},
    "mobility": {"en": "also works on mobility", "fr": "travaille aussi sur la mobilité",
                 "nl": "werkt ook aan mobiliteit"},
    "and": {"en": " and ", "fr": " et ", "nl": " en "},
    "removed": {"en": "{what} was removed", "fr": "{what} a été retiré", "nl": "{what} is verwijderd"},
}

#: member types as counted: (one, several) in each language
_MEMBERS = {
    EC + "School": {"en": ("a school", "{n} schools"), "fr": ("une école", "{n} écoles"),
                    "nl": ("een school", "{n} scholen")},
    EC + "Municipality": {"en": ("a municipality", "{n} municipalities"), "fr": ("une commune", "{n} communes"),
                          "nl": ("een gemeente", "{n} gemeenten")},
    EC + "PublicBody": {"en": ("a public body", "{n} public bodies"),
                        "fr": ("un organisme public", "{n} organismes publics"),
                        "nl": ("een overheidsinstantie", "{n} overheidsinstanties")},
    EC + "Business": {"en": ("a business", "{n} businesses"), "fr": ("une entreprise", "{n} entreprises"),
                      "nl": ("een bedrijf", "{n} bedrijven")},
    EC + "NGO": {"en": ("an NGO", "{n} NGOs"), "fr": ("une association", "{n} associations"),
                 "nl": ("een vereniging", "{n} verenigingen")},
    EC + "ResearchInstitution": {"en": ("a research institution", "{n} research institutions"),
                                 "fr": ("un organisme de recherche", "{n} organismes de recherche"),
                                 "nl": ("een onderzoeksinstelling", "{n} onderzoeksinstellingen")},
    EC + "Household": {"en": ("a household", "{n} households"), "fr": ("un ménage", "{n} ménages"),
                       "nl": ("een huishouden", "{n} huishoudens")},
    EC + "Person": {"en": ("a person", "{n} people"), "fr": ("une personne", "{n} personnes"),
                    "nl": ("een persoon", "{n} personen")},
}


def language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else "en"


def word(key: str, lang: str, **values) -> str:
    table = _WORDS[key]
    return (table.get(lang) or table["en"]).format(**values)


def members(member_type: str, n: float, lang: str) -> str:
    forms = _MEMBERS.get(member_type, {}).get(lang) or _MEMBERS.get(member_type, {}).get("en")
    count = int(round(n))
    if forms is None:
        return f"{count} × {member_type.rsplit('#', 1)[-1]}"
    return forms[0] if count == 1 else forms[1].format(n=count)


def listing(parts: list[str], lang: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + word("and", lang) + parts[-1]


#: the size bands of :data:`ecgraph.discovery.features.SIZE_BANDS`, by number of members
_BANDS = {
    "micro": {"en": "under 10 members", "fr": "moins de 10 membres", "nl": "minder dan 10 leden"},
    "small": {"en": "10 to 49 members", "fr": "10 à 49 membres", "nl": "10 tot 49 leden"},
    "medium": {"en": "50 to 249 members", "fr": "50 à 249 membres", "nl": "50 tot 249 leden"},
    "large": {"en": "250 to 999 members", "fr": "250 à 999 membres", "nl": "250 tot 999 leden"},
    "very-large": {"en": "1,000 members or more", "fr": "1 000 membres ou plus", "nl": "1.000 leden of meer"},
}


def band(name: str | None, lang: str) -> str:
    forms = _BANDS.get(name or "")
    return (forms.get(lang) or forms["en"]) if forms else str(name)

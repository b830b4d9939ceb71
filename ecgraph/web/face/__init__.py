"""The web face for people who will never write SPARQL: the directory of communities, a page per
community, network and resource, the ontology as a page, in English, French or Dutch.

Every page has a machine twin chosen by content negotiation (:func:`ecgraph.formats.negotiate`):
the directory's JSON, a resource's RDF in every graph format, the ontology as Turtle, JSON-LD or
RDF/XML. The views read through :class:`ecgraph.node.Node` (``node.directory``) only.

* :mod:`.views`: the routes; :mod:`.i18n`: the message catalogue and the reader's language;
  :mod:`.charts`: indicator series as inline SVG; :mod:`.ontology`: the ontology as sections;
  :mod:`.discover`: discovery's panels on a community's page and its pages (lessons, tools, areas,
  comparisons, what's new).
"""

from ecgraph.web.face import discover  # noqa: F401 - its routes join the blueprint
from ecgraph.web.face.views import bp

__all__ = ["bp"]

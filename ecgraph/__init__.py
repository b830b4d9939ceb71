"""ecgraph: energy communities' digital twins as one queryable knowledge graph.

The package is organised by job (see STYLE.md): ``standard`` (the constants of the standard),
``ingest`` (bytes to triples), ``validate`` (SHACL reports), ``reason`` (inference), ``pipeline``
(the three together), ``store`` (the only code that opens the pyoxigraph store), ``catalog``
(DCAT/PROV metadata), ``registry`` (tokens, versions, reports), ``query`` and ``workers`` (killable
query execution), ``federate`` and ``fetch`` (what may be reached over the network), ``node`` (all
of it wired together), ``web`` (HTTP) and ``cli`` (the ``ecgraph`` command).
"""

"""ecgraph: energy communities' digital twins as one queryable knowledge graph.

The package is organised by job (see STYLE.md): ``standard`` (the constants of the standard),
``ingest`` (bytes to triples), ``validate`` (SHACL reports), ``reason`` (inference), ``pipeline``
(the three together), ``store`` (the only code that opens the pyoxigraph store), ``catalog``
(DCAT/PROV metadata), ``registry`` (tokens, versions, reports), ``query`` and ``workers`` (killable
query execution), ``federate`` and ``fetch`` (what may be reached over the network), ``node`` (all
of it wired together), ``web`` (HTTP) and ``cli`` (the ``ecgraph`` command).
"""

from importlib import metadata as _metadata

try:
    #: the one version of the package, from its metadata (pyproject.toml); the OpenAPI document,
    #: ``ecgraph --version`` and the service description all say this
    __version__ = _metadata.version("ecgraph")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

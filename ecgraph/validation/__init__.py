"""Conformance: ``shacl`` (our SHACL Core engine), ``rules`` (the checks SHACL Core cannot express),
``validate`` (profiles and releases, one report from either engine), ``messages`` (what a result
says, in three languages) and ``reports`` (every format a vendor's tooling reads)."""

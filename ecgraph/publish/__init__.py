"""Publishing: bytes in, a twin committed. ``ingest`` (formats, limits, parsing), ``fetch`` (URLs,
safely), ``reason`` (inference), ``authority`` (who speaks for which resource), ``pipeline`` (parse,
validate, infer, in a worker) and ``catalog`` (what the node records about each twin)."""

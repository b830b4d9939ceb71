"""The example questions (SPARQL files in ``docs/queries``) shown by the query editor, used in the
README and measured by the benchmarks: one set of queries, kept in one place.

Each file starts with ``# title: ...`` (and optionally more ``#`` lines describing it). The school
question comes first (the one the editor opens with: the question people ask most); the others by
file name.
"""

from __future__ import annotations

from functools import lru_cache

from ecgraph import standard

#: the example the query editor opens with
FIRST = "communities-with-school"


@lru_cache(maxsize=1)
def example_queries() -> list[dict]:
    try:
        directory = standard.docs_dir() / "queries"
    except FileNotFoundError:
        return []
    if not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.glob("*.rq"), key=lambda p: (p.stem != FIRST, p.name)):
        text = path.read_text(encoding="utf-8")
        title = path.stem.replace("-", " ")
        for line in text.splitlines():
            if line.lower().startswith("# title:"):
                title = line.split(":", 1)[1].strip()
                break
        out.append({"name": path.stem, "title": title, "query": text})
    return out

"""What the fault, load, hostile-input, access and conformance suites check with: the state of a node
seen over HTTP and on disk, its processes seen in /proc, latency percentiles, the figures the suites
report (printed at the end of the run and written to ``figures.json`` in pytest's temp dir), and the
mark of a conformance case the node is known to fail.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import statistics
from pathlib import Path

import pyoxigraph as ox
import requests

from ecgraph import standard

#: figures measured by the suites, by name (see conftest.pytest_terminal_summary)
FIGURES: dict[str, dict] = {}


def record(name: str, **values) -> None:
    FIGURES[name] = values
    print(f"\nFIGURE {name}: {json.dumps(values, sort_keys=True)}")


def readme() -> str:
    """The README's text (its conformance table is checked against the counts the suites measure)."""
    from pathlib import Path

    return (Path(__file__).resolve().parent.parent / "README.md").read_text()


def expected_failure(reason: str | None) -> list:
    """The marks of a conformance case the node fails today (none when ``reason`` is None): a
    strict xfail, so that the case fails as soon as it passes and its entry must be removed."""
    import pytest

    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def percentiles(seconds: list[float]) -> dict:
    """p50/p95/p99/max of latencies, in milliseconds."""
    if not seconds:
        return {"n": 0}
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"n": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 2), "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


# --- state ---------------------------------------------------------------------------------------

def store_digest(url: str) -> str:
    """A hash of every quad the node holds (its whole dataset, as N-Quads, sorted)."""
    r = requests.get(url + "/store", headers={"Accept": "application/n-quads"}, timeout=60)
    assert r.status_code == 200, r.text
    assert "X-ECGraph-Truncated" not in r.headers, "the dump was cut: raise --max-result-rows"
    return hashlib.sha256("\n".join(sorted(r.text.splitlines())).encode()).hexdigest()


def registry_digest(data_dir: Path) -> str:
    """A hash of the registry as stored (twins and token hashes, archived versions, reports)."""
    db = sqlite3.connect(f"file:{Path(data_dir) / 'registry.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        rows = []
        for table, order in (("twins", "id"), ("versions", "twin_id, version"), ("reports", "twin_id")):
            columns = "*" if table != "reports" else "twin_id, version, report"
            rows.append([list(map(_plain, row)) for row in
                         db.execute(f"SELECT {columns} FROM {table} ORDER BY {order}")])  # noqa: S608 (fixed names)
    finally:
        db.close()
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _plain(value):
    return hashlib.sha256(value).hexdigest() if isinstance(value, bytes) else value


def state_digest(url: str, data_dir: Path) -> tuple[str, str, str]:
    """Store, registry and the public twin listing: equal means nothing changed."""
    listing = requests.get(url + "/api/twins", timeout=30).json()
    return store_digest(url), registry_digest(data_dir), hashlib.sha256(
        json.dumps(listing, sort_keys=True).encode()).hexdigest()


def expected_triples(body: bytes, twin_id: str, fmt: ox.RdfFormat = ox.RdfFormat.TURTLE) -> frozenset:
    return frozenset(q.triple for q in ox.parse(body, format=fmt, base_iri=standard.twin_graph(twin_id)))


def ntriples(text: str) -> frozenset:
    return frozenset(q.triple for q in ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES))


def twin_data(url: str, twin_id: str, version: int | None = None) -> frozenset:
    path = f"/api/twins/{twin_id}/data" if version is None else f"/api/twins/{twin_id}/versions/{version}"
    r = requests.get(url + path, headers={"Accept": "application/n-triples"}, timeout=30)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return ntriples(r.text)


def graph_size(url: str, graph: str) -> int:
    r = requests.get(url + "/store", params={"graph": graph}, headers={"Accept": "application/n-triples"},
                     timeout=30)
    if r.status_code == 404:
        return 0
    assert r.status_code == 200, r.text
    return len(ntriples(r.text))


def sha256(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


# --- processes -----------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it is not running)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process, in clock ticks (1/100 s)."""
    fields = _stat(pid)
    return 0 if fields is None else int(fields[11]) + int(fields[12])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

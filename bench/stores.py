"""Loaded benchmark stores, cached between runs: a node's data directory after ``ecgraph load --bulk``
of a generated network, and the ``oxigraph serve`` anchor's store over the same quads.

Loading is most of a large run's time (N = 10,000: about 5 minutes for the node, as long again for
the anchor; N = 30,000 three times that), and every section that serves a network (queries, scale,
aggregates, trace, overhead, remote) loads one. So each loaded pair is kept under
``$ECGRAPH_BENCH_CACHE/stores-<N>-<triples per twin>-<seed>-<key>/`` where the key hashes

* the generator's source (another generator, another network),
* every file of the ``ecgraph`` package that a load runs or reads (the loader, the standard's
  ontology and shapes, the pipeline, the store, the registry, the indexes kept at publishing: the
  whole package except the HTTP layer ``ecgraph/web/``, which a load never runs), and
* the pyoxigraph and oxigraph versions (their on-disk format).

So a changed loader or standard never serves a stale store: it is another key, loaded again, and
the older entries of the same size and seed are removed then (a store at N = 30,000 is 10 GB).
An entry is built in ``<name>.partial`` under a lock and renamed when complete; ``meta.json`` keeps
what the load measured (its time, peak memory, the machine's load average while it ran, the stored
quads, the sizes on disk), since a cached run cannot time the load again.

A node saves its network figures at a clean close and reads them back at its next start
(``figures.json``; at N = 10,000 a build from the store takes minutes, and every section's node
would pay it before it serves). So an entry holds the figures of the current aggregates too: built
once from the store in a copy of the entry, the build's seconds kept in ``meta.json``
(``figures_seconds``, reported beside the scale rows), and built again when the aggregates'
definitions change (``ecgraph/query/figures.py`` is not in the key: its change keeps the stores).

A run never serves the cached directories themselves (a node writes at start, the trace and the
aggregates publish): :func:`working_copy` gives each run its own copy, RocksDB's immutable table
files hard-linked and everything else copied, so a copy of 10 GB costs seconds and little disk.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from .common import CACHE, ECGRAPH, ROOT, network, rss_of

PACKAGE = ROOT / "ecgraph"
#: parts of the package that never change what a load writes: a change there keeps the cached
#: stores (the web layer; the network figures, held in memory and built by a serving node at start;
#: the in-process answers to /sparql)
NOT_LOADER = ("web", "query/figures.py", "query/bounded.py")
#: RocksDB files that are written once and never changed in place (shared by hard links)
IMMUTABLE = (".sst", ".blob")


@dataclass
class Loaded:
    """A cached pair of loaded stores and what their load measured."""

    path: Path
    communities: int
    quads: int
    load_seconds: float
    load_peak_rss: int
    load_average: tuple[float, float]
    node_bytes: int
    anchor_bytes: int
    anchor_load_seconds: float
    measured: str
    key: str
    #: the seconds the node took to build its network figures from the store, and the definitions
    #: they were built for (``ecgraph.query.figures.definitions``)
    figures_seconds: float | None = None
    figures_definitions: str | None = None

    @property
    def node(self) -> Path:
        return self.path / "node"

    @property
    def anchor(self) -> Path:
        return self.path / "oxigraph"


def _package_versions() -> str:
    from importlib import metadata

    out = []
    for name in ("pyoxigraph", "oxigraph"):
        try:
            out.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}=none")
    return ";".join(out)


def _not_loader(relative: Path) -> bool:
    return any(relative.as_posix() == part or relative.parts[0] == part for part in NOT_LOADER)


def loader_files(package: Path = PACKAGE) -> list[Path]:
    """The files whose content decides what a load writes (sorted)."""
    out = []
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        if not path.is_file() or "__pycache__" in relative.parts or _not_loader(relative):
            continue
        out.append(path)
    return out


def key(package: Path = PACKAGE, generator: Path = ROOT / "bench" / "generate.py") -> str:
    """The cache key: the generator's source, the loader's and standard's files, the engine's version."""
    digest = hashlib.sha256()
    digest.update(b"generator\0" + generator.read_bytes())
    for path in loader_files(package):
        digest.update(b"\0" + path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(b"\0engine\0" + _package_versions().encode())
    return digest.hexdigest()[:12]


def _size(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())


def loaded(communities: int, seed: int = 7, triples_per_twin: int = 1000, *, cache: Path | None = None,
           log=print) -> Loaded:
    """The cached stores of this network, loaded now if no entry has this key."""
    cache = cache or CACHE
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"stores-{communities}-{triples_per_twin}-{seed}-"
    digest = key()
    name = stem + digest
    out = cache / name
    with open(cache / f"{stem}lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run building the same entry: wait for it
        if not (out / "meta.json").exists():
            for stale in cache.glob(stem + "*"):
                if stale.is_dir() and stale.name != name:
                    log(f"  removing a stale loaded store {stale.name} (another generator, loader or engine)")
                    shutil.rmtree(stale, ignore_errors=True)
            _load(communities, seed, triples_per_twin, out, digest, log)
        _figures(out, log)
    meta = json.loads((out / "meta.json").read_text())
    meta["load_average"] = tuple(meta["load_average"])
    return Loaded(path=out, **meta)


def _load(communities: int, seed: int, triples_per_twin: int, out: Path, digest: str, log) -> None:
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    net = network(communities, triples_per_twin=triples_per_twin, seed=seed)
    node = partial / "node"
    log(f"  loading N={communities} into a node (cached afterwards in {out})", flush=True)
    before = os.getloadavg()[0]
    output = partial / "load.log"  # a line per registered twin: a pipe nobody reads would fill and block
    with open(output, "w") as sink:
        started = time.perf_counter()
        process = subprocess.Popen([*ECGRAPH, "load", "--bulk", "--data", str(node),
                                    str(net / "twins")], cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
        peak = 0
        while process.poll() is None:
            peak = max(peak, rss_of(process.pid))
            time.sleep(0.5)
        seconds = time.perf_counter() - started
    after = os.getloadavg()[0]
    if process.returncode != 0:
        raise RuntimeError(f"ecgraph load --bulk failed: {output.read_text()[-2000:]}")
    dump = partial / "dump.nq"
    # Streamed from a read-only snapshot (``ecgraph export`` holds the whole dump in memory: 10 GB
    # at N = 30,000); the same quads, every graph.
    subprocess.run([sys.executable, "-c",
                    "import sys, pyoxigraph as ox\n"
                    "store = ox.Store.read_only(sys.argv[1])\n"
                    "with open(sys.argv[2], 'wb') as f:\n"
                    "    store.dump(f, format=ox.RdfFormat.N_QUADS)\n",
                    str(node / "oxigraph"), str(dump)], check=True)
    with open(dump, "rb") as f:
        quads = sum(1 for _ in f)
    log(f"  loading the same {quads:,} quads into oxigraph (the anchor)", flush=True)
    started = time.perf_counter()
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    anchor = partial / "oxigraph"
    subprocess.run([binary, "load", "--location", str(anchor), "--file", str(dump)], check=True,
                   capture_output=True)
    # ecgraph compacts after a bulk load; so does the anchor, so that both stores have the same
    # layout and the comparison is of the engines, not of their files.
    subprocess.run([binary, "optimize", "--location", str(anchor)], check=True, capture_output=True)
    anchor_seconds = time.perf_counter() - started
    dump.unlink()
    meta = {"communities": communities, "quads": quads, "load_seconds": seconds, "load_peak_rss": peak,
            "load_average": [before, after], "node_bytes": _size(node), "anchor_bytes": _size(anchor),
            "anchor_load_seconds": anchor_seconds, "measured": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "key": digest}
    (partial / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    partial.rename(out)


def _figures(out: Path, log) -> None:
    """Give the entry the network figures a node saves at close (``figures.json``), built from its
    store by a node in a copy of it, unless it has those of the current definitions."""
    from ecgraph.node import FIGURES_FILE
    from ecgraph.query.figures import definitions

    meta = json.loads((out / "meta.json").read_text())
    if meta.get("figures_definitions") == definitions() and (out / "node" / FIGURES_FILE).exists():
        return
    log(f"  building the network figures of {out.name} (kept with the stores)", flush=True)
    copy = out.with_name(out.name + ".figures")
    shutil.rmtree(copy, ignore_errors=True)
    working_copy(out / "node", copy)
    try:
        seconds = float(subprocess.run(
            [sys.executable, "-c",
             "import sys, time\n"
             "from ecgraph.config import Config\n"
             "from ecgraph.node import Node\n"
             "node = Node(Config.load(environ={}, data=sys.argv[1], no_demo=True), workers=False)\n"
             "started = time.perf_counter()\n"
             "node.figures.rebuild(background=False)\n"
             "seconds = time.perf_counter() - started\n"
             "assert node.figures.current(), 'the figures were not built'\n"
             "node.close()\n"
             "print(seconds)\n", str(copy)], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()[-1])
        shutil.copy2(copy / FIGURES_FILE, out / "node" / (FIGURES_FILE + ".partial"))
        os.replace(out / "node" / (FIGURES_FILE + ".partial"), out / "node" / FIGURES_FILE)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    meta.update(figures_seconds=seconds, figures_definitions=definitions())
    (out / "meta.json.partial").write_text(json.dumps(meta, indent=1) + "\n")
    os.replace(out / "meta.json.partial", out / "meta.json")


def working_copy(source: Path, target: Path) -> Path:
    """A copy of a store directory that a run may write: RocksDB's table files hard-linked (never
    changed in place; a compaction writes new ones and unlinks the old), every other file copied."""

    def copy(src: str, dst: str) -> None:
        if src.endswith(IMMUTABLE):
            try:
                os.link(src, dst)
                return
            except OSError:  # another file system
                pass
        shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=copy)
    return target


def describe(stores: Loaded) -> str:
    """How the load was measured, for a row's note."""
    one, two = stores.load_average
    return (f"load measured {stores.measured} (load average {one:.1f} -> {two:.1f}), "
            f"peak memory {stores.load_peak_rss / 2**20:,.0f} MiB")


def main(argv=None) -> None:
    """``python -m bench.stores N [N ...]``: load (or find) the cached stores of these sizes."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("communities", type=int, nargs="+")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    for n in args.communities:
        stores = loaded(n, seed=args.seed)
        print(json.dumps(asdict(stores) | {"path": str(stores.path)}, indent=1), flush=True)


if __name__ == "__main__":
    main()

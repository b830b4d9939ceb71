"""A node on a remote SPARQL store (``--store URL``) against the same node on its embedded store,
with each store answering directly as the anchor: ``oxigraph serve``, and Virtuoso Open Source
where it is installed (``ECGRAPH_VIRTUOSO_ROOT`` or ``virtuoso-t`` on the path, as for the slow
tests).

The network is bulk-loaded into an embedded node and exported; the same quads are loaded into
``oxigraph serve --union-default-graph`` (as in :mod:`bench.queries`) and into Virtuoso (through the
node's own remote store, in steps: Graph Store POSTs); a node is started with ``--store`` on each.
Each query of ``bench/queries/`` goes to all of them in alternation from the same keep-alive
client, each time with a new comment (so no node answers from its cache: this is what the node adds
over the store on a cold question). The row's ecgraph figure is the node on the store, its anchor the
store answering directly; the note gives the embedded node's figure. Publishing: uploads of one twin
to each node holding the network and to empty ones (p50), and ``ecgraph load --bulk`` of the whole
network into each backend.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

from .common import ECGRAPH, Node, OxigraphServer, Row, median, network, percentile, single_twin
from .queries import Servers, _ask, query_set


def _uploads(node: Node, bodies: list[bytes], repeats: int, twin_id: str = "bench") -> list[float]:
    token = node.register(twin_id)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/turtle"}
    times = []
    for i in range(repeats + 1):
        started = time.perf_counter()
        r = requests.put(f"{node.url}/api/twins/{twin_id}", data=bodies[i % 2], headers=headers, timeout=900)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"upload failed: {r.status_code} {r.text[:300]}")
        if i:
            times.append(time.perf_counter() - started)
    return times


def _bulk_seconds(twins: Path, data: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([*ECGRAPH, "load", "--bulk", "--data", str(data), *args, str(twins)],
                   check=True, capture_output=True)
    return time.perf_counter() - started


class _Virtuoso:
    """Virtuoso Open Source on free ports (the slow tests' launcher), or None where it is missing."""

    @staticmethod
    def start(where: Path):
        try:
            from tests.servers import Virtuoso

            # as the README asks of an operator: answers not cut at 10,000 rows, buffers for the data
            return Virtuoso(where, max_rows=10_000_000, buffers=340_000)
        except BaseException as exc:  # pytest.skip (not installed) is a BaseException
            print(f"  Virtuoso left out: {exc}", flush=True)
            return None


def _load_virtuoso(virtuoso, dump: Path) -> tuple[float, int]:
    """The exported quads written into Virtuoso as the node writes there (steps), timed."""
    from ecgraph.store.remote import RemoteStore

    store = RemoteStore(virtuoso.endpoints(timeout=600), writes="steps")
    data = dump.read_bytes()
    started = time.perf_counter()
    store.bulk_load(data)
    return time.perf_counter() - started, data.count(b"\n")


def _cold(text: str, i: int) -> str:
    return f"{text}\n# {i}"  # the same query, a new text: no node answers it from its cache


#: the network's size for this section (``python -m bench --only remote --communities 10000``);
#: 0: 100 communities in a quick run, 1,000 in a full one
COMMUNITIES = 0


def remote(quick: bool) -> list[Row]:
    communities = COMMUNITIES or (100 if quick else 1000)
    repeats = 10 if quick else (30 if communities <= 1000 else 5)
    servers = Servers(communities)
    rows = []
    nodes: list[Node] = []
    virtuoso = None
    # A node's first start over a store that holds N twins takes minutes at N=10,000 (the catalog,
    # the namespace claims; its discovery index is built behind the start), so the node on
    # oxigraph serve starts while Virtuoso is loaded.
    starting: dict = {}

    def start_remote() -> None:
        try:
            starting["node"] = Node(servers.tmp / "remote-node", "--store", servers.oxigraph.url,
                                    start_timeout=7200)
        except Exception as exc:  # noqa: BLE001 (raised in the main thread below)
            starting["error"] = exc

    opening = threading.Thread(target=start_remote)
    opening.start()
    try:
        virtuoso = _Virtuoso.start(servers.tmp / "virtuoso")
        if virtuoso is not None:
            # the same quads as the anchor's: dumped from the cached anchor store (no process holds it)
            import pyoxigraph as ox

            ox.Store.read_only(str(servers.stores.anchor)).dump(str(servers.tmp / "dump.nq"),
                                                                 format=ox.RdfFormat.N_QUADS)
            if communities > 1000:  # Virtuoso's own bulk loader: the node's steps were timed at 1,000
                started = time.perf_counter()
                virtuoso.bulk_load(servers.tmp / "dump.nq")
                load_s, quads = time.perf_counter() - started, servers.quads
            else:
                load_s, quads = _load_virtuoso(virtuoso, servers.tmp / "dump.nq")
            # Its --data carries the discovery index of the same twins (as an operator moving a node
            # onto a store brings its --data): the node on oxigraph serve, started above, measures a
            # first start that builds it behind the start; this one has nothing to index.
            (servers.tmp / "virtuoso-node").mkdir()
            shutil.copyfile(servers.stores.node / "discovery.sqlite3",
                            servers.tmp / "virtuoso-node" / "discovery.sqlite3")
            on_virtuoso = Node(servers.tmp / "virtuoso-node", *virtuoso.store_args(), "--publish-timeout", "600",
                               start_timeout=7200)
            nodes.append(on_virtuoso)
            rows.append(Row("remote", f"N={communities}: a node's start on Virtuoso holding the network, its "
                                      "discovery index carried over", on_virtuoso.start_seconds, None, "s", "",
                            note="reads the catalog over HTTP; its discovery index is up to date"))
            how = ("Virtuoso's bulk loader (ld_dir)" if communities > 1000 else
                   "by the node's remote store in steps: Graph Store POSTs of about 4 MB")
            rows.append(Row("remote", f"N={communities}: the network's quads loaded into Virtuoso",
                            quads / load_s, None, "quads/s", "", note=f"{quads:,} quads in {load_s:.0f} s, {how}"))
        opening.join()
        if "error" in starting:
            raise starting["error"]
        remote_node = starting["node"]
        nodes.append(remote_node)
        rows.append(Row("remote", f"N={communities}: a new node's first start on oxigraph serve holding the network",
                        remote_node.start_seconds, None, "s", "",
                        note="reads the catalog over HTTP; its discovery index is built behind the start"))
        urls = {"embedded": servers.ecgraph_url, "remote": remote_node.url + "/sparql",
                "direct": servers.oxigraph_url}
        if virtuoso is not None:
            urls |= {"virtuoso": on_virtuoso.url + "/sparql", "virtuoso-direct": virtuoso.url + "/sparql"}
        session = requests.Session()
        count = 0
        for title, text in query_set():
            times: dict[str, list[float]] = {k: [] for k in urls}
            errors: dict[str, list[str]] = {k: [] for k in urls}
            for rep in range(repeats + 1):  # the first round warms
                for key, url in urls.items():
                    if len(errors[key]) >= 2:  # refusing: no more 10 s waits for the same answer
                        continue
                    count += 1
                    try:
                        elapsed = _ask(session, url, _cold(text, count))
                    except RuntimeError as exc:
                        errors[key].append(("in the warming round: " if not rep else "") + str(exc)[:160])
                        continue
                    if rep:
                        times[key].append(elapsed)
            # a side is said to refuse with how often, and why the first time: a warming round's
            # error (a kept figure still being built) no longer hides the answers that followed
            failed = {k: f"{len(e)} error{'s' if len(e) > 1 else ''}, {len(times[k])} answers; first: {e[0]}"
                      for k, e in errors.items() if e}
            ms = {k: median(v) * 1000 for k, v in times.items() if v}
            p95 = {k: percentile(v, 95) * 1000 for k, v in times.items() if v}
            note = f"embedded node {ms.get('embedded', 0):.1f} ms; p95 {p95.get('remote', 0):.1f} ms"
            for key in ("remote", "direct", "embedded"):
                if key in failed:
                    note += f"; {key} refused: {failed[key]}"
            rows.append(Row("remote", f"N={communities}: {title}", ms.get("remote"), ms.get("direct"), "ms",
                            "oxigraph serve", note=note,
                            extra={"embedded_ms": ms.get("embedded")}))
            if virtuoso is not None:
                note = (f"refused: {failed['virtuoso']}" if "virtuoso" in failed else
                        f"p95 {p95.get('virtuoso', 0):.1f} vs {p95.get('virtuoso-direct', 0):.1f} ms")
                if "virtuoso-direct" in failed:
                    note += f"; Virtuoso directly refused: {failed['virtuoso-direct']}"
                rows.append(Row("remote", f"N={communities}: {title} (on Virtuoso)", ms.get("virtuoso"),
                                ms.get("virtuoso-direct"), "ms", "Virtuoso directly", note=note))
        # Publishing into the loaded network: a new twin replaced in each node that holds the N
        # communities (the uploads further down go into empty nodes).
        holding = {"embedded": servers.node, "remote": remote_node}
        if virtuoso is not None:
            holding["virtuoso"] = on_virtuoso
        for size in (1_000, 10_000):
            # the generator's single twin is community-00000, which the network has: its own namespace
            bodies = [single_twin(size, seed=seed).read_bytes().replace(
                b"https://community-00000.bench.example/", f"https://bench-{size}.bench.example/".encode())
                for seed in (11, 12)]
            took = {key: _uploads(node, bodies, 5 if communities > 1000 else 10, f"bench-{size}")
                    for key, node in holding.items()}
            rows.append(Row("remote", f"N={communities}: upload a {size:,}-triple twin into the loaded network, p50",
                            median(took["remote"]), median(took["embedded"]), "s", "the embedded node",
                            note=f"node on oxigraph serve; p95 {percentile(took['remote'], 95):.3f} vs "
                                 f"{percentile(took['embedded'], 95):.3f} s"))
            if "virtuoso" in took:
                rows.append(Row("remote", f"N={communities}: upload a {size:,}-triple twin into the loaded network, "
                                          "p50 (on Virtuoso)", median(took["virtuoso"]), median(took["embedded"]), "s",
                                "the embedded node",
                                note=f"node on Virtuoso, in steps; p95 {percentile(took['virtuoso'], 95):.3f} s"))
    finally:
        opening.join()
        if "node" in starting and starting["node"] not in nodes:
            nodes.append(starting["node"])
        for node in nodes:
            node.stop()
        if virtuoso is not None:
            virtuoso.stop()
        servers.close()

    if communities > 1000:  # uploads into empty nodes and bulk loads: the run at 1,000 has them
        return rows
    for size in ([1_000] if quick else [1_000, 10_000]):
        bodies = [single_twin(size, seed=11).read_bytes(), single_twin(size, seed=12).read_bytes()]
        tmp = Path(tempfile.mkdtemp(prefix="ecgraph-bench-remote-"))
        store = OxigraphServer(tmp / "store")
        virtuoso = _Virtuoso.start(tmp / "virtuoso")
        repeats = 5 if quick else 10
        try:
            embedded = Node(tmp / "embedded", "--publish-timeout", "600")
            try:
                ours_embedded = _uploads(embedded, bodies, repeats)
            finally:
                embedded.stop()
            node = Node(tmp / "remote", "--store", store.url, "--publish-timeout", "600")
            try:
                ours_remote = _uploads(node, bodies, repeats)
            finally:
                node.stop()
            if virtuoso is not None:
                node = Node(tmp / "virtuoso-node", *virtuoso.store_args(), "--publish-timeout", "600")
                try:
                    on_virtuoso = _uploads(node, bodies, repeats)
                finally:
                    node.stop()
        finally:
            store.stop()
            if virtuoso is not None:
                virtuoso.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        rows.append(Row("remote", f"upload a {size:,}-triple twin over HTTP, p50", median(ours_remote),
                        median(ours_embedded), "s", "the embedded node",
                        note=f"node on oxigraph serve; p95 {percentile(ours_remote, 95):.3f} vs "
                             f"{percentile(ours_embedded, 95):.3f} s"))
        if virtuoso is not None:
            rows.append(Row("remote", f"upload a {size:,}-triple twin over HTTP, p50 (on Virtuoso)",
                            median(on_virtuoso), median(ours_embedded), "s", "the embedded node",
                            note=f"node on Virtuoso, in steps; p95 {percentile(on_virtuoso, 95):.3f} s"))

    twins = network(communities) / "twins"
    tmp = Path(tempfile.mkdtemp(prefix="ecgraph-bench-remote-bulk-"))
    store = OxigraphServer(tmp / "store")
    virtuoso = _Virtuoso.start(tmp / "virtuoso")
    try:
        embedded_s = _bulk_seconds(twins, tmp / "embedded")
        remote_s = _bulk_seconds(twins, tmp / "remote", "--store", store.url)
        virtuoso_s = (_bulk_seconds(twins, tmp / "virtuoso-node", *virtuoso.store_args())
                      if virtuoso is not None else None)
    finally:
        store.stop()
        if virtuoso is not None:
            virtuoso.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    rows.append(Row("remote", f"N={communities}: ecgraph load --bulk", remote_s, embedded_s, "s",
                    "the embedded node", note="INSERT DATA batches of 4 MB over HTTP vs pyoxigraph's bulk loader"))
    if virtuoso_s is not None:
        rows.append(Row("remote", f"N={communities}: ecgraph load --bulk (on Virtuoso)", virtuoso_s, embedded_s, "s",
                        "the embedded node", note="Graph Store POSTs in steps vs pyoxigraph's bulk loader"))
    return rows

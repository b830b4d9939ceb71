"""What every benchmark shares: timing, percentiles, peak memory, server processes, the data.

Machines here are shared and noisy, so every figure is measured beside its anchor (the raw engine)
in the same run, and what the tables report is the ratio as much as the time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("ECGRAPH_BENCH_CACHE", Path(tempfile.gettempdir()) / "ecgraph-bench"))

#: ``ecgraph`` as the bench runs it, in a process of its own. ``-P`` keeps the working directory
#: off the module path: run from a checkout, ``python -m`` would otherwise import that checkout's
#: ecgraph before the one on ``PYTHONPATH``, and the version measured would not be the one named
ECGRAPH = [sys.executable, "-P", "-m", "ecgraph.cli"]
ADMIN = "ecg_admin_bench-token-000000000000000"


@dataclass
class Row:
    """One line of the results table."""

    section: str
    case: str
    ecgraph: float | None
    anchor: float | None
    unit: str
    anchor_name: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ecgraph is None or not self.anchor:
            return None
        return self.ecgraph / self.anchor


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lower = int(k)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (k - lower)


def same_answer(text: str, mine: list[dict], theirs: list[dict]) -> bool:
    """Two SELECT answers (lists of bindings) are the same: equal as bags of rows; or, for a query
    that orders and cuts (``ORDER BY ... LIMIT n`` at its end), the rows tied with the last one on
    the ORDER BY variables may be any of those tied (the order among ties is the engine's): they
    are compared by those values only, every other row as it is."""
    def row(b: dict) -> str:
        return json.dumps(b, sort_keys=True)

    if Counter(map(row, mine)) == Counter(map(row, theirs)):
        return True
    found = re.search(r"ORDER\s+BY\s+(.*?)\s+LIMIT\s+\d+\s*$", text.strip(), re.S | re.I)
    if found is None or len(mine) != len(theirs) or not mine:
        return False
    order = re.findall(r"[?$](\w+)", found.group(1))

    def at(b: dict) -> str:
        return json.dumps([b.get(v) for v in order], sort_keys=True)

    last = at(theirs[-1])
    return (at(mine[-1]) == last and sorted(map(at, mine)) == sorted(map(at, theirs))
            and Counter(row(b) for b in mine if at(b) != last) == Counter(row(b) for b in theirs if at(b) != last))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextmanager
def stopwatch():
    box = {}
    started = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - started


def peak_rss_of(command: list[str], **kwargs) -> tuple[float, int, subprocess.CompletedProcess]:
    """Run a command; return (seconds, peak resident memory of its process tree in bytes, result)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    peak = 0
    while process.poll() is None:
        peak = max(peak, rss_of(process.pid))
        time.sleep(0.05)
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    return seconds, peak, subprocess.CompletedProcess(command, process.returncode, out, err)


def processes_of(pid: int) -> list[tuple[int, str, int]]:
    """A process and its children: (pid, role, resident bytes), the role read from its command line
    (a node's web process, its spawned workers, multiprocessing's resource tracker)."""
    pids = [pid]
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry))
    except OSError:
        pass
    out = []
    for p in pids:
        try:
            command = Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
            rss = next(int(line.split()[1]) * 1024 for line in Path(f"/proc/{p}/status").read_text().splitlines()
                       if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue  # gone meanwhile, or a zombie
        role = ("main" if p == pid else "resource tracker" if "resource_tracker" in command
                else "worker" if "multiprocessing" in command else "child")
        out.append((p, role, rss))
    return out


def rss_of(pid: int) -> int:
    """The resident memory of a process and its children, in bytes."""
    return sum(rss for _, _, rss in processes_of(pid))


def cpu_of(pid: int) -> float:
    """The CPU seconds (user and system) a process and its live children have used so far."""
    ticks = 0
    for p, _, _ in processes_of(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return ticks / os.sysconf("SC_CLK_TCK")


def memory_parts(pid: int) -> str:
    """Where a process tree's resident memory is: "main 439, 2 workers 158 + 114, resource tracker 12 MiB"."""
    parts: dict[str, list[int]] = {}
    for _, role, rss in processes_of(pid):
        parts.setdefault(role, []).append(round(rss / 2**20))
    said = []
    for role, sizes in parts.items():
        many = f"{len(sizes)} {role}s " if len(sizes) > 1 else f"{role} "
        said.append(many + " + ".join(f"{s:,}" for s in sizes))
    return ", ".join(said) + " MiB"


class Node:
    """An ``ecgraph serve`` process over its own data directory."""

    def __init__(self, data: Path, *args: str, start_timeout: float = 600):
        self.data = data
        command = [*ECGRAPH, "serve", "--data", str(data), "--port", "0",
                   "--admin-token", ADMIN, "--no-demo", *args]
        started = time.time()
        # Its output (the access log: a line per request) goes to a file, as the anchor's goes to
        # /dev/null: read through a pipe by a thread of the measuring process, every answer woke a
        # thread here that competed with the timed request for the GIL.
        self.log = data.parent / f"{data.name}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self.url = ""
        with open(self.log, encoding="utf-8", errors="replace") as said:
            while not self.url:
                line = said.readline()
                match = re.search(r"listening on (http://\S+)", line)
                if match:
                    self.url = match.group(1)
                elif line:
                    continue
                elif self.process.poll() is not None:
                    raise RuntimeError(f"ecgraph serve exited: {self.log.read_text(errors='replace')[-2000:]}")
                elif time.time() > started + start_timeout:
                    self.process.kill()
                    raise RuntimeError(f"ecgraph serve did not start within {start_timeout:.0f} s: {command}")
                else:
                    time.sleep(0.05)
        #: seconds from the command to the node listening (a node over a remote store reads it first)
        self.start_seconds = time.time() - started
        while requests.get(self.url + "/health", timeout=5).status_code != 200:
            time.sleep(0.1)

    @property
    def admin(self) -> dict:
        return {"Authorization": f"Bearer {ADMIN}"}

    def register(self, twin_id: str) -> str:
        r = requests.post(self.url + "/api/twins", json={"id": twin_id}, headers=self.admin)
        r.raise_for_status()
        return r.json()["token"]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


class OxigraphServer:
    """``oxigraph serve`` (the PyPI package ``oxigraph``) over a store holding the same quads."""

    def __init__(self, location: Path, nquads: Path | None = None):
        binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
        if nquads is not None:
            subprocess.run([binary, "load", "--location", str(location), "--file", str(nquads)],
                           check=True, capture_output=True)
            # ecgraph compacts after a bulk load; so does the anchor, so that both stores have the
            # same layout and the comparison is of the engines, not of their files.
            subprocess.run([binary, "optimize", "--location", str(location)], check=True, capture_output=True)
        port = _free_port()
        self.process = subprocess.Popen([binary, "serve", "--location", str(location), "--bind",
                                         f"127.0.0.1:{port}", "--union-default-graph"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                requests.get(self.url + "/query", params={"query": "ASK {}"}, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("oxigraph serve did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def wait_until_ready(url: str, seconds: float = 1800) -> float:
    """The kept aggregates and the directory's index are built in the background at start; until
    then the aggregates' raw queries answer (slowly) and the building shares the cores: a run
    measures the node as it serves, after that (every section that times a node waits for it).
    Returns the seconds it waited."""
    started = time.time()
    deadline = started + seconds
    while time.time() < deadline:
        r = requests.get(url + "/api/aggregates", timeout=30)
        if r.status_code == 404 or r.json().get("ready"):
            break
        time.sleep(1)
    while time.time() < deadline and requests.get(url + "/communities", headers={"Accept": "application/json"},
                                                  timeout=120).status_code == 503:
        time.sleep(1)
    return time.time() - started


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def network(communities: int, triples_per_twin: int = 1000, seed: int = 7, violations: float = 0.0,
            nquads: bool = False) -> Path:
    """A generated network, cached between runs (the generator is deterministic), keyed by the
    generator's own source so that a changed generator never serves a stale network."""
    import hashlib

    from bench import generate as generator

    generate = generator.generate
    version = hashlib.sha256(Path(generator.__file__).read_bytes()).hexdigest()[:10]
    name = f"net-{communities}-{triples_per_twin}-{seed}-{violations}-{version}"
    out = CACHE / name
    done = out / ".complete"
    if not done.exists() or (nquads and not (out / "network.nq").exists()):
        shutil.rmtree(out, ignore_errors=True)
        generate(out, communities, seed=seed, triples_per_twin=triples_per_twin, violations=violations,
                 nquads=nquads)
        done.write_text("ok")
    return out


def single_twin(triples: int, seed: int = 11) -> Path:
    """One community twin of about ``triples`` triples."""
    out = network(1, triples_per_twin=triples, seed=seed)
    return next(p for p in sorted((out / "twins").iterdir()) if p.name.startswith("community-"))

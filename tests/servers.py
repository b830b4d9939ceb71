"""Real processes for end-to-end tests: an ``ecgraph serve`` node and a loopback canary.

The node runs as its own process on a free port over a real on-disk store, exactly as a user
starts it; tests talk to it over HTTP with real clients. The canary is a tiny HTTP server that
records every request it gets, to prove that nothing reached it.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

ADMIN_TOKEN = "ecg_admin_test-token-0123456789abcdef"


class NodeProcess:
    def __init__(self, data: Path, *args: str, env: dict | None = None, admin_token: str = ADMIN_TOKEN,
                 token_file: Path | None = None):
        """``token_file``: the node reads its admin token from this file (which holds ``admin_token``)
        instead of the command line."""
        self.data = Path(data)
        self.args = list(args)
        self.admin_token = admin_token
        self.token_file = token_file
        self.env = dict(os.environ, **(env or {}))
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.process: subprocess.Popen | None = None
        self.url = ""
        #: what the node's graph is kept in, for tests that run on several (tests/test_e2e.py)
        self.backend = "embedded"
        self.output: list[str] = []

    def start(self, timeout: float = 120) -> NodeProcess:
        return self.launch().wait_started(timeout)

    def launch(self) -> NodeProcess:
        """Start the process without waiting for it to listen (see :func:`start_all`)."""
        token = ["--admin-token-file", str(self.token_file)] if self.token_file else ["--admin-token", self.admin_token]
        command = [sys.executable, "-m", "ecgraph.cli", "serve", "--data", str(self.data), "--port", "0",
                   *token, *self.args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env=self.env)
        return self

    def wait_started(self, timeout: float = 120) -> NodeProcess:
        """Wait until the launched process listens and answers /health."""
        deadline = time.time() + timeout
        pattern = re.compile(r"listening on (http://\S+)")
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                if self.process.poll() is not None:
                    raise RuntimeError("ecgraph serve exited:\n" + "".join(self.output))
                continue
            self.output.append(line)
            match = pattern.search(line)
            if match:
                self.url = match.group(1)
                threading.Thread(target=self._drain, daemon=True).start()
                self._wait_healthy(deadline)
                return self
        self.kill()
        raise RuntimeError("ecgraph serve did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def _wait_healthy(self, deadline: float) -> None:
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("ecgraph serve never became healthy:\n" + "".join(self.output))

    @property
    def admin(self) -> dict:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)

    def log(self) -> str:
        return "".join(self.output)

    def child_pids(self) -> list[int]:
        """The node's worker processes."""
        from tests.checks import children

        return children(self.process.pid)


def start_all(*nodes: NodeProcess, timeout: float = 120) -> None:
    """Start several nodes side by side (each one's start-up is mostly its own processes importing
    and loading): launched together, then waited for. A node that fails to start stops the others."""
    try:
        for node in nodes:
            node.launch()
        for node in nodes:
            node.wait_started(timeout)
    except Exception:
        for node in nodes:
            node.kill()
        raise


class LoopbackServer:
    """An HTTP server on loopback, in a thread, that records every request ("METHOD /path") and
    answers with :meth:`answer`. Subclasses say what to answer."""

    def __init__(self):
        self.hits: list[str] = []
        #: the headers of the request being answered (per thread), for :meth:`answer`
        self.headers = threading.local()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.hits.append(f"{self.command} {self.path}")
                outer.headers.value = dict(self.headers)
                status, headers, payload = outer.answer(self.command, self.path, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict, bytes]:
        return 404, {}, b""

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Forwarder(LoopbackServer):
    """A faulty network path to a real store: forwards every request to ``target`` and returns
    its answer, except the requests ``fault(method, path, body)`` picks: "fail" answers 500 without
    forwarding, "hang" holds the request until :attr:`release` is set (the client's deadline runs
    out first) and then drops it, "slow" forwards it 0.1 s late. ``faults`` counts them."""

    def __init__(self, target: str, fault):
        self.target, self.fault = target, fault
        self.release = threading.Event()
        self.faulted = threading.Event()
        self.faults = 0
        super().__init__()

    def answer(self, method, path, body):
        kind = self.fault(method, path, body)
        if kind:
            self.faults += 1
            self.faulted.set()
            if kind == "hang":
                self.release.wait(60)
            if kind != "slow":
                return 500, {"Content-Type": "text/plain"}, b"injected fault"
            time.sleep(0.1)
        keep = {k: v for k, v in self.headers.value.items() if k.lower() in ("content-type", "accept", "authorization")}
        r = requests.request(method, self.target + path, data=body, headers=keep, timeout=60)
        return r.status_code, {"Content-Type": r.headers.get("Content-Type", "text/plain")}, r.content


class Canary(LoopbackServer):
    """Answers like an empty SPARQL endpoint; its ``hits`` prove whether anything reached it."""

    def answer(self, method, path, body):
        empty = b'{"head":{"vars":[]},"results":{"bindings":[]}}'
        return 200, {"Content-Type": "application/sparql-results+json"}, empty


class Redirector(LoopbackServer):
    """Answers every request with a redirect to ``target`` + the request's path."""

    def __init__(self, target: str, status: int = 302):
        self.target = target
        self.status = status
        super().__init__()

    def answer(self, method, path, body):
        return self.status, {"Location": self.target + path}, b""


class Document(LoopbackServer):
    """Serves one document at every path (the source of a URL pull)."""

    def __init__(self, body: bytes, media_type: str = "text/turtle"):
        self.body = body
        self.media_type = media_type
        super().__init__()

    def answer(self, method, path, body):
        return 200, {"Content-Type": self.media_type}, self.body


class FileServer:
    """Serves a directory on loopback (a twin published at a URL)."""

    def __init__(self, directory: Path):
        handler = lambda *a, **k: _QuietHandler(*a, directory=str(directory), **k)  # noqa: E731
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".ttl": "text/turtle", ".jsonld": "application/ld+json"}

    def log_message(self, *args):
        pass


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


class Dripper:
    """A loopback HTTP server that answers slowly, one byte every ``interval`` seconds: ``mode``
    "headers" drips the status line and headers, "body" sends the headers at once and drips the
    body, "redirect" drips a redirect to itself (a chain of slow hops). It stops dripping after
    ``for_seconds`` and closes; ``served`` counts the connections it answered."""

    def __init__(self, mode: str = "body", interval: float = 0.5, for_seconds: float = 120):
        assert mode in ("headers", "body", "redirect"), mode
        self.mode = mode
        self.interval = interval
        self.for_seconds = for_seconds
        self.served = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.served += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        body = b"# dripped\n" * 100
        if self.mode == "redirect":
            head = f"HTTP/1.1 302 Found\r\nLocation: {self.url}/next\r\nContent-Length: 0\r\n\r\n".encode()
            slow, fast = head, b""
        else:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: text/turtle\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            slow, fast = (head + body, b"") if self.mode == "headers" else (body, head)
        end = time.monotonic() + self.for_seconds
        try:
            conn.recv(65536)
            conn.sendall(fast)
            for i in range(len(slow)):
                if time.monotonic() > end or self._closed.is_set():
                    break
                conn.sendall(slow[i:i + 1])
                time.sleep(self.interval)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()


class OxigraphProcess:
    """``oxigraph serve`` (PyPI package ``oxigraph``, a test extra) over an empty on-disk store: the
    reference server the W3C protocol suites run against beside the node, in its default setting
    (its default graph is a graph of its own). Its endpoints are ``/query``, ``/update`` and
    ``/store``. ``args`` go to ``oxigraph serve`` (``--union-default-graph`` for a node's store,
    ``--timeout-s``)."""

    def __init__(self, location: Path, *args: str):
        binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        command = [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}", *args]
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = Path(str(location) + ".log")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("oxigraph serve exited: " + self.log())
            try:
                requests.get(self.url + "/query", params={"query": "ASK {}"}, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("oxigraph serve did not start: " + self.log())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


def node_over_oxigraph(where: Path, *args: str,
                       store_args: tuple[str, ...] = ()) -> tuple[NodeProcess, OxigraphProcess]:
    """A node whose graph lives in a real ``oxigraph serve`` (``--store URL``), both started here."""
    store = OxigraphProcess(where / "store", "--union-default-graph", *store_args)
    try:
        node = NodeProcess(where / "data", "--store", store.url, *args).start()
    except Exception:
        store.stop()
        raise
    return node, store


# --- Virtuoso Open Source (slow suite) -------------------------------------------------------------

def _installation() -> tuple[Path, Path, Path, dict] | None:
    root = os.environ.get("ECGRAPH_VIRTUOSO_ROOT")
    if root:
        base = Path(root)
        binary, isql = base / "usr/bin/virtuoso-t", base / "usr/bin/isql-vt"
        ini = base / "usr/share/virtuoso-opensource-7/virtuoso.ini"
        libs = ":".join(str(p) for p in (base / "lib/x86_64-linux-gnu", base / "usr/lib/x86_64-linux-gnu"))
        env = dict(os.environ, LD_LIBRARY_PATH=libs)
    else:
        found = shutil.which("virtuoso-t")
        if not found:
            return None
        binary, isql = Path(found), Path(shutil.which("isql-vt") or "isql-vt")
        ini = next((p for p in (Path("/etc/virtuoso-opensource-7/virtuoso.ini"),
                                Path("/usr/share/virtuoso-opensource-7/virtuoso.ini")) if p.exists()), Path())
        env = dict(os.environ)
    return binary, isql, ini, env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Virtuoso:
    """Virtuoso Open Source from a copy of its ``virtuoso.ini``: ``max_rows`` sets
    ``ResultSetMaxRows`` (10,000 by default: longer answers are cut without an error) and
    ``buffers`` its page buffers (8 kB each; the default is a few thousand), as an operator
    sets them for a large dataset."""

    def __init__(self, directory: Path, *, max_rows: int | None = None, buffers: int | None = None):
        found = _installation()
        if found is None:
            pytest.skip("Virtuoso is not installed: run .ci/run -m slow (it unpacks Debian's package) or set "
                        "ECGRAPH_VIRTUOSO_ROOT to a directory where virtuoso-opensource-7-bin is unpacked")
        binary, isql, ini, env = found
        self.sql_port, http = free_port(), free_port()
        text = ini.read_text()
        text = text.replace("/var/lib/virtuoso-opensource-7/db", str(directory))
        text = re.sub(r"(?m)^ServerPort(\s*)=\s*1111", rf"ServerPort\g<1>= {self.sql_port}", text)
        text = re.sub(r"(?m)^ServerPort(\s*)=\s*8890", rf"ServerPort\g<1>= {http}", text)
        text = re.sub(r"(?m)^DirsAllowed.*$", f"DirsAllowed = ., {directory}", text)
        text = re.sub(r"(?m)^VADInstallDir.*$", f"VADInstallDir = {directory}/vad/", text)
        text = re.sub(r"(?m)^Load\d.*$", "", text)  # no hosting plugins
        if max_rows is not None:
            text = re.sub(r"(?m)^ResultSetMaxRows(\s*)=\s*\d+", rf"ResultSetMaxRows\g<1>= {max_rows}", text)
        if buffers is not None:
            text = re.sub(r"(?m)^NumberOfBuffers(\s*)=\s*\d+", rf"NumberOfBuffers\g<1>= {buffers}", text)
            text = re.sub(r"(?m)^MaxDirtyBuffers(\s*)=\s*\d+", rf"MaxDirtyBuffers\g<1>= {buffers * 3 // 4}", text)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "virtuoso.ini").write_text(text)
        self.url = f"http://127.0.0.1:{http}"
        self.directory = directory
        self.env, self.isql = env, isql
        self.log = (directory / "run.log").open("wb")
        self.process = subprocess.Popen([str(binary), "+foreground", "+configfile", str(directory / "virtuoso.ini")],
                                        cwd=directory, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("virtuoso-t exited: " + (directory / "run.log").read_text(errors="replace"))
            try:
                requests.get(self.url + "/sparql", params={"query": "ASK {}"}, timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.5)
        subprocess.run([str(isql), str(self.sql_port), "dba", "dba", 'exec=grant SPARQL_UPDATE to "SPARQL";'],
                       env=env, check=True, capture_output=True, timeout=60)

    def sql(self, statement: str, timeout: float = 3600) -> str:
        """One statement through ``isql-vt`` as dba (what only the SQL side offers, such as the bulk loader)."""
        done = subprocess.run([str(self.isql), str(self.sql_port), "dba", "dba", f"exec={statement}"], env=self.env,
                              check=True, capture_output=True, text=True, timeout=timeout)
        return done.stdout

    def bulk_load(self, nquads: Path) -> None:
        """Quads loaded by Virtuoso's own bulk loader (``ld_dir`` and ``rdf_loader_run``), as an
        operator loads a large dataset into it: the file is copied into the database directory."""
        target = self.directory / "load"
        target.mkdir(exist_ok=True)
        shutil.copy(nquads, target / "data.nq")
        self.sql(f"ld_dir('{target}', 'data.nq', 'urn:ecgraph:unused'); rdf_loader_run(); checkpoint;")

    def store_args(self) -> tuple[str, ...]:
        """A node's options for this Virtuoso (its endpoints' names, as the README gives them)."""
        return ("--store", self.url, "--store-query", "sparql", "--store-update", "sparql",
                "--store-graph-store", "sparql-graph-crud")

    def endpoints(self, **timeouts):
        from ecgraph.store.remote import Endpoints

        return Endpoints(query=self.url + "/sparql", update=self.url + "/sparql",
                         graph_store=self.url + "/sparql-graph-crud", **timeouts)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        self.log.close()

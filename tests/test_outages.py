"""Cheap outages (issue 10, finding 4): what one client with little bandwidth could do to a node.

On real ``ecgraph serve`` processes, with raw sockets where a polite HTTP client would hide what
happens:

* **slow clients**: 200 connections that each send one header line every 2 s, and reconnect when
  they are cut, do not keep ``/health`` or a query from answering; each is cut with a 408 at the
  header deadline; a body slower than the minimum rate is cut too, and so is a connection that
  sends nothing or does not read its answer;
* **big bodies**: a body declared larger than the upload limit is refused before it is read
  (counted from the client's side: bytes the node accepted before its answer), a chunked one is
  stopped at the limit, and the answer names the limit and the setting; a paste on the
  ``/validate`` page counts against the upload limit, not a hidden 500 KB one;
* **slow servers**: a URL fetch from a server that drips its headers, its body or a chain of
  redirects ends within a second of its deadline (name resolution included).

The long versions (``-m slow``) hold 200 slow connections for 30 s against the default settings,
send a 300 MB body against the default 50 MB limit and drip four fetches against the default 20 s
deadline; their figures are printed at the end of the run (see checks.py).
"""

from __future__ import annotations

import json
import os
import random
import selectors
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from ecgraph.publish.fetch import FetchPolicy, FetchRefused, fetch
from ecgraph.query.federate import PeerPolicy
from tests.checks import cpu_ticks, percentiles, record
from tests.helpers import make_twin
from tests.servers import Dripper, NodeProcess

MiB = 1024 * 1024
ASK = "ASK { ?s ?p ?o }"


def host_port(url: str) -> tuple[str, int]:
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    return host, int(port)


def read_answer(sock: socket.socket, timeout: float) -> bytes:
    """Everything the node sends until it closes the connection or ``timeout`` passes."""
    sock.settimeout(timeout)
    out = b""
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            data = sock.recv(65536)
            if not data:
                break
            out += data
    except (TimeoutError, OSError):
        pass
    return out


def answer_json(answer: bytes) -> dict:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


# --- slow clients ------------------------------------------------------------------------------

class SlowClients(threading.Thread):
    """``count`` connections that each send a request line and then one header line every
    ``interval`` seconds, never finishing; a connection the node cuts is opened again at once (the
    attacker stays). Records how long each cut connection lasted and how it ended."""

    def __init__(self, url: str, count: int, interval: float = 2.0):
        super().__init__(daemon=True)
        self.address = host_port(url)
        self.count = count
        self.interval = interval
        self.stop = threading.Event()
        self.cuts: list[tuple[float, bytes]] = []  # (seconds it lasted, the node's first bytes)
        self.opened = 0
        self.most_open = 0

    def _open(self, selector, conns) -> None:
        sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: slow.example\r\n")
        sock.setblocking(False)
        now = time.monotonic()
        conns[sock] = [now, now + random.uniform(0, self.interval), 0]
        selector.register(sock, selectors.EVENT_READ)
        self.opened += 1

    def _cut(self, selector, conns, sock, data: bytes) -> None:
        self.cuts.append((time.monotonic() - conns.pop(sock)[0], data))
        selector.unregister(sock)
        sock.close()

    @staticmethod
    def _last_words(sock: socket.socket) -> bytes:
        try:
            return sock.recv(4096)
        except OSError:
            return b""

    def run(self) -> None:
        selector = selectors.DefaultSelector()
        conns: dict[socket.socket, list] = {}
        while not self.stop.is_set():
            while len(conns) < self.count and not self.stop.is_set():
                self._open(selector, conns)
            self.most_open = max(self.most_open, len(conns))
            now = time.monotonic()
            for sock, state in list(conns.items()):
                if now >= state[1]:
                    try:
                        sock.send(b"X-Drip-%d: %d\r\n" % (state[2], state[2]))
                    except OSError as exc:  # cut: the answer may still be there to read
                        self._cut(selector, conns, sock, self._last_words(sock) or repr(exc).encode())
                        continue
                    state[1] = now + self.interval
                    state[2] += 1
            for key, _ in selector.select(timeout=0.05):
                try:
                    data = key.fileobj.recv(4096)
                except OSError as exc:
                    data = repr(exc).encode()
                self._cut(selector, conns, key.fileobj, data or b"(closed)")
        for sock in conns:
            sock.close()


def latencies_under_slow_clients(node: NodeProcess, count: int, seconds: float) -> dict:
    """Hold ``count`` slow connections for ``seconds``; meanwhile ask /health every 0.1 s and a
    query every 0.5 s, each on a new connection (as a monitor or a new visitor would)."""
    clients = SlowClients(node.url, count)
    clients.start()
    time.sleep(2.5)  # every slow connection is open and has sent a line or two
    health, query, failures = [], [], []
    end = time.monotonic() + seconds
    next_query = 0.0
    while time.monotonic() < end:
        for path, params, into in (("/health", None, health), ("/sparql", {"query": ASK}, query)):
            if into is query and time.monotonic() < next_query:
                continue
            started = time.monotonic()
            try:
                r = requests.get(node.url + path, params=params, timeout=10)
                if r.status_code != 200:
                    failures.append(f"{path}: {r.status_code}")
            except requests.RequestException as exc:
                failures.append(f"{path}: {type(exc).__name__}")
            into.append(time.monotonic() - started)
            if into is query:
                next_query = time.monotonic() + 0.5
        time.sleep(0.1)
    clients.stop.set()
    clients.join(10)
    return {"clients": clients, "health": health, "query": query, "failures": failures}


def check_cuts(clients: SlowClients, header_timeout: float) -> list[float]:
    assert clients.most_open >= clients.count, clients.most_open
    assert clients.cuts, "no slow connection was ever cut"
    lasted = []
    for seconds, data in clients.cuts:
        assert data.startswith(b"HTTP/1.1 408 "), data[:200]
        lasted.append(seconds)
    # never before the deadline; generously after it (the sweep runs every 0.5 s on a shared CPU)
    assert min(lasted) >= header_timeout - 0.05, min(lasted)
    assert max(lasted) < header_timeout + 5, max(lasted)
    return lasted


def test_slow_clients_do_not_keep_health_or_queries_from_answering(tmp_path):
    node = NodeProcess(tmp_path / "data", "--no-demo", "--header-timeout", "3").start()
    try:
        seen = latencies_under_slow_clients(node, 200, 8)
    finally:
        node.stop()
    assert not seen["failures"], seen["failures"][:10]
    lasted = check_cuts(seen["clients"], 3)
    record("slow_clients_ci", connections=200, header_timeout_s=3, seconds=8,
           health=percentiles(seen["health"]), query=percentiles(seen["query"]),
           cut=len(lasted), cut_after_s_max=round(max(lasted), 2))


@pytest.mark.slow
def test_slow_clients_do_not_keep_health_or_queries_from_answering_long(tmp_path):
    """The issue's target: 200 slow connections for 30 s, default settings, /health p99 < 1 s."""
    node = NodeProcess(tmp_path / "data", "--no-demo").start()
    try:
        seen = latencies_under_slow_clients(node, 200, 30)
    finally:
        node.stop()
    health, query = percentiles(seen["health"]), percentiles(seen["query"])
    lasted = check_cuts(seen["clients"], 10)
    record("slow_clients", connections=200, header_timeout_s=10, seconds=30, health=health, query=query,
           failures=len(seen["failures"]), opened=seen["clients"].opened, cut=len(lasted),
           cut_after_s_max=round(max(lasted), 2))
    assert not seen["failures"], seen["failures"][:10]
    assert health["p99_ms"] < 1000, health
    assert query["p99_ms"] < 1000, query


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """A node with short deadlines and a 1 MiB upload limit."""
    node = NodeProcess(tmp_path_factory.mktemp("strict") / "data", "--no-demo", "--header-timeout", "2",
                       "--min-body-rate", "1000", "--max-upload-bytes", str(MiB),
                       "--max-result-rows", "1000000", "--query-timeout", "60").start()
    yield node
    node.stop()


def test_the_sweep_that_keeps_the_deadlines_costs_no_cpu(strict):
    """Regression: the sweep every half second, given to waitress as a number, became a loop
    that never waited (it rounds to whole seconds): 70% of a CPU for an idle node, 140 ticks in
    2 s. An idle node's sweeps and housekeeping took 0 to 5 ticks here on most machines and 7 to
    10 on a slow evening (when the code of the session before failed at 5 too): 20 still
    tells the loop apart seven times over."""
    ticks = cpu_ticks(strict.process.pid)
    time.sleep(2)
    assert cpu_ticks(strict.process.pid) - ticks <= 20


def test_a_request_whose_headers_drip_is_cut_with_408_naming_the_setting(strict):
    sock = socket.create_connection(host_port(strict.url))
    sock_port = sock.getsockname()[1]
    started = time.monotonic()
    sock.sendall(b"GET /health HTTP/1.1\r\n")
    answer = b""
    for i in range(20):  # one header line every 0.5 s: never idle, never done
        time.sleep(0.5)
        try:
            sock.sendall(b"X-Drip-%d: 1\r\n" % i)
        except OSError:
            break
        sock.setblocking(False)
        try:
            answer = sock.recv(65536)
            break
        except BlockingIOError:
            pass
        finally:
            sock.setblocking(True)
    lasted = time.monotonic() - started
    answer += read_answer(sock, 2)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert 2 <= lasted < 6, lasted
    detail = answer_json(answer)["detail"]
    assert "2 s" in detail and "--header-timeout" in detail and "ECGRAPH_HEADER_TIMEOUT" in detail, detail
    assert b"Content-Security-Policy" in answer
    # the operator sees it too: which client, and why
    client = f"127.0.0.1:{sock_port}"
    assert logged(strict, lambda line: f"answered 408 to {client}" in line and "did not arrive" in line), \
        strict.log()[-2000:]


def test_a_body_slower_than_the_minimum_rate_is_cut_with_408(strict):
    sock = socket.create_connection(host_port(strict.url))
    sock.sendall(b"POST /api/validate HTTP/1.1\r\nHost: x\r\nContent-Type: text/turtle\r\n"
                 b"Content-Length: 100000\r\n\r\n")
    started = time.monotonic()
    sock.setblocking(False)
    answer = b""
    while time.monotonic() - started < 15:  # 10 bytes/s: a drip, far under 1000 bytes/s
        try:
            sock.send(b"#")
        except OSError:
            break
        try:
            answer = sock.recv(65536)
            break
        except BlockingIOError:
            time.sleep(0.1)
    lasted = time.monotonic() - started
    sock.setblocking(True)
    answer += read_answer(sock, 2)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    # 2 s of grace, then 1000 bytes/s owed: cut at about 2.5 s
    assert 2 <= lasted < 7, lasted
    assert "--min-body-rate" in answer_json(answer)["detail"]


def test_a_connection_that_sends_nothing_is_closed(strict):
    sock = socket.create_connection(host_port(strict.url))
    started = time.monotonic()
    answer = read_answer(sock, 15)
    lasted = time.monotonic() - started
    sock.close()
    assert answer == b""
    assert 2 <= lasted < 7, lasted


@pytest.fixture()
def stall_node(tmp_path):
    """A 4 s deadline: long enough that a client starved by a busy machine still reads the head of
    its answer in time, short enough to watch the node give up on one that then stops reading."""
    node = NodeProcess(tmp_path / "data", "--no-demo", "--header-timeout", "4",
                       "--max-result-rows", "1000000", "--query-timeout", "60").start()
    yield node
    node.stop()


def test_an_answer_nobody_reads_closes_its_connection(stall_node):
    """A client that asks for a big answer and never reads it holds it (and, for a streamed answer,
    the thread writing it) only until the deadline."""
    strict = stall_node
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(host_port(strict.url))
    query = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 60000"  # about 15 MB
    sock.sendall(f"GET /sparql?query={requests.utils.quote(query)} HTTP/1.1\r\nHost: x\r\n"
                 "Accept: text/tab-separated-values\r\n\r\n".encode())
    head, early = read_answer_head(sock)
    length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    assert length > 8 * MiB, length  # more than every socket buffer on the way holds
    client_port = sock.getsockname()[1]
    assert node_holds_connection(strict.process.pid, client_port)
    given_up = time.monotonic() + 7  # not reading: 4 s of deadline and 0.5 s sweeps
    while node_holds_connection(strict.process.pid, client_port) and time.monotonic() < given_up:
        time.sleep(0.1)
    assert not node_holds_connection(strict.process.pid, client_port), "the node waits for a client that does not read"
    received = len(early) + len(read_answer(sock, 120))  # to the end of the connection
    sock.close()
    assert received < length, f"the node waited for a client that did not read ({received:,} bytes came)"
    # the operator sees which client was cut off, and why
    cut = f"closed the connection from 127.0.0.1:{client_port}: its answer was not read for 4 s"
    assert logged(stall_node, lambda line: cut in line), stall_node.log()[-2000:]
    record("stalled_reader_ci", answer_bytes=length, received_after_the_stall=received)


def logged(node, match, seconds: float = 5.0) -> bool:
    """Whether a line of the node's log matches within ``seconds`` (its output is read by a thread)."""
    deadline = time.monotonic() + seconds
    while True:
        if any(match(line) for line in node.log().splitlines()):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def node_holds_connection(pid: int, client_port: int) -> bool:
    """Whether process ``pid`` has a socket open to the client's port (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == client_port and fields[9] in inodes:
                return True
    return False


def read_answer_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The answer's head, and the body bytes that came with it (read in a few calls: a client
    slowed by a busy machine must not look like one that stopped reading)."""
    data = b""
    sock.settimeout(30)
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, early = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", early


# --- big bodies ---------------------------------------------------------------------------------

def send_body(url: str, size: int, *, chunked: bool, path: str = "/api/validate",
              give_up_after: int = 64 * MiB) -> tuple[int, bytes]:
    """Send a ``size``-byte body in 64 KiB pieces through a small send buffer, as fast as the node
    takes it, and stop when its answer comes or the connection fails. Return the body bytes the
    node accepted before that (the kernel's buffers included) and the answer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.connect(host_port(url))
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % size
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/turtle\r\n%s\r\n\r\n" % (path.encode(), framing))
    sock.setblocking(False)
    piece = b"#" * (64 * 1024)
    if chunked:
        piece = b"%x\r\n" % len(piece) + piece + b"\r\n"
    sent, answer = 0, b""
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    pending = piece
    while sent < min(size, give_up_after):
        events = selector.select(timeout=10)
        if not events:
            break
        mask = events[0][1]
        if mask & selectors.EVENT_READ:
            try:
                answer = sock.recv(65536)
            except OSError as exc:
                answer = repr(exc).encode()
            break
        try:
            n = sock.send(pending)
        except OSError as exc:
            answer = repr(exc).encode()
            break
        sent += n
        pending = pending[n:] or piece
    sock.setblocking(True)
    if answer.startswith(b"HTTP/"):
        answer += read_answer(sock, 5)
    sock.close()
    return sent, answer


def check_too_large(answer: bytes, limit: int) -> None:
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    detail = answer_json(answer)["detail"]
    assert f"{limit:,} bytes" in detail, detail
    assert "--max-upload-bytes" in detail and "ECGRAPH_MAX_UPLOAD_BYTES" in detail, detail
    assert b"X-Content-Type-Options: nosniff" in answer


def test_a_body_declared_too_large_is_refused_before_it_is_read(strict):
    sent, answer = send_body(strict.url, 300 * 1000 * 1000, chunked=False)
    check_too_large(answer, MiB)
    assert sent < MiB, f"the node took {sent:,} bytes of a body it was going to refuse"
    record("big_body_ci", limit=MiB, declared=300 * 1000 * 1000, accepted_before_413=sent)


def test_a_chunked_body_is_stopped_at_the_limit(strict):
    sent, answer = send_body(strict.url, 300 * 1000 * 1000, chunked=True)
    check_too_large(answer, MiB)
    # the limit, the room for form framing, and what the kernel's buffers held
    assert sent < 3 * MiB, f"the node took {sent:,} bytes of a chunked body over a 1 MiB limit"
    record("big_chunked_body_ci", limit=MiB, sent=300 * 1000 * 1000, accepted_before_413=sent)


def test_a_client_that_sends_everything_first_still_reads_the_413(strict):
    r = requests.put(strict.url + "/api/twins/anything", data=b"#" * (8 * MiB),
                     headers={"Content-Type": "text/turtle"}, timeout=60)
    assert r.status_code == 413
    assert "--max-upload-bytes" in r.json()["detail"]


@pytest.mark.slow
def test_a_300_mb_body_is_refused_with_under_1_mb_read(tmp_path):
    """The issue's target, against the default 50 MB limit: Content-Length and chunked."""
    node = NodeProcess(tmp_path / "data", "--no-demo").start()
    limit = 50 * MiB
    try:
        sent, answer = send_body(node.url, 300 * 1000 * 1000, chunked=False, give_up_after=400 * MiB)
        check_too_large(answer, limit)
        started = time.monotonic()
        chunked_sent, chunked_answer = send_body(node.url, 300 * 1000 * 1000, chunked=True,
                                                 give_up_after=400 * MiB)
        chunked_seconds = time.monotonic() - started
        check_too_large(chunked_answer, limit)
        assert requests.get(node.url + "/health", timeout=10).status_code == 200
    finally:
        node.stop()
    record("big_body", limit=limit, declared=300 * 1000 * 1000, accepted_before_413=sent,
           chunked_accepted_before_413=chunked_sent, chunked_seconds=round(chunked_seconds, 2))
    assert sent < 1000 * 1000, sent
    assert chunked_sent < limit + 4 * MiB, chunked_sent


def test_a_2_mb_paste_on_the_validate_page_is_validated_and_one_over_the_limit_is_413(tmp_path):
    node = NodeProcess(tmp_path / "data", "--no-demo", "--max-upload-bytes", str(3 * MiB)).start()
    try:
        twin = make_twin("paste")
        paste = twin + b"# " + b"x" * (2 * MiB) + b"\n"
        r = requests.post(node.url + "/validate", files={"text": (None, paste), "input-format": (None, "turtle")},
                          timeout=60)
        assert r.status_code == 200, r.text[:500]
        assert 'id="verdict" class="ok"' in r.text and "pasted text:" in r.text
        # a form field just over the upload limit (the body is within it plus framing)
        over = b"x" * (3 * MiB + 1000)
        r = requests.post(node.url + "/validate", files={"text": (None, over), "input-format": (None, "turtle")},
                          timeout=60)
        assert r.status_code == 413, r.text[:500]
        assert f"{3 * MiB:,} bytes" in r.json()["detail"] and "--max-upload-bytes" in r.json()["detail"]
        # and far over it: refused from the Content-Length
        r = requests.post(node.url + "/validate", data={"text": "x" * (5 * MiB)}, timeout=60)
        assert r.status_code == 413 and f"{3 * MiB:,} bytes" in r.json()["detail"]
    finally:
        node.stop()


# --- slow servers ---------------------------------------------------------------------------------

def timed_fetch(url: str, timeout: float) -> tuple[float, FetchRefused]:
    policy = FetchPolicy(PeerPolicy(), allow_hosts=("127.0.0.1",), timeout=timeout)
    started = time.monotonic()
    with pytest.raises(FetchRefused) as refused:
        fetch(url, policy)
    return time.monotonic() - started, refused.value


@pytest.mark.parametrize("mode", ["headers", "body"])
def test_a_dripping_server_is_given_up_at_the_deadline(mode):
    dripper = Dripper(mode, interval=0.5, for_seconds=60)
    try:
        seconds, refused = timed_fetch(dripper.url + "/twin.ttl", 2)
    finally:
        dripper.close()
    assert refused.status == 504 and "longer than 2 s" in refused.message, refused.message
    assert 2 <= seconds < 3, seconds


def test_redirect_hops_share_one_deadline():
    # each hop drips its redirect over about 2.5 s: under the deadline, their sum is not
    dripper = Dripper("redirect", interval=2.5 / 80, for_seconds=60)
    try:
        seconds, refused = timed_fetch(dripper.url + "/twin.ttl", 3)
    finally:
        dripper.close()
    assert refused.status == 504, refused.message
    assert dripper.served >= 2
    assert 3 <= seconds < 4, seconds


def test_a_resolver_that_hangs_is_given_up_at_the_deadline(monkeypatch):
    import ecgraph.publish.fetch as fetch_module

    real = socket.getaddrinfo

    def slow_resolver(*args, **kwargs):
        time.sleep(6)
        return real(*args, **kwargs)

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", slow_resolver)
    seconds, refused = timed_fetch("http://twins.example/twin.ttl", 1)
    assert refused.status == 504 and "longer than 1 s" in refused.message, refused.message
    assert seconds < 2, seconds


def drip_fed_validations(node: NodeProcess, dripper: Dripper, clients: int) -> list[tuple[float, int, str]]:
    out: list[tuple[float, int, str]] = []

    def one(i: int) -> None:
        started = time.monotonic()
        r = requests.post(node.url + "/api/validate", params={"url": f"{dripper.url}/twin-{i}.ttl"}, timeout=120)
        out.append((time.monotonic() - started, r.status_code, r.json()["detail"]))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_a_drip_fed_validation_url_answers_504_at_the_deadline(tmp_path):
    dripper = Dripper("body", interval=0.5, for_seconds=60)
    node = NodeProcess(tmp_path / "data", "--no-demo", "--allow-host", "127.0.0.1",
                       env={"ECGRAPH_FETCH_TIMEOUT": "2"}).start()
    try:
        answers = drip_fed_validations(node, dripper, 2)
    finally:
        node.stop()
        dripper.close()
    for seconds, status, detail in answers:
        assert status == 504 and "longer than 2 s" in detail, (status, detail)
        assert seconds < 3.5, seconds  # the deadline plus an HTTP round trip, on a shared CPU


@pytest.mark.slow
def test_drip_fed_fetches_stop_within_1_s_of_the_default_deadline(tmp_path):
    """The issue's target: four validations of URLs that drip one byte every 2 s, at the node's
    default 20 s deadline."""
    results = {}
    for mode in ("headers", "body"):
        dripper = Dripper(mode, interval=2, for_seconds=120)
        node = NodeProcess(tmp_path / mode / "data", "--no-demo", "--allow-host", "127.0.0.1").start()
        try:
            results[mode] = drip_fed_validations(node, dripper, 4)
        finally:
            node.stop()
            dripper.close()
    figures = {mode: {"max_s": round(max(s for s, _, _ in answers), 3),
                      "statuses": sorted({status for _, status, _ in answers})}
               for mode, answers in results.items()}
    record("drip_fed_fetch", deadline_s=20, clients=4, **figures)
    for answers in results.values():
        for seconds, status, detail in answers:
            assert status == 504 and "longer than 20 s" in detail, (status, detail)
            assert seconds < 21, seconds
